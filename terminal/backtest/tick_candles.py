"""Candles for a tick run's chart, built from the ticks the run replayed.

A tick backtest has no bars to draw, so its fills would float on nothing. The run's own ticks
are turned into 1-minute bars by the rules the terminal records live bars with
(`market.bars.MinuteBarBuilder`, vn.py's BarGenerator's: the first tick of a minute opens its
bar, volume is the change of the running total), the minute still open at the last tick
included; 5- and 15-minute candles are built from those on the product's trading sessions
(`market.resample`, the Data dock's and the backtest's resampler). Built in the backtest's
worker (and again from the store when a run is reopened), so the GUI only draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from terminal.core.timezone import to_ns
from terminal.market.bars import MinuteBarBuilder
from terminal.market import sessions as session_maps
from terminal.market.resample import ResampleError, resample
from terminal.market.resample import aggregate    # open first, high max, ...

LENGTHS = ("1m", "5m", "15m")           # the candles a tick run's chart offers
FIELDS = ("open_price", "high_price", "low_price", "close_price", "volume", "turnover",
          "open_interest")
FOLD_BACK_NS = 60 * 60_000_000_000      # a bar this soon after the close joins the last one


def minute_columns(ticks: Sequence, tz: ZoneInfo) -> dict[str, np.ndarray]:
    """1-minute bars of `ticks` (time order) as chart columns ("datetime" in ns)."""
    builder = MinuteBarBuilder()
    bars = [bar for bar in map(builder.update, ticks) if bar is not None]
    bars += builder.open_bars()         # the last minute, closed by no later tick
    columns = {"datetime": np.array([to_ns(bar.datetime, tz) for bar in bars], np.int64)}
    for name in FIELDS:
        columns[name] = np.array([float(getattr(bar, name)) for bar in bars], float)
    return columns


def tick_candles(ticks: Sequence, symbol: str, exchange, tz: ZoneInfo,
                 lengths: Sequence[str] = LENGTHS) -> dict[str, dict[str, np.ndarray]]:
    """Candles of each length in `lengths` built from `ticks`; a length the trading
    sessions do not let the 1-minute bars build is left out."""
    minutes = minute_columns(ticks, tz)
    candles = {"1m": minutes}
    inside = in_sessions(minutes, symbol, exchange, tz)
    for length in lengths:
        if length == "1m" or not len(minutes["datetime"]):
            continue
        try:
            candles[length] = resample(inside, "1m", length, symbol, exchange, tz)
        except ResampleError:
            continue
    return {length: candles[length] for length in lengths if length in candles}


def in_sessions(minutes: dict[str, np.ndarray], symbol: str, exchange,
                tz: ZoneInfo) -> dict[str, np.ndarray]:
    """1-minute bars with those outside the product's trading sessions folded into a
    neighbour: the opening auction's (09:29, 20:59) into the first bar after it, the
    snapshots after the close (15:00, 15:30) into the last bar before, so that longer
    candles start on the session's clock. Unknown products' bars are kept as they are."""
    listed = session_maps.sessions_for(symbol, exchange)
    times = minutes["datetime"]
    if listed is None or not len(times):
        return minutes
    local = pd.DatetimeIndex(pd.to_datetime(times, utc=True)).tz_convert(tz)
    inside = session_maps.build(listed).segment[(local.hour * 60 + local.minute)
                                                .to_numpy()] >= 0
    if inside.all() or not inside.any():
        return minutes
    index = np.arange(len(times))
    before = np.maximum.accumulate(np.where(inside, index, -1))          # last inside, or -1
    after = np.minimum.accumulate(np.where(inside, index, len(times))[::-1])[::-1]
    recent = (before >= 0) & (times - times[np.maximum(before, 0)] <= FOLD_BACK_NS)
    target = np.where(inside, index,
                      np.where(recent | (after == len(times)), before, after))
    keep = target >= 0
    target, columns = target[keep], {name: values[keep] for name, values in minutes.items()}
    starts = np.flatnonzero(np.r_[True, target[1:] != target[:-1]])
    ends = np.r_[starts[1:], len(target)] - 1
    folded = aggregate(columns, starts, ends)
    folded["datetime"] = minutes["datetime"][target[starts]]
    return folded
