"""The whole monolith: the accounts slice's real events feed the users projection (in-process bus)."""
import io
import os
import uuid

from django.core import mail
from django.core.management import call_command

from tests.support.tokens import bearer

PASSWORD = "violet-harbour-lantern-42"


def register(api_client, **fields) -> dict:
    body = {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD, **fields}
    response = api_client.post("/api/v1/auth/register", body, format="json")
    assert response.status_code == 201, response.content
    return {**response.json(), "email": body["email"]}


def make_admin(api_client) -> str:
    """A real administrator, created the only way the product allows (``createadmin``); its access token."""
    email = f"admin-{uuid.uuid4().hex[:10]}@example.com"
    os.environ["TS_TEST_ADMIN_PASSWORD"] = PASSWORD
    call_command("createadmin", "--email", email, "--password-env", "TS_TEST_ADMIN_PASSWORD", stdout=io.StringIO())
    response = api_client.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["access"]


def test_a_registration_becomes_a_profile_and_a_welcome_email(api_client):
    registered = register(api_client, display_name="Reggie Trader")
    user_id, email = registered["user"]["id"], registered["email"]

    me = api_client.get("/api/v1/users/me", **bearer(registered["access"]))
    assert me.status_code == 200
    assert (me.json()["id"], me.json()["email"], me.json()["display_name"], me.json()["role"]) == (
        user_id, email, "Reggie Trader", "user")
    assert [m.to for m in mail.outbox] == [[email]]
    assert api_client.get(f"/api/v1/users/{user_id}").json()["display_name"] == "Reggie Trader"


def test_admin_changes_in_accounts_reach_the_directory_and_the_public_profile(api_client):
    admin = make_admin(api_client)
    target = register(api_client, display_name="Target")["user"]["id"]

    def patch(body):
        return api_client.patch(f"/api/v1/auth/admin/users/{target}", body, format="json", **bearer(admin))

    assert patch({"role": "admin"}).status_code == 200
    listed = api_client.get("/api/v1/users/", {"role": "admin"}, **bearer(admin)).json()["results"]
    assert target in [row["id"] for row in listed]

    assert patch({"is_active": False}).status_code == 200
    assert api_client.get(f"/api/v1/users/{target}").status_code == 404
    inactive = api_client.get("/api/v1/users/", {"is_active": "false"}, **bearer(admin)).json()
    assert [row["id"] for row in inactive["results"]] == [target]

    assert patch({"is_active": True}).status_code == 200
    assert api_client.get(f"/api/v1/users/{target}").status_code == 200
