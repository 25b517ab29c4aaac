"""/api/schema/ is a valid OpenAPI 3 document (validated against the OpenAPI 3.0 JSON Schema), and
/api/docs/ serves Swagger UI from our own static files (no CDN)."""
import re
import subprocess
import sys

import yaml

from tests.support.procs import ROOT


def test_schema_validates_with_no_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "settings.test"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"openapi": "3.0.3"' in result.stdout


def test_schema_endpoint_serves_openapi_3(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert "/api/v1/trade-signals/public" in document["paths"]
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}


def test_swagger_ui_is_served_offline(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200 and b"swagger-ui" in page.content
    sources = re.findall(rb'(?:src|href)="([^"]+)"', page.content)
    assert sources and all(not src.startswith((b"http://", b"https://", b"//")) for src in sources)
    for src in sources:
        if src.endswith(b".js") or src.endswith(b".css"):
            asset = client.get(src.decode())
            assert asset.status_code == 200, src
