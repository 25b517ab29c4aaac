"""The app serving stored images under MEDIA_URL itself (MEDIA_SERVE, file system backend): exactly the names
the store writes, with their real type, cached for ever, never sniffed or run, and nothing else under
MEDIA_ROOT or outside it."""
from __future__ import annotations

import io

import pytest
from django.test import Client
from PIL import Image

from tradesignals.kernel.images import pipeline, storage

CACHE_FOREVER = "public, max-age=31536000, immutable"
pytestmark = pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)


@pytest.fixture
def stored(storage_backend):
    buffer = io.BytesIO()
    Image.new("RGB", (640, 400), (200, 40, 40)).save(buffer, "JPEG")
    return storage.store(pipeline.process(buffer.getvalue(), max_pixels=40_000_000), kind="charts")


@pytest.fixture
def client():
    return Client()


def test_a_stored_image_and_its_thumbnail_are_served_with_their_type_and_caching(client, stored, storage_backend):
    for key, content_type in ((stored.key, "image/jpeg"), (stored.thumbnail_key, "image/webp")):
        response = client.get(storage.url(key))
        assert response.status_code == 200
        assert response.streaming
        body = b"".join(response.streaming_content)
        assert body == (storage_backend.media_root / key).read_bytes()
        assert response["Content-Type"] == content_type
        assert response["Content-Length"] == str(len(body))
        assert response["Cache-Control"] == CACHE_FOREVER
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_head_answers_the_headers_without_the_body(client, stored):
    response = client.head(storage.url(stored.key))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == CACHE_FOREVER
    assert b"".join(response.streaming_content) == b""


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_only_get_and_head(client, stored, method):
    response = getattr(client, method)(storage.url(stored.key))
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert storage.exists(stored.key)


def test_a_missing_file_is_a_json_404(client, stored):
    missing = stored.key.replace(stored.key.rsplit("/", 1)[1][:32], "B" * 32)
    response = client.get(f"/media/{missing}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", [
    "/media/images/../../settings/base.py",
    "/media/images/%2e%2e/%2e%2e/settings/base.py",
    "/media/images/charts/..%2f..%2f..%2fsettings%2fbase.py",
    "/media/images/charts/%00.jpg",
    "/media/images/charts/",
    "/media/images/charts",
    "/media/images/",
    "/media/images/" + "a" * 5000 + ".jpg",
    "/media/images/charts/" + "a" * 33 + ".jpg",
    "/media/images/charts/" + "a" * 32 + ".jpg.txt",
    "/media/images/charts/" + "a" * 32 + ".svg",
    "/media/images/charts/" + "a" * 32 + ".html",
    "/media/images//charts/" + "a" * 32 + ".jpg",
    "/media/images/charts/sub/" + "a" * 32 + ".jpg",
])
def test_anything_but_a_stored_name_is_a_404(client, stored, storage_backend, path):
    # Files under MEDIA_ROOT and beside it that a wrong name could reach if names were not checked.
    (storage_backend.media_root / "images" / "charts" / ("a" * 32 + ".jpg.txt")).write_text("secret")
    (storage_backend.media_root / "images" / "charts" / ("a" * 32 + ".html")).write_text("<script>")
    response = client.get(path)
    assert response.status_code == 404, path
    assert b"secret" not in response.content and b"<script>" not in response.content


def test_the_real_name_of_the_same_file_is_served(client, stored):
    """The counterpart of the refusals above: the check is on the name, not a blanket 404."""
    assert client.get(f"/media/{stored.key}").status_code == 200


def test_nothing_is_served_when_the_app_does_not_serve_media(client, stored, settings):
    settings.MEDIA_SERVE = False  # nginx or a CDN serves the files
    assert client.get(storage.url(stored.key)).status_code == 404


def test_the_api_defaults_do_not_touch_media_responses(client, stored):
    """no-store is for the API; the CSP middleware adds its page policy only to HTML."""
    response = client.get(storage.url(stored.key))
    assert "no-store" not in response["Cache-Control"]
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
