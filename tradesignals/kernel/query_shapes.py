"""The query shapes the product sends to MongoDB, declared where they are issued, and the index each one needs.

A *shape* is what a query looks like to the planner: its collection, which fields its filter binds by equality,
by ``$in``, by a range (or inside an ``$or``), and its sort — never the values. Each app declares the shapes
of its selectors and services in its own ``shapes.py`` (``SHAPES``, a list of :class:`Shape`); the kernel
finds those modules through the app registry (the kernel imports no app) and adds the shapes it issues itself
(the outbox relay, the inbox). ``manage.py check_indexes`` proves each shape against the indexes:

* on MongoDB, ``explain`` (``queryPlanner``) must not choose a collection scan (``COLLSCAN``) nor sort in memory
  (``SORT``);
* on the embedded server (whose planner sorts in memory even where an index fits), a declared index must serve
  the shape: its first key bound by the filter, and the sort being what the index gives once the
  equality-bound keys are taken out (the rule MongoDB's planner applies).

Sample values only make ``explain`` runnable; the helpers below build the shapes ``kernel.keyset`` sends for a
keyset list, so an app declares a list once and gets its window, tie and open-ended queries.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bson import ObjectId

# Sample values for declared filters (only ``explain`` reads them; the signature ignores values).
SAMPLE_ID = ObjectId("000000000000000000000000")
SAMPLE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLE_RANGE = {"$gt": SAMPLE_TIME - timedelta(hours=1), "$lte": SAMPLE_TIME}

EQ, IN, RANGE = "eq", "in", "range"


@dataclass(frozen=True)
class Shape:
    """One query shape. ``sort`` is a sequence of ``(field, 1 | -1)``; ``pipeline`` (aggregations) holds the
    stages after the leading ``$match`` of ``filter``; ``hint`` names the index the code forces. ``exempt``
    states why a shape that no index serves is accepted for now: it is listed, never silently passed."""

    name: str
    alias: str
    collection: str
    filter: dict
    sort: tuple = ()
    hint: str | None = None
    pipeline: tuple | None = None
    exempt: str | None = None

    def signature(self) -> tuple:
        return signature(self.collection, self.filter, self.sort)


@dataclass(frozen=True)
class Classified:
    """The fields of a filter by how they bind: equality, ``$in``, range, or inside an ``$or``."""

    fields: dict = field(default_factory=dict)   # field -> EQ | IN | RANGE
    alternatives: frozenset = frozenset()         # fields named inside $or / $nor branches

    @property
    def equality(self) -> set[str]:
        return {f for f, kind in self.fields.items() if kind == EQ}

    @property
    def bound(self) -> set[str]:
        """Fields an index scan can take bounds from (anything the filter constrains)."""
        return set(self.fields) | set(self.alternatives)


def classify(query: dict) -> Classified:
    fields: dict[str, str] = {}
    alternatives: set[str] = set()

    def add(name: str, kind: str) -> None:
        # Two conditions on one field ($and): the stronger wins (equality over $in over a range).
        order = (EQ, IN, RANGE)
        current = fields.get(name)
        fields[name] = kind if current is None or order.index(kind) < order.index(current) else current

    def walk(part: dict) -> None:
        for key, value in part.items():
            if key == "$and":
                for sub in value:
                    walk(sub)
            elif key in ("$or", "$nor"):
                for sub in value:
                    alternatives.update(classify(sub).bound)
            elif key.startswith("$"):
                continue  # $expr, $comment, …: no index bounds
            elif isinstance(value, dict) and value and all(k.startswith("$") for k in value):
                add(key, EQ if "$eq" in value else IN if "$in" in value else RANGE)
            else:
                add(key, EQ)

    walk(query or {})
    return Classified(fields=fields, alternatives=frozenset(alternatives - set(fields)))


def normal_sort(sort) -> tuple[tuple[str, int], ...]:
    if not sort:
        return ()
    items = sort.items() if isinstance(sort, dict) else sort
    return tuple((str(name), int(direction)) for name, direction in items)


def signature(collection: str, query: dict, sort=()) -> tuple:
    """What identifies a shape: collection, each field's kind of binding, the ``$or`` fields, the sort."""
    parts = classify(query)
    return (collection, tuple(sorted(parts.fields.items())), tuple(sorted(parts.alternatives)), normal_sort(sort))


def by_id(query: dict) -> bool:
    """Whether a filter pins ``_id`` (equality or ``$in``): the ``_id`` index serves it on every server."""
    return classify(query).fields.get("_id") in (EQ, IN)


# -- helpers that build shapes ---------------------------------------------------------------------------
def find(name: str, alias: str, collection: str, query: dict, sort=(), *, hint: str | None = None,
         exempt: str | None = None) -> Shape:
    return Shape(name=name, alias=alias, collection=collection, filter=dict(query), sort=normal_sort(sort),
                 hint=hint, exempt=exempt)


def count(name: str, alias: str, collection: str, query: dict, *, exempt: str | None = None) -> Shape:
    """``count_documents(query)``: an aggregation ``$match`` then ``$group``."""
    return Shape(name=name, alias=alias, collection=collection, filter=dict(query),
                 pipeline=({"$group": {"_id": 1, "n": {"$sum": 1}}},), exempt=exempt)


def aggregate(name: str, alias: str, collection: str, pipeline: list, *, exempt: str | None = None) -> Shape:
    """An aggregation; a leading ``$match`` is its filter and a ``$sort`` right after it its sort."""
    stages = list(pipeline)
    query = stages.pop(0)["$match"] if stages and "$match" in stages[0] else {}
    sort = stages[0]["$sort"] if stages and "$sort" in stages[0] else ()
    return Shape(name=name, alias=alias, collection=collection, filter=query, sort=normal_sort(sort),
                 pipeline=tuple(stages), exempt=exempt)


def newest_first(name: str, alias: str, collection: str, query: dict, field: str = "created_at") -> list[Shape]:
    """The queries ``kernel.keyset.newest_first`` sends for one list: a time window below the position, the
    ties at the position itself, and the open-ended last query of a walk."""
    sort = ((field, -1), ("_id", -1))
    return [
        find(f"{name}", alias, collection, {**query, field: SAMPLE_RANGE}, sort),
        find(f"{name} · ties", alias, collection, {**query, field: SAMPLE_TIME, "_id": {"$lt": SAMPLE_ID}}, sort),
        find(f"{name} · open", alias, collection, dict(query), sort),
    ]


def oldest_first(name: str, alias: str, collection: str, query: dict, field: str = "created_at") -> list[Shape]:
    """The queries ``kernel.keyset.oldest_first`` sends: the first page, the ties at a position, the range
    above it."""
    sort = ((field, 1), ("_id", 1))
    return [
        find(f"{name}", alias, collection, dict(query), sort),
        find(f"{name} · ties", alias, collection, {**query, field: SAMPLE_TIME, "_id": {"$gt": SAMPLE_ID}}, sort),
        find(f"{name} · above", alias, collection, {**query, field: {"$gt": SAMPLE_TIME}}, sort),
    ]


# -- the kernel's own shapes ---------------------------------------------------------------------------
def kernel_shapes(aliases: Iterable[str]) -> list[Shape]:
    """The outbox relay's and the inbox's queries, in every alias (each producer and consumer has its own)."""
    from tradesignals.kernel.events.inbox import DEAD_LETTER_COLLECTION
    from tradesignals.kernel.events.outbox import OUTBOX_COLLECTION

    shapes: list[Shape] = []
    for alias in aliases:
        shapes += [
            find(f"outbox {alias} · pending", alias, OUTBOX_COLLECTION, {"status": "pending"}, [("seq", 1)]),
            find(f"outbox {alias} · pending for keys", alias, OUTBOX_COLLECTION,
                 {"status": "pending", "key": {"$in": ["a", "b"]}}, [("seq", 1)]),
            count(f"outbox {alias} · pending count", alias, OUTBOX_COLLECTION, {"status": "pending"}),
            count(f"outbox {alias} · dead-lettered count", alias, OUTBOX_COLLECTION, {"dead_lettered": True}),
            count(f"inbox {alias} · dead letters of an app", alias, DEAD_LETTER_COLLECTION, {"app": "users"}),
        ]
    return shapes


# -- discovery ---------------------------------------------------------------------------------------------
_extra: list[Shape] = []


def register(shape: Shape) -> Shape:
    """Add a shape declared outside an app's ``shapes.py`` (a one-off script, a test); see :func:`extra`."""
    _extra.append(shape)
    return shape


@contextmanager
def extra(*shapes: Shape) -> Iterator[None]:
    """Shapes registered only inside the block."""
    for shape in shapes:
        register(shape)
    try:
        yield
    finally:
        for shape in shapes:
            _extra.remove(shape)


def app_modules(module: str = "shapes") -> Iterator[tuple[str, object]]:
    """``(app label, module)`` for each installed app that has ``<app>.<module>``."""
    from django.apps import apps

    for config in apps.get_app_configs():
        dotted = f"{config.name}.{module}"
        try:
            found = importlib.import_module(dotted)
        except ModuleNotFoundError as exc:
            if exc.name == dotted:
                continue
            raise
        yield config.label, found


def all_shapes() -> list[Shape]:
    """The kernel's shapes, every installed app's ``SHAPES``, and the registered extras; names are unique."""
    from django.conf import settings

    shapes = kernel_shapes(settings.MONGODB_ALIASES)
    for _label, module in app_modules():
        shapes += list(getattr(module, "SHAPES", ()))
    shapes += _extra
    seen: set[str] = set()
    for shape in shapes:
        if shape.name in seen:
            raise ValueError(f"two query shapes are named {shape.name!r}")
        seen.add(shape.name)
    return [s for s in shapes if s.alias in settings.MONGODB_ALIASES]


# -- the embedded-server check: does a declared index serve the shape? ----------------------------------
@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple  # ((field, 1 | -1 | "hashed" | …), …)


@dataclass(frozen=True)
class Verdict:
    shape: Shape
    ok: bool
    index: str | None
    detail: str


def _serves(index: Index, parts: Classified, sort: tuple) -> str | None:
    """``None`` when ``index`` serves the filter and sort without a collection scan or an in-memory sort;
    otherwise why not."""
    first = index.keys[0][0]
    gives_order = None
    if sort:
        equality = parts.equality
        keys = [(f, d) for f, d in index.keys if f not in equality]
        wanted = [(f, d) for f, d in sort if f not in equality]
        if wanted:
            head = keys[: len(wanted)]
            if any(not isinstance(d, int) for _f, d in head):
                return "a hashed key cannot give an order"
            if head != wanted and head != [(f, -d) for f, d in wanted]:
                return f"gives the order {_keys(keys)}, not {_keys(wanted)}"
        gives_order = True
    # An index whose first key the filter leaves open still serves a sorted read (MongoDB walks it in order
    # and stops at the limit), never an unsorted one (that is a collection scan by another name).
    if first not in parts.bound and not gives_order:
        return f"its first key {first!r} is not in the filter"
    return None


def _keys(keys) -> str:
    return "(" + ", ".join(f"{f} {d}" for f, d in keys) + ")"


def judge(shape: Shape, indexes: list[Index]) -> Verdict:
    """The prefix check of one shape against the declared indexes (plus ``_id_``, which always exists)."""
    parts = classify(shape.filter)
    candidates = [Index("_id_", (("_id", 1),)), *indexes]
    if shape.hint is not None:
        named = [i for i in candidates if i.name == shape.hint]
        if not named:
            return Verdict(shape, False, shape.hint, f"the hint names no declared index of {shape.collection}")
        candidates = named
    reasons = []
    best: tuple[tuple, Index] | None = None
    for index in candidates:
        why = _serves(index, parts, shape.sort)
        if why is None:
            # Prefer the longest run of leading keys the filter binds (equality first), then the shorter index.
            equal = bound = 0
            for key, _d in index.keys:
                if key not in parts.bound:
                    break
                bound += 1
                equal += key in parts.equality and equal == bound - 1
            rank = (bound, equal, -len(index.keys))
            if best is None or rank > best[0]:
                best = (rank, index)
        else:
            reasons.append(f"{index.name}: {why}")
    if best is not None:
        index = best[1]
        residual = sorted(parts.bound - {k for k, _d in index.keys})
        detail = f"keys {_keys(index.keys)}"
        if index.keys[0][0] not in parts.bound:
            detail += "; the whole index in order, up to the limit"
        if residual:
            detail += f"; filtered after the scan: {', '.join(residual)}"
        return Verdict(shape, True, index.name, detail)
    return Verdict(shape, False, None, "no declared index serves it — " + "; ".join(reasons[:4]))


def _default_name(keys) -> str:
    return "_".join(f"{f}_{d}" for f, d in keys)


def document_for(alias: str, collection: str):
    """The mongoengine Document stored in ``collection`` of ``alias``, if one is loaded."""
    from mongoengine.base.common import _document_registry

    for document in _document_registry.values():
        meta = getattr(document, "_meta", {})
        if meta.get("abstract") or not hasattr(document, "_get_collection_name"):
            continue
        if document._get_collection_name() == collection and meta.get("db_alias", "default") == alias:
            return document
    return None


def declared_indexes(alias: str, collection: str, *, database=None) -> list[Index] | None:
    """The indexes a Document declares (``_meta['index_specs']``); for a collection no Document owns (the
    kernel's outbox and inbox, indexed by their own code), the indexes ``database`` holds. ``None`` when
    neither is known."""
    document = document_for(alias, collection)
    if document is not None:
        return [Index(spec.get("name") or _default_name(spec["fields"]), tuple(tuple(k) for k in spec["fields"]))
                for spec in document._meta.get("index_specs") or ()]
    if database is None:
        return None
    return [Index(name, tuple((k, d) for k, d in info["key"])) for name, info in
            database[collection].index_information().items() if name != "_id_"]


# -- the MongoDB check: explain ---------------------------------------------------------------------------
REFUSED_STAGES = ("COLLSCAN", "SORT")


def explain_command(shape: Shape) -> dict:
    if shape.pipeline is not None:
        pipeline = ([{"$match": shape.filter}] if shape.filter else []) + [dict(s) for s in shape.pipeline]
        if shape.sort and not any("$sort" in s for s in pipeline):
            pipeline.insert(1 if shape.filter else 0, {"$sort": dict(shape.sort)})
        command: dict = {"aggregate": shape.collection, "pipeline": pipeline, "cursor": {}}
    else:
        command = {"find": shape.collection, "filter": shape.filter, "limit": 21}
        if shape.sort:
            command["sort"] = dict(shape.sort)
    if shape.hint:
        command["hint"] = shape.hint
    return command


def plan_stages(explained: dict) -> list[str]:
    """Every stage name of every winning plan in an explain answer (find, aggregate, sharded, SBE)."""
    stages: list[str] = []

    def walk(node, in_plan: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "rejectedPlans":
                    continue
                if key == "stage" and in_plan and isinstance(value, str):
                    stages.append(value)
                walk(value, in_plan or key in ("winningPlan", "queryPlan"))
        elif isinstance(node, list):
            for item in node:
                walk(item, in_plan)

    walk(explained, False)
    return stages


def explain_verdict(shape: Shape, explained: dict) -> Verdict:
    stages = plan_stages(explained)
    refused = [s for s in stages if s in REFUSED_STAGES]
    index_names = _index_names(explained)
    if not stages:
        return Verdict(shape, False, None, "explain returned no winning plan")
    if refused:
        return Verdict(shape, False, ", ".join(index_names) or None,
                       f"the plan has {' and '.join(sorted(set(refused)))} ({' > '.join(stages)})")
    return Verdict(shape, True, ", ".join(index_names) or None, " > ".join(stages))


def _index_names(explained) -> list[str]:
    names: list[str] = []

    def walk(node, in_plan: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "rejectedPlans":
                    continue
                if key == "indexName" and in_plan and value not in names:
                    names.append(value)
                walk(value, in_plan or key in ("winningPlan", "queryPlan"))
        elif isinstance(node, list):
            for item in node:
                walk(item, in_plan)

    walk(explained, False)
    return names
