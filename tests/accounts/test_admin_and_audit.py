"""Administration: role changes and deactivation take effect on the next request; the audit log records them."""
import os
from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import AuditEntry, User
from tests.support.accounts import PASSWORD, unique_email
from tests.support.tokens import bearer
from tradesignals.kernel import events


@pytest.fixture
def admin(accounts):
    return accounts.make_admin()


def patch_user(accounts, token, user_id, body):
    return accounts.client.patch(f"/api/v1/auth/admin/users/{user_id}", body, format="json", **bearer(token))


@pytest.fixture
def published():
    seen = []
    for event_type in ("user.role_changed", "user.deactivated", "user.reactivated", "user.registered"):
        events.subscribe(event_type, seen.append, app="tests")
    yield seen
    for event_type in ("user.role_changed", "user.deactivated", "user.reactivated", "user.registered"):
        events._subscribers[event_type] = [s for s in events._subscribers[event_type] if s[1] != seen.append]


def test_role_change_takes_effect_on_the_targets_next_request(accounts, admin, published):
    target = accounts.register()
    user_id = target["user"]["id"]
    assert accounts.get("admin/audit", target["access"]).status_code == 403

    response = patch_user(accounts, admin["access"], user_id, {"role": "admin"})
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "admin" and body["is_active"] is True and body["id"] == user_id

    # the old token (role=user) is refused at once; a refresh carries the new role
    assert accounts.me(target["access"]).status_code == 401
    renewed = accounts.post("refresh", {"refresh": target["refresh"]}).json()
    assert jwt.decode(renewed["access"], options={"verify_signature": False})["role"] == "admin"
    assert accounts.get("admin/audit", renewed["access"]).status_code == 200

    changed = [e for e in published if e.type == "user.role_changed"]
    assert [e.data for e in changed] == [{"user_id": user_id, "old_role": "user", "new_role": "admin",
                                          "changed_by": admin["user"]["id"]}]


def test_demotion_removes_admin_rights_immediately(accounts, admin):
    target = accounts.register()
    patch_user(accounts, admin["access"], target["user"]["id"], {"role": "admin"})
    promoted = accounts.login(target["user"]["email"])
    assert accounts.get("admin/audit", promoted["access"]).status_code == 200
    assert patch_user(accounts, admin["access"], target["user"]["id"], {"role": "user"}).status_code == 200
    assert accounts.get("admin/audit", promoted["access"]).status_code == 401


def test_an_admin_update_through_another_spelling_of_the_id_changes_nothing(accounts, admin):
    """An upper-case id would find the account (ObjectId reads it) while its sessions and epoch are keyed by
    the canonical id — a "deactivated" user whose tokens keep working. Ids have one spelling: 404."""
    target = accounts.register()
    shouted = target["user"]["id"].upper()
    response = patch_user(accounts, admin["access"], shouted, {"is_active": False})
    assert response.status_code == 404, response.content
    assert accounts.me(target["access"]).status_code == 200
    assert patch_user(accounts, admin["access"], target["user"]["id"], {"is_active": False}).status_code == 200
    assert accounts.me(target["access"]).status_code == 401


@pytest.mark.parametrize("value", ["false", "true", 0, "0", None])
def test_is_active_in_a_json_body_is_a_json_boolean(accounts, admin, value):
    """In a body, "false" is a string: a typo'd client must get a 400, not an account flipped by text."""
    target = accounts.register()
    response = patch_user(accounts, admin["access"], target["user"]["id"], {"is_active": value})
    assert response.status_code == 400, response.content
    assert "is_active" in response.json()["error"]["details"]
    assert accounts.me(target["access"]).status_code == 200


def test_deactivation_and_reactivation_publish_events(accounts, admin, published):
    target = accounts.register()
    user_id = target["user"]["id"]
    assert patch_user(accounts, admin["access"], user_id, {"is_active": False}).json()["is_active"] is False
    assert accounts.me(target["access"]).status_code == 401
    assert accounts.post("login", {"email": target["user"]["email"], "password": PASSWORD}).status_code == 401
    assert patch_user(accounts, admin["access"], user_id, {"is_active": True}).json()["is_active"] is True
    kinds = [(e.type, e.data) for e in published if e.type in ("user.deactivated", "user.reactivated")]
    assert kinds == [("user.deactivated", {"user_id": user_id, "changed_by": admin["user"]["id"]}),
                     ("user.reactivated", {"user_id": user_id, "changed_by": admin["user"]["id"]})]


def test_no_change_publishes_nothing(accounts, admin, published):
    target = accounts.register()
    published.clear()
    response = patch_user(accounts, admin["access"], target["user"]["id"], {"role": "user", "is_active": True})
    assert response.status_code == 200
    assert published == []
    assert accounts.me(target["access"]).status_code == 200


@pytest.mark.parametrize("body", [{}, {"role": "superuser"}, {"email": "x@example.com"}, {"is_active": "maybe"}])
def test_admin_patch_validates_its_body(accounts, admin, body):
    target = accounts.register()
    assert patch_user(accounts, admin["access"], target["user"]["id"], body).status_code == 400


def test_admin_patch_on_unknown_user_is_404(accounts, admin):
    assert patch_user(accounts, admin["access"], "0123456789abcdef01234567", {"role": "admin"}).status_code == 404
    assert patch_user(accounts, admin["access"], "nonsense", {"role": "admin"}).status_code == 404


def test_admins_cannot_demote_or_deactivate_themselves(accounts, admin):
    response = patch_user(accounts, admin["access"], admin["user"]["id"], {"role": "user"})
    assert response.status_code == 403
    assert accounts.me(admin["access"]).status_code == 200


def test_non_admins_cannot_change_roles(accounts):
    user = accounts.register()
    other = accounts.register()
    response = patch_user(accounts, user["access"], other["user"]["id"], {"role": "admin"})
    assert response.status_code == 403
    assert patch_user(accounts, user["access"], user["user"]["id"], {"role": "admin"}).status_code == 403
    assert User.objects.get(email=user["user"]["email"]).role == "user"


def test_audit_records_auth_events_and_filters_by_user_and_type(accounts, admin):
    email = unique_email()
    victim = accounts.register(email=email)
    accounts.post("login", {"email": email, "password": "wrong-password-123"}, HTTP_USER_AGENT="curl/8")
    accounts.post("login", {"email": unique_email("ghost"), "password": "wrong-password-123"})
    accounts.login(email)
    patch_user(accounts, admin["access"], victim["user"]["id"], {"role": "admin"})

    page = accounts.get(f"admin/audit?user_id={victim['user']['id']}", admin["access"]).json()
    types = [row["type"] for row in page["results"]]
    assert types == ["role_changed", "login_succeeded", "login_failed", "registered"]
    failed = page["results"][2]
    assert failed["email"] == email and failed["user_agent"] == "curl/8" and failed["ip"] == "127.0.0.1"
    assert failed["details"] == {"reason": "wrong_password"}
    assert page["results"][0]["actor_id"] == admin["user"]["id"]
    assert page["results"][0]["details"] == {"old_role": "user", "new_role": "admin"}

    failures = accounts.get("admin/audit?type=login_failed", admin["access"]).json()["results"]
    assert {row["details"]["reason"] for row in failures} == {"wrong_password", "unknown_email"}
    assert accounts.get("admin/audit?type=bogus", admin["access"]).status_code == 400


def test_audit_pages_walk_every_entry_once(accounts, admin):
    for _ in range(5):
        accounts.register()
    total = AuditEntry.objects.count()
    seen, url = [], "/api/v1/auth/admin/audit?limit=2"
    while url:
        body = accounts.client.get(url, **bearer(admin["access"])).json()
        assert len(body["results"]) <= 2
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == total


def test_audit_is_append_only_over_http(accounts, admin):
    for method in ("post", "put", "patch", "delete"):
        response = getattr(accounts.client, method)("/api/v1/auth/admin/audit", **bearer(admin["access"]))
        assert response.status_code == 405, method


def test_createadmin_creates_then_promotes(accounts, published, monkeypatch):
    email = unique_email("boss")
    monkeypatch.setenv("BOSS_PASSWORD", PASSWORD)
    out = StringIO()
    call_command("createadmin", "--email", email, "--password-env", "BOSS_PASSWORD", stdout=out)
    assert "Created administrator" in out.getvalue()
    boss = accounts.login(email)
    assert boss["user"]["role"] == "admin"
    assert [e.data["role"] for e in published if e.type == "user.registered"] == ["admin"]

    regular = accounts.register()
    call_command("createadmin", "--email", regular["user"]["email"].upper(), stdout=StringIO())
    assert accounts.me(regular["access"]).status_code == 401  # the promotion bumped the epoch
    promoted = accounts.login(regular["user"]["email"])
    assert promoted["user"]["role"] == "admin"
    assert [e.data["changed_by"] for e in published if e.type == "user.role_changed"] == [None]


def test_createadmin_refuses_a_weak_or_missing_password(monkeypatch):
    monkeypatch.setenv("WEAK_PASSWORD", "password1234")
    with pytest.raises(CommandError, match="common"):
        call_command("createadmin", "--email", unique_email(), "--password-env", "WEAK_PASSWORD", stdout=StringIO())
    os.environ.pop("UNSET_PASSWORD_VAR", None)
    with pytest.raises(CommandError, match="UNSET_PASSWORD_VAR"):
        call_command("createadmin", "--email", unique_email(), "--password-env", "UNSET_PASSWORD_VAR",
                     stdout=StringIO())
    assert User.objects(role="admin").count() == 0
