"""What the store holds: one row per series (symbol, exchange, interval or "tick").

The Parquet files are the truth; this SQLite table (WAL) is an index of them for listings and
overviews, rebuilt from the files when it is missing or damaged (see `MarketStore`). One
connection serves every thread of the process (the GUI, import workers, the recorder), one
call at a time.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path

TABLE = "series"


class CatalogueError(RuntimeError):
    pass


class Catalogue:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        import sqlite_utils      # here: it imports pandas, which the first paint can do without

        try:
            self._not_found = sqlite_utils.db.NotFoundError
            self.db = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
            self.db.enable_wal()
            if TABLE not in self.db.table_names():
                self.db[TABLE].create(
                    {"symbol": str, "exchange": str, "interval": str, "count": int,
                     "first": str, "last": str, "parts": int, "updated": str},
                    pk=("symbol", "exchange", "interval"),
                )
        except sqlite3.DatabaseError as exc:
            raise CatalogueError(f"market data catalogue {path} is damaged: {exc}") from exc

    def put(self, symbol: str, exchange: str, interval: str, count: int, first: datetime,
            last: datetime, parts: int) -> None:
        with self._lock:
            self.db[TABLE].upsert(
                {"symbol": symbol, "exchange": exchange, "interval": interval, "count": count,
                 "first": first.isoformat(), "last": last.isoformat(), "parts": parts,
                 "updated": datetime.now().isoformat(timespec="seconds")},
                pk=("symbol", "exchange", "interval"),
            )

    def get(self, symbol: str, exchange: str, interval: str) -> dict | None:
        with self._lock:
            try:
                return self.db[TABLE].get((symbol, exchange, interval))
            except self._not_found:
                return None

    def remove(self, symbol: str, exchange: str, interval: str) -> None:
        with self._lock:
            self.db[TABLE].delete_where(
                "symbol = ? and exchange = ? and interval = ?", [symbol, exchange, interval]
            )

    def rows(self) -> list[dict]:
        with self._lock:
            return list(self.db[TABLE].rows_where(order_by="exchange, symbol, interval"))

    def close(self) -> None:
        with self._lock:
            self.db.close()
