"""Every read of the accounts slice."""
from __future__ import annotations

from datetime import UTC, datetime

from mongoengine.queryset.visitor import Q

from apps.accounts.models import AuditEntry, Session, User
from tradesignals.kernel import mongo
from tradesignals.kernel.pagination import Page, Position, paginate


def user_get(*, user_id: str) -> User | None:
    oid = mongo.object_id(user_id)
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


def _after(position: Position, *, field: str, id_value) -> Q:
    return Q(**{f"{field}__lt": position.created_at}) | (Q(**{field: position.created_at}) & Q(id__lt=id_value))


def session_list(*, user_id: str, after: Position | None = None, limit: int) -> Page[Session]:
    """The user's live sessions, newest first (keyset ``created_at``, ``id``)."""
    query = Q(user_id=user_id, revoked_at=None, expires_at__gt=datetime.now(UTC))
    if after is not None:
        query &= _after(after, field="created_at", id_value=after.id)
    return paginate(Session.objects(query).order_by("-created_at", "-id").limit(limit + 1), limit=limit)


def audit_list(*, user_id: str | None = None, type: str | None = None,  # noqa: A002
               after: Position | None = None, limit: int) -> Page[AuditEntry]:
    """Audit entries, newest first (keyset ``at``, ``id``), optionally for one user and/or one type."""
    query = Q()
    if user_id:
        query &= Q(user_id=user_id)
    if type:
        query &= Q(type=type)
    if after is not None:
        oid = mongo.object_id(after.id)
        if oid is None:
            return Page(items=[], next_after=None)
        query &= _after(after, field="at", id_value=oid)
    rows = AuditEntry.objects(query).order_by("-at", "-id").limit(limit + 1)
    return paginate(rows, limit=limit, key=lambda entry: entry.at)
