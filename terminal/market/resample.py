"""Bars of a longer period built from shorter ones, on China futures trading sessions.

- A bar holds a fixed number of trading minutes counted from the open of its segment, so it
  may step over a short break (10:15-10:30) but never over the lunch break or the evening gap.
- The night session belongs to the next trading day (Friday night to Monday): it is the first
  segment of that day, and the daily bar runs from the night's open to the afternoon close.
- Intraday bars are labelled by the clock time their first trading minute starts at (vn.py's
  convention, start-labelled); daily bars by the trading day at midnight.

Works on columns (a "datetime" int64 ns column and float columns), vectorised: a year of
1-minute bars resamples in milliseconds, ready for a chart without a Python object per bar.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import numpy as np
from vnpy.trader.constant import Exchange

from terminal.market import sessions as session_maps
from terminal.market.sessions import MINUTES_PER_DAY, SessionMap

NS_PER_MINUTE = 60_000_000_000
NS_PER_DAY = 86_400_000_000_000
DAILY = "d"
TARGETS = ("5m", "15m", "30m", "1h", "4h", DAILY)
_INTERVAL = re.compile(r"^(\d*)([mh])$")


class ResampleError(ValueError):
    """The bars cannot be resampled to the period asked for; the message says why."""


def minutes_of(interval: str) -> int:
    """Length in minutes of an intraday interval such as "1m", "15m", "1h" or "4h"."""
    match = _INTERVAL.match(interval)
    if not match:
        raise ResampleError(f"{interval!r} is not an intraday interval like 5m or 1h")
    number = int(match.group(1) or 1)
    if number <= 0:
        raise ResampleError(f"{interval!r} is not a positive length")
    return number * (60 if match.group(2) == "h" else 1)


def session_map(symbol: str, exchange: Exchange, minutes_of_day: np.ndarray,
                period: int = 1) -> SessionMap:
    """The product's sessions when every bar falls inside them, else the sessions the bars
    themselves show (old data from before a change of trading hours, unknown products)."""
    listed = session_maps.sessions_for(symbol, exchange)
    if listed is not None:
        mapped = session_maps.build(listed)
        covered = all(
            np.all(mapped.segment[(minutes_of_day + step) % MINUTES_PER_DAY] >= 0)
            for step in range(period)
        )
        if covered:
            return mapped
    return session_maps.infer(minutes_of_day, period)


def resample(columns: dict[str, np.ndarray], source: str, target: str, symbol: str,
             exchange: Exchange, tz: ZoneInfo) -> dict[str, np.ndarray]:
    """Columns of `target` bars built from `source` bars (both start-labelled intervals,
    e.g. "1m" to "30m", or to "d"). Input rows must be in time order, one per timestamp."""
    times = np.asarray(columns["datetime"], dtype=np.int64)
    if len(times) == 0:
        return {name: np.asarray(values)[:0] for name, values in columns.items()}
    if np.any(np.diff(times) <= 0):
        raise ResampleError("bars are not in strictly increasing time order")
    period = minutes_of(source)
    if target != DAILY and minutes_of(target) % period:
        raise ResampleError(f"{target} bars cannot be built from {source} bars")

    import pandas as pd      # here: the Data dock imports this module before the first paint

    local = pd.DatetimeIndex(pd.to_datetime(times, utc=True)).tz_convert(tz)
    minute = (local.hour * 60 + local.minute).to_numpy()
    days = local.tz_localize(None).normalize().asi8 // NS_PER_DAY
    sessions = session_map(symbol, exchange, minute, period)
    segment = sessions.segment[minute].astype(np.int64)
    days_of_trading = _trading_days(days, minute, sessions.night[minute])

    if target == DAILY:
        keys = days_of_trading
    else:
        bucket = sessions.offset[minute] // minutes_of(target)
        keys = (days_of_trading * 16 + segment) * 4096 + bucket
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    if np.any(np.diff(keys[starts]) <= 0):
        raise ResampleError("bars are not in trading-day order")
    ends = np.r_[starts[1:], len(keys)] - 1

    out = aggregate(columns, starts, ends)
    if target == DAILY:
        labels = pd.DatetimeIndex(days_of_trading[starts] * NS_PER_DAY).tz_localize(tz)
        out["datetime"] = labels.asi8
    else:
        length = minutes_of(target)
        clocks = np.concatenate(sessions.clock).astype(np.int64)
        base = np.cumsum([0, *map(len, sessions.clock)])[segment[starts]]
        nominal = clocks[base + sessions.offset[minute[starts]] // length * length]
        back = (minute[starts] - nominal) % MINUTES_PER_DAY
        out["datetime"] = times[starts] - back * NS_PER_MINUTE
    return out


def _trading_days(days: np.ndarray, minute: np.ndarray, night: np.ndarray) -> np.ndarray:
    """Days since the epoch of each bar's trading day: evening bars count for the next
    weekday, after-midnight bars for their own date or the Monday after it."""
    evening = night & (minute >= session_maps.NIGHT_FROM)
    trading = days + evening
    weekday = (trading + 3) % 7               # 1970-01-01 was a Thursday; Monday is 0
    trading = trading + np.where(night & (weekday == 5), 2, 0) \
        + np.where(night & (weekday == 6), 1, 0)
    return trading


def aggregate(columns: dict[str, np.ndarray], starts: np.ndarray,
               ends: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for name, column in columns.items():
        if name == "datetime":
            continue
        values = np.asarray(column, dtype=np.float64)
        if name == "open_price":
            out[name] = values[starts]
        elif name == "high_price":
            out[name] = np.maximum.reduceat(values, starts)
        elif name == "low_price":
            out[name] = np.minimum.reduceat(values, starts)
        elif name in ("volume", "turnover"):
            out[name] = np.add.reduceat(values, starts)
        else:                                 # close, open interest: the last value
            out[name] = values[ends]
    return {"datetime": np.empty(0, np.int64), **out}


def shortest_source(target: str, stored) -> str | None:
    """Of the `stored` interval names, the shortest intraday one whose bars `target` bars can
    be built from (its length divides the target's; any intraday series builds daily bars),
    or None when none can."""
    candidates = []
    for name in stored:
        try:
            length = minutes_of(name)
        except ResampleError:
            continue
        if target == DAILY or minutes_of(target) % length == 0:
            candidates.append((length, name))
    return min(candidates)[1] if candidates else None
