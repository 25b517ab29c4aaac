"""The console's outcome reads: the closed signals behind the overview's cumulative-R chart.

One range query on the ``outcome_closed`` index (``outcome.closed_at`` first), oldest close first, with the
record-keeping filters of the track records (final, approved, owner active) as residual predicates; only the
four fields the chart reads come back. Not cached: an outcome is written by the evaluation, not by the review
paths that bump the console's cache namespace, and the chart must not lag a recorded win.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from apps.signals import enums
from apps.signals.models import TradeSignal
from tradesignals.kernel.clock import utcnow

CHART_DAYS = 90
CHART_TRADERS = 5
PROJECTION = {"_id": 0, "owner_id": 1, "owner_name": 1, "outcome.closed_at": 1, "outcome.r_multiple": 1}
SORT = [("outcome.closed_at", 1)]


@dataclass(frozen=True)
class Closed:
    owner_id: str
    owner_name: str
    closed_at: datetime
    r_multiple: Decimal | None


def closed_query(*, since: datetime) -> dict:
    """The filter of :func:`signal_list_closed` (``apps/signals/shapes.py`` declares the same shape)."""
    return {"outcome.closed_at": {"$gte": since}, "outcome.state": {"$in": list(enums.OUTCOME_FINAL)},
            "status": enums.APPROVED, "owner_active": True}


def _decimal(value) -> Decimal | None:
    if value is None:
        return None
    return value.to_decimal() if hasattr(value, "to_decimal") else Decimal(str(value))


def signal_list_closed(*, days: int = CHART_DAYS, now: datetime | None = None) -> list[Closed]:
    """Decided, approved signals of active owners closed in the last ``days`` days, oldest close first."""
    since = (now or utcnow()) - timedelta(days=days)
    cursor = TradeSignal._get_collection().find(closed_query(since=since), PROJECTION).sort(SORT)
    rows = []
    for raw in cursor:
        outcome = raw.get("outcome") or {}
        if outcome.get("closed_at") is None:
            continue
        rows.append(Closed(owner_id=raw["owner_id"], owner_name=raw.get("owner_name") or "",
                           closed_at=outcome["closed_at"], r_multiple=_decimal(outcome.get("r_multiple"))))
    return rows
