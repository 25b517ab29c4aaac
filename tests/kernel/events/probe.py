"""A probe consumer for the bus tests, importable by a test process and by ``run_consumers --import``.

The handler counts its runs and its effects in MongoDB so that tests in any process can observe them:
``mode`` ``ok`` records one effect, ``fail`` always raises (a poison event), ``hang_once`` blocks forever the
first time it runs (so the test can kill the consumer mid-handling) and succeeds afterwards, ``slow``
takes 1.5 s.
"""
from __future__ import annotations

import threading

from pymongo.errors import DuplicateKeyError

from tradesignals.kernel import events, mongo

APP = "probe"
TYPE = "test.thing_happened"
SCHEMA = {
    "type": "object",
    "required": ["n", "mode"],
    "additionalProperties": False,
    "properties": {"n": {"type": "integer"}, "mode": {"enum": ["ok", "fail", "hang_once", "slow"]}},
}


def _db():
    return mongo.database("users")


def record(event: events.Event) -> None:
    db = _db()
    db["probe_runs"].update_one({"_id": event.id}, {"$inc": {"runs": 1}}, upsert=True)
    mode = event.data["mode"]
    if mode == "fail":
        raise RuntimeError("poison event")
    if mode == "hang_once":
        try:
            db["probe_hangs"].insert_one({"_id": event.id})
        except DuplicateKeyError:
            pass
        else:
            threading.Event().wait()  # until the process is killed
    if mode == "slow":
        threading.Event().wait(1.5)  # a handler that takes a while (SIGTERM must let it finish)
    # The effect is deliberately not idempotent: a second run would show as count 2.
    db["probe_effects"].update_one({"_id": event.id}, {"$inc": {"count": 1}, "$set": {"n": event.data["n"]}},
                                   upsert=True)
    db["probe_order"].update_one({"_id": event.key}, {"$push": {"ns": event.data["n"]}}, upsert=True)


def register() -> None:
    events.register_schema(TYPE, SCHEMA)
    events.subscribe(TYPE, record, app=APP)


register()


def effects() -> dict[str, int]:
    return {doc["_id"]: doc["count"] for doc in _db()["probe_effects"].find()}


def runs(event_id: str) -> int:
    doc = _db()["probe_runs"].find_one({"_id": event_id})
    return doc["runs"] if doc else 0


def order(key: str) -> list[int]:
    doc = _db()["probe_order"].find_one({"_id": key})
    return doc["ns"] if doc else []


def hung(event_id: str) -> bool:
    return _db()["probe_hangs"].count_documents({"_id": event_id}) == 1


def publish(n: int, *, mode: str = "ok", key: str = "k1", alias: str = "signals") -> events.Event:
    """Publish like a producer does: the change and its event in one transaction."""
    with events.atomic(alias) as session:
        mongo.database(alias)["probe_things"].insert_one({"n": n, "key": key}, session=session)
        return events.publish(TYPE, key=key, data={"n": n, "mode": mode}, producer=alias)
