"""Event envelopes and the schema catalogue: what every producer and consumer agrees on, checked without a bus."""
from pathlib import Path

import pytest

from tradesignals.kernel import events
from tradesignals.kernel.events import registry


def test_envelope_fields():
    event = events.Event(type="x.y", key="k", data={}, producer="accounts")
    assert set(event.to_dict()) == {"id", "type", "version", "occurred_at", "producer", "key", "data", "request_id"}
    assert events.Event.from_dict(event.to_dict()) == event


def test_every_catalogued_type_has_a_schema_and_a_row_in_the_catalogue():
    catalogue = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    builtin = sorted(p.stem for p in registry.SCHEMA_DIR.glob("*.json") if not p.stem.startswith("_"))
    assert len(builtin) == 16
    for event_type in builtin:
        assert f"| `{event_type}` |" in catalogue


def test_a_payload_is_checked_against_its_types_schema():
    registry.validate_data("trade_signal.deleted", {"signal_id": "s1", "owner_id": "u1", "status": "pending"})
    with pytest.raises(events.EventSchemaError, match="symbol"):
        registry.validate_data("trade_signal.deleted",
                               {"signal_id": "s1", "owner_id": "u1", "status": "pending", "symbol": "BTC"})
    with pytest.raises(events.EventSchemaError, match="status"):
        registry.validate_data("trade_signal.deleted", {"signal_id": "s1", "owner_id": "u1", "status": "lost"})
    with pytest.raises(events.EventSchemaError, match="unknown event type"):
        registry.validate_data("trade_signal.exploded", {})


def test_an_envelope_round_trips_through_json_and_a_broken_one_is_refused():
    event = events.Event(type="trade_signal.deleted", key="s1", producer="signals",
                         data={"signal_id": "s1", "owner_id": "u1", "status": "approved"})
    import json

    assert registry.validate_envelope(json.dumps(event.to_dict()))["id"] == event.id
    with pytest.raises(events.EventSchemaError, match="not JSON"):
        registry.validate_envelope(b"{not json")
    with pytest.raises(events.EventSchemaError, match="envelope"):
        registry.validate_envelope({**event.to_dict(), "producer": None})
