"""``manage.py load_candles FILE.csv``: candles in bulk through the API's own service — stored, idempotent,
a progress bar on stderr, and a bad row stopping the load with its line number before anything is stored."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.support.signals import BASE
from tradesignals.kernel import events

CANDLES = f"{BASE}/market/candles"
T0 = datetime(2026, 2, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def minute(n: int) -> str:
    return (T0 + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def row(symbol: str, n: int, close: str = "100.5") -> str:
    return f"{symbol},{minute(n)},100,101.5,99.25,{close}"


def write(tmp_path, lines: list[str], header: str = "symbol,t,o,h,l,c") -> Path:
    path = tmp_path / "candles.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def load(path: Path, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("load_candles", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def read_all(caller, symbol: str) -> list[dict]:
    rows, path, params = [], CANDLES, {"symbol": symbol}
    while path:
        page = caller.client.get(path, params)
        assert page.status_code == 200, page.content
        rows += page.json()["results"]
        path, params = page.json()["next"], None
    return rows


@pytest.fixture
def received():
    seen = []
    events.subscribe("market.candles_received", seen.append, app="tests")
    yield seen
    subscribers = events._subscribers["market.candles_received"]
    subscribers[:] = [s for s in subscribers if s[0] != "tests"]


def test_a_file_of_two_symbols_is_loaded_in_batches_with_a_progress_bar(tmp_path, anonymous, received):
    lines = [row("btc/usdt", n) for n in range(2500)] + [row("ETH", n) for n in range(3)]
    out, err = load(write(tmp_path, lines))
    assert "Loaded 2503 candles: 2503 stored, 0 changed, 0 unchanged." in out
    bars = [line for line in err.splitlines() if line.startswith("[")]
    assert bars[0].startswith("[....") and "0/2503" in bars[0]
    assert "1000/2503" in bars[1] and bars[-1].startswith("[" + "#" * 30 + "]") and "2503/2503" in bars[-1]
    # One event per stored batch: 1000, 1000, 500 of BTC/USDT, then 3 of ETH.
    assert [(e.data["symbol"], e.data["count"]) for e in received] == [
        ("BTC/USDT", 1000), ("BTC/USDT", 1000), ("BTC/USDT", 500), ("ETH", 3)]
    btc = read_all(anonymous, "BTC/USDT")
    assert len(btc) == 2500 and btc[0] == {"t": minute(0), "o": "100", "h": "101.5", "l": "99.25", "c": "100.5"}
    assert [r["t"] for r in read_all(anonymous, "ETH")] == [minute(n) for n in range(3)]


def test_loading_again_stores_nothing_and_a_changed_row_replaces(tmp_path, anonymous, received):
    path = write(tmp_path, [row("BTC", n) for n in range(5)])
    load(path)
    received.clear()
    out, _err = load(path)
    assert "Loaded 5 candles: 0 stored, 0 changed, 5 unchanged." in out
    assert received == []
    # A minute given twice in one file: the later row wins, as a later post would.
    out, _err = load(write(tmp_path, [row("BTC", 2, close="100.75"), row("BTC", 3), row("BTC", 2, close="101")]))
    assert "Loaded 3 candles: 0 stored, 2 changed, 1 unchanged." in out
    assert [r["c"] for r in read_all(anonymous, "BTC")] == ["100.5", "100.5", "101", "100.5", "100.5"]


@pytest.mark.parametrize(("lines", "line", "words"), [
    ([row("BTC", 0), row("BTC", 1).replace("101.5", "99"), row("BTC", 2)], 3, "h: The high"),
    ([row("BTC", 0), "BTC,2026-02-01T00:01:30Z,1,2,1,1"], 3, "t: Must be the start of a minute"),
    ([row("BTC", 0), row("BTC", 1), "BTC-USD," + row("X", 2).split(",", 1)[1]], 4, "symbol:"),
    ([row("BTC", 0), "BTC,2026-02-01T00:01:00Z,1,2,1"], 3, "expected 6 columns"),
    ([row("BTC", 0), row("BTC", 1).replace("100.5", "NaN")], 3, "c: Must be a finite number"),
    ([row("BTC", 0), row("BTC", 1).replace("100.5", "١٢")], 3, "c: Must be a decimal number"),
    ([row("BTC", 0), "BTC,2099-01-01T00:00:00Z,1,2,1,1"], 3, "t: Must not be in the future"),
])
def test_a_bad_row_stops_the_load_with_its_line_and_stores_nothing(tmp_path, anonymous, lines, line, words):
    with pytest.raises(CommandError) as raised:
        load(write(tmp_path, lines))
    message = str(raised.value)
    assert f"line {line}:" in message and words in message, message
    assert read_all(anonymous, "BTC") == []


def test_a_bad_header_or_file(tmp_path):
    with pytest.raises(CommandError, match="line 1: the header must be symbol,t,o,h,l,c"):
        load(write(tmp_path, [row("BTC", 0)], header="symbol,time,o,h,l,c"))
    with pytest.raises(CommandError, match="no such file"):
        load(tmp_path / "missing.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"symbol,t,o,h,l,c\n\xff\xfe\x00junk\n")
    with pytest.raises(CommandError, match="not a readable CSV"):
        load(binary)


def test_the_command_exits_nonzero_on_a_bad_row(tmp_path, mongo_uri, redis_server_url):
    """As an operator runs it: exit status 1 and the line on stderr, nothing on stdout."""
    path = write(tmp_path, [row("BTC", 0), row("BTC", 1).replace("99.25", "-1")])
    env = {**os.environ, "MONGODB_URI": mongo_uri, "REDIS_URL": redis_server_url}
    done = subprocess.run([sys.executable, "manage.py", "load_candles", str(path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "line 3: l: Must be greater than zero." in done.stderr
    assert "Loaded" not in done.stdout
