"""Event schemas: every type on the bus has a JSON Schema, checked on publish and again on consume.

The built-in schemas (``schemas/<type>.json``) are the contract of docs/events.md and live in the kernel
so that a consumer can validate an event whose producer is not deployed in its process. Extra types (for
instance in tests) are added with ``register_schema``. Publishing an unknown type or an invalid payload is a
programming error (``EventSchemaError``); on consume the same failure dead-letters the message.
"""
from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


class EventSchemaError(ValueError):
    """An event (envelope or payload) does not match its schema, or its type is unknown."""


_validators: dict[str, Draft202012Validator] = {}
_envelope: Draft202012Validator | None = None


def _load_builtin() -> None:
    global _envelope
    if _envelope is not None:
        return
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        if path.stem == "_envelope":
            continue
        _validators.setdefault(path.stem, Draft202012Validator(schema))
    _envelope = Draft202012Validator(json.loads((SCHEMA_DIR / "_envelope.json").read_text()))


def register_schema(event_type: str, schema: dict) -> None:
    """Add (or replace) the payload schema of ``event_type``."""
    _load_builtin()
    Draft202012Validator.check_schema(schema)
    _validators[event_type] = Draft202012Validator(schema)


def unregister_schema(event_type: str) -> None:
    _validators.pop(event_type, None)


def known_types() -> list[str]:
    _load_builtin()
    return sorted(_validators)


def _first_error(validator: Draft202012Validator, instance, where: str) -> None:
    error: ValidationError | None = next(iter(sorted(validator.iter_errors(instance), key=str)), None)
    if error is not None:
        path = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise EventSchemaError(f"{where} {path}: {error.message}")


def validate_data(event_type: str, data) -> None:
    _load_builtin()
    validator = _validators.get(event_type)
    if validator is None:
        raise EventSchemaError(f"unknown event type {event_type!r}: add its schema (docs/events.md)")
    _first_error(validator, data, f"{event_type} data")


def validate_envelope(envelope) -> dict:
    """Check the envelope and its payload; return the envelope (a dict)."""
    _load_builtin()
    if isinstance(envelope, bytes | str):
        try:
            envelope = json.loads(envelope)
        except ValueError as exc:
            raise EventSchemaError(f"envelope is not JSON: {exc}")
    _first_error(_envelope, envelope, "envelope")
    validate_data(envelope["type"], envelope["data"])
    return envelope
