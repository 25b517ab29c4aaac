"""`make bench` (outcomes): one batch of candles evaluated against 100 000 approved signals over 20 symbols.

The scenario is what one ``POST /api/v1/trade-signals/market/candles`` sets off: a request carries at most
``CANDLES_PER_REQUEST`` (1 000) one-minute candles of ONE symbol, its ``market.candles_received`` event names
that symbol and its first and last minute, and the consumer runs ``candles_evaluate`` once for it. So the batch
here is 1 000 consecutive minutes (about 16.7 hours) of one symbol, and the candidates are the live signals of
that symbol (100 000 / 20 = 5 000, every one ``waiting_entry`` and approved before the first candle).

Starts its own embedded MongoDB-compatible server (or uses MONGODB_URI's server, in a database of its own) and
runs the evaluation in this process with production settings and ``EVENT_BUS=redis`` (the consumer's
configuration in a split deployment: a decided outcome's event is written to the outbox in its transaction and
sent to a Redis stream after the commit; no other consumer runs here, so the figure is the evaluation's own).
The signals are bulk-inserted as ``TradeSignal(...).to_mongo()`` documents (validated by the real Document),
with a realistic spread: 20 symbols at their own price, entries spread around it (σ 2.5 %), risks of 0.3–3 %,
targets of 1–4 R, both directions, every timeframe, approvals spread over the 12 hours before the candles. The
candles are a seeded random walk around the symbol's price (σ 0.05 % per minute, about 1.6 % over the batch),
so some signals enter, some win or lose, the short-timeframe ones that waited too long expire, and the rest
(about half) no candle can change.

Per run: a *baseline* in the same run — a plain ``find()`` of the candidates with the evaluation's projection
plus a plain read of the batch's candles, no rules, no writes — then the evaluation of the batch from the
seeded state (restored between runs), then a replay of the same batch (idempotent: nothing may change). Reports
candidates, changed, recorded, time per batch (median of ``--runs``), signals evaluated per second, the ratio
to the baseline and the CPU of this process and of the database per batch. Results go to
bench/results/outcomes-<timestamp>.json with machine facts.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    CLK_TCK,
    RESULTS,
    cpu_seconds,
    drop_database,
    free_port,
    load_average,
    with_database,
)

BIN = Path(sys.executable).parent
DB_NAME = "tradesignals_bench_outcomes"
RNG_SEED = 22

# 20 symbols at a plausible price each: crypto, equities, FX and metals (ticks follow the price: 6 digits).
SYMBOLS = {
    "BTC/USDT": 64000, "ETH/USDT": 3400, "SOL/USDT": 145, "BNB/USDT": 580, "XRP/USDT": 0.52, "ADA/USDT": 0.45,
    "DOGE/USDT": 0.12, "AVAX/USDT": 28, "AAPL": 190, "MSFT": 420, "NVDA": 120, "TSLA": 175, "AMZN": 180,
    "GOOGL": 165, "EUR/USD": 1.085, "GBP/USD": 1.27, "USD/JPY": 155, "XAU/USD": 2330, "XAG/USD": 29, "SPX": 5300,
}
# Timeframes as traders use them (the short ones are rarer; their expiry window is 100 candles of the timeframe).
TIMEFRAME_WEIGHTS = {"1m": 5, "5m": 10, "15m": 15, "30m": 10, "1h": 25, "4h": 20, "1d": 10, "1w": 5}
OWNERS = 500
VOLATILITY = 0.0005  # per-minute standard deviation of the walk (about 1.6 % over the batch's 16.7 hours)
CANDIDATE_FIELDS = ("owner_id", "owner_active", "status", "symbol", "direction", "entry_price", "stop_loss",
                    "take_profit", "timeframe", "version", "outcome")  # what the evaluation reads of a candidate


def tick_of(price: float) -> Decimal:
    """Six significant digits for the price's magnitude (BTC in cents, EUR/USD in 0.00001)."""
    exponent = len(str(int(price))) - 6 if price >= 1 else -5 - len(str(int(1 / price)))
    return Decimal(1).scaleb(max(exponent, -8))


def start_mongo(workdir: Path) -> tuple[subprocess.Popen | None, str]:
    base = os.environ.get("MONGODB_URI")
    if base:
        return None, base
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "secantusd-py"), "--host", "127.0.0.1", "--port", str(port),
         "--storage-path", str(workdir / "mongo"), "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"mongodb://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the embedded MongoDB-compatible server did not start within 30 s")


def configure(uri: str) -> None:
    """Production settings for this process (as bench/run.py gives gunicorn), then Django."""
    os.environ.update({
        "MONGODB_URI": uri,
        "MONGODB_TIMEOUT_MS": "10000",
        "DJANGO_SETTINGS_MODULE": "settings.prod",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "REDIS_ENABLED": "true",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
        "EVENT_BUS": "redis",
        "EVENT_STREAM_PREFIX": "ts:bench-outcomes:",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1",
    })
    import django

    django.setup()


# --- seeding ---------------------------------------------------------------------------------------------

def build_signals(rng: random.Random, count: int, first_candle: datetime) -> list[dict]:
    from apps.signals.models import Outcome, Review, TradeSignal, Transition

    symbols = list(SYMBOLS)
    timeframes, weights = list(TIMEFRAME_WEIGHTS), list(TIMEFRAME_WEIGHTS.values())
    docs = []
    for i in range(count):
        symbol = symbols[i % len(symbols)]
        price = SYMBOLS[symbol]
        tick = tick_of(price)
        long = rng.random() < 0.5
        entry = Decimal(price * (1 + rng.gauss(0, 0.025))).quantize(tick)
        risk = max(Decimal(price * rng.uniform(0.003, 0.03)).quantize(tick), tick)
        reward = max((risk * Decimal(rng.uniform(1, 4))).quantize(tick), tick)
        stop, take = (entry - risk, entry + reward) if long else (entry + risk, entry - reward)
        approved_at = first_candle - timedelta(seconds=rng.randint(60, 12 * 3600))
        created_at = approved_at - timedelta(seconds=rng.randint(60, 3600))
        owner = f"{i % OWNERS:024x}"
        doc = TradeSignal(
            owner_id=owner, owner_name=f"trader {i % OWNERS}", owner_active=True, symbol=symbol,
            direction="long" if long else "short", entry_price=entry, stop_loss=stop, take_profit=take,
            timeframe=rng.choices(timeframes, weights)[0], rationale=f"Seeded signal {i}",
            status="approved", review=Review(by="bench-admin", at=approved_at),
            history=[Transition(from_status="pending", to_status="approved", by="bench-admin", at=approved_at)],
            version=2, outcome=Outcome(state="waiting_entry", starts_at=approved_at),
            created_at=created_at, updated_at=approved_at,
        )
        doc.validate()
        docs.append(doc.to_mongo().to_dict())
    return docs


def build_candles(rng: random.Random, symbol: str, first: datetime, count: int) -> list[dict]:
    from apps.signals.models import Candle

    price, tick = float(SYMBOLS[symbol]), tick_of(SYMBOLS[symbol])
    docs, received = [], first + timedelta(minutes=count)
    for minute in range(count):
        opened = price
        price = opened * (1 + rng.gauss(0, VOLATILITY))
        high = max(opened, price) * (1 + abs(rng.gauss(0, VOLATILITY / 2)))
        low = min(opened, price) * (1 - abs(rng.gauss(0, VOLATILITY / 2)))
        o, h, l, c = (Decimal(v).quantize(tick) for v in (opened, high, low, price))  # noqa: E741
        doc = Candle(symbol=symbol, t=first + timedelta(minutes=minute), o=o, h=max(h, o, c), l=min(l, o, c), c=c,
                     received_at=received)
        doc.validate()
        docs.append(doc.to_mongo().to_dict())
    return docs


def insert(collection, docs: list[dict], batch: int = 1000) -> None:
    for start in range(0, len(docs), batch):
        collection.insert_many(docs[start:start + batch], ordered=False)


# --- measuring -------------------------------------------------------------------------------------------

def timed(fn, db_pid: int | None) -> tuple[float, float, float | None, object]:
    """``(wall s, this process's CPU s, database CPU s, result)`` of one call."""
    db = [db_pid] if db_pid else []
    db_before, cpu_before, wall = cpu_seconds(db), time.process_time(), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu_before
    return wall, cpu, (cpu_seconds(db) - db_before) if db_pid else None, result


def median_row(name: str, samples: list[tuple], candidates: int, changed, recorded) -> dict:
    wall = statistics.median(s[0] for s in samples)
    cpu = statistics.median(s[1] for s in samples)
    db = None if samples[0][2] is None else statistics.median(s[2] for s in samples)
    return {"scenario": name, "runs": len(samples), "candidates": candidates, "changed": changed,
            "recorded": recorded, "wall_ms": round(wall * 1000, 1), "wall_ms_all": [round(s[0] * 1000, 1)
                                                                                    for s in samples],
            "cpu_ms": round(cpu * 1000, 1), "db_cpu_ms": None if db is None else round(db * 1000, 1),
            "signals_per_s": round(candidates / wall) if wall else None}


def machine_facts() -> dict:
    from importlib.metadata import version

    import django

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "django": django.get_version(), "secantusdb": version("secantusdb"), "pymongo": version("pymongo"),
            "platform": platform.platform(), "clock_ticks": CLK_TCK}


def report(rows: list[dict], args, symbol: str) -> list[str]:
    baseline = rows[0]["wall_ms"] or 0.001
    for row in rows:
        row["ratio_to_baseline"] = round(row["wall_ms"] / baseline, 2)
    header = (f"{'scenario':44} {'cands':>6} {'changed':>7} {'recorded':>8} {'ms/batch':>9} {'signals/s':>10} "
              f"{'cpu ms':>7} {'db ms':>7} {'ratio':>6}")
    lines = [f"{args.signals} approved signals over {len(SYMBOLS)} symbols; a batch of {args.candles} one-minute "
             f"candles of {symbol} (one request's worth); median of {args.runs} runs", header, "-" * len(header)]
    for row in rows:
        def cell(value, width):
            return f"{'-' if value is None else value:>{width}}"
        lines.append(f"{row['scenario']:44} {row['candidates']:6d} {cell(row['changed'], 7)} "
                     f"{cell(row['recorded'], 8)} {row['wall_ms']:9.1f} {cell(row['signals_per_s'], 10)} "
                     f"{row['cpu_ms']:7.1f} {cell(row['db_cpu_ms'], 7)} {row['ratio_to_baseline']:6.2f}")
    evaluated, replay = rows[1], rows[2]
    if evaluated["changed"]:
        per_change = (evaluated["wall_ms"] - replay["wall_ms"]) / evaluated["changed"]
        evaluated["ms_per_changed_signal"] = round(per_change, 2)
        lines.append(f"writes: ≈ {per_change:.1f} ms per changed signal ((evaluation − replay) / changed; a decided "
                     f"one is a transaction with its outbox event, sent to the stream after the commit)")
    lines.append("(ms/batch = wall time of one call; signals/s = candidates / ms/batch; cpu ms = this process "
                 "(the evaluation's Python); db ms = the database server's CPU; ratio = ms/batch over the "
                 "baseline's)")
    return lines


def drop_streams() -> None:
    """The event streams the decided outcomes were sent to (this run's prefix only)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.EVENT_REDIS_URL)
    keys = client.keys(settings.EVENT_STREAM_PREFIX + "*")
    if keys:
        client.delete(*keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=int(os.environ.get("BENCH_OUTCOME_SIGNALS", "100000")))
    parser.add_argument("--candles", type=int, default=1000, help="one-minute candles in the batch (≤ 1 000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--symbol", default="BTC/USDT", choices=sorted(SYMBOLS))
    args = parser.parse_args()
    if not 1 <= args.candles <= 1000:
        parser.error("--candles: a batch is at most 1 000 candles (one request)")

    workdir = Path(tempfile.mkdtemp(prefix="ts-bench-outcomes-"))
    mongo, base = start_mongo(workdir)
    started, load_before = time.monotonic(), load_average()
    uri = with_database(base, DB_NAME)
    try:
        drop_database(uri)
        configure(uri)
        rows, seeded = run(args, mongo.pid if mongo else None)
        drop_streams()
    finally:
        try:
            drop_database(uri)
        finally:
            if mongo is not None:
                mongo.send_signal(signal.SIGTERM)
                try:
                    mongo.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    mongo.kill()
            shutil.rmtree(workdir, ignore_errors=True)

    lines = report(rows, args, args.symbol)
    lines.append(f"load average (1, 5, 15 min) before {load_before}, after {load_average()}; "
                 f"{os.cpu_count()} cores")
    print("\n" + "\n".join(lines))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"outcomes-{stamp}.json"
    out.write_text(json.dumps({
        "date": stamp, "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "machine": machine_facts(),
        "load_average_before": load_before, "load_average_after": load_average(),
        "wall_seconds": round(time.monotonic() - started), "signals": args.signals, "symbols": len(SYMBOLS),
        "candles": args.candles, "symbol": args.symbol, "runs": args.runs, "seeding": seeded, "scenarios": rows,
        "report": lines}, indent=2))
    print(f"results: {out.relative_to(ROOT)}")
    return 0


def run(args, db_pid: int | None) -> tuple[list[dict], dict]:
    from apps.signals import enums
    from apps.signals.evaluation import candles_evaluate
    from apps.signals.models import Candle, TradeSignal
    from tradesignals.kernel.clock import utcnow

    rng = random.Random(RNG_SEED)  # noqa: S311 - reproducible market data, not a secret
    signals, candles = TradeSignal._get_collection(), Candle._get_collection()
    TradeSignal.ensure_indexes()
    Candle.ensure_indexes()
    first = (utcnow() - timedelta(days=2)).replace(second=0, microsecond=0)
    last = first + timedelta(minutes=args.candles - 1)

    clock = time.monotonic()
    docs = build_signals(rng, args.signals, first)
    insert(signals, docs)
    candle_docs = build_candles(rng, args.symbol, first, args.candles)
    insert(candles, candle_docs)
    seeded = {"seconds": round(time.monotonic() - clock, 1), "signals": signals.count_documents({}),
              "candles": candles.count_documents({"symbol": args.symbol})}
    print(f"seeded {seeded['signals']} signals and {seeded['candles']} candles in {seeded['seconds']} s", flush=True)
    originals = [doc for doc in docs if doc["symbol"] == args.symbol]
    del docs

    query = {"outcome.state": {"$in": list(enums.OUTCOME_LIVE)}, "symbol": args.symbol,
             "outcome.starts_at": {"$lte": last}}
    projection = dict.fromkeys(CANDIDATE_FIELDS, 1)

    def baseline():
        found = list(signals.find(query, projection, hint="outcome_live"))
        stored = list(candles.find({"symbol": args.symbol, "t": {"$gte": first}},
                                   {"t": 1, "o": 1, "h": 1, "l": 1, "c": 1}, sort=[("t", 1)], hint="symbol_minute"))
        return len(found), len(stored)

    def restore():
        """The seeded state of the symbol's signals again (a run decides outcomes; the next starts over)."""
        signals.delete_many({"symbol": args.symbol})
        insert(signals, originals)

    def evaluate():
        return candles_evaluate(symbol=args.symbol, first=first, last=last)

    baseline()  # warm: connections, the server's caches of the index and the documents
    base_samples, first_samples, replay_samples = [], [], []
    for attempt in range(args.runs):
        if attempt:
            restore()
        base_samples.append(timed(baseline, db_pid))  # on the very state the evaluation then reads
        first_samples.append(timed(evaluate, db_pid))
        replay_samples.append(timed(evaluate, db_pid))
        done, again = first_samples[-1][3], replay_samples[-1][3]
        print(f"  run {attempt + 1}: baseline {base_samples[-1][0] * 1000:.0f} ms; {done.candidates} candidates, "
              f"{done.changed} changed, {done.recorded} recorded in {first_samples[-1][0] * 1000:.0f} ms; replay "
              f"{again.changed} changed in {replay_samples[-1][0] * 1000:.0f} ms", flush=True)
        if again.changed or again.recorded:
            raise SystemExit(f"the replay of the same batch changed {again.changed} signals: not idempotent")
    candidates = base_samples[0][3][0]
    done = first_samples[0][3]
    if any((s[3].candidates, s[3].changed, s[3].recorded) != (done.candidates, done.changed, done.recorded)
           for s in first_samples):
        raise SystemExit("the runs from the same seeded state disagree: " + ", ".join(
            f"{s[3]}" for s in first_samples))
    states = {row["_id"]: row["n"] for row in signals.aggregate([
        {"$match": {"symbol": args.symbol}}, {"$group": {"_id": "$outcome.state", "n": {"$sum": 1}}}])}
    seeded["states_after"] = states
    print(f"  states of {args.symbol} after the batch: {states}", flush=True)
    rows = [
        median_row("baseline: find() candidates + candles", base_samples, candidates, None, None),
        median_row("candles_evaluate (from the seeded state)", first_samples, done.candidates, done.changed,
                   done.recorded),
        median_row("candles_evaluate (replay of the same batch)", replay_samples, replay_samples[0][3].candidates,
                   0, 0),
    ]
    return rows, seeded


if __name__ == "__main__":
    sys.exit(main())
