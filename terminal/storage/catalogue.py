"""What the store holds: one row per series (symbol, exchange, interval or "tick") and one per
Parquet part, with the SHA-256 of the part's bytes taken when it was written.

The Parquet files are the truth; this SQLite database (WAL) indexes them for listings and
overviews and keeps the content hash each read is checked against. `problems` says what is
inconsistent in it (tables or columns missing, rows that do not parse); the store compares it
with the files and rebuilds it from them (see `MarketStore`). One connection serves every
thread of the process (the GUI, import workers, the recorder), one call at a time; another
process (a `data import` beside the GUI) shares the file through SQLite's own locking.

Every change that spans rows (a part written and the series row updated, a rebuild) is one
transaction: the raw sqlite3 module rather than sqlite-utils, whose writes commit on their
own and so cannot be grouped.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from terminal.storage.errors import StoreError

SERIES = "series"
PARTS = "parts"
SERIES_COLUMNS = {"symbol": "TEXT NOT NULL", "exchange": "TEXT NOT NULL",
                  "interval": "TEXT NOT NULL", "count": "INTEGER NOT NULL",
                  "first": "TEXT NOT NULL", "last": "TEXT NOT NULL",
                  "parts": "INTEGER NOT NULL", "updated": "TEXT NOT NULL"}
PART_COLUMNS = {"path": "TEXT NOT NULL",         # under the store's root, with "/"
                "sha256": "TEXT",                # NULL: could not be verified when recorded
                "bytes": "INTEGER NOT NULL",
                "rows": "INTEGER",               # NULL: could not be read when recorded
                "checksums": "INTEGER NOT NULL",  # 1: written with page checksums
                "recorded": "TEXT NOT NULL",     # when the hash was taken
                "damaged": "TEXT"}               # why it could not be read when recorded
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
        self.conn = None
        try:
            with self._guarded():
                self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
                self.conn.row_factory = sqlite3.Row
                self.conn.execute("PRAGMA journal_mode=WAL")
                if not self._tables():
                    self._create(self.conn)
        except StoreError:
            if self.conn is not None:
                self.conn.close()
            raise

    # ------------------------------------------------------------------ consistency
    def problems(self) -> list[str]:
        """What is wrong inside the catalogue: missing tables or columns, rows whose values do
        not parse. Empty when it can be trusted as an index (the files are the store's to
        compare). Raises CatalogueError when SQLite finds the file itself damaged."""
        with self._lock, self._guarded():
            found = []
            tables = self._tables()
            for table, columns in ((SERIES, SERIES_COLUMNS), (PARTS, PART_COLUMNS)):
                if table not in tables:
                    older = table == PARTS and SERIES in tables
                    found.append(f"the {table} table is missing" + (
                        " (made by a version before content hashes)" if older else ""))
                    continue
                have = {row["name"] for row in self.conn.execute(f"PRAGMA table_info({table})")}
                if columns.keys() - have:
                    found.append(f"the {table} table lacks the column(s) "
                                 + ", ".join(sorted(columns.keys() - have)))
            if found:
                return found
            for row in self.conn.execute(f"SELECT * FROM {SERIES}"):
                problem = _series_problem(dict(row), self.exchanges)
                if problem:
                    found.append(problem)
            for row in self.conn.execute(f"SELECT * FROM {PARTS}"):
                problem = _part_problem(dict(row))
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
            return _kept_parts(self.conn)

    def keep_aside(self, aside: Path) -> None:
        """A copy of the catalogue as it is now (VACUUM INTO: consistent even with its WAL)."""
        with self._lock, self._guarded():
            self.conn.execute("VACUUM INTO ?", (str(aside),))

    def replace(self, series: list[SeriesRow], parts: list[PartRecord]) -> None:
        """Every table made anew with these rows, in one transaction."""
        with self._lock, self._guarded(), self._transaction() as conn:
            for table in (SERIES, PARTS):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            self._create(conn)
            for row in series:
                _upsert(conn, SERIES, row.row())
            for record in parts:
                _upsert(conn, PARTS, record.row())

    # ------------------------------------------------------------------ series
    def commit(self, series: SeriesRow, added: list[PartRecord] = (),
               removed: list[str] = ()) -> None:
        """A series' new state: its row, the parts written and the parts removed, at once."""
        with self._lock, self._guarded(), self._transaction() as conn:
            _upsert(conn, SERIES, series.row())
            for record in added:
                _upsert(conn, PARTS, record.row())
            for path in removed:
                conn.execute(f"DELETE FROM {PARTS} WHERE path = ?", (path,))

    def get(self, symbol: str, exchange: str, interval: str) -> dict | None:
        with self._lock, self._guarded():
            row = self.conn.execute(
                f"SELECT * FROM {SERIES} WHERE symbol = ? AND exchange = ? AND interval = ?",
                (symbol, exchange, interval)).fetchone()
        return dict(row) if row else None

    def remove(self, symbol: str, exchange: str, interval: str, folder: str) -> None:
        """The series' row and the rows of the parts in `folder` (relative to the root)."""
        with self._lock, self._guarded(), self._transaction() as conn:
            conn.execute(f"DELETE FROM {SERIES} WHERE symbol = ? AND exchange = ? "
                         "AND interval = ?", (symbol, exchange, interval))
            conn.execute(f"DELETE FROM {PARTS} WHERE path LIKE ? ESCAPE '\\'",
                         (_like_prefix(folder + "/"),))

    def rows(self) -> list[dict]:
        with self._lock, self._guarded():
            return [dict(row) for row in self.conn.execute(
                f"SELECT * FROM {SERIES} ORDER BY exchange, symbol, interval")]

    # ------------------------------------------------------------------ parts
    def parts_in(self, folder: str) -> dict[str, PartRecord]:
        """The recorded parts of one series folder (relative to the root), by path."""
        with self._lock, self._guarded():
            rows = [dict(row) for row in self.conn.execute(
                f"SELECT * FROM {PARTS} WHERE path LIKE ? ESCAPE '\\'",
                (_like_prefix(folder + "/"),))]
        return {row["path"]: _record(row) for row in rows
                if row["path"].rpartition("/")[0] == folder}

    def all_parts(self) -> dict[str, PartRecord]:
        with self._lock, self._guarded():
            rows = [dict(row) for row in self.conn.execute(f"SELECT * FROM {PARTS}")]
        return {row["path"]: _record(row) for row in rows}

    def record_part(self, record: PartRecord) -> None:
        with self._lock, self._guarded():
            _upsert(self.conn, PARTS, record.row())

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    # ------------------------------------------------------------------ plumbing
    def _tables(self) -> set[str]:
        return {row[0] for row in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        for table, columns, key in ((SERIES, SERIES_COLUMNS, "symbol, exchange, interval"),
                                    (PARTS, PART_COLUMNS, "path")):
            body = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body}, PRIMARY KEY ({key}))")

    def _guarded(self):
        return _Guard(self.path)

    def _transaction(self):
        return _Transaction(self.conn)


def kept_parts_of(path: Path) -> dict[str, PartRecord]:
    """`Catalogue.kept_parts` of a catalogue file moved aside, read without changing it;
    none when SQLite cannot read it."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return {}
    try:
        conn.row_factory = sqlite3.Row
        return _kept_parts(conn)
    finally:
        conn.close()


def _kept_parts(conn: sqlite3.Connection) -> dict[str, PartRecord]:
    try:
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if PARTS not in tables:
            return {}
        rows = [dict(row) for row in conn.execute(f"SELECT * FROM {PARTS}")]
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


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind, exc, tb):
        self.conn.execute("COMMIT" if exc is None else "ROLLBACK")
        return False


def _upsert(conn: sqlite3.Connection, table: str, row: dict) -> None:
    names = ", ".join(f'"{name}"' for name in row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"INSERT OR REPLACE INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))


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
