"""The security audit trail: one append-only entry per authentication fact, in the caller's transaction."""
from __future__ import annotations

from bson import ObjectId

from apps.accounts.models import AuditEntry
from apps.accounts.services.common import Client, _validated
from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.context import current_request_id


def audit_record(*, type: str, client: Client | None = None, user_id: str | None = None,  # noqa: A002
                 actor_id: str | None = None, email: str | None = None, details: dict | None = None,
                 session=None) -> None:
    """Append one security audit entry (inside the caller's transaction when ``session`` is given)."""
    client = (client or Client()).trimmed()
    entry = AuditEntry(
        id=ObjectId(), type=type, at=utcnow(), user_id=user_id, actor_id=actor_id, email=email,
        ip=client.ip or None, user_agent=client.user_agent or None, request_id=current_request_id(),
        details=details or {},
    )
    AuditEntry._get_collection().insert_one(_validated(entry), session=session)
