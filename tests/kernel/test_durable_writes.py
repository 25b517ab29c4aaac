"""Durable writes: every client writes with w=majority and journaling, reads majority-committed data, retries
once on a failover, and every transaction runs on a snapshot — on the wire, against the real server."""
from __future__ import annotations

import os
import subprocess
import sys

import pymongo
import pytest
from mongoengine.connection import get_connection
from pymongo import monitoring

from tests.support.procs import ROOT
from tradesignals.kernel import events, mongo


class Recorder(monitoring.CommandListener):
    def __init__(self):
        self.commands: list[tuple[str, dict]] = []

    def started(self, event):
        self.commands.append((event.command_name, dict(event.command)))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_every_alias_client_is_durable_by_default(settings, mongo_uri):
    for alias in settings.MONGODB_ALIASES:
        client = get_connection(alias)
        assert client.write_concern.document == {"w": "majority", "j": True, "wtimeout": 10000}
        assert client.read_concern.level == "majority"
        assert client.options.retry_writes is True and client.options.retry_reads is True


def test_writes_and_transactions_carry_the_concerns_on_the_wire(mongo_uri):
    recorder = Recorder()
    client = pymongo.MongoClient(mongo_uri, event_listeners=[recorder], **mongo.client_options())
    try:
        collection = client.get_default_database()["durable_probe"]
        collection.insert_one({"n": 1})
        collection.find_one({"n": 1})
        with client.start_session() as session, session.start_transaction(**mongo.transaction_options()):
            collection.insert_one({"n": 2}, session=session)
            collection.find_one({"n": 2}, session=session)
        assert collection.count_documents({}) == 2
    finally:
        client.close()
    by_name = [(name, command) for name, command in recorder.commands if name in ("insert", "find",
                                                                                  "commitTransaction")]
    plain_insert, plain_find, tx_insert, tx_find, commit = by_name[:5]
    assert plain_insert[1]["writeConcern"] == {"w": "majority", "j": True, "wtimeout": 10000}
    assert plain_find[1]["readConcern"] == {"level": "majority"}
    assert tx_insert[1]["readConcern"]["level"] == "snapshot" and "writeConcern" not in tx_insert[1]
    assert "readConcern" not in tx_find[1]  # only the first command of a transaction names it
    assert commit[1]["writeConcern"] == {"w": "majority", "j": True, "wtimeout": 10000}


def test_a_transaction_through_events_atomic_commits_with_the_durable_options(mongo_uri):
    from apps.signals.models import TradeSignal  # noqa: F401 - the signals alias is connected

    collection = mongo.database("signals")["durable_atomic_probe"]
    collection.insert_one({"_id": "seed"})
    with events.atomic("signals") as session:
        collection.insert_one({"_id": "in-tx"}, session=session)
        assert session.in_transaction
        assert session._transaction.opts.read_concern.level == "snapshot"
        assert session._transaction.opts.write_concern.document["w"] == "majority"
    assert collection.count_documents({"_id": "in-tx"}) == 1


def _boot(**env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", **env})


@pytest.mark.parametrize(("name", "value", "message"), [
    ("MONGODB_WRITE_CONCERN", "0", "MONGODB_WRITE_CONCERN must be between 1 and 50"),
    ("MONGODB_WRITE_CONCERN", "majorty", "MONGODB_WRITE_CONCERN must be an integer"),
    ("MONGODB_READ_CONCERN", "linearizable", "MONGODB_READ_CONCERN must be one of local, available, majority"),
    ("MONGODB_TRANSACTION_READ_CONCERN", "Snapshot", "must be one of snapshot, majority, local"),
    ("MONGODB_WRITE_JOURNAL", "maybe", "MONGODB_WRITE_JOURNAL must be a boolean"),
])
def test_an_operator_typo_stops_start_up_with_its_name(name, value, message):
    booted = _boot(**{name: value})
    assert booted.returncode != 0 and message in booted.stderr, booted.stderr[-800:]


def test_a_numeric_write_concern_is_taken():
    booted = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(repr(settings.MONGODB_WRITE_CONCERN))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", "MONGODB_WRITE_CONCERN": "2"})
    assert booted.returncode == 0 and booted.stdout.strip() == "2", booted.stderr[-800:]
