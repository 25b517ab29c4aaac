"""Typed readers for environment variables. Every setting of the product comes through here."""
from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from tradesignals.kernel.numbers import parse_ascii_int

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def _ascii_int(text: str) -> int:
    """``[+-]digits`` with the ASCII digits 0-9 only: ``int()`` also reads "5_0", "١٢" and "１２"."""
    text = text.strip()
    sign = -1 if text[:1] == "-" else 1
    return sign * parse_ascii_int(text[1:] if text[:1] in ("+", "-") else text)


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        result = default
    else:
        try:
            result = _ascii_int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if (minimum is not None and result < minimum) or (maximum is not None and result > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, got {result}")
    return result


def env_choice(name: str, default: str, choices) -> str:
    """One of ``choices``, exactly as spelled there (an operator's typo stops start-up, it is never guessed)."""
    value = os.environ.get(name)
    value = default if value is None or value.strip() == "" else value.strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    value = os.environ.get(name, default)
    return [item.strip() for item in value.split(",") if item.strip()]


_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_duration(name: str, default: str) -> int:
    """A duration such as ``15m``, ``7d``, ``900`` (seconds) → seconds: ASCII digits, then an optional unit."""
    raw = os.environ.get(name, default)
    text = raw.strip()
    unit = text[-1:] if text[-1:] in _UNIT else ""
    number = text[: len(text) - len(unit)].strip()
    try:
        seconds = _ascii_int(number) if number[:1] not in ("+", "-") else 0
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise ImproperlyConfigured(f"{name} must be a positive duration like 900, 15m, 7d; got {raw!r}")
    return seconds * _UNIT.get(unit, 1)
