"""Test settings: real Redis on its own db index, a fast password hasher cost, locmem mail."""
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("JWT_SECRET", "test-jwt-secret-0123456789abcdef0123456789")
os.environ.setdefault("REDIS_ENABLED", "true")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from settings.base import *  # noqa: E402,F401,F403

# locmem unless the environment names another backend (a separate gunicorn process writes files instead).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or "django.core.mail.backends.locmem.EmailBackend"
