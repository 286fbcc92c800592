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
from vnpy.trader.constant import Exchange

from terminal.backtest.engine import (
    history_range, raise_if_strategy_failed, run, select_history)
from terminal.backtest.intervals import load_bars

Evaluate = Callable[[dict, Any], dict]
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
    the history for the backtest period and the strategy's warm-up (served to `load_bar`
    from the same list). Lookups are prepared lazily in each process."""

    def __init__(self, bars: list) -> None:
        self.bars = bars
        self._times: list[datetime] | None = None
        self._history: dict = {}

    def __getstate__(self) -> dict:
        return {"bars": self.bars}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["bars"])

    def __len__(self) -> int:
        return len(self.bars)

    @property
    def times(self) -> list[datetime]:
        if self._times is None:
            self._times = [bar.datetime for bar in self.bars]
        return self._times

    def between(self, start: datetime, end: datetime) -> list:
        """The bars in [start, end] (naive bounds taken in the bars' zone)."""
        times = self.times
        if not times:
            return []
        zone = times[0].tzinfo
        start, end = (t.replace(tzinfo=zone) if t.tzinfo is None and zone else t
                      for t in (start, end))
        return self.bars[bisect_left(times, start):bisect_right(times, end)]

    def history(self, settings: Any) -> list:
        """The bars vn.py's load_data would give for `settings` (engine.select_history)."""
        key = (settings.start, settings.end, str(settings.interval))
        if key not in self._history:
            self._history[key] = select_history(self.bars, settings)
        return self._history[key]

    def load_bars(self, symbol, exchange, interval, start: datetime, end: datetime) -> list:
        """A `bar_loader` for engine.run: the strategy's warm-up, from memory."""
        return self.between(start, end)


def load_shared_bars(store: Any, settings: Any, warmup_days: int = 30) -> SharedBars:
    """One read of the store covering the backtest period and `warmup_days` before it (for
    strategies whose on_init calls load_bar(days))."""
    symbol, exchange = settings.vt_symbol.rsplit(".", 1)
    start, end = history_range(settings)
    return SharedBars(load_bars(store, symbol, Exchange(exchange), settings.interval,
                                start - timedelta(days=warmup_days), end))


class BacktestEvaluator:
    """evaluate(params, bars) for the optimiser: vn.py's BacktestingEngine (through
    `terminal.backtest.engine.run`, quiet) on the shared bars, returning its statistics as
    plain Python numbers. A strategy that raised makes the evaluation raise, so its row is an
    error rather than the statistics of a truncated run.

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
        return plain_statistics(outcome.statistics)


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
