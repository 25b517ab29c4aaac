"""Every list query shape is served by a declared compound index: equality fields, then the keyset order.

Lists read in bounded time windows (``kernel.keyset``): the server query is exactly the index's equality
prefix plus a ``created_at`` range (no hint — secantus walks the whole index when hinted), and the other
filters are residual predicates. We assert what is true on both servers: the declared index exists, its key
pattern is exactly ``<equality prefix> + created_at desc, _id desc``, and the server plans an index scan of
that index — not a collection scan — for the window query and for the ties query at a cursor position.
"""
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from apps.signals import selectors
from apps.signals.models import TradeSignal

SORT_KEYS = [("created_at", -1), ("_id", -1)]
# Optional filters that get their own index prefix per list; the others are residual predicates.
INDEXED_FILTERS = {"own": {"status"}, "public": {"symbol", "outcome.state"}, "admin": {"owner_id", "status", "symbol"}}
VALUES = {"owner_id": "u1", "status": "approved", "owner_active": True, "symbol": "BTC", "direction": "long",
          "timeframe": "1h", "outcome": "won"}


def stored(names) -> set[str]:
    """Filters by the fields they read (``outcome`` → ``outcome.state``)."""
    return {selectors.FILTER_FIELDS.get(name, name) for name in names}


def shapes():
    for name, shape in selectors.LIST_SHAPES.items():
        for size in range(len(shape["filters"]) + 1):
            for combo in itertools.combinations(shape["filters"], size):
                for paged in (False, True):
                    yield name, shape["fixed"], combo, paged


@pytest.mark.parametrize(("name", "fixed", "filters", "paged"), list(shapes()))
def test_each_list_query_shape_is_covered_by_a_declared_index(name, fixed, filters, paged):
    collection = TradeSignal._get_collection()
    declared = collection.index_information()
    index_name, query, residual = selectors.list_plan({k: VALUES[k] for k in fixed}, {k: VALUES[k] for k in filters})
    equality = set(query) | set(residual)
    assert index_name in declared, f"{index_name} is not on the collection"
    keys = [(field, int(direction)) for field, direction in declared[index_name]["key"]]
    prefix, order = keys[: -len(SORT_KEYS)], keys[-len(SORT_KEYS):]
    assert order == SORT_KEYS
    prefix_fields = {field for field, _ in prefix}
    assert prefix_fields == set(query)  # the server query is exactly the index prefix
    assert set(fixed) <= prefix_fields <= set(fixed) | stored(filters), (name, filters, index_name)
    if stored(filters) & INDEXED_FILTERS[name]:
        assert prefix_fields & INDEXED_FILTERS[name], f"{name} {filters} ignores its indexed filter"
    longest = max(len(spec["key"]) for spec in declared.values()
                  if {f for f, _ in spec["key"][: -len(SORT_KEYS)]} <= equality
                  and list(spec["key"])[-len(SORT_KEYS):] == SORT_KEYS)
    assert len(keys) == longest  # no declared index narrows this shape further

    moment = datetime.now(UTC)
    earlier = moment - timedelta(minutes=2)
    window = {**query, "created_at": {"$gt": earlier, "$lt": moment} if paged else {"$gt": earlier}}
    ties = {**query, "created_at": moment, "_id": {"$lt": ObjectId()}}
    for server_query in (window, ties):
        plan = collection.find(server_query).sort(SORT_KEYS).limit(21).explain()
        stages, node = [], plan["queryPlanner"]["winningPlan"]
        while node:
            stages.append(node)
            node = node.get("inputStage")
        scans = [stage for stage in stages if stage["stage"] == "IXSCAN"]
        assert scans and scans[0]["indexName"] == index_name, (server_query, stages)


def test_declared_indexes_are_all_used_by_some_shape():
    used = set()
    for _name, fixed, filters, _ in shapes():
        used.add(selectors.index_for(list(fixed) + list(stored(filters))))
    declared = {spec["name"] for spec in TradeSignal._meta["indexes"]}
    assert declared - set(selectors.CONSOLE_INDEXES) - set(selectors.OUTCOME_INDEXES) == used
