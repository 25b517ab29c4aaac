"""Fixtures of the signals tests: each test starts with a fresh cache service (the callers ``owner``, ``other``,
``admin``, ``anonymous`` and ``make_caller`` come from tests/conftest.py)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_cache_service):
    yield
