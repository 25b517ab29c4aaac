"""``manage.py mongo_shard``: the dry run prints exactly the plan — the one declared in the apps' ``shapes.py``
and the kernel, and the one docs/scaling.md states — and a real run on the embedded server changes nothing
and says sharding needs a mongos (exit status 2)."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tradesignals.kernel import mongo, query_shapes, sharding

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scaling.md"


def dry_run() -> list[dict]:
    out = io.StringIO()
    call_command("mongo_shard", "--dry-run", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def documented_keys() -> dict[tuple[str, str], dict | None]:
    """``(alias, collection) → shard key`` (``None``: unsharded) from the table of docs/scaling.md; ``*`` is
    every alias."""
    rows: dict[tuple[str, str], dict | None] = {}
    header = "| alias | collection | expected size | growth | shard key |"
    lines = DOC.read_text().splitlines()
    start = lines.index(header) + 2
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        alias, collection, _size, _growth, key = (cell.strip() for cell in line.strip("|").split("|"))
        found = re.fullmatch(r"`(\{.*\})`", key)
        for each in (settings.MONGODB_ALIASES if alias == "*" else [alias]):
            rows[(each, collection)] = json.loads(found.group(1)) if found else None
    return rows


def test_the_dry_run_prints_the_declared_plan_in_order(mongo_uri):
    printed = dry_run()
    assert printed == sharding.commands()
    database = mongo.database("signals").name
    assert printed[0] == {"enableSharding": database}
    assert {"shardCollection": f"{database}.trade_signals", "key": {"_id": "hashed"}} in printed
    assert {"shardCollection": f"{database}.discussion_comments", "key": {"thread_id": "hashed", "_id": 1}} in printed
    # Each shardCollection comes right after the index its key needs.
    for index, command in enumerate(printed):
        if "shardCollection" in command:
            before = printed[index - 1]
            assert before["createIndexes"] == command["shardCollection"].split(".", 1)[1]
            assert before["indexes"][0]["key"] == command["key"] and before["$db"] == database
    # One enableSharding per database, however many aliases share it.
    assert sum("enableSharding" in c for c in printed) == len({mongo.database(a).name
                                                                for a in settings.MONGODB_ALIASES})


def test_the_plan_is_the_table_of_docs_scaling(mongo_uri):
    documented = documented_keys()
    declared = {(p.alias, p.collection): p.key for p in sharding.plans()}
    assert documented == declared
    database = mongo.database("signals").name
    printed = {c["shardCollection"]: c["key"] for c in dry_run() if "shardCollection" in c}
    assert printed == {f"{database}.{collection}": key for (_alias, collection), key in documented.items()
                       if key is not None}


def test_every_collection_of_the_product_has_a_plan(mongo_uri):
    """A new Document (or kernel collection) without a row in the plan fails here."""
    from mongoengine.base.common import _document_registry

    planned = {(p.alias, p.collection) for p in sharding.plans()}
    for document in _document_registry.values():
        meta = document._meta
        if meta.get("abstract") or not meta.get("collection") or meta.get("db_alias") not in settings.MONGODB_ALIASES:
            continue
        assert (meta["db_alias"], meta["collection"]) in planned, document.__name__
    for shape in query_shapes.all_shapes():
        assert (shape.alias, shape.collection) in planned, shape.name


def test_no_shard_key_breaks_a_unique_index(mongo_uri):
    assert sharding.unique_conflicts() == []
    refused = [sharding.Plan("accounts", "accounts_users", {"_id": "hashed"})]
    assert sharding.unique_conflicts(refused) == [
        "accounts.accounts_users: unique index ['email'] does not start with the shard key ['_id']"]


def test_a_real_run_on_the_embedded_server_needs_a_mongos(mongo_uri):
    if "secantusVersion" not in mongo.database("signals").client.admin.command("buildInfo"):
        pytest.skip("TEST_MONGODB_URI is a MongoDB: the embedded server's answer is not under test")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.test", "MONGODB_URI": mongo_uri}
    env.pop("TEST_MONGODB_URI", None)
    before = {name: mongo.database("signals")[name].index_information()
              for name in ("trade_signals", "event_inbox")}
    done = subprocess.run([sys.executable, "manage.py", "mongo_shard"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "sharding needs a mongos" in done.stderr and "embedded server" in done.stderr
    printed = [c for c in (json.loads(line) for line in done.stdout.splitlines() if line.startswith("{"))
               if "level" not in c]  # log records are JSON too
    assert printed == sharding.commands()
    after = {name: mongo.database("signals")[name].index_information() for name in before}
    assert after == before  # nothing was changed
