"""Register, login and me: the happy paths and every way a client can get them wrong."""
import jwt
import pytest
from django.conf import settings

from apps.accounts.models import User
from tests.support.accounts import PASSWORD, unique_email
from tradesignals.kernel import events


def test_register_returns_user_and_a_working_token_pair(accounts):
    email = unique_email()
    body = accounts.register(email=email.upper(), display_name="Ada L")
    assert set(body) == {"user", "access", "refresh"}
    user = body["user"]
    assert set(user) == {"id", "email", "role", "display_name", "created_at"}
    assert user["email"] == email  # normalised to lower case
    assert user["role"] == "user" and user["display_name"] == "Ada L"
    assert user["created_at"].endswith("Z")
    me = accounts.me(body["access"])
    assert me.status_code == 200 and me.json() == user


def test_tokens_carry_the_documented_claims(accounts):
    body = accounts.register(display_name="Claims")
    access = jwt.decode(body["access"], settings.JWT_SECRET, algorithms=["HS256"], audience=settings.JWT_AUDIENCE)
    refresh = jwt.decode(body["refresh"], settings.JWT_SECRET, algorithms=["HS256"], audience=settings.JWT_AUDIENCE)
    expected = {"sub", "role", "name", "jti", "token_type", "fam", "ver", "iat", "exp", "iss", "aud"}
    assert set(access) == expected and set(refresh) == expected
    assert access["sub"] == body["user"]["id"] and access["name"] == "Claims" and access["role"] == "user"
    assert access["token_type"] == "access" and refresh["token_type"] == "refresh"
    assert access["fam"] == refresh["fam"] and access["jti"] != refresh["jti"]
    assert access["exp"] - access["iat"] == settings.JWT_ACCESS_EXPIRY == 15 * 60
    assert refresh["exp"] - refresh["iat"] == settings.JWT_REFRESH_EXPIRY == 7 * 86400
    assert jwt.get_unverified_header(body["access"])["alg"] == "HS256"


def test_register_without_display_name_gets_a_neutral_one(accounts):
    body = accounts.register(email=unique_email("john.smith"))
    assert body["user"]["display_name"].startswith("trader-")
    assert "john" not in body["user"]["display_name"]


def test_register_publishes_user_registered():
    seen = []
    events.subscribe("user.registered", seen.append, app="tests")
    try:
        from rest_framework.test import APIClient

        from tests.support.accounts import Accounts

        body = Accounts(APIClient()).register(display_name="Evented")
    finally:
        events._subscribers["user.registered"] = [s for s in events._subscribers["user.registered"]
                                                  if s[1] != seen.append]  # bound methods: equal, never identical
    assert len(seen) == 1
    event = seen[0]
    assert event.type == "user.registered" and event.producer == "accounts" and event.key == body["user"]["id"]
    assert event.data == {"user_id": body["user"]["id"], "email": body["user"]["email"], "role": "user",
                          "display_name": "Evented", "created_at": body["user"]["created_at"]}


def test_duplicate_email_is_409_case_insensitively(accounts):
    email = unique_email()
    accounts.register(email=email)
    response = accounts.post("register", {"email": email.upper(), "password": PASSWORD})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert User.objects(email=email).count() == 1


@pytest.mark.parametrize("password, fragment", [
    ("short-pw1", "too short"),
    ("password1234", "too common"),
    ("x" * 257, "256 characters"),
])
def test_weak_or_oversized_password_is_400_with_a_field_message(accounts, password, fragment):
    response = accounts.post("register", {"email": unique_email(), "password": password})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert fragment in " ".join(error["details"]["password"])


def test_password_too_similar_to_the_email_is_400(accounts):
    response = accounts.post("register", {"email": "quentin.blackwood@example.com",
                                          "password": "quentin.blackwood"})
    assert response.status_code == 400
    assert "similar" in " ".join(response.json()["error"]["details"]["password"])


@pytest.mark.parametrize("extra", [{"role": "admin"}, {"is_active": False}, {"epoch": 0}, {"nickname": "x"}])
def test_role_escalation_or_unknown_fields_at_register_are_400(accounts, extra):
    email = unique_email()
    response = accounts.post("register", {"email": email, "password": PASSWORD, **extra})
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == list(extra)
    assert User.objects(email=email).count() == 0


@pytest.mark.parametrize("body", [
    {"email": "not-an-email", "password": PASSWORD},
    {"password": PASSWORD},
    {"email": "a@example.com"},
    {"email": "a@example.com", "password": PASSWORD, "display_name": ""},
    {"email": "a@example.com", "password": PASSWORD, "display_name": "x" * 81},
])
def test_invalid_register_bodies_are_400(accounts, body):
    response = accounts.post("register", body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


def test_stored_password_is_argon2id_at_owasp_minimum(accounts):
    body = accounts.register()
    stored = User.objects.get(email=body["user"]["email"]).password
    assert stored.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored


def test_login_returns_a_fresh_session(accounts):
    email = unique_email()
    registered = accounts.register(email=email)
    body = accounts.login(email.upper())
    assert body["user"] == registered["user"]
    assert body["access"] != registered["access"]
    claims = jwt.decode(body["access"], options={"verify_signature": False})
    first = jwt.decode(registered["access"], options={"verify_signature": False})
    assert claims["fam"] != first["fam"]  # a new refresh family per login
    assert accounts.me(body["access"]).status_code == 200


def test_every_login_failure_is_the_same_generic_401(accounts):
    email = unique_email()
    accounts.register(email=email)
    deactivated = unique_email()
    target = accounts.register(email=deactivated)
    admin = accounts.make_admin()
    assert accounts.client.patch(f"/api/v1/auth/admin/users/{target['user']['id']}", {"is_active": False},
                                 format="json", HTTP_AUTHORIZATION=f"Bearer {admin['access']}").status_code == 200

    responses = [
        accounts.post("login", {"email": unique_email("nobody"), "password": PASSWORD}),
        accounts.post("login", {"email": email, "password": PASSWORD + "x"}),
        accounts.post("login", {"email": deactivated, "password": PASSWORD}),
    ]
    bodies = set()
    for response in responses:
        assert response.status_code == 401
        error = response.json()["error"]
        bodies.add((error["code"], error["message"]))
        assert response["WWW-Authenticate"]
    assert bodies == {("not_authenticated", "Invalid email or password.")}


def test_login_ignores_a_stale_authorization_header(accounts):
    email = unique_email()
    accounts.register(email=email)
    response = accounts.post("login", {"email": email, "password": PASSWORD}, HTTP_AUTHORIZATION="Bearer junk")
    assert response.status_code == 200


def test_login_rejects_unknown_fields(accounts):
    response = accounts.post("login", {"email": "a@example.com", "password": PASSWORD, "role": "admin"})
    assert response.status_code == 400


def test_me_without_a_token_is_401(accounts):
    response = accounts.get("me")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_routes_answer_with_and_without_trailing_slash(accounts):
    body = accounts.register()
    assert accounts.get("me/", body["access"]).status_code == 200
    assert accounts.get("me", body["access"]).status_code == 200
