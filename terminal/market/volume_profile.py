"""Volume profile: the volume traded at each price over a run of bars, its point of control
(POC) and its 70% value area, for the whole visible range of a chart or per trading session.

Where inside a bar volume traded is not known: a bar says only its high, its low and how much
traded between them. Each bar's volume is therefore spread evenly over the ticks of its
high-low range, and a row of several ticks takes the share of the ticks it holds. A profile
is as fine as its bars: when 1-minute bars are at hand for a longer timeframe, build the
profile from them rather than from the longer bars.

Rows are N ticks high and aligned on the price grid (a row starts at a multiple of N ticks), so
a profile recomputed over a panned range keeps its rows where they were. N is the trader's,
or the smallest of 1, 2, 5, 10, 20, 50, ... ticks that leaves at most `MAX_ROWS` rows.

- POC: the row of most volume. Rows equal to it (within float noise, a billionth of it) are
  tied; the tied row nearest the middle of the profile's range wins, the lower of two equally
  near ones.
- Value area (the CBOT method, as in Dalton's *Mind over Markets*): start with the POC row;
  compare the volume of the next two rows above the area with the next two below and add the
  larger pair; repeat until the area holds at least 70% of the total volume. On a tie (within
  a billionth) the pair above is added. Near an end a "pair" is the one row left, and once a
  side has no rows left the other side is added.

Vectorised: each bar adds its per-tick volume at its low and takes it off past its high
(`np.bincount`), one cumulative sum gives the volume at every tick; 100,000 bars take a few
milliseconds. No Python step per bar; the value area takes one step per pair of rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import numpy as np

from terminal.core.trading_day import trading_day
from terminal.market.prices import decimals_for

VALUE_AREA_SHARE = 0.70
MAX_ROWS = 120                # rows of a profile of the visible range, at the most
SESSION_ROWS = 60             # ... and of a typical session (sessions drawn side by side)
TIE = 1e-9                    # volumes this close (relative) are equal: float noise
_NICE = (1, 2, 5)
_NS_PER_HOUR = 3_600_000_000_000

# A chart's profile settings, as a chart's state, a workspace and a chart template keep them.
MODES = ("off", "visible", "session")     # none; over the visible range; one per trading session
MAX_ROW_TICKS = 100_000
OFF = {"mode": "off", "ticks_per_row": None}


def check_mode(mode: object) -> str:
    if mode not in MODES:
        raise ValueError(f"volume profile mode must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def check_row_ticks(ticks: object) -> int | None:
    """Ticks a row as kept: None (or 0) is automatic."""
    if ticks is not None and (isinstance(ticks, bool) or not isinstance(ticks, int)
                              or not 0 <= ticks <= MAX_ROW_TICKS):
        raise ValueError(f"ticks a row must be a whole number from 0 (automatic) to "
                         f"{MAX_ROW_TICKS}, got {ticks!r}")
    return ticks or None


def check_settings(settings: object) -> dict:
    """{"mode", "ticks_per_row"} checked (a missing mode is off, a missing row size automatic);
    ValueError names the first value that is not right, or a key it does not know."""
    if not isinstance(settings, Mapping):
        raise ValueError(f"volume profile settings must be a mapping, got {settings!r:.60}")
    unknown = sorted(str(key) for key in settings if key not in OFF)
    if unknown:
        raise ValueError(f"volume profile settings have no {', '.join(map(repr, unknown))} "
                         f"(only {', '.join(OFF)})")
    return {"mode": check_mode(settings.get("mode", "off")),
            "ticks_per_row": check_row_ticks(settings.get("ticks_per_row"))}


@dataclass(frozen=True)
class Profile:
    """Volume per price row, lowest row first. Row i holds the ticks
    (first_row + i) * ticks_per_row ... + ticks_per_row - 1 of the grid of `tick`."""
    tick: float
    ticks_per_row: int
    first_row: int
    volumes: np.ndarray
    poc: int                  # row index of the point of control
    value_low: int            # lowest row of the value area
    value_high: int           # highest row of the value area

    @property
    def rows(self) -> int:
        return len(self.volumes)

    @property
    def row_height(self) -> float:
        return self.ticks_per_row * self.tick

    @property
    def total(self) -> float:
        return float(self.volumes.sum())

    @property
    def value_area_volume(self) -> float:
        return float(self.volumes[self.value_low:self.value_high + 1].sum())

    def row_low(self, row: int) -> float:
        """The lowest price of a row (a price on the tick grid)."""
        ticks = (self.first_row + row) * self.ticks_per_row
        return round(ticks * self.tick, decimals_for(self.tick))

    def row_high(self, row: int) -> float:
        """The highest price of a row."""
        ticks = (self.first_row + row + 1) * self.ticks_per_row - 1
        return round(ticks * self.tick, decimals_for(self.tick))

    @property
    def poc_price(self) -> float:
        """The middle of the POC row: its price when rows are one tick high."""
        return (self.row_low(self.poc) + self.row_high(self.poc)) / 2

    @property
    def value_area_high(self) -> float:
        return self.row_high(self.value_high)

    @property
    def value_area_low(self) -> float:
        return self.row_low(self.value_low)

    def edges(self) -> np.ndarray:
        """The rows' bottom edges and the top one (rows + 1 prices): a row is drawn from its
        lowest tick's price less half a tick to its highest tick's price plus half a tick."""
        ticks = (self.first_row + np.arange(self.rows + 1)) * self.ticks_per_row
        return (ticks - 0.5) * self.tick


@dataclass(frozen=True)
class SessionProfile:
    day: date                 # the trading day
    start: int                # its first bar (index into the arrays given)
    stop: int                 # past its last bar
    profile: Profile | None   # None: nothing traded


def auto_ticks_per_row(span_ticks: int, max_rows: int = MAX_ROWS) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... ticks a row that leaves at most `max_rows`
    rows over `span_ticks` ticks (row alignment may add one)."""
    if span_ticks <= max_rows:
        return 1
    scale = 1
    while True:
        for step in _NICE:
            if math.ceil(span_ticks / (step * scale)) <= max_rows:
                return step * scale
        scale *= 10


def _check(tick: float, ticks_per_row: int | None, share: float) -> None:
    if not (math.isfinite(tick) and tick > 0):
        raise ValueError(f"price tick must be a number above 0, got {tick!r}")
    if ticks_per_row is not None and (int(ticks_per_row) != ticks_per_row or ticks_per_row < 1):
        raise ValueError(f"ticks a row must be a whole number from 1, got {ticks_per_row!r}")
    if not 0 < share <= 1:
        raise ValueError(f"value area share must be above 0 and at most 1, got {share!r}")


def _ticks(high, low, volume, tick: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top and bottom tick of each bar that traded, and its volume."""
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    volume = np.asarray(volume, dtype=np.float64)
    keep = np.isfinite(high) & np.isfinite(low) & np.isfinite(volume) & (volume > 0)
    if not keep.all():
        high, low, volume = high[keep], low[keep], volume[keep]
    a, b = np.rint(high / tick).astype(np.int64), np.rint(low / tick).astype(np.int64)
    return np.maximum(a, b), np.minimum(a, b), volume


def _at_ticks(top: np.ndarray, bottom: np.ndarray, volume: np.ndarray, origin: int,
              cells: int) -> np.ndarray:
    """Volume at each of `cells` ticks from `origin`: each bar's spread evenly over its own."""
    per_tick = volume / (top - bottom + 1)
    change = np.bincount(bottom - origin, per_tick, minlength=cells + 1)
    change -= np.bincount(top - origin + 1, per_tick, minlength=cells + 1)
    return np.cumsum(change[:cells])


def _profile(at_tick: np.ndarray, origin: int, lowest: int, highest: int, tick: float,
             ticks_per_row: int | None, share: float, max_rows: int) -> Profile:
    """The profile of the volume at ticks `origin`... (traded from `lowest` to `highest`)."""
    n = int(ticks_per_row) if ticks_per_row else auto_ticks_per_row(highest - lowest + 1,
                                                                     max_rows)
    first_row = lowest // n
    rows = (highest - first_row * n) // n + 1
    cells = np.zeros(rows * n)
    skip = lowest - first_row * n                     # ticks of the first row below `lowest`
    cells[skip:skip + highest - lowest + 1] = at_tick[lowest - origin:highest - origin + 1]
    np.maximum(cells, 0.0, out=cells)                 # float noise below zero
    volumes = cells.reshape(rows, n).sum(axis=1)
    poc = point_of_control(volumes)
    value_low, value_high = value_area(volumes, poc, share)
    return Profile(float(tick), n, first_row, volumes, poc, value_low, value_high)


def build(high, low, volume, tick: float, ticks_per_row: int | None = None,
          share: float = VALUE_AREA_SHARE, max_rows: int = MAX_ROWS) -> Profile | None:
    """The profile of the bars given (numpy arrays, any order); None when nothing traded.
    Bars with no volume, or a price that is not a number, add nothing."""
    _check(tick, ticks_per_row, share)
    top, bottom, volume = _ticks(high, low, volume, tick)
    if not len(volume):
        return None
    lowest, highest = int(bottom.min()), int(top.max())
    at_tick = _at_ticks(top, bottom, volume, lowest, highest - lowest + 1)
    return _profile(at_tick, lowest, lowest, highest, tick, ticks_per_row, share, max_rows)


class RangeProfiles:
    """Profiles of ranges of one long series, at a cost that does not grow with the range:
    the volume at each tick is kept per block of `BLOCK` bars, so a range costs the bars at
    its two ends (under two blocks) and one sum over the blocks between, not a pass over
    every bar (a million bars on screen: about 2 ms, not 35). A changed bar (a live one)
    rebuilds its own block only; a price beyond the ticks kept rebuilds them all."""

    BLOCK = 4096

    def __init__(self, tick: float) -> None:
        _check(tick, None, VALUE_AREA_SHARE)
        self.tick = tick
        self._origin = 0
        self._blocks = np.zeros((0, 0))           # per-tick volume of each block
        self._limits = np.zeros((0, 2), np.int64)  # lowest and highest tick of each block
        self._valid = 0                            # blocks still right

    def changed(self, index: int) -> None:
        """Bar `index` changed or was added."""
        self._valid = min(self._valid, index // self.BLOCK)

    def profile(self, high: np.ndarray, low: np.ndarray, volume: np.ndarray, first: int,
                stop: int, ticks_per_row: int | None = None,
                share: float = VALUE_AREA_SHARE, max_rows: int = MAX_ROWS,
                extra: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
                ) -> Profile | None:
        """`build` of the bars [first, stop) of the whole series' arrays given, and of the
        `extra` bars (high, low, volume) if any (live ones not in the series)."""
        size = self.BLOCK
        inner_first, inner_stop = -(-first // size), stop // size
        if inner_stop - inner_first < 2:
            if extra is not None:
                return build(*(np.r_[column[first:stop], more] for column, more
                               in zip((high, low, volume), extra, strict=True)),
                             self.tick, ticks_per_row, share, max_rows)
            return build(high[first:stop], low[first:stop], volume[first:stop], self.tick,
                         ticks_per_row, share, max_rows)
        _check(self.tick, ticks_per_row, share)
        self._ensure(high, low, volume, inner_stop)
        ends = [_ticks(high[a:b], low[a:b], volume[a:b], self.tick)
                for a, b in ((first, inner_first * size), (inner_stop * size, stop))]
        if extra is not None:
            ends.append(_ticks(*extra, self.tick))
        limits = self._limits[inner_first:inner_stop]
        traded = limits[:, 0] <= limits[:, 1]
        lows = [int(limits[traded, 0].min())] if traded.any() else []
        highs = [int(limits[traded, 1].max())] if traded.any() else []
        for top, bottom, _ in ends:
            if len(top):
                lows.append(int(bottom.min()))
                highs.append(int(top.max()))
        if not lows:
            return None
        lowest, highest = min(lows), max(highs)
        if lowest < self._origin or highest >= self._origin + self._blocks.shape[1]:
            self._valid = 0                        # outside the ticks kept: lay them out again
            self._ensure(high, low, volume, inner_stop, (lowest, highest))
        cells = self._blocks.shape[1]
        at_tick = self._blocks[inner_first:inner_stop].sum(axis=0)
        for top, bottom, traded_volume in ends:
            if len(top):
                at_tick += _at_ticks(top, bottom, traded_volume, self._origin, cells)
        return _profile(at_tick, self._origin, lowest, highest, self.tick, ticks_per_row,
                        share, max_rows)

    def _ensure(self, high, low, volume, blocks: int,
                needed: tuple[int, int] | None = None) -> None:
        """Blocks [0, blocks) right; their ticks cover every bar so far (and `needed`), with
        a tenth to spare each side for prices still to come."""
        size = self.BLOCK
        if self._valid >= blocks and len(self._blocks) >= blocks and needed is None:
            return
        if self._valid == 0:
            top, bottom, _ = _ticks(high, low, volume, self.tick)
            if not len(top):
                top = bottom = np.zeros(1, np.int64)
            lowest, highest = int(bottom.min()), int(top.max())
            if needed:
                lowest, highest = min(lowest, needed[0]), max(highest, needed[1])
            spare = (highest - lowest) // 10 + 1
            self._origin = lowest - spare
            self._blocks = np.zeros((max(blocks, 1), highest - lowest + 1 + 2 * spare))
            self._limits = np.zeros((max(blocks, 1), 2), np.int64)
        elif len(self._blocks) < blocks:
            grow = max(blocks, 2 * len(self._blocks))
            self._blocks = np.vstack([self._blocks, np.zeros((grow - len(self._blocks),
                                                              self._blocks.shape[1]))])
            self._limits = np.vstack([self._limits, np.zeros((grow - len(self._limits), 2),
                                                             np.int64)])
        cells = self._blocks.shape[1]
        for block in range(self._valid, blocks):
            part = slice(block * size, (block + 1) * size)
            top, bottom, traded = _ticks(high[part], low[part], volume[part], self.tick)
            if len(top) and (bottom.min() < self._origin or top.max() >= self._origin + cells):
                self._valid = 0                    # a price beyond the ticks kept
                self._ensure(high, low, volume, blocks, (int(bottom.min()), int(top.max())))
                return
            self._blocks[block] = _at_ticks(top, bottom, traded, self._origin, cells) \
                if len(top) else 0.0
            self._limits[block] = (bottom.min(), top.max()) if len(top) else (1, 0)
        self._valid = max(self._valid, blocks)


def point_of_control(volumes: np.ndarray) -> int:
    """The row of most volume; of tied rows, the one nearest the middle (the lower of two)."""
    most = float(volumes.max())
    tied = np.flatnonzero(volumes >= most * (1 - TIE))
    middle = (len(volumes) - 1) / 2
    return int(tied[np.argmin(np.abs(tied - middle))])


def value_area(volumes: np.ndarray, poc: int, share: float = VALUE_AREA_SHARE
               ) -> tuple[int, int]:
    """The lowest and highest rows of the value area around `poc` (the module's rule)."""
    rows = volumes.tolist()
    target = share * sum(rows) * (1 - TIE)
    low = high = poc
    held = rows[poc]
    while held < target:
        above = rows[high + 1:high + 3]
        below = rows[max(low - 2, 0):low]
        if not above and not below:
            break
        if below and (not above or sum(below) > sum(above) * (1 + TIE)):
            low -= len(below)
            held += sum(below)
        else:
            high += len(above)
            held += sum(above)
    return low, high


def trading_days(times_ns: np.ndarray, tz: tzinfo) -> np.ndarray:
    """The trading day of each bar (ordinal days, `date.toordinal`) by `core.trading_day`: the
    night session belongs to the next trading day. `times_ns`: bar starts, ns since the epoch.
    Asked once per clock hour (the rule changes only on the hour, in zones a whole number of
    hours from UTC, such as China's), so a million bars cost a few thousand calls."""
    times_ns = np.asarray(times_ns, dtype=np.int64)
    if not len(times_ns):
        return np.empty(0, np.int64)
    hours = times_ns // _NS_PER_HOUR
    starts = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]])
    days = [trading_day(datetime.fromtimestamp(int(hour) * 3600, tz)).toordinal()
            for hour in hours[starts]]
    return np.repeat(np.array(days, np.int64), np.diff(np.r_[starts, len(times_ns)]))


def sessions(days: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of bars of one trading day (bars in time order)."""
    if not len(days):
        return []
    starts = np.flatnonzero(np.r_[True, days[1:] != days[:-1]])
    return list(zip(starts.tolist(), np.r_[starts[1:], len(days)].tolist(), strict=True))


def session_row_ticks(high, low, spans: list[tuple[int, int]], tick: float,
                      rows: int = SESSION_ROWS) -> int:
    """One row size for sessions drawn side by side: the typical (median) session's range
    in about `rows` rows. `spans`: consecutive runs that cover the arrays (`sessions`)."""
    spans = [(a, b) for a, b in spans if b > a]
    if not spans:
        return 1
    starts = np.array([a for a, _ in spans])
    ranges = np.fmax.reduceat(np.asarray(high, np.float64), starts) - \
        np.fmin.reduceat(np.asarray(low, np.float64), starts)
    ranges = ranges[np.isfinite(ranges)]
    if not len(ranges):
        return 1
    return auto_ticks_per_row(round(float(np.median(ranges)) / tick) + 1, rows)


def by_session(times_ns, high, low, volume, tick: float, tz: tzinfo,
               ticks_per_row: int | None = None, share: float = VALUE_AREA_SHARE,
               days: np.ndarray | None = None) -> list[SessionProfile]:
    """One profile per trading day of the bars (in time order), all with one row size (the
    trader's, or `session_row_ticks`'). `days`: their `trading_days`, when already known."""
    days = trading_days(times_ns, tz) if days is None else days
    spans = sessions(days)
    n = ticks_per_row or session_row_ticks(high, low, spans, tick)
    return [SessionProfile(date.fromordinal(int(days[a])), a, b,
                           build(high[a:b], low[a:b], volume[a:b], tick, n, share))
            for a, b in spans]


def bars_of_minutes(bar_times: np.ndarray, minute_times: np.ndarray, daily: bool,
                    tz: tzinfo) -> np.ndarray:
    """Which chart bar each 1-minute bar falls in (-1: none), to build a longer timeframe's
    profile from its minutes. Intraday bars are labelled by their start and hold the minutes
    up to the next bar's start; daily bars (labelled by the trading day at midnight) hold the
    minutes of their trading day, night session included. Both inputs in time order."""
    bar_times = np.asarray(bar_times, np.int64)
    minute_times = np.asarray(minute_times, np.int64)
    if not len(bar_times):
        return np.full(len(minute_times), -1, np.int64)
    if not daily:
        return np.searchsorted(bar_times, minute_times, "right").astype(np.int64) - 1
    bar_days = np.array([datetime.fromtimestamp(int(t) // 10**9, tz).date().toordinal()
                         for t in bar_times], np.int64)
    minute_days = trading_days(minute_times, tz)
    index = np.minimum(np.searchsorted(bar_days, minute_days, "left"), len(bar_days) - 1)
    return np.where(bar_days[index] == minute_days, index, -1).astype(np.int64)


def infer_tick(prices: np.ndarray, limit: int = 20_000) -> float | None:
    """The price tick the bars show, for a symbol whose contract is not known: the smallest
    gap between distinct prices (of the last `limit`, to 8 decimals), to 10 significant digits.
    None when the prices show no gap."""
    prices = np.asarray(prices, dtype=np.float64)[-limit:]
    prices = np.unique(np.round(prices[np.isfinite(prices)], 8))
    if len(prices) < 2:
        return None
    gap = float(np.diff(prices).min())
    return float(f"{gap:.10g}") if gap > 0 else None
