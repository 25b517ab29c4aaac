"""One keyset suite for both readers: the plain index-range reader (real MongoDB) and the windowed one (the
embedded server) return exactly the pages one sorted query would — across sparse, dense and tied data, with
residual filters, and with documents inserted and deleted between pages."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from tradesignals.kernel import keyset, mongo

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(params=[keyset.PLAIN, keyset.WINDOWED])
def reader(request, settings):
    settings.MONGODB_KEYSET_READER = request.param
    keyset.forget_hints()
    yield request.param
    keyset.forget_hints()


@pytest.fixture
def collection(mongo_uri):
    coll = mongo.database("signals")["keyset_readers_probe"]
    coll.drop()
    coll.create_index([("kind", 1), ("at", -1), ("_id", -1)], name="kind_at")
    yield coll
    coll.drop()


def _sorted(coll, query, *, descending=True, residual=None):
    direction = -1 if descending else 1
    rows = coll.find(query).sort([("at", direction), ("_id", direction)])
    return [row["_id"] for row in rows if residual is None or residual(row)]


def _walk(coll, *, query, need, descending=True, residual=None, between=None):
    read = keyset.newest_first if descending else keyset.oldest_first
    got, after, page_no = [], None, 0
    while True:
        extra = {"now": NOW} if descending else {}
        page = read(coll, query=query, field="at", need=need, after=after, residual=residual, **extra)
        got += [row["_id"] for row in page]
        if len(page) < need:
            return got
        after = (page[-1]["at"], page[-1]["_id"])
        page_no += 1
        if between is not None:
            between(page_no, after)


def _mixed(coll, seed: int = 7) -> None:
    rng = random.Random(seed)
    at = [NOW - timedelta(seconds=s) for s in range(0, 240)]                   # dense
    at += [NOW - timedelta(hours=3)] * 9                                      # ties
    at += [NOW - timedelta(days=d, minutes=rng.randrange(60)) for d in range(1, 40, 2)]  # sparse
    at += [datetime(1995, 1, 1, tzinfo=UTC), NOW + timedelta(minutes=3)]      # very old, "future"
    coll.insert_many([{"_id": ObjectId(), "kind": "a" if i % 3 else "b", "at": moment, "n": i}
                      for i, moment in enumerate(at)])


@pytest.mark.parametrize("need", [1, 8, 33, 101])
def test_newest_first_pages_equal_one_sorted_query(reader, collection, need):
    _mixed(collection)
    assert _walk(collection, query={"kind": "a"}, need=need) == _sorted(collection, {"kind": "a"})


@pytest.mark.parametrize("need", [1, 8, 33])
def test_oldest_first_pages_equal_one_sorted_query(reader, collection, need):
    _mixed(collection)
    assert _walk(collection, query={"kind": "b"}, need=need, descending=False) == _sorted(
        collection, {"kind": "b"}, descending=False)


def test_ties_at_the_page_boundary_are_neither_lost_nor_repeated(reader, collection):
    moment = NOW - timedelta(minutes=1)
    collection.insert_many([{"_id": ObjectId(), "kind": "a", "at": moment, "n": i} for i in range(25)])
    for need in (1, 4, 10, 24, 25, 26):
        got = _walk(collection, query={"kind": "a"}, need=need)
        assert got == _sorted(collection, {"kind": "a"}) and len(set(got)) == 25


def test_a_residual_filter_matches_the_filtered_sorted_query(reader, collection):
    _mixed(collection)
    sevens = lambda raw: raw["n"] % 7 == 0  # noqa: E731
    assert _walk(collection, query={"kind": "a"}, need=5, residual=sevens) == _sorted(
        collection, {"kind": "a"}, residual=sevens)


def test_inserts_and_deletes_between_pages_never_repeat_or_skip_what_stayed(reader, collection):
    _mixed(collection)
    before = _sorted(collection, {"kind": "a"})
    deleted, inserted_newer = set(), []

    def between(page_no, after):
        if page_no > 4:
            return
        # a newer document (above the cursor: a walk in progress does not meet it) and an older one below it
        newer = {"_id": ObjectId(), "kind": "a", "at": NOW + timedelta(minutes=page_no), "n": -page_no}
        collection.insert_one(newer)
        inserted_newer.append(newer["_id"])
        older = collection.find_one({"kind": "a", "at": {"$lt": after[0]}}, sort=[("at", -1), ("_id", -1)])
        if older is not None:
            collection.delete_one({"_id": older["_id"]})
            deleted.add(older["_id"])

    got = _walk(collection, query={"kind": "a"}, need=9, between=between)
    assert len(got) == len(set(got))
    assert not set(got) & deleted and not set(got) & set(inserted_newer)
    assert got == [item for item in before if item not in deleted]


def test_the_reader_follows_the_server_unless_forced(mongo_uri, settings):
    collection = mongo.database("signals")["keyset_readers_probe"]
    embedded = "secantusVersion" in collection.database.client.admin.command("buildInfo")
    settings.MONGODB_KEYSET_READER = "auto"
    assert keyset.reader_for(collection) == (keyset.WINDOWED if embedded else keyset.PLAIN)
    for forced in (keyset.PLAIN, keyset.WINDOWED):
        settings.MONGODB_KEYSET_READER = forced
        assert keyset.reader_for(collection) == forced


def test_the_plain_reader_sends_index_range_queries_only(settings, collection):
    settings.MONGODB_KEYSET_READER = keyset.PLAIN
    _mixed(collection)
    sent: list[dict] = []
    first = keyset.newest_first(collection, query={"kind": "a"}, field="at", need=5, observe=sent.append)
    keyset.newest_first(collection, query={"kind": "a"}, field="at", need=5,
                        after=(first[-1]["at"], first[-1]["_id"]), observe=sent.append)
    assert sent == [{"kind": "a"}, {"kind": "a", "at": first[-1]["at"], "_id": {"$lt": first[-1]["_id"]}},
                    {"kind": "a", "at": {"$lt": first[-1]["at"]}}]
