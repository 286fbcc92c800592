"""The trading journal: every order state, trade, position and account snapshot and alert,
committed to SQLite (WAL) before the GUI shows it.

- Recording (on the event thread, ahead of the bridge) only queues the row; rows are
  committed in one transaction by `flush`, which the bridge calls after taking a batch and
  before handing it to the GUI, and a flusher thread calls every 50 ms (so a terminal with
  no window commits too). At 500 orders a second one commit per event took most of the
  event thread; one per frame takes a millisecond.

- Orders, positions and accounts keep their latest state (one row each, updated in place);
  trades and alerts are kept one row each, never dropped.
- Each row holds the record as JSON (enums by name, times in ISO form), so a restart rebuilds
  the same vn.py objects the terminal showed before a crash.
- WAL with synchronous=NORMAL: a committed row survives the process being killed at any
  moment (what the kill test checks); only a power cut may lose the last commits.
- A journal that cannot be used never stops the terminal from starting: `open_journal`
  checks it with SQLite's own `PRAGMA integrity_check`, and when it is not a database, is
  damaged or truncated, or is a directory, keeps it aside (`journal.db.broken-<time>`, with its
  WAL) and starts a new one, saying where the old one is.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path

from vnpy.event import Event
from vnpy.trader import constant
from vnpy.trader.event import EVENT_ACCOUNT, EVENT_ORDER, EVENT_POSITION, EVENT_TRADE
from vnpy.trader.object import AccountData, OrderData, PositionData, TradeData

from terminal.core.alerts import EVENT_ALERT, Alert
from terminal.core.aside import set_aside

log = logging.getLogger(__name__)

KINDS: dict[str, tuple[type, str]] = {       # table -> (record class, key attribute)
    "orders": (OrderData, "vt_orderid"),
    "trades": (TradeData, "vt_tradeid"),
    "positions": (PositionData, "vt_positionid"),
    "accounts": (AccountData, "vt_accountid"),
    "alerts": (Alert, "id"),
}
EVENTS = {EVENT_ORDER: "orders", EVENT_TRADE: "trades", EVENT_POSITION: "positions",
          EVENT_ACCOUNT: "accounts", EVENT_ALERT: "alerts"}
ENUMS = {cls.__name__: cls for cls in vars(constant).values()
         if isinstance(cls, type) and issubclass(cls, Enum)}


class JournalError(RuntimeError):
    """The journal at `path` cannot be used; `why` says what is wrong with it. `damaged`: the
    file itself is (not a database, corrupt, a directory); otherwise it may be sound and only
    out of reach (locked by another process, no permission, a full or failing disk)."""

    def __init__(self, path: Path, why: str, damaged: bool = True) -> None:
        super().__init__(f"trading journal {path}: {why}")
        self.path = path
        self.why = why
        self.damaged = damaged


@dataclass(frozen=True)
class SetAside:
    """The journal found at start could not be used: why, and where it is kept now."""

    reason: str
    kept: Path


@dataclass
class JournalState:
    orders: list[OrderData] = field(default_factory=list)
    trades: list[TradeData] = field(default_factory=list)
    positions: list[PositionData] = field(default_factory=list)
    accounts: list[AccountData] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    unreadable: int = 0             # rows that could not be read (left in the file)


_FIELDS: dict[type, tuple[str, ...]] = {}
_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _field_names(cls: type) -> tuple[str, ...]:
    """The fields a record is rebuilt from, plus `extra` (the reason...); looked up once per
    class (`dataclasses.fields` per record was a tenth of the event thread at speed)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls)
                                     if f.init or f.name == "extra")
    return names


def to_json(record) -> str:
    values = {}
    for name in _field_names(type(record)):
        value = getattr(record, name)
        if isinstance(value, Enum):
            value = {"enum": type(value).__name__, "name": value.name}
        elif isinstance(value, datetime):
            value = {"time": value.isoformat()}
        values[name] = value
    return _encode(values)


def from_json(cls: type, text: str):
    values = json.loads(text)
    for name, value in values.items():
        if isinstance(value, dict) and "enum" in value:
            values[name] = ENUMS[value["enum"]][value["name"]]
        elif isinstance(value, dict) and "time" in value:
            values[name] = datetime.fromisoformat(value["time"])
    extra = values.pop("extra", None)
    record = cls(**values)
    if extra is not None:
        record.extra = extra
    return record


class Journal:
    def __init__(self, path: Path, trading_day: Callable[[datetime], date],
                 check: bool = False) -> None:
        """Open (or create) the journal at `path`; with `check`, SQLite's integrity check
        runs first. `JournalError` when it cannot be used."""
        self.path = path
        self.trading_day = trading_day
        self._lock = threading.Lock()
        self.db = None
        try:
            if Path(path).is_dir():
                raise JournalError(path, "it is a directory, not a file")
            self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            if check:
                self._check()
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            for table in KINDS:
                self.db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, "
                                "trading_day TEXT, written REAL, data TEXT)")
                columns = [row[1] for row in self.db.execute(f"PRAGMA table_info({table})")]
                if columns[:4] != ["key", "trading_day", "written", "data"]:
                    raise JournalError(path, f"its table {table} has the columns "
                                       f"{columns}, not key, trading_day, written, data")
        except (sqlite3.Error, JournalError) as exc:
            if self.db is not None:
                self.db.close()
            if isinstance(exc, JournalError):
                raise
            # SQLite says a file is not a database or is malformed with a plain DatabaseError;
            # locked, unopenable, read-only or I/O errors are OperationalErrors.
            raise JournalError(path, str(exc), damaged=type(exc) is sqlite3.DatabaseError) \
                from exc
        self.written = 0
        self.commits = 0
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_often, name="journal", daemon=True)
        self._flusher.start()

    def _check(self) -> None:
        """SQLite's full check of every page, index and constraint (docs/user-guide.md says what
        it costs at start)."""
        rows = self.db.execute("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            found = "; ".join(str(row[0]) for row in rows[:3])
            more = f" (and {len(rows) - 3} more)" if len(rows) > 3 else ""
            raise JournalError(self.path, f"it failed SQLite's integrity check: {found}{more}")

    def record(self, table: str, item) -> None:
        """Queue one record; `flush` commits it."""
        key = getattr(item, KINDS[table][1])
        moment = getattr(item, "datetime", None) or getattr(item, "time", None) or datetime.now()
        row = (key, self.trading_day(moment).isoformat(), time.time(), to_json(item))
        with self._lock:
            self._pending.append((table, row))

    @property
    def queue_depth(self) -> int:
        """Records queued and not yet committed."""
        return len(self._pending)

    def flush(self) -> int:
        """Commit every queued record; returns how many."""
        with self._lock:
            pending, self._pending = self._pending, []
            if not pending:
                return 0
            by_table: dict[str, list[tuple]] = {}
            for table, row in pending:
                by_table.setdefault(table, []).append(row)
            self.db.execute("BEGIN")
            try:
                for table, rows in by_table.items():
                    self.db.executemany(
                        f"INSERT INTO {table} (key, trading_day, written, data) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                        "trading_day = excluded.trading_day, written = excluded.written, "
                        "data = excluded.data", rows)
                self.db.execute("COMMIT")
            except sqlite3.Error:
                self.db.execute("ROLLBACK")
                self._pending[:0] = pending          # kept for the next try
                raise
            self.written += len(pending)
            self.commits += 1
            return len(pending)

    def _flush_often(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.flush()
            except sqlite3.Error:
                log.exception("journal %s: commit failed; retrying", self.path)

    def handler(self, event: Event) -> None:
        """For the event engine: journal the event's record."""
        self.record(EVENTS[event.type], event.data)

    def register(self, event_engine) -> None:
        """Ahead of every other handler of these events (the bridge to the GUI included)."""
        for event_type in EVENTS:
            event_engine.register_first(event_type, self.handler)

    def load(self, day: date | None = None) -> JournalState:
        """Orders, trades and alerts of a trading day (all days when None), and the latest
        position and account of every key."""
        state = JournalState()
        self.flush()
        with self._lock:
            self.db.text_factory = bytes      # a damaged row must not stop the others
            try:
                for table, (cls, _) in KINDS.items():
                    if day is not None and table in ("orders", "trades", "alerts"):
                        rows = self.db.execute(f"SELECT data FROM {table} WHERE trading_day "
                                               "= ? ORDER BY rowid", (day.isoformat(),))
                    else:
                        rows = self.db.execute(f"SELECT data FROM {table} ORDER BY rowid")
                    records = getattr(state, table)
                    for (raw,) in rows:
                        try:
                            records.append(from_json(cls, raw.decode("utf-8")))
                        except (ValueError, KeyError, TypeError, AttributeError) as exc:
                            state.unreadable += 1
                            log.error("journal %s: a %s row cannot be read (%s): %.200r",
                                      self.path, table, exc, raw)
            finally:
                self.db.text_factory = str
        return state

    def close(self) -> None:
        self._stop.set()
        self._flusher.join(timeout=5)
        self.flush()
        with self._lock:
            self.db.close()


def open_journal(path: Path, trading_day: Callable[[datetime], date]
                 ) -> tuple[Journal, SetAside | None]:
    """The journal at `path`, checked; when it cannot be used it is kept aside (never deleted)
    and a new one is started, and the second value says why and where the old one is. Raises
    `JournalError` only when no journal can be had at all (then nothing may trade)."""
    try:
        return Journal(path, trading_day, check=True), None
    except JournalError as exc:
        if not exc.damaged:              # perhaps sound: never move a journal in use aside
            raise
        reason = exc.why
        log.error("%s", exc)
    try:
        kept = set_aside(Path(path), companions=("-wal", "-shm", "-journal"))
    except OSError as exc:
        raise JournalError(path, f"{reason}; and it could not be moved aside ({exc})") from exc
    log.error("trading journal kept as %s; a new journal is started", kept)
    return Journal(path, trading_day), SetAside(reason, kept)
