"""GET/PATCH /api/v1/users/me: own profile, field rules, BOLA, events, cache."""
import pytest

from apps.users import receivers, services
from tests.support.users import stored_profile
from tradesignals.kernel import events, mongo

ME = "/api/v1/users/me"


@pytest.fixture
def profile_updates():
    seen = []
    events.subscribe("user.profile_updated", seen.append, app="tests")
    yield seen
    events._subscribers["user.profile_updated"].remove(("tests", seen.append))


def test_me_needs_a_token(client):
    response = client.get(ME)
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    assert client.patch(ME, data="{}", content_type="application/json").status_code == 401


def test_me_before_the_projection_has_the_user_is_built_from_the_token(as_user):
    caller = as_user(name="Fresh Trader")
    response = caller.get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == caller.user_id and body["display_name"] == "Fresh Trader"
    assert body["role"] == "user" and body["email"] is None and body["is_active"] is True
    assert body["signal_counts"] == {"pending": 0, "approved": 0, "rejected": 0}


def test_me_shows_the_projected_profile(feed, as_user):
    user_id = feed.registered(email="me@example.com", display_name="Me Myself")
    feed.signal_created(user_id)
    body = as_user(user_id).get(ME + "/").json()  # trailing slash accepted, no redirect
    assert body["email"] == "me@example.com" and body["display_name"] == "Me Myself"
    assert body["created_at"].endswith("Z") and body["signal_counts"]["pending"] == 1
    assert set(body) == {"id", "email", "role", "is_active", "display_name", "bio", "avatar_url", "created_at",
                         "signal_counts", "comments", "track_record"}


def test_patch_edits_the_three_fields_and_publishes_profile_updated(feed, as_user, profile_updates):
    caller = as_user(feed.registered(display_name="Before"))
    response = caller.patch(ME, {"display_name": "  After  ", "bio": "Swing trader.\nBTC only.",
                                 "avatar_url": "https://cdn.example.com/a.png"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["display_name"], body["bio"], body["avatar_url"]) == (
        "After", "Swing trader.\nBTC only.", "https://cdn.example.com/a.png")
    assert caller.get(ME).json() == body
    assert [(e.type, e.producer, e.key, e.data) for e in profile_updates] == [
        ("user.profile_updated", "users", caller.user_id, {"user_id": caller.user_id, "display_name": "After"})]
    outbox = mongo.database("users")[events.OUTBOX_COLLECTION].find_one({"_id": profile_updates[0].id})
    assert outbox["status"] == "sent"

    cleared = caller.patch(ME, {"avatar_url": None, "bio": ""}).json()
    assert cleared["avatar_url"] is None and cleared["bio"] == "" and cleared["display_name"] == "After"


def test_patch_without_a_change_publishes_nothing(feed, as_user, profile_updates):
    caller = as_user(feed.registered(display_name="Same"))
    assert caller.patch(ME, {"display_name": "Same"}).status_code == 200
    assert caller.patch(ME, {}).status_code == 200
    assert profile_updates == []


@pytest.mark.parametrize("body, field", [
    ({"display_name": ""}, "display_name"),
    ({"display_name": "   "}, "display_name"),
    ({"display_name": "x" * 81}, "display_name"),
    ({"display_name": None}, "display_name"),
    ({"display_name": "tab\tname"}, "display_name"),
    ({"bio": "b" * 501}, "bio"),
    ({"avatar_url": "http://cdn.example.com/a.png"}, "avatar_url"),
    ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
    ({"avatar_url": "https://example.com/" + "a" * 2030}, "avatar_url"),
    ({"email": "other@example.com"}, "email"),
    ({"role": "admin"}, "role"),
    ({"is_active": False}, "is_active"),
    ({"signal_counts": {"approved": 99}}, "signal_counts"),
    ({"comments": 99}, "comments"),
    ({"id": "someone-else"}, "id"),
    ({"user_id": "someone-else"}, "user_id"),
    ({"favourite_colour": "green"}, "favourite_colour"),
])
def test_patch_field_rules(feed, as_user, body, field, profile_updates):
    caller = as_user(feed.registered(display_name="Valid"))
    before = stored_profile(caller.user_id)
    response = caller.patch(ME, {"bio": "would be fine", **body})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]
    assert stored_profile(caller.user_id) == before and profile_updates == []


def test_patch_limits_are_inclusive(feed, as_user):
    caller = as_user(feed.registered())
    url = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    response = caller.patch(ME, {"display_name": "n" * 80, "bio": "b" * 500, "avatar_url": url})
    assert response.status_code == 200, response.content
    assert len(response.json()["display_name"]) == 80 and response.json()["avatar_url"] == url


def test_patch_body_must_be_a_json_object(as_user):
    caller = as_user()
    assert caller.patch(ME, ["display_name", "x"]).status_code == 400
    bad = caller.client.patch(ME, data="{not json", content_type="application/json", **caller.headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_request"


def test_a_user_cannot_edit_another_users_profile(feed, as_user):
    victim = feed.registered(display_name="Victim")
    attacker = as_user(feed.registered(display_name="Attacker"))
    # No route edits someone else's profile ...
    response = attacker.patch(f"/api/v1/users/{victim}", {"display_name": "pwned"})
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"
    # ... and an id in the body of /me is refused rather than followed.
    assert attacker.patch(ME, {"id": victim, "display_name": "pwned"}).status_code == 400
    assert stored_profile(victim)["display_name"] == "Victim"
    assert stored_profile(attacker.user_id)["display_name"] == "Attacker"


def test_patch_before_registration_is_kept_when_the_profile_arrives(as_user):
    caller = as_user(name="Token Name")
    # Registered before the token existed, delivered only after the user's first edits.
    registered = events.Event(type="user.registered", key=caller.user_id, producer="accounts", data={
        "user_id": caller.user_id, "email": "early@example.com", "role": "user", "display_name": "Signup Name",
        "created_at": "2026-03-01T12:00:00Z"})
    response = caller.patch(ME, {"bio": "early bio"})
    assert response.status_code == 200
    assert response.json()["display_name"] == "Token Name" and response.json()["bio"] == "early bio"
    caller.patch(ME, {"display_name": "Chosen Name"})
    events.deliver(registered)
    body = caller.get(ME).json()
    assert (body["email"], body["display_name"], body["bio"]) == ("early@example.com", "Chosen Name", "early bio")


def test_me_is_cached_and_every_change_invalidates_it(feed, as_user):
    caller = as_user(feed.registered(display_name="Cached"))
    assert caller.get(ME).json()["display_name"] == "Cached"
    # A write behind the app's back is not seen: the response comes from the cache.
    mongo.database("users")["user_profiles"].update_one({"_id": caller.user_id}, {"$set": {"bio": "sneaky"}})
    assert caller.get(ME).json()["bio"] == ""

    caller.patch(ME, {"display_name": "Renamed"})
    assert caller.get(ME).json()["display_name"] == "Renamed"
    feed.role_changed(caller.user_id, "user", "admin")
    assert caller.get(ME).json()["role"] == "admin"
    feed.deactivated(caller.user_id)
    assert caller.get(ME).json()["is_active"] is False
    signal = feed.signal_created(caller.user_id)
    assert caller.get(ME).json()["signal_counts"]["pending"] == 1
    feed.signal_reviewed(caller.user_id, signal, "pending", "approved", 2)
    assert caller.get(ME).json()["signal_counts"] == {"pending": 0, "approved": 1, "rejected": 0}


@pytest.fixture
def sent_changes():
    """What ``services.profile_changed`` carries, in order: (user_id, changed fields without the timestamp)."""
    seen = []

    def record(sender, user_id, fields, **kwargs):
        seen.append((user_id, set(fields) - {"updated_at"}))

    services.profile_changed.connect(record, weak=False, dispatch_uid="tests.profile_changed")
    yield seen
    services.profile_changed.disconnect(dispatch_uid="tests.profile_changed")


def test_every_profile_write_sends_profile_changed_after_its_commit(feed, as_user, sent_changes):
    user_id = feed.registered(display_name="Signalled")
    caller = as_user(user_id)
    caller.patch(ME, {"bio": "hello"})
    caller.patch(ME, {"bio": "hello"})  # no change: nothing is sent
    feed.role_changed(user_id, "user", "admin")
    feed.deactivated(user_id)
    signal = feed.signal_created(user_id)
    feed.signal_reviewed(user_id, signal, "pending", "approved", 2)
    sent = [fields for sent_to, fields in sent_changes if sent_to == user_id]
    assert len(sent) == 6 and {"registered", "email", "display_name"} <= sent[0]
    assert sent[1:] == [{"bio"}, {"role", "role_at_us"}, {"is_active", "active_at_us"},
                        {"signals_pending"}, {"signals_pending", "signals_approved"}]
    # Sent after the commit: a receiver reading the store sees the change.
    assert stored_profile(user_id)["signals_approved"] == 1


@pytest.fixture
def receiver_disconnected():
    """The users app without its cache receiver (what a service that forgot to send the signal would be)."""
    uid = "users.cache.profile_changed"
    assert services.profile_changed.disconnect(dispatch_uid=uid)
    yield
    services.profile_changed.connect(receivers.on_profile_changed, dispatch_uid=uid)


def test_the_receiver_is_what_refreshes_the_cached_profile(feed, as_user, receiver_disconnected):
    caller = as_user(feed.registered(display_name="Before"))
    assert caller.get(ME).json()["display_name"] == "Before"  # cached now
    response = caller.patch(ME, {"display_name": "After"})
    assert response.status_code == 200 and response.json()["display_name"] == "After"
    feed.deactivated(caller.user_id)
    # Stored, but nobody dropped the cached copy: the stale profile is what the caller sees.
    assert stored_profile(caller.user_id)["display_name"] == "After"
    stale = caller.get(ME).json()
    assert (stale["display_name"], stale["is_active"]) == ("Before", True)

    services.profile_changed.connect(receivers.on_profile_changed, dispatch_uid="users.cache.profile_changed")  # back
    caller.patch(ME, {"bio": "now it is dropped"})
    fresh = caller.get(ME).json()
    assert (fresh["display_name"], fresh["is_active"], fresh["bio"]) == ("After", False, "now it is dropped")


def test_me_cache_is_per_user(feed, as_user):
    first = as_user(feed.registered(display_name="First"))
    second = as_user(feed.registered(display_name="Second"))
    assert first.get(ME).json()["display_name"] == "First"
    assert second.get(ME).json()["display_name"] == "Second"
    assert first.get(ME).json()["id"] == first.user_id


def test_browsable_api_renders_a_cached_profile(feed, as_user):
    caller = as_user(feed.registered(display_name="Browser"))
    caller.get(ME)
    response = caller.client.get(ME, HTTP_ACCEPT="text/html", **caller.headers)
    assert response.status_code == 200 and b"Browser" in response.content
    assert response["Content-Type"].startswith("text/html")
