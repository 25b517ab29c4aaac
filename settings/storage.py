"""The ``STORAGES["default"]`` entries for the two media backends (settings/base.py; tests point at their own)."""
from __future__ import annotations

from pathlib import Path


def s3_media_storage(*, bucket: str, endpoint_url: str | None, region: str | None, addressing_style: str,
                     timeout_seconds: int, cache_control: str) -> dict:
    """django-storages' S3Storage: unsigned stable URLs, no per-object ACL, bounded waits, no thread pool."""
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "region_name": region,
            "querystring_auth": False,  # stable URLs: they sit in cached responses
            "file_overwrite": True,  # names are random: skip the existence check (a HEAD per file)
            "default_acl": None,  # public-read comes from the bucket policy, not per-object ACLs
            "object_parameters": {"CacheControl": cache_control},
            "transfer_config": TransferConfig(use_threads=False),  # small objects: one PUT each
            # One attempt with bounded waits: an unreachable or hung store is a 503 within seconds, never a
            # worker held until gunicorn's timeout (the client retries; nothing half-stored is kept).
            "client_config": Config(
                connect_timeout=timeout_seconds, read_timeout=timeout_seconds,
                retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=10,
                s3={"addressing_style": addressing_style}, signature_version="s3v4"),
        },
    }


def filesystem_media_storage(root: Path, media_url: str) -> dict:
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root), "base_url": media_url,
                    "file_permissions_mode": 0o644, "directory_permissions_mode": 0o755},
    }
