"""settings/env.py: every setting is read through these, so a typo in the environment stops start-up clearly."""
import pytest
from django.core.exceptions import ImproperlyConfigured

from settings import env

NAME = "TS_UNIT_SETTING"


@pytest.fixture(autouse=True)
def unset(monkeypatch):
    monkeypatch.delenv(NAME, raising=False)
    return monkeypatch


def test_str_returns_the_default_only_when_unset(unset):
    assert env.env_str(NAME, "fallback") == "fallback"
    unset.setenv(NAME, "")
    assert env.env_str(NAME, "fallback") == ""


@pytest.mark.parametrize("raw, value", [("1", True), (" TRUE ", True), ("yes", True), ("on", True),
                                        ("0", False), ("false", False), ("No", False), ("off", False), ("", False)])
def test_bool_spellings(unset, raw, value):
    unset.setenv(NAME, raw)
    assert env.env_bool(NAME, not value) is value


def test_bool_default_and_refusal(unset):
    assert env.env_bool(NAME, True) is True
    unset.setenv(NAME, "maybe")
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be a boolean"):
        env.env_bool(NAME, False)


@pytest.mark.parametrize("raw, value", [("42", 42), (" 7 ", 7), ("-3", -3), ("+5", 5), ("", 9)])
def test_int_reads_signed_ascii_integers(unset, raw, value):
    unset.setenv(NAME, raw)
    assert env.env_int(NAME, 9) == value


@pytest.mark.parametrize("raw", ["5_0", "１２", "١٢", "4.0", "ten", "0x10"])
def test_int_refuses_what_int_would_read_or_choke_on(unset, raw):
    unset.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match=f"{NAME} must be an integer"):
        env.env_int(NAME, 1)


def test_int_bounds_apply_to_the_default_too(unset):
    unset.setenv(NAME, "11")
    with pytest.raises(ImproperlyConfigured, match="between 1 and 10"):
        env.env_int(NAME, 1, minimum=1, maximum=10)
    unset.delenv(NAME)
    with pytest.raises(ImproperlyConfigured, match="between 1 and 10"):
        env.env_int(NAME, 0, minimum=1, maximum=10)


def test_list_splits_on_commas_and_drops_blanks(unset):
    assert env.env_list(NAME, "a, b") == ["a", "b"]
    unset.setenv(NAME, " x ,, y ,")
    assert env.env_list(NAME) == ["x", "y"]


@pytest.mark.parametrize("raw, seconds", [("900", 900), ("15m", 900), ("2h", 7200), ("7d", 604800), ("30s", 30),
                                          (" 1 m ", 60)])
def test_duration_units(unset, raw, seconds):
    unset.setenv(NAME, raw)
    assert env.env_duration(NAME, "1s") == seconds


@pytest.mark.parametrize("raw", ["0", "-5m", "+5m", "m", "", "1w", "1.5h", "１m", "5_0s"])
def test_duration_refuses_non_positive_or_unreadable(unset, raw):
    unset.setenv(NAME, raw)
    with pytest.raises(ImproperlyConfigured, match="positive duration"):
        env.env_duration(NAME, "1s")
