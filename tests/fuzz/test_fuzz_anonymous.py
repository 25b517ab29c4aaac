"""Schema fuzzing without credentials, and every generated signal created (tests/fuzz/harness.py: what every
case is checked for)."""
from __future__ import annotations

import pytest
import requests
from hypothesis import given
from schemathesis import GenerationMode

from tests.fuzz.harness import (
    CHECKS,
    call_and_check,
    fuzz_settings,
    prices_in_order,
    real_images,
    schema,
)

pytestmark = pytest.mark.cluster


@schema.parametrize()
@fuzz_settings
def test_anonymous(case, fuzz_server, seeds):
    call_and_check(case, fuzz_server.url, None, seeds)


def test_generated_signals_are_created(api_schema, fuzz_server, user_account):
    """The document describes a signal closely enough that what it generates is one: every schema-valid
    create (its prices put in order, the one rule across fields) is a 201 whose response passes every check,
    and the signal is then there to read."""
    operation = api_schema.find_operation_by_id("trade_signals_create")
    headers = {"Authorization": f"Bearer {user_account.fresh_token()}"}
    created = []

    @given(case=operation.as_strategy(GenerationMode.POSITIVE))
    @fuzz_settings
    def create(case):
        prices_in_order(case)
        real_images(case, fuzz_server.url, headers)
        response = case.call(base_url=fuzz_server.url, headers=headers, timeout=10)
        case.validate_response(response, checks=CHECKS, headers=headers)
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])

    create()
    assert created
    for signal_id in created[-3:]:
        assert requests.get(f"{fuzz_server.url}/api/v1/trade-signals/{signal_id}", headers=headers,
                            timeout=10).status_code == 200
