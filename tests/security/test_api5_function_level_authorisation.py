"""API5:2023 Broken Function Level Authorization — every administrator function refuses everyone else.

The admin operations are enumerated from the URL resolver (every DRF operation whose permissions include
``IsAdmin``, plus every route with "admin" in its path and every console page). The table below must name
each of them: a new admin route without a case here fails ``test_every_admin_route_has_a_case``.
"""
from __future__ import annotations

import pytest

from tests.security.routes import all_routes, api_operations, concrete
from tests.support.errors import assert_error
from tests.support.signals import BASE
from tradesignals.kernel.drf.permissions import IsAdmin

# (METHOD, path) → request body for the call (None: no body).
ADMIN_CASES: dict[tuple[str, str], dict | None] = {
    ("GET", "/api/v1/auth/admin/audit"): None,
    ("PATCH", "/api/v1/auth/admin/users/{user_id}"): {"role": "admin"},
    ("GET", "/api/v1/trade-signals/admin"): None,
    ("PATCH", "/api/v1/trade-signals/{signal_id}/status"): {"status": "approved", "reason": "ok"},
    ("GET", "/api/v1/users"): None,
}


class _Probe:
    def __init__(self, method: str):
        self.method = method


def _admin_only(view_class, method: str) -> bool:
    view = view_class()
    view.request = _Probe(method)
    view.args, view.kwargs = (), {}
    return any(isinstance(permission, IsAdmin) for permission in view.get_permissions())


def enumerated_admin_operations() -> set[tuple[str, str]]:
    found = set()
    for method, path, view_class in api_operations():
        if _admin_only(view_class, method) or "admin" in path.split("/"):
            found.add((method, path))
    return found


def console_routes() -> list[str]:
    return [route.path for route in all_routes() if route.path.startswith("/console/")]


def test_every_admin_route_has_a_case():
    assert enumerated_admin_operations() == set(ADMIN_CASES)


def test_admin_paths_are_admin_only():
    """A route under an ``admin`` path segment whose view forgot ``IsAdmin`` is a finding."""
    for method, path, view_class in api_operations():
        if "admin" in path.split("/"):
            assert _admin_only(view_class, method), (method, path)


def _call(caller, method: str, path: str, body):
    target = concrete(path)
    if method == "GET":
        return caller.get(target)
    return caller.send(method, target, body)


@pytest.mark.parametrize("operation", sorted(ADMIN_CASES))
def test_anonymous_gets_401(anonymous, operation):
    method, path = operation
    assert_error(_call(anonymous, method, path, ADMIN_CASES[operation]), 401, "not_authenticated")


@pytest.mark.parametrize("operation", sorted(ADMIN_CASES))
def test_a_user_gets_403(owner, operation):
    method, path = operation
    assert_error(_call(owner, method, path, ADMIN_CASES[operation]), 403, "permission_denied")


@pytest.mark.parametrize("operation", sorted(ADMIN_CASES))
def test_a_self_made_admin_token_gets_401(make_caller, operation):
    """The role lives in a signed claim: a token claiming ``admin`` signed with any other key is refused."""
    import jwt

    from tests.support.tokens import make_token

    forged = make_caller("user")
    claims = jwt.decode(make_token(role="admin"), options={"verify_signature": False})
    forged.token = jwt.encode(claims, "not-the-server-secret-0123456789abcdef", algorithm="HS256")
    method, path = operation
    assert_error(_call(forged, method, path, ADMIN_CASES[operation]), 401, "token_invalid")


@pytest.mark.parametrize("operation", sorted(ADMIN_CASES))
def test_an_admin_is_let_through(admin, operation):
    method, path = operation
    response = _call(admin, method, path, ADMIN_CASES[operation])
    assert response.status_code not in (401, 403), response.content[:300]
    assert response.status_code < 500


def test_a_user_cannot_review_their_own_signal(owner):
    signal = owner.create()
    response = owner.send("PATCH", f"{BASE}/{signal['id']}/status", {"status": "approved", "reason": "mine"})
    assert_error(response, 403, "permission_denied")
    assert owner.get(f"{BASE}/{signal['id']}").json()["status"] == "pending"


def test_a_user_cannot_promote_themselves(accounts):
    session = accounts.register()
    user_id = session["user"]["id"]
    response = accounts.client.patch(f"/api/v1/auth/admin/users/{user_id}", {"role": "admin"}, format="json",
                                     HTTP_AUTHORIZATION=f"Bearer {session['access']}")
    assert_error(response, 403, "permission_denied")
    assert accounts.me(session["access"]).json()["role"] == "user"


@pytest.mark.parametrize("path", console_routes())
def test_console_pages_send_anonymous_to_login_and_refuse_users(client, path, settings):
    from tests.support.tokens import make_token

    target = concrete(path)
    anonymous = client.get(target)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/auth/login/")
    client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token(role="user")
    user = client.get(target)
    assert user.status_code == 403
    assert b"Traceback" not in user.content
    client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token(role="admin")
    assert client.get(target).status_code in (200, 404)  # 404: the placeholder signal id does not exist


def test_console_routes_are_enumerated():
    assert len(console_routes()) >= 5
