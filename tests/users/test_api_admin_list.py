"""GET /api/v1/users/: the administrators' directory — search, filters, signed keyset cursors."""
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

LIST = "/api/v1/users/"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def admin(as_user):
    return as_user(role="admin", name="Root")


@pytest.fixture
def directory(feed):
    """Five users, registered a minute apart (the newest first in listings)."""
    people = [("alice@example.com", "Alice Archer", "user"), ("bob@example.com", "Bobby Tables", "admin"),
              ("carol@trading.io", "Carol", "user"), ("dave@example.com", "alice's friend Dave", "user"),
              ("Bobcat@Example.com", "Eve", "user")]
    ids = {}
    for minute, (email, name, role) in enumerate(people):
        ids[email] = feed.registered(email=email, display_name=name, role=role,
                                     created_at=T0 + timedelta(minutes=minute))
    feed.deactivated(ids["carol@trading.io"])
    return ids


def emails(response) -> list[str]:
    return [row["email"] for row in response.json()["results"]]


def test_listing_needs_an_admin(client, as_user, directory):
    assert client.get(LIST).status_code == 401
    response = as_user().get(LIST)
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"


def test_admin_lists_everyone_newest_first(admin, directory):
    response = admin.get(LIST)
    assert response.status_code == 200
    assert emails(response) == ["Bobcat@Example.com", "dave@example.com", "carol@trading.io", "bob@example.com",
                                "alice@example.com"]
    assert response.json()["next"] is None
    row = response.json()["results"][0]
    assert set(row) == {"id", "email", "role", "is_active", "display_name", "bio", "avatar_url", "created_at",
                        "signal_counts", "comments"}
    assert emails(admin.get("/api/v1/users")) == emails(response)  # no trailing slash, no redirect


def test_search_is_a_case_insensitive_prefix_of_email_or_display_name(admin, directory):
    assert emails(admin.get(LIST, search="BOB")) == ["Bobcat@Example.com", "bob@example.com"]
    assert emails(admin.get(LIST, search="alice")) == ["dave@example.com", "alice@example.com"]
    assert emails(admin.get(LIST, search="carol@trading")) == ["carol@trading.io"]
    assert emails(admin.get(LIST, search="example")) == []  # a prefix, not a substring
    assert emails(admin.get(LIST, search="b.b")) == []  # regex characters are literal


def test_filters_role_and_is_active(admin, directory):
    assert emails(admin.get(LIST, role="admin")) == ["bob@example.com"]
    assert emails(admin.get(LIST, is_active="false")) == ["carol@trading.io"]
    assert len(emails(admin.get(LIST, is_active="true"))) == 4
    assert emails(admin.get(LIST, role="user", is_active="true", search="a")) == ["dave@example.com",
                                                                                   "alice@example.com"]
    for bad in ({"role": "superuser"}, {"is_active": "maybe"}):
        response = admin.get(LIST, **bad)
        assert response.status_code == 400 and set(response.json()["error"]["details"]) == set(bad)


def test_keyset_pagination_walks_every_user_once(admin, directory):
    seen, url, pages = [], f"{LIST}?limit=2", 0
    while url:
        response = admin.client.get(url, **admin.headers)
        assert response.status_code == 200
        assert len(response.json()["results"]) <= 2
        seen += emails(response)
        url, pages = response.json()["next"], pages + 1
        if url:
            assert urlparse(url).path == LIST and parse_qs(urlparse(url).query)["limit"] == ["2"]
    assert pages == 3
    assert seen == ["Bobcat@Example.com", "dave@example.com", "carol@trading.io", "bob@example.com",
                    "alice@example.com"]


def test_pagination_keeps_the_filters(admin, directory):
    first = admin.get(LIST, is_active="true", limit=3)
    assert len(emails(first)) == 3
    second = admin.client.get(first.json()["next"], **admin.headers)
    assert emails(second) == ["alice@example.com"] and second.json()["next"] is None


def test_a_forged_or_tampered_cursor_is_400(admin, directory):
    cursor = parse_qs(urlparse(admin.get(LIST, limit=1).json()["next"]).query)["cursor"][0]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for bad in (tampered, "eyJjIjoxLCJpIjoieiJ9", "1700000000:zzz"):
        response = admin.get(LIST, cursor=bad)
        assert response.status_code == 400, bad
        error = response.json()["error"]
        assert error["code"] == "validation_error" and "cursor" in error["details"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_limit_is_between_1_and_100(admin, directory, limit):
    response = admin.get(LIST, limit=limit)
    assert response.status_code == 400 and "limit" in response.json()["error"]["details"]


def test_limit_defaults_to_20(admin, feed):
    for minute in range(21):
        feed.registered(created_at=T0 + timedelta(minutes=minute))
    response = admin.get(LIST)
    assert len(response.json()["results"]) == 20 and response.json()["next"]
    assert len(admin.get(LIST, limit=100).json()["results"]) == 21
