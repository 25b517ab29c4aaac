"""/metrics: Prometheus text, one consistent view of an instance whatever worker answers the scrape."""
import re

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
        before = sample(requests.get(web.url + "/metrics", timeout=5).text, "ts_http_requests_total",
                        route="healthz", status="200")  # the start-up readiness polls
        for _ in range(40):
            response = requests.get(web.url + "/healthz", timeout=5)  # new connection → either worker
            assert response.status_code == 200
        for _ in range(7):
            assert session.get(web.url + "/api/v1/nope", timeout=5).status_code == 404
        scrapes = [requests.get(web.url + "/metrics", timeout=5) for _ in range(6)]
        for scrape in scrapes:
            assert scrape.status_code == 200
            assert scrape.headers["Content-Type"].startswith("text/plain")
            text = scrape.text
            # every scrape sees the whole instance, not just the worker that answered it
            assert sample(text, "ts_http_requests_total", route="healthz", status="200") == before + 40
            assert sample(text, "ts_http_requests_total", route="unmatched", status="404") == 7
            assert sample(text, "ts_http_request_duration_seconds_count", route="healthz") == before + 40
            assert 'ts_outbox_pending{alias="signals"} 0.0' in text


def test_metrics_token_is_enforced_when_set(client, settings):
    settings.METRICS_TOKEN = "scrape-secret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-token")
    assert response.status_code == 200 and b"ts_http_requests_total" in response.content
