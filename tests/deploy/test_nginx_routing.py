"""The real gateway config in front of two real gunicorn instances of the app: routing by path prefix,
spreading across instances, request ids, gzip, nginx's own errors (400, 404, 413, 414, 431, 503) as the JSON
envelope with nginx's request id, and failover."""
from __future__ import annotations

import http.client
import json
import re

import pytest
import requests

from tests.deploy.gateway import Nginx, nginx_binary
from tests.support.procs import Gunicorn
from tests.support.servers import require

pytestmark = pytest.mark.cluster

HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def cluster(mongo_uri, redis_server_url):
    """Instances a and b; accounts, users and discussions route to a, signals to b, shared paths to both.
    Discussions and signals on different instances show /console/discussions leaving the signals console."""
    require(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    env = {"MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url}
    a = Gunicorn(env, name="gw-a").start()
    try:
        b = Gunicorn(env, name="gw-b").start()
    except BaseException:
        a.stop()
        raise
    addr = {"a": f"127.0.0.1:{a.port}", "b": f"127.0.0.1:{b.port}"}
    gateway = Nginx({"accounts": [addr["a"]], "users": [addr["a"]], "signals": [addr["b"]],
                     "discussions": [addr["a"]], "any": [addr["a"], addr["b"]]})
    try:
        gateway.start()
        yield {"nginx": gateway, "a": a, "b": b, "addr": addr}
    finally:
        gateway.stop()
        b.stop()
        a.stop()


def test_rendered_config_passes_nginx_t(cluster):
    result = cluster["nginx"].test_config()
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_health_and_schema_answer_through_the_gateway(cluster):
    url = cluster["nginx"].url
    health = requests.get(f"{url}/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"

    schema = requests.get(f"{url}/api/schema/?format=json", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert schema.headers.get("Content-Encoding") == "gzip"  # JSON is compressed by the gateway

    docs = requests.get(f"{url}/api/docs/", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_paths_route_to_their_slice_upstream(cluster):
    url, addr = cluster["nginx"].url, cluster["addr"]
    expected = {
        "/api/v1/auth/me": addr["a"],
        "/auth/login/": addr["a"],
        "/api/v1/users/me": addr["a"],
        "/api/v1/trade-signals/public": addr["b"],
        "/console/": addr["b"],
        "/api/v1/discussions": addr["a"],
        "/api/v1/discussions/": addr["a"],
        "/console/discussions": addr["a"],
        "/console/discussions/": addr["a"],
    }
    for path, upstream in expected.items():
        response = requests.get(f"{url}{path}", timeout=10, allow_redirects=False)
        assert response.headers.get("X-Upstream") == upstream, (path, response.status_code)
        assert response.status_code < 500, (path, response.status_code)


def test_gets_are_spread_across_both_instances(cluster):
    url, addr = cluster["nginx"].url, cluster["addr"]
    seen = [requests.get(f"{url}/healthz", timeout=10).headers["X-Upstream"] for _ in range(8)]
    assert set(seen) == {addr["a"], addr["b"]}


def test_request_id_is_generated_when_absent_and_kept_when_valid(cluster):
    nginx = cluster["nginx"]
    generated = requests.get(f"{nginx.url}/healthz", timeout=10).headers["X-Request-ID"]
    assert HEX32.match(generated)
    # nginx made it (its access log has it), and the app kept it rather than minting another.
    logged = [json.loads(line) for line in nginx.access_log().splitlines() if line.strip()]
    assert any(entry["request_id"] == generated and entry["uri"] == "/healthz" for entry in logged)

    kept = requests.get(f"{nginx.url}/healthz", headers={"X-Request-ID": "client-trace-0001"}, timeout=10)
    assert kept.headers["X-Request-ID"] == "client-trace-0001"

    replaced = requests.get(f"{nginx.url}/healthz", headers={"X-Request-ID": "bad id <script>"}, timeout=10)
    assert HEX32.match(replaced.headers["X-Request-ID"])


def test_oversized_body_gets_the_json_envelope_from_the_gateway(cluster):
    url = cluster["nginx"].url
    response = requests.post(f"{url}/api/v1/auth/register", data=b"x" * (70 * 1024),
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 413
    body = response.json()
    assert body["error"]["code"] == "payload_too_large"
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    assert "X-Upstream" not in response.headers or not response.headers["X-Upstream"]  # never reached an app


def test_unknown_api_path_is_the_apps_json_404(cluster):
    response = requests.get(f"{cluster['nginx'].url}/api/v9/no-such-thing", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_stopped_instance_is_skipped_and_a_dead_slice_is_a_json_503(cluster):
    url, addr = cluster["nginx"].url, cluster["addr"]
    cluster["b"].stop()
    # Shared paths: every GET still succeeds, served by a (a refused connection is retried elsewhere).
    responses = [requests.get(f"{url}/healthz", timeout=10) for _ in range(6)]
    assert [r.status_code for r in responses] == [200] * 6
    assert {r.headers["X-Upstream"].split(", ")[-1] for r in responses} == {addr["a"]}
    # signals had only b: the gateway answers with the API's envelope, not an HTML 502 page.
    dead = requests.get(f"{url}/api/v1/trade-signals/public", timeout=10)
    assert dead.status_code == 503
    assert dead.json()["error"]["code"] == "service_unavailable"


def _gateway_error(status: int, headers, raw: bytes, *, expected: int, code: str) -> dict:
    """nginx's own refusal, in the API's envelope, with the request id it generated (also in X-Request-ID)."""
    assert status == expected, raw[:300]
    assert headers["Content-Type"].startswith("application/json")
    body = json.loads(raw)
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert HEX32.match(headers["X-Request-ID"])
    assert body["error"]["request_id"] == headers["X-Request-ID"]
    assert not headers.get("X-Upstream")  # refused before any instance saw it
    return body


def test_an_over_long_url_is_a_json_414_from_the_gateway(cluster):
    url = cluster["nginx"].url
    response = requests.get(f"{url}/api/v1/trade-signals/public?symbol=" + "A" * 20_000, timeout=10)
    _gateway_error(response.status_code, response.headers, response.content, expected=414, code="uri_too_long")


@pytest.mark.parametrize("extra", range(-40, 41, 8))
def test_urls_and_headers_near_the_gateway_limit_never_meet_an_upstream_html_page(cluster, extra):
    """nginx and gunicorn bound a request line and a header line alike (8 KiB): whatever length the gateway
    lets through, the upstream accepts, so every answer is JSON — the app's, or the gateway's 414/431."""
    url = cluster["nginx"].url
    path = "/healthz?padding="  # served by every instance, whichever an earlier test stopped
    request_line = len("GET  HTTP/1.1") + len(path)
    long_url = requests.get(url + path + "A" * (8192 - request_line + extra), timeout=10)
    assert long_url.status_code in (200, 414), long_url.content[:200]
    assert long_url.headers["Content-Type"].startswith("application/json"), long_url.content[:200]
    header = requests.get(f"{url}/healthz",
                          headers={"X-Padding": "a" * (8192 - len("X-Padding: ") + extra)}, timeout=10)
    assert header.status_code in (200, 431), header.content[:200]
    assert header.headers["Content-Type"].startswith("application/json"), header.content[:200]


def test_over_large_headers_are_a_json_431_from_the_gateway(cluster):
    url = cluster["nginx"].url
    one_big = requests.get(f"{url}/api/v1/trade-signals/public", headers={"X-Padding": "a" * 20_000}, timeout=10)
    _gateway_error(one_big.status_code, one_big.headers, one_big.content, expected=431, code="headers_too_large")
    cookies = "; ".join(f"c{n}={'v' * 4000}" for n in range(20))  # each header line fits, all together do not
    many = requests.get(f"{url}/api/v1/trade-signals/public", headers={"Cookie": cookies,
                        "X-Padding-2": "b" * 15_000, "X-Padding-3": "c" * 15_000, "X-Padding-4": "d" * 15_000,
                        "X-Padding-5": "e" * 15_000}, timeout=10)
    _gateway_error(many.status_code, many.headers, many.content, expected=431, code="headers_too_large")


def test_a_malformed_request_is_a_json_400_from_the_gateway(cluster):
    connection = http.client.HTTPConnection("127.0.0.1", cluster["nginx"].port, timeout=10)
    try:
        connection.putrequest("GET", "/api/v1/trade-signals/public", skip_host=True)  # HTTP/1.1 needs a Host
        connection.endheaders()
        response = connection.getresponse()
        _gateway_error(response.status, response.headers, response.read(), expected=400, code="malformed_request")
    finally:
        connection.close()


def test_paths_the_gateway_refuses_itself_are_a_json_404(cluster):
    for path in ("/metrics", "/.gateway-error/uri_too_long"):  # not routed; the error pages are internal
        response = requests.get(f"{cluster['nginx'].url}{path}", timeout=10)
        _gateway_error(response.status_code, response.headers, response.content, expected=404, code="not_found")


def test_proxied_errors_keep_the_apps_own_envelope(cluster):
    """error_page only replaces what nginx itself answers: the app's own 400 passes through untouched."""
    response = requests.post(f"{cluster['nginx'].url}/api/v1/auth/login", json={"email": 1}, timeout=10,
                             headers={"X-Request-ID": "client-trace-0002"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["request_id"] == response.headers["X-Request-ID"] == "client-trace-0002"
    assert response.headers.get("X-Upstream") == cluster["addr"]["a"]
