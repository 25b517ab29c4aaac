"""Where uploads go, on the file system and on a real S3 store (SeaweedFS): both files of an upload under one
random name, served with their content type and cached for ever, removed together, and never half an upload
left behind when the store fails part-way or is gone."""
from __future__ import annotations

import io
import resource
import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from PIL import Image

from tests.support.seaweed import public_read_statement
from tradesignals.kernel.errors import ServiceUnavailable
from tradesignals.kernel.images import pipeline, storage

CACHE_FOREVER = "public, max-age=31536000, immutable"


def processed(width: int = 640, height: int = 400) -> pipeline.ProcessedImage:
    """A real upload through the pipeline: a PNG chart (kept PNG) and its WebP thumbnail."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "PNG")
    return pipeline.process(buffer.getvalue(), max_pixels=40_000_000)


def token_of(key: str) -> str:
    return key.rsplit("/", 1)[1].split(".", 1)[0]


def test_the_default_storage_follows_the_backend_of_the_test(storage_backend):
    """Django drops its cached default storage when STORAGES changes (the fixture relies on it)."""
    from django.core.files.storage import default_storage

    default_storage.exists("images/charts")  # builds the storage the current settings name
    expected = "S3Storage" if storage_backend.kind == "s3" else "FileSystemStorage"
    assert type(default_storage._wrapped).__name__ == expected


def test_store_writes_the_image_and_its_thumbnail_with_their_types_and_caching(storage_backend):
    upload = processed()
    stored = storage.store(upload, kind="charts")

    assert storage_backend.stored_keys() == sorted([stored.key, stored.thumbnail_key])
    assert storage.exists(stored.key) and storage.exists(stored.thumbnail_key)
    assert (stored.content_type, stored.width, stored.height, stored.size) == ("image/png", 640, 400,
                                                                               len(upload.image.data))
    assert (stored.thumbnail_width, stored.thumbnail_height) == (480, 300)
    image = storage_backend.read(stored.key)
    assert image == (upload.image.data, "image/png", CACHE_FOREVER)
    thumbnail = storage_backend.read(stored.thumbnail_key)
    assert thumbnail == (upload.thumbnail.data, "image/webp", CACHE_FOREVER)


def test_every_upload_gets_a_new_random_name_shared_by_its_two_files(storage_backend):
    first = storage.store(processed(), kind="charts")
    second = storage.store(processed(), kind="charts")
    for stored in (first, second):
        assert storage.is_key(stored.key) and storage.is_key(stored.thumbnail_key)
        assert stored.key == f"images/charts/{token_of(stored.key)}.png"
        assert stored.thumbnail_key == f"images/charts/{token_of(stored.key)}.t.webp"
        assert len(token_of(stored.key)) == 32
    assert token_of(first.key) != token_of(second.key)
    assert len(storage_backend.stored_keys()) == 4


def test_url_is_where_a_client_fetches_the_file(storage_backend, settings):
    stored = storage.store(processed(), kind="charts")
    address = storage.url(stored.key)
    if storage_backend.kind == "filesystem":
        assert address == f"/media/{stored.key}"
        return
    assert address == f"{settings.S3_ENDPOINT_URL}/{storage_backend.bucket}/{stored.key}"
    # Anonymous, unsigned: what a browser does with the URL in a representation.
    response = requests.get(address, timeout=10)
    assert response.status_code == 200
    assert response.content == storage_backend.read(stored.key)[0]
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Cache-Control"] == CACHE_FOREVER


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_url_honours_a_public_url_and_aws_addresses(storage_backend, settings):
    key = storage.store(processed(), kind="charts").key
    settings.S3_PUBLIC_URL = "https://cdn.example.com/"
    assert storage.url(key) == f"https://cdn.example.com/{key}"
    settings.S3_PUBLIC_URL = ""
    settings.S3_ENDPOINT_URL = None
    settings.S3_REGION = "eu-west-1"
    assert storage.url(key) == f"https://{storage_backend.bucket}.s3.eu-west-1.amazonaws.com/{key}"


def test_delete_removes_both_files_and_a_missing_file_is_fine(storage_backend):
    kept = storage.store(processed(), kind="charts")
    gone = storage.store(processed(), kind="charts")
    storage.delete(gone.key, gone.thumbnail_key)
    assert storage_backend.stored_keys() == sorted([kept.key, kept.thumbnail_key])
    assert not storage.exists(gone.key) and not storage.exists(gone.thumbnail_key)
    storage.delete(gone.key, gone.thumbnail_key)  # again: retried deletions must not fail
    storage.delete(f"images/avatars/{'A' * 32}.webp")
    assert storage_backend.stored_keys() == sorted([kept.key, kept.thumbnail_key])


@pytest.mark.parametrize("name", [
    "../../etc/passwd",
    "images/charts/x.jpg",
    f"images/charts/{'a' * 32}.gif",
    f"images/../charts/{'a' * 32}.jpg",
    f"/images/charts/{'a' * 32}.jpg",
    f"images/charts/{'a' * 32}.jpg/",
    f"images/Charts/{'a' * 32}.jpg",
    "",
])
def test_delete_refuses_a_name_the_store_never_writes(storage_backend, name):
    kept = storage.store(processed(), kind="charts")
    with pytest.raises(ValueError):
        storage.delete(name)
    assert storage_backend.stored_keys() == sorted([kept.key, kept.thumbnail_key])


def test_stored_keys_lists_one_kind_with_modification_times(storage_backend):
    assert list(storage.stored_keys("charts")) == []
    before = timezone.now() - timedelta(seconds=2)
    chart = storage.store(processed(), kind="charts")
    avatar = storage.store(processed(300, 300), kind="avatars")
    after = timezone.now() + timedelta(seconds=2)

    charts = dict(storage.stored_keys("charts"))
    assert sorted(charts) == sorted([chart.key, chart.thumbnail_key])
    assert all(before <= modified <= after for modified in charts.values()), charts
    assert sorted(dict(storage.stored_keys("avatars"))) == sorted([avatar.key, avatar.thumbnail_key])
    with pytest.raises(ValueError):
        list(storage.stored_keys("../charts"))


# --- faults ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_a_store_that_is_gone_is_a_503_within_seconds_and_nothing_is_written(storage_backend, private_seaweed,
                                                                            settings):
    bucket = private_seaweed.create_bucket()
    storage_backend.point_at(private_seaweed, bucket, settings)
    earlier = storage.store(processed(), kind="charts")
    upload = processed()
    private_seaweed.kill()

    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        storage.store(upload, kind="charts")
    assert time.monotonic() - started < 5

    private_seaweed.start()  # the same data: what was stored before is there, nothing of the failed upload
    assert private_seaweed.objects(bucket) == sorted([earlier.key, earlier.thumbnail_key])


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_a_store_that_hangs_is_a_503_bounded_by_the_timeout(storage_backend, private_seaweed, settings):
    settings.S3_TIMEOUT_SECONDS = 1
    bucket = private_seaweed.create_bucket()
    storage_backend.point_at(private_seaweed, bucket, settings)
    upload = processed()
    private_seaweed.pause()
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            storage.store(upload, kind="charts")
        # Two attempts, each waiting out its timeouts, plus botocore's backoff: far below a worker's timeout.
        assert time.monotonic() - started < 10
    finally:
        private_seaweed.resume()


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_when_the_thumbnail_is_refused_the_image_is_removed_again(storage_backend):
    """The bucket refuses thumbnails (a real policy, enforced by the store), so the second write of the
    upload fails after the first succeeded."""
    server, bucket = storage_backend.server, storage_backend.bucket
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/images/*.t.*"}
    server.set_policy(bucket, [public_read_statement(bucket), deny])
    with pytest.raises(ServiceUnavailable):
        storage.store(processed(), kind="charts")
    assert storage_backend.stored_keys() == []
    # The first write did happen: without the policy the same upload is stored whole.
    server.set_policy(bucket, [public_read_statement(bucket)])
    stored = storage.store(processed(), kind="charts")
    assert storage_backend.stored_keys() == sorted([stored.key, stored.thumbnail_key])


@pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)
def test_when_the_disk_refuses_the_thumbnail_nothing_of_the_upload_is_left(storage_backend):
    """The file-size limit of the process (what a quota or a full disk does to a write) lets the small image
    through and stops the thumbnail part-way."""
    small = pipeline.Rendition(data=b"\x89PNG" + b"\0" * 1000, content_type="image/png", extension="png",
                               width=10, height=10)
    large = pipeline.Rendition(data=b"RIFF" + b"\0" * 300_000, content_type="image/webp", extension="webp",
                               width=480, height=300)
    upload = pipeline.ProcessedImage(image=small, thumbnail=large, source_format="PNG")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))
    try:
        with pytest.raises(ServiceUnavailable):
            storage.store(upload, kind="charts")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert storage_backend.stored_keys() == []
