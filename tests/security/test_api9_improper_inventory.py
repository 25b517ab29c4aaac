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
    "/media/{key}": "uploaded image files (file system backend; the gateway or a CDN serves them in deployment)",
}
# The bare slice prefixes delegate to the collection route of the same path (documented once).
DELEGATES = {"/api/v1/auth", "/api/v1/users", "/api/v1/trade-signals"}


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
            for code in codes - {"200", "201", "204", "304"}:
                ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorEnvelope"), (method, path, code)


def test_the_schema_lists_only_v1_paths(client):
    assert all(path.startswith("/api/v1/") for path in _schema(client)["paths"])
