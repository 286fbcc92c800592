"""Every backtest run kept: what was run, how it went, and its results.

Layout under the store's root:
    runs.db                       one row per run (SQLite, WAL): strategy, symbol, interval,
                                  period, settings, parameters, status, error, statistics
    <run_id>/daily.parquet        daily results (vn.py's daily_df, the date as a column)
    <run_id>/trades.parquet       trades, one row each (enums by value)
    <run_id>/windows.parquet      a walk-forward's windows table (kind "walkforward")

- Kind: "backtest" (a run, or an optimisation's best setting) or "walkforward" (the stitched
  out-of-sample series as daily and trades, the plan in settings, efficiency and criteria in
  stats). A runs.db made before the column existed gets it on open (every row "backtest").

- Status goes queued -> running -> done | failed | cancelled. A run still queued or running
  when the store is opened was cut short by the terminal stopping: it is marked failed, with
  the error "terminal stopped during the run".
- Result files are written to a temporary name, flushed and renamed; the row says "done" only
  after both are in place. Folders left without a row (a delete cut short) and temporary
  files go when the store opens.
- Statistics and settings are JSON: numpy numbers become Python numbers, dates and datetimes
  come back as dates and datetimes, enums as their values.
- One store object serves every thread (the pool's callbacks arrive on its scheduler thread);
  worker processes never open it: they return results, the parent saves them.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
FINAL = (DONE, FAILED, CANCELLED)
INTERRUPTED = "terminal stopped during the run"
TRADE_COLUMNS = ("datetime", "tradeid", "orderid", "symbol", "exchange", "direction", "offset",
                 "price", "volume")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    strategy TEXT NOT NULL,
    vt_symbol TEXT NOT NULL,
    interval TEXT NOT NULL,
    period_start TEXT,
    period_end TEXT,
    settings TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    stats TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    kind TEXT NOT NULL DEFAULT 'backtest'
);
CREATE INDEX IF NOT EXISTS runs_by_strategy ON runs (strategy, vt_symbol, created);
CREATE INDEX IF NOT EXISTS runs_by_symbol ON runs (vt_symbol, created);
"""
_COLUMNS = ("run_id", "strategy", "vt_symbol", "interval", "period_start", "period_end",
            "settings", "params", "status", "error", "stats", "created", "started", "finished",
            "kind")
BACKTEST, WALKFORWARD = "backtest", "walkforward"
KINDS = (BACKTEST, WALKFORWARD)
WINDOWS_FILE = "windows.parquet"


class RunNotFound(KeyError):
    pass


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    strategy: str
    vt_symbol: str
    interval: str
    start: datetime | date | str | None
    end: datetime | date | str | None
    settings: dict
    params: dict
    status: str
    error: str = ""
    stats: dict = field(default_factory=dict)
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    kind: str = BACKTEST

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


class RunStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.root / "runs.db", check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self.recovered = self._recover()

    # ------------------------------------------------------------------ life cycle
    def _migrate(self) -> None:
        """Add what later versions keep to a runs.db made by an earlier one."""
        with self._lock:
            have = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
            if "kind" not in have:
                self._db.execute("ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL "
                                 f"DEFAULT '{BACKTEST}'")

    def _recover(self) -> list[str]:
        """Mark runs cut short by a stop as failed; remove leftovers of interrupted writes and
        deletes. Returns the ids of the runs marked failed."""
        with self._lock:
            ids = [row[0] for row in self._db.execute(
                "SELECT run_id FROM runs WHERE status IN (?, ?)", (QUEUED, RUNNING))]
            if ids:
                self._db.execute(
                    "UPDATE runs SET status = ?, error = ?, finished = ? "
                    "WHERE status IN (?, ?)", (FAILED, INTERRUPTED, time.time(), QUEUED, RUNNING))
            known = {row[0] for row in self._db.execute("SELECT run_id FROM runs")}
        for folder in self.root.iterdir():
            if not folder.is_dir() or not _looks_like_run_id(folder.name):
                continue
            if folder.name not in known:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            for temporary in folder.glob(".*.tmp"):
                temporary.unlink(missing_ok=True)
        return ids

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ runs
    def create(self, strategy: str, vt_symbol: str, interval: Any, start: Any, end: Any,
               settings: dict | None = None, params: dict | None = None,
               kind: str = BACKTEST) -> str:
        """A new run of `kind`, queued; returns its id (sortable by creation time)."""
        if kind not in KINDS:
            raise ValueError(f"unknown run kind {kind!r}; one of {', '.join(KINDS)}")
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
        with self._lock:
            self._db.execute(
                "INSERT INTO runs (run_id, strategy, vt_symbol, interval, period_start, "
                "period_end, settings, params, status, created, kind) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, _name(strategy), vt_symbol, _plain(interval), _encode(start),
                 _encode(end), _encode(settings or {}), _encode(params or {}), QUEUED,
                 time.time(), kind))
        return run_id

    def set_status(self, run_id: str, status: str, error: str = "") -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status!r}; one of {', '.join(STATUSES)}")
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "UPDATE runs SET status = ?, error = ?, "
                "started = CASE WHEN ? = 'running' THEN ? ELSE started END, "
                "finished = CASE WHEN ? IN ('done', 'failed', 'cancelled') THEN ? "
                "ELSE finished END WHERE run_id = ?",
                (status, error, status, now, status, now, run_id))
        if cursor.rowcount == 0:
            raise RunNotFound(run_id)

    def save_result(self, run_id: str, stats: dict, daily: pd.DataFrame | None,
                    trades: Iterable | pd.DataFrame | None) -> None:
        """Write the series, then record the statistics and mark the run done."""
        self.get(run_id)
        folder = self.root / run_id
        folder.mkdir(exist_ok=True)
        _write_parquet(folder / "daily.parquet", daily_table(daily))
        _write_parquet(folder / "trades.parquet", pa.Table.from_pandas(
            trades_frame(trades), preserve_index=False))
        with self._lock:
            self._db.execute(
                "UPDATE runs SET stats = ?, status = ?, error = '', finished = ?, "
                "started = COALESCE(started, ?) WHERE run_id = ?",
                (_encode(stats or {}), DONE, time.time(), time.time(), run_id))

    def get(self, run_id: str) -> RunRecord:
        with self._lock:
            row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE run_id = ?",
                                   (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return _record(row)

    def list(self, strategy: str | None = None, vt_symbol: str | None = None,
             status: str | None = None, limit: int | None = None,
             kind: str | None = None) -> list[RunRecord]:
        """Runs, newest first, optionally only those of one strategy, symbol, status or
        kind."""
        where, values = [], []
        for column, value in (("strategy", strategy), ("vt_symbol", vt_symbol),
                              ("status", status), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                values.append(_name(value) if column == "strategy" else value)
        sql = f"SELECT {', '.join(_COLUMNS)} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, values).fetchall()
        return [_record(row) for row in rows]

    def strategies(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT DISTINCT strategy FROM runs ORDER BY strategy")]

    def symbols(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT DISTINCT vt_symbol FROM runs ORDER BY vt_symbol")]

    def load_daily(self, run_id: str) -> pd.DataFrame:
        """Daily results as vn.py's calculate_result gives them (indexed by date), without its
        column of trade objects; empty when the run has none."""
        path = self.root / run_id / "daily.parquet"
        if not path.exists():
            self.get(run_id)
            return pd.DataFrame()
        frame = pq.read_table(path).to_pandas()
        return frame.set_index("date") if "date" in frame.columns else frame

    def load_trades(self, run_id: str) -> pd.DataFrame:
        path = self.root / run_id / "trades.parquet"
        if not path.exists():
            self.get(run_id)
            return pd.DataFrame(columns=list(TRADE_COLUMNS))
        return pq.read_table(path).to_pandas()

    def save_windows(self, run_id: str, windows: pd.DataFrame) -> None:
        """A walk-forward's windows table (one row a window), kept beside its series."""
        self.get(run_id)
        folder = self.root / run_id
        folder.mkdir(exist_ok=True)
        _write_parquet(folder / WINDOWS_FILE, pa.Table.from_pandas(windows,
                                                                    preserve_index=False))

    def load_windows(self, run_id: str) -> pd.DataFrame:
        """A walk-forward's windows table; empty for a run without one."""
        path = self.root / run_id / WINDOWS_FILE
        if not path.exists():
            self.get(run_id)
            return pd.DataFrame()
        return pq.read_table(path).to_pandas()

    def compare(self, run_ids: list[str], params: bool = True) -> pd.DataFrame:
        """Runs side by side, one column per run: what was run, the parameters (rows
        "param: name") and every statistic."""
        records = [self.get(run_id) for run_id in run_ids]
        rows: dict[str, list] = {}

        def add(name: str, values: list) -> None:
            rows[name] = values

        for name in ("kind", "strategy", "vt_symbol", "interval", "start", "end", "status"):
            add(name, [getattr(r, name) for r in records])
        if params:
            for key in _union(r.params for r in records):
                add(f"param: {key}", [r.params.get(key) for r in records])
        for key in _union(r.stats for r in records):
            add(key, [r.stats.get(key) for r in records])
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=[r.run_id for r in records],
                                       dtype=object)
        frame.index.name = "run"
        return frame

    def delete(self, run_id: str) -> None:
        """The row, then the files (a folder left by a crash in between goes at next open)."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
        if cursor.rowcount == 0:
            raise RunNotFound(run_id)
        shutil.rmtree(self.root / run_id, ignore_errors=True)


# ---------------------------------------------------------------------- frames
def daily_table(daily: pd.DataFrame | None) -> pa.Table:
    """vn.py's daily_df as a table: the date index becomes a column; columns that hold
    objects (its lists of trades) are left out."""
    if daily is None or len(daily) == 0:
        return pa.table({"date": pa.array([], pa.date32())})
    frame = daily.reset_index() if daily.index.name or not isinstance(
        daily.index, pd.RangeIndex) else daily.copy()
    if "index" in frame.columns and "date" not in frame.columns:
        frame = frame.rename(columns={"index": "date"})
    keep = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype == object and name != "date":
            sample = column.dropna()
            if len(sample) and not isinstance(sample.iloc[0], (str, date)):
                continue
        keep[str(name)] = column
    return pa.Table.from_pandas(pd.DataFrame(keep), preserve_index=False)


def trades_frame(trades: Iterable | pd.DataFrame | None) -> pd.DataFrame:
    """Trades (TradeData objects, or a frame of them) as a frame, enums by value."""
    if trades is None:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in TRADE_COLUMNS})
    if isinstance(trades, pd.DataFrame):
        frame = trades.copy()
    else:
        trades = list(trades.values() if isinstance(trades, dict) else trades)
        frame = pd.DataFrame({name: [getattr(t, name, None) for t in trades]
                              for name in TRADE_COLUMNS})
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(lambda v: v.value if isinstance(v, Enum) else v)
    return frame


def _write_parquet(path: Path, table: pa.Table) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------- JSON
def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _encode(value: Any) -> str:
    return json.dumps(_prepare(value), ensure_ascii=False, default=_plain)


def _prepare(value: Any) -> Any:
    """json.dumps calls `default` only for what it cannot write; dates and enums (some are
    str subclasses, which json would write as plain strings) are converted first."""
    if isinstance(value, dict):
        return {str(k): _prepare(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_prepare(v) for v in value]
    if isinstance(value, (Enum, date, np.generic)):
        return _plain(value)
    return value


def _decode(text: str | None) -> Any:
    if text is None:
        return None
    return json.loads(text, object_hook=_restore)


def _restore(obj: dict) -> Any:
    if len(obj) == 1:
        if "$datetime" in obj:
            return datetime.fromisoformat(obj["$datetime"])
        if "$date" in obj:
            return date.fromisoformat(obj["$date"])
    return obj


def _record(row: tuple) -> RunRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    return RunRecord(
        run_id=values["run_id"], strategy=values["strategy"], vt_symbol=values["vt_symbol"],
        interval=values["interval"], start=_decode(values["period_start"]),
        end=_decode(values["period_end"]), settings=_decode(values["settings"]) or {},
        params=_decode(values["params"]) or {}, status=values["status"],
        error=values["error"] or "", stats=_decode(values["stats"]) or {},
        created=values["created"], started=values["started"], finished=values["finished"],
        kind=values["kind"])


def _name(strategy: Any) -> str:
    return strategy if isinstance(strategy, str) else getattr(strategy, "__name__", str(strategy))


def _union(dicts: Iterable[dict]) -> list[str]:
    keys: dict[str, None] = {}
    for d in dicts:
        keys.update(dict.fromkeys(d))
    return list(keys)


def _looks_like_run_id(name: str) -> bool:
    parts = name.split("-")
    return len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit() and len(parts[2]) == 8
