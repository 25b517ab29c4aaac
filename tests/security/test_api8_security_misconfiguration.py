"""API8:2023 Security Misconfiguration — the production settings pass Django's deployment checks, every
response carries the security headers, CORS answers only the configured origins, and production serves the
browsable API (one of the product's interfaces) unless the operator turns it off with BROWSABLE_API=false.

Production is exercised for real: a gunicorn under ``settings.prod`` with real-looking secrets, behind a
(simulated) TLS-terminating balancer that sets X-Forwarded-Proto.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from tests.support.procs import ROOT, Gunicorn

SECRETS = {"DJANGO_SECRET_KEY": "Zq7vN2xW9kLp4Rt8Yb3Hc6Jm1Sd5Fg0Ae-prod-like-secret-value",
           "JWT_SECRET": "Xe4Wq9Lm2Np7Ks5Vb8Hr3Tc6Yd1Fj0Gu-prod-like-jwt-secret"}
ALLOWED_ORIGIN = "https://app.example.com"
HTTPS = {"X-Forwarded-Proto": "https"}


def _prod(code: str, **env) -> subprocess.CompletedProcess:
    # Without Redis, production settings load only for a single serving process (WEB_CONCURRENCY=1).
    environment = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "settings.prod", "HOME": "/tmp",
                   "WEB_CONCURRENCY": "1",
                   "ALLOWED_HOSTS": "api.example.com", "CSRF_TRUSTED_ORIGINS": "https://api.example.com",
                   **SECRETS, **env}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


def test_check_deploy_is_clean_under_production_settings():
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "settings.prod",
                                 "WEB_CONCURRENCY": "1",
                                 "ALLOWED_HOSTS": "api.example.com", **SECRETS},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


RENDERERS = ("import django; django.setup(); from django.conf import settings; "
             "print(settings.DEBUG, ','.join(settings.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES']))")


def test_production_serves_the_browsable_api_without_debug_by_default():
    result = _prod(RENDERERS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("False rest_framework.renderers.JSONRenderer,"
                                     "tradesignals.kernel.drf.renderers.BrowsableAPIRenderer")


def test_production_can_turn_the_browsable_api_off():
    result = _prod(RENDERERS, BROWSABLE_API="false")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False rest_framework.renderers.JSONRenderer"


@pytest.fixture(scope="module")
def prod_server(mongo_uri, redis_server_url):
    env = {"DJANGO_SETTINGS_MODULE": "settings.prod", "MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url,
           "REDIS_ENABLED": "true", "ALLOWED_HOSTS": "127.0.0.1", "CORS_ALLOWED_ORIGINS": ALLOWED_ORIGIN, **SECRETS}
    server = Gunicorn(env, name="prod").start()
    yield server
    server.stop()


@pytest.mark.cluster
def test_production_redirects_plain_http_but_probes_stay_plain(prod_server):
    response = requests.get(f"{prod_server.url}/api/v1/trade-signals/public", allow_redirects=False, timeout=5)
    assert response.status_code == 301 and response.headers["Location"].startswith("https://")
    assert requests.get(f"{prod_server.url}/healthz", timeout=5).status_code == 200


@pytest.mark.cluster
@pytest.mark.parametrize("path", ["/api/v1/trade-signals/public", "/api/v1/auth/me", "/api/v1/nowhere",
                                  "/auth/login/", "/api/v1/discussions", "/api/v1/discussions/reports"])
def test_security_headers_on_every_kind_of_response(prod_server, path):
    response = requests.get(f"{prod_server.url}{path}", headers=HTTPS, timeout=5)
    headers = response.headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Request-ID"]
    assert "Server" not in headers or "Django" not in headers["Server"]
    if path.startswith("/auth/"):
        assert "default-src" in headers["Content-Security-Policy"]
    else:
        assert headers["Content-Type"].startswith("application/json")


@pytest.mark.cluster
def test_production_answers_a_browser_with_the_browsable_page_under_the_strict_policy(prod_server):
    page = requests.get(f"{prod_server.url}/api/v1/trade-signals/public",
                        headers={**HTTPS, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy.split("style-src")[0] and "'unsafe-eval'" not in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert "Traceback (most recent call last)" not in page.text and SECRETS["JWT_SECRET"] not in page.text
    client = requests.get(f"{prod_server.url}/api/v1/trade-signals/public", headers=HTTPS, timeout=5)
    assert client.status_code == 200 and client.headers["Content-Type"].startswith("application/json")


@pytest.mark.cluster
def test_production_errors_carry_no_stack_trace_or_debug_page(prod_server):
    for response in (
        requests.post(f"{prod_server.url}/api/v1/trade-signals", data=b"{", headers={**HTTPS, "Content-Type":
                                                                                    "application/json"}, timeout=5),
        requests.get(f"{prod_server.url}/api/v1/does-not-exist", headers=HTTPS, timeout=5),
        requests.get(f"{prod_server.url}/api/v1/trade-signals/public", headers={**HTTPS, "Host": "evil.example"},
                     timeout=5),
    ):
        assert response.status_code in (400, 401, 404)
        assert "Traceback" not in response.text and "DEBUG" not in response.text


@pytest.mark.cluster
def test_cors_allows_only_the_configured_origins(prod_server):
    def preflight(origin: str):
        return requests.options(f"{prod_server.url}/api/v1/trade-signals/public", timeout=5, headers={
            **HTTPS, "Origin": origin, "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})

    allowed = preflight(ALLOWED_ORIGIN)
    assert allowed.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert "authorization" in allowed.headers.get("Access-Control-Allow-Headers", "").lower()
    for origin in ("https://evil.example", "https://app.example.com.evil.example", "null", "http://app.example.com"):
        refused = preflight(origin)
        assert "Access-Control-Allow-Origin" not in refused.headers, origin
        simple = requests.get(f"{prod_server.url}/api/v1/trade-signals/public", headers={**HTTPS, "Origin": origin},
                              timeout=5)
        assert "Access-Control-Allow-Origin" not in simple.headers, origin
        assert "Access-Control-Allow-Credentials" not in simple.headers, origin
