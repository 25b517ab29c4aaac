"""What happens to chart images nobody uses: an upload never attached is deleted once IMAGE_ORPHAN_TTL has passed,
a file no record names once IMAGE_GC_GRACE has, a detached image whose purge never ran by the next sweep — and
nothing a signal shows is ever lost, also when a signal takes an upload while the sweep is deleting it. The sweep
is ``manage.py images_gc`` and the background loop the consumers run; both on each storage backend."""
from __future__ import annotations

import io
import json
import os
import threading
import time
from datetime import timedelta

import pytest
from bson import ObjectId
from django.core.management import call_command
from django.test import Client

from apps.signals.models import ChartImage, TradeSignal
from tests.support import images
from tests.support.api import Caller
from tests.support.errors import assert_error
from tests.support.servers import wait_until
from tests.support.signals import BASE, VALID
from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.images import gc, pipeline, storage

IMAGES = f"{BASE}/images"
NOTHING = {"orphans": 0, "detached": 0, "unreferenced_files": 0}


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_cache_service):
    yield


def upload(caller, data: bytes | None = None) -> dict:
    response = caller.upload(IMAGES, images.png() if data is None else data)
    assert response.status_code == 201, response.content
    return response.json()


def files_of(image_id: str) -> list[str]:
    image = ChartImage.objects.get(id=image_id)
    return [image.key, image.thumbnail_key]


def backdate(image_id: str, seconds: float, field: str = "created_at") -> None:
    """The record as if ``field`` had been set ``seconds`` ago."""
    ChartImage._get_collection().update_one({"_id": ObjectId(image_id)},
                                            {"$set": {field: utcnow() - timedelta(seconds=seconds)}})


def sweep() -> dict:
    """``manage.py images_gc`` as an operator runs it: the counts it prints for the charts of signals."""
    out = io.StringIO()
    call_command("images_gc", stdout=out)
    return json.loads(out.getvalue())["charts"]


def stray_files() -> storage.StoredImage:
    """Files in the store that no record names (an upload whose record was never written)."""
    return storage.store(pipeline.process(images.png(), max_pixels=40_000_000), kind="charts")


def modified(key: str):
    return dict(storage.stored_keys("charts"))[key]


def age_files(storage_backend, keys: list[str], seconds: float) -> None:
    """Make stored files at least ``seconds`` old: their modification time set back on the file system; on S3,
    which keeps the time of the write, by waiting until they are."""
    if storage_backend.kind == "filesystem":
        moment = time.time() - seconds
        for key in keys:
            os.utime(storage_backend.media_root / key, (moment, moment))
        return
    limit = timedelta(seconds=seconds)
    wait_until(lambda: all(utcnow() - modified(key) > limit for key in keys), timeout=seconds + 10,
               interval=0.2, message=f"{keys} to be older than {seconds} s")


# --- the sweep --------------------------------------------------------------------------------------------------

def test_an_upload_never_attached_is_deleted_after_the_ttl_and_nothing_else(storage_backend, owner, settings):
    old, fresh, attached = upload(owner), upload(owner, images.jpeg()), upload(owner, images.webp())
    signal = owner.create(image_id=attached["id"])
    for item in (old, attached):
        backdate(item["id"], settings.IMAGE_ORPHAN_TTL + 60)
    kept = sorted(files_of(fresh["id"]) + files_of(attached["id"]))

    assert sweep() == {**NOTHING, "orphans": 1}

    assert storage_backend.stored_keys() == kept
    assert sorted(str(i.id) for i in ChartImage.objects) == sorted([fresh["id"], attached["id"]])
    assert owner.get(f"{BASE}/{signal['id']}").json()["image"]["id"] == attached["id"]
    gone = owner.send("POST", BASE, {**VALID, "image_id": old["id"]})
    assert "image_id" in assert_error(gone, 400, "validation_error")["details"]
    assert owner.create(image_id=fresh["id"])["image"]["id"] == fresh["id"]  # a young one is still attachable
    assert sweep() == NOTHING
    assert storage_backend.stored_keys() == kept


def test_files_no_record_names_are_deleted_after_the_grace(storage_backend, owner, settings):
    settings.IMAGE_GC_GRACE = 2
    kept = files_of(upload(owner)["id"])
    old = stray_files()
    age_files(storage_backend, [*kept, old.key, old.thumbnail_key], settings.IMAGE_GC_GRACE + 1)
    young = stray_files()  # an upload between its files and its record

    assert sweep() == {**NOTHING, "unreferenced_files": 2}

    assert storage_backend.stored_keys() == sorted([*kept, young.key, young.thumbnail_key])
    assert ChartImage.objects.count() == 1


def test_a_detached_image_whose_purge_never_ran_is_collected(storage_backend, owner, settings):
    """The state a committed edit leaves when the handler of its event never ran (dead-lettered): the signal
    shows no chart, the record is marked discarded, the files are still there."""
    lost, recent = upload(owner), upload(owner, images.jpeg())
    signals = [owner.create(image_id=lost["id"]), owner.create(image_id=recent["id"])]
    for signal, discarded_ago in zip(signals, (settings.IMAGE_GC_GRACE + 60, 0), strict=True):
        TradeSignal._get_collection().update_one({"_id": ObjectId(signal["id"])}, {"$set": {"image": None}})
        image_id = signal["image"]["id"]
        ChartImage._get_collection().update_one({"_id": ObjectId(image_id)}, {"$set": {"discarded_at": utcnow()}})
        backdate(image_id, discarded_ago, field="discarded_at")

    assert sweep() == {**NOTHING, "detached": 1}

    # The recent one is left to its event's handler, which may be running right now.
    assert storage_backend.stored_keys() == sorted(files_of(recent["id"]))
    assert [str(i.id) for i in ChartImage.objects] == [recent["id"]]
    assert owner.get(f"{BASE}/{signals[0]['id']}").json()["image"] is None


def test_the_background_sweep_runs_by_itself_until_stopped(storage_backend, owner, settings):
    settings.IMAGE_GC_INTERVAL = 1
    old, fresh = upload(owner), upload(owner, images.jpeg())
    backdate(old["id"], settings.IMAGE_ORPHAN_TTL + 60)
    stop = threading.Event()
    thread = threading.Thread(target=gc.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: ChartImage.objects(id=old["id"]).count() == 0
                   and storage_backend.stored_keys() == sorted(files_of(fresh["id"])),
                   timeout=15, message="the background sweep to delete the old orphan")
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert [str(i.id) for i in ChartImage.objects] == [fresh["id"]]


# --- an attach racing the sweep ---------------------------------------------------------------------------------

ROUNDS = 6


def create_with(image_id: str, caller):
    return caller.send("POST", BASE, {**VALID, "image_id": image_id})


def assert_consistent(storage_backend, response, image_id: str, keys: list[str]) -> str:
    """The attach won (the signal shows the chart, its files are there) or the sweep did (400, all gone)."""
    left = storage_backend.stored_keys()
    if response.status_code == 201:
        signal = response.json()
        assert signal["image"]["id"] == image_id
        assert set(keys) <= set(left), (keys, left)
        assert storage_backend.read(keys[0])[0]
        assert str(ChartImage.objects.get(id=image_id).signal_id) == signal["id"]
        return "attach"
    assert "image_id" in assert_error(response, 400, "validation_error")["details"]
    assert not set(keys) & set(left), (keys, left)
    assert ChartImage.objects(id=image_id).count() == 0
    return "sweep"


def test_an_attach_racing_the_sweep_never_shows_a_chart_without_its_files(storage_backend, owner, settings):
    """Both start at once, round after round. A create whose transaction collides with the sweep's claim is
    a 409 today (see the test below); the client's retry then gets the final answer, which must be consistent."""
    outcomes = []
    for _ in range(ROUNDS):
        image = upload(owner)
        keys = files_of(image["id"])
        backdate(image["id"], settings.IMAGE_ORPHAN_TTL + 60)
        start, result = threading.Barrier(2), {}

        def attach(image_id=image["id"], start=start, result=result):
            caller = Caller(Client(), owner.user_id, name=owner.name)
            start.wait()
            result["response"] = create_with(image_id, caller)

        def collect(start=start, result=result):
            start.wait()
            result["counts"] = gc.collect_all()

        threads = [threading.Thread(target=attach), threading.Thread(target=collect)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        response = result["response"]
        if response.status_code == 409:
            assert len(owner.get(BASE).json()["results"]) == outcomes.count("attach")  # nothing was created
            response = create_with(image["id"], owner)
        outcome = assert_consistent(storage_backend, response, image["id"], keys)
        assert result["counts"]["charts"]["orphans"] == (outcome == "sweep")
        outcomes.append(outcome)
    for signal in owner.get(BASE).json()["results"]:  # every signal shows a chart whose files are there
        image = ChartImage.objects.get(id=signal["image"]["id"])
        assert {image.key, image.thumbnail_key} <= set(storage_backend.stored_keys())
    assert len(owner.get(BASE).json()["results"]) == outcomes.count("attach")


def _sweep_inside_the_attach(monkeypatch) -> list:
    """The worst interleaving, every time: the signal's transaction has read the upload (its snapshot holds the
    upload free) when the sweep claims and deletes it, and only then writes the attach."""
    from apps.signals import services

    real_attach, swept = services._attach, []

    def attach_after_the_sweep(*, image, signal_id, session):
        services._images().find_one({"_id": image.id}, session=session)
        swept.append(gc.collect_all())
        return real_attach(image=image, signal_id=signal_id, session=session)

    monkeypatch.setattr(services, "_attach", attach_after_the_sweep)
    return swept


@pytest.mark.parametrize("write", [
    "create",
    "edit",
])
@pytest.mark.parametrize("storage_backend", ["filesystem"], indirect=True)
def test_when_the_sweep_wins_the_attach_is_a_400(storage_backend, owner, settings, monkeypatch, write):
    image = upload(owner)
    keys = files_of(image["id"])
    backdate(image["id"], settings.IMAGE_ORPHAN_TTL + 60)
    signal = owner.create() if write == "edit" else None
    swept = _sweep_inside_the_attach(monkeypatch)

    if write == "create":
        response = create_with(image["id"], owner)
    else:
        response = owner.patch(f"{BASE}/{signal['id']}", {"image_id": image["id"]})

    assert swept and swept[0]["charts"]["orphans"] == 1
    assert assert_consistent(storage_backend, response, image["id"], keys) == "sweep"
    assert [s["image"] for s in owner.get(BASE).json()["results"]] == ([None] if signal else [])
