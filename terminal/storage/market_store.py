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
- Damaged data is found, never read. Parts are written with Parquet page checksums (CRC-32)
  and the catalogue keeps the SHA-256 of each part's bytes; every read checks both, and the
  part's columns, and a part that fails raises `DamagedPartError` naming it (that series
  fails, every other one reads). The hash covers what page checksums do not: the footer,
  where a flipped bit can rename a column or change a time zone unnoticed. What the checks
  cost is measured by benchmarks/market_store.py --verification.
  A part found without a recorded hash (written before checksums existed, or left by a
  crash) is read with whatever page checksums it has and its hash recorded then, with a
  warning: from that moment on it is guarded like the others.
- The catalogue is an index of the files plus their hashes. When opened it is checked: tables
  and columns, every row, and against the files (parts on disk not recorded, recorded parts
  gone, series without a row). Anything wrong and it is rebuilt from the parts, keeping the
  hashes of the rows still well-formed; the old one is kept as `catalogue.db.broken-<time>`,
  a WARNING says what was wrong and `repaired` keeps that text for the GUI.
- Where a series came from, when not the market (the simulated exchange's history: "sim"), is
  written in a `source` file beside its parts when its first part is written; the catalogue
  does not hold it (so an older catalogue opens as it is, and a rebuild keeps it). Bars of
  another source are never merged into a series: the save is refused, naming both.
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
import shutil
import threading
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from itertools import repeat
from operator import add, attrgetter, sub
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData, TickData

from terminal.core.timezone import CHINA_TZ, to_ns
from terminal.storage.catalogue import Catalogue, CatalogueError, PartRecord, SeriesRow
from terminal.storage.catalogue_repair import (SeriesFolder, open_checked, rebuild_catalogue,
                                               series_folder_path, series_folders)
from terminal.storage.parts import (DamagedPartError, StoreError, footer_rows, next_part_name,
                                    part_paths, read_part, relative, write_part)

log = logging.getLogger(__name__)

MAX_PARTS = 32
TICK_INTERVAL = "tick"
SOURCE_FILE = "source"      # in a series folder: where its data came from, when not the market
MARKET = ""                 # the source of data from the market (no file)
EXCHANGES = set(Exchange._value2member_map_)

BAR_FIELDS = ("open_price", "high_price", "low_price", "close_price", "volume", "turnover",
              "open_interest")
BAR_INIT_ORDER = ("volume", "turnover", "open_interest", "open_price", "high_price",
                   "low_price", "close_price")  # BarData's own field order
TICK_FIELDS = (
    "last_price", "last_volume", "volume", "turnover", "open_interest", "limit_up",
    "limit_down", "open_price", "high_price", "low_price", "pre_close",
    *(f"{side}_{kind}_{level}" for kind in ("price", "volume") for side in ("bid", "ask")
      for level in range(1, 6)),
)


@dataclass(frozen=True)
class SeriesInfo:
    symbol: str
    exchange: Exchange
    interval: str            # an Interval value ("1m", "d", ...) or "tick"
    count: int
    first: datetime
    last: datetime
    source: str = MARKET     # "sim": made by the simulated exchange, not the market's

    @property
    def simulated(self) -> bool:
        return self.source == "sim"


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
                for second, fraction in zip(seconds.tolist(), fractions.tolist(), strict=True)]
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


def make_bars(symbol: str, exchange: Exchange, interval: Interval, times: list[datetime],
              columns: list[list[float]], gateway_name: str = "DB") -> list[BarData]:
    """BarData as `BarData(gateway_name, symbol, exchange, ...)` makes them, without the
    call; `columns` in BAR_INIT_ORDER.

    The attributes are set in the order its __init__ and __post_init__ set them (so the
    objects keep vn.py's compact shared-key layout), vt_symbol included; a test checks the
    result against normally built bars. Calling the class costs nearly three times as much.
    """
    vt_symbol = f"{symbol}.{exchange.value}"
    new = object.__new__
    bars = []
    append = bars.append
    with _gc_paused():
        for moment, volume, turnover, interest, open_, high, low, close in zip(
                times, *columns, strict=True):
            bar = new(BarData)
            bar.gateway_name = gateway_name
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
    for key, record in zip(zip(*columns, strict=True), records, strict=True):
        groups[key].append(record)
    return groups


@dataclass(frozen=True)
class PartCheck:
    """What `MarketStore.verify` found of one part."""

    path: Path
    key: tuple[str, str, str]   # symbol, exchange value, interval
    problem: str | None         # None: intact
    checksums: bool             # written with page checksums; else its hash alone guards it
    recorded: str | None        # when its hash was recorded

    @property
    def series(self) -> str:
        symbol, exchange, interval = self.key
        return f"{symbol}.{exchange} {interval}"


@dataclass(frozen=True)
class Verification:
    parts: tuple[PartCheck, ...]
    series: int
    bytes: int

    @property
    def damaged(self) -> list[PartCheck]:
        return [p for p in self.parts if p.problem]

    @property
    def hash_only(self) -> list[PartCheck]:
        """Intact parts written before page checksums: guarded by their hash since then."""
        return [p for p in self.parts if not p.problem and not p.checksums]


class MarketStore:
    def __init__(self, root: Path, tz: ZoneInfo = CHINA_TZ,
                 on_repair: Callable[[str], None] | None = None) -> None:
        """`on_repair(text)` hears, once, what a rebuild of the catalogue fixed (the terminal
        raises an alert with it)."""
        self.root = root
        self.on_repair = on_repair
        self.tz = tz
        root.mkdir(parents=True, exist_ok=True)
        self._locks: dict[Path, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._catalogue: Catalogue | None = None
        self._catalogue_guard = threading.RLock()
        self._closed = False
        self.repaired: str | None = None   # what the last rebuild of the catalogue fixed

    @property
    def catalogue(self) -> Catalogue:
        """The index, opened on first use (not before the first paint) and checked against
        the parts on disk; rebuilt from them when anything disagrees."""
        catalogue = self._catalogue
        if catalogue is not None:
            return catalogue
        with self._catalogue_guard:
            if self._closed:
                raise StoreError(f"the market store at {self.root} is closed")
            if self._catalogue is None:
                self._catalogue = self._open_catalogue()
            return self._catalogue

    @property
    def catalogue_path(self) -> Path:
        return self.root / "catalogue.db"

    def _open_catalogue(self) -> Catalogue:
        catalogue, repaired = open_checked(self.catalogue_path, self.root, self.tz, EXCHANGES)
        if repaired:
            self._repaired(repaired)
        return catalogue

    def _repaired(self, text: str) -> None:
        """Say once what a rebuild of the catalogue fixed."""
        self.repaired = text
        log.warning("%s", text)
        if self.on_repair is not None:
            try:
                self.on_repair(text)
            except Exception:  # the report must not undo the repair
                log.exception("could not report the catalogue's repair")

    def _lock(self, folder: Path) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(folder, threading.RLock())

    # ------------------------------------------------------------------ bars
    def save_bars(self, bars: list[BarData], source: str = MARKET) -> int:
        """Add bars; `source` "sim" for the simulated exchange's (see SOURCE_FILE)."""
        if not bars:
            return 0
        groups = _groups(bars, "symbol", "exchange", "interval")
        for (_, _, interval), group in groups.items():
            if interval is None:
                raise StoreError(f"bar of {group[0].vt_symbol} at {group[0].datetime} "
                                 "has no interval")
        for (symbol, exchange, interval), group in groups.items():
            self.save_columns(symbol, exchange, interval.value, self._columns(group, BAR_FIELDS),
                              source)
        return len(bars)

    def load_bars(self, symbol: str, exchange: Exchange, interval: Interval,
                  start: datetime | None = None, end: datetime | None = None) -> list[BarData]:
        table = self.load_table(symbol, exchange, interval.value, start, end)
        if table.num_rows == 0:
            return []
        times = from_ns(table.column("datetime").to_numpy(), self.tz)
        columns = [_values(table.column(name)) for name in BAR_INIT_ORDER]
        return make_bars(symbol, exchange, interval, times, columns)

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
                TickData("DB", symbol, exchange, moment,
                         **dict(zip(TICK_FIELDS, values, strict=True)))
                for moment, *values in zip(times, *columns, strict=True)
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
        return self.root / series_folder_path(symbol, exchange.value, interval)

    def save_columns(self, symbol: str, exchange: Exchange, interval: str,
                     columns: dict, source: str = MARKET) -> None:
        """Add rows (a datetime column in ns, then numbers; lists or numpy arrays), of
        `source` (MARKET, or "sim"): StoreError when the series holds another's."""
        new = _sorted(pa.table(
            {"datetime": pa.array(columns["datetime"], pa.int64()),
             **{k: pa.array(v, pa.float64()) for k, v in columns.items() if k != "datetime"}}
        ))
        if new.num_rows == 0:
            return
        self.catalogue  # noqa: B018 - the property opens (and checks) it before a part is written
        folder = self.folder(symbol, exchange, interval)
        with self._lock(folder):
            self._mark_source(folder, f"{symbol}.{exchange.value} {interval}", source)
            self._save(symbol, exchange, interval, folder, new)

    def source_of(self, symbol: str, exchange: Exchange, interval: str) -> str:
        """Where the series came from: MARKET ("") or "sim"."""
        return _read_source(self.folder(symbol, exchange, interval))

    def _mark_source(self, folder: Path, name: str, source: str) -> None:
        """The series' source, checked against what it holds (a series with parts keeps
        its own) or written for a new one, atomically, before its first part."""
        held = _read_source(folder)
        if part_paths(folder):
            if held != source:
                raise StoreError(
                    f"{name} holds {_source_name(held)} bars; {_source_name(source)} bars are "
                    "not mixed into it (delete the series first to replace it)")
            return
        marker = folder / SOURCE_FILE
        if not source:
            marker.unlink(missing_ok=True)
            return
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{SOURCE_FILE}.tmp"
        try:
            temporary.write_text(source + "\n", encoding="utf-8")
            os.replace(temporary, marker)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise StoreError(f"cannot write {marker}: {exc}") from exc

    def _save(self, symbol: str, exchange: Exchange, interval: str, folder: Path,
              new: pa.Table) -> None:
        """Append `new` as a part when it is later than everything held, else merge it with
        what is held (read, so verified: damaged data is never rewritten as sound)."""
        folder.mkdir(parents=True, exist_ok=True)
        parts = part_paths(folder)
        held = self.catalogue.get(symbol, exchange.value, interval) if parts else None
        times = new.column("datetime").to_numpy()
        row = partial(SeriesRow, symbol, exchange.value, interval)
        if held and parts and times[0] > to_ns(datetime.fromisoformat(held["last"]), self.tz):
            record = write_part(self.root, folder, next_part_name(parts), _as_stored(new))
            count, first = held["count"] + new.num_rows, datetime.fromisoformat(held["first"])
            last = from_ns(times[-1:], self.tz)[0]
            self.catalogue.commit(row(count, first, last, len(parts) + 1), [record])
            if len(parts) + 1 > MAX_PARTS:
                left, added, removed = self._merge_tier(folder)
                self.catalogue.commit(row(count, first, last, left), added, removed)
            return
        merged = _dedupe(pa.concat_tables([self._read(folder, parts), new])) if parts else new
        record = write_part(self.root, folder, next_part_name(parts), _as_stored(merged))
        for old in parts:
            old.unlink(missing_ok=True)
        times = merged.column("datetime").to_numpy()
        first, last = from_ns(times[[0, -1]], self.tz)
        self.catalogue.commit(row(merged.num_rows, first, last, 1), [record],
                              [self._relative(old) for old in parts])

    def load_table(self, symbol: str, exchange: Exchange, interval: str,
                   start: datetime | None = None, end: datetime | None = None) -> pa.Table:
        """The series as an Arrow table sorted by time (datetime as int64 ns), within
        [start, end]; the fast path for charts, which want columns, not objects. Raises
        DamagedPartError naming a part that is not as written."""
        folder = self.folder(symbol, exchange, interval)
        with self._lock(folder):
            parts = part_paths(folder)
            if not parts and not self.catalogue.parts_in(self._relative(folder)):
                return pa.table({"datetime": pa.array([], pa.int64())})
            table = self._read(folder, parts)
        times = table.column("datetime").to_numpy()
        low = np.searchsorted(times, to_ns(start, self.tz), "left") if start else 0
        high = np.searchsorted(times, to_ns(end, self.tz), "right") if end else len(times)
        return table.slice(low, high - low)

    def delete(self, symbol: str, exchange: Exchange, interval: str) -> int:
        """Remove the series, damaged or not; returns the rows it held (for a series the
        catalogue does not list, as its parts' footers state them)."""
        held = self.catalogue.get(symbol, exchange.value, interval)
        folder = self.folder(symbol, exchange, interval)
        with self._lock(folder):
            count = held["count"] if held else \
                sum(footer_rows(part) or 0 for part in part_paths(folder))
            if folder.exists():
                shutil.rmtree(folder)
            self.catalogue.remove(symbol, exchange.value, interval, self._relative(folder))
        return count

    def series(self) -> list[SeriesInfo]:
        """What the catalogue lists. A row that does not parse (the catalogue was changed
        behind the store's back since it was opened) has the catalogue rebuilt."""
        try:
            return self._series_infos(self.catalogue.rows())
        except CatalogueError:                  # damaged since it was opened: open it again
            with self._catalogue_guard:
                if self._catalogue is not None:
                    self._catalogue.close()
                    self._catalogue = None
        except (KeyError, TypeError, ValueError) as exc:
            with self._catalogue_guard:
                self._catalogue, repaired = rebuild_catalogue(
                    self.catalogue, self.catalogue_path, self.root, self.tz, EXCHANGES,
                    [f"a series row cannot be read: {exc}"])
                self._repaired(repaired)
        return self._series_infos(self.catalogue.rows())

    def _series_infos(self, rows: list[dict]) -> list[SeriesInfo]:
        return [
            SeriesInfo(row["symbol"], Exchange(row["exchange"]), row["interval"], row["count"],
                       datetime.fromisoformat(row["first"]), datetime.fromisoformat(row["last"]),
                       _read_source(self.root / series_folder_path(
                           row["symbol"], row["exchange"], row["interval"])))
            for row in rows
        ]

    # ------------------------------------------------------------------ verification
    def verify(self, symbol: str | None = None, exchange: Exchange | None = None,
               interval: str | None = None,
               progress: Callable[[int, int, str], None] | None = None) -> Verification:
        """Read every part on disk (of one symbol, or one series, when given) as a load would:
        hash, page checksums, columns; and look for recorded parts gone from the disk.
        `progress(bytes done, bytes in all, "rb2401.SHFE 1m")` is called before each part (it
        may raise to stop). A part with no recorded hash has it recorded once it reads."""
        catalogue = self.catalogue
        everything = series_folders(self.root, EXCHANGES)
        for row in catalogue.rows():           # listed, but its folder has gone since
            path = series_folder_path(row["symbol"], row["exchange"], row["interval"])
            everything.setdefault(path, SeriesFolder(self.root / path, path, row["symbol"],
                                                     row["exchange"], row["interval"], ()))
        folders = [f for f in everything.values()
                   if (symbol is None or (f.symbol, f.exchange) == (symbol, exchange.value))
                   and (interval is None or f.interval == interval)]
        if symbol is not None and not folders:
            raise ValueError(f"no {interval + ' ' if interval else ''}data for "
                             f"{symbol}.{exchange.value}")
        total = sum(_size(part) for f in folders for part in f.parts)
        done, checks = 0, []
        for series in folders:
            with self._lock(series.folder):
                records = catalogue.parts_in(series.path)
                parts = part_paths(series.folder)
                on_disk = {self._relative(part) for part in parts}
                for path, record in sorted(records.items()):
                    if path not in on_disk:
                        checks.append(PartCheck(self.root / path, series.key,
                                                "it is recorded in the catalogue but missing "
                                                "from the disk", record.checksums,
                                                record.recorded))
                for part in parts:
                    if progress is not None:
                        progress(done, total, series.name)
                    checks.append(self._check_part(series.key, part,
                                                   records.get(self._relative(part))))
                    done += _size(part)
        if progress is not None:
            progress(total, total, "")
        return Verification(tuple(checks), len(folders), total)

    def _check_part(self, key: tuple[str, str, str], part: Path,
                    record: PartRecord | None) -> PartCheck:
        try:
            _, record = self._read_part(part, record)
        except StoreError as exc:
            reason = exc.reason if isinstance(exc, DamagedPartError) else str(exc)
            return PartCheck(part, key, reason, bool(record and record.checksums),
                             record.recorded if record else None)
        return PartCheck(part, key, None, record.checksums, record.recorded)

    def close(self) -> None:
        with self._catalogue_guard:
            self._closed = True
            if self._catalogue is not None:
                self._catalogue.close()
                self._catalogue = None

    # ------------------------------------------------------------------ parts
    def _merge_tier(self, folder: Path) -> tuple[int, list[PartRecord], list[str]]:
        """Merge the appended parts of the smallest size tier that has more than one (tiers
        by powers of four in rows), leaving the first part (the history) alone; returns the
        number of parts left, the part written and those removed. Appended parts never share
        a timestamp, so any of them can be merged, and each row is rewritten at most once per
        tier."""
        parts = part_paths(folder)
        records = self.catalogue.parts_in(self._relative(folder))
        tiers: dict[int, list[Path]] = defaultdict(list)
        for part in parts[1:]:
            record = records.get(self._relative(part))
            rows = record.rows if record is not None and record.rows is not None \
                else footer_rows(part)
            if rows is None:
                raise DamagedPartError(part, "its footer cannot be read")
            tiers[int(np.log(max(rows, 1)) / np.log(4))].append(part)
        chosen = next((tiers[t] for t in sorted(tiers) if len(tiers[t]) > 1), parts[1:])
        record = write_part(self.root, folder, next_part_name(parts),
                            _as_stored(self._read(folder, chosen, check_missing=False)))
        for old in chosen:
            old.unlink(missing_ok=True)
        return len(parts) - len(chosen) + 1, [record], [self._relative(p) for p in chosen]

    def _read(self, folder: Path, parts: list[Path], check_missing: bool = True) -> pa.Table:
        """The parts, verified, as one table (newest part wins a timestamp). A part the
        catalogue records for the folder but the disk lacks fails the read: the series would
        come back with a hole."""
        records = self.catalogue.parts_in(self._relative(folder))
        missing = sorted(records.keys() - {self._relative(part) for part in parts})
        if check_missing and missing:
            raise DamagedPartError(self.root / missing[0], "it is recorded in the catalogue but "
                                                           "missing from the disk")
        tables = []
        for part in parts:
            table, _ = self._read_part(part, records.get(self._relative(part)))
            tables.append(table.set_column(0, "datetime", table.column(0).cast(pa.int64())))
        return _dedupe(pa.concat_tables(tables)) if len(tables) > 1 else _sorted(tables[0])

    def _read_part(self, part: Path, record: PartRecord | None) -> tuple[pa.Table, PartRecord]:
        """One part, verified; a part without a recorded hash gets one once it reads whole."""
        table, checked = read_part(self.root, part, record)
        if checked is not record:
            self.catalogue.record_part(checked)
            log.warning("%s had no recorded hash%s; it reads%s, and its hash is recorded now",
                        part, f" ({record.damaged} when last checked)" if record else "",
                        " with its page checksums verified" if checked.checksums
                        else " (written without page checksums: not verifiable before now)")
        return table, checked

    def _relative(self, path: Path) -> str:
        return relative(self.root, path)


def _read_source(folder: Path) -> str:
    """The source a series folder names ("" for the market's: no file). An unreadable file
    reads as "sim": data that may be simulated is never shown as the market's."""
    try:
        return (folder / SOURCE_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return MARKET
    except (OSError, UnicodeDecodeError):
        return "sim"


def _source_name(source: str) -> str:
    return "simulated" if source == "sim" else (source or "market")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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
