"""A grid or genetic search of a strategy's parameters.

- In this process (the command line): the bars read once (services.backtest.prepare with its
  warm-up days), the settings evaluated by the Optimiser's worker processes or a Dask
  cluster, then the best setting backtested again here and kept as one run, with the search
  under its settings' "optimisation" key and the table of every setting evaluated as
  `optimisation.parquet` in its folder. The number of settings tried and the best setting's
  overfitting odds (deflated Sharpe ratio, PBO, verdict: optimisation.odds) are computed
  after the search and kept under "tried" and "odds" of that key (`stored_odds`).
- As a job of the workbench's pool: terminal.backtest.pool_jobs.optimise in a worker, which reads
  the bars and runs its own Optimiser (`submit_search`).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from terminal.backtest import pool_jobs
from terminal.backtest.engine import BacktestSettings
from terminal.backtest.optimisation.evaluation import BacktestEvaluator
from terminal.backtest.optimisation.odds import OptimisationOdds
from terminal.backtest.optimisation.optimiser import Optimiser
from terminal.backtest.optimisation.ranking import TARGETS, OptimisationResult, target_value
from terminal.backtest.optimisation.space import ParameterError, ParameterSpace
from terminal.backtest.pool import JobHandle
from terminal.backtest.runs import FAILED, RunStore
from terminal.core.paths import DataPaths
from terminal.plugins.loader import StrategyEntry
from terminal.plugins.parameters import parameter_list
from terminal.services.backtest import RUNS_FOLDER, Prepared, backtest, record_settings
from terminal.services.errors import BadInput
from terminal.services.strategies import worker_strategy

TABLE_FILE = "optimisation.parquet"
# vn.py's statistics kept beside the target in the optimisation's table
TABLE_STATISTICS = ("total_return", "max_ddpercent", "sharpe_ratio", "total_trade_count")


@dataclass
class Search:
    """How to search: the target and its direction, grid or genetic, and where."""

    target: str = "sharpe_ratio"
    maximise: bool = True
    genetic: bool = False
    population: int = 20
    generations: int = 10
    seed: int | None = None         # genetic; None: a new one, drawn by `plan`
    workers: int | None = None      # local worker processes; None: the CPUs
    scheduler: str | None = None    # a Dask scheduler's address instead

    @property
    def method(self) -> str:
        return "genetic" if self.genetic else "grid"

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass
class Best:
    """The best setting's run: kept as done with its statistics, or failed with why."""

    run_id: str
    runs_root: Path
    params: dict | None = None
    value: float | None = None
    stats: dict | None = None
    error: str | None = None        # no setting gave the target, or the backtest failed
    again: float | None = None      # the target of the best setting backtested again


def plan(entry: StrategyEntry, ranges: dict, search: Search) -> ParameterSpace:
    """The space of the ranges, checked against the strategy; the search's seed drawn when it
    has none. BadInput names what cannot be searched."""
    if not ranges:
        raise BadInput("optimise needs at least one --range NAME=START:STOP:STEP "
                       f"(parameters of {entry.name}: {parameter_list(entry.parameters)})")
    if search.target not in TARGETS:
        raise BadInput(f"--target {search.target!r}: not one of {', '.join(TARGETS)}")
    try:
        space = ParameterSpace(ranges)
        space.check_parameters(entry.name, entry.parameters)
    except ParameterError as exc:
        raise BadInput(f"--range {exc}") from None
    if search.seed is None:
        search.seed = random.SystemRandom().randrange(2**31)
    return space


def run_search(prepared: Prepared, space: ParameterSpace, search: Search,
               progress: Callable[[float, str], None]) -> OptimisationResult:
    """Evaluate the space's settings in worker processes (or on the Dask cluster) on the
    prepared bars, with the best setting's overfitting odds (`result.odds`); OptimisationError,
    OSError or TimeoutError when it cannot."""
    strategy = prepared.entry.cls
    if search.scheduler:        # the cluster's workers import the class from its file
        strategy = worker_strategy(prepared.entry)
    evaluate = BacktestEvaluator(strategy, prepared.settings, prepared.params)
    optimiser = Optimiser(workers=search.worker_count, scheduler_address=search.scheduler)
    if search.genetic:
        result = optimiser.genetic(evaluate, space, search.target, prepared.bars.shared,
                                   population=search.population,
                                   generations=search.generations, seed=search.seed,
                                   maximise=search.maximise, progress=progress)
    else:
        result = optimiser.grid(evaluate, space, search.target, prepared.bars.shared,
                                maximise=search.maximise, progress=progress)
    result.compute_odds()
    return result


def described(prepared: Prepared, space: ParameterSpace, search: Search,
              result: OptimisationResult) -> dict:
    """The search as the run keeps it under its settings' "optimisation" key."""
    return {"method": search.method, "target": search.target, "maximise": search.maximise,
            "space": {name: list(space.values(name)) for name in space.names},
            "fixed": dict(prepared.params), "evaluated": len(result.rows),
            "tried": result.tried,
            "odds": (result.odds or result.compute_odds()).as_dict(),
            "total": result.total, "failed": len(result.errors), "elapsed": result.elapsed,
            "warmup_days": prepared.bars.warmup_days,
            "where": search.scheduler or f"local, {search.worker_count} workers",
            **({"population": search.population, "generations": search.generations,
                "seed": search.seed} if search.genetic else {})}


def keep_best(prepared: Prepared, space: ParameterSpace, search: Search,
              result: OptimisationResult, paths: DataPaths) -> Best:
    """Keep the search as one run with the table of every setting; the best setting
    backtested again here for its daily results and trades (failed when none gave the
    target or its backtest failed)."""
    best = result.best
    s = prepared.settings
    with RunStore(paths.root / RUNS_FOLDER) as runs:
        params = {**prepared.all_params, **(best[0] if best else {})}
        run_id = runs.create(prepared.entry.name, s.vt_symbol, s.interval, s.start, s.end,
                             record_settings(prepared, optimisation=described(
                                 prepared, space, search, result)), params)
        write_table(runs.root / run_id, result.frame(TABLE_STATISTICS))
        kept = Best(run_id, runs.root)
        if best is None:
            kept.error = f"no setting gave a {search.target}"
            if result.errors:
                kept.error += ": " + result.errors[0][2]["error"]
            runs.set_status(run_id, FAILED, kept.error)
            return kept
        kept.params, kept.value, _ = best
        outcome, stats, failure = backtest(prepared, {**prepared.params, **kept.params})
        if failure is not None:
            kept.error = failure
            runs.set_status(run_id, FAILED, failure)
            return kept
        kept.stats, kept.again = stats, target_value(stats, search.target)
        runs.save_result(run_id, stats, outcome.daily, outcome.engine.trades)
        return kept


def stored_odds(settings: dict) -> OptimisationOdds | None:
    """The odds a kept optimisation run holds (its RunRecord.settings), or None for a run
    that is not an optimisation or was kept before odds were."""
    odds = (settings.get("optimisation") or {}).get("odds")
    return OptimisationOdds.from_dict(odds) if isinstance(odds, dict) else None


def odds_lines(odds: OptimisationOdds) -> list[str]:
    """The odds as the command line prints them: the count, each measure, the verdict."""
    failed = odds.tried - odds.settings
    lines = [f"settings tried: {odds.tried:,}"
             + (f" ({failed:,} without daily returns: failed, left out of the table but "
                f"counted)" if failed else "")]
    if odds.dsr is None:
        lines.append(f"deflated Sharpe ratio: missing: {odds.why('DSR')}")
    else:
        lines.append(f"deflated Sharpe ratio: {odds.dsr:.2f} (the best setting's daily Sharpe "
                     f"{odds.sharpe:.3f} against {odds.expected_max_sharpe:.3f} expected from "
                     f"the best of {odds.tried:,} by luck)")
    if odds.pbo is None:
        lines.append(f"probability of backtest overfitting: missing: {odds.why('PBO')}")
    else:
        lines.append(f"probability of backtest overfitting: {odds.pbo:.0%} ({odds.blocks} "
                     f"blocks of {odds.days:,} days, {odds.settings:,} settings)")
    lines.append(f"verdict: {odds.headline}")
    lines += [f"  {line}" for line in odds.lines]
    return lines


def same_value(again: float, best: float) -> bool:
    return again == best or (math.isnan(again) and math.isnan(best))


def write_table(folder: Path, frame) -> None:
    """The optimisation's table as Parquet in the run's folder (written to a temporary name
    and renamed, as the run store writes its own files)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TABLE_FILE
    temporary = folder / f".{TABLE_FILE}.tmp"
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].map(lambda v: v if v is None or isinstance(
                v, (str, int, float, bool)) else str(v))
    try:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), temporary,
                       compression="zstd")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------- the workbench's
def check_search(entry: StrategyEntry, settings: BacktestSettings, spec: dict
                 ) -> ParameterSpace:
    """The workbench's space checked against the strategy and the data; ValueError (or
    ParameterError) says what is wrong."""
    if getattr(settings.interval, "value", settings.interval) == "tick":
        raise ValueError("optimisation runs on bars, not ticks: choose a bar interval")
    space = ParameterSpace(spec)
    space.check_parameters(entry.name, entry.parameters)
    return space


def submit_search(submit: Callable[..., JobHandle], market_root: Path | str,
                  entry: StrategyEntry, settings: BacktestSettings, spec: dict, fixed: dict,
                  search: Search, time_limit: float | None) -> JobHandle:
    """One job of the pool: a worker reads the bars once and its Optimiser's own workers
    evaluate the settings (terminal.backtest.pool_jobs.optimise)."""
    kwargs = dict(market_root=str(market_root), strategy=worker_strategy(entry),
                  settings=settings, space=spec, target=search.target, method=search.method,
                  fixed=fixed, maximise=search.maximise, workers=search.worker_count,
                  population=search.population, generations=search.generations,
                  seed=search.seed, scheduler=search.scheduler)
    return submit(pool_jobs.optimise, kwargs,
                  name=f"optimise {entry.name} {settings.vt_symbol}", time_limit=time_limit)

