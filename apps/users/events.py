"""Events the users app publishes (plain data; the contract is docs/events.md)."""
from __future__ import annotations

PRODUCER = "users"

PROFILE_UPDATED = "user.profile_updated"


def profile_updated_data(*, user_id: str, display_name: str) -> dict:
    """Payload of ``user.profile_updated``: ``{user_id, display_name}``."""
    return {"user_id": str(user_id), "display_name": display_name}
