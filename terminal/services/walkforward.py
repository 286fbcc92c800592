"""A walk-forward optimisation, the way the command line (and the workbench) runs one: the plan
checked (ranges, target and search as `optimise` checks them, the windows' mode and lengths
in trading days), the bars read once (services.backtest.prepare with its warm-up days), the
walk run on local worker processes or a Dask cluster (terminal.backtest.walkforward), and
kept in the run store as a run of kind "walkforward":

- settings: the engine's settings and costs (as a backtest keeps them) and, under
  "walkforward", the plan, where it ran, the settings evaluated and the time taken;
- params: the strategy's parameters that were not optimised (each window's chosen ones are
  in the windows table);
- stats: vn.py's statistics of the stitched out-of-sample series and stats.compute's, plus
  "walkforward_efficiency", "criteria" (name, value, threshold, passed, note each),
  "passed" (all five) and "windows";
- daily.parquet / trades.parquet: the stitched series (trades with their window);
- windows.parquet: one row a window (RunStore.load_windows).

A walk-forward that cannot run (too short a period, a window whose search gives no target, a
strategy raising out of sample) is kept as failed with the reason; cancelled as cancelled.

    walk = runner(search)                      # walk.cancel() from another thread
    kept = run_and_keep(prepared, the_plan, walk, paths, progress)

The workbench hands the walk to its pool instead (`submit_walk`: a worker process reads the
bars and walks) and keeps what comes back with `keep_result` on a thread.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from terminal.backtest import walkforward_job
from terminal.backtest.engine import BacktestSettings
from terminal.backtest.optimisation.optimiser import Optimiser
from terminal.backtest.pool import JobHandle
from terminal.backtest.pool_jobs import settings_record
from terminal.backtest.runs import CANCELLED, FAILED, RUNNING, WALKFORWARD, RunStore
from terminal.backtest.walkforward import WalkForward, WalkForwardResult
from terminal.backtest.walkforward_windows import WalkForwardError, WalkForwardPlan
from terminal.core.paths import DataPaths
from terminal.plugins.loader import StrategyEntry
from terminal.services import optimisation
from terminal.services.backtest import RUNS_FOLDER, Prepared, record_settings
from terminal.services.backtest_runs import Submit
from terminal.services.errors import BadInput
from terminal.services.optimisation import Search
from terminal.services.strategies import worker_strategy

MODES = ("rolling", "anchored")


@dataclass
class Kept:
    """The walk-forward kept: its run id, and the result or why it failed."""

    run_id: str
    runs_root: Path
    result: WalkForwardResult | None = None
    error: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.result is not None and self.result.cancelled


def plan(entry: StrategyEntry, ranges: dict, search: Search, mode: str, in_sample: int,
         out_sample: int, fixed: dict | None = None) -> WalkForwardPlan:
    """The plan, checked; BadInput names the value (the ranges and the target as `optimise`
    names them, the seed drawn for a genetic search without one)."""
    if mode not in MODES:
        raise BadInput(f"--mode {mode!r}: one of {', '.join(MODES)}")
    for option, value in (("--in-sample", in_sample), ("--out-sample", out_sample)):
        if value < 1:
            raise BadInput(f"{option} {value}: a number of trading days, 1 or more")
    space = optimisation.plan(entry, ranges, search)
    walk = WalkForwardPlan(space, in_sample, out_sample, mode, search.target, search.maximise,
                           search.method, search.population, search.generations, search.seed,
                           dict(fixed or {}))
    try:
        walk.check()
    except WalkForwardError as exc:
        raise BadInput(str(exc)) from None
    return walk


def runner(search: Search) -> WalkForward:
    """The walk on the search's backend: `search.workers` local processes, or the Dask
    scheduler at `search.scheduler`. Its `cancel()` stops it from any thread."""
    return WalkForward(Optimiser(workers=search.worker_count,
                                 scheduler_address=search.scheduler))


def run_and_keep(prepared: Prepared, the_plan: WalkForwardPlan, walk: WalkForward,
                 paths: DataPaths, progress: Callable[[float, str], None] | None = None
                 ) -> Kept:
    """Walk forward on the prepared bars (prepared with warm-up days: read once) and keep the
    run: done with the stitched results, failed with the reason, or cancelled."""
    if prepared.bars.shared is None:
        raise BadInput("a walk-forward reads its bars once: prepare it with warm-up days")
    strategy = prepared.entry.cls
    if walk.optimiser.backend == "dask":     # the cluster's workers import it from its file
        strategy = worker_strategy(prepared.entry)
    the_plan.fixed = dict(prepared.params)
    s = prepared.settings
    with RunStore(paths.root / RUNS_FOLDER) as runs:
        run_id = runs.create(prepared.entry.name, s.vt_symbol, s.interval, s.start, s.end,
                             record_settings(prepared, walkforward=described(
                                 prepared, the_plan, walk)),
                             prepared.all_params, kind=WALKFORWARD)
        runs.set_status(run_id, RUNNING)
        kept = Kept(run_id, runs.root)
        try:
            kept.result = walk.run(strategy, s, the_plan, prepared.bars.shared, progress)
        except KeyboardInterrupt:
            runs.set_status(run_id, FAILED, "interrupted")
            raise
        except WalkForwardError as exc:
            kept.error = str(exc)
        except Exception:  # noqa: BLE001 - a failing walk is kept failed with its traceback
            kept.error = traceback.format_exc()
        if kept.error is not None:
            runs.set_status(run_id, FAILED, kept.error)
            return kept
        try:
            keep_result(runs, run_id, kept.result)
        except Exception as exc:  # noqa: BLE001 - a disk full: kept failed, saying so
            kept.error = f"the result could not be saved: {exc}"
            runs.set_status(run_id, FAILED, kept.error)
        return kept


def keep_result(runs: RunStore, run_id: str, result: WalkForwardResult) -> None:
    """Keep a finished walk: cancelled as cancelled, else its windows, statistics and
    stitched series (Parquet and SQLite: slow, for a thread in the GUI)."""
    if result.cancelled:
        runs.set_status(run_id, CANCELLED)
        return
    runs.save_windows(run_id, result.windows_frame())
    runs.save_result(run_id, statistics(result), result.daily, result.trades)


def submit_walk(runs: RunStore, submit: Submit, market_root: Path | str, entry: StrategyEntry,
                settings: BacktestSettings, the_plan: WalkForwardPlan, workers: int,
                warmup_days: int, time_limit: float | None, scheduler: str | None = None
                ) -> tuple[str, JobHandle]:
    """The workbench's walk-forward: kept as queued (kind "walkforward") and handed to the
    pool, whose worker reads the bars once and walks with `workers` processes of its own
    (terminal.backtest.walkforward_job); (run id, the job's handle). A walk the pool refuses
    is kept as failed with the reason."""
    record = {**settings_record(settings), "command": "workbench",
              "walkforward": {**the_plan.described(), "warmup_days": warmup_days,
                              "where": scheduler or f"local, {workers} workers"}}
    run_id = runs.create(entry.name, settings.vt_symbol, settings.interval, settings.start,
                         settings.end, record, {**the_plan.fixed}, kind=WALKFORWARD)
    kwargs = dict(market_root=str(market_root), strategy=worker_strategy(entry),
                  settings=settings, plan=the_plan, workers=workers, warmup_days=warmup_days,
                  scheduler=scheduler)
    try:
        handle = submit(walkforward_job.walk_forward, kwargs,
                        name=f"walk-forward {entry.name} {settings.vt_symbol}",
                        time_limit=time_limit)
    except BaseException as exc:
        runs.set_status(run_id, FAILED, f"the walk-forward could not be started: {exc}")
        raise
    return run_id, handle


def described(prepared: Prepared, the_plan: WalkForwardPlan, walk: WalkForward) -> dict:
    """The plan and where it runs, as the run keeps them under settings["walkforward"]."""
    optimiser = walk.optimiser
    return {**the_plan.described(), "warmup_days": prepared.bars.warmup_days,
            "where": optimiser.scheduler_address or f"local, {optimiser.workers} workers"}


def statistics(result: WalkForwardResult) -> dict:
    """What the run's stats hold: the stitched series' statistics, the efficiency, the
    criteria and the counts."""
    return {**result.statistics, "walkforward_efficiency": result.efficiency,
            "criteria": [c.as_dict() for c in result.criteria], "passed": result.passed,
            "windows": len(result.windows), "evaluated": result.evaluated,
            "elapsed": result.elapsed}
