"""``retry_on_conflict``: what a caller whose optimistic write keeps losing sees, and how long it waits.

Pure logic, no server: the waits are recorded instead of slept, the jitter comes from a seeded generator.
"""
from __future__ import annotations

import random

import pytest
from pymongo.errors import DuplicateKeyError, OperationFailure

from tradesignals.kernel.errors import Conflict, PreconditionFailed
from tradesignals.kernel.retry import (
    BASE_DELAY,
    DEFAULT_TRIES,
    MAX_DELAY,
    MAX_TOTAL_DELAY,
    WriteLost,
    backoff_delays,
    is_write_conflict,
    retry_on_conflict,
)


class Racer:
    """An attempt that loses ``losses`` times, then wins."""

    def __init__(self, losses: int):
        self.losses, self.calls = losses, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.losses:
            raise WriteLost()
        return f"won on try {self.calls}"


@pytest.fixture
def waits() -> list[float]:
    """The waits of one call, recorded instead of slept."""
    return []


def _run(attempt, waits: list[float], **kwargs):
    kwargs.setdefault("conflict", Conflict("busy"))
    return retry_on_conflict(attempt, sleep=waits.append, rng=random.Random(7), **kwargs)


def test_a_lost_race_is_retried_until_it_wins(waits):
    racer = Racer(losses=3)
    result = _run(racer, waits)
    assert result == "won on try 4"
    assert racer.calls == 4 and len(waits) == 3


def test_a_winner_on_the_first_try_never_waits(waits):
    result = _run(Racer(losses=0), waits)
    assert result == "won on try 1" and waits == []


def test_after_every_try_lost_the_caller_gets_the_conflict_without_a_last_wait(waits):
    racer = Racer(losses=100)
    with pytest.raises(Conflict, match="busy"):
        _run(racer, waits, tries=5)
    assert racer.calls == 5
    assert len(waits) == 4  # no wait after the last try: nothing follows it


def test_the_default_number_of_tries(waits):
    racer = Racer(losses=100)
    with pytest.raises(Conflict):
        _run(racer, waits)
    assert racer.calls == DEFAULT_TRIES


def test_with_if_match_the_first_loss_is_the_precondition_and_is_not_retried(waits):
    racer = Racer(losses=1)
    with pytest.raises(PreconditionFailed, match="reload"):
        _run(racer, waits, precondition=PreconditionFailed("reload"))
    assert racer.calls == 1 and waits == []


def test_other_errors_are_not_retried(waits):
    calls = []

    def attempt():
        calls.append(1)
        raise ValueError("invalid")

    with pytest.raises(ValueError, match="invalid"):
        _run(attempt, waits)
    assert len(calls) == 1 and waits == []


@pytest.mark.parametrize("seed", range(20))
def test_each_wait_is_jittered_within_its_exponential_ceiling(seed):
    delays = list(backoff_delays(DEFAULT_TRIES, rng=random.Random(seed), max_total=100.0))
    assert len(delays) == DEFAULT_TRIES - 1
    for n, delay in enumerate(delays):
        assert 0 <= delay <= min(MAX_DELAY, BASE_DELAY * 2 ** n)


def test_waits_are_random_not_fixed():
    """Two racers that collided must not wait the same time (they would collide again)."""
    first = list(backoff_delays(6, rng=random.Random(1)))
    second = list(backoff_delays(6, rng=random.Random(2)))
    assert first != second
    assert len(set(first)) == len(first)


@pytest.mark.parametrize("tries", [1, 2, DEFAULT_TRIES, 20, 200])
def test_the_total_wait_of_one_call_is_bounded(tries):
    """However many tries, a caller never waits longer in all than the bound; the always-maximal draw
    (a generator returning the upper end) is the worst case."""

    class Worst(random.Random):
        def uniform(self, a, b):
            return b

    delays = list(backoff_delays(tries, rng=Worst()))
    assert sum(delays) <= MAX_TOTAL_DELAY + 1e-9
    assert all(delay >= 0 for delay in delays)
    if tries == 200:
        assert sum(delays) == pytest.approx(MAX_TOTAL_DELAY)  # the bound is what cuts, not the tries


def test_mongodb_errors_that_mean_a_concurrent_writer_won():
    assert is_write_conflict(OperationFailure("WriteConflict", code=112))
    labelled = OperationFailure("aborted", code=251, details={"errorLabels": ["TransientTransactionError"]})
    assert is_write_conflict(labelled)
    assert not is_write_conflict(OperationFailure("unauthorized", code=13))
    assert not is_write_conflict(DuplicateKeyError("dup", code=11000))
    assert not is_write_conflict(ValueError("not a database error"))
