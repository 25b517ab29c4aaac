"""Fault tests only: the real app plus a slow route that records which worker process serves it."""
from settings.test import *  # noqa: F401,F403

ROOT_URLCONF = "tests.faults.slow_urls"
