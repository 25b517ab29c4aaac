"""A split deployment serves the whole API's OpenAPI document and Swagger UI at the gateway.

One gunicorn instance per slice (each mounting only its own slice) behind the real nginx config. The
document the gateway serves is compared with the operations of every slice's URLconf, read from the code
(the resolver of this all-slices test process), not with a list written here; every instance answers with
that same document, which is also the all-in-one server's; and Swagger UI, loaded through the gateway in a
real browser under the strict CSP, shows every operation of every slice.
"""
from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
import requests
from django.conf import settings

from tests.cluster.deployment import Cluster
from tests.deploy.gateway import nginx_binary
from tests.security.routes import api_operations, concrete
from tests.support.servers import require
from tradesignals import slices

pytestmark = pytest.mark.cluster

METHODS = {"get", "put", "post", "patch", "delete"}
# Records CSP violations from the first byte of every document (the page's own policy does not apply here).
WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'}`));
"""


@pytest.fixture(scope="module")
def split(mongo_server, redis_server_url):
    require(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    running = Cluster(mongo_server.uri, redis_server_url, instances={name: 1 for name in slices.ALL},
                      consumers=False).start()
    yield running
    running.stop()


def _json_schema(base: str) -> dict:
    response = requests.get(f"{base}/api/schema/?format=json", timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def _documented(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in METHODS}


def _differences(left, right, where: str = "") -> list[str]:
    """Where two JSON documents differ (pointers), so a failed comparison names the place, not two blobs."""
    if isinstance(left, dict) and isinstance(right, dict):
        return [found for key in sorted(set(left) | set(right))
                for found in (_differences(left.get(key), right.get(key), f"{where}/{key}")
                              if key in left and key in right else [f"{where}/{key}"])]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [found for index, pair in enumerate(zip(left, right, strict=True))
                for found in _differences(*pair, f"{where}/{index}")]
    return [] if left == right else [where or "/"]


def _code_operations() -> set[tuple[str, str]]:
    """Every DRF operation of every slice, from the URLconfs this process mounts (all slices)."""
    assert settings.TRADESIGNALS_SLICES == slices.ALL, "the expected set needs every slice mounted here"
    return {(method, path) for method, path, _view in api_operations()}


def test_the_gateway_document_has_every_operation_of_every_slice(split):
    document = _json_schema(split.url)
    expected = _code_operations()
    # Each slice contributes: the comparison below cannot pass with a slice missing on both sides.
    for piece in slices.SLICES.values():
        assert any(path.startswith(f"/{piece.api_prefix}") or f"{path}/" == f"/{piece.api_prefix}"
                   for _method, path in expected), piece.name
    documented = _documented(document)
    assert expected - documented == set(), "routes of the code missing from the gateway's document"
    assert documented - expected == set(), "documented operations no slice serves"


def test_every_documented_path_is_routed_to_the_slice_that_serves_it(split):
    """No path of the document leads nowhere: through the gateway each reaches an instance of its owner."""
    document = _json_schema(split.url)
    for path in document["paths"]:
        owner = split.owner(path)
        response = requests.get(split.url + concrete(path), timeout=30, allow_redirects=False)
        assert response.headers.get("X-Upstream") == split.address(split.web[owner][0]), (path, owner)
        assert response.status_code < 500, (path, response.status_code)


def test_every_mount_of_every_slice_reaches_that_slices_instance(split):
    """Each slice's URL prefixes, the API's and the pages' outside /api/ (/auth/, /console/,
    /console/discussions/ inside the signals console), lead through the gateway to an instance of that slice."""
    for piece in slices.SLICES.values():
        for prefix in (piece.api_prefix, *(extra for extra, _urlconf in piece.extra_urlconfs)):
            assert split.owner(f"/{prefix}") == piece.name, prefix
            response = requests.get(f"{split.url}/{prefix}", timeout=30, allow_redirects=False)
            assert response.headers.get("X-Upstream") == split.address(split.web[piece.name][0]), prefix
            assert response.status_code < 500, (prefix, response.status_code)


def test_every_instance_serves_the_all_in_one_document(split, client):
    """The gateway may send /api/schema/ to any instance: each answers with the same document, which is
    the all-in-one server's (``make run``)."""
    at_gateway = _json_schema(split.url)
    for name, instances in split.web.items():
        assert _differences(_json_schema(instances[0].url), at_gateway) == [], name
    all_in_one = client.get("/api/schema/?format=json")
    assert all_in_one.status_code == 200
    assert _differences(all_in_one.json(), at_gateway) == []
    # YAML by default, as before the split.
    yaml = requests.get(f"{split.url}/api/schema/", timeout=30)
    assert yaml.status_code == 200 and yaml.headers["Content-Type"].startswith("application/vnd.oai.openapi")
    assert yaml.text.startswith("openapi: 3.")


def test_an_instance_reached_directly_says_its_document_is_the_api_behind_the_gateway(split):
    """A slice instance documents paths it does not serve; the document says why and where they are served."""
    users = split.web["users"][0]
    document = _json_schema(users.url)
    foreign = sorted(path for path in document["paths"] if split.owner(path) != "users")
    assert foreign, "the users instance's document has the other slices' paths"
    assert requests.get(users.url + concrete(foreign[0]), timeout=30).status_code == 404  # served elsewhere
    description = document["info"]["description"]
    assert "whole API" in description and "gateway" in description
    for piece in slices.SLICES.values():
        assert f"{piece.name}: `/{piece.api_prefix}`" in description, piece.name
    assert [server["url"] for server in document["servers"]] == ["/"]  # the host that served the document


def test_swagger_ui_at_the_gateway_loads_the_gateway_document(split):
    page = requests.get(f"{split.url}/api/docs/", timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in policy
    assert "<script>" not in page.text  # every script is a file
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    init = [src for src in sources if "script" in src and src.startswith("/api/docs/")]
    assert len(init) == 1, sources
    for src in sources:
        asset = requests.get(urljoin(f"{split.url}/api/docs/", src.replace("&amp;", "&")), timeout=30)
        assert asset.status_code == 200, src
    script = requests.get(urljoin(f"{split.url}/api/docs/", init[0].replace("&amp;", "&")), timeout=30)
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in script.text  # the gateway's own document, relative to the page's host


def test_swagger_ui_through_the_gateway_shows_every_operation_of_every_slice(split, browser):
    expected = _code_operations()
    context = browser.new_context(base_url=split.url)
    context.add_init_script(WATCH)
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto("/api/docs/")
        page.wait_for_selector(".opblock", timeout=30_000)
        # One render shows every operation; a locator wait, since the page's policy refuses the eval that
        # wait_for_function polls with.
        page.locator(".opblock").nth(len(expected) - 1).wait_for(timeout=5_000)
        shown = set()
        for block in page.locator(".opblock").all():
            method = block.locator(".opblock-summary-method").inner_text().strip().upper()
            path = block.locator(".opblock-summary-path").get_attribute("data-path")
            shown.add((method, path))
        assert shown == expected
        assert page.evaluate("window.__cspViolations") == []
        assert problems == []
    finally:
        context.close()
