"""API9:2023 Improper Inventory Management — every route the resolver serves is documented in the OpenAPI
schema, or listed below with the reason it is not. A route added without either fails here."""
from __future__ import annotations

from tests.security.routes import all_routes

# path → why it is not in /api/schema/
EXCLUDED = {
    "/healthz": "liveness probe for the balancer (plain JSON, not part of the API)",
    "/health": "readiness probe for the balancer",
    "/metrics": "Prometheus scrape target; the gateway does not route it",
    "/api/schema/": "the schema itself",
    "/api/docs/": "Swagger UI (HTML) over the schema",
    "/auth/login/": "browser login page (HTML form) for the browsable API and console",
    "/auth/logout/": "browser logout (HTML form)",
    "/auth/refresh/": "browser cookie renewal redirect",
    "/console/": "admin console (server-rendered HTML)",
    "/console/signals/": "admin console",
    "/console/signals/{signal_id}/": "admin console",
    "/console/reviewed/": "admin console",
    "/console/overview/": "admin console",
    "/console/discussions/": "admin console (moderation: open reports, recent comments)",
    "/console/discussions/threads/{thread_id}/": "admin console (one thread as administrators see it)",
    "/console/discussions/signals/{signal_id}/": "admin console (a signal's comments, framed by its signal page)",
    "/media/{key}": "uploaded image files (file system backend; the gateway or a CDN serves them in deployment)",
}
# The bare slice prefixes delegate to the collection route of the same path (documented once).
DELEGATES = {"/api/v1/auth", "/api/v1/users", "/api/v1/trade-signals", "/api/v1/discussions"}


def _schema(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_every_route_is_documented_or_excluded(client):
    paths = _schema(client)["paths"]
    undocumented = []
    for route in all_routes():
        if route.path in EXCLUDED or (route.path in DELEGATES and route.view_class is None):
            continue
        if route.path not in paths:
            undocumented.append(route.path)
            continue
        documented = {method.upper() for method in paths[route.path]}
        missing = {method.upper() for method in route.methods()} - documented
        assert not missing, f"{route.path}: {sorted(missing)} not in the schema"
    assert undocumented == [], "routes neither in the schema nor excluded"


def test_every_documented_path_is_served(client):
    served = {route.path for route in all_routes()}
    assert set(_schema(client)["paths"]) <= served


def test_the_exclusion_list_holds_no_stale_entries():
    served = {route.path for route in all_routes()}
    assert set(EXCLUDED) <= served, set(EXCLUDED) - served


def test_every_documented_operation_documents_its_errors(client):
    """Each operation names its error responses; errors are the one envelope."""
    for path, item in _schema(client)["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"429", "503"} <= codes, (method, path, codes)
            for code in codes - {"200", "201", "202", "204", "304"}:
                ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorEnvelope"), (method, path, code)


def test_the_schema_lists_only_v1_paths(client):
    assert all(path.startswith("/api/v1/") for path in _schema(client)["paths"])


def test_every_discussions_operation_is_documented(client):
    """The discussions slice as docs/discussions.md lists it: each operation in the schema, with its errors."""
    paths = _schema(client)["paths"]
    base = "/api/v1/discussions"
    expected = {
        ("get", base), ("post", base),
        ("get", f"{base}/{{thread_id}}"), ("patch", f"{base}/{{thread_id}}"), ("delete", f"{base}/{{thread_id}}"),
        ("get", f"{base}/{{thread_id}}/comments"), ("post", f"{base}/{{thread_id}}/comments"),
        ("get", f"{base}/{{thread_id}}/comments/{{comment_id}}"),
        ("patch", f"{base}/{{thread_id}}/comments/{{comment_id}}"),
        ("delete", f"{base}/{{thread_id}}/comments/{{comment_id}}"),
        ("get", f"{base}/signals/{{signal_id}}/comments"), ("post", f"{base}/signals/{{signal_id}}/comments"),
        ("post", f"{base}/comments/{{comment_id}}/report"),
        ("get", f"{base}/reports"), ("post", f"{base}/reports/{{report_id}}/dismiss"),
        ("post", f"{base}/{{thread_id}}/hide"), ("post", f"{base}/{{thread_id}}/unhide"),
        ("post", f"{base}/{{thread_id}}/comments/{{comment_id}}/hide"),
        ("post", f"{base}/{{thread_id}}/comments/{{comment_id}}/unhide"),
    }
    documented = {(method, path) for path, item in paths.items() if path.startswith(base)
                  for method in item if method in ("get", "post", "put", "patch", "delete")}
    assert documented == expected
    for method, path in expected:
        operation = paths[path][method]
        assert "discussions" in operation.get("tags", []), (method, path)
        assert operation.get("summary"), (method, path)
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
        if method != "get":
            assert "401" in operation["responses"], (method, path)
