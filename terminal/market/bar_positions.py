"""Where a time falls on a chart whose X is the bar index, and back: how a drawing anchored on
time and price lands on the right bars at every timeframe.

A time inside the history maps to the index of the bar holding it (the last bar starting at
or before it; a time in a break maps to the bar before the break), so an anchor placed on a
1-minute bar lands on the 5-minute or daily bar that holds that minute. Before the first bar
and past the end of the last one, X goes on at one bar per bar length of the timeframe, so a
line drawn into the future keeps its slope. Daily bars are matched by trading day (a night
session's minutes belong to the next business day's bar) and extrapolated by business days.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from terminal.core.trading_day import EVENING
from terminal.market.bar_series import BarSeries

NS_PER_MINUTE = 60_000_000_000
NS_PER_DAY = 86_400_000_000_000
_EVENING_NS = (EVENING.hour * 60 + EVENING.minute) * NS_PER_MINUTE


class BarPositions:
    """Time <-> fractional bar index over `series`, read afresh at each call (the series
    grows live). `bar_ns`: the timeframe's bar length; `daily`: a chart of daily bars,
    labelled by their trading day at midnight in `tz`."""

    def __init__(self, series: BarSeries, bar_ns: int, daily: bool, tz: ZoneInfo) -> None:
        self.series = series
        self.bar_ns = int(bar_ns)
        self.daily = daily
        # China has kept one offset since 1991: a day's ns are one shift away from UTC.
        self._offset = int(datetime(2020, 1, 1, tzinfo=tz).utcoffset().total_seconds()) \
            * 1_000_000_000

    def x_of(self, times_ns: np.ndarray) -> np.ndarray:
        """The chart X of each time (float64)."""
        times_ns = np.asarray(times_ns, np.int64)
        bars = self.series.times
        if not len(bars):
            return np.full(len(times_ns), np.nan)
        if self.daily:
            return self._daily_x(self._trading_days(times_ns), self._local_days(bars))
        last = len(bars) - 1
        index = np.searchsorted(bars, times_ns, "right") - 1
        x = index.astype(np.float64)
        before = index < 0
        x[before] = (times_ns[before] - bars[0]) / self.bar_ns
        after = (index == last) & (times_ns >= bars[last] + self.bar_ns)
        x[after] = last + (times_ns[after] - bars[last]) / self.bar_ns
        return x

    def time_of(self, x: float) -> int:
        """The time at chart X: inside the history, the start of the nearest bar; before and
        after it, extrapolated by bar length (by business day on daily bars)."""
        bars = self.series.times
        if not len(bars):
            raise ValueError("no bars: a chart position has no time")
        last = len(bars) - 1
        nearest = round(x)
        if 0 <= nearest <= last:
            return int(bars[nearest])
        if self.daily:
            days = self._local_days(bars)
            edge, step = (days[0], nearest) if nearest < 0 else (days[last], nearest - last)
            day = np.busday_offset(np.datetime64(int(edge), "D"), step, roll="forward")
            return int(day.astype(np.int64)) * NS_PER_DAY - self._offset
        edge, step = (bars[0], x) if x < 0 else (bars[last], x - last)
        return int(edge + round(step * self.bar_ns))

    def _local_days(self, times_ns: np.ndarray) -> np.ndarray:
        return (times_ns + self._offset) // NS_PER_DAY

    def _trading_days(self, times_ns: np.ndarray) -> np.ndarray:
        """Days since the epoch of each time's trading day (core.trading_day's rule)."""
        local = times_ns + self._offset
        days = local // NS_PER_DAY + (local % NS_PER_DAY >= _EVENING_NS)
        dates = days.astype("datetime64[D]")
        return np.busday_offset(dates, 0, roll="forward").astype(np.int64)

    @staticmethod
    def _daily_x(days: np.ndarray, bar_days: np.ndarray) -> np.ndarray:
        last = len(bar_days) - 1
        index = np.searchsorted(bar_days, days, "right") - 1
        x = index.astype(np.float64)
        as_dates = days.astype("datetime64[D]")
        before = index < 0
        x[before] = -np.busday_count(as_dates[before],
                                     np.datetime64(int(bar_days[0]), "D"))
        after = (index == last) & (days > bar_days[last])
        x[after] = last + np.busday_count(np.datetime64(int(bar_days[last]), "D"),
                                          as_dates[after])
        return x
