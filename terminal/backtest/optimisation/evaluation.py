"""Evaluating one setting: `evaluate(params, data) -> statistics`, where `data` is what every
evaluation of an optimisation shares (the bars), handed to a worker once, never per setting.
`BacktestEvaluator` is the evaluation the terminal uses: vn.py's BacktestingEngine on bars
read once from the store (`load_shared_bars`). An evaluation that raises becomes an error row
(`{"error": traceback}`), never the end of the search."""

from __future__ import annotations

import traceback
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from vnpy.trader.constant import Exchange, Interval

from terminal.backtest.engine import (
    history_range, raise_if_strategy_failed, run, select_history)
from terminal.backtest.intervals import load_bars, name_of
from terminal.backtest.optimisation.odds import RETURNS_KEY, daily_returns

Evaluate = Callable[[dict, Any], dict]
# periods whose bars a worker keeps selected: an optimisation has one; a walk-forward's worker
# meets its windows in order, so the last few are all it asks for again
HISTORIES_KEPT = 4
Chunk = list[tuple[int, dict]]          # (position in the settings, params)


def evaluate_chunk(evaluate: Evaluate, data: Any, chunk: Chunk) -> list[tuple[int, dict]]:
    """(position, statistics) for each setting of `chunk`; a raising evaluation gives
    {"error": its traceback}."""
    out = []
    for index, params in chunk:
        try:
            stats = evaluate(dict(params), data)
            if not isinstance(stats, dict):
                raise TypeError(f"evaluate returned {type(stats).__name__}, not a dict")
        except Exception:  # noqa: BLE001 - a setting whose strategy raises fails its row only
            stats = {"error": traceback.format_exc()}
        out.append((index, stats))
    return out


class SharedBars:
    """The bars of an optimisation, read once from the store and shared by every worker:
    the history for the backtest period and the strategy's warm-up, served to `load_bar` from
    memory as the store would serve it: bars of the run's `interval` from the same list,
    other intervals (a 5m run's strategy asks load_bar for 1m bars by default) from
    `warmups`, read once for the warm-up days (empty when the store has none). `since` is
    where the read began: a load_bar reaching further back raises, naming the days to read,
    rather than warming up on fewer bars than a plain backtest would. Without `interval`
    every warm-up is served from `bars`. Lookups are prepared lazily in each process."""

    def __init__(self, bars: list, interval: str | None = None,
                 warmups: dict[str, list] | None = None, since: datetime | None = None) -> None:
        self.bars = bars
        self.interval = interval
        self.warmups = dict(warmups or {})
        self.since = since
        self._times: list[datetime] | None = None
        self._warmup_times: dict[str, list[datetime]] = {}
        self._history: dict = {}

    def __getstate__(self) -> dict:
        return {"bars": self.bars, "interval": self.interval, "warmups": self.warmups,
                "since": self.since}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["bars"], state.get("interval"), state.get("warmups"),
                      state.get("since"))

    def __len__(self) -> int:
        return len(self.bars)

    @property
    def times(self) -> list[datetime]:
        if self._times is None:
            self._times = [bar.datetime for bar in self.bars]
        return self._times

    def between(self, start: datetime, end: datetime) -> list:
        """The bars in [start, end] (naive bounds taken in the bars' zone)."""
        return _between(self.bars, self.times, start, end)

    def history(self, settings: Any) -> list:
        """The bars vn.py's load_data would give for `settings` (engine.select_history)."""
        key = (settings.start, settings.end, str(settings.interval))
        if key not in self._history:
            if len(self._history) >= HISTORIES_KEPT:    # a walk-forward's earlier windows
                del self._history[next(iter(self._history))]
            self._history[key] = select_history(self.bars, settings)
        return self._history[key]

    def load_bars(self, symbol, exchange, interval, start: datetime, end: datetime) -> list:
        """A `bar_loader` for engine.run: the strategy's warm-up, from memory."""
        if self.since is not None and _naive(start) < _naive(self.since):
            raise ValueError(
                f"the strategy's load_bar asks for bars from {start:%Y-%m-%d %H:%M}, before "
                f"the {self.since:%Y-%m-%d %H:%M} the optimisation read them from: read more "
                f"warm-up days (--warmup-days)")
        asked = name_of(interval)
        if self.interval is None or asked == self.interval:
            return self.between(start, end)
        bars = self.warmups.get(asked, [])
        if asked not in self._warmup_times:
            self._warmup_times[asked] = [bar.datetime for bar in bars]
        return _between(bars, self._warmup_times[asked], start, end)


def _between(bars: list, times: list[datetime], start: datetime, end: datetime) -> list:
    if not times:
        return []
    zone = times[0].tzinfo
    start, end = (t.replace(tzinfo=zone) if t.tzinfo is None and zone else t
                  for t in (start, end))
    return bars[bisect_left(times, start):bisect_right(times, end)]


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


# the intervals a strategy's load_bar can ask for (vn.py's Interval but ticks)
WARMUP_INTERVALS = tuple(i.value for i in Interval if i is not Interval.TICK)


def warmup_series(store: Any, symbol: str, exchange: Exchange, run_interval: str,
                  since: datetime, start: datetime) -> dict[str, list]:
    """The stored bars of every interval but the run's in [since, start]: what a strategy's
    load_bar at another interval may read (kept only where the store has some)."""
    read = {name: store.load_bars(symbol, exchange, Interval(name), since, start)
            for name in WARMUP_INTERVALS if name != run_interval}
    return {name: bars for name, bars in read.items() if bars}


def load_shared_bars(store: Any, settings: Any, warmup_days: int = 30) -> SharedBars:
    """One read of the store covering the backtest period and `warmup_days` before it (for
    strategies whose on_init calls load_bar(days)), and the other intervals' bars of those
    warm-up days."""
    symbol, exchange = settings.vt_symbol.rsplit(".", 1)
    start, end = history_range(settings)
    since = start - timedelta(days=warmup_days)
    interval = name_of(settings.interval)
    return SharedBars(load_bars(store, symbol, Exchange(exchange), settings.interval, since, end),
                      interval, warmup_series(store, symbol, Exchange(exchange), interval,
                                              since, start), since)


class BacktestEvaluator:
    """evaluate(params, bars) for the optimiser: vn.py's BacktestingEngine (through
    `terminal.backtest.engine.run`, quiet) on the shared bars, returning its statistics as
    plain Python numbers and the setting's daily returns under `odds.RETURNS_KEY` (two
    small numpy arrays, for the overfitting odds). A strategy that raised makes the
    evaluation raise, so its row is an error rather than the statistics of a truncated run.

    `strategy` is a CtaTemplate subclass, or a picklable function returning one (for the dask
    backend and plugins: functools.partial(load_class, source_path, class_name)).
    `fixed` parameters are given to every run, under the optimised ones.
    """

    def __init__(self, strategy: type | Callable[[], type], settings: Any,
                 fixed: dict | None = None) -> None:
        self.strategy = strategy
        self.settings = settings
        self.fixed = dict(fixed or {})
        self._class: type | None = strategy if isinstance(strategy, type) else None

    def __getstate__(self) -> dict:
        return {"strategy": self.strategy, "settings": self.settings, "fixed": self.fixed}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["strategy"], state["settings"], state["fixed"])

    @property
    def strategy_class(self) -> type:
        if self._class is None:
            self._class = self.strategy()
        return self._class

    def __call__(self, params: dict, data: Any) -> dict:
        shared = data if isinstance(data, SharedBars) else _shared_bars(data)
        outcome = run(self.strategy_class, shared.history(self.settings), self.settings,
                      {**self.fixed, **params}, bar_loader=shared.load_bars)
        raise_if_strategy_failed(outcome.engine)
        return {**plain_statistics(outcome.statistics),
                RETURNS_KEY: daily_returns(outcome.daily, self.settings.capital)}


_WRAPPED: dict[int, tuple[Any, SharedBars]] = {}


def _shared_bars(bars: list) -> SharedBars:
    """A list of bars wrapped once per process (the wrapper's lookups are then reused)."""
    held = _WRAPPED.get(id(bars))
    if held is None or held[0] is not bars:
        _WRAPPED.clear()
        held = _WRAPPED[id(bars)] = (bars, SharedBars(bars))
    return held[1]


def plain_statistics(stats: dict) -> dict:
    """vn.py's statistics with numpy scalars made Python numbers: they travel, print and
    store as plain values."""
    return {key: value.item() if isinstance(value, np.generic) else value
            for key, value in stats.items()}
