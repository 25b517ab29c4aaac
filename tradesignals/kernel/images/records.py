"""What an app records about each image it stores, and the deletions every app does alike.

The app's document subclasses ``ImageRecord`` (its own collection and database alias, plus what the image is
attached to); a detached record is marked ``discarded_at`` in the transaction that detaches it, then purged —
files first, then the record — so no stored file is ever left without a record that names it, except between
an upload's write and its record, which the sweep covers after IMAGE_GC_GRACE.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import mongoengine as me

from tradesignals.kernel.images import storage
from tradesignals.kernel.mongo import object_id


class ImageLinks:
    """``url`` and ``thumbnail_url`` of anything holding ``key`` and ``thumbnail_key`` (computed, never stored:
    a CDN in front of the store changes them all at once)."""

    @property
    def url(self) -> str:
        return storage.url(self.key)

    @property
    def thumbnail_url(self) -> str:
        return storage.url(self.thumbnail_key)


class ImageRef(ImageLinks, me.EmbeddedDocument):
    """What a signal or a profile keeps of the image it shows (a copy of its record's facts, so a read needs no
    join): the record's id, the two keys, the full image's size."""

    id = me.ObjectIdField(required=True)
    key = me.StringField(required=True)
    thumbnail_key = me.StringField(required=True)
    width = me.IntField(null=True)
    height = me.IntField(null=True)


class ImageRecord(ImageLinks, me.Document):
    owner_id = me.StringField(required=True)
    key = me.StringField(required=True)
    thumbnail_key = me.StringField(required=True)
    content_type = me.StringField(required=True)
    width = me.IntField(required=True)
    height = me.IntField(required=True)
    size = me.IntField(required=True)
    created_at = me.DateTimeField(required=True)
    discarded_at = me.DateTimeField(null=True)

    meta = {"abstract": True}

    def ref(self) -> ImageRef:
        return ImageRef(id=self.id, key=self.key, thumbnail_key=self.thumbnail_key, width=self.width,
                        height=self.height)

    @classmethod
    def of(cls, stored: storage.StoredImage, *, owner_id: str, created_at: datetime, **extra):
        return cls(owner_id=owner_id, key=stored.key, thumbnail_key=stored.thumbnail_key,
                   content_type=stored.content_type, width=stored.width, height=stored.height, size=stored.size,
                   created_at=created_at, discarded_at=None, **extra)


@contextlib.contextmanager
def kept_only_if_recorded(stored: storage.StoredImage, collection, record_id) -> Iterator[None]:
    """Around the write of an upload's record: when the block fails and left no record ``record_id``, the stored
    files are deleted again (a record that did commit keeps them); if even that fails, the sweep finds files no
    record names once IMAGE_GC_GRACE has passed."""
    try:
        yield
    except Exception:
        with contextlib.suppress(Exception):
            if not collection.count_documents({"_id": record_id}, limit=1):
                storage.delete(stored.key, stored.thumbnail_key)
        raise


def purge(collection, image_ids: list[str]) -> int:
    """Delete the files, then the record, of each discarded image named (idempotent: the consumer of the
    detaching event and the sweep may both run it). Records not marked discarded are never touched."""
    purged = 0
    for image_id in image_ids:
        oid = object_id(image_id)
        raw = oid and collection.find_one({"_id": oid, "discarded_at": {"$ne": None}})
        if not raw:
            continue
        storage.delete(raw["key"], raw["thumbnail_key"])
        purged += collection.delete_one({"_id": oid, "discarded_at": {"$ne": None}}).deleted_count
    return purged


def sweep_detached(collection, *, before: datetime) -> int:
    """Purge records detached before ``before`` whose event handler never purged them (dead-lettered, say)."""
    stale = [str(raw["_id"]) for raw in collection.find({"discarded_at": {"$ne": None, "$lt": before}}, {"_id": 1})]
    return purge(collection, stale)


def sweep_unreferenced(collection, *, kind: str, before: datetime) -> int:
    """Delete stored files of ``kind`` that no record names, modified before ``before``."""
    deleted = 0
    for key, modified in storage.stored_keys(kind):
        if _aware(modified) >= before:
            continue
        if collection.count_documents({"$or": [{"key": key}, {"thumbnail_key": key}]}, limit=1):
            continue
        storage.delete(key)
        deleted += 1
    return deleted


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
