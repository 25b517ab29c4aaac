"""PUT/DELETE /api/v1/users/me/avatar on both stores: one square WebP avatar at a time, shown as ``avatar_url`` on
every profile representation; whatever replaces or removes an upload deletes its files once the change's
``user.profile_updated`` is consumed; refused uploads store nothing; the image sweep collects stray files."""
from __future__ import annotations

import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from apps.users import services
from tests.support import images
from tests.support.api import Caller
from tests.support.servers import wait_until
from tests.support.users import stored_profile
from tradesignals.kernel import events, mongo
from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.events import relay
from tradesignals.kernel.images import gc, storage

ME = "/api/v1/users/me"
AVATAR = "/api/v1/users/me/avatar"


@pytest.fixture
def profile_updates():
    seen = []
    events.subscribe("user.profile_updated", seen.append, app="tests")
    yield seen
    events._subscribers["user.profile_updated"].remove(("tests", seen.append))


def put_avatar(caller, data: bytes, *, name: str = "me.jpg", content_type: str = "image/jpeg"):
    return caller.upload(AVATAR, data, name=name, content_type=content_type, method="PUT")


def avatar_records(user_id: str) -> list[dict]:
    return list(mongo.database("users")["user_avatars"].find({"owner_id": user_id}))


def thumbnail_key_of(address: str) -> str:
    """The stored key an ``avatar_url`` names (MEDIA_URL on the file system, the bucket's address on S3)."""
    return address[address.index("images/avatars/"):]


def test_put_stores_a_square_webp_without_metadata_and_every_profile_shows_it(
        storage_backend, settings, feed, as_user, client, admin):
    user_id = feed.registered(display_name="Pic Person")
    caller = as_user(user_id)
    before = caller.get(ME).json()  # cached now
    assert before["avatar_url"] is None

    response = put_avatar(caller, images.jpeg(800, 500, exif_gps=True, xmp=True, noise=True))

    assert response.status_code == 200, response.content
    body = response.json()
    assert {**body, "avatar_url": None} == before  # the profile as GET /users/me shows it
    record, = avatar_records(user_id)
    assert body["avatar_url"] == storage.url(record["thumbnail_key"])
    assert storage_backend.stored_keys() == sorted([record["key"], record["thumbnail_key"]])
    data, content_type, _cache = storage_backend.read(thumbnail_key_of(body["avatar_url"]))
    assert content_type == "image/webp"
    thumbnail = images.opened(data)
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (settings.IMAGE_AVATAR_SIZE, settings.IMAGE_AVATAR_SIZE))
    assert images.metadata_of(data) == {} and images.exif_of(data) == {}
    full, _type, _cache = storage_backend.read(record["key"])
    assert images.exif_of(full) == {} and "xmp" not in images.metadata_of(full)
    assert (record["width"], record["height"], record["discarded_at"]) == (800, 500, None)

    # Every representation shows it: the cached /users/me was dropped, the public profile, the directory.
    assert caller.get(ME).json()["avatar_url"] == body["avatar_url"]
    assert client.get(f"/api/v1/users/{user_id}").json()["avatar_url"] == body["avatar_url"]
    listed = admin.get("/api/v1/users").json()["results"]
    assert [entry["avatar_url"] for entry in listed if entry["id"] == user_id] == [body["avatar_url"]]


def test_a_small_image_keeps_its_size_and_is_cut_square(storage_backend, feed, as_user):
    caller = as_user(feed.registered())
    response = put_avatar(caller, images.png(120, 60), name="small.png", content_type="image/png")
    assert response.status_code == 200, response.content
    data, _type, _cache = storage_backend.read(thumbnail_key_of(response.json()["avatar_url"]))
    assert images.opened(data).size == (60, 60)


def test_a_second_put_replaces_the_first_and_its_files_go(storage_backend, feed, as_user, profile_updates):
    user_id = feed.registered()
    caller = as_user(user_id)
    first = put_avatar(caller, images.jpeg(300, 300)).json()["avatar_url"]
    first_record, = avatar_records(user_id)

    second = put_avatar(caller, images.webp(300, 300), name="b.webp", content_type="image/webp")

    assert second.status_code == 200, second.content
    assert second.json()["avatar_url"] != first
    record, = avatar_records(user_id)  # the first record is purged, files first
    assert storage_backend.stored_keys() == sorted([record["key"], record["thumbnail_key"]])
    assert caller.get(ME).json()["avatar_url"] == second.json()["avatar_url"]
    assert [e.data for e in profile_updates][-1] == {
        "user_id": user_id, "display_name": "Ada Lovelace", "discarded_image_ids": [str(first_record["_id"])]}
    assert "discarded_image_ids" not in profile_updates[0].data  # the first upload replaced nothing


def test_delete_removes_the_avatar_and_its_files(storage_backend, feed, as_user, client):
    user_id = feed.registered()
    caller = as_user(user_id)
    assert put_avatar(caller, images.jpeg()).status_code == 200
    assert caller.get(ME).json()["avatar_url"] is not None  # cached with the avatar

    response = caller.send("DELETE", AVATAR)

    assert response.status_code == 204 and response.content == b""
    assert caller.get(ME).json()["avatar_url"] is None
    assert client.get(f"/api/v1/users/{user_id}").json()["avatar_url"] is None
    assert storage_backend.stored_keys() == []
    assert avatar_records(user_id) == []


def test_delete_without_an_avatar_is_a_204_that_changes_nothing(storage_backend, feed, as_user, profile_updates):
    user_id = feed.registered()
    caller = as_user(user_id)
    assert caller.send("DELETE", AVATAR).status_code == 204
    assert profile_updates == []
    stranger = as_user()  # not projected yet: nothing is stored for them either
    assert stranger.send("DELETE", AVATAR).status_code == 204
    assert stored_profile(stranger.user_id) is None


def test_delete_also_removes_an_external_avatar_url(storage_backend, feed, as_user):
    caller = as_user(feed.registered())
    assert caller.patch(ME, {"avatar_url": "https://cdn.example.com/a.png"}).status_code == 200
    assert caller.send("DELETE", AVATAR).status_code == 204
    assert caller.get(ME).json()["avatar_url"] is None


def test_patching_an_external_avatar_url_replaces_the_upload(storage_backend, feed, as_user, client):
    user_id = feed.registered()
    caller = as_user(user_id)
    assert put_avatar(caller, images.jpeg()).status_code == 200

    response = caller.patch(ME, {"avatar_url": "https://cdn.example.com/a.png"})

    assert response.status_code == 200 and response.json()["avatar_url"] == "https://cdn.example.com/a.png"
    assert storage_backend.stored_keys() == [] and avatar_records(user_id) == []
    assert client.get(f"/api/v1/users/{user_id}").json()["avatar_url"] == "https://cdn.example.com/a.png"
    # And an upload replaces the external one: one avatar at a time.
    uploaded = put_avatar(caller, images.jpeg()).json()["avatar_url"]
    assert uploaded.endswith(".t.webp") and stored_profile(user_id)["avatar_url"] is None


def test_a_patch_of_other_fields_keeps_the_upload(storage_backend, feed, as_user):
    caller = as_user(feed.registered())
    uploaded = put_avatar(caller, images.jpeg()).json()["avatar_url"]
    assert caller.patch(ME, {"bio": "Still me."}).json()["avatar_url"] == uploaded
    assert len(storage_backend.stored_keys()) == 2


def test_an_upload_before_the_projection_is_kept_when_the_profile_arrives(storage_backend, feed, as_user):
    caller = as_user()
    uploaded = put_avatar(caller, images.jpeg())
    assert uploaded.status_code == 200, uploaded.content
    feed.registered(caller.user_id)
    assert caller.get(ME).json()["avatar_url"] == uploaded.json()["avatar_url"]


@pytest.mark.parametrize("data, reason", [
    (images.svg(), "svg"),
    (images.truncated_png(), "truncated"),
    (images.too_many_pixels(10_000), "pixels"),
])
def test_a_refused_image_is_a_400_naming_the_reason_and_stores_nothing(
        storage_backend, settings, feed, as_user, data, reason):
    settings.IMAGE_MAX_PIXELS = 10_000
    user_id = feed.registered()
    caller = as_user(user_id)
    response = put_avatar(caller, data, name="x.png", content_type="image/png")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"]["image"], error
    assert storage_backend.stored_keys() == [] and avatar_records(user_id) == []
    assert caller.get(ME).json()["avatar_url"] is None


def test_refusals_of_the_request_itself_store_nothing(storage_backend, settings, feed, as_user, anonymous):
    user_id = feed.registered()
    caller = as_user(user_id)
    assert put_avatar(anonymous, images.jpeg()).status_code == 401
    assert anonymous.send("DELETE", AVATAR).status_code == 401
    assert caller.send("PUT", AVATAR, {"image": "x"}).status_code == 415
    no_file = caller.upload(AVATAR, None, fields={"note": "hi"}, method="PUT")
    assert no_file.status_code == 400
    settings.IMAGE_MAX_BYTES = 2048
    assert put_avatar(caller, images.jpeg(400, 400, noise=True)).status_code == 413
    assert storage_backend.stored_keys() == [] and avatar_records(user_id) == []


def test_avatars_count_against_the_upload_budget_shared_with_charts(storage_backend, settings, feed, as_user):
    settings.IMAGE_UPLOAD_RATE_MAX = 1
    caller = as_user(feed.registered())
    assert put_avatar(caller, images.jpeg()).status_code == 200
    stored = storage_backend.stored_keys()
    refused = put_avatar(caller, images.jpeg())
    assert refused.status_code == 429 and refused.has_header("Retry-After")
    assert storage_backend.stored_keys() == stored
    chart = caller.upload("/api/v1/trade-signals/images", images.png())
    assert chart.status_code == 429


def test_a_failing_record_write_deletes_the_stored_files(storage_backend, feed, as_user, monkeypatch):
    user_id = feed.registered()
    caller = as_user(user_id)

    def refuse(**kwargs):
        raise RuntimeError("the profile write failed")

    monkeypatch.setattr(services, "_profile_changed", lambda *a: None)
    monkeypatch.setattr(services.selectors, "profile_with_claims", refuse)
    response = put_avatar(caller, images.jpeg())
    assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error", response.content
    assert storage_backend.stored_keys() == [] and avatar_records(user_id) == []
    assert stored_profile(user_id).get("avatar") is None


def test_the_sweep_collects_stray_avatar_files_and_discarded_records(storage_backend, settings, feed, as_user):
    assert gc.collectors()["avatars"] is services.avatars_collect
    user_id = feed.registered()
    caller = as_user(user_id)
    kept = put_avatar(caller, images.jpeg()).json()["avatar_url"]
    stray = storage.store(services.pipeline.process(images.jpeg(), max_pixels=settings.IMAGE_MAX_PIXELS,
                                                    thumbnail_width=64, square=True), kind="avatars")
    # A discarded record whose event handler never ran (its files still stored).
    leftover = storage.store(services.pipeline.process(images.png(), max_pixels=settings.IMAGE_MAX_PIXELS,
                                                       thumbnail_width=64, square=True), kind="avatars")
    mongo.database("users")["user_avatars"].insert_one({
        "owner_id": user_id, "key": leftover.key, "thumbnail_key": leftover.thumbnail_key,
        "content_type": "image/png", "width": 64, "height": 48, "size": leftover.size,
        "created_at": utcnow() - timedelta(hours=3), "discarded_at": utcnow() - timedelta(hours=2)})
    recent = services.avatars_collect(utcnow())
    assert recent == {"detached": 1, "unreferenced_files": 0}  # the stray files are within the grace
    assert stray.key in storage_backend.stored_keys() and leftover.key not in storage_backend.stored_keys()

    later = utcnow() + timedelta(seconds=settings.IMAGE_GC_GRACE + 60)
    if storage_backend.kind == "filesystem":  # a file's age is its modification time
        old = time.time() - settings.IMAGE_GC_GRACE - 60
        for key in (stray.key, stray.thumbnail_key):
            os.utime(storage_backend.media_root / key, (old, old))
        later = utcnow()
    assert services.avatars_collect(later) == {"detached": 0, "unreferenced_files": 2}

    record, = avatar_records(user_id)
    assert storage_backend.stored_keys() == sorted([record["key"], record["thumbnail_key"]])
    assert caller.get(ME).json()["avatar_url"] == kept
    call_command("images_gc", stdout=io.StringIO())
    assert len(storage_backend.stored_keys()) == 2


def test_concurrent_uploads_leave_one_avatar_and_only_its_files(storage_backend, feed, as_user):
    user_id = feed.registered()
    caller = as_user(user_id)

    def upload(seed: int) -> int:  # a client per thread, as separate requests would be
        other_client = Caller(Client(), user_id, name=caller.name)
        return put_avatar(other_client, images.jpeg(64 + seed, 64, noise=True)).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(upload, range(4)))

    assert statuses == [200] * 4
    # Every upload but the last was discarded by the next. An event committed while another sender held the
    # user's key is left to the relay loop (delivery keeps each key's order): run it as the relay would.
    wait_until(lambda: relay.flush("users") >= 0 and len(avatar_records(user_id)) == 1, timeout=20,
               message="the replaced uploads purged")
    record, = avatar_records(user_id)
    assert record["discarded_at"] is None
    assert storage_backend.stored_keys() == sorted([record["key"], record["thumbnail_key"]])
    assert caller.get(ME).json()["avatar_url"] == storage.url(record["thumbnail_key"])


@pytest.mark.parametrize("storage_backend", ["s3"], indirect=True)
def test_without_the_store_an_upload_is_a_503_and_a_removal_finishes_when_it_returns(
        storage_backend, private_seaweed, settings, feed, as_user):
    settings.S3_TIMEOUT_SECONDS = 1
    bucket = private_seaweed.create_bucket()
    storage_backend.point_at(private_seaweed, bucket, settings)
    user_id = feed.registered()
    caller = as_user(user_id)
    kept = put_avatar(caller, images.jpeg()).json()["avatar_url"]
    private_seaweed.kill()

    refused = put_avatar(caller, images.png(), name="b.png", content_type="image/png")
    assert refused.status_code == 503, refused.content
    assert refused.json()["error"]["code"] == "service_unavailable"
    assert caller.get(ME).json()["avatar_url"] == kept and len(avatar_records(user_id)) == 1

    # Removing needs no store: the profile changes now, the files go when the store is back.
    assert caller.send("DELETE", AVATAR).status_code == 204
    assert caller.get(ME).json()["avatar_url"] is None
    private_seaweed.start()
    assert len(private_seaweed.objects(bucket)) == 2
    later = utcnow() + timedelta(seconds=settings.IMAGE_GC_GRACE + 60)
    assert services.avatars_collect(later) == {"detached": 1, "unreferenced_files": 0}
    assert private_seaweed.objects(bucket) == [] and avatar_records(user_id) == []
