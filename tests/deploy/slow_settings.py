"""Test-only settings: the real app plus a slow route (tests/ never ships in the image)."""
from settings.test import *  # noqa: F401,F403

ROOT_URLCONF = "tests.deploy.slow_urls"
