"""Events of other apps that the accounts slice follows."""
from __future__ import annotations

from apps.accounts import services
from tradesignals.kernel import events

PROFILE_UPDATED = "user.profile_updated"


def on_profile_updated(event: events.Event) -> None:
    """Keep the ``name`` claim of future tokens equal to the profile's display name (idempotent)."""
    services.user_sync_display_name(user_id=event.data["user_id"], display_name=event.data["display_name"])


events.subscribe(PROFILE_UPDATED, on_profile_updated, app="accounts")
