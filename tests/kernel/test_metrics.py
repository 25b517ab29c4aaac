"""/metrics: Prometheus text, one consistent view of an instance whatever worker answers the scrape."""
import random
import re
import string

import pytest
import requests

from tests.support.procs import Gunicorn


def sample(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        body = line[len(name) + 1: line.index("}")]
        found = dict(re.findall(r'(\w+)="([^"]*)"', body))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.cluster
def test_counts_add_up_across_two_workers(mongo_uri, redis_server_url):
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url}
    with Gunicorn(env, workers=2, name="metrics") as web:
        session = requests.Session()
        # HEAD, not GET: the start-up readiness polls GET /healthz, and one that timed out on a loaded host
        # may still be counted after any "before" scrape.
        for _ in range(40):
            response = requests.head(web.url + "/healthz", timeout=5)  # new connection → either worker
            assert response.status_code == 200
        for _ in range(7):
            assert session.get(web.url + "/api/v1/nope", timeout=5).status_code == 404
        scrapes = [requests.get(web.url + "/metrics", timeout=5) for _ in range(6)]
        for scrape in scrapes:
            assert scrape.status_code == 200
            assert scrape.headers["Content-Type"].startswith("text/plain")
            text = scrape.text
            # every scrape sees the whole instance, not just the worker that answered it
            assert sample(text, "ts_http_requests_total", method="HEAD", route="healthz", status="200") == 40
            assert sample(text, "ts_http_requests_total", route="unmatched", status="404") == 7
            assert sample(text, "ts_http_request_duration_seconds_count", method="HEAD", route="healthz") == 40
            assert 'ts_outbox_pending{alias="signals"} 0.0' in text


def test_metrics_token_is_enforced_when_set(client, settings):
    settings.METRICS_TOKEN = "scrape-secret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-token")
    assert response.status_code == 200 and b"ts_http_requests_total" in response.content


def series(text: str) -> set[str]:
    """The exported series: every sample line's name and labels (values change, identities must not)."""
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def random_token(rng, low: int, high: int) -> str:
    return "".join(rng.choices(string.ascii_uppercase, k=rng.randint(low, high)))


@pytest.mark.cluster
def test_client_chosen_methods_and_paths_do_not_grow_the_series(mongo_uri, redis_server_url):
    """A scanner sending made-up methods to made-up paths must not blow up the time-series database:
    after a warm-up that creates the ``other`` method and ``unmatched`` route series, 1 000 such requests
    leave the exported series exactly as they were."""
    rng = random.Random(20261)  # noqa: S311 - test data, not secrets
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url, "RATE_LIMIT_MAX": "100000"}
    known = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
    with Gunicorn(env, name="metrics-cardinality") as web:
        session = requests.Session()
        routes = ["/healthz", "/api/v1/trade-signals/public"]

        def unmatched() -> str:
            return rng.choice(["/api/v1/", "/", "/nope/"]) + random_token(rng, 4, 30).lower()

        for path in [*routes, unmatched(), "/api/v1/" + random_token(rng, 5, 9).lower()]:
            for method in ("WARMUP", "GET"):
                session.request(method, web.url + path, timeout=5)
        before = series(session.get(web.url + "/metrics", timeout=5).text)
        assert any('method="other"' in line and 'route="unmatched"' in line for line in before)

        for _ in range(1000):
            method = random_token(rng, 3, 16)
            while method in known:
                method = random_token(rng, 3, 16)
            path = rng.choice(routes) if rng.random() < 0.3 else unmatched()
            response = session.request(method, web.url + path, timeout=5)
            assert response.status_code in {200, 403, 404, 405}, (method, path, response.status_code)
        after = series(session.get(web.url + "/metrics", timeout=5).text)
        assert after - before == set()
        assert len(after) == len(before)


def test_labels_without_a_route_are_bounded_too(client):
    """Statuses outside the product's set count in their class; event types, consumers and cache namespaces
    never take a value the code did not choose (a foreign producer's type, an id in a namespace)."""
    from tradesignals.kernel import metrics

    assert [metrics.status_label(code) for code in (200, 404, 429, 418, 207, 599, 700)] == [
        "200", "404", "429", "4xx", "2xx", "5xx", "other"]
    assert metrics.method_label("BREW") == "other" and metrics.method_label("PATCH") == "PATCH"
    for n in range(500):
        metrics.event_consumed(f"forged.type.{n}", f"app{n}", f"result{n}")
        metrics.cache_lookup(f"scan:{n}:{n}", hit=False)
    text = client.get("/metrics").content.decode()
    consumed = [line for line in text.splitlines() if line.startswith("ts_events_consumed_total{")]
    assert consumed == ['ts_events_consumed_total{consumer="other",result="other",type="other"} 500.0']
    namespaces = {re.search(r'namespace="([^"]*)"', line).group(1)
                  for line in text.splitlines() if line.startswith("ts_cache_lookups_total{")}
    assert len(namespaces) <= metrics.MAX_CACHE_NAMESPACES + 1 and "other" in namespaces
