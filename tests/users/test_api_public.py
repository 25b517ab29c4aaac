"""GET /api/v1/users/{id}: the public profile, for anyone; unknown and deactivated users are 404."""
from tests.support.api import new_id

# A trader with no decided signal yet: counts at zero, rates undefined.
EMPTY_RECORD = {"closed": 0, "won": 0, "lost": 0, "expired": 0, "win_rate": None, "average_r": None,
                "total_r": "0.00"}


def test_anyone_sees_a_public_profile_without_private_fields(feed, client, as_user):
    user_id = feed.registered(email="public@example.com", display_name="Public Trader")
    as_user(user_id).patch("/api/v1/users/me", {"bio": "I trade breakouts.",
                                                "avatar_url": "https://img.example.com/p.png"})
    first = feed.signal_created(user_id)
    feed.signal_created(user_id)
    feed.signal_reviewed(user_id, first, "pending", "approved", 2)

    response = client.get(f"/api/v1/users/{user_id}")
    assert response.status_code == 200
    assert response.json() == {
        "id": user_id, "display_name": "Public Trader", "bio": "I trade breakouts.",
        "avatar_url": "https://img.example.com/p.png", "approved_signals": 1, "comments": 0,
        "created_at": response.json()["created_at"], "track_record": {**EMPTY_RECORD, "last_30_days": EMPTY_RECORD},
    }
    assert "public@example.com" not in response.content.decode()
    assert client.get(f"/api/v1/users/{user_id}/").status_code == 200


def test_unknown_user_is_404(client):
    response = client.get(f"/api/v1/users/{new_id()}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_deactivated_user_is_404_until_reactivated(feed, client):
    user_id = feed.registered()
    feed.deactivated(user_id)
    assert client.get(f"/api/v1/users/{user_id}").status_code == 404
    feed.reactivated(user_id)
    assert client.get(f"/api/v1/users/{user_id}").status_code == 200


def test_a_partial_profile_is_not_public(feed, client):
    owner = "only-counts-so-far"
    feed.signal_created(owner)
    assert client.get(f"/api/v1/users/{owner}").status_code == 404


def test_an_invalid_token_is_refused_even_on_the_public_profile(feed, client):
    user_id = feed.registered()
    response = client.get(f"/api/v1/users/{user_id}", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"
