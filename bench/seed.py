"""Bulk-load trade signals for the benchmark straight into the signals collection (fast, no events).

Run with the same environment as the server under test. Documents are built and validated by the real
``TradeSignal`` Document, so the benchmark reads exactly what the product writes; the API path is what
``bench/run.py`` measures separately ("create signal").
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.prod")

import django  # noqa: E402

django.setup()

from apps.signals.models import TradeSignal  # noqa: E402
from tradesignals.kernel.clock import utcnow as now  # noqa: E402

SYMBOLS = ["BTCUSDT", "ETHUSDT", "AAPL", "EURUSD", "XAUUSD", "SOL/USDT", "MSFT", "TSLA"]


def build(i: int, owner_id: str, owner_name: str, at) -> dict:
    entry = Decimal(100 + i % 500) + Decimal("0.5")
    long = i % 2 == 1
    doc = TradeSignal(
        owner_id=owner_id, owner_name=owner_name, owner_active=True, symbol=SYMBOLS[i % len(SYMBOLS)],
        direction="long" if long else "short", entry_price=entry,
        stop_loss=entry - 5 if long else entry + 5, take_profit=entry + 12 if long else entry - 12,
        timeframe="4h" if long else "1h", rationale=f"Seeded signal {i}",
        status="approved" if i % 2 == 0 else "pending", history=[], version=1,
        created_at=at, updated_at=at,
    )
    doc.validate()
    return doc.to_mongo()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--owner-id", required=True)
    parser.add_argument("--owner-name", default="bench trader")
    parser.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    collection = TradeSignal._get_collection()
    TradeSignal.ensure_indexes()
    start = now() - timedelta(seconds=args.count)
    batch = []
    for i in range(args.count):
        batch.append(build(i, args.owner_id, args.owner_name, start + timedelta(seconds=i)))
        if len(batch) == 1000:
            collection.insert_many(batch, ordered=False)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=False)
    print(collection.count_documents({"owner_id": args.owner_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
