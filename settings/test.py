"""Test settings: real Redis on its own db index, a fast password hasher cost, locmem mail."""
import os
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("JWT_SECRET", "test-jwt-secret-0123456789abcdef0123456789")
os.environ.setdefault("REDIS_ENABLED", "true")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Uploaded images of a test run stay in its temp dir (tests/run.sh removes it), never in ./var/media.
# Tests sweep images explicitly (images_gc, gc.run_forever): no background sweep racing their assertions.
os.environ.setdefault("IMAGE_GC_INTERVAL", "0")
os.environ.setdefault("MEDIA_ROOT", os.path.join(tempfile.gettempdir(), "tradesignals-test-media"))

from settings.base import *  # noqa: E402,F401,F403

# locmem unless the environment names another backend (a separate gunicorn process writes files instead).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or "django.core.mail.backends.locmem.EmailBackend"
