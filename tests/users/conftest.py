"""Fixtures of the users tests: a feed of the other slices' events, and callers holding real tokens."""
from __future__ import annotations

import pytest

from tests.support.api import Caller, new_id
from tests.support.users import Feed


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
def as_user(client):
    def make(user_id: str | None = None, *, role: str = "user", name: str = "Ada Lovelace") -> Caller:
        return Caller(client, user_id or new_id(), role=role, name=name)

    return make
