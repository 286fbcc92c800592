"""Bars and ticks in Parquet, one folder per series, with an SQLite catalogue.

Layout under the store's root:
    bars/<EXCHANGE>/<symbol>/<interval>/part-000001.parquet ...
    ticks/<EXCHANGE>/<symbol>/part-000001.parquet ...
    catalogue.db

- Every file is written to a temporary name, flushed and renamed, so a crash leaves either the
  old file or the new one, never half of one.
- New data later than everything held is appended as a new part: live recording never
  rewrites years of history. When a series has gathered too many parts, appended parts of
  about the same size are merged (size tiers), never the first part that holds the history.
  Data that overlaps what is held is merged and the series rewritten as one part.
- One store object serves every thread of the process; writes to a series, and reads of it,
  take that series' lock, so a compaction never removes a part under a reader.
- The catalogue is an index of the files: when it is damaged it is moved aside and rebuilt
  from them.
- Reading concatenates the parts in order and keeps, for each timestamp, the row of the newest
  part; so parts left behind by a crash mid-compaction change nothing and go at the next one.
- Objects handed in are only read, never changed (vnpy_sqlite changes the bars it saves).
- A million bars go through in about a second each way, so no step does Python work per
  field of every bar: columns are fetched one attribute at a time, datetimes are converted
  with vectorised zone arithmetic, and loaded bars are filled in without calling BarData's
  __init__ (see `_bars`). benchmarks/market_store.py measures it against vnpy_sqlite.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import shutil
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import repeat
from operator import add, attrgetter, sub
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData, TickData

from terminal.storage.catalogue import Catalogue, CatalogueError

log = logging.getLogger(__name__)

CHINA_TZ = ZoneInfo("Asia/Shanghai")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_PARTS = 32
TICK_INTERVAL = "tick"
_PART = re.compile(r"part-(\d{6})\.parquet$")

BAR_FIELDS = ("open_price", "high_price", "low_price", "close_price", "volume", "turnover",
              "open_interest")
_BAR_INIT_ORDER = ("volume", "turnover", "open_interest", "open_price", "high_price",
                   "low_price", "close_price")  # BarData's own field order
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


def from_ns(values: np.ndarray, tz: ZoneInfo) -> list[datetime]:
    """Aware datetimes in `tz` for nanoseconds since the epoch (to the microsecond, as far as
    datetime goes).

    pandas finds the wall-clock times in one vectorised step; Python then only adds each, as
    a timedelta, to midnight 1970-01-01 in `tz`, which needs no zone lookup per time. That
    gives fold=0, wrong only for a wall time that occurs twice (the hour clocks go back), so
    a series holding one is converted time by time instead.
    """
    import pandas as pd      # here: the terminal paints its window before pandas loads

    micros = np.asarray(values, np.int64) // 1000
    wall = pd.DatetimeIndex(micros.view("datetime64[us]"), tz="UTC").tz_convert(tz) \
        .tz_localize(None)
    if _ambiguous(wall, tz):
        seconds, fractions = np.divmod(micros, 1_000_000)
        return [datetime.fromtimestamp(second, tz).replace(microsecond=fraction)
                for second, fraction in zip(seconds.tolist(), fractions.tolist())]
    deltas = wall.as_unit("us").asi8.view("timedelta64[us]").astype(object)
    return list(map(add, repeat(datetime(1970, 1, 1, tzinfo=tz)), deltas))


def to_ns_array(times: list[datetime], naive_tz: ZoneInfo = CHINA_TZ) -> np.ndarray:
    """`to_ns` of many datetimes, vectorised when they share one zone (or all are naive,
    taken as `naive_tz`): subtracting midnight 1970-01-01 of that same zone gives wall-clock
    offsets without a zone lookup per time, and pandas localises them in one step. Mixed
    zones, other zone types, datetime subclasses (a pandas Timestamp subtracts as an instant,
    not a wall clock) and wall times that occur twice or never go time by time."""
    zones = list(map(attrgetter("tzinfo"), times))
    zone = zones[0] if zones else None
    target = naive_tz if zone is None else zone
    plain = list(map(type, times)).count(datetime) == len(times)
    if plain and zones.count(zone) == len(zones) and isinstance(target, (ZoneInfo, timezone)):
        import pandas as pd

        origin = datetime(1970, 1, 1, tzinfo=zone)
        micros = pa.array(list(map(sub, times, repeat(origin))), pa.duration("us"))
        wall = pd.DatetimeIndex(micros.to_numpy(zero_copy_only=False).view("datetime64[us]"))
        stamps = wall.tz_localize(target, ambiguous="NaT", nonexistent="NaT")
        if not stamps.isna().any():
            return stamps.as_unit("ns").asi8
    return np.array([to_ns(moment, naive_tz) for moment in times], np.int64)


def _ambiguous(wall, tz: ZoneInfo) -> bool:
    """Whether `wall` (a pandas DatetimeIndex) holds a time that occurs twice in `tz`."""
    return bool(wall.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").isna().any())


@contextmanager
def _gc_paused():
    """Creating a million objects sets off the cyclic collector again and again, each pass
    over every object alive (costing several times the building itself); none of them form
    a cycle, so collection waits until they are built."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _bars(symbol: str, exchange: Exchange, interval: Interval, times: list[datetime],
          columns: list[list[float]]) -> list[BarData]:
    """BarData as `BarData("DB", symbol, exchange, ...)` makes them, without the call.

    The attributes are set in the order its __init__ and __post_init__ set them (so the
    objects keep vn.py's compact shared-key layout), vt_symbol included; a test checks the
    result against normally built bars. Calling the class costs nearly three times as much.
    """
    vt_symbol = f"{symbol}.{exchange.value}"
    new = object.__new__
    bars = []
    append = bars.append
    with _gc_paused():
        for moment, volume, turnover, interest, open_, high, low, close in zip(times, *columns):
            bar = new(BarData)
            bar.gateway_name = "DB"
            bar.symbol = symbol
            bar.exchange = exchange
            bar.datetime = moment
            bar.interval = interval
            bar.volume = volume
            bar.turnover = turnover
            bar.open_interest = interest
            bar.open_price = open_
            bar.high_price = high
            bar.low_price = low
            bar.close_price = close
            bar.vt_symbol = vt_symbol
            append(bar)
    return bars


def _values(column: pa.ChunkedArray) -> list:
    """Python numbers of a column, through numpy (a fifth faster than Arrow's to_pylist); a
    column with gaps keeps them as None."""
    return column.to_pylist() if column.null_count else column.to_numpy().tolist()


def _groups(records: list, *names: str) -> dict[tuple, list]:
    """Records by their values of `names`, in order. One pass per name, and no hashing when,
    as usual, all belong to one series (hashing an Enum member runs Python code)."""
    columns = [list(map(attrgetter(name), records)) for name in names]
    if all(column.count(column[0]) == len(column) for column in columns):
        return {tuple(column[0] for column in columns): records}
    groups: dict[tuple, list] = defaultdict(list)
    for key, record in zip(zip(*columns), records):
        groups[key].append(record)
    return groups


class MarketStore:
    def __init__(self, root: Path, tz: ZoneInfo = CHINA_TZ) -> None:
        self.root = root
        self.tz = tz
        root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[Path, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._catalogue: Catalogue | None = None
        self._catalogue_guard = threading.Lock()
        self._closed = False

    @property
    def catalogue(self) -> Catalogue:
        """The index, opened on first use (sqlite-utils imports pandas: not before the first
        paint); a damaged one is moved aside and rebuilt from the files, a missing one built."""
        catalogue = self._catalogue
        if catalogue is not None:
            return catalogue
        with self._catalogue_guard:
            if self._closed:
                raise StoreError(f"the market store at {self.root} is closed")
            if self._catalogue is None:
                self._catalogue = self._open_catalogue()
            return self._catalogue

    def _open_catalogue(self) -> Catalogue:
        path = self.root / "catalogue.db"
        existed = path.exists()
        try:
            catalogue = Catalogue(path)
        except CatalogueError as exc:
            aside = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
            log.error("%s; moved to %s and rebuilt from the data files", exc, aside)
            path.replace(aside)
            for suffix in ("-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            catalogue = Catalogue(path)
            existed = False
        if not existed:
            self._rebuild_into(catalogue)
        return catalogue

    def _lock(self, folder: Path) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(folder, threading.RLock())

    def rebuild_catalogue(self) -> int:
        """Index every series found on disk; returns how many. A series whose files cannot be
        read is left out of the index and logged."""
        return self._rebuild_into(self.catalogue)

    def _rebuild_into(self, catalogue: Catalogue) -> int:
        found = 0
        folders = [(f, f.parent.parent.name, f.parent.name, f.name)
                   for f in self.root.glob("bars/*/*/*") if f.is_dir()]
        folders += [(f, f.parent.name, f.name, TICK_INTERVAL)
                    for f in self.root.glob("ticks/*/*") if f.is_dir()]
        for folder, exchange, symbol, interval in folders:
            parts = _parts(folder)
            if not parts or exchange not in Exchange._value2member_map_:
                continue
            try:
                times = self._read(folder, parts).column("datetime").to_numpy()
            except StoreError as exc:
                log.error("not indexed: %s", exc)
                continue
            first, last = from_ns(times[[0, -1]], self.tz)
            catalogue.put(symbol, exchange, interval, len(times), first, last, len(parts))
            found += 1
        return found

    # ------------------------------------------------------------------ bars
    def save_bars(self, bars: list[BarData]) -> int:
        if not bars:
            return 0
        groups = _groups(bars, "symbol", "exchange", "interval")
        for (symbol, exchange, interval), group in groups.items():
            if interval is None:
                raise StoreError(f"bar of {group[0].vt_symbol} at {group[0].datetime} "
                                 "has no interval")
        for (symbol, exchange, interval), group in groups.items():
            self.save_columns(symbol, exchange, interval.value, self._columns(group, BAR_FIELDS))
        return len(bars)

    def load_bars(self, symbol: str, exchange: Exchange, interval: Interval,
                  start: datetime | None = None, end: datetime | None = None) -> list[BarData]:
        table = self.load_table(symbol, exchange, interval.value, start, end)
        if table.num_rows == 0:
            return []
        times = from_ns(table.column("datetime").to_numpy(), self.tz)
        columns = [_values(table.column(name)) for name in _BAR_INIT_ORDER]
        return _bars(symbol, exchange, interval, times, columns)

    # ------------------------------------------------------------------ ticks
    def save_ticks(self, ticks: list[TickData]) -> int:
        if not ticks:
            return 0
        for (symbol, exchange), group in _groups(ticks, "symbol", "exchange").items():
            self.save_columns(symbol, exchange, TICK_INTERVAL, self._columns(group, TICK_FIELDS))
        return len(ticks)

    def load_ticks(self, symbol: str, exchange: Exchange, start: datetime | None = None,
                   end: datetime | None = None) -> list[TickData]:
        table = self.load_table(symbol, exchange, TICK_INTERVAL, start, end)
        if table.num_rows == 0:
            return []
        times = from_ns(table.column("datetime").to_numpy(), self.tz)
        columns = [_values(table.column(name)) for name in TICK_FIELDS]
        with _gc_paused():
            return [
                TickData("DB", symbol, exchange, moment, **dict(zip(TICK_FIELDS, values)))
                for moment, *values in zip(times, *columns)
            ]

    def _columns(self, records: list, fields: tuple[str, ...]) -> dict:
        """Columns of bars or ticks, one attribute at a time: no tuple per record (those
        would set off the cyclic collector over every object alive). Naive times are China
        local, vn.py's convention for its database."""
        times = list(map(attrgetter("datetime"), records))
        return {"datetime": to_ns_array(times, self.tz),
                **{name: list(map(attrgetter(name), records)) for name in fields}}

    # ------------------------------------------------------------------ series
    def folder(self, symbol: str, exchange: Exchange, interval: str) -> Path:
        if interval == TICK_INTERVAL:
            return self.root / "ticks" / exchange.value / symbol
        return self.root / "bars" / exchange.value / symbol / interval

    def save_columns(self, symbol: str, exchange: Exchange, interval: str,
                     columns: dict) -> None:
        """Add rows (a datetime column in ns, then numbers; lists or numpy arrays)."""
        new = _sorted(pa.table(
            {"datetime": pa.array(columns["datetime"], pa.int64()),
             **{k: pa.array(v, pa.float64()) for k, v in columns.items() if k != "datetime"}}
        ))
        if new.num_rows == 0:
            return
        folder = self.folder(symbol, exchange, interval)
        with self._lock(folder):
            self._save(symbol, exchange, interval, folder, new)

    def _save(self, symbol: str, exchange: Exchange, interval: str, folder: Path,
              new: pa.Table) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        parts = _parts(folder)
        held = self.catalogue.get(symbol, exchange.value, interval) if parts else None
        times = new.column("datetime").to_numpy()
        if held and parts and times[0] > to_ns(datetime.fromisoformat(held["last"]), self.tz):
            _write_part(folder, _next_part(parts), _as_stored(new))
            count, first = held["count"] + new.num_rows, datetime.fromisoformat(held["first"])
            parts_now = len(parts) + 1
            if parts_now > MAX_PARTS:
                parts_now = self._merge_tier(folder)
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
        with self._lock(folder):
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
        with self._lock(folder):
            count = held["count"] if held else \
                self.load_table(symbol, exchange, interval).num_rows
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
        with self._catalogue_guard:
            self._closed = True
            if self._catalogue is not None:
                self._catalogue.close()
                self._catalogue = None

    def _merge_tier(self, folder: Path) -> int:
        """Merge the appended parts of the smallest size tier that has more than one (tiers
        by powers of four in rows), leaving the first part (the history) alone; returns the
        number of parts left. Appended parts never share a timestamp, so any of them can be
        merged, and each row is rewritten at most once per tier."""
        parts = _parts(folder)
        tiers: dict[int, list[Path]] = defaultdict(list)
        for part in parts[1:]:
            try:
                rows = pq.read_metadata(part).num_rows
            except (OSError, pa.ArrowException) as exc:
                raise StoreError(f"cannot read {part}: {exc}") from exc
            tiers[int(np.log(max(rows, 1)) / np.log(4))].append(part)
        chosen = next((tiers[t] for t in sorted(tiers) if len(tiers[t]) > 1), parts[1:])
        _write_part(folder, _next_part(parts), _as_stored(self._read(folder, chosen)))
        for old in chosen:
            old.unlink(missing_ok=True)
        return len(parts) - len(chosen) + 1

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


def _encoding(table: pa.Table) -> dict:
    """Prices sit on the tick grid, with few distinct values: dictionaries shrink them and
    read fast. Times are sorted and evenly spaced: deltas store them in almost nothing. For
    the other columns (volumes, turnover, open interest) dictionaries gained nothing."""
    return {"compression": "zstd",
            "use_dictionary": [name for name in table.column_names if "price" in name],
            "column_encoding": {"datetime": "DELTA_BINARY_PACKED"}}


def _write_part(folder: Path, name: str, table: pa.Table) -> Path:
    target = folder / name
    temporary = folder / f".{name}.tmp"
    try:
        with open(temporary, "wb") as handle:
            pq.write_table(table, handle, **_encoding(table))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise StoreError(f"cannot write {target}: {exc}") from exc
    return target
