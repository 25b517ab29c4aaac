"""The query shapes of the accounts app (``kernel.query_shapes``; ``manage.py check_indexes`` proves them) and
its sharding plan (``kernel.sharding``; ``manage.py mongo_shard``, docs/scaling.md)."""
from __future__ import annotations

from apps.accounts.enums import AUDIT_LOGIN_FAILED
from apps.accounts.models import AuditEntry, Session, User
from tradesignals.kernel import query_shapes as q
from tradesignals.kernel.sharding import Plan

ALIAS = "accounts"
USERS = User._meta["collection"]
SESSIONS = Session._meta["collection"]
AUDIT = AuditEntry._meta["collection"]
USER = "0123456789abcdef01234567"
NEWEST = [("at", -1), ("_id", -1)]
_SESSION_ORDER = [("created_at", -1), ("_id", -1)]
_LIVE = {"user_id": USER, "revoked_at": None, "expires_at": {"$gt": q.SAMPLE_TIME}}


def _after(field: str, last_id) -> dict:
    return {"$or": [{field: {"$lt": q.SAMPLE_TIME}}, {field: q.SAMPLE_TIME, "_id": {"$lt": last_id}}]}


def _audit_shapes() -> list[q.Shape]:
    shapes = []
    for label, query in (("all", {}), ("user", {"user_id": USER}), ("type", {"type": AUDIT_LOGIN_FAILED}),
                         ("user+type", {"user_id": USER, "type": AUDIT_LOGIN_FAILED})):
        shapes.append(q.find(f"accounts audit [{label}]", ALIAS, AUDIT, query, NEWEST))
        shapes.append(q.find(f"accounts audit [{label}] · later page", ALIAS, AUDIT,
                             {**query, **_after("at", q.SAMPLE_ID)}, NEWEST))
    return shapes


SHAPES: list[q.Shape] = [
    q.find("accounts user by id", ALIAS, USERS, {"_id": q.SAMPLE_ID}),
    q.find("accounts user by email", ALIAS, USERS, {"email": "a@example.com"}),
    q.find("accounts session by id", ALIAS, SESSIONS, {"_id": "s"}),
    q.find("accounts live sessions of a user", ALIAS, SESSIONS, _LIVE),
    q.find("accounts sessions list", ALIAS, SESSIONS, _LIVE, _SESSION_ORDER),
    q.find("accounts sessions list · later page", ALIAS, SESSIONS, {**_LIVE, **_after("created_at", "s")},
           _SESSION_ORDER),
    q.find("accounts revoke sessions of a user", ALIAS, SESSIONS, {"user_id": USER, "revoked_at": None}),
    *_audit_shapes(),
]

SHARDING: list[Plan] = [
    Plan(ALIAS, USERS, None),
    Plan(ALIAS, SESSIONS, None),
    Plan(ALIAS, AUDIT, {"_id": "hashed"}),
]
