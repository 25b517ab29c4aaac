"""The whole monolith: the accounts slice's real events feed the users projection (in-process bus)."""
from django.core import mail

from tests.support.accounts import unique_email
from tests.support.tokens import bearer


def test_a_registration_becomes_a_profile_and_a_welcome_email(accounts, api_client):
    email = unique_email()
    registered = accounts.register(email, display_name="Reggie Trader")
    user_id = registered["user"]["id"]

    me = api_client.get("/api/v1/users/me", **bearer(registered["access"]))
    assert me.status_code == 200
    assert (me.json()["id"], me.json()["email"], me.json()["display_name"], me.json()["role"]) == (
        user_id, email, "Reggie Trader", "user")
    assert [m.to for m in mail.outbox] == [[email]]
    assert api_client.get(f"/api/v1/users/{user_id}").json()["display_name"] == "Reggie Trader"


def test_admin_changes_in_accounts_reach_the_directory_and_the_public_profile(accounts, api_client):
    admin = accounts.make_admin()["access"]
    target = accounts.register(display_name="Target")["user"]["id"]

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
