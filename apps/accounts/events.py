"""Events the accounts app publishes (plain data; the contract is docs/events.md).

``changed_by`` is the acting administrator's user id, or ``None`` when the change came from the
``createadmin`` management command.
"""
from __future__ import annotations

from datetime import datetime

PRODUCER = "accounts"

USER_REGISTERED = "user.registered"
USER_ROLE_CHANGED = "user.role_changed"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def user_registered_data(*, user_id: str, email: str, role: str, display_name: str, created_at: datetime) -> dict:
    return {"user_id": str(user_id), "email": email, "role": role, "display_name": display_name,
            "created_at": _iso(created_at)}


def user_role_changed_data(*, user_id: str, old_role: str, new_role: str, changed_by: str | None) -> dict:
    return {"user_id": str(user_id), "old_role": old_role, "new_role": new_role, "changed_by": changed_by}


def user_activity_changed_data(*, user_id: str, changed_by: str | None) -> dict:
    """Payload of ``user.deactivated`` and ``user.reactivated``."""
    return {"user_id": str(user_id), "changed_by": changed_by}
