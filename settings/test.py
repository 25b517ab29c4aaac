"""Test settings: real Redis on its own db index, a fast password hasher cost, locmem mail."""
import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("JWT_SECRET", "test-jwt-secret-0123456789abcdef0123456789")
os.environ.setdefault("REDIS_ENABLED", "true")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Under pytest-xdist each worker (and every server it starts, which inherits this environment) has its own pair
# of Redis databases, two apart below REDIS_URL's (gw0: 15, gw1: 13, …; the cluster tests use the one above), and
# its own media directory: every test flushes its database and image sweeps delete files no record names.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER.startswith("gw") and "TS_TEST_WORKER_REDIS_URL" not in os.environ:
    from urllib.parse import urlsplit, urlunsplit

    _parts = urlsplit(os.environ["REDIS_URL"])
    _db = (int(_parts.path.strip("/") or 0) - 2 * int(_WORKER[2:])) % 16
    os.environ["REDIS_URL"] = os.environ["TS_TEST_WORKER_REDIS_URL"] = urlunsplit(
        (_parts.scheme, _parts.netloc, f"/{_db}", "", ""))
os.environ.setdefault("LOG_LEVEL", "WARNING")
# A loaded two-worker run can keep the embedded server from answering a heartbeat within the production default
# (2 s); pymongo then clears the pool and cancels the operations in flight. Tests that need a short timeout set it.
os.environ.setdefault("MONGODB_TIMEOUT_MS", "10000")
# Uploaded images of a test run stay in its temp dir (tests/run.sh removes it), never in ./var/media.
# Tests sweep images explicitly (images_gc, gc.run_forever): no background sweep racing their assertions.
os.environ.setdefault("IMAGE_GC_INTERVAL", "0")
os.environ.setdefault("MEDIA_ROOT", os.path.join(tempfile.gettempdir(), f"tradesignals-test-media{_WORKER}"))

from settings.base import *  # noqa: E402,F401,F403

# locmem unless the environment names another backend (a separate gunicorn process writes files instead).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or "django.core.mail.backends.locmem.EmailBackend"
