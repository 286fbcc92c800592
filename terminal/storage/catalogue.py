"""What the store holds: one row per series (symbol, exchange, interval or "tick") and one per
Parquet part, with the SHA-256 of the part's bytes taken when it was written.

The Parquet files are the truth; this SQLite database (WAL) indexes them for listings and
overviews and keeps the content hash each read is checked against. `problems` says what is
inconsistent in it (tables or columns missing, rows that do not parse); the store compares it
with the files and rebuilds it from them (see `MarketStore`). One connection serves every
thread of the process (the GUI, import workers, the recorder), one call at a time; another
process (a `data import` beside the GUI) shares the file through SQLite's own locking.

Every change that spans rows (a part written and the series row updated, a rebuild) is one
transaction (sqlite-utils' `Database.atomic`, which groups its writes since version 4).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from typing import TYPE_CHECKING

from terminal.storage.errors import StoreError

if TYPE_CHECKING:      # imported where used: it imports pandas, which the first paint skips
    import sqlite_utils

SERIES = "series"
PARTS = "parts"
SERIES_COLUMNS = {"symbol": str, "exchange": str, "interval": str, "count": int,
                  "first": str, "last": str, "parts": int, "updated": str}
SERIES_KEY = ("symbol", "exchange", "interval")
PART_COLUMNS = {"path": str,          # under the store's root, with "/"
                "sha256": str,        # NULL: could not be verified when recorded
                "bytes": int,
                "rows": int,          # NULL: could not be read when recorded
                "checksums": int,     # 1: written with page checksums
                "recorded": str,      # when the hash was taken
                "damaged": str}       # why it could not be read when recorded
PART_KEY = "path"
NULLABLE = {"sha256", "rows", "damaged"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PART_PATH = re.compile(r"(bars/[^/]+/[^/]+/[^/]+|ticks/[^/]+/[^/]+)/part-\d{6}\.parquet")
_NAME = re.compile(r"[^/\\\x00]+")
EXAMPLES = 3


class CatalogueError(StoreError):
    """SQLite finds the catalogue file damaged (not a database, malformed); a busy or
    unwritable one is a plain StoreError, and is not moved aside."""


@dataclass(frozen=True)
class PartRecord:
    """One part as the catalogue holds it."""

    path: str                    # under the store's root: bars/SHFE/rb2401/1m/part-000001.parquet
    sha256: str | None
    bytes: int
    rows: int | None
    checksums: bool
    recorded: str
    damaged: str | None = None

    @property
    def folder(self) -> str:
        return self.path.rpartition("/")[0]

    def row(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "bytes": self.bytes,
                "rows": self.rows, "checksums": int(self.checksums),
                "recorded": self.recorded, "damaged": self.damaged}


@dataclass(frozen=True)
class SeriesRow:
    symbol: str
    exchange: str
    interval: str
    count: int
    first: datetime
    last: datetime
    parts: int

    def row(self) -> dict:
        return {"symbol": self.symbol, "exchange": self.exchange, "interval": self.interval,
                "count": self.count, "first": self.first.isoformat(),
                "last": self.last.isoformat(), "parts": self.parts,
                "updated": datetime.now().isoformat(timespec="seconds")}


def now() -> str:
    return datetime.now().isoformat(timespec="seconds")


class Catalogue:
    def __init__(self, path: Path, exchanges: set[str]) -> None:
        """Open `path`; a new (or empty) file gets the tables, an existing one is left as it
        is for `problems` to judge. `exchanges`: the exchange values a row may name."""
        self.path = path
        self.exchanges = exchanges
        self._lock = threading.RLock()
        import sqlite_utils

        self.db: sqlite_utils.Database | None = None
        try:
            with self._guarded():
                self.db = sqlite_utils.Database(
                    sqlite3.connect(path, check_same_thread=False, isolation_level=None))
                self.db.enable_wal()
                if not self.db.table_names():
                    _create(self.db)
        except StoreError:
            if self.db is not None:
                self.db.close()
            raise

    # ------------------------------------------------------------------ consistency
    def problems(self) -> list[str]:
        """What is wrong inside the catalogue: missing tables or columns, rows whose values do
        not parse. Empty when it can be trusted as an index (the files are the store's to
        compare). Raises CatalogueError when SQLite finds the file itself damaged."""
        with self._lock, self._guarded():
            found = []
            tables = set(self.db.table_names())
            for table, columns in ((SERIES, SERIES_COLUMNS), (PARTS, PART_COLUMNS)):
                if table not in tables:
                    older = table == PARTS and SERIES in tables
                    found.append(f"the {table} table is missing" + (
                        " (made by a version before content hashes)" if older else ""))
                    continue
                have = self.db[table].columns_dict.keys()
                if columns.keys() - have:
                    found.append(f"the {table} table lacks the column(s) "
                                 + ", ".join(sorted(columns.keys() - have)))
            if found:
                return found
            for row in self.db[SERIES].rows:
                problem = _series_problem(row, self.exchanges)
                if problem:
                    found.append(problem)
            for row in self.db[PARTS].rows:
                problem = _part_problem(row)
                if problem:
                    found.append(problem)
            if len(found) > EXAMPLES:
                found[EXAMPLES:] = [f"{len(found) - EXAMPLES} more rows that cannot be read"]
            return found

    def kept_parts(self) -> dict[str, PartRecord]:
        """The well-formed part rows, whatever the state of the rest: the hashes a rebuild
        keeps (they were taken when the parts were written; taken again now they would vouch
        for whatever the files hold today)."""
        with self._lock:
            return _kept_parts(self.db)

    def keep_aside(self, aside: Path) -> None:
        """A copy of the catalogue as it is now (VACUUM INTO: consistent even with its WAL)."""
        with self._lock, self._guarded():
            self.db.execute("VACUUM INTO ?", [str(aside)])

    def replace(self, series: list[SeriesRow], parts: list[PartRecord]) -> None:
        """Every table made anew with these rows, in one transaction."""
        with self._lock, self._guarded(), self.db.atomic():
            for table in (SERIES, PARTS):
                self.db[table].drop(ignore=True)
            _create(self.db)
            self.db[SERIES].insert_all((row.row() for row in series), pk=SERIES_KEY)
            self.db[PARTS].insert_all((record.row() for record in parts), pk=PART_KEY)

    # ------------------------------------------------------------------ series
    def commit(self, series: SeriesRow, added: list[PartRecord] = (),
               removed: list[str] = ()) -> None:
        """A series' new state: its row, the parts written and the parts removed, at once."""
        with self._lock, self._guarded(), self.db.atomic():
            self.db[SERIES].upsert(series.row(), pk=SERIES_KEY)
            if added:
                self.db[PARTS].upsert_all((record.row() for record in added), pk=PART_KEY)
            for path in removed:
                self.db[PARTS].delete_where("path = ?", [path])

    def get(self, symbol: str, exchange: str, interval: str) -> dict | None:
        with self._lock, self._guarded():
            rows = list(self.db[SERIES].rows_where(
                "symbol = ? AND exchange = ? AND interval = ?", [symbol, exchange, interval]))
        return rows[0] if rows else None

    def remove(self, symbol: str, exchange: str, interval: str, folder: str) -> None:
        """The series' row and the rows of the parts in `folder` (relative to the root)."""
        with self._lock, self._guarded(), self.db.atomic():
            self.db[SERIES].delete_where("symbol = ? AND exchange = ? AND interval = ?",
                                         [symbol, exchange, interval])
            self.db[PARTS].delete_where("path LIKE ? ESCAPE '\\'",
                                        [_like_prefix(folder + "/")])

    def rows(self) -> list[dict]:
        with self._lock, self._guarded():
            return list(self.db[SERIES].rows_where(order_by="exchange, symbol, interval"))

    # ------------------------------------------------------------------ parts
    def parts_in(self, folder: str) -> dict[str, PartRecord]:
        """The recorded parts of one series folder (relative to the root), by path."""
        with self._lock, self._guarded():
            rows = list(self.db[PARTS].rows_where("path LIKE ? ESCAPE '\\'",
                                                  [_like_prefix(folder + "/")]))
        return {row["path"]: _record(row) for row in rows
                if row["path"].rpartition("/")[0] == folder}

    def all_parts(self) -> dict[str, PartRecord]:
        with self._lock, self._guarded():
            rows = list(self.db[PARTS].rows)
        return {row["path"]: _record(row) for row in rows}

    def record_part(self, record: PartRecord) -> None:
        with self._lock, self._guarded():
            self.db[PARTS].upsert(record.row(), pk=PART_KEY)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def _guarded(self):
        return _Guard(self.path)


def _create(db: sqlite_utils.Database) -> None:
    for table, columns, key in ((SERIES, SERIES_COLUMNS, SERIES_KEY), (PARTS, PART_COLUMNS,
                                                                        PART_KEY)):
        db[table].create(columns, pk=key, not_null=set(columns) - NULLABLE,
                         if_not_exists=True)


def kept_parts_of(path: Path) -> dict[str, PartRecord]:
    """`Catalogue.kept_parts` of a catalogue file moved aside, read without changing it;
    none when SQLite cannot read it."""
    import sqlite_utils

    try:
        db = sqlite_utils.Database(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro",
                                                   uri=True))
    except sqlite3.Error:
        return {}
    try:
        return _kept_parts(db)
    finally:
        db.close()


def _kept_parts(db: sqlite_utils.Database) -> dict[str, PartRecord]:
    try:
        if PARTS not in db.table_names():
            return {}
        rows = list(db[PARTS].rows)
    except sqlite3.DatabaseError:
        return {}
    return {row["path"]: _record(row) for row in rows
            if PART_COLUMNS.keys() <= row.keys() and not _part_problem(row)}


class _Guard:
    """SQLite's own errors as the store's, naming the file: CatalogueError when SQLite finds
    it damaged (a plain DatabaseError: not a database, malformed), else StoreError (locked,
    read-only, disk full: the file may be sound)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if type(exc) is sqlite3.DatabaseError:
            raise CatalogueError(f"market data catalogue {self.path} is damaged: {exc}") \
                from exc
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"market data catalogue {self.path}: {exc}") from exc
        return False


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _record(row: dict) -> PartRecord:
    return PartRecord(row["path"], row["sha256"], row["bytes"], row["rows"],
                      bool(row["checksums"]), row["recorded"], row["damaged"])


def _series_problem(row: dict, exchanges: set[str]) -> str | None:
    name = f"series row {row.get('symbol')!r} {row.get('exchange')!r} {row.get('interval')!r}"
    for key in ("symbol", "interval"):
        if not isinstance(row[key], str) or not _NAME.fullmatch(row[key]):
            return f"{name}: {key} {row[key]!r} is not a name"
    if row["exchange"] not in exchanges:
        return f"{name}: exchange {row['exchange']!r} is unknown"
    for key, low in (("count", 1), ("parts", 1)):
        if type(row[key]) is not int or row[key] < low:
            return f"{name}: {key} {row[key]!r} is not a whole number of {low} or more"
    times = []
    for key in ("first", "last"):
        try:
            moment = datetime.fromisoformat(row[key])
        except (TypeError, ValueError):
            return f"{name}: {key} {row[key]!r} is not a time"
        if moment.tzinfo is None:
            return f"{name}: {key} {row[key]!r} has no time zone"
        times.append(moment)
    if times[0] > times[1]:
        return f"{name}: first {row['first']!r} is after last {row['last']!r}"
    return None


def _part_problem(row: dict) -> str | None:
    name = f"part row {row.get('path')!r}"
    if not isinstance(row["path"], str) or not _PART_PATH.fullmatch(row["path"]) \
            or ".." in row["path"].split("/"):
        return f"{name}: not a part's path"
    if row["sha256"] is not None and (not isinstance(row["sha256"], str)
                                      or not _SHA256.fullmatch(row["sha256"])):
        return f"{name}: sha256 {row['sha256']!r} is not a SHA-256"
    if row["sha256"] is None and row["damaged"] is None:
        return f"{name}: neither a hash nor the damage that kept it from one"
    if type(row["bytes"]) is not int or row["bytes"] < 0:
        return f"{name}: bytes {row['bytes']!r} is not a size"
    if row["rows"] is not None and (type(row["rows"]) is not int or row["rows"] < 0):
        return f"{name}: rows {row['rows']!r} is not a count"
    if row["checksums"] not in (0, 1):
        return f"{name}: checksums {row['checksums']!r} is not 0 or 1"
    try:
        datetime.fromisoformat(row["recorded"])
    except (TypeError, ValueError):
        return f"{name}: recorded {row['recorded']!r} is not a time"
    return None
