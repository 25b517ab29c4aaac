"""The accounts slice follows profile edits so the ``name`` claim of new tokens matches the profile."""
import jwt

from tradesignals.kernel import events


def test_profile_update_renames_the_name_claim_of_the_next_tokens(accounts):
    session = accounts.register(display_name="Old Name")
    user_id = session["user"]["id"]
    events.publish("user.profile_updated", key=user_id, data={"user_id": user_id, "display_name": "New Name"},
                   producer="users")
    renewed = accounts.post("refresh", {"refresh": session["refresh"]}).json()
    assert jwt.decode(renewed["access"], options={"verify_signature": False})["name"] == "New Name"
    assert accounts.me(renewed["access"]).json()["display_name"] == "New Name"
