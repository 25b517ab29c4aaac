"""Optimistic concurrency: versions, ETag/If-Match, and real races between threads."""
import threading

from tests.signals.conftest import BASE, review


def race(*calls):
    """Run the calls at the same moment in threads; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_detail_etag_is_the_version_and_stale_if_match_is_412(owner, admin):
    signal = owner.create()
    url = f"{BASE}/{signal['id']}"
    assert owner.get(url)["ETag"] == '"v1"'
    assert owner.send("PATCH", url, {"rationale": "one"}, headers={"If-Match": '"v1"'}).status_code == 200
    stale = owner.send("PATCH", url, {"rationale": "two"}, headers={"If-Match": '"v1"'})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed"
    assert owner.get(url).json()["rationale"] == "one"
    assert review(admin, signal["id"], "approved", headers={"If-Match": '"v1"'}).status_code == 412
    assert owner.send("DELETE", url, headers={"If-Match": '"v1"'}).status_code == 412
    assert owner.send("DELETE", url, headers={"If-Match": "W/\"v2\""}).status_code == 204


def test_if_match_that_is_not_ours_never_matches(owner):
    signal = owner.create()
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "x"}, headers={"If-Match": '"abc"'})
    assert response.status_code == 412


def test_two_racing_patches_with_one_version_one_wins(make_caller):
    for _ in range(5):
        owner = make_caller("user")
        signal = owner.create()
        url = f"{BASE}/{signal['id']}"
        twin = make_caller("user", user_id=owner.user_id)
        a, b = race(
            lambda o=owner, u=url: o.send("PATCH", u, {"rationale": "A"}, headers={"If-Match": '"v1"'}),
            lambda o=twin, u=url: o.send("PATCH", u, {"rationale": "B"}, headers={"If-Match": '"v1"'}),
        )
        assert sorted([a.status_code, b.status_code]) == [200, 412]
        winner = a if a.status_code == 200 else b
        final = owner.get(url).json()
        assert final["version"] == 2 and final["rationale"] == winner.json()["rationale"]


def test_racing_edits_without_if_match_all_apply_in_some_order(make_caller):
    owner = make_caller("user")
    signal = owner.create()
    url = f"{BASE}/{signal['id']}"
    clients = [make_caller("user", user_id=owner.user_id) for _ in range(4)]
    results = race(*[lambda c=c, i=i: c.send("PATCH", url, {"rationale": f"edit {i}"}) for i, c in
                     enumerate(clients)])
    assert [r.status_code for r in results] == [200] * 4
    final = owner.get(url).json()
    assert final["version"] == 5
    assert sorted(r.json()["version"] for r in results) == [2, 3, 4, 5]


def _consistent(body):
    history = body["history"]
    expected_status = history[-1]["to"] if history else "pending"
    assert body["status"] == expected_status
    assert (body["review"] is None) == (body["status"] == "pending")
    for earlier, later in zip(history, history[1:], strict=False):
        assert earlier["to"] == later["from"]


def test_status_change_racing_owner_edit_leaves_a_consistent_document(make_caller):
    admin = make_caller("admin")
    for _ in range(5):
        owner = make_caller("user")
        signal = owner.create()
        url = f"{BASE}/{signal['id']}"
        edit, approve = race(
            lambda o=owner, u=url: o.send("PATCH", u, {"rationale": "edited during review"}),
            lambda s=signal: review(admin, s["id"], "approved"),
        )
        assert edit.status_code == 200 and approve.status_code == 200
        body = owner.get(url).json()
        assert body["version"] == 3 and body["rationale"] == "edited during review"
        _consistent(body)
