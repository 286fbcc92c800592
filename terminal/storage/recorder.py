"""Recording live ticks and the 1-minute bars built from them into the market store.

The event thread only appends each tick to a queue. A writer thread, every half second,
builds bars from what arrived and commits ticks and finished bars to a small SQLite journal
(WAL): a hard kill loses at most the last half second. Every few minutes, at start-up (after
a crash) and at a clean stop, the journal is settled into the Parquet store as appended parts
and emptied. Settling is idempotent (the store keeps one row per timestamp), so a crash between
writing Parquet and emptying the journal only repeats the work.

Simulated and replayed quotes are not recorded unless asked for: they are not market data.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from vnpy.trader.constant import Exchange
from vnpy.trader.object import BarData, TickData

from terminal.core.aside import set_aside
from terminal.storage.market_store import (BAR_FIELDS, CHINA_TZ, TICK_FIELDS, TICK_INTERVAL,
                                           MarketStore, to_ns)

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
SETTLE_SECONDS = 300.0
CLOSE_GRACE = timedelta(seconds=2)   # wait this long after a minute ends for its last ticks
BAR_INTERVAL = "1m"


class BarBuilder(Protocol):
    """What the recorder needs of `terminal.market.bars.MinuteBarBuilder` (given by the
    composition root, since storage does not import market code)."""

    def update(self, tick: TickData) -> BarData | None: ...
    def close_ended(self, now: datetime) -> list[BarData]: ...
    def open_bars(self) -> list[BarData]: ...


class RecordingJournal:
    """Rows not yet in Parquet, committed in one transaction per flush. A damaged journal is
    moved aside (its name says when) and recording starts a new one."""

    def __init__(self, path: Path) -> None:
        try:
            self._open(path)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            aside = set_aside(path, ("-wal", "-shm"))
            log.error("recording journal %s is damaged (%s); moved to %s", path, exc, aside)
            self._open(path)

    def _open(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")   # WAL + NORMAL survives a process kill
        tick_columns = ", ".join(f"{name} REAL" for name in TICK_FIELDS)
        bar_columns = ", ".join(f"{name} REAL" for name in BAR_FIELDS)
        self.db.execute(f"CREATE TABLE IF NOT EXISTS ticks (symbol TEXT, exchange TEXT, "
                        f"datetime INTEGER, {tick_columns})")
        self.db.execute(f"CREATE TABLE IF NOT EXISTS bars (symbol TEXT, exchange TEXT, "
                        f"datetime INTEGER, {bar_columns})")
        self._insert_tick = (f"INSERT INTO ticks VALUES (?, ?, ?, "
                             f"{', '.join('?' * len(TICK_FIELDS))})")
        self._insert_bar = f"INSERT INTO bars VALUES (?, ?, ?, {', '.join('?' * len(BAR_FIELDS))})"

    def append(self, ticks: list[TickData], bars: list[BarData]) -> None:
        if not ticks and not bars:
            return
        tick_rows = [(t.symbol, t.exchange.value, to_ns(t.datetime),
                      *(getattr(t, name) for name in TICK_FIELDS)) for t in ticks]
        bar_rows = [(b.symbol, b.exchange.value, to_ns(b.datetime),
                     *(getattr(b, name) for name in BAR_FIELDS)) for b in bars]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(self._insert_tick, tick_rows)
            self.db.executemany(self._insert_bar, bar_rows)

    def settle(self, store: MarketStore) -> int:
        """Move every journalled row into the store; returns how many rows moved."""
        moved = 0
        for table, fields, interval in (("ticks", TICK_FIELDS, TICK_INTERVAL),
                                        ("bars", BAR_FIELDS, BAR_INTERVAL)):
            (top,) = self.db.execute(f"SELECT max(rowid) FROM {table}").fetchone()
            if top is None:
                continue
            series = self.db.execute(f"SELECT DISTINCT symbol, exchange FROM {table} "
                                     "WHERE rowid <= ?", (top,)).fetchall()
            for symbol, exchange in series:
                rows = self.db.execute(
                    f"SELECT datetime, {', '.join(fields)} FROM {table} WHERE rowid <= ? "
                    "AND symbol = ? AND exchange = ? ORDER BY datetime, rowid",
                    (top, symbol, exchange)).fetchall()
                columns = list(zip(*rows, strict=True))
                store.save_columns(symbol, Exchange(exchange), interval, {
                    "datetime": list(columns[0]),
                    **{name: list(columns[i + 1]) for i, name in enumerate(fields)}})
                moved += len(rows)
            with self.db:
                self.db.execute("BEGIN")
                self.db.execute(f"DELETE FROM {table} WHERE rowid <= ?", (top,))
        return moved

    def pending(self) -> int:
        return sum(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                   for table in ("ticks", "bars"))

    def close(self) -> None:
        self.db.close()


class Recorder:
    def __init__(self, store: MarketStore, journal_path: Path, skip_gateways: set[str],
                 bar_builder: Callable[[], BarBuilder], flush_seconds: float = FLUSH_SECONDS,
                 settle_seconds: float = SETTLE_SECONDS) -> None:
        self.store = store
        self.journal = RecordingJournal(journal_path)
        self.skip_gateways = skip_gateways
        self.flush_seconds = flush_seconds
        self.settle_seconds = settle_seconds
        self._new_builder = bar_builder
        self.bars = bar_builder()
        self.recorded_ticks = 0
        self.recorded_bars = 0
        self._queue: deque[TickData] = deque()
        self._skew = timedelta(0)         # exchange clock minus ours, from the latest tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()     # one flush or settle at a time

    def on_tick(self, tick: TickData) -> None:
        """Called on the event thread: only queue it."""
        if tick.gateway_name in self.skip_gateways or (tick.extra and "replay" in tick.extra):
            return
        self._queue.append(tick)

    @property
    def queue_depth(self) -> int:
        """Ticks queued for the writer thread's next flush."""
        return len(self._queue)

    def start(self) -> None:
        self._settle()                    # whatever a crash left in the journal
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write everything, including the bars still open, and settle the journal."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush(close_all=True)
        self._settle()
        self.journal.close()

    def _run(self) -> None:
        last_settle = time.monotonic()
        while not self._stop.wait(self.flush_seconds):
            try:
                self.flush()
                if time.monotonic() - last_settle >= self.settle_seconds:
                    self._settle()
                    last_settle = time.monotonic()
            except Exception:  # recording must not die on one bad batch
                log.exception("recording failed; retrying at the next flush")

    def flush(self, close_all: bool = False) -> None:
        with self._lock:
            ticks = []
            while self._queue:
                ticks.append(self._queue.popleft())
            finished = [bar for bar in map(self.bars.update, ticks) if bar is not None]
            if ticks:
                self._skew = ticks[-1].datetime - datetime.now(CHINA_TZ)
            if close_all:
                finished += self.bars.open_bars()
                self.bars = self._new_builder()
            else:
                finished += self.bars.close_ended(datetime.now(CHINA_TZ) + self._skew
                                                  - CLOSE_GRACE)
            self.journal.append(ticks, finished)
            self.recorded_ticks += len(ticks)
            self.recorded_bars += len(finished)

    def _settle(self) -> None:
        with self._lock:
            moved = self.journal.settle(self.store)
        if moved:
            log.info("recording: %d rows settled into the market store", moved)
