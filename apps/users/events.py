"""Events the users app publishes (plain data; the contract is docs/events.md)."""
from __future__ import annotations

PRODUCER = "users"

PROFILE_UPDATED = "user.profile_updated"


def profile_updated_data(*, user_id: str, display_name: str, discarded_image_ids=()) -> dict:
    """Payload of ``user.profile_updated``: ``{user_id, display_name}``, and ``discarded_image_ids`` when the
    change replaced or removed an uploaded avatar (this app's own consumer deletes its files)."""
    data = {"user_id": str(user_id), "display_name": display_name}
    if discarded_image_ids:
        data["discarded_image_ids"] = [str(image_id) for image_id in discarded_image_ids]
    return data
