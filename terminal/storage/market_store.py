"""Bars and ticks in Parquet, one folder per series, with an SQLite catalogue.

Layout under the store's root:
    bars/<EXCHANGE>/<symbol>/<interval>/part-000001.parquet ...
    ticks/<EXCHANGE>/<symbol>/part-000001.parquet ...
    catalogue.db

- Every file is written to a temporary name, flushed and renamed, so a crash leaves either the
  old file or the new one, never half of one.
- New data later than everything held is appended as a new part: live recording never
  rewrites years of history. Data that overlaps what is held is merged and the series
  rewritten as one part (a compaction), as is a series that has gathered too many parts.
- Reading concatenates the parts in order and keeps, for each timestamp, the row of the newest
  part; so parts left behind by a crash mid-compaction change nothing and go at the next one.
- Objects handed in are only read, never changed (vnpy_sqlite changes the bars it saves).
"""

from __future__ import annotations

import os
import re
import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData, TickData

from terminal.storage.catalogue import Catalogue

CHINA_TZ = ZoneInfo("Asia/Shanghai")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_PARTS = 32
TICK_INTERVAL = "tick"
_PART = re.compile(r"part-(\d{6})\.parquet$")

BAR_FIELDS = ("open_price", "high_price", "low_price", "close_price", "volume", "turnover",
              "open_interest")
TICK_FIELDS = (
    "last_price", "last_volume", "volume", "turnover", "open_interest", "limit_up",
    "limit_down", "open_price", "high_price", "low_price", "pre_close",
    *(f"{side}_{kind}_{level}" for kind in ("price", "volume") for side in ("bid", "ask")
      for level in range(1, 6)),
)


class StoreError(RuntimeError):
    """A file of the store cannot be read or written; the message names it."""


@dataclass(frozen=True)
class SeriesInfo:
    symbol: str
    exchange: Exchange
    interval: str            # an Interval value ("1m", "d", ...) or "tick"
    count: int
    first: datetime
    last: datetime


def to_ns(moment: datetime, naive_tz: ZoneInfo = CHINA_TZ) -> int:
    """Nanoseconds since the epoch; a naive time is taken as `naive_tz` (China local)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_tz)
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def from_ns(values: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    return pd.to_datetime(values, utc=True).tz_convert(tz).to_pydatetime()


class MarketStore:
    def __init__(self, root: Path, tz: ZoneInfo = CHINA_TZ) -> None:
        self.root = root
        self.tz = tz
        root.mkdir(parents=True, exist_ok=True)
        self.catalogue = Catalogue(root / "catalogue.db")

    # ------------------------------------------------------------------ bars
    def save_bars(self, bars: list[BarData]) -> int:
        groups: dict[tuple, list[BarData]] = defaultdict(list)
        for bar in bars:
            if bar.interval is None:
                raise StoreError(f"bar of {bar.vt_symbol} at {bar.datetime} has no interval")
            groups[(bar.symbol, bar.exchange, bar.interval.value)].append(bar)
        for (symbol, exchange, interval), group in groups.items():
            self.save_columns(symbol, exchange, interval, self._columns(group, BAR_FIELDS))
        return len(bars)

    def load_bars(self, symbol: str, exchange: Exchange, interval: Interval,
                  start: datetime | None = None, end: datetime | None = None) -> list[BarData]:
        table = self.load_table(symbol, exchange, interval.value, start, end)
        if table.num_rows == 0:
            return []
        times = from_ns(table.column("datetime").cast(pa.int64()).to_numpy(), self.tz)
        columns = [table.column(name).to_pylist() for name in BAR_FIELDS]
        # Positional, in BarData's field order (gateway, symbol, exchange, datetime, interval,
        # volume, turnover, open_interest, open, high, low, close): the fastest construction.
        return [
            BarData("DB", symbol, exchange, moment, interval, v, t, oi, o, h, l, c)
            for moment, o, h, l, c, v, t, oi in zip(times, *columns)
        ]

    # ------------------------------------------------------------------ ticks
    def save_ticks(self, ticks: list[TickData]) -> int:
        groups: dict[tuple, list[TickData]] = defaultdict(list)
        for tick in ticks:
            groups[(tick.symbol, tick.exchange)].append(tick)
        for (symbol, exchange), group in groups.items():
            self.save_columns(symbol, exchange, TICK_INTERVAL, self._columns(group, TICK_FIELDS))
        return len(ticks)

    def load_ticks(self, symbol: str, exchange: Exchange, start: datetime | None = None,
                   end: datetime | None = None) -> list[TickData]:
        table = self.load_table(symbol, exchange, TICK_INTERVAL, start, end)
        if table.num_rows == 0:
            return []
        times = from_ns(table.column("datetime").cast(pa.int64()).to_numpy(), self.tz)
        columns = {name: table.column(name).to_pylist() for name in TICK_FIELDS}
        ticks = []
        for row, moment in enumerate(times):
            tick = TickData(gateway_name="DB", symbol=symbol, exchange=exchange,
                            datetime=moment)
            for name, values in columns.items():
                setattr(tick, name, values[row])
            ticks.append(tick)
        return ticks

    def _columns(self, records: list, fields: tuple[str, ...]) -> dict[str, list]:
        """Columns of bars or ticks: one attribute fetch per record, not one per field."""
        rows = list(map(attrgetter("datetime", *fields), records))
        columns = list(zip(*rows))
        times = columns[0]
        if all(moment.tzinfo is not None for moment in times):
            stamps = np.array([moment.timestamp() for moment in times])
            ns = (np.round(stamps * 1e6).astype(np.int64) * 1000).tolist()
        else:  # naive times are China local (vn.py's convention for its database)
            ns = [to_ns(moment, self.tz) for moment in times]
        return {"datetime": ns, **{name: list(columns[i + 1]) for i, name in enumerate(fields)}}

    # ------------------------------------------------------------------ series
    def folder(self, symbol: str, exchange: Exchange, interval: str) -> Path:
        if interval == TICK_INTERVAL:
            return self.root / "ticks" / exchange.value / symbol
        return self.root / "bars" / exchange.value / symbol / interval

    def save_columns(self, symbol: str, exchange: Exchange, interval: str,
                     columns: dict) -> None:
        """Add rows (a datetime column in ns, then numbers; lists or numpy arrays)."""
        new = _dedupe(pa.table(
            {"datetime": pa.array(columns["datetime"], pa.int64()),
             **{k: pa.array(v, pa.float64()) for k, v in columns.items() if k != "datetime"}}
        ))
        if new.num_rows == 0:
            return
        folder = self.folder(symbol, exchange, interval)
        folder.mkdir(parents=True, exist_ok=True)
        parts = _parts(folder)
        held = self.catalogue.get(symbol, exchange.value, interval) if parts else None
        times = new.column("datetime").to_numpy()
        if held and parts and len(parts) < MAX_PARTS and times[0] > to_ns(
            datetime.fromisoformat(held["last"]), self.tz
        ):
            _write_part(folder, _next_part(parts), _as_stored(new))
            count, first = held["count"] + new.num_rows, datetime.fromisoformat(held["first"])
            parts_now = len(parts) + 1
        else:
            merged = _dedupe(pa.concat_tables([self._read(folder, parts), new])) \
                if parts else new
            _write_part(folder, _next_part(parts), _as_stored(merged))
            for old in parts:
                old.unlink(missing_ok=True)
            times = merged.column("datetime").to_numpy()
            count, first, parts_now = merged.num_rows, None, 1
        first_dt = first or from_ns(times[:1], self.tz)[0]
        last_dt = from_ns(times[-1:], self.tz)[0]
        self.catalogue.put(symbol, exchange.value, interval, count, first_dt, last_dt, parts_now)

    def load_table(self, symbol: str, exchange: Exchange, interval: str,
                   start: datetime | None = None, end: datetime | None = None) -> pa.Table:
        """The series as an Arrow table sorted by time (datetime as int64 ns), within
        [start, end]; the fast path for charts, which want columns, not objects."""
        folder = self.folder(symbol, exchange, interval)
        parts = _parts(folder)
        if not parts:
            return pa.table({"datetime": pa.array([], pa.int64())})
        table = self._read(folder, parts)
        times = table.column("datetime").to_numpy()
        low = np.searchsorted(times, to_ns(start, self.tz), "left") if start else 0
        high = np.searchsorted(times, to_ns(end, self.tz), "right") if end else len(times)
        return table.slice(low, high - low)

    def delete(self, symbol: str, exchange: Exchange, interval: str) -> int:
        held = self.catalogue.get(symbol, exchange.value, interval)
        folder = self.folder(symbol, exchange, interval)
        count = held["count"] if held else self.load_table(symbol, exchange, interval).num_rows
        if folder.exists():
            shutil.rmtree(folder)
        self.catalogue.remove(symbol, exchange.value, interval)
        return count

    def series(self) -> list[SeriesInfo]:
        return [
            SeriesInfo(row["symbol"], Exchange(row["exchange"]), row["interval"], row["count"],
                       datetime.fromisoformat(row["first"]), datetime.fromisoformat(row["last"]))
            for row in self.catalogue.rows()
        ]

    def close(self) -> None:
        self.catalogue.close()

    def _read(self, folder: Path, parts: list[Path]) -> pa.Table:
        tables = []
        for part in parts:
            try:
                table = pq.read_table(part)
            except (OSError, pa.ArrowException) as exc:
                raise StoreError(f"cannot read {part}: {exc}") from exc
            tables.append(table.set_column(0, "datetime", table.column(0).cast(pa.int64())))
        return _dedupe(pa.concat_tables(tables)) if len(tables) > 1 else _sorted(tables[0])


def _as_stored(table: pa.Table) -> pa.Table:
    """Timestamps typed as such in the file, so other tools read them as times."""
    stamps = table.column("datetime").cast(pa.timestamp("ns", tz="UTC"))
    return table.set_column(0, "datetime", stamps)


def _sorted(table: pa.Table) -> pa.Table:
    times = table.column("datetime").to_numpy()
    if len(times) > 1 and not np.all(times[1:] > times[:-1]):
        return _dedupe(table)
    return table


def _dedupe(table: pa.Table) -> pa.Table:
    """Sorted by time, one row per time: the last one given (the newest part's) wins."""
    times = table.column("datetime").to_numpy()
    order = np.argsort(times, kind="stable")
    ordered = times[order]
    keep = np.ones(len(ordered), dtype=bool)
    keep[:-1] = ordered[1:] != ordered[:-1]
    return table.take(pa.array(order[keep]))


def _parts(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    return sorted(p for p in folder.iterdir() if _PART.search(p.name))


def _next_part(parts: list[Path]) -> str:
    number = int(_PART.search(parts[-1].name).group(1)) + 1 if parts else 1
    return f"part-{number:06d}.parquet"


def _write_part(folder: Path, name: str, table: pa.Table) -> Path:
    target = folder / name
    temporary = folder / f".{name}.tmp"
    try:
        with open(temporary, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise StoreError(f"cannot write {target}: {exc}") from exc
    return target
