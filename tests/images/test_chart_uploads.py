"""Chart images as a client meets them: uploaded through the API, shown on every representation of the signal
that holds them, replaced and removed without leaving a file behind, refused with a reason for anything that is
not a sound image, and never attachable to someone else's signal. Every test runs on the file system and on a
real S3 store unless it is about one of them."""
from __future__ import annotations

import time

import pytest
import requests
from django.test import Client

from apps.signals.models import ChartImage
from tests.support import images
from tests.support.api import new_id
from tests.support.errors import assert_error, assert_unavailable
from tests.support.servers import wait_until
from tests.support.signals import BASE, review
from tradesignals.kernel.images import pipeline

IMAGES = f"{BASE}/images"
CACHE_FOREVER = "public, max-age=31536000, immutable"
UPLOAD_FIELDS = {"id", "url", "thumbnail_url", "width", "height", "content_type", "size"}
SHOWN_FIELDS = ("id", "url", "thumbnail_url", "width", "height")


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_cache_service):
    yield


# --- helpers ------------------------------------------------------------------------------------------------

def upload(caller, data: bytes | None = None, **kwargs) -> dict:
    response = caller.upload(IMAGES, images.png() if data is None else data, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


def shown(uploaded: dict) -> dict:
    """What a signal representation shows of an upload."""
    return {name: uploaded[name] for name in SHOWN_FIELDS}


def record(image_id: str) -> ChartImage:
    return ChartImage.objects.get(id=image_id)


def files_of(image_id: str) -> list[str]:
    image = record(image_id)
    return sorted([image.key, image.thumbnail_key])


def token_of(key: str) -> str:
    return key.rsplit("/", 1)[1].split(".", 1)[0]


def files_left(storage_backend, expected: list[str]) -> None:
    """The store holds exactly ``expected`` once the signals app has handled its events (the purge of what an
    edit or delete detached)."""
    wait_until(lambda: storage_backend.stored_keys() == sorted(expected), timeout=15,
               message=f"the store to hold exactly {expected}")


def nothing_stored(storage_backend) -> None:
    assert storage_backend.stored_keys() == []
    assert ChartImage.objects.count() == 0


# --- 1. round trip --------------------------------------------------------------------------------------------

def test_an_upload_is_judged_by_its_content_and_stored_for_ever_under_a_random_name(storage_backend, owner):
    data = images.png(1000, 600)
    response = owner.upload(IMAGES, data, name="x.jpg", content_type="image/jpeg")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == UPLOAD_FIELDS
    assert (body["content_type"], body["width"], body["height"]) == ("image/png", 1000, 600)
    keys = files_of(body["id"])
    assert storage_backend.stored_keys() == keys
    image_key, thumbnail_key = record(body["id"]).key, record(body["id"]).thumbnail_key
    assert body["url"].endswith(image_key) and body["thumbnail_url"].endswith(thumbnail_key)
    assert image_key.endswith(".png") and thumbnail_key.endswith(".t.webp")

    stored, content_type, cache_control = storage_backend.read(image_key)
    assert (content_type, cache_control) == ("image/png", CACHE_FOREVER)
    assert len(stored) == body["size"]
    assert images.opened(stored).format == "PNG" and images.opened(stored).size == (1000, 600)

    thumbnail, content_type, cache_control = storage_backend.read(thumbnail_key)
    assert (content_type, cache_control) == ("image/webp", CACHE_FOREVER)
    small = images.opened(thumbnail)
    assert small.format == "WEBP" and small.size == (480, 288)

    # What a browser gets from the URL in the body, with no credentials.
    if storage_backend.kind == "filesystem":
        served = Client().get(body["url"])
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == stored
        assert served["Content-Type"] == "image/png"
        assert served["Cache-Control"] == CACHE_FOREVER
        assert served["X-Content-Type-Options"] == "nosniff"
    else:
        served = requests.get(body["url"], timeout=10)
        assert served.status_code == 200
        assert served.content == stored
        assert served.headers["Content-Type"] == "image/png"
        assert served.headers["Cache-Control"] == CACHE_FOREVER


def test_a_phone_photo_loses_its_position_and_is_stored_upright(storage_backend, owner):
    original = images.jpeg(64, 48, exif_gps=True, orientation=6)
    assert "GPSInfo" in images.exif_of(original)  # the input does carry a position

    body = upload(owner, original, name="IMG_0001.JPG", content_type="image/jpeg")

    assert (body["content_type"], body["width"], body["height"]) == ("image/jpeg", 48, 64)
    stored, content_type, _ = storage_backend.read(record(body["id"]).key)
    assert content_type == "image/jpeg"
    exif = images.exif_of(stored)
    assert "GPSInfo" not in exif and "Orientation" not in exif and "Model" not in exif, exif
    upright = images.opened(stored).convert("RGB")
    assert upright.size == (48, 64)
    # The left (red) half of the sensor image is the top of the picture once turned as the tag asked.
    top, bottom = upright.getpixel((24, 8)), upright.getpixel((24, 56))
    assert top[0] > 150 and top[2] < 100, top
    assert bottom[2] > 150 and bottom[0] < 100, bottom
    thumbnail, _, _ = storage_backend.read(record(body["id"]).thumbnail_key)
    assert "GPSInfo" not in images.exif_of(thumbnail)


def test_the_same_bytes_twice_are_two_uploads_with_unrelated_names(storage_backend, owner):
    data = images.jpeg()
    first, second = upload(owner, data), upload(owner, data)
    assert first["id"] != second["id"]
    assert first["url"] != second["url"] and first["thumbnail_url"] != second["thumbnail_url"]
    tokens = {token_of(record(item["id"]).key) for item in (first, second)}
    assert len(tokens) == 2 and all(len(token) == 32 for token in tokens)
    for item in (first, second):
        assert token_of(record(item["id"]).thumbnail_key) == token_of(record(item["id"]).key)
    assert len(storage_backend.stored_keys()) == 4


# --- 2. attach, read, replace, remove, delete ------------------------------------------------------------------

def test_a_chart_is_shown_everywhere_and_every_change_leaves_no_file_behind(storage_backend, owner, admin,
                                                                           anonymous):
    first = upload(owner)
    signal = owner.create(image_id=first["id"])
    detail = f"{BASE}/{signal['id']}"
    assert signal["image"] == shown(first)
    assert owner.get(detail).json()["image"] == shown(first)
    assert owner.get(BASE).json()["results"][0]["image"] == shown(first)

    approved = review(admin, signal["id"], "approved")
    assert approved.status_code == 200, approved.content
    assert approved.json()["image"] == shown(first)
    assert anonymous.get(f"{BASE}/public").json()["results"][0]["image"] == shown(first)
    assert anonymous.get(detail).json()["image"] == shown(first)
    assert admin.get(f"{BASE}/admin").json()["results"][0]["image"] == shown(first)

    # Replace: the new chart is shown, the old one's files go once the edit's event is handled.
    second = upload(owner, images.jpeg())
    first_files, second_files = files_of(first["id"]), files_of(second["id"])
    edited = owner.patch(detail, {"image_id": second["id"]})
    assert edited.status_code == 200, edited.content
    assert edited.json()["image"] == shown(second)
    files_left(storage_backend, second_files)
    assert owner.get(detail).json()["image"] == shown(second)
    assert admin.get(f"{BASE}/admin").json()["results"][0]["image"] == shown(second)
    assert not set(first_files) & set(storage_backend.stored_keys())
    assert ChartImage.objects.count() == 1

    # Remove: no chart, no files.
    removed = owner.patch(detail, {"image_id": None})
    assert removed.status_code == 200, removed.content
    assert removed.json()["image"] is None
    files_left(storage_backend, [])
    assert owner.get(detail).json()["image"] is None
    nothing_stored(storage_backend)

    # Delete a signal that holds a chart: its files go with it.
    third = upload(owner, images.webp())
    assert owner.patch(detail, {"image_id": third["id"]}).json()["image"] == shown(third)
    assert owner.send("DELETE", detail).status_code == 204
    files_left(storage_backend, [])
    assert owner.get(detail).status_code == 404
    nothing_stored(storage_backend)


def test_an_edit_that_keeps_the_same_chart_keeps_its_files(storage_backend, owner):
    image = upload(owner)
    signal = owner.create(image_id=image["id"])
    edited = owner.patch(f"{BASE}/{signal['id']}", {"rationale": "Still valid.", "image_id": image["id"]})
    assert edited.status_code == 200, edited.content
    assert edited.json()["image"] == shown(image)
    assert owner.get(f"{BASE}/{signal['id']}").json()["image"] == shown(image)
    assert storage_backend.stored_keys() == files_of(image["id"])


# --- 3. who may attach what ------------------------------------------------------------------------------------

def refused_image_id(response) -> None:
    error = assert_error(response, 400, "validation_error")
    assert "image_id" in error["details"], error


def test_only_your_own_free_upload_can_be_attached_and_a_refusal_changes_nothing(storage_backend, owner, other):
    theirs = upload(other)
    mine = upload(owner)
    signal = owner.create()
    detail = f"{BASE}/{signal['id']}"
    mine_upper = mine["id"].upper()
    assert mine_upper != mine["id"]  # the ids are lower-case hex; the upper-case spelling names no upload
    for image_id in (theirs["id"], new_id(), "x", "a" * 25, mine_upper):
        refused_image_id(owner.send("POST", BASE, {**_valid(), "image_id": image_id}))
        refused_image_id(owner.patch(detail, {"image_id": image_id}))

    assert [s["id"] for s in owner.get(BASE).json()["results"]] == [signal["id"]]
    unchanged = owner.get(detail).json()
    assert (unchanged["version"], unchanged["image"]) == (signal["version"], None)
    assert ChartImage.objects(signal_id=None).count() == 2  # both uploads still free
    assert len(storage_backend.stored_keys()) == 4

    # Still free, so each owner can use their own.
    assert owner.patch(detail, {"image_id": mine["id"]}).json()["image"] == shown(mine)
    assert other.create(image_id=theirs["id"])["image"] == shown(theirs)


def test_an_attached_upload_cannot_be_attached_again(storage_backend, owner):
    image = upload(owner)
    holder = owner.create(image_id=image["id"])
    another = owner.create()
    refused_image_id(owner.send("POST", BASE, {**_valid(), "image_id": image["id"]}))
    refused_image_id(owner.patch(f"{BASE}/{another['id']}", {"image_id": image["id"]}))

    assert len(owner.get(BASE).json()["results"]) == 2
    assert owner.get(f"{BASE}/{another['id']}").json()["image"] is None
    assert owner.get(f"{BASE}/{holder['id']}").json()["image"] == shown(image)
    assert str(record(image["id"]).signal_id) == holder["id"]
    assert storage_backend.stored_keys() == files_of(image["id"])


def test_an_anonymous_upload_is_a_401_and_stores_nothing(storage_backend, anonymous):
    assert_error(anonymous.upload(IMAGES, images.png()), 401, "not_authenticated")
    nothing_stored(storage_backend)


def _valid() -> dict:
    from tests.support.signals import VALID

    return dict(VALID)


# --- 4. what is refused ----------------------------------------------------------------------------------------

SMALL_PIXELS = 10_000


def _too_many_pixels_reason() -> str:
    im = images.opened(images.too_many_pixels(SMALL_PIXELS))
    return pipeline.too_many_pixels(im.width, im.height, SMALL_PIXELS)


BAD_INPUTS = {
    "svg": (images.svg, lambda: pipeline.NOT_AN_IMAGE),
    "html": (images.html, lambda: pipeline.NOT_AN_IMAGE),
    "pdf": (images.pdf, lambda: pipeline.NOT_AN_IMAGE),
    "bmp": (images.bmp, lambda: pipeline.NOT_AN_IMAGE),
    "truncated_png": (images.truncated_png, lambda: pipeline.CORRUPT),
    "truncated_jpeg": (images.truncated_jpeg, lambda: pipeline.CORRUPT),
    "polyglot_jpeg_html": (images.polyglot_jpeg_html, lambda: pipeline.TRAILING_DATA),
    "empty": (lambda: b"", lambda: pipeline.EMPTY),
    "too_many_pixels": (lambda: images.too_many_pixels(SMALL_PIXELS), _too_many_pixels_reason),
    # Far past Pillow's own fence, which stops it at the header too (so the reason names no size).
    "png_bomb": (images.png_bomb, lambda: "The image has too many pixels; at most 40,000,000 pixels are allowed."),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_anything_but_a_sound_image_is_refused_with_its_reason(storage_backend, owner, settings, kind):
    make, reason = BAD_INPUTS[kind]
    if kind == "too_many_pixels":
        settings.IMAGE_MAX_PIXELS = SMALL_PIXELS
    else:
        settings.IMAGE_MAX_PIXELS = 40_000_000
    # Declared as the most harmless image there is: the content alone decides.
    error = assert_error(owner.upload(IMAGES, make(), name="chart.png", content_type="image/png"), 400,
                         "validation_error")
    assert error["details"] == {"image": [reason()]}, error
    nothing_stored(storage_backend)


def test_a_form_without_the_file_is_refused(storage_backend, owner):
    error = assert_error(owner.upload(IMAGES, None), 400, "validation_error")
    assert error["details"] == {"image": ["Send one image file in the form field 'image'."]}, error
    error = assert_error(owner.upload(IMAGES, images.png(), field="chart"), 400, "validation_error")
    assert error["details"] == {"chart": ["This field cannot be set."]}, error
    nothing_stored(storage_backend)


def test_two_files_or_another_field_are_refused(storage_backend, owner):
    from django.core.files.uploadedfile import SimpleUploadedFile

    two = {"image": [SimpleUploadedFile("a.png", images.png(), content_type="image/png"),
                     SimpleUploadedFile("b.png", images.png(), content_type="image/png")]}
    error = assert_error(owner.client.post(IMAGES, two, **owner.headers), 400, "validation_error")
    assert error["details"] == {"image": ["Send one file only."]}, error
    nothing_stored(storage_backend)

    error = assert_error(owner.upload(IMAGES, images.png(), fields={"caption": "mine"}), 400, "validation_error")
    assert "caption" in error["details"], error
    nothing_stored(storage_backend)

    second_file = {"image": SimpleUploadedFile("a.png", images.png(), content_type="image/png"),
                   "thumbnail": SimpleUploadedFile("b.png", images.png(), content_type="image/png")}
    error = assert_error(owner.client.post(IMAGES, second_file, **owner.headers), 400, "validation_error")
    assert error["details"] == {"thumbnail": ["Send one file only."]}, error
    nothing_stored(storage_backend)


def test_a_json_body_is_a_415(storage_backend, owner):
    assert_error(owner.send("POST", IMAGES, {"image": "iVBORw0KGgo="}), 415, "unsupported_media_type")
    nothing_stored(storage_backend)


def test_a_file_over_the_byte_limit_is_a_413(storage_backend, owner, settings):
    settings.IMAGE_MAX_BYTES = 2048
    data = images.jpeg(256, 256, noise=True)
    assert len(data) > 2048
    error = assert_error(owner.upload(IMAGES, data, name="chart.jpg", content_type="image/jpeg"), 413,
                         "payload_too_large")
    assert error["details"] == {"max_bytes": 2048}, error
    nothing_stored(storage_backend)
    # Under the limit the same route takes an image.
    assert owner.upload(IMAGES, images.png(16, 16)).status_code == 201


@pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)
def test_one_byte_over_the_default_limit_is_a_413(storage_backend, owner, settings):
    """The real limit with a real body: the file is one byte longer than IMAGE_MAX_BYTES, the envelope within
    the route's body limit, so it is the upload itself that is refused (its Content-Length says the size)."""
    assert settings.IMAGE_MAX_BYTES == 5 * 1024 * 1024
    data = images.jpeg() + b"\0" * (settings.IMAGE_MAX_BYTES + 1 - len(images.jpeg()))
    assert len(data) == settings.IMAGE_MAX_BYTES + 1
    error = assert_error(owner.upload(IMAGES, data, name="chart.jpg", content_type="image/jpeg"), 413,
                         "payload_too_large")
    assert error["details"] == {"max_bytes": settings.IMAGE_MAX_BYTES}, error
    nothing_stored(storage_backend)


def test_a_body_past_the_route_limit_is_refused_before_it_is_read(storage_backend, owner, settings):
    """The declared length alone decides: the body actually sent is short, and reading past it would fail the
    request, so a 413 proves nothing was read."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import MULTIPART_CONTENT, encode_multipart

    body = encode_multipart("BoUnDaRy", {"image": SimpleUploadedFile("c.png", images.png(), "image/png")})
    declared = settings.IMAGE_UPLOAD_MAX_BODY_BYTES + 1
    response = owner.client.post(IMAGES, data=body, content_type=f"{MULTIPART_CONTENT[:19]}; boundary=BoUnDaRy",
                                 CONTENT_LENGTH=str(declared), **owner.headers)
    assert_error(response, 413, "payload_too_large")
    nothing_stored(storage_backend)


@pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)
def test_the_refusal_of_an_oversized_upload_body_names_the_upload_routes_limit(storage_backend, owner, settings):
    """A client told the body may be 64 KiB would shrink a chart it could send at five mebibytes."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import MULTIPART_CONTENT, encode_multipart

    body = encode_multipart("BoUnDaRy", {"image": SimpleUploadedFile("c.png", images.png(), "image/png")})
    response = owner.client.post(IMAGES, data=body, content_type=f"{MULTIPART_CONTENT[:19]}; boundary=BoUnDaRy",
                                 CONTENT_LENGTH=str(settings.IMAGE_UPLOAD_MAX_BODY_BYTES + 1), **owner.headers)
    error = assert_error(response, 413, "payload_too_large")
    assert str(settings.IMAGE_UPLOAD_MAX_BODY_BYTES) in error["message"], error


def test_an_upload_sized_body_is_refused_on_other_routes(storage_backend, owner, settings):
    """The widened limit is the upload route's alone."""
    oversized = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = owner.send("POST", BASE, {**_valid(), "rationale": oversized})
    assert_error(response, 413, "payload_too_large")
    assert owner.get(BASE).json()["results"] == []
    nothing_stored(storage_backend)


# --- 5. the per-user budget ------------------------------------------------------------------------------------

def test_the_upload_budget_is_per_user(storage_backend, owner, other, settings):
    settings.IMAGE_UPLOAD_RATE_MAX = 2
    kept = [upload(owner), upload(owner)]
    response = owner.upload(IMAGES, images.png())
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    assert ChartImage.objects.count() == 2
    assert storage_backend.stored_keys() == sorted(key for item in kept for key in files_of(item["id"]))

    assert other.upload(IMAGES, images.png()).status_code == 201
    assert ChartImage.objects(owner_id=other.user_id).count() == 1


# --- 6. the store goes away -------------------------------------------------------------------------------------

@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_without_the_store_uploads_are_a_503_and_signals_still_read(storage_backend, private_seaweed, settings,
                                                                    owner, admin, anonymous):
    """The store crashed (a store that hangs is bounded the same way: tests/images/test_storage.py)."""
    settings.S3_TIMEOUT_SECONDS = 1
    bucket = private_seaweed.create_bucket()
    storage_backend.point_at(private_seaweed, bucket, settings)
    image = upload(owner)
    signal = owner.create(image_id=image["id"])
    assert review(admin, signal["id"], "approved").status_code == 200
    private_seaweed.kill()

    started = time.monotonic()
    assert_unavailable(owner.upload(IMAGES, images.png(32, 32)))
    assert time.monotonic() - started < 10  # an answer, not a hang
    assert ChartImage.objects.count() == 1  # the earlier, attached one only

    for caller, path in ((owner, f"{BASE}/{signal['id']}"), (anonymous, f"{BASE}/{signal['id']}")):
        response = caller.get(path)
        assert response.status_code == 200, response.content
        assert response.json()["image"] == shown(image)
    for caller, path in ((owner, BASE), (anonymous, f"{BASE}/public"), (admin, f"{BASE}/admin")):
        response = caller.get(path)
        assert response.status_code == 200, response.content
        assert response.json()["results"][0]["image"] == shown(image)


# --- 8. a real photo at the limit -------------------------------------------------------------------------------

@pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)
def test_a_photo_of_five_mebibytes_is_taken(storage_backend, owner, settings):
    data = images.jpeg_just_under(settings.IMAGE_MAX_BYTES)
    assert settings.IMAGE_MAX_BYTES - 64 * 1024 < len(data) <= settings.IMAGE_MAX_BYTES
    response = owner.upload(IMAGES, data, name="photo.jpg", content_type="image/jpeg")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["content_type"], body["width"], body["height"]) == ("image/jpeg", 4000, 3000)
    stored, content_type, _ = storage_backend.read(record(body["id"]).key)
    assert content_type == "image/jpeg" and images.opened(stored).size == (4000, 3000)
    assert "GPSInfo" not in images.exif_of(stored)
    thumbnail = images.opened(storage_backend.read(record(body["id"]).thumbnail_key)[0])
    assert thumbnail.format == "WEBP" and thumbnail.size == (480, 360)


@pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)
def test_a_form_of_many_nameless_file_parts_is_a_400_not_a_500(storage_backend, owner):
    """Django counts file parts (up to 100) before it drops those whose name sanitises to nothing, so no upload
    handler sees them, and part 101 used to escape as an unhandled error."""
    boundary = "b0undary"
    part = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="."\r\n'
            "Content-Type: application/octet-stream\r\n\r\n\r\n")
    body = (part * 101 + f"--{boundary}--\r\n").encode()
    response = owner.client.post(IMAGES, data=body, content_type=f"multipart/form-data; boundary={boundary}",
                                 **owner._headers(None))
    error = assert_error(response, 400, "malformed_request")
    assert "too many file parts" in error["message"]
    assert storage_backend.stored_keys() == []
    assert ChartImage.objects.count() == 0
