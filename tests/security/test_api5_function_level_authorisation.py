"""API5:2023 Broken Function Level Authorization — every administrator function refuses everyone else.

The admin operations are enumerated from the URL resolver (every DRF operation whose permissions include
``IsAdmin``, plus every route with "admin" in its path and every console page). The table below must name
each of them: a new admin route without a case here fails ``test_every_admin_route_has_a_case``.
"""
from __future__ import annotations

import pytest

from tests.security.routes import all_routes, api_operations, concrete
from tests.support.discussions import BASE as DISCUSSIONS
from tests.support.discussions import comment, report, start_thread
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
    ("GET", f"{DISCUSSIONS}/reports"): None,
    ("POST", f"{DISCUSSIONS}/reports/{{report_id}}/dismiss"): {},
    ("POST", f"{DISCUSSIONS}/{{thread_id}}/hide"): {"reason": "Off topic"},
    ("POST", f"{DISCUSSIONS}/{{thread_id}}/unhide"): {},
    ("POST", f"{DISCUSSIONS}/{{thread_id}}/comments/{{comment_id}}/hide"): {"reason": "Abusive"},
    ("POST", f"{DISCUSSIONS}/{{thread_id}}/comments/{{comment_id}}/unhide"): {},
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


@pytest.mark.parametrize("path", console_routes())
def test_console_forms_refuse_users_and_anonymous(client, path, settings):
    """A posted console form is refused before the page's view runs: the login page for anonymous callers,
    403 for users (405 where the page takes no form at all)."""
    from tests.support.tokens import make_token

    target = concrete(path)
    form = {"action": "hide_thread", "thread_id": "a" * 24, "reason": "Forged"}
    anonymous = client.post(target, form)
    assert anonymous.status_code == 405 or (anonymous.status_code in (302, 303) and
                                            anonymous["Location"].startswith("/auth/login/"))
    client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token(role="user")
    assert client.post(target, form).status_code in (403, 405)


@pytest.mark.parametrize("path", console_routes())
def test_console_forms_need_the_csrf_token_even_from_an_admin(path, settings, owner, admin):
    """The console authenticates by cookie, so a form posted from another site carries the admin's cookie: without
    the page's CSRF token it is refused and changes nothing."""
    from django.test import Client

    from tests.support.tokens import make_token

    thread = start_thread(owner)
    browser = Client(enforce_csrf_checks=True)
    browser.cookies[settings.AUTH_ACCESS_COOKIE] = make_token(admin.user_id, role="admin")
    target = concrete(path, thread_id=thread["id"])
    forged = browser.post(target, {"action": "hide_thread", "thread_id": thread["id"], "reason": "Forged"})
    assert forged.status_code in (403, 405), forged.status_code
    assert admin.get(f"{DISCUSSIONS}/{thread['id']}").json()["hidden"] is False
    if path == "/console/discussions/threads/{thread_id}/":  # the same form with its token goes through
        page = browser.get(target)
        token = page.content.decode().split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        posted = browser.post(target, {"action": "hide_thread", "thread_id": thread["id"], "reason": "Real",
                                       "csrfmiddlewaretoken": token})
        assert posted.status_code == 303, posted.status_code
        assert admin.get(f"{DISCUSSIONS}/{thread['id']}").json()["hidden"] is True


def test_a_user_posting_the_consoles_moderation_forms_changes_nothing(client, settings, owner, other, admin):
    from tests.support.tokens import make_token

    thread = start_thread(owner)
    reply = comment(owner, thread["id"])
    filed = report(other, reply["id"])
    forms = [
        ("/console/discussions/", {"action": "dismiss", "report_id": filed["id"]}),
        ("/console/discussions/", {"action": "hide_comment", "thread_id": thread["id"], "comment_id": reply["id"],
                                   "reason": "Forged"}),
        (f"/console/discussions/threads/{thread['id']}/", {"action": "hide_thread", "thread_id": thread["id"],
                                                           "reason": "Forged"}),
    ]
    for caller in (owner, other):
        client.cookies[settings.AUTH_ACCESS_COOKIE] = make_token(caller.user_id, role="user")
        for page, form in forms:
            assert client.post(page, form).status_code == 403, (page, form)
    assert admin.get(f"{DISCUSSIONS}/{thread['id']}").json()["hidden"] is False
    assert admin.get(f"{DISCUSSIONS}/{thread['id']}/comments/{reply['id']}").json()["hidden"] is False
    assert [(r["id"], r["state"]) for r in admin.get(f"{DISCUSSIONS}/reports").json()["results"]] == [
        (filed["id"], "open")]
