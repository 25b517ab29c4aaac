"""Fixtures of the abuse-case tests: a fresh cache service for each test, as in the signals suite (the callers
and ``accounts`` come from tests/conftest.py)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_cache(fresh_cache_service):
    yield
