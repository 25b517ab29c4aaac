"""Review workflow: allowed and forbidden transitions, reasons, history, edit after review."""
import pytest

from tests.support.signals import BASE, review, signal_in


@pytest.mark.parametrize(("start", "target", "expected"), [
    ("pending", "approved", 200),
    ("pending", "rejected", 200),
    ("approved", "rejected", 200),
    ("rejected", "approved", 200),
    ("approved", "approved", 409),
    ("rejected", "rejected", 409),
    ("pending", "pending", 400),
    ("approved", "pending", 400),
])
def test_transitions(owner, admin, start, target, expected):
    signal = signal_in(start, owner=owner, admin=admin, reason="setup")
    response = review(admin, signal["id"], target, reason="because")
    assert response.status_code == expected, response.content
    current = owner.get(f"{BASE}/{signal['id']}").json()
    assert current["status"] == (target if expected == 200 else start)


def test_reject_requires_a_reason_of_at_most_500_chars(owner, admin):
    signal = owner.create()
    for reason in (None, "", "   "):
        response = review(admin, signal["id"], "rejected", reason=reason)
        assert response.status_code == 400
        assert list(response.json()["error"]["details"]) == ["reason"]
    assert review(admin, signal["id"], "rejected", reason="x" * 501).status_code == 400
    assert review(admin, signal["id"], "rejected", reason="x" * 500).status_code == 200


def test_approve_needs_no_reason(owner, admin):
    signal = owner.create()
    response = review(admin, signal["id"], "approved", reason=None)
    assert response.status_code == 200
    assert response.json()["review"]["reason"] is None


def test_history_records_every_transition(owner, admin):
    signal = owner.create()
    review(admin, signal["id"], "approved", reason=None)
    review(admin, signal["id"], "rejected", reason="Stop is too tight")
    review(admin, signal["id"], "approved", reason="Fixed upstream")
    body = owner.get(f"{BASE}/{signal['id']}").json()
    assert [(h["from"], h["to"], h["reason"]) for h in body["history"]] == [
        ("pending", "approved", None),
        ("approved", "rejected", "Stop is too tight"),
        ("rejected", "approved", "Fixed upstream"),
    ]
    assert all(h["by"] == admin.user_id and h["at"].endswith("Z") for h in body["history"])
    assert body["review"] == {"by": admin.user_id, "at": body["history"][-1]["at"], "reason": "Fixed upstream"}
    assert body["version"] == 4


@pytest.mark.parametrize("state", ["approved", "rejected"])
def test_owner_edit_after_review_returns_to_pending_and_clears_review(owner, admin, anonymous, state):
    signal = signal_in(state, owner=owner, admin=admin, reason="setup")
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "Revised after review."})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pending" and body["review"] is None
    assert body["history"][-1]["from"] == state and body["history"][-1]["to"] == "pending"
    assert body["history"][-1]["by"] == owner.user_id
    assert anonymous.get(f"{BASE}/{signal['id']}").status_code == 404
    assert anonymous.get(f"{BASE}/public").json()["results"] == []


def test_edit_of_pending_signal_stays_pending_without_history(owner):
    signal = owner.create()
    body = owner.send("PATCH", f"{BASE}/{signal['id']}", {"timeframe": "1d"}).json()
    assert body["status"] == "pending" and body["history"] == [] and body["version"] == 2


# -- separation of duties: nobody approves or rejects their own signal ---------------------------------
SELF_REVIEW_MESSAGE = "Administrators cannot review their own signals"


@pytest.mark.parametrize(("status", "reason"), [("approved", None), ("rejected", "Fine by me")])
def test_an_admin_cannot_review_their_own_signal(admin, status, reason):
    signal = admin.create()
    response = review(admin, signal["id"], status, reason=reason)
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "permission_denied" and error["message"].startswith(SELF_REVIEW_MESSAGE)
    current = admin.get(f"{BASE}/{signal['id']}").json()
    assert (current["status"], current["review"], current["history"], current["version"]) == (
        "pending", None, [], 1)


def test_another_admin_reviews_an_admins_signal(admin, make_caller):
    signal = admin.create()
    colleague = make_caller("admin", name="Bea Reviewer")
    response = review(colleague, signal["id"], "approved", reason=None)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved" and response.json()["review"]["by"] == colleague.user_id


def test_self_review_setting_allows_it_on_single_admin_installs(admin, settings):
    settings.SIGNAL_SELF_REVIEW = True
    signal = admin.create()
    response = review(admin, signal["id"], "approved", reason=None)
    assert response.status_code == 200, response.content
    assert response.json()["review"]["by"] == admin.user_id
