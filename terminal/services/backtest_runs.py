"""A backtest the way the workbench runs it: kept in the run store as queued, submitted to the
worker pool (a worker reads the bars and runs vn.py's engine: terminal.backtest.pool_jobs), its
state kept as it goes, its result saved, and a stored run opened again as it was shown.

`submit` is the pool's: `submit(job, kwargs, name=..., time_limit=...)` returning a
JobHandle (the workbench's PoolSignals, whose callbacks come back as Qt signals).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from terminal.backtest import pool_jobs
from terminal.backtest.engine import BacktestSettings
from terminal.backtest.pool_jobs import (
    RUN_NOTES, RunResult, chart_candles, chart_columns, settings_from, settings_record)
from terminal.backtest.pool import JobHandle
from terminal.backtest.runs import (
    DONE, FAILED, QUEUED, RUNNING, RunNotFound, RunRecord, RunStore)
from terminal.plugins.loader import StrategyEntry
from terminal.services.strategies import worker_strategy
from terminal.storage.market_store import MarketStore

log = logging.getLogger(__name__)

Submit = Callable[..., JobHandle]


def submit_run(runs: RunStore, submit: Submit, market_root: Path | str, entry: StrategyEntry,
               settings: BacktestSettings, params: dict,
               time_limit: float | None) -> tuple[str, JobHandle]:
    """Keep the run as queued and hand it to the pool; (run id, the job's handle). A run the
    pool refuses is kept as failed with the reason."""
    run_id = runs.create(entry.name, settings.vt_symbol, settings.interval, settings.start,
                         settings.end, settings_record(settings), params)
    kwargs = dict(market_root=str(market_root), strategy=worker_strategy(entry),
                  settings=settings, params=params)
    try:
        handle = submit(pool_jobs.run_backtest, kwargs,
                        name=f"{entry.name} {settings.vt_symbol}", time_limit=time_limit)
    except BaseException as exc:
        runs.set_status(run_id, FAILED, f"the run could not be started: {exc}")
        raise
    return run_id, handle


def set_status(runs: RunStore, run_id: str, status: str, error: str = "") -> bool:
    """Keep the run's state; False when it was deleted meanwhile."""
    try:
        runs.set_status(run_id, status, error)
    except RunNotFound:
        return False
    return True


def save_result(runs: RunStore, run_id: str, result: RunResult) -> RunResult:
    """Keep a finished run's statistics (with its notes: where its bars came from, what the
    warm-up loaded), daily results and fills (Parquet and SQLite: slow, for a thread)."""
    runs.save_result(run_id, {**result.stats, **result.notes}, result.daily, result.trades)
    return result


def open_run(runs: RunStore, store: MarketStore, run_id: str) -> tuple[RunRecord, RunResult]:
    """A stored run as it was kept (nothing recomputed) with the candles of its period, when
    the store still has them (slow, for a thread)."""
    record = runs.get(run_id)
    result = RunResult(stats={k: v for k, v in record.stats.items() if k not in RUN_NOTES},
                       notes={k: v for k, v in record.stats.items() if k in RUN_NOTES})
    if record.status == DONE:
        result.daily = runs.load_daily(run_id)
        result.trades = runs.load_trades(run_id)
        try:
            settings = settings_from(record.vt_symbol, record.interval, record.start,
                                     record.end, record.settings)
            result.candles = chart_candles(store, settings)      # a tick run's
            result.bars = result.candles.get("1m") if result.candles else \
                chart_columns(store, settings)
        except Exception:  # the series may be gone: no candles then
            log.info("no candles for run %s", run_id, exc_info=True)
    return record, result


def mark_unfinished(runs: RunStore, run_ids: list[str], status: str, error: str) -> None:
    """Runs still queued or running get `status` (the terminal closing during them)."""
    for run_id in run_ids:
        try:
            if runs.get(run_id).status in (QUEUED, RUNNING):
                runs.set_status(run_id, status, error)
        except Exception:  # closing goes on
            log.debug("could not mark run %s %s", run_id, status, exc_info=True)

