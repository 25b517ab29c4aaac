"""Local development: the embedded run. Safe, non-secret defaults only usable on loopback."""
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "dev-insecure-secret-key-do-not-use-in-production")
os.environ.setdefault("JWT_SECRET", "dev-insecure-jwt-secret-0123456789abcdef")

from settings.base import *  # noqa: E402,F401,F403
