"""Optimistic concurrency: versions, ETag/If-Match, and real races between threads."""
import threading

import pytest

from tests.support.signals import BASE, review


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
    assert owner.send("DELETE", url, headers={"If-Match": '"v2"'}).status_code == 204


def test_if_match_that_is_not_ours_never_matches(owner):
    signal = owner.create()
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "x"}, headers={"If-Match": '"abc"'})
    assert response.status_code == 412


# If-Match uses the strong comparison (RFC 9110 §13.1.1): only the exact strong tag the API sent matches.
@pytest.mark.parametrize("tag", ['W/"v1"', "v1", "1", '"1"', "'v1'", '"v01"', '"V1"', '"v1p"', 'w/"v1"', '"v1',
                                 'v1"', '" v1"', '"v1 "', '"v1", junk', 'W/ "v1"', '""', "", "**", '*, "v1"',
                                 '"v\u0661"', '"v1\u0301"'])
def test_if_match_is_a_strong_exact_comparison(owner, tag):
    signal = owner.create()
    url = f"{BASE}/{signal['id']}"
    header = tag.encode().decode("latin-1")  # as WSGI hands over the bytes received
    response = owner.send("PATCH", url, {"rationale": "weak"}, headers={"If-Match": header})
    assert response.status_code == 412, response.content
    assert response.json()["error"]["code"] == "precondition_failed"
    assert owner.send("DELETE", url, headers={"If-Match": header}).status_code == 412
    after = owner.get(url).json()
    assert (after["version"], after["rationale"]) == (1, signal["rationale"])


@pytest.mark.parametrize("tag", ['"v1"', ' "v1" ', '"v0", "v1"', '"v1","v7"', 'W/"v1", "v1"', "*", " * "])
def test_if_match_with_the_current_strong_tag_matches(owner, tag):
    signal = owner.create()
    response = owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "strong"}, headers={"If-Match": tag})
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"v2"' and response.json()["rationale"] == "strong"


def test_a_list_of_tags_matches_when_any_one_is_current(owner, admin):
    signal = owner.create()
    url = f"{BASE}/{signal['id']}"
    assert owner.send("PATCH", url, {"rationale": "two"}).status_code == 200
    assert owner.send("PATCH", url, {"rationale": "three"}).status_code == 200
    assert owner.send("PATCH", url, {"rationale": "x"}, headers={"If-Match": '"v1", "v2"'}).status_code == 412
    assert review(admin, signal["id"], "approved", headers={"If-Match": '"v1", "v3"'}).status_code == 200
    assert owner.send("DELETE", url, headers={"If-Match": 'W/"v4", "v2", "v4"'}).status_code == 204


def test_a_weak_tag_from_if_none_match_still_revalidates_reads(owner):
    """The weak comparison stays where RFC 9110 puts it: If-None-Match on reads."""
    signal = owner.create()
    url = f"{BASE}/{signal['id']}"
    assert owner.get(url, headers={"If-None-Match": 'W/"v1"'}).status_code == 304
    assert owner.get(url, headers={"If-None-Match": '"v1"'}).status_code == 304


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
