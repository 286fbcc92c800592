"""A walk-forward as a job of the workbench's pool: a worker process reads the bars once and
walks forward with its own Optimiser workers (forked from it, so they share the bars and end
with the job when it is cancelled); the result comes back to the workbench, which keeps it.

The workbench's equivalent of `services.walkforward.run_and_keep` (the command line's,
in-process): the same plan, the same `WalkForward`, the same bars."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from terminal.backtest import built_bars, intervals
from terminal.backtest.engine import BacktestSettings
from terminal.backtest.optimisation.optimiser import Optimiser
from terminal.backtest.walkforward import WalkForward, WalkForwardResult
from terminal.backtest.walkforward_windows import WalkForwardPlan
from terminal.storage.market_store import MarketStore


def walk_forward(report: Callable[[float, str], None], *, market_root: str | Path,
                 strategy: Callable[[], type], settings: BacktestSettings,
                 plan: WalkForwardPlan, workers: int = 2, warmup_days: int = 30,
                 scheduler: str | None = None) -> WalkForwardResult:
    """Walk forward in a worker: `plan` over `settings`' period, the bars read once from the
    store at `market_root` (or built from a shorter stored series) with `warmup_days` before
    the start for the strategies' warm-up; evaluated by `workers` processes of its own, or on
    the Dask cluster at `scheduler` (`strategy` then a picklable loader of its file)."""
    report(0.0, "loading the strategy")
    plan.check()
    plan.space.check(strategy())
    store = MarketStore(Path(market_root))
    try:
        report(0.0, "reading bars")
        bars = built_bars.shared_bars(store, settings, warmup_days)
    finally:
        store.close()
    if not bars.history(settings):
        raise ValueError(f"no {intervals.name_of(settings.interval)} data for "
                         f"{settings.vt_symbol} in the period")
    optimiser = Optimiser(workers=workers, scheduler_address=scheduler)
    return WalkForward(optimiser).run(strategy, settings, plan, bars, progress=report)
