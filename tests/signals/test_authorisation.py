"""Authorisation matrix: {anonymous, owner, other user, admin} × every endpoint × {pending, approved, rejected}."""
import pytest

from tests.support.signals import BASE, review, signal_in

STATES = ("pending", "approved", "rejected")
CALLERS = ("anonymous", "owner", "other", "admin")

# endpoint → caller → expected status per state (pending, approved, rejected)
MATRIX = {
    "list_own": {"anonymous": (401,) * 3, "owner": (200,) * 3, "other": (200,) * 3, "admin": (200,) * 3},
    "create": {"anonymous": (401,) * 3, "owner": (201,) * 3, "other": (201,) * 3, "admin": (201,) * 3},
    "public": {"anonymous": (200,) * 3, "owner": (200,) * 3, "other": (200,) * 3, "admin": (200,) * 3},
    "admin_list": {"anonymous": (401,) * 3, "owner": (403,) * 3, "other": (403,) * 3, "admin": (200,) * 3},
    "detail": {"anonymous": (404, 200, 404), "owner": (200,) * 3, "other": (404, 200, 404), "admin": (200,) * 3},
    "edit": {"anonymous": (401,) * 3, "owner": (200,) * 3, "other": (404, 403, 404), "admin": (403,) * 3},
    "delete": {"anonymous": (401,) * 3, "owner": (204,) * 3, "other": (404, 403, 404), "admin": (204,) * 3},
    # the admin rejects: allowed from pending and approved, 409 on an already rejected signal
    "status": {"anonymous": (401,) * 3, "owner": (403,) * 3, "other": (403,) * 3, "admin": (200, 200, 409)},
}


def call(endpoint, caller, signal_id):
    if endpoint == "list_own":
        return caller.get(BASE)
    if endpoint == "create":
        from tests.support.signals import VALID

        return caller.send("POST", BASE, VALID)
    if endpoint == "public":
        return caller.get(f"{BASE}/public")
    if endpoint == "admin_list":
        return caller.get(f"{BASE}/admin")
    if endpoint == "detail":
        return caller.get(f"{BASE}/{signal_id}")
    if endpoint == "edit":
        return caller.send("PATCH", f"{BASE}/{signal_id}", {"rationale": "Updated thesis."})
    if endpoint == "delete":
        return caller.send("DELETE", f"{BASE}/{signal_id}")
    if endpoint == "status":
        return caller.send("PATCH", f"{BASE}/{signal_id}/status", {"status": "rejected", "reason": "Too risky"})
    raise AssertionError(endpoint)


@pytest.mark.parametrize("endpoint", list(MATRIX))
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("who", CALLERS)
def test_matrix(endpoint, state, who, owner, other, admin, anonymous):
    signal = signal_in(state, owner=owner, admin=admin)
    callers = {"anonymous": anonymous, "owner": owner, "other": other, "admin": admin}
    # Warm the cache with what the owner and admin may see, so the matrix also proves a cached
    # entry never reaches someone who may not see it.
    owner.get(f"{BASE}/{signal['id']}")
    admin.get(f"{BASE}/{signal['id']}")
    response = call(endpoint, callers[who], signal["id"])
    expected = MATRIX[endpoint][who][STATES.index(state)]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["error"]["code"] == {401: "not_authenticated", 403: "permission_denied",
                                                    404: "not_found", 409: "conflict"}[expected]


def test_history_is_for_owner_and_admin_only(owner, other, admin, anonymous):
    signal = owner.create()
    review(admin, signal["id"], "approved")
    for caller in (owner, admin):
        body = caller.get(f"{BASE}/{signal['id']}").json()
        assert [h["to"] for h in body["history"]] == ["approved"]
    for caller in (other, anonymous):
        body = caller.get(f"{BASE}/{signal['id']}").json()
        assert "history" not in body and body["status"] == "approved"


def test_unknown_or_malformed_id_is_404(owner):
    for signal_id in ("0" * 24, "not-an-id"):
        assert owner.get(f"{BASE}/{signal_id}").status_code == 404
        assert owner.send("PATCH", f"{BASE}/{signal_id}", {"rationale": "x"}).status_code == 404


def test_an_id_in_another_spelling_is_404_and_never_a_stale_copy(owner, admin, anonymous):
    """ObjectId() reads upper-case hex too; an id has one spelling, so a second one can neither find the signal
    nor keep a cached copy that the signal's changes do not invalidate."""
    signal_id = owner.create()["id"]
    review(admin, signal_id, "approved")
    shouted = signal_id.upper()
    assert shouted != signal_id and anonymous.get(f"{BASE}/{signal_id}").status_code == 200
    assert anonymous.get(f"{BASE}/{shouted}").status_code == 404
    assert owner.send("PATCH", f"{BASE}/{shouted}", {"rationale": "An edit through another spelling."}
                      ).status_code == 404
    assert admin.send("PATCH", f"{BASE}/{shouted}/status", {"status": "rejected", "reason": "No"}).status_code == 404


def test_own_list_shows_only_the_callers_signals(owner, other):
    mine = owner.create()
    other.create()
    assert [s["id"] for s in owner.get(BASE).json()["results"]] == [mine["id"]]


def test_public_feed_shows_only_approved(owner, admin, anonymous):
    pending = owner.create()
    approved = owner.create()
    rejected = owner.create()
    review(admin, approved["id"], "approved")
    review(admin, rejected["id"], "rejected", reason="No")
    ids = [s["id"] for s in anonymous.get(f"{BASE}/public").json()["results"]]
    assert ids == [approved["id"]] and pending["id"] not in ids


def test_trailing_slash_is_accepted_without_redirect(owner):
    signal = owner.create()
    assert owner.get(f"{BASE}/").status_code == 200
    assert owner.get(f"{BASE}/{signal['id']}/").status_code == 200
    assert owner.get(f"{BASE}/public/").status_code == 200
