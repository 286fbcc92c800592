"""What the store holds: one row per series (symbol, exchange, interval or "tick").

The Parquet files are the truth; this SQLite table (WAL) is an index of them for listings and
overviews, rebuilt from the files when it is missing or damaged.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import sqlite_utils

TABLE = "series"


class CatalogueError(RuntimeError):
    pass


class Catalogue:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.db = sqlite_utils.Database(str(path))
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
        self.db[TABLE].upsert(
            {"symbol": symbol, "exchange": exchange, "interval": interval, "count": count,
             "first": first.isoformat(), "last": last.isoformat(), "parts": parts,
             "updated": datetime.now().isoformat(timespec="seconds")},
            pk=("symbol", "exchange", "interval"),
        )

    def get(self, symbol: str, exchange: str, interval: str) -> dict | None:
        try:
            return self.db[TABLE].get((symbol, exchange, interval))
        except sqlite_utils.db.NotFoundError:
            return None

    def remove(self, symbol: str, exchange: str, interval: str) -> None:
        self.db[TABLE].delete_where(
            "symbol = ? and exchange = ? and interval = ?", [symbol, exchange, interval]
        )

    def rows(self) -> list[dict]:
        return list(self.db[TABLE].rows_where(order_by="exchange, symbol, interval"))

    def close(self) -> None:
        self.db.close()
