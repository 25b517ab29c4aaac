"""The deployable slices as a real cluster on loopback.

nginx (the gateway) in front of accounts×2, users×1, signals×2 gunicorn instances and a consumers process,
sharing one Redis (cache, security state, Redis Streams bus) and the MongoDB-compatible server, each slice in
its own database. Everything goes through real sockets; every process is stopped at the end.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid

import pytest
import redis
import requests

from tests.cluster.deployment import LOGIN_LIMIT, Cluster
from tests.deploy.gateway import nginx_binary
from tests.support.servers import require, wait_until
from tests.support.tokens import bearer

pytestmark = pytest.mark.cluster

PASSWORD = "cluster journey passphrase 42"


def _signal_body(symbol: str = "BTC/USDT") -> dict:
    return {"symbol": symbol, "direction": "long", "entry_price": "64000.10", "stop_loss": "63000",
            "take_profit": "66000.50", "timeframe": "4h", "rationale": "Breakout above the weekly range."}


@pytest.fixture(scope="module")
def cluster(mongo_server, redis_server_url):
    require(nginx_binary() is not None, "nginx is not installed")
    running = Cluster(mongo_server.uri, redis_server_url).start()
    yield running
    running.stop()


def register(base: str, email: str) -> dict:
    response = requests.post(f"{base}/api/v1/auth/register", json={"email": email, "password": PASSWORD},
                             timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def login(base: str, email: str, **kwargs) -> requests.Response:
    return requests.post(f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30,
                         **kwargs)


class FromAddress(requests.adapters.HTTPAdapter):
    """Connect from another loopback address: the client must not look like the trusted proxy (127.0.0.1)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_full_journey_through_the_gateway(cluster):
    base = cluster.url
    trader = register(base, f"trader-{uuid.uuid4().hex[:8]}@example.com")
    register(base, "admin@example.com")
    cluster.make_admin("admin@example.com", PASSWORD)
    admin = login(base, "admin@example.com")
    assert admin.status_code == 200 and admin.json()["user"]["role"] == "admin"
    admin_token = admin.json()["access"]

    created = requests.post(f"{base}/api/v1/trade-signals", json=_signal_body(),
                            headers=bearer(trader["access"], wsgi=False), timeout=30)
    assert created.status_code == 201, created.text
    signal_id = created.json()["id"]
    assert created.headers["Location"].endswith(f"/api/v1/trade-signals/{signal_id}")

    approved = requests.patch(f"{base}/api/v1/trade-signals/{signal_id}/status",
                              json={"status": "approved", "reason": "clean setup"},
                              headers=bearer(admin_token, wsgi=False), timeout=30)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    feed = requests.get(f"{base}/api/v1/trade-signals/public", timeout=30)
    assert feed.status_code == 200
    assert signal_id in [item["id"] for item in feed.json()["results"]]

    # The users slice learns about the signal only through the bus (consumers process, Redis Streams).
    def approved_count():
        response = requests.get(f"{base}/api/v1/users/me", headers=bearer(trader["access"], wsgi=False), timeout=30)
        assert response.status_code == 200
        return response.json()["signal_counts"]["approved"] == 1 and response.json()

    profile = wait_until(approved_count, timeout=30, message="the profile to count the approved signal")
    assert profile["email"] == trader["user"]["email"]
    public = requests.get(f"{base}/api/v1/users/{trader['user']['id']}", timeout=30)
    assert public.status_code == 200 and public.json()["approved_signals"] == 1

    out = requests.post(f"{base}/api/v1/auth/logout", headers=bearer(trader["access"], wsgi=False), timeout=30)
    assert out.status_code == 204
    refused = requests.get(f"{base}/api/v1/trade-signals", headers=bearer(trader["access"], wsgi=False), timeout=30)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_invalid"


def test_an_etag_received_through_the_gateway_satisfies_if_match(cluster):
    """The gateway compresses JSON, and nginx weakens the ETag of what it compresses; a weak tag never satisfies
    If-Match. Whatever tag a client receives for a signal through the gateway, sending it back edits."""
    base = cluster.url
    trader = register(base, f"etag-{uuid.uuid4().hex[:8]}@example.com")
    body = {**_signal_body(), "rationale": "A long rationale that makes the detail worth compressing. " * 40}
    created = requests.post(f"{base}/api/v1/trade-signals", json=body, headers=bearer(trader["access"], wsgi=False),
                            timeout=30)
    assert created.status_code == 201, created.text
    signal_id = created.json()["id"]
    detail = requests.get(f"{base}/api/v1/trade-signals/{signal_id}", timeout=30,
                          headers={**bearer(trader["access"], wsgi=False), "Accept-Encoding": "gzip"})
    assert detail.status_code == 200 and len(detail.content) > 1024
    for tag in (created.headers["ETag"], detail.headers["ETag"]):
        assert not tag.startswith("W/"), tag
    edited = requests.patch(f"{base}/api/v1/trade-signals/{signal_id}", json={"rationale": "Raised the target."},
                            headers={**bearer(trader["access"], wsgi=False), "If-Match": detail.headers["ETag"]},
                            timeout=30)
    assert edited.status_code == 200, edited.text
    assert edited.headers["ETag"] == '"v2"'


def test_token_revoked_on_one_instance_is_refused_on_every_other(cluster):
    email = f"revoke-{uuid.uuid4().hex[:8]}@example.com"
    first, second = cluster.web["accounts"]
    tokens = register(first.url, email)
    for instance in (*cluster.web["signals"], *cluster.web["users"], second):
        path = "/api/v1/users/me" if instance in cluster.web["users"] else (
            "/api/v1/auth/me" if instance is second else "/api/v1/trade-signals")
        assert requests.get(instance.url + path, headers=bearer(tokens["access"], wsgi=False),
                            timeout=30).status_code == 200
    assert requests.post(f"{first.url}/api/v1/auth/logout", headers=bearer(tokens["access"], wsgi=False),
                         timeout=30).status_code == 204
    for instance in cluster.web["signals"]:
        response = requests.get(f"{instance.url}/api/v1/trade-signals", headers=bearer(tokens["access"], wsgi=False),
                                timeout=30)
        assert response.status_code == 401, instance.name
    assert requests.get(f"{second.url}/api/v1/auth/me", headers=bearer(tokens["access"], wsgi=False),
                        timeout=30).status_code == 401
    # the refresh family died with the logout, on the other accounts instance too
    refreshed = requests.post(f"{second.url}/api/v1/auth/refresh", json={"refresh": tokens["refresh"]}, timeout=30)
    assert refreshed.status_code == 401


def test_write_on_one_signals_instance_is_never_read_stale_on_the_other(cluster):
    a, b = cluster.web["signals"]
    owner = register(cluster.url, f"fresh-{uuid.uuid4().hex[:8]}@example.com")
    headers = bearer(owner["access"], wsgi=False)
    # warm b's cached own list, then write on a and read on b, several times over
    assert requests.get(f"{b.url}/api/v1/trade-signals", headers=headers, timeout=30).json()["results"] == []
    created = requests.post(f"{a.url}/api/v1/trade-signals", json=_signal_body("ETH/USDT"), headers=headers,
                            timeout=30).json()
    for round_ in range(3):
        listed = requests.get(f"{b.url}/api/v1/trade-signals", headers=headers, timeout=30)
        detail = requests.get(f"{b.url}/api/v1/trade-signals/{created['id']}", headers=headers, timeout=30)
        assert [item["id"] for item in listed.json()["results"]] == [created["id"]]
        assert detail.json()["version"] == created["version"] + round_
        rationale = f"Edited on instance a, round {round_}."
        edited = requests.patch(f"{a.url}/api/v1/trade-signals/{created['id']}", json={"rationale": rationale},
                                headers=headers, timeout=30)
        assert edited.status_code == 200
        assert requests.get(f"{b.url}/api/v1/trade-signals/{created['id']}", headers=headers,
                            timeout=30).json()["rationale"] == rationale
        assert requests.get(f"{b.url}/api/v1/trade-signals", headers=headers,
                            timeout=30).json()["results"][0]["rationale"] == rationale
    deleted = requests.delete(f"{a.url}/api/v1/trade-signals/{created['id']}", headers=headers, timeout=30)
    assert deleted.status_code == 204
    assert requests.get(f"{b.url}/api/v1/trade-signals/{created['id']}", headers=headers, timeout=30).status_code == 404
    assert requests.get(f"{b.url}/api/v1/trade-signals", headers=headers, timeout=30).json()["results"] == []


def test_login_rate_limit_counts_across_accounts_instances(cluster):
    """Every attempt goes through the gateway, which spreads them over both accounts instances."""
    email = f"limited-{uuid.uuid4().hex[:8]}@example.com"
    register(cluster.web["accounts"][0].url, email)
    client = requests.Session()
    client.mount("http://", FromAddress("127.0.0.2"))
    upstreams, statuses = set(), []
    for attempt in range(LOGIN_LIMIT + 1):
        # a left-most X-Forwarded-For lie, new on every other attempt, must not open a fresh bucket
        headers = {"X-Forwarded-For": f"203.0.113.{attempt}"} if attempt % 2 else {}
        response = client.post(f"{cluster.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD},
                               headers=headers, timeout=30)
        statuses.append(response.status_code)
        upstreams.add(response.headers.get("X-Upstream"))
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["error"]["code"] == "rate_limited"
    assert len(upstreams) == 2, "the attempts reached both accounts instances"
    assert statuses[:LOGIN_LIMIT] == [200] * LOGIN_LIMIT
    assert statuses[LOGIN_LIMIT] == 429


def _mails_to(mail_dir, address: str, subject_part: str) -> list[str]:
    """The messages the file-based mail backend of the cluster's processes wrote to ``address``."""
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        for message in path.read_text(errors="replace").split("-" * 79):
            if f"To: {address}" in message and subject_part in message:
                found.append(message)
    return found


def test_a_comment_under_a_signal_reaches_its_owner_and_the_profiles_and_a_rejection_closes_the_thread(cluster):
    """discussions behind the gateway, on the Redis Streams bus: the signal projection opens the thread, the
    users slice emails the owner once for a burst of comments and counts them, a rejection closes the thread.
    (Before the tests that kill signals instances: it needs one.)"""
    base = cluster.url
    trader = register(base, f"owner-{uuid.uuid4().hex[:8]}@example.com")
    reader = register(base, f"reader-{uuid.uuid4().hex[:8]}@example.com")
    moderator = f"moderator-{uuid.uuid4().hex[:8]}@example.com"
    register(base, moderator)
    cluster.make_admin(moderator, PASSWORD)
    admin_token = login(base, moderator).json()["access"]
    created = requests.post(f"{base}/api/v1/trade-signals", json=_signal_body("ETH/USDT"),
                            headers=bearer(trader["access"], wsgi=False), timeout=30)
    assert created.status_code == 201, created.text
    signal_id = created.json()["id"]
    approved = requests.patch(f"{base}/api/v1/trade-signals/{signal_id}/status", json={"status": "approved"},
                              headers=bearer(admin_token, wsgi=False), timeout=30)
    assert approved.status_code == 200, approved.text

    comments_path = f"{base}/api/v1/discussions/signals/{signal_id}/comments"
    wait_until(lambda: requests.get(comments_path, timeout=30).status_code == 200, timeout=30,
               message="the discussions slice to learn the approval from the bus")
    for n in range(3):
        posted = requests.post(comments_path, json={"body": f"Comment {n} on this setup"},
                               headers=bearer(reader["access"], wsgi=False), timeout=30)
        assert posted.status_code == 201, posted.text
    page = requests.get(comments_path, timeout=30).json()
    assert [c["body"] for c in page["results"]] == [f"Comment {n} on this setup" for n in range(3)]

    reader_profile = f"{base}/api/v1/users/{reader['user']['id']}"
    wait_until(lambda: requests.get(reader_profile, timeout=30).json().get("comments") == 3, timeout=30,
               message="the reader's profile to count three comments")
    owner_address = trader["user"]["email"]
    mails = wait_until(lambda: _mails_to(cluster.mail_dir, owner_address, "New comments"), timeout=30,
                       message="the owner's new-comments email")
    assert len(mails) == 1 and "ETH/USDT long 4h" in mails[0]

    rejected = requests.patch(f"{base}/api/v1/trade-signals/{signal_id}/status",
                              json={"status": "rejected", "reason": "Entry already gone"},
                              headers=bearer(admin_token, wsgi=False), timeout=30)
    assert rejected.status_code == 200, rejected.text
    wait_until(lambda: requests.get(comments_path, timeout=30).status_code == 404, timeout=30,
               message="the thread to close once the rejection is consumed")
    refused = requests.post(comments_path, json={"body": "Too late?"}, headers=bearer(reader["access"], wsgi=False),
                            timeout=30)
    assert refused.status_code == 404
    threads = requests.get(f"{base}/api/v1/discussions", params={"signal_id": signal_id},
                           headers=bearer(admin_token, wsgi=False), timeout=30).json()["results"]
    assert len(threads) == 1 and threads[0]["closed"] is True and threads[0]["comment_count"] == 3
    assert requests.get(f"{base}/api/v1/discussions", params={"signal_id": signal_id},
                        timeout=30).json()["results"] == []
    assert len(_mails_to(cluster.mail_dir, owner_address, "New comments")) == 1


def test_killing_a_signals_instance_during_a_stream_of_gets_fails_no_request(cluster):
    victim = cluster.web["signals"][1]
    results: list[int | str] = []
    stop = threading.Event()

    def stream():
        session = requests.Session()
        while not stop.is_set():
            try:
                results.append(session.get(f"{cluster.url}/api/v1/trade-signals/public", timeout=10).status_code)
            except requests.RequestException as exc:
                results.append(repr(exc))

    workers = [threading.Thread(target=stream) for _ in range(4)]
    for worker in workers:
        worker.start()
    wait_until(lambda: len(results) >= 40, timeout=30, message="a stream of GETs")
    victim.proc.send_signal(signal.SIGKILL)  # no goodbye: the master and its worker die mid-stream
    victim.proc.wait(timeout=10)
    before = len(results)
    wait_until(lambda: len(results) >= before + 80, timeout=60, message="GETs after the kill")
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    failures = [r for r in results if r != 200]
    assert failures == [], failures[:5]
    # a worker whose master was killed exits on its own once it notices; make sure it is gone now
    for child in subprocess.run(["pgrep", "-f", f"127.0.0.1:{victim.port}"], capture_output=True,
                                text=True).stdout.split():
        os.kill(int(child), signal.SIGKILL)  # the orphaned worker, if it outlived its master


def test_sigterm_during_a_slow_request_lets_it_finish(cluster):
    instance = cluster.web["signals"][0]
    outcome: dict = {}

    def slow():
        try:
            outcome["response"] = requests.get(f"{instance.url}/test/slow?seconds=3&tag=cluster", timeout=30)
        except requests.RequestException as exc:
            outcome["error"] = exc

    started = time.monotonic()
    client = threading.Thread(target=slow)
    client.start()
    cache = redis.Redis.from_url(cluster.redis_url)
    wait_until(lambda: any(b"test:slow-started" in key for key in cache.keys("*slow-started*")), timeout=10,
               message="the slow request to start")
    instance.proc.send_signal(signal.SIGTERM)
    client.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["response"].status_code == 200 and outcome["response"].json() == {"status": "finished"}
    assert time.monotonic() - started >= 3
    assert instance.proc.wait(timeout=30) == 0

