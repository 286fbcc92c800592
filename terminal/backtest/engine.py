"""One backtest on vnpy_ctastrategy's own `BacktestingEngine`, fed from the terminal's store.

The engine is vn.py's, unchanged in everything that decides trades and statistics; only where
the bars come from differs. vn.py's `load_data()` reads the database in chunks; here the
history is handed in (`engine.history_data = bars`) after one read of the store, and the
strategy's own warm-up (`load_bar`/`load_tick` in `on_init`) can be served by a loader given
here instead of `vnpy.trader.database`. `tests/test_parity.py` proves the trades and
statistics equal vn.py's own path to the last digit for every bundled strategy.

`history_windows` reproduces the time windows vn.py's `load_data` reads (it walks from the
start in steps of a tenth of the period and starts each step one interval after the previous
step's end, so with a start time that is not on the interval's grid a bar at a step boundary
is skipped); `select_history` keeps exactly the bars in those windows, so one read of the
store gives the same history vn.py would load. (A start and end on the same day make vn.py's
`load_data` divide by zero; this path has no such limit.)
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pandas import DataFrame
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.utility import extract_vt_symbol
from vnpy_ctastrategy.backtesting import BacktestingEngine
from vnpy_ctastrategy.base import INTERVAL_DELTA_MAP, BacktestingMode

from terminal.backtest.intervals import engine_interval, load_gap

# (symbol, exchange, interval, start, end) -> bars, as vnpy.trader.database's load_bar_data
BarLoader = Callable[[str, Exchange, Interval, datetime, datetime], list]
# (symbol, exchange, start, end) -> ticks
TickLoader = Callable[[str, Exchange, datetime, datetime], list]


@dataclass
class BacktestSettings:
    """What `BacktestingEngine.set_parameters` takes."""

    vt_symbol: str
    start: datetime
    end: datetime
    interval: Interval | str = Interval.MINUTE     # or a handed-over length: "5m" (intervals)
    rate: float = 0.0               # commission as a fraction of traded value
    slippage: float = 0.0           # price units per fill
    size: float = 1.0               # contract multiplier
    pricetick: float = 1.0
    capital: float = 1_000_000
    mode: BacktestingMode = BacktestingMode.BAR
    risk_free: float = 0.0
    annual_days: int = 240
    half_life: int = 120
    extra: dict[str, Any] = field(default_factory=dict)   # room for the workbench's own keys

    def apply(self, engine: BacktestingEngine) -> None:
        engine.set_parameters(
            vt_symbol=self.vt_symbol, interval=engine_interval(self.interval), start=self.start,
            end=self.end, rate=self.rate, slippage=self.slippage, size=self.size,
            pricetick=self.pricetick, capital=self.capital, mode=self.mode,
            risk_free=self.risk_free, annual_days=self.annual_days, half_life=self.half_life)


class BacktestFailed(RuntimeError):
    """The strategy raised during the backtest; the message holds its traceback."""


class BacktestRun(NamedTuple):
    engine: BacktestingEngine
    daily: DataFrame                # engine.calculate_result() (with the statistics' columns)
    statistics: dict                # engine.calculate_statistics(output=False), unchanged


class WarmUp(NamedTuple):
    """One load_bar/load_tick call of the strategy: what it asked for and what it got."""

    interval: str                   # "1m", "1h", "d" or "tick"
    days: int
    count: int
    first: datetime | None
    last: datetime | None


def warmup_summary(warmups: Sequence[WarmUp]) -> str:
    """What the strategy's warm-up actually loaded, for a run's header."""
    if not warmups:
        return "the strategy loaded no warm-up (no load_bar call)"
    said = []
    for w in warmups:
        what = "ticks" if w.interval == "tick" else f"{w.interval} bars"
        got = (f"got {w.count:,} ({w.first:%Y-%m-%d %H:%M} to {w.last:%Y-%m-%d %H:%M})"
               if w.count else "got none")
        call = "load_tick" if w.interval == "tick" else "load_bar"
        said.append(f"{call}({w.days}) asked for the {w.days} days of {what} before the "
                    f"start and {got}")
    return "the strategy's warm-up: " + "; ".join(said)


class StoreBacktestingEngine(BacktestingEngine):
    """vn.py's engine with the strategy's warm-up history served by the given loaders
    (same windows as vn.py computes) and its messages kept instead of printed."""

    def __init__(self, bar_loader: BarLoader | None = None,
                 tick_loader: TickLoader | None = None,
                 output: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self._bar_loader = bar_loader
        self._tick_loader = tick_loader
        self._output = output
        self.messages: list[str] = []
        self.warmups: list[WarmUp] = []     # the strategy's load_bar/load_tick calls

    def load_bar(self, vt_symbol: str, days: int, interval: Interval, callback: Callable,
                 use_database: bool) -> list:
        if self._bar_loader is None:
            bars = super().load_bar(vt_symbol, days, interval, callback, use_database)
        else:
            self.callback = callback
            symbol, exchange = extract_vt_symbol(vt_symbol)
            bars = self._bar_loader(symbol, exchange, interval, self.start
                                    - timedelta(days=days), self.start
                                    - INTERVAL_DELTA_MAP[interval])
        self.warmups.append(WarmUp(Interval(interval).value, days, len(bars),
                                   bars[0].datetime if bars else None,
                                   bars[-1].datetime if bars else None))
        return bars

    def load_tick(self, vt_symbol: str, days: int, callback: Callable) -> list:
        if self._tick_loader is None:
            ticks = super().load_tick(vt_symbol, days, callback)
        else:
            self.callback = callback
            symbol, exchange = extract_vt_symbol(vt_symbol)
            ticks = self._tick_loader(symbol, exchange, self.start - timedelta(days=days),
                                      self.start - timedelta(seconds=1))
        self.warmups.append(WarmUp("tick", days, len(ticks),
                                   ticks[0].datetime if ticks else None,
                                   ticks[-1].datetime if ticks else None))
        return ticks

    def output(self, msg: str) -> None:
        self.messages.append(str(msg))
        if self._output is not None:
            self._output(str(msg))


def history_windows(settings: BacktestSettings) -> list[tuple[datetime, datetime]]:
    """The [start, end] windows vn.py's `load_data` reads for these settings, in order."""
    start = settings.start
    end_all = settings.end.replace(hour=23, minute=59, second=59)   # as set_parameters does
    if start >= end_all:
        return []
    total_days = (end_all - start).days
    step = timedelta(days=max(int(total_days / 10), 1))
    gap = load_gap(settings.interval)   # the interval's, ticks or not
    if gap is None:                     # handed over whole, as vn.py runs such bars
        return [(start, end_all)]
    windows = []
    end = start + step
    while start < end_all:
        end = min(end, end_all)
        windows.append((start, end))
        start = end + gap
        end += step
    return windows


def history_range(settings: BacktestSettings) -> tuple[datetime, datetime]:
    """One read that covers every window of `history_windows`."""
    windows = history_windows(settings)
    if not windows:
        return settings.start, settings.start
    return windows[0][0], windows[-1][1]


def select_history(data: Sequence, settings: BacktestSettings) -> list:
    """The bars (or ticks) of `data`, sorted by time, that vn.py's `load_data` would load:
    those inside one of `history_windows` (naive times are compared as given)."""
    windows = history_windows(settings)
    times = [item.datetime for item in data]
    selected: list = []
    for start, end in windows:
        low = bisect_left(times, _like(start, times))
        high = bisect_right(times, _like(end, times))
        selected.extend(data[low:high])
    return selected


def _like(moment: datetime, times: list[datetime]) -> datetime:
    """`moment` comparable with `times`: naive settings against aware data are taken in the
    data's zone (vn.py's database convention: naive is China local)."""
    if not times:
        return moment
    zone = times[0].tzinfo
    if moment.tzinfo is None and zone is not None:
        return moment.replace(tzinfo=zone)
    return moment


def run(strategy_class: type, history: Sequence, settings: BacktestSettings,
        params: dict | None = None, *, bar_loader: BarLoader | None = None,
        tick_loader: TickLoader | None = None,
        output: Callable[[str], None] | None = None) -> BacktestRun:
    """Backtest `strategy_class` with `params` over `history` (bars, or ticks in tick mode,
    sorted by time, as `select_history` gives them).

    The strategy's warm-up in `on_init` (`load_bar(days)`/`load_tick(days)`) reads through
    `bar_loader`/`tick_loader` when given, else through vn.py's database as vn.py does.
    Returns the engine (trades in `engine.trades`, messages in `engine.messages`), the daily
    results and vn.py's statistics. A strategy that raises stops the replay, as in vn.py; its
    traceback is in `engine.messages`.
    """
    engine = StoreBacktestingEngine(bar_loader, tick_loader, output)
    settings.apply(engine)
    engine.add_strategy(strategy_class, dict(params or {}))
    engine.history_data = list(history)
    engine.run_backtesting()
    daily = engine.calculate_result()
    statistics = engine.calculate_statistics(output=False)
    return BacktestRun(engine, daily, statistics)


def strategy_failure(engine: BacktestingEngine) -> str | None:
    """The traceback vn.py's engine logged when the strategy raised (it stops the replay and
    would report statistics of a truncated run), or None."""
    return next((m for m in getattr(engine, "messages", [])
                 if m.startswith("Traceback (most recent call last)")), None)


def raise_if_strategy_failed(engine: BacktestingEngine) -> None:
    """Raise BacktestFailed when the strategy raised during the replay."""
    failure = strategy_failure(engine)
    if failure is not None:
        raise BacktestFailed(f"the strategy raised during the backtest:\n{failure}")
