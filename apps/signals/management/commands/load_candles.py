"""``manage.py load_candles FILE.csv``: store one-minute candles in bulk, through the API's own service.

The file is CSV with the header ``symbol,t,o,h,l,c`` (``t`` an RFC 3339 UTC minute, prices decimal text) and any
number of symbols. It is read twice: first every row is checked, so a bad row stops the load before anything is
stored, with its line number (exit status 1); then the rows go to ``market.candles_ingest`` in batches of
``CANDLES_PER_REQUEST`` (a new batch at each change of symbol and at a minute the batch already holds, so the
later row of a minute given twice wins, as a later post would). A progress bar goes to stderr, the totals to
stdout. Loading the same file again stores nothing new: the service is idempotent on (symbol, minute).
"""
from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.signals import enums, market
from apps.signals.models import normalize_symbol
from tradesignals.kernel.clock import utcnow
from tradesignals.kernel.errors import ApplicationError

HEADER = ["symbol", *market.CANDLE_FIELDS]
BAR_WIDTH = 30
MAX_FIELD = 256  # characters of one CSV field: far beyond any symbol, minute or price


class Command(BaseCommand):
    help = "Load one-minute candles from a CSV file (header symbol,t,o,h,l,c), idempotently."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file with the header symbol,t,o,h,l,c")
        parser.add_argument("--batch-size", type=int, default=enums.CANDLES_PER_REQUEST,
                            help=f"candles per stored batch (1–{enums.CANDLES_PER_REQUEST})")

    def handle(self, *args, file: str, batch_size: int, **options):
        if not 1 <= batch_size <= enums.CANDLES_PER_REQUEST:
            raise CommandError(f"--batch-size must be 1 to {enums.CANDLES_PER_REQUEST}.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        total = sum(1 for _ in self._rows(path))  # the first pass checks every row
        totals = {"received": 0, "stored": 0, "changed": 0, "unchanged": 0}
        done = 0
        self._progress(done, total)
        for symbol, batch in self._batches(path, batch_size):
            try:
                result = market.candles_ingest(symbol=symbol, candles=batch)
            except ApplicationError as error:
                raise CommandError(f"{error.message} {error.details or ''}".strip()) from None
            for name in totals:
                totals[name] += getattr(result, name)
            done += len(batch)
            self._progress(done, total)
        if self._tty():
            self.stderr.write("")
        self.stdout.write(f"Loaded {totals['received']} candles: {totals['stored']} stored, "
                          f"{totals['changed']} changed, {totals['unchanged']} unchanged.")

    # -- reading --------------------------------------------------------------------------------------------
    def _rows(self, path: Path):
        """``(line, symbol, candle)`` of each data row, checked; ``CommandError`` naming the line of a bad one."""
        now = utcnow()
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle, strict=True)
                header = next(reader, None)
                if header is None or [name.strip() for name in header] != HEADER:
                    raise CommandError(f"{path}, line 1: the header must be {','.join(HEADER)}.")
                for row in reader:
                    line = reader.line_num
                    if not row:
                        continue  # a blank line
                    if len(row) != len(HEADER):
                        raise CommandError(f"{path}, line {line}: expected {len(HEADER)} columns, got {len(row)}.")
                    if any(len(value) > MAX_FIELD for value in row):
                        raise CommandError(f"{path}, line {line}: a field is longer than {MAX_FIELD} characters.")
                    try:
                        symbol = normalize_symbol(row[0])
                    except ValueError as exc:
                        raise CommandError(f"{path}, line {line}: symbol: {exc}") from None
                    raw = dict(zip(market.CANDLE_FIELDS, (value.strip() for value in row[1:]), strict=True))
                    _values, errors = market.clean_candle(raw, now=now)
                    if errors:
                        problems = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
                        raise CommandError(f"{path}, line {line}: {problems}")
                    yield line, symbol, raw
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: not a readable CSV file ({str(exc)[:200]}).") from None

    def _batches(self, path: Path, size: int):
        symbol, batch, minutes = None, [], set()
        for _line, row_symbol, raw in self._rows(path):
            if batch and (row_symbol != symbol or len(batch) >= size or raw["t"] in minutes):
                yield symbol, batch
                batch, minutes = [], set()
            symbol = row_symbol
            batch.append(raw)
            minutes.add(raw["t"])
        if batch:
            yield symbol, batch

    # -- the bar --------------------------------------------------------------------------------------------
    def _tty(self) -> bool:
        return bool(getattr(self.stderr._out, "isatty", lambda: False)())

    def _progress(self, done: int, total: int) -> None:
        """``[#####.....]  500/1000 candles  50%`` on stderr: redrawn in place on a terminal, one line per batch
        otherwise (a log keeps every step)."""
        share = done / total if total else 1.0
        filled = int(BAR_WIDTH * share)
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} candles {int(share * 100):3d}%"
        if self._tty():
            self.stderr.write(f"\r{bar}", ending="")
            self.stderr.flush()
        else:
            self.stderr.write(bar)


__all__ = ["Command"]
