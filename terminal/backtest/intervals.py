"""The bar lengths a backtest runs on, and how vn.py's engine is told about them.

vn.py's `BacktestingEngine` knows an interval only through its `Interval` enum (1m, 1h, d, w,
tick: no 5m) and reads it in two places, both about loading: `load_data` reads its database
at that interval, in steps one interval apart, and the strategy's warm-up (`load_bar(days,
interval)`) reads the interval the STRATEGY asks for (1m unless it says otherwise). Nothing
that decides fills or results reads it: `new_bar` crosses orders on whatever bar it is
handed, and a day's result is keyed by the bar's date. So stock vn.py runs 5m, 15m, 30m or 4h
bars when they are handed over: `set_parameters(interval=Interval.MINUTE)` (HOUR for 4h),
`engine.history_data = bars`, each bar's own `interval` MINUTE or HOUR as vn.py's
BarGenerator makes window bars. The terminal does exactly that (`engine_interval`), so its
results on such bars equal stock vn.py's on the same bars (tests/backtest/test_intervals.py).

A setting's interval is an `Interval` for vn.py's own, or its name ("5m") for the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from vnpy.trader.constant import Interval

VNPY_LENGTHS = ("1m", "1h", "d")            # vn.py's database and load_data know these
HANDED_OVER = ("5m", "15m", "30m", "4h")    # run as vn.py runs bars handed to it
BAR_LENGTHS = ("1m", "5m", "15m", "30m", "1h", "4h", "d")
TICK = "tick"


def name_of(interval: Any) -> str:
    """The interval's name: "1m", "5m", "d", "tick"."""
    return str(getattr(interval, "value", interval))


def is_handed_over(interval: Any) -> bool:
    """A length vn.py's Interval has no member for (5m, 15m, 30m, 4h)."""
    return name_of(interval) in HANDED_OVER


def setting(interval: Any) -> Interval | str:
    """What BacktestSettings.interval holds: vn.py's Interval, or the name of a handed-over
    length; ValueError for anything else."""
    name = name_of(interval)
    if name in HANDED_OVER:
        return name
    return Interval(name)


def engine_interval(interval: Any) -> Interval:
    """The Interval vn.py's engine and the bars carry: MINUTE for 5m/15m/30m, HOUR for 4h
    (as vn.py's BarGenerator labels its window bars), vn.py's own otherwise."""
    name = name_of(interval)
    if name in HANDED_OVER:
        return Interval.HOUR if name.endswith("h") else Interval.MINUTE
    return Interval(name)


def runnable(interval: str) -> bool:
    """Whether a stored series of this interval can be backtested."""
    return interval in BAR_LENGTHS or interval in Interval._value2member_map_


def load_bars(store: Any, symbol: str, exchange: Any, interval: Any,
              start: datetime | None = None, end: datetime | None = None) -> list:
    """The stored bars of `interval` in [start, end] as BarData (a handed-over length with the
    Interval vn.py would give it)."""
    if not is_handed_over(interval):
        return store.load_bars(symbol, exchange, Interval(name_of(interval)), start, end)
    from terminal.storage.market_store import BAR_INIT_ORDER, from_ns, make_bars

    table = store.load_table(symbol, exchange, name_of(interval), start, end)
    if table.num_rows == 0:
        return []
    times = from_ns(table.column("datetime").to_numpy(), store.tz)
    columns = [table.column(name).to_pylist() for name in BAR_INIT_ORDER]
    return make_bars(symbol, exchange, engine_interval(interval), times, columns)


def load_gap(interval: Any) -> timedelta | None:
    """The step vn.py's load_data leaves between its reads for `interval`, or None for a
    handed-over length (no load_data: the bars of the whole period are handed over)."""
    from vnpy_ctastrategy.base import INTERVAL_DELTA_MAP

    if is_handed_over(interval):
        return None
    return INTERVAL_DELTA_MAP[Interval(name_of(interval))]
