"""Test-only settings: the real app with a receiver whose first delivery fails."""
from settings.test import *  # noqa: F401,F403

ROOT_URLCONF = "tests.support.flaky_receiver_urls"
