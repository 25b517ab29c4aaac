"""Every read of the accounts slice."""
from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId
from mongoengine.queryset.visitor import Q

from apps.accounts.models import AuditEntry, Session, User
from tradesignals.kernel import mongo


def _object_id(value: str) -> ObjectId | None:
    return mongo.object_id(value)


def user_get(*, user_id: str) -> User | None:
    oid = _object_id(user_id)
    return User.objects(id=oid).first() if oid else None


def user_get_by_email(*, email: str) -> User | None:
    return User.objects(email=email).first()


def admin_exists() -> bool:
    return User.objects(role="admin", is_active=True).count() > 0


def session_get(*, session_id: str) -> Session | None:
    return Session.objects(id=session_id).first()


def session_active_ids(*, user_id: str) -> list[str]:
    now = datetime.now(UTC)
    return [s.id for s in Session.objects(user_id=user_id, revoked_at=None, expires_at__gt=now).only("id")]


def _after(position, *, field: str, id_value) -> Q:
    return Q(**{f"{field}__lt": position.created_at}) | (Q(**{field: position.created_at}) & Q(id__lt=id_value))


def session_list(*, user_id: str, position=None, limit: int = 20) -> list[Session]:
    """The user's live sessions, newest first (keyset ``created_at``, ``id``); ``limit + 1`` rows."""
    query = Q(user_id=user_id, revoked_at=None, expires_at__gt=datetime.now(UTC))
    if position is not None:
        query &= _after(position, field="created_at", id_value=position.id)
    return list(Session.objects(query).order_by("-created_at", "-id").limit(limit + 1))


def audit_list(*, user_id: str | None = None, type: str | None = None, position=None,  # noqa: A002
               limit: int = 20) -> list[AuditEntry]:
    """Audit entries, newest first, optionally for one user and/or one type; ``limit + 1`` rows."""
    query = Q()
    if user_id:
        query &= Q(user_id=user_id)
    if type:
        query &= Q(type=type)
    if position is not None:
        oid = _object_id(position.id)
        if oid is None:
            return []
        query &= _after(position, field="at", id_value=oid)
    return list(AuditEntry.objects(query).order_by("-at", "-id").limit(limit + 1))
