"""Monte Carlo on a stored run, for the CLI (`trading-terminal montecarlo`), the workbench's
Monte Carlo tab and the HTML report: the run's round trips dealt in other orders, or its
daily returns bootstrapped, N simulations from one seed (terminal.backtest.montecarlo).

Methods (`METHODS`), by the names the CLI and the workbench use:

- "trades": the round trips' net P&L (`stats.round_trips` on the stored fills, with the
  run's commission and slippage) in a new order each simulation, a permutation; with
  `replace` drawn with replacement (a bootstrap of the trades). A step is a round trip. The
  run's own path is capital + its round trips in the order they closed; a position still
  open at the end is not a round trip, so that path may end away from the run's balance.
- "daily": the run's daily simple returns drawn with replacement and compounded. A step is
  a trading day; the run's own path is its balance by day.

A run needs at least `MIN_ROUND_TRIPS` round trips, or `MIN_DAYS` days, to be simulated:
with fewer, the percentiles would be drawn from a handful of numbers; the refusal names the
count. Nothing is stored: the same run, method, simulations and seed give the same result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from terminal.backtest import montecarlo, run_series
from terminal.backtest.runs import DONE, RunNotFound, RunRecord, RunStore
from terminal.services.errors import BadInput

METHODS = ("trades", "daily")
MIN_ROUND_TRIPS = 10
MIN_DAYS = 20
DEFAULT_SIMULATIONS = 1000
DEFAULT_LOSS_SHARE = 0.10          # the loss asked about when none is given: 10% of capital
FIGURE_LABELS = {
    "max_drawdown": "Maximum drawdown",
    "max_drawdown_pct": "Maximum drawdown %",
    "end_balance": "End balance",
    "longest_drawdown": "Longest drawdown",
}


@dataclass(frozen=True)
class MonteCarloRun:
    """A Monte Carlo of one run: the simulations, the run's own path and what a step is."""

    record: RunRecord
    method: str                   # "trades" or "daily"
    replace: bool
    result: montecarlo.MonteCarloResult
    actual: np.ndarray            # the run's own equity path, step 0 the capital
    days: tuple[str, ...] = ()    # "daily": the trading day of each step after step 0

    def step_labels(self) -> list[str]:
        """What each step is, for a chart's axis: the day (step 0 "start") or the number of
        round trips dealt."""
        if self.method == "daily" and len(self.days) == self.result.steps:
            return ["start", *self.days]
        return [str(step) for step in range(self.result.steps + 1)]

    @property
    def unit(self) -> str:
        return "round trips" if self.method == "trades" else "trading days"

    @property
    def description(self) -> str:
        how = {("trades", False): "round trips dealt in a new order (no replacement)",
               ("trades", True): "round trips drawn with replacement",
               ("daily", False): "daily returns drawn with replacement"}[
            (self.method, self.replace)]
        return (f"{self.result.simulations:,} simulations of {self.result.steps:,} "
                f"{self.unit}, {how}, seed {self.result.seed}")


def simulate(record: RunRecord, daily: pd.DataFrame, trades: pd.DataFrame, method: str,
             simulations: int, seed: int, replace: bool = False) -> MonteCarloRun:
    """The Monte Carlo of a run already loaded (its record, daily results and fills)."""
    if method not in METHODS:
        raise BadInput(f"method: {method!r} is not one of {', '.join(METHODS)}")
    if record.status != DONE:
        raise BadInput(f"run {record.run_id} is {record.status}: only a finished run has "
                       "results to simulate")
    try:
        capital = run_series.capital_of(record.settings)
        if method == "trades":
            trips = run_series.stored_round_trips(trades, record.settings)
            if len(trips) < MIN_ROUND_TRIPS:
                raise BadInput(f"run {record.run_id} has {len(trips)} closed round trips; a "
                               f"trade-order Monte Carlo needs at least {MIN_ROUND_TRIPS}")
            pnl = np.array([trip.net_pnl for trip in trips])
            actual = np.concatenate(([capital], capital + np.cumsum(pnl)))
            result = montecarlo.shuffle_trades(pnl, capital, simulations, seed, replace)
        else:
            days = 0 if daily is None else len(daily)
            if days < MIN_DAYS:
                raise BadInput(f"run {record.run_id} has {days} trading days; a daily-returns "
                               f"Monte Carlo needs at least {MIN_DAYS}")
            if "net_pnl" not in daily.columns:
                raise BadInput(f"run {record.run_id}: its daily results have no net_pnl "
                               "column to take returns from")
            actual = run_series.equity(daily, capital)
            returns = montecarlo.daily_returns(capital, daily["net_pnl"].to_numpy(float))
            result = montecarlo.bootstrap_daily_returns(returns, capital, simulations, seed)
    except BadInput:
        raise
    except ValueError as exc:
        raise BadInput(f"run {record.run_id}: {exc}") from None
    days = tuple(run_series.day_text(day) for day in daily.index) if method == "daily" else ()
    return MonteCarloRun(record, method, replace and method == "trades", result, actual, days)


def simulate_stored(runs: RunStore, run_id: str, method: str, simulations: int, seed: int,
                    replace: bool = False) -> MonteCarloRun:
    """The Monte Carlo of a stored run, read from the run store (slow: for a thread)."""
    try:
        record = runs.get(run_id)
    except RunNotFound:
        raise BadInput(f"run {run_id!r}: no such run in {runs.root}") from None
    return simulate(record, runs.load_daily(run_id), runs.load_trades(run_id), method,
                    simulations, seed, replace)


def default_loss(record: RunRecord) -> float:
    """The loss asked about when none is given: `DEFAULT_LOSS_SHARE` of the capital."""
    return round(run_series.capital_of(record.settings) * DEFAULT_LOSS_SHARE, 2)


def check_loss(amount: float) -> float:
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or \
            not math.isfinite(amount) or amount <= 0:
        raise BadInput(f"loss: {amount!r} must be an amount of money above 0")
    return float(amount)


def figure_text(name: str, value: float, unit: str) -> str:
    """A figure as the table writes it: money with separators, % with two decimals, steps."""
    if name == "max_drawdown_pct":
        return f"{value * 100:,.2f}%"
    if name == "longest_drawdown":
        return f"{round(value):,} {unit}"
    return f"{value:,.2f}"


def percentile_rows(run: MonteCarloRun) -> list[tuple[str, str, str, str, str]]:
    """(figure, 5th, 50th, 95th percentile, this run) as text, one row per figure."""
    summary = run.result.summary()
    own = montecarlo.path_figures(run.actual)
    rows = []
    for name, label in FIGURE_LABELS.items():
        values = [summary[name][q] for q in (5.0, 50.0, 95.0)] + [own[name]]
        rows.append((label, *(figure_text(name, v, run.unit) for v in values)))
    return rows


def loss_words(run: MonteCarloRun, amount: float) -> list[str]:
    """The chance of losing `amount`, in words (the three readings of
    `MonteCarloResult.loss_chance`)."""
    chance = run.result.loss_chance(check_loss(amount))
    money = f"{amount:,.2f}"
    return [
        (f"{chance['end'] * 100:.1f}% of the simulations end {money} or more below the "
        f"starting capital."),
        (f"{chance['ever'] * 100:.1f}% are {money} or more below the starting capital at some "
        f"point."),
        (f"{chance['drawdown'] * 100:.1f}% give back {money} or more from a peak (maximum "
        f"drawdown)."),
    ]
