"""The gateway's own image routes, on a real nginx: stored images served from the media volume with their type
and caching and nothing else, and the larger body limit of the two upload routes only."""
from __future__ import annotations

import pytest
import requests

from tests.deploy.gateway import Nginx, nginx_binary
from tests.support.servers import free_port, require
from tradesignals import slices

KEY = "images/charts/" + "A" * 30 + "_-.jpg"
THUMB = "images/charts/" + "A" * 30 + "_-.t.webp"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def gateway():
    """nginx with every upstream a closed port (what reaches one is a 503) and the media root in its own
    directory (world-readable: the workers run unprivileged)."""
    require(nginx_binary() is not None, "nginx is not installed (apt-get install nginx)")
    dead = f"127.0.0.1:{free_port()}"
    server = Nginx({name: [dead] for name in slices.ALL})
    srv = server.dir / "srv"
    text = server.conf.read_text()
    assert "root /srv;" in text
    server.conf.write_text(text.replace("root /srv;", f"root {srv};"))
    charts = srv / "media" / "images" / "charts"
    charts.mkdir(parents=True)
    for path in srv.rglob("*"):
        path.chmod(0o755)
    for name, body in ((KEY, b"\xff\xd8\xff jpeg"), (THUMB, b"RIFF webp"), ("images/charts/notes.txt", b"x"),
                       ("images/charts/" + "B" * 32 + ".svg", b"<svg/>")):
        target = srv / "media" / name
        target.write_bytes(body)
        target.chmod(0o644)
    server.start()
    yield server
    server.stop()


def test_a_stored_image_is_served_with_its_type_and_cached_for_ever(gateway):
    for key, content_type, body in ((KEY, "image/jpeg", b"\xff\xd8\xff jpeg"), (THUMB, "image/webp", b"RIFF webp")):
        response = requests.get(f"{gateway.url}/media/{key}", timeout=10)
        assert response.status_code == 200, response.text
        assert response.content == body
        assert response.headers["Content-Type"] == content_type
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert "X-Upstream" not in response.headers  # nginx answered itself
    head = requests.head(f"{gateway.url}/media/{KEY}", timeout=10)
    assert head.status_code == 200 and head.headers["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize("path", [
    "/media/images/charts/",
    "/media/images/",
    "/media/images/charts/notes.txt",
    "/media/images/charts/" + "B" * 32 + ".svg",
    "/media/images/charts/" + "C" * 32 + ".jpg",  # well-formed, not stored
])
def test_anything_else_under_media_is_the_json_404(gateway, path):
    response = requests.get(f"{gateway.url}{path}", timeout=10)
    assert response.status_code == 404, path
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"
    assert "immutable" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/media/images/charts/../../../etc/passwd",
                                  "/media/images/charts/%2e%2e/%2e%2e/nginx.conf",
                                  "/media/images/charts/%2e%2e/%2e%2e/media/" + KEY])
def test_dot_segments_never_leave_the_media_route_with_a_file(gateway, path):
    """nginx resolves dot segments before choosing a location: what climbs out of /media/images/ is routed as the
    path it names (to an instance, dead here), never served from the disk."""
    response = requests.get(f"{gateway.url}{path}", timeout=10)
    assert response.status_code in {404, 503}, path
    assert "immutable" not in response.headers.get("Cache-Control", "")
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", ["/api/v1/trade-signals/images", "/api/v1/trade-signals/images/",
                                  "/api/v1/users/me/avatar", "/api/v1/users/me/avatar/"])
def test_upload_routes_take_an_image_sized_body_and_no_more(gateway, path):
    accepted = requests.post(f"{gateway.url}{path}", data=b"x" * (5 * MIB), timeout=30)
    assert accepted.status_code == 503  # past the gateway's limit, on to the (dead) upstream
    refused = requests.post(f"{gateway.url}{path}", data=b"x" * (5 * MIB + 65 * 1024), timeout=30)
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("path", ["/api/v1/trade-signals", "/api/v1/trade-signals/images/extra",
                                  "/api/v1/users/me", "/api/v1/users/me/avatar/x",
                                  "/api/v1/discussions/threads", "/console/discussions/"])
def test_every_other_route_keeps_the_small_limit(gateway, path):
    response = requests.post(f"{gateway.url}{path}", data=b"x" * (128 * 1024), timeout=30)
    assert response.status_code == 413
