"""Schema fuzzing as a signed-in user (tests/fuzz/harness.py: what every case is checked
for)."""
from __future__ import annotations

import pytest

from tests.fuzz.harness import (
    call_and_check,
    fuzz_settings,
    schema,
)

pytestmark = pytest.mark.cluster


@schema.parametrize()
@fuzz_settings
def test_authenticated_user(case, fuzz_server, seeds, user_account):
    call_and_check(case, fuzz_server.url, user_account, seeds)
