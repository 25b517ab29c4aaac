"""Optimistic writes: retry a lost race on a fresh read, with jittered exponential backoff.

Every app writes a document with a condition on what it read (a ``version``/``rev`` check, an insert that a
concurrent insert may beat, a transaction that may hit a write conflict). When the condition fails the write
*lost a race*: the attempt raises ``WriteLost`` and ``retry_on_conflict`` runs it again — it re-reads, so the
change is re-validated against the new state. Racers that collide in one transaction can both lose, so each
retry first waits a random time ("full jitter": uniform between zero and an exponentially growing ceiling) to
let one of them through; the ceiling is capped per wait and the waits of one call are capped in total, so a
hot document costs a caller a bounded delay, never an unbounded one.

A caller that sent ``If-Match`` asked for *that* version only: its first loss raises ``precondition`` (412)
instead of retrying. A caller still losing after ``tries`` attempts gets ``conflict`` (409).
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TRIES = 8
BASE_DELAY = 0.004       # seconds: the ceiling of the first wait, doubled for each further one
MAX_DELAY = 0.256        # seconds: no single wait is longer
MAX_TOTAL_DELAY = 1.0    # seconds: the waits of one call never add up to more
WRITE_CONFLICT = 112     # MongoDB's WriteConflict error code


class WriteLost(Exception):  # noqa: N818 - an outcome, not an error the caller made
    """The conditional write matched nothing, or its transaction hit a write conflict: read again."""


def is_write_conflict(exc: BaseException) -> bool:
    """A MongoDB error that means a concurrent writer won (a ``WriteConflict`` or a transaction MongoDB says
    to retry): the attempt should raise ``WriteLost`` for it."""
    has_label = getattr(exc, "has_error_label", None)
    return getattr(exc, "code", None) == WRITE_CONFLICT or bool(has_label and has_label("TransientTransactionError"))


def backoff_delays(tries: int, *, base: float = BASE_DELAY, max_delay: float = MAX_DELAY,
                   max_total: float = MAX_TOTAL_DELAY, rng: random.Random | None = None) -> Iterator[float]:
    """The waits between ``tries`` attempts (one fewer than ``tries``): the n-th (from zero) is uniform in
    ``[0, min(max_delay, base * 2**n)]``, cut so that all of them add up to at most ``max_total``."""
    draw = (rng or random).uniform
    spent = 0.0
    for n in range(max(tries - 1, 0)):
        delay = min(draw(0, min(max_delay, base * 2 ** n)), max_total - spent)  # jitter, not cryptography
        spent += delay
        yield delay


def retry_on_conflict(attempt: Callable[[], T], *, conflict: Exception, precondition: Exception | None = None,
                      tries: int = DEFAULT_TRIES, sleep: Callable[[float], None] = time.sleep,
                      rng: random.Random | None = None) -> T:
    """``attempt()``'s result, running it again (after a backoff wait) each time it raises ``WriteLost``.

    ``precondition`` (given when the caller sent ``If-Match``) is raised on the first loss; ``conflict`` after
    ``tries`` losses. Any other exception of ``attempt`` propagates at once.
    """
    delays = backoff_delays(tries, rng=rng)
    for _ in range(tries):
        try:
            return attempt()
        except WriteLost:
            if precondition is not None:
                raise precondition from None
        delay = next(delays, None)
        if delay is None:
            break
        if delay > 0:
            sleep(delay)
    raise conflict
