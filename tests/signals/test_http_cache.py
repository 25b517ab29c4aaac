"""The read cache seen over HTTP: hits, ETags and 304s without MongoDB, headers, freshness, no leaks."""
import threading

import pytest

from apps.signals import selectors
from apps.signals.models import TradeSignal
from tests.support.signals import BASE, review


def lists_and_details():
    return selectors.mongo_queries.lists, selectors.mongo_queries.details


def test_second_read_is_a_hit_served_without_mongodb(owner):
    signal = owner.create()
    first = owner.get(BASE)
    assert first["X-Cache"] == "miss"
    before = lists_and_details()
    # Remove the data behind the cache's back: a hit must not notice.
    TradeSignal._get_collection().delete_many({})
    second = owner.get(BASE)
    assert second["X-Cache"] == "hit" and second.content == first.content
    assert [s["id"] for s in second.json()["results"]] == [signal["id"]]
    assert lists_and_details() == before


@pytest.mark.parametrize("path_kind", ["own", "public", "admin", "detail"])
def test_etag_and_304_from_cache_without_mongodb(owner, admin, path_kind):
    signal = owner.create()
    review(admin, signal["id"], "approved")
    caller, path = {"own": (owner, BASE), "public": (owner, f"{BASE}/public"), "admin": (admin, f"{BASE}/admin"),
                    "detail": (owner, f"{BASE}/{signal['id']}")}[path_kind]
    first = caller.get(path)
    etag = first["ETag"]
    before = lists_and_details()
    response = caller.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""
    assert response["ETag"] == etag and response["X-Cache"] == "hit"
    assert lists_and_details() == before
    assert caller.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    # Weak comparison (RFC 9110 §13.1.2): the weak form and a list holding the tag both match, "*" matches.
    for header in (f"W/{etag}", f'"other", {etag}', "*"):
        assert caller.get(path, headers={"If-None-Match": header}).status_code == 304, header
    # A malformed header names no tag: the full answer, never a wrong 304.
    assert caller.get(path, headers={"If-None-Match": f"{etag}, garbage"}).status_code == 200


def test_cache_control_headers(owner, admin, anonymous, settings):
    signal = owner.create()
    review(admin, signal["id"], "approved")
    assert owner.get(BASE)["Cache-Control"] == "private, no-cache"
    assert admin.get(f"{BASE}/admin")["Cache-Control"] == "private, no-cache"
    assert anonymous.get(f"{BASE}/{signal['id']}")["Cache-Control"] == "private, no-cache"
    assert anonymous.get(f"{BASE}/public")["Cache-Control"] == f"public, max-age={settings.CACHE_PUBLIC_MAX_AGE}"
    assert owner.send("PATCH", f"{BASE}/{signal['id']}", {"rationale": "x"})["Cache-Control"] == "no-store"


def test_cached_entries_are_versioned_keys_in_redis(owner, redis_server_url):
    import redis

    owner.create()
    owner.get(BASE)
    keys = [k.decode() for k in redis.Redis.from_url(redis_server_url).keys("*")]
    assert keys and all(k.startswith("ts:v1:") for k in keys if "trade-signal" in k)
    assert any(k.startswith(f"ts:v1:{{trade-signals:user:{owner.user_id}}}:g") for k in keys)
    assert any(k == f"ts:v1:gen:{{trade-signals:user:{owner.user_id}}}" for k in keys)


def test_no_cross_user_leak(owner, other, admin):
    mine = owner.create()
    owner.get(BASE)
    owner.get(f"{BASE}/{mine['id']}")
    admin.get(f"{BASE}/admin")
    assert other.get(BASE).json()["results"] == []
    assert other.get(f"{BASE}/{mine['id']}").status_code == 404
    assert other.get(f"{BASE}/admin").status_code == 403
    response = other.get(f"{BASE}/{mine['id']}", headers={"If-None-Match": '"v1"'})
    assert response.status_code == 404  # a guessed ETag reveals nothing either
    review(admin, mine["id"], "approved")
    body = other.get(f"{BASE}/{mine['id']}").json()
    assert "history" not in body  # the public variant, even though the full one is cached


def test_every_write_is_visible_to_the_next_read(owner, admin, anonymous):
    """In-process freshness (the two-process matrix is in test_cache_cluster)."""
    signal = owner.create()
    sid = signal["id"]
    reads = {"own": (owner, BASE), "public": (anonymous, f"{BASE}/public"), "admin": (admin, f"{BASE}/admin"),
             "detail": (owner, f"{BASE}/{sid}")}

    def warm():
        for caller, path in reads.values():
            caller.get(path)

    warm()
    review(admin, sid, "approved")
    assert anonymous.get(f"{BASE}/public").json()["results"][0]["id"] == sid
    assert owner.get(f"{BASE}/{sid}").json()["status"] == "approved"
    warm()
    owner.send("PATCH", f"{BASE}/{sid}", {"rationale": "fresh"})
    assert owner.get(BASE).json()["results"][0]["rationale"] == "fresh"
    assert admin.get(f"{BASE}/admin").json()["results"][0]["rationale"] == "fresh"
    assert anonymous.get(f"{BASE}/public").json()["results"] == []
    warm()
    owner.send("DELETE", f"{BASE}/{sid}")
    assert owner.get(BASE).json()["results"] == []
    assert owner.get(f"{BASE}/{sid}").status_code == 404


def test_stampede_50_concurrent_cold_requests_cause_at_most_2_list_queries(make_caller):
    owner = make_caller("user")
    for _ in range(30):
        owner.create()
    callers = [make_caller("user", user_id=owner.user_id) for _ in range(50)]
    barrier = threading.Barrier(50)
    results = [None] * 50
    before = selectors.mongo_queries.lists

    def run(index):
        barrier.wait()
        results[index] = callers[index].get(BASE)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None and r.status_code == 200 for r in results)
    assert len({r.content for r in results}) == 1
    assert selectors.mongo_queries.lists - before <= 2
    assert sum(r["X-Cache"] == "miss" for r in results) <= 2


def test_browsable_api_renders_cached_lists(owner):
    owner.create()
    response = owner.get(BASE, headers={"Accept": "text/html"})
    assert response.status_code == 200 and b"<html" in response.content.lower()
