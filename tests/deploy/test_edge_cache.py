"""The gateway's micro-cache of the public feed, with the real nginx config in front of a real gunicorn: anonymous
reads share one page per query for the documented bound, a newly approved signal shows within it, anything
with a credential or a cookie neither reads nor fills the cache, and no other route is cached."""
from __future__ import annotations

import re
import time
import uuid

import pytest
import requests
from django.conf import settings

from tests.deploy.gateway import ROOT, Nginx, load_renderer, nginx_binary
from tests.support.procs import Gunicorn
from tests.support.servers import require, wait_until
from tests.support.signals import BASE, VALID
from tests.support.tokens import bearer, make_token
from tradesignals import slices

pytestmark = pytest.mark.cluster

PUBLIC = f"{BASE}/public"


class EdgeNginx(Nginx):
    """The test rendering with the edge cache on (as compose has it), its cache under the runtime dir."""

    def _write(self, upstreams: dict[str, list[str]]) -> None:
        self.conf.write_text(load_renderer().render(
            upstreams=upstreams, listen=f"127.0.0.1:{self.port}", runtime_dir=self.dir, debug_headers=True,
            edge_cache=True,
        ))


def edge_seconds(text: str) -> int:
    """The validity the config gives a cached page: the freshness bound docs/deploy.md documents."""
    found = re.findall(r"proxy_cache_valid 200 (\d+)s;", text)
    assert len(found) == 1, found
    return int(found[0])


@pytest.fixture(scope="module")
def app(mongo_uri, redis_server_url):
    require(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    instance = Gunicorn({"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "RATE_LIMIT_MAX": "1000000",
                         "SIGNAL_CREATE_RATE_MAX": "100000"}, name="edge").start()
    yield instance
    instance.stop()


@pytest.fixture
def gateway(app):
    """A fresh gateway (so an empty cache) per test; the instance behind it stays."""
    nginx = EdgeNginx({name: [f"127.0.0.1:{app.port}"] for name in slices.ALL}).start()
    yield nginx
    nginx.stop()


def user(role: str = "user") -> dict:
    return bearer(make_token(uuid.uuid4().hex[:24], role=role, name=f"Edge {role}"), wsgi=False)


def approved(url: str, **overrides) -> str:
    """A signal created and approved through the gateway's API (signed in: never through the cache)."""
    created = requests.post(f"{url}{BASE}", json={**VALID, **overrides}, headers=user(), timeout=10)
    assert created.status_code == 201, created.content
    signal_id = created.json()["id"]
    reviewed = requests.patch(f"{url}{BASE}/{signal_id}/status", json={"status": "approved", "reason": "Fine"},
                              headers=user("admin"), timeout=10)
    assert reviewed.status_code == 200, reviewed.content
    return signal_id


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def get(url: str, path: str = PUBLIC, **kwargs):
    return requests.get(f"{url}{path}", timeout=10, **kwargs)


def test_the_compose_rendering_caches_the_feed_in_its_tmpfs_within_the_apps_max_age():
    text = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    active = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert "proxy_cache ts_edge;" in active
    assert re.search(r"proxy_cache_path /tmp/edge_cache .*keys_zone=ts_edge:", active)
    assert 0 < edge_seconds(active) <= settings.CACHE_PUBLIC_MAX_AGE
    documented = re.search(r"\*\*Freshness bound: (\d+) s\*\*", (ROOT / "docs" / "deploy.md").read_text())
    assert documented and int(documented.group(1)) == edge_seconds(active)


def test_a_second_anonymous_read_is_a_hit_with_the_same_page(gateway):
    signal_id = approved(gateway.url)
    first, second = get(gateway.url), get(gateway.url)
    assert first.headers["X-Cache-Status"] == "MISS"
    assert first.headers.get("X-Upstream")  # the instance answered
    assert second.headers["X-Cache-Status"] == "HIT"
    assert not second.headers.get("X-Upstream")  # the gateway answered alone
    assert second.content == first.content and ids(second) == [signal_id]
    assert second.headers["ETag"] == first.headers["ETag"]
    # The gateway keeps a page no longer than the app allows any cache to.
    max_age = int(re.search(r"max-age=(\d+)", second.headers["Cache-Control"]).group(1))
    assert edge_seconds(gateway.conf.read_text()) <= max_age
    # The ETag still answers a revalidation, from the cache.
    revalidated = get(gateway.url, headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304 and revalidated.headers["X-Cache-Status"] == "HIT"


def test_a_newly_approved_signal_shows_within_the_bound(gateway):
    bound = edge_seconds(gateway.conf.read_text())
    before = get(gateway.url)
    assert before.headers["X-Cache-Status"] == "MISS" and ids(before) == []
    signal_id = approved(gateway.url)
    approved_at = time.monotonic()
    # The instance has it at once (a signed-in read bypasses the gateway's cache) ...
    direct = get(gateway.url, headers=user())
    assert direct.headers["X-Cache-Status"] == "BYPASS" and signal_id in ids(direct)
    stale: list[str] = []

    def shows():
        response = get(gateway.url)
        if signal_id in ids(response):
            return response
        stale.append(response.headers["X-Cache-Status"])
        return None

    # ... anonymous readers get the kept page until it expires, then the new one.
    fresh = wait_until(shows, timeout=bound + 5, interval=0.05, message="the approved signal in the public feed")
    elapsed = time.monotonic() - approved_at
    assert elapsed <= bound + 1, elapsed
    assert stale and stale[0] == "HIT", stale  # the poll saw the stale cached page first
    assert set(stale) <= {"HIT", "STALE", "UPDATING"}, stale
    assert ids(fresh) == [signal_id]


def test_requests_with_a_credential_or_a_cookie_neither_read_nor_fill_the_cache(gateway):
    signal_id = approved(gateway.url)
    # Personal requests first, on a cold cache: nothing of theirs is stored ...
    for headers in (user(), {"Cookie": "sessionid=abc"}, {"Cookie": "theme=dark"},
                    {"Authorization": "Bearer not-a-token"}):
        personal = get(gateway.url, headers=headers)
        assert personal.headers["X-Cache-Status"] == "BYPASS", headers
        assert personal.headers.get("X-Upstream"), headers
    assert [path for path in (gateway.dir / "edge_cache").rglob("*") if path.is_file()] == []
    assert get(gateway.url).headers["X-Cache-Status"] == "MISS"  # ... the first anonymous read is still a miss
    assert get(gateway.url).headers["X-Cache-Status"] == "HIT"
    # A warm cache is never read for them: a bad credential is the app's 401, never the kept 200, and the
    # anonymous page stays the feed (the 401 was not stored) — in any order.
    for _ in range(3):
        refused = get(gateway.url, headers={"Authorization": "Bearer not-a-token"})
        assert refused.status_code == 401, refused.content
        assert refused.json()["error"]["code"] == "token_invalid"
        assert refused.headers["X-Cache-Status"] == "BYPASS"
        signed_in = get(gateway.url, headers=user())
        assert signed_in.headers["X-Cache-Status"] == "BYPASS" and ids(signed_in) == [signal_id]
        with_cookie = get(gateway.url, headers={"Cookie": "theme=dark"})
        assert with_cookie.headers["X-Cache-Status"] == "BYPASS" and ids(with_cookie) == [signal_id]
        anonymous = get(gateway.url)
        assert anonymous.headers["X-Cache-Status"] == "HIT" and ids(anonymous) == [signal_id]


def test_each_query_string_is_its_own_entry(gateway):
    btc = approved(gateway.url, symbol="btc/usdt")
    eth = approved(gateway.url, symbol="eth/usdt")
    both = get(gateway.url)
    assert both.headers["X-Cache-Status"] == "MISS" and set(ids(both)) == {btc, eth}
    for symbol, expected in (("BTC/USDT", btc), ("ETH/USDT", eth)):
        first = get(gateway.url, params={"symbol": symbol})
        assert first.headers["X-Cache-Status"] == "MISS", symbol
        assert ids(first) == [expected]
        again = get(gateway.url, params={"symbol": symbol})
        assert again.headers["X-Cache-Status"] == "HIT", symbol  # the same arguments: one entry
        assert ids(again) == [expected]
    assert get(gateway.url).headers["X-Cache-Status"] == "HIT"  # the unfiltered page kept its own entry
    # The key is the query as sent: the same arguments in another order are a second entry (correct, not shared).
    ordered = get(gateway.url, params=[("symbol", "BTC/USDT"), ("direction", "long")])
    reordered = get(gateway.url, params=[("direction", "long"), ("symbol", "BTC/USDT")])
    assert ordered.headers["X-Cache-Status"] == reordered.headers["X-Cache-Status"] == "MISS"
    assert ids(ordered) == ids(reordered) == [btc]
    # Any other argument is part of the key too: its own entry, whatever the app makes of it.
    extra = get(gateway.url, params={"symbol": "ETH/USDT", "colour": "red"})
    assert extra.headers["X-Cache-Status"] == "MISS" and ids(extra) == [eth]


def test_other_routes_are_not_cached(gateway):
    signal_id = approved(gateway.url)
    owner = user()
    for path, headers in ((f"{BASE}/{signal_id}", {}), (BASE, owner), (f"{BASE}/leaderboard", {}),
                          (f"{PUBLIC}/extra", {})):
        for _ in range(2):
            response = get(gateway.url, path, headers=headers)
            assert response.status_code < 500, (path, response.status_code)
            assert "X-Cache-Status" not in response.headers, path
            assert response.headers.get("X-Upstream"), path  # every read reached the instance
