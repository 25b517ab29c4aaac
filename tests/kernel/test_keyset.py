"""Windowed newest-first keyset reads return exactly what one sorted query would, page after page."""
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from tradesignals.kernel import keyset, mongo

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def collection():
    coll = mongo.database("signals")["keyset_probe"]
    coll.create_index([("kind", 1), ("at", -1), ("_id", -1)], name="kind_at")
    yield coll
    coll.drop()


def walk(coll, *, query, need, residual=None, now=NOW):
    """Every page of ``need`` items until the end, plus how many server queries each page took."""
    pages, after = [], None
    while True:
        counted = []
        page = keyset.newest_first(coll, query=query, field="at", need=need, after=after, residual=residual,
                                   now=now, counter=lambda c=counted: c.append(1))
        pages.append((page, len(counted)))
        if len(page) < need:
            return pages
        after = (page[-1]["at"], page[-1]["_id"])


def expected(coll, query, residual=None):
    rows = list(coll.find(query).sort([("at", -1), ("_id", -1)]))
    return [row["_id"] for row in rows if residual is None or residual(row)]


def test_pages_match_one_sorted_query_across_sparse_dense_and_tied_data(collection):
    at = []
    at += [NOW - timedelta(seconds=s) for s in range(0, 300)]                        # dense: one per second
    at += [NOW - timedelta(hours=3)] * 7                                             # seven ties
    at += [NOW - timedelta(days=d) for d in range(1, 60, 3)]                         # sparse: every 3 days
    at += [datetime(2012, 5, 5, tzinfo=UTC), datetime(1995, 1, 1, tzinfo=UTC)]      # very old, below FLOOR
    at += [NOW + timedelta(minutes=5)]                                               # clock skew: "future"
    docs = [{"_id": ObjectId(), "kind": "a" if i % 4 else "b", "at": moment, "n": i} for i, moment in enumerate(at)]
    collection.insert_many(docs)

    for need in (1, 7, 21, 101):
        pages = walk(collection, query={"kind": "a"}, need=need)
        got = [row["_id"] for page, _ in pages for row in page]
        assert got == expected(collection, {"kind": "a"})
        assert len(got) == len(set(got))


def test_residual_filters_are_applied_without_losing_or_repeating_items(collection):
    collection.insert_many([{"kind": "a", "at": NOW - timedelta(minutes=i), "n": i} for i in range(400)])
    residual = keyset.equals({"n": 7}) or (lambda raw: True)
    only_sevens = lambda raw: raw["n"] % 7 == 0  # noqa: E731
    for predicate in (residual, only_sevens):
        pages = walk(collection, query={"kind": "a"}, need=10, residual=predicate)
        got = [row["_id"] for page, _ in pages for row in page]
        assert got == expected(collection, {"kind": "a"}, predicate)


def test_a_page_of_dense_recent_data_takes_one_window_and_an_empty_list_few(collection):
    collection.insert_many([{"kind": "a", "at": NOW - timedelta(seconds=i)} for i in range(5000)])
    pages = walk(collection, query={"kind": "a"}, need=21)
    assert pages[0][1] == 1  # 120 s of one-per-second data hold the first page
    assert all(queries <= 3 for _, queries in pages[1:-1])  # a cursor page: ties + one or two windows
    empty = walk(collection, query={"kind": "nothing"}, need=21)
    assert empty[0][0] == [] and empty[0][1] <= 10  # geometric growth reaches the floor quickly


def test_equals_builds_no_predicate_for_no_residual_filters():
    assert keyset.equals({}) is None
    assert keyset.equals({"a": 1})({"a": 1, "b": 2}) is True
    assert keyset.equals({"a": 1})({"a": 2}) is False
