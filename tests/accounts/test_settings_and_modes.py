"""Production refuses weak token secrets; embedded mode (no Redis) keeps revocation in process memory;
the OpenAPI schema documents every accounts endpoint with both authentication schemes."""
import subprocess
import sys

import pytest
import requests

from tests.support.accounts import PASSWORD, unique_email
from tests.support.procs import ROOT, Gunicorn

STRONG = "k3J9x-Qw8LrT2vNb7YpZ4mHs6DcFa1Ug0Ei5Ro"
LOAD_PROD = "import django; django.setup(); from django.conf import settings; print(settings.AUTH_COOKIE_SECURE)"


def boot_prod(jwt_secret: str | None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "settings.prod",
           "DJANGO_SECRET_KEY": "p" * 16 + STRONG, "ALLOWED_HOSTS": "example.com",
           "WEB_CONCURRENCY": "1"}  # without Redis, production serves only as a single process
    if jwt_secret is not None:
        env["JWT_SECRET"] = jwt_secret
    return subprocess.run([sys.executable, "-c", LOAD_PROD], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("secret", [None, "", "changeme", "short-secret-31-bytes-long-xxxx",
                                    "dev-insecure-jwt-secret-0123456789abcdef", "test-jwt-secret-0123456789abcdef0123"])
def test_production_refuses_a_missing_default_or_short_jwt_secret(secret):
    result = boot_prod(secret)
    assert result.returncode != 0
    assert "JWT_SECRET must be set to a random value of at least 32 bytes" in result.stderr


def test_production_starts_with_a_strong_secret_and_secure_cookies():
    result = boot_prod(STRONG)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


@pytest.mark.cluster
def test_embedded_mode_keeps_revocation_in_process_memory(mongo_uri):
    env = {"MONGODB_URI": mongo_uri, "REDIS_ENABLED": "false", "REDIS_URL": "redis://127.0.0.1:1/0"}
    with Gunicorn(env, name="accounts-embedded") as web:
        def call(method, path, token=None, json=None):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return requests.request(method, f"{web.url}/api/v1/auth/{path}", json=json, headers=headers, timeout=10)

        email = unique_email()
        session = call("POST", "register", json={"email": email, "password": PASSWORD}).json()
        assert call("GET", "me", session["access"]).status_code == 200
        assert call("POST", "logout", session["access"]).status_code == 204
        assert call("GET", "me", session["access"]).status_code == 401
        other = call("POST", "login", json={"email": email, "password": PASSWORD}).json()
        assert call("POST", "logout-all", other["access"]).status_code == 204
        assert call("GET", "me", other["access"]).status_code == 401


def test_openapi_documents_the_accounts_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["bearerAuth"]["bearerFormat"] == "JWT"
    assert schemes["cookieAuth"]["in"] == "cookie" and schemes["cookieAuth"]["name"] == "ts_access"
    operations = {op["operationId"]: op for methods in schema["paths"].values() for op in methods.values()}
    expected = {
        "auth_register": {"201", "400", "409", "429"},
        "auth_login": {"200", "400", "401", "429"},
        "auth_refresh": {"200", "400", "401", "429"},
        "auth_logout": {"204", "401"},
        "auth_logout_all": {"204", "401"},
        "auth_me": {"200", "401"},
        "auth_password_change": {"204", "400", "401", "429"},
        "auth_sessions_list": {"200", "400", "401"},
        "auth_sessions_delete": {"204", "401", "404"},
        "auth_admin_user_update": {"200", "400", "401", "403", "404", "409"},
        "auth_admin_audit_list": {"200", "400", "401", "403"},
    }
    for operation_id, statuses in expected.items():
        operation = operations[operation_id]
        assert statuses <= set(operation["responses"]), operation_id
        for code in statuses - {"200", "201", "204"}:
            ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorEnvelope"), (operation_id, code)
    # public operations need no credentials; protected ones name both schemes
    assert {"bearerAuth": []} not in operations["auth_login"].get("security", [])
    assert {"bearerAuth": []} in operations["auth_me"]["security"]
    assert {"cookieAuth": []} in operations["auth_me"]["security"]
    components = schema["components"]["schemas"]
    assert set(components["RegisterInputRequest"]["properties"]) == {"email", "password", "display_name"}
    assert set(components["PatchedAdminUserUpdateInputRequest"]["properties"]) == {"role", "is_active"}
    assert set(components["SessionPage"]["properties"]) == {"results", "next"}
