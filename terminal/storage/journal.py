"""The trading journal: every order state, trade, position and account snapshot and alert,
committed to SQLite (WAL) on the event thread before the GUI's bridge sees the event.

- Orders, positions and accounts keep their latest state (one row each, updated in place);
  trades and alerts are kept one row each, never dropped.
- Each row holds the record as JSON (enums by name, times in ISO form), so a restart rebuilds
  the same vn.py objects the terminal showed before a crash.
- WAL with synchronous=NORMAL: a committed row survives the process being killed at any
  moment (what the kill test checks); only a power cut may lose the last commits.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path

from vnpy.event import Event
from vnpy.trader import constant
from vnpy.trader.event import EVENT_ACCOUNT, EVENT_ORDER, EVENT_POSITION, EVENT_TRADE
from vnpy.trader.object import AccountData, OrderData, PositionData, TradeData

from terminal.core.alerts import EVENT_ALERT, Alert

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
    pass


@dataclass
class JournalState:
    orders: list[OrderData] = field(default_factory=list)
    trades: list[TradeData] = field(default_factory=list)
    positions: list[PositionData] = field(default_factory=list)
    accounts: list[AccountData] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


def to_json(record) -> str:
    values = {}
    for item in dataclasses.fields(record):
        if not item.init and item.name != "extra":    # extra (the reason...) is kept too
            continue
        value = getattr(record, item.name)
        if isinstance(value, Enum):
            value = {"enum": type(value).__name__, "name": value.name}
        elif isinstance(value, datetime):
            value = {"time": value.isoformat()}
        values[item.name] = value
    return json.dumps(values, ensure_ascii=False, default=str)


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
    def __init__(self, path: Path, trading_day: Callable[[datetime], date]) -> None:
        self.path = path
        self.trading_day = trading_day
        self._lock = threading.Lock()
        try:
            self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            for table in KINDS:
                self.db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, "
                                "trading_day TEXT, written REAL, data TEXT)")
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"trading journal {path} cannot be opened: {exc}") from exc
        self.written = 0

    def record(self, table: str, item) -> None:
        """Write one record and commit before returning."""
        key = getattr(item, KINDS[table][1])
        moment = getattr(item, "datetime", None) or getattr(item, "time", None) or datetime.now()
        day = self.trading_day(moment).isoformat()
        with self._lock:
            self.db.execute(f"INSERT INTO {table} (key, trading_day, written, data) "
                            "VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                            "written = excluded.written, data = excluded.data",
                            (key, day, time.time(), to_json(item)))
            self.written += 1

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
        with self._lock:
            for table, (cls, _) in KINDS.items():
                if day is not None and table in ("orders", "trades", "alerts"):
                    rows = self.db.execute(f"SELECT data FROM {table} WHERE trading_day = ? "
                                           "ORDER BY rowid", (day.isoformat(),)).fetchall()
                else:
                    rows = self.db.execute(f"SELECT data FROM {table} ORDER BY rowid").fetchall()
                records = getattr(state, table)
                for (text,) in rows:
                    try:
                        records.append(from_json(cls, text))
                    except (ValueError, KeyError, TypeError) as exc:
                        log.error("journal %s: a %s row cannot be read (%s): %.200s",
                                  self.path, table, exc, text)
        return state

    def close(self) -> None:
        with self._lock:
            self.db.close()
