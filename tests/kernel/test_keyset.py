"""The windowed reader of the embedded server (``kernel.keyset_windowed``): its windows, its hints and their cost;
what both readers return is tests/kernel/test_keyset_readers.py's shared suite."""
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from tradesignals.kernel import keyset_windowed as keyset
from tradesignals.kernel import mongo
from tradesignals.kernel.keyset import equals

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def collection():
    coll = mongo.database("signals")["keyset_probe"]
    coll.create_index([("kind", 1), ("at", -1), ("_id", -1)], name="kind_at")
    keyset.forget_hints()
    yield coll
    coll.drop()
    keyset.forget_hints()


def walk(coll, *, query, need, residual=None, now=NOW):
    """Every page of ``need`` items until the end, plus how many server queries each page took."""
    pages, after = [], None
    while True:
        counted = []
        page = keyset.newest_first(coll, query=query, field="at", need=need, after=after, residual=residual,
                                   now=now, observe=counted.append)
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
    residual = equals({"n": 7}) or (lambda raw: True)
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
    # growth ×2 for the first hour below the top, then ×8: the floor (26 years down) in a dozen queries
    assert empty[0][0] == [] and empty[0][1] <= 12


def first_page(coll, *, query, need=21, now=NOW, residual=None, residual_key=None):
    """One first page, its server queries, and how many documents those queries' ranges held — what the
    embedded server decodes for them (it does not stop a range scan at the limit)."""
    queries = []
    page = keyset.newest_first(coll, query=query, field="at", need=need, now=now, observe=queries.append,
                               residual=residual, residual_key=residual_key)
    return page, len(queries), sum(coll.count_documents(q) for q in queries)


def dense(coll, *, ending_before: timedelta, count: int = 3000, kind: str = "a"):
    top = NOW - ending_before
    coll.insert_many([{"kind": kind, "at": top - timedelta(seconds=i)} for i in range(count)])


def test_the_next_window_is_sized_from_where_the_documents_are(collection):
    # 100 s of quiet above one-per-second data: the first window holds 20 of the 21 needed. The old sizing
    # (by the whole window's density, at least ×2) read a further 240 documents for the one missing.
    dense(collection, ending_before=timedelta(seconds=100))
    page, queries, decoded = first_page(collection, query={"kind": "a"})
    assert [row["_id"] for row in page] == expected(collection, {"kind": "a"})[:21]
    assert queries == 2 and decoded <= 3 * 21


def test_a_short_quiet_gap_costs_a_few_empty_windows_not_a_big_one(collection):
    # The newest item is 150 s old: the first window is empty; jumping ×8 would read 16 minutes (≈ 900).
    dense(collection, ending_before=timedelta(seconds=150))
    page, _queries, decoded = first_page(collection, query={"kind": "a"})
    assert [row["_id"] for row in page] == expected(collection, {"kind": "a"})[:21]
    assert decoded <= 300


def test_a_feed_read_again_is_one_window_of_about_a_page_even_when_hours_old(collection):
    dense(collection, ending_before=timedelta(hours=3))
    cold, cold_queries, _ = first_page(collection, query={"kind": "a"})
    warm, warm_queries, decoded = first_page(collection, query={"kind": "a"})
    assert [row["_id"] for row in warm] == [row["_id"] for row in cold] == expected(collection, {"kind": "a"})[:21]
    assert cold_queries > 3 and warm_queries == 1 and decoded <= 2 * 21


def test_a_hint_places_windows_but_never_changes_what_a_read_returns(collection):
    dense(collection, ending_before=timedelta(hours=3))
    first_page(collection, query={"kind": "a"})  # leaves a hint at the newest item, three hours ago
    newest = expected(collection, {"kind": "a"})[:5]
    collection.delete_many({"_id": {"$in": newest}})  # the hinted top is gone …
    collection.insert_many([{"kind": "a", "at": NOW - timedelta(seconds=s)} for s in (1, 30, 90)])  # … news
    page, _, _ = first_page(collection, query={"kind": "a"})
    assert [row["_id"] for row in page] == expected(collection, {"kind": "a"})[:21]
    # another residual shape of the same query does not use (or spoil) the hint of the plain one
    odd = lambda raw: raw["at"].second % 2 == 1  # noqa: E731
    page, _, _ = first_page(collection, query={"kind": "a"}, residual=odd, residual_key="odd seconds")
    assert [row["_id"] for row in page] == expected(collection, {"kind": "a"}, odd)[:21]


def test_a_stale_hint_is_not_used(collection, monkeypatch):
    dense(collection, ending_before=timedelta(hours=3))
    first_page(collection, query={"kind": "a"})
    monkeypatch.setattr(keyset, "HINT_TTL", 0.0)
    _, queries, _ = first_page(collection, query={"kind": "a"})
    assert queries > 3  # searched again from the top, as on a cold read


def test_ties_and_a_selective_residual_end_and_match_one_sorted_query(collection):
    moment = NOW - timedelta(minutes=30)
    collection.insert_many([{"kind": "a", "at": moment, "n": i} for i in range(500)])
    every_50th = lambda raw: raw["n"] % 50 == 0  # noqa: E731
    pages = walk(collection, query={"kind": "a"}, need=3, residual=every_50th)
    assert [row["_id"] for page, _ in pages for row in page] == expected(collection, {"kind": "a"}, every_50th)


def test_cold_and_warm_walks_over_irregular_data_return_the_same_pages(collection):
    import random

    rng = random.Random(20261125)
    at = []
    for centre, spread, count in ((0, 90, 400), (3 * 3600, 20, 300), (40 * 86400, 7200, 200), (2 * 3600, 0, 25)):
        at += [NOW - timedelta(seconds=centre + rng.uniform(0, spread)) for _ in range(count)]
    collection.insert_many([{"kind": rng.choice("ab"), "at": moment.replace(microsecond=moment.microsecond // 1000
                                                                              * 1000)} for moment in at])
    for need in (7, 60):
        for query in ({"kind": "a"}, {"kind": "b"}):
            want = expected(collection, query)
            for _ in range(2):  # the first walk leaves placement hints, the second uses them
                got = [row["_id"] for page, _ in walk(collection, query=query, need=need) for row in page]
                assert got == want
