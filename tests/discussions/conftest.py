"""Fixtures of the discussions tests: callers with real tokens, an approved signal and a forum thread."""
from __future__ import annotations

import pytest

from tests.support.discussions import BASE, approved_signal, start_thread


@pytest.fixture
def base() -> str:
    return BASE


@pytest.fixture
def signal(owner, admin) -> dict:
    """An approved signal of ``owner``'s, projected into the discussions app through the in-process bus."""
    return approved_signal(owner=owner, admin=admin)


@pytest.fixture
def thread(owner) -> dict:
    """A forum thread started by ``owner``."""
    return start_thread(owner)
