"""The sharding plan, as data: one :class:`Plan` per collection, declared next to the app's query shapes
(``apps/<app>/shapes.py``: ``SHARDING``) plus the kernel's own event collections; docs/scaling.md explains each
row. ``manage.py mongo_shard`` turns the plan into MongoDB commands (``commands()``).

A plan with ``key=None`` keeps the collection unsharded: it lives on its database's primary shard.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    alias: str
    collection: str
    key: dict | None  # the shard key, e.g. {"_id": "hashed"} or {"thread_id": "hashed", "_id": 1}


def kernel_plans(aliases) -> list[Plan]:
    """The event collections every alias has: the outbox unsharded (the relay's ``(status, seq)`` scan stays one
    ordered read on one shard), the inbox spread by ``_id`` (every access names one), the few dead letters
    unsharded."""
    from tradesignals.kernel.events.inbox import DEAD_LETTER_COLLECTION, INBOX_COLLECTION
    from tradesignals.kernel.events.outbox import OUTBOX_COLLECTION

    plans = []
    for alias in aliases:
        plans += [Plan(alias, OUTBOX_COLLECTION, None),
                  Plan(alias, INBOX_COLLECTION, {"_id": "hashed"}),
                  Plan(alias, DEAD_LETTER_COLLECTION, None)]
    return plans


def plans() -> list[Plan]:
    """The kernel's plans and every installed app's ``shapes.SHARDING``, for the enabled aliases."""
    from django.conf import settings

    from tradesignals.kernel.query_shapes import app_modules

    found = kernel_plans(settings.MONGODB_ALIASES)
    for _label, module in app_modules():
        found += list(getattr(module, "SHARDING", ()))
    return [p for p in found if p.alias in settings.MONGODB_ALIASES]


@dataclass(frozen=True)
class Target:
    """A plan placed in its database (several aliases may share one database, hence one collection)."""

    database: str
    collection: str
    key: dict | None
    alias: str  # the first alias planning it: whose client reaches its database

    @property
    def namespace(self) -> str:
        return f"{self.database}.{self.collection}"


def index_name(key: dict) -> str:
    return "shard_" + "_".join(f"{field}_{kind}" for field, kind in key.items())


def targets(found: list[Plan] | None = None) -> list[Target]:
    """The plans by namespace, in declaration order; the same namespace must get the same key."""
    from tradesignals.kernel import mongo

    by_namespace: dict[str, Target] = {}
    for plan in plans() if found is None else found:
        target = Target(mongo.database(plan.alias).name, plan.collection, plan.key, plan.alias)
        known = by_namespace.get(target.namespace)
        if known is not None and known.key != target.key:
            raise ValueError(f"{target.namespace} is planned with two shard keys: {known.key} and {target.key}")
        by_namespace.setdefault(target.namespace, target)
    return list(by_namespace.values())


def unique_conflicts(found: list[Plan] | None = None) -> list[str]:
    """Unique indexes a sharded collection could not keep: MongoDB enforces uniqueness across shards only for
    an index that starts with the shard key."""
    from tradesignals.kernel.query_shapes import document_for

    problems = []
    for plan in plans() if found is None else found:
        if plan.key is None:
            continue
        document = document_for(plan.alias, plan.collection)
        for spec in (document._meta.get("index_specs") or ()) if document is not None else ():
            fields = [f for f, _d in spec["fields"]]
            if spec.get("unique") and fields[: len(plan.key)] != list(plan.key):
                problems.append(f"{plan.alias}.{plan.collection}: unique index {fields} does not start with the "
                                f"shard key {list(plan.key)}")
    return problems


def routed_commands(found: list[Plan] | None = None) -> list[tuple[str, dict]]:
    """``(alias, command)``: ``enableSharding`` per database, then per sharded collection the supporting index
    (``createIndexes``, with ``$db``) and ``shardCollection`` — in the order they must run, each with the alias
    whose client reaches that database (aliases may point at different clusters)."""
    sharded = [t for t in targets(found) if t.key is not None]
    out: list[tuple[str, dict]] = []
    for database in dict.fromkeys(t.database for t in sharded):
        in_database = [t for t in sharded if t.database == database]
        out.append((in_database[0].alias, {"enableSharding": database}))
        for target in in_database:
            out.append((target.alias, {"createIndexes": target.collection,
                                       "indexes": [{"key": dict(target.key), "name": index_name(target.key)}],
                                       "$db": database}))
            out.append((target.alias, {"shardCollection": target.namespace, "key": dict(target.key)}))
    return out


def commands(found: list[Plan] | None = None) -> list[dict]:
    """The commands of :func:`routed_commands`, as ``mongo_shard --dry-run`` prints them."""
    return [command for _alias, command in routed_commands(found)]
