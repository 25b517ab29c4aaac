"""Where image files go: Django's default storage (``STORAGES["default"]``: the file system or S3).

Files are written once under random names (192 bits) and never overwritten, so every URL can be cached for
ever; the records that point at them belong to the apps. Any failure of the store is a 503 and never leaves
half an upload behind: what one ``store`` wrote is deleted again when a later part fails.
"""
from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tradesignals.kernel.errors import ServiceUnavailable
from tradesignals.kernel.images.pipeline import ProcessedImage, Rendition

logger = logging.getLogger(__name__)

ROOT = "images"
# A stored name: images/<kind>/<32 url-safe characters>[.t].<extension>; nothing else is ever served or deleted.
KEY_PATTERN = re.compile(r"images/[a-z]{1,20}/[A-Za-z0-9_-]{32}(?:\.t)?\.(?:jpg|png|webp)")
_KIND = re.compile(r"[a-z]{1,20}")

STORE_UNAVAILABLE = "The image store is unavailable; retry later."


@dataclass(frozen=True)
class StoredImage:
    """An upload as written: the keys of its two files and the facts a representation shows."""

    key: str
    thumbnail_key: str
    content_type: str
    width: int
    height: int
    size: int
    thumbnail_width: int
    thumbnail_height: int


def is_key(value: object) -> bool:
    return isinstance(value, str) and KEY_PATTERN.fullmatch(value) is not None


def _name(kind: str, token: str, rendition: Rendition, *, thumbnail: bool) -> str:
    return f"{ROOT}/{kind}/{token}{'.t' if thumbnail else ''}.{rendition.extension}"


def _save(name: str, rendition: Rendition) -> None:
    content = ContentFile(rendition.data, name=name)
    content.content_type = rendition.content_type  # django-storages sends it as the object's Content-Type
    saved = default_storage.save(name, content)
    if saved != name:  # never happens with 192 random bits; a renamed file would be unreachable by its record
        raise RuntimeError(f"storage renamed {name!r} to {saved!r}")


def store(processed: ProcessedImage, *, kind: str) -> StoredImage:
    """Write the image and its thumbnail under one fresh random name; 503 when the store fails."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"bad image kind {kind!r}")
    token = secrets.token_urlsafe(24)
    image_key = _name(kind, token, processed.image, thumbnail=False)
    thumbnail_key = _name(kind, token, processed.thumbnail, thumbnail=True)
    written: list[str] = []
    try:
        for key, rendition in ((image_key, processed.image), (thumbnail_key, processed.thumbnail)):
            written.append(key)  # before the write: a failed write may leave part of the file
            _save(key, rendition)
    except Exception as exc:
        logger.warning("image store write failed", extra={"error": type(exc).__name__})
        try:
            delete(*written)
        except ServiceUnavailable:
            pass  # images_gc removes files that no record names
        raise ServiceUnavailable(STORE_UNAVAILABLE) from None
    return StoredImage(key=image_key, thumbnail_key=thumbnail_key, content_type=processed.image.content_type,
                       width=processed.image.width, height=processed.image.height, size=len(processed.image.data),
                       thumbnail_width=processed.thumbnail.width, thumbnail_height=processed.thumbnail.height)


def delete(*keys: str) -> None:
    """Delete stored files (a missing one is fine: deletion is retried by events and the sweep)."""
    for key in keys:
        if not is_key(key):
            raise ValueError(f"not an image key: {key!r}")
        try:
            default_storage.delete(key)
        except Exception as exc:
            logger.warning("image store delete failed", extra={"error": type(exc).__name__})
            raise ServiceUnavailable(STORE_UNAVAILABLE) from None


def exists(key: str) -> bool:
    return is_key(key) and default_storage.exists(key)


def url(key: str) -> str:
    """The address clients fetch ``key`` from: MEDIA_URL on the file system, S3_PUBLIC_URL (a CDN) or the
    bucket's own address on S3. Pure string work — a read never calls the store."""
    if settings.STORAGE_BACKEND == "s3":
        if settings.S3_PUBLIC_URL:
            return f"{settings.S3_PUBLIC_URL.rstrip('/')}/{key}"
        return _s3_url(key)
    return f"{settings.MEDIA_URL}{key}"


def _s3_url(key: str) -> str:
    endpoint = settings.S3_ENDPOINT_URL
    if endpoint:
        return f"{endpoint.rstrip('/')}/{settings.S3_BUCKET}/{key}"
    region = settings.S3_REGION or "us-east-1"
    return f"https://{settings.S3_BUCKET}.s3.{region}.amazonaws.com/{key}"


def stored_keys(kind: str) -> Iterator[tuple[str, datetime]]:
    """Every stored file of ``kind`` with its modification time, for the sweep (``images_gc``). On S3 one
    paginated listing gives both (django-storages' ``get_modified_time`` would send a HEAD per object)."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"bad image kind {kind!r}")
    folder = f"{ROOT}/{kind}"
    if settings.STORAGE_BACKEND == "s3":
        yield from _s3_listing(folder)
        return
    try:
        _dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        key = f"{folder}/{name}"
        if is_key(key):
            yield key, default_storage.get_modified_time(key)


def _s3_listing(folder: str) -> Iterator[tuple[str, datetime]]:
    paginator = default_storage.connection.meta.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=default_storage.bucket_name, Prefix=f"{folder}/"):
        for entry in page.get("Contents", ()):
            if is_key(entry["Key"]):
                yield entry["Key"], entry["LastModified"]
