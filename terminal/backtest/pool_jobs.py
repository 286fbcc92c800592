"""The backtest workbench's jobs, run in a `BacktestPool` worker process, and the data they give.

    handle = pool.submit(run_backtest, kwargs={"market_root": root, "strategy": loader,
                                               "settings": settings, "params": {...}})
    result: RunResult = handle.result()

Both jobs open the market store themselves, from its folder (the pool's fork rules: never a
database connection the parent opened), read the bars once, and send back plain data that
pickles: statistics as a flat dict of Python numbers and text, the daily results and the fills
as the frames `RunStore` keeps (so a run shown when it finishes and the same run reopened from
the store are the same data), and the candle columns of the period for the chart.

`strategy` is a function that returns the strategy class, called in the worker: the GUI gives
`StrategyEntry.worker_loader()`, `functools.partial(terminal.plugins.loader.load_class, file,
class_name, check_seconds)` (a worker cannot import the generated module name of a plugin);
it checks a user's file in a child of the worker first, so a file that exits or hangs while
importing fails the run with a `PluginError` naming the reason. This module does not import
the plugin loader: the two sit side by side in the layers.

A strategy that raises during the backtest fails the run with its traceback (vn.py stops the
replay and would report statistics of a truncated run).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from vnpy_ctastrategy.base import BacktestingMode

from terminal.backtest import built_bars, intervals
from terminal.backtest import stats as stats_module
from terminal.backtest.engine import (
    BacktestSettings, history_range, raise_if_strategy_failed, run, select_history,
    warmup_summary)
from terminal.backtest.optimisation.evaluation import BacktestEvaluator
from terminal.backtest.optimisation.optimiser import Optimiser
from terminal.backtest.optimisation.ranking import OptimisationResult
from terminal.backtest.optimisation.space import ParameterSpace
from terminal.backtest.runs import daily_table, trades_frame
from terminal.backtest.tick_candles import tick_candles
from terminal.storage.market_store import TICK_INTERVAL, MarketStore
from terminal.core.symbols import split_vt_symbol
from terminal.core.timezone import to_ns

BAR_FIELDS = ("open_price", "high_price", "low_price", "close_price", "volume", "turnover",
              "open_interest")
# Settings kept with a run besides symbol, interval and period (RunStore's `settings`).
SETTING_KEYS = ("rate", "slippage", "size", "pricetick", "capital", "mode", "risk_free",
                "annual_days", "half_life")
# text kept with a run's statistics, shown in its header rather than as statistics
RUN_NOTES = ("bars", "warmup")
LOAD_SHARE, REPLAY_SHARE = 10.0, 80.0      # progress: loading 0-10 %, replay 10-90 %
_PERCENT = re.compile(r"\[(\d+)%\]")


@dataclass
class RunResult:
    """What a finished run shows: the same whether it has just run or comes from the store."""

    stats: dict = field(default_factory=dict)
    daily: pd.DataFrame = field(default_factory=pd.DataFrame)     # indexed by date
    trades: pd.DataFrame = field(default_factory=pd.DataFrame)    # runs.TRADE_COLUMNS
    bars: dict[str, np.ndarray] | None = None                     # candle columns, or None
    # a tick run's candles built from its ticks, by length ("1m", "5m", "15m"); bars is "1m"
    candles: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)             # the engine's last messages
    # text kept with the statistics in the run store (RUN_NOTES): not statistics to show
    notes: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------- settings
def settings_record(settings: BacktestSettings) -> dict:
    """The settings a run keeps in RunStore (symbol, interval and period are kept apart)."""
    values = asdict(settings)
    record = {key: values[key] for key in SETTING_KEYS}
    record["mode"] = BacktestingMode(settings.mode).value
    return record


def settings_from(vt_symbol: str, interval: str, start: Any, end: Any,
                  record: dict) -> BacktestSettings:
    """BacktestSettings back from what a run kept."""
    known = {key: record[key] for key in SETTING_KEYS if key in record}
    if "mode" in known:
        known["mode"] = BacktestingMode(known["mode"])
    return BacktestSettings(vt_symbol=vt_symbol, start=_moment(start), end=_moment(end),
                            interval=intervals.setting(interval), **known)


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value))


def is_tick(settings: BacktestSettings) -> bool:
    return intervals.name_of(settings.interval) == intervals.TICK


# ---------------------------------------------------------------------- data
def load_history(store: MarketStore, settings: BacktestSettings) -> list:
    """The bars (or ticks) vn.py's load_data would give for `settings`, in one read."""
    symbol, exchange = split_vt_symbol(settings.vt_symbol)
    start, end = history_range(settings)
    if is_tick(settings):
        data = store.load_ticks(symbol, exchange, start, end)
    else:
        data = intervals.load_bars(store, symbol, exchange, settings.interval, start, end)
    return select_history(data, settings)


def run_bars(store: MarketStore, settings: BacktestSettings) -> tuple[list, Any, str]:
    """(the history vn.py's load_data would give, the bar_loader for the strategy's warm-up,
    where the bars came from): the stored series, or bars built from a shorter stored one
    by the command line's builder (terminal.backtest.built_bars), so a run of the workbench
    equals the same run of `backtest`."""
    name = intervals.name_of(settings.interval)
    if is_tick(settings):
        return load_history(store, settings), store.load_bars, "the stored ticks"
    symbol, exchange = split_vt_symbol(settings.vt_symbol)
    stored = built_bars.stored_series(store, symbol, exchange)
    source = built_bars.source_for(name, stored)
    if source is None:
        return load_history(store, settings), store.load_bars, f"the stored {name} bars"
    shared = built_bars.build(store, symbol, exchange, source, name, settings)
    return (shared.history(settings), built_bars.warmup_loader(shared, name, store.load_bars),
            built_bars.built_from(source, symbol))


def chart_columns(store: MarketStore, settings: BacktestSettings,
                  ticks: list | None = None) -> dict[str, np.ndarray] | None:
    """The candles of the backtest period as numpy columns (`ChartWidget.set_history`): the
    stored bars, those built from a shorter stored series when the length is not stored, or
    for a tick run 1-minute bars built from its ticks (`chart_candles`)."""
    if is_tick(settings):
        return chart_candles(store, settings, ticks).get("1m")
    symbol, exchange = split_vt_symbol(settings.vt_symbol)
    name = intervals.name_of(settings.interval)
    start, end = history_range(settings)
    stored = built_bars.stored_series(store, symbol, exchange)
    source = built_bars.source_for(name, stored)
    if source is not None:
        built = built_bars.build_columns(store, symbol, exchange, source, name)
        keep = (built["datetime"] >= to_ns(start, store.tz)) & \
            (built["datetime"] <= to_ns(end, store.tz))
        return {key: values[keep] for key, values in built.items()}
    table = store.load_table(symbol, exchange, name, start, end)
    columns = {"datetime": np.asarray(table.column("datetime").to_numpy(), np.int64)
               if table.num_rows else np.zeros(0, np.int64)}
    for field_name in BAR_FIELDS:
        columns[field_name] = (np.asarray(table.column(field_name).to_numpy(), float)
                               if table.num_rows and field_name in table.column_names
                               else np.zeros(table.num_rows))
    return columns


def chart_candles(store: MarketStore, settings: BacktestSettings,
                  ticks: list | None = None) -> dict[str, dict[str, np.ndarray]]:
    """A tick run's candles by length, built from `ticks` (the run's, as replayed) or from
    the ticks the run reads from the store; {} for a bar run."""
    if not is_tick(settings):
        return {}
    if ticks is None:
        ticks = load_history(store, settings)
    symbol, exchange = split_vt_symbol(settings.vt_symbol)
    return tick_candles(ticks, symbol, exchange, store.tz)


def run_notes(bars_from: str, warmups: list) -> dict[str, str]:
    """What a run keeps with its statistics besides numbers (RUN_NOTES): where its bars came
    from and what the strategy's warm-up actually loaded (engine.warmup_summary)."""
    return {"bars": bars_from, "warmup": warmup_summary(warmups)}


def daily_frame(daily: pd.DataFrame | None) -> pd.DataFrame:
    """vn.py's daily results as RunStore keeps them (indexed by date, no column of trade
    objects): what `RunStore.load_daily` gives back."""
    frame = daily_table(daily).to_pandas()
    return frame.set_index("date") if "date" in frame.columns else frame


# ---------------------------------------------------------------------- jobs
def run_backtest(report: Callable[[float, str], None], *, market_root: str | Path,
                 strategy: Callable[[], type], settings: BacktestSettings,
                 params: dict | None = None, chart: bool = True) -> RunResult:
    """One backtest in a worker: bars from the store at `market_root`, vn.py's engine, vn.py's
    statistics and the LEAN ones (`stats.report`), the daily results, fills and candles."""
    report(0.0, "loading the strategy")
    strategy_class = strategy()
    store = MarketStore(Path(market_root))
    try:
        report(2.0, "reading bars")
        history, bar_loader, bars_from = run_bars(store, settings)
        if not history:
            raise ValueError(f"no {intervals.name_of(settings.interval)} data for "
                             f"{settings.vt_symbol} between {settings.start:%Y-%m-%d} and "
                             f"{settings.end:%Y-%m-%d} in the store")
        what = "ticks" if is_tick(settings) else "bars"
        report(LOAD_SHARE, f"{len(history):,} {what} loaded")

        def output(message: str) -> None:
            found = _PERCENT.search(message)
            if found:               # vn.py's replay: ten batches, "[0%]" ... "[90%]"
                done = min(100, int(found.group(1)) + 10)
                report(LOAD_SHARE + REPLAY_SHARE * done / 100, f"replaying {what}: {done}%")

        outcome = run(strategy_class, history, settings, params,
                      bar_loader=bar_loader, tick_loader=store.load_ticks, output=output)
        raise_if_strategy_failed(outcome.engine)
        report(LOAD_SHARE + REPLAY_SHARE, "statistics")
        statistics = stats_module.report(outcome.engine, outcome.statistics)
        candles = chart_candles(store, settings, history) if chart else {}
        result = RunResult(
            stats=statistics, daily=daily_frame(outcome.daily),
            trades=trades_frame(outcome.engine.trades),
            bars=(candles.get("1m") if is_tick(settings) else chart_columns(store, settings))
            if chart else None, candles=candles,
            notes=run_notes(bars_from, outcome.engine.warmups),
            messages=[*[m for m in outcome.engine.messages if len(m) < 500][-49:],
                      warmup_summary(outcome.engine.warmups)])
    finally:
        store.close()
    report(100.0, f"{len(result.trades):,} fills")
    return result


def optimise(report: Callable[[float, str], None], *, market_root: str | Path,
             strategy: Callable[[], type], settings: BacktestSettings, space: dict,
             target: str, method: str = "grid", fixed: dict | None = None,
             maximise: bool = True, workers: int = 2, population: int = 20,
             generations: int = 10, seed: int | None = None,
             scheduler: str | None = None) -> OptimisationResult:
    """A grid or genetic search in a worker: the bars read once from the store, the settings
    evaluated by the Optimiser's own forked workers (which share them), progress passed
    through, and the best setting's overfitting odds computed here (`result.odds`). `space`
    is ParameterSpace's spec (name -> (start, stop, step) or values)."""
    if method not in ("grid", "genetic"):
        raise ValueError(f"method must be 'grid' or 'genetic', not {method!r}")
    report(0.0, "loading the strategy")
    strategy_class = strategy()
    parameter_space = ParameterSpace(space)
    parameter_space.check(strategy_class)
    store = MarketStore(Path(market_root))
    try:
        report(0.0, "reading bars")
        bars = built_bars.shared_bars(store, settings)
    finally:
        store.close()
    if not bars.history(settings):
        raise ValueError(f"no {intervals.name_of(settings.interval)} data for "
                         f"{settings.vt_symbol} in the period")
    evaluate = BacktestEvaluator(strategy, settings, fixed)
    optimiser = Optimiser(workers=workers, scheduler_address=scheduler)
    report(0.0, f"{parameter_space.size:,} settings in the space")
    if method == "grid":
        result = optimiser.grid(evaluate, parameter_space, target, bars, maximise=maximise,
                                progress=report)
    else:
        result = optimiser.genetic(evaluate, parameter_space, target, bars,
                                   population=population, generations=generations, seed=seed,
                                   maximise=maximise, progress=report)
    report(100.0, f"{result.tried:,} settings tried: the odds of the best")
    result.compute_odds()           # here, in the worker, not on the GUI thread
    return result


def store_interval(interval: str) -> bool:
    """Whether a series of the store can be backtested (vn.py's intervals, and the lengths
    handed over as vn.py runs them: terminal.backtest.intervals)."""
    return interval == TICK_INTERVAL or intervals.runnable(interval)
