"""Local development: the embedded run. Safe, non-secret defaults only usable on loopback."""
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "dev-insecure-secret-key-do-not-use-in-production")
os.environ.setdefault("JWT_SECRET", "dev-insecure-jwt-secret-0123456789abcdef")
# The embedded server `make run` starts (deploy/run_local.py), so manage.py commands reach the same data.
_embedded_port = os.environ.get("EMBEDDED_MONGODB_PORT", "27018")
os.environ.setdefault("MONGODB_URI", f"mongodb://127.0.0.1:{_embedded_port}/tradesignals")

from settings.base import *  # noqa: E402,F401,F403
