"""Two uses of one refresh token at nearly the same moment (two tabs, a retry after a timeout) are a race, not
theft: within ``JWT_REFRESH_REUSE_GRACE`` seconds the replay of the session's immediately previous refresh token
gets 409 ``conflict`` and the winner's new pair keeps working. Outside the window, for any older token, or with
the grace turned off, reuse detection revokes the whole family as before."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests

from apps.accounts.models import AuditEntry, Session
from tests.support.procs import Gunicorn
from tests.support.servers import wait_until


def family_of(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["fam"]


def audit_types() -> list[str]:
    return [entry.type for entry in AuditEntry.objects(type__in=["refresh_race", "refresh_reuse_detected"])]


def assert_revoked(accounts, pair: dict) -> None:
    assert accounts.me(pair["access"]).status_code == 401
    assert accounts.post("refresh", {"refresh": pair["refresh"]}).status_code == 401


def test_replay_of_the_previous_token_within_the_grace_is_a_409_and_the_winner_keeps_working(accounts):
    first = accounts.register()
    winner = accounts.post("refresh", {"refresh": first["refresh"]}).json()

    replay = accounts.post("refresh", {"refresh": first["refresh"]})
    assert replay.status_code == 409, replay.content
    error = replay.json()["error"]
    assert error["code"] == "conflict"
    assert "concurrent" in error["message"] and "newer" in error["message"]

    assert accounts.me(winner["access"]).status_code == 200
    again = accounts.post("refresh", {"refresh": winner["refresh"]})
    assert again.status_code == 200
    assert accounts.me(again.json()["access"]).status_code == 200
    session = Session.objects.get(id=family_of(first["refresh"]))
    assert session.revoked_at is None
    race = AuditEntry.objects(type="refresh_race").get()
    assert race.user_id == first["user"]["id"] and race.details["session_id"] == session.id
    assert audit_types() == ["refresh_race"]


def test_the_rotation_records_the_previous_token_and_when_it_was_rotated(accounts):
    first = accounts.register()
    before = datetime.now(UTC) - timedelta(seconds=1)
    accounts.post("refresh", {"refresh": first["refresh"]})
    session = Session.objects.get(id=family_of(first["refresh"]))
    assert session.previous_jti == jwt.decode(first["refresh"], options={"verify_signature": False})["jti"]
    assert before <= session.rotated_at <= datetime.now(UTC)


def test_replay_after_the_grace_revokes_the_family(accounts, settings):
    settings.JWT_REFRESH_REUSE_GRACE = 1
    first = accounts.register()
    winner = accounts.post("refresh", {"refresh": first["refresh"]}).json()
    rotated_at = Session.objects.get(id=family_of(first["refresh"])).rotated_at
    wait_until(lambda: datetime.now(UTC) - rotated_at > timedelta(seconds=1.05), timeout=5,
               message="the grace window to pass")

    replay = accounts.post("refresh", {"refresh": first["refresh"]})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "token_invalid"
    assert_revoked(accounts, winner)
    assert audit_types() == ["refresh_reuse_detected"]


def test_a_token_two_rotations_back_revokes_the_family_even_within_the_grace(accounts):
    first = accounts.register()
    second = accounts.post("refresh", {"refresh": first["refresh"]}).json()
    third = accounts.post("refresh", {"refresh": second["refresh"]}).json()

    replay = accounts.post("refresh", {"refresh": first["refresh"]})
    assert replay.status_code == 401 and "revoked" in replay.json()["error"]["message"]
    assert_revoked(accounts, third)
    assert audit_types() == ["refresh_reuse_detected"]


def test_grace_zero_turns_the_window_off(accounts, settings):
    settings.JWT_REFRESH_REUSE_GRACE = 0
    first = accounts.register()
    winner = accounts.post("refresh", {"refresh": first["refresh"]}).json()

    replay = accounts.post("refresh", {"refresh": first["refresh"]})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "token_invalid"
    assert_revoked(accounts, winner)
    assert audit_types() == ["refresh_reuse_detected"]


def test_a_race_does_not_shield_a_revoked_session(accounts):
    first = accounts.register()
    accounts.post("refresh", {"refresh": first["refresh"]})
    assert accounts.post("logout", token=first["access"]).status_code == 204
    replay = accounts.post("refresh", {"refresh": first["refresh"]})
    assert replay.status_code == 401


def test_the_audit_list_filters_by_the_race_type(accounts):
    admin = accounts.make_admin()
    first = accounts.register()
    accounts.post("refresh", {"refresh": first["refresh"]})
    assert accounts.post("refresh", {"refresh": first["refresh"]}).status_code == 409

    listed = accounts.get("admin/audit?type=refresh_race", admin["access"])
    assert listed.status_code == 200, listed.content
    assert [(row["type"], row["user_id"]) for row in listed.json()["results"]] == \
        [("refresh_race", first["user"]["id"])]


def test_the_schema_documents_the_409_of_refresh(accounts):
    schema = accounts.client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "409" in schema["paths"]["/api/v1/auth/refresh"]["post"]["responses"]


def _race(count: int, post) -> list[int]:
    """``count`` threads released together, each refreshing with the same token; their status codes."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    lock = threading.Lock()

    def run():
        barrier.wait()
        status = post()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == count
    return statuses


def test_concurrent_refreshes_through_the_test_client_have_one_winner_and_keep_the_session(accounts):
    from rest_framework.test import APIClient

    session = accounts.register()
    statuses = _race(4, lambda: APIClient().post("/api/v1/auth/refresh", {"refresh": session["refresh"]},
                                                 format="json").status_code)
    assert sorted(statuses) == [200, 409, 409, 409]
    current = Session.objects.get(id=family_of(session["refresh"]))
    assert current.revoked_at is None
    assert audit_types() == ["refresh_race"] * 3


@pytest.mark.cluster
def test_concurrent_refreshes_against_gunicorn_have_one_winner_and_the_session_lives(mongo_uri, redis_server_url):
    web = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "REDIS_ENABLED": "true"},
                   workers=2, threads=4, name="refresh-race").start()
    try:
        api = f"{web.url}/api/v1/auth"
        registered = requests.post(f"{api}/register", json={"email": "racer@example.com",
                                                             "password": "violet-harbour-lantern-42"}, timeout=10)
        assert registered.status_code == 201, registered.text
        token = registered.json()["refresh"]
        responses: list[requests.Response] = []

        def post() -> int:
            response = requests.post(f"{api}/refresh", json={"refresh": token}, timeout=30)
            responses.append(response)
            return response.status_code

        statuses = _race(6, post)
        assert sorted(statuses) == [200] + [409] * 5, [r.text for r in responses]
        winner = next(r.json() for r in responses if r.status_code == 200)
        assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"conflict"}
        assert requests.get(f"{api}/me", headers={"Authorization": f"Bearer {winner['access']}"},
                            timeout=10).status_code == 200
        assert requests.post(f"{api}/refresh", json={"refresh": winner["refresh"]}, timeout=10).status_code == 200
        assert audit_types() == ["refresh_race"] * 5
    finally:
        web.stop()


def test_a_race_then_the_winner_logs_out_ends_the_session(accounts):
    """The grace only spares the session from a race; it never revives a token after logout."""
    first = accounts.register()
    winner = accounts.post("refresh", {"refresh": first["refresh"]}).json()
    assert accounts.post("refresh", {"refresh": first["refresh"]}).status_code == 409
    assert accounts.post("logout", token=winner["access"]).status_code == 204
    assert accounts.post("refresh", {"refresh": first["refresh"]}).status_code == 401
    assert accounts.me(winner["access"]).status_code == 401
