"""Walk-forward optimisation: search a strategy's parameters on an in-sample window, trade
the best setting on the out-of-sample window that follows, step forward, and judge the
stitched out-of-sample result.

    settings = BacktestSettings("rb2401.SHFE", start, end, rate=1e-4, size=10)
    bars = load_shared_bars(store, settings, warmup_days=30)     # the one read of the store
    plan = WalkForwardPlan(ParameterSpace({"fast_window": (5, 20, 5)}), in_sample=120,
                           out_sample=40, mode="rolling", target="sharpe_ratio")
    result = WalkForward(Optimiser(workers=2)).run(DoubleMaStrategy, settings, plan, bars,
                                                    progress=report)
    result.windows[0].params, result.daily, result.trades, result.efficiency, result.criteria

How it runs (the plan and its windows: walkforward_windows):
- The bars are read ONCE, from the first window's warm-up to the end (`load_shared_bars`),
  and handed to ONE executor session (Optimiser.session: local worker processes or a Dask
  cluster), started once for the whole walk-forward. Every window's search and every
  out-of-sample run is mapped on that session: a setting is {"window": k, "sample": "in" or
  "out", "params": {...}} and `WindowEvaluator` builds window k's BacktestSettings from it.
- Grid: the settings of every window go in one map (no worker waits at a window's end);
  genetic: each window's search in turn (a generation is one map), seeded by the plan's seed.
- The chosen setting of a window is its search's best (ties to the earlier setting, as the
  optimiser ranks). Its out-of-sample run is a plain backtest of that window: vn.py's engine
  from a flat position on the window's bars, its warm-up (load_bar) served from the same
  bars; the run returns its statistics (stats.report), daily results and fills.
- Stitched: the out-of-sample daily results concatenated in time (vn.py's daily_df columns
  without its list of trades; `balance` = capital + cumulative net P&L, with vn.py's
  drawdown columns), the fills in time with their window, and vn.py's statistics of that
  series (its calculate_statistics on the stitched frame) plus stats.compute's. A position
  a window leaves open is valued at that window's last close in its daily results and is
  not carried: the next window starts flat. Round trips are matched within each window.
- Efficiency and the pass criteria: walkforward_windows.efficiency / criteria.
- A window whose search gives no target, or whose out-of-sample run raises, stops the
  walk-forward with WalkForwardError naming the window. Cancel returns the windows
  finished, `cancelled` set, without statistics.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import pandas as pd

from terminal.backtest.engine import (
    BacktestSettings, StoreBacktestingEngine, raise_if_strategy_failed, run)
from terminal.backtest.optimisation.evaluation import BacktestEvaluator, SharedBars
from terminal.backtest.optimisation.genetic import genetic
from terminal.backtest.optimisation.optimiser import Optimiser
from terminal.backtest.optimisation.ranking import OptimisationResult, ranked, target_value
from terminal.backtest.optimisation.space import grid
from terminal.backtest.pool import Report
from terminal.backtest.runs import trades_frame
from terminal.backtest.stats import compute, report, round_trips
from terminal.backtest.walkforward_windows import (
    Criterion, Window, WalkForwardError, WalkForwardPlan, criteria, efficiency, windows)

IN, OUT = "in", "out"


def window_settings(settings: BacktestSettings, first: date, last: date) -> BacktestSettings:
    """The settings of a run over trading days `first` to `last` (the end is taken to
    23:59:59 by vn.py's engine); a window on the period's first day starts at the period's
    start time, so a start given with a time is kept."""
    start = datetime(first.year, first.month, first.day)
    if settings.start.date() == first and settings.start.replace(tzinfo=None) > start:
        start = settings.start
    return replace(settings, start=start, end=datetime(last.year, last.month, last.day))


def trading_days(bars: SharedBars, settings: BacktestSettings) -> list[date]:
    """The days with bars in the period (each bar's calendar date, as vn.py keys its daily
    results)."""
    end = settings.end.replace(hour=23, minute=59, second=59)
    return sorted({bar.datetime.date() for bar in bars.between(settings.start, end)})


class WindowEvaluator:
    """evaluate(setting, bars) for the executor: setting {"window": k, "sample": "in"|"out",
    "params": {...}}. In sample: vn.py's statistics (as the optimiser's BacktestEvaluator
    gives them) on window k's in-sample days. Out of sample: {"statistics": stats.report,
    "daily": daily results without the trades column, "trades": the fills} on its
    out-of-sample days. Picklable (the strategy as a class or a picklable loader)."""

    def __init__(self, strategy: type | Callable[[], type], settings: BacktestSettings,
                 fixed: dict, steps: list[Window]) -> None:
        self.strategy = strategy
        self.settings = settings
        self.fixed = dict(fixed)
        self.steps = list(steps)
        self._searches: dict[int, BacktestEvaluator] = {}

    def __getstate__(self) -> dict:
        return {"strategy": self.strategy, "settings": self.settings, "fixed": self.fixed,
                "steps": self.steps}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["strategy"], state["settings"], state["fixed"], state["steps"])

    def _search(self, k: int) -> BacktestEvaluator:
        if k not in self._searches:
            step = self.steps[k]
            first = next(iter(self._searches.values()), None)
            strategy = first.strategy_class if first is not None else self.strategy
            self._searches[k] = BacktestEvaluator(
                strategy, window_settings(self.settings, step.is_start, step.is_end),
                self.fixed)
        return self._searches[k]

    def __call__(self, setting: dict, data: Any) -> dict:
        k, params = setting["window"], setting["params"]
        search = self._search(k)
        if setting.get("sample", IN) == IN:
            return search(params, data)
        step = self.steps[k]
        settings = window_settings(self.settings, step.oos_start, step.oos_end)
        return out_of_sample(search.strategy_class, settings, {**self.fixed, **params}, data)


def out_of_sample(strategy_class: type, settings: BacktestSettings, params: dict,
                  bars: SharedBars) -> dict:
    """A plain backtest of `params` on the bars of `settings`' period, warm-up from `bars`:
    its report, daily results (no trades column) and fills."""
    outcome = run(strategy_class, bars.history(settings), settings, params,
                  bar_loader=bars.load_bars)
    raise_if_strategy_failed(outcome.engine)
    daily = outcome.daily.drop(columns=["trades"], errors="ignore").copy()
    return {"statistics": report(outcome.engine, outcome.statistics), "daily": daily,
            "trades": list(outcome.engine.trades.values())}


@dataclass
class WindowResult:
    """One window: the setting chosen in sample and how it did out of sample."""

    window: Window
    params: dict                    # the chosen values of the optimised parameters
    is_value: float                 # the target in sample
    is_stats: dict                  # vn.py's statistics in sample
    evaluated: int                  # settings evaluated in sample
    failed: int                     # of which failed
    oos_stats: dict = field(default_factory=dict)
    oos_daily: pd.DataFrame = field(default_factory=pd.DataFrame)
    oos_trades: list = field(default_factory=list)

    @property
    def oos_net_pnl(self) -> float:
        return float(self.oos_stats.get("total_net_pnl", 0.0) or 0.0)


@dataclass
class WalkForwardResult:
    """The windows, the stitched out-of-sample series and their judgement."""

    plan: WalkForwardPlan
    windows: list[WindowResult]
    daily: pd.DataFrame             # stitched daily results, indexed by date
    trades: pd.DataFrame            # stitched fills (runs.trades_frame) with a "window" column
    statistics: dict                # vn.py's and stats.compute's, of the stitched series
    efficiency: float
    criteria: list[Criterion]
    cancelled: bool = False
    elapsed: float = 0.0
    evaluated: int = 0              # settings evaluated in sample, all windows

    @property
    def passed(self) -> bool:
        return bool(self.criteria) and all(c.passed for c in self.criteria)

    def windows_frame(self) -> pd.DataFrame:
        """One row per window: its days, the chosen parameters ("param: name"), the target
        in sample and a few figures out of sample."""
        target = self.plan.target
        rows = []
        for w in self.windows:
            step = w.window
            row = {"window": step.number, "is_start": step.is_start, "is_end": step.is_end,
                   "oos_start": step.oos_start, "oos_end": step.oos_end,
                   "is_days": step.is_days, "oos_days": step.oos_days,
                   "partial": step.partial}
            row.update({f"param: {k}": v for k, v in w.params.items()})
            row.update({f"is_{target}": w.is_value,
                        "is_annual_return": target_value(w.is_stats, "annual_return"),
                        "oos_net_pnl": w.oos_net_pnl,
                        "oos_annual_return": target_value(w.oos_stats, "annual_return"),
                        "oos_max_ddpercent": target_value(w.oos_stats, "max_ddpercent"),
                        "oos_trade_count": target_value(w.oos_stats, "total_trade_count"),
                        "evaluated": w.evaluated, "failed": w.failed})
            rows.append(row)
        return pd.DataFrame.from_records(rows)


class WalkForward:
    """Runs a walk-forward on an Optimiser's backend (local processes or Dask, its worker
    count), with progress and cancel (from any thread)."""

    def __init__(self, optimiser: Optimiser | None = None) -> None:
        self.optimiser = optimiser or Optimiser()
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self, strategy: type | Callable[[], type], settings: BacktestSettings,
            plan: WalkForwardPlan, bars: SharedBars, progress: Report | None = None
            ) -> WalkForwardResult:
        """Walk forward over `settings`' period on `bars` (read once, covering the period and
        the warm-up before it). WalkForwardError names what stops it."""
        self._cancel.clear()
        plan.check()
        started = time.perf_counter()
        steps = windows(trading_days(bars, settings), plan.in_sample, plan.out_sample,
                        plan.mode)
        evaluate = WindowEvaluator(strategy, settings, plan.fixed, steps)
        tell = progress or (lambda percent, text: None)
        with self.optimiser.session(evaluate, bars) as session:
            searches = (self._grid if plan.search == "grid" else self._genetic)(
                session, plan, steps, tell)
            chosen = [_chosen(plan, step, search) for step, search in
                      zip(steps, searches, strict=False)
                      if not search.cancelled]
            outs: list = []
            if not self.cancelled and len(chosen) == len(steps):
                tell(95.0, f"out of sample: {len(steps)} windows")
                outs = session.map([{"window": k, "sample": OUT, "params": w.params}
                                    for k, w in enumerate(chosen)], 1, None, self._cancel)
        for w, out in zip(chosen, outs, strict=False):     # none when cancelled
            if out is None:
                continue
            if "error" in out:
                raise WalkForwardError(f"window {w.window.number} out of sample "
                                       f"({w.window.oos_start} to {w.window.oos_end}): "
                                       f"{out['error'].strip()}")
            w.oos_stats, w.oos_daily, w.oos_trades = out["statistics"], out["daily"], \
                out["trades"]
        evaluated = sum(w.evaluated for w in chosen)
        elapsed = time.perf_counter() - started
        if self.cancelled or any(out is None for out in outs) or len(outs) != len(steps):
            done = [w for w in chosen if w.oos_stats]
            return WalkForwardResult(plan, done, pd.DataFrame(), trades_frame(None), {},
                                     math.nan, [], True, elapsed, evaluated)
        result = stitched(plan, settings, chosen)
        result.elapsed, result.evaluated = elapsed, evaluated
        tell(100.0, f"done: {len(steps)} windows")
        return result

    def _grid(self, session, plan: WalkForwardPlan, steps: list[Window], tell: Report
              ) -> list[OptimisationResult]:
        """Every window's grid in one map; results ranked per window."""
        params = grid(plan.space)
        settings = [{"window": k, "sample": IN, "params": p}
                    for k in range(len(steps)) for p in params]
        workers = self.optimiser.workers
        chunk = self.optimiser.chunk_size or max(1, min(16, len(settings) // (workers * 8)))

        def report(percent: float, text: str) -> None:
            done = round(percent * len(settings) / 100)
            k = min(done // len(params), len(steps) - 1)
            tell(percent * 0.95, f"window {k + 1} of {len(steps)}: in-sample search, "
                 f"{done:,}/{len(settings):,} settings evaluated")

        started = time.perf_counter()
        stats = session.map(settings, chunk, report, self._cancel)
        elapsed = time.perf_counter() - started
        size = len(params)
        return [ranked(plan.target, params, stats[k * size:(k + 1) * size], plan.maximise,
                       any(s is None for s in stats[k * size:(k + 1) * size]), elapsed, size)
                for k in range(len(steps))]

    def _genetic(self, session, plan: WalkForwardPlan, steps: list[Window], tell: Report
                 ) -> list[OptimisationResult]:
        """Each window's genetic search in turn, every generation one map on the session."""
        results = []
        for k in range(len(steps)):
            if self.cancelled:
                break

            def batch(params: list[dict], k=k) -> list:
                settings = [{"window": k, "sample": IN, "params": p} for p in params]
                return session.map(settings, max(1, len(settings) // (
                    self.optimiser.workers * 4)), None, self._cancel)

            def report(percent: float, text: str, k=k) -> None:
                tell(95.0 * (k + percent / 100) / len(steps),
                     f"window {k + 1} of {len(steps)}: in-sample genetic search, {text}")

            results.append(genetic(plan.space, None, plan.target, plan.population,
                                   plan.generations, plan.seed, maximise=plan.maximise,
                                   evaluate_batch=batch, progress=report,
                                   should_stop=self._cancel.is_set))
        return results


def _chosen(plan: WalkForwardPlan, step: Window, search: OptimisationResult) -> WindowResult:
    best = search.best
    if best is None:
        reason = f"no setting gave a {plan.target}"
        if search.errors:
            reason += ": " + search.errors[0][2]["error"].strip().splitlines()[-1]
        raise WalkForwardError(f"window {step.number} in sample ({step.is_start} to "
                               f"{step.is_end}): {reason}")
    params, value, stats = best
    return WindowResult(step, dict(params), value, stats, len(search.rows),
                        len(search.errors))


def stitched(plan: WalkForwardPlan, settings: BacktestSettings,
             chosen: list[WindowResult]) -> WalkForwardResult:
    """The out-of-sample windows joined: daily results, fills, vn.py's statistics of the
    joined series and stats.compute's (round trips matched within each window), the
    efficiency and the criteria."""
    daily = pd.concat([w.oos_daily for w in chosen if len(w.oos_daily)])
    trades = pd.concat([trades_frame(w.oos_trades).assign(window=w.window.number)
                        for w in chosen], ignore_index=True)
    engine = StoreBacktestingEngine()
    settings.apply(engine)
    statistics = engine.calculate_statistics(daily, output=False)   # sets balance, drawdown
    trips = [trip for w in chosen
             for trip in round_trips(w.oos_trades, settings.size, settings.rate,
                                     settings.slippage)]
    merged = {key: value.item() if hasattr(value, "item") else value
              for key, value in statistics.items()}
    merged.update(compute(daily, [], settings.capital, settings.size, settings.rate,
                          settings.slippage, settings.annual_days, settings.risk_free,
                          trips=trips))
    ratio = efficiency(target_value(merged, "annual_return"),
                       [target_value(w.is_stats, "annual_return") for w in chosen])
    judged = criteria(float(merged.get("total_net_pnl", 0.0)),
                      [w.oos_net_pnl for w in chosen], ratio,
                      float(merged.get("max_ddpercent", 0.0)))
    merged["walkforward_efficiency"] = ratio
    return WalkForwardResult(plan, chosen, daily, trades, merged, ratio, judged)
