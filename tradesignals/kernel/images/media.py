"""The app answering ``MEDIA_URL`` from ``MEDIA_ROOT`` itself: the embedded run, the tests, and one-host
deployments with no gateway serving the media volume (``MEDIA_SERVE``; nginx or a CDN serve it otherwise).

Only names the store could have written are served (``storage.KEY_PATTERN``: fixed characters, no dots but the
extension's, no slashes but the two of ``images/<kind>/``), so no request can name a directory or a path outside
MEDIA_ROOT. The content type comes from the extension, never from the bytes, and browsers are told not to sniff
or run anything: a file that is not the image its name says is at worst a broken image.
"""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse

from tradesignals.kernel.errors import error_response
from tradesignals.kernel.images.storage import KEY_PATTERN

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
SANDBOX = "default-src 'none'; sandbox"


def serving() -> bool:
    return bool(settings.MEDIA_SERVE) and settings.STORAGE_BACKEND == "filesystem"


def _not_found():
    return error_response("not_found", "Not found.", 404)


def media_file(request, key: str):
    if request.method not in {"GET", "HEAD"}:
        return error_response("method_not_allowed", "Method not allowed.", 405, headers={"Allow": "GET, HEAD"})
    if not serving() or KEY_PATTERN.fullmatch(key) is None:
        return _not_found()
    path = Path(settings.MEDIA_ROOT).joinpath(*key.split("/"))
    try:
        handle = path.open("rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return _not_found()
    response = FileResponse(handle, content_type=CONTENT_TYPES[key.rsplit(".", 1)[1]])
    response["Cache-Control"] = settings.IMAGE_CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    return response
