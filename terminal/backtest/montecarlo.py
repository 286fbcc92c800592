"""Monte Carlo on a finished run: how bad could the same edge have looked in another order?

A backtest is one path through its trades. The methods here re-deal that path many times
and report the spread, so a trader sizes for the 95th-percentile drawdown rather than the
one that happened. Pure numpy, no Qt, no vn.py: the inputs are plain arrays (a run's round
trips' net P&L from `stats.round_trips`, or its daily returns from the daily results).

Methods (`METHODS`):

- `"trade_order"` (`shuffle_trades`): each simulation deals the run's round-trip net P&L in a
  new random order, WITHOUT replacement (a permutation), and adds it up from the starting
  capital. This is the "trade order" Monte Carlo of NinjaTrader and MultiCharts: the trades
  are the ones the strategy made, only their sequence is luck, so every simulation ends on
  the same balance (capital + the sum) and what varies is the drawdown on the way. With
  `replace=True` the trades are drawn WITH replacement (a bootstrap of the trades): the end
  balance then varies too, at the price of runs that repeat the best or worst trade.
- `"daily_bootstrap"` (`bootstrap_daily_returns`): each simulation draws as many daily
  returns as the run had, WITH replacement, and compounds them from the capital:
  E_t = E_{t-1} * (1 + r). Daily returns are simple returns, r_t = E_t / E_{t-1} - 1, as
  `stats.py` defines them (`daily_returns` computes them from vn.py's daily `net_pnl`).

Every simulation uses one `numpy.random.Generator` made from the seed
(`numpy.random.default_rng(seed)`), so the same inputs and seed give the same simulations
on any machine; a seed is required, there is no unseeded run.

Per simulation (a step is a trade or a day; step 0 is the capital):

- the equity path E_0..E_n, E_0 = capital;
- `max_drawdown`: max over t of (max(E_0..E_t) - E_t), in money; the capital counts as a
  peak, as in `stats.py`'s `drawdown`;
- `max_drawdown_pct`: max over t of (1 - E_t / max(E_0..E_t)), a fraction (0.25 = 25%);
- `end_balance`: E_n;
- `longest_drawdown`: the longest drawdown period in steps, peak to recovery (to the last
  step when not recovered), the definition of `stats.py`'s `longest_drawdown_days`.

Percentiles are nearest rank (`numpy.percentile(method="inverted_cdf")`, the same as
`terminal.core.looplag.percentile`): always a value some simulation produced.

The chance of losing at least `amount` (`loss_chance`), each the fraction of simulations:

- `end`: the end balance is at or below capital - amount (the run ends that much down);
- `ever`: the equity is at or below capital - amount at some step (the account was that
  much down from its start at least once, even if it came back);
- `drawdown`: the maximum drawdown in money is at least amount (that much given back from
  a running peak, which may lie above the capital).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METHODS = ("trade_order", "daily_bootstrap")
SUMMARY_PERCENTILES = (5, 50, 95)
FAN_PERCENTILES = (5, 25, 50, 75, 95)
# simulations * (steps + 1) equity values kept at once (8 bytes each): 160 MB. More is
# refused with the figures, not left to exhaust the memory.
MAX_CELLS = 20_000_000


@dataclass(frozen=True)
class MonteCarloResult:
    """The simulations of one Monte Carlo: equity paths (one row each) and their figures."""

    method: str
    capital: float
    seed: int
    paths: np.ndarray              # (simulations, steps + 1); column 0 is the capital
    max_drawdown: np.ndarray       # (simulations,), money
    max_drawdown_pct: np.ndarray   # (simulations,), fraction of the running peak
    end_balance: np.ndarray        # (simulations,)
    longest_drawdown: np.ndarray   # (simulations,), steps (trades or days), int
    lowest: np.ndarray             # (simulations,), the lowest equity of each path

    @property
    def simulations(self) -> int:
        return self.paths.shape[0]

    @property
    def steps(self) -> int:
        return self.paths.shape[1] - 1

    def summary(self, percentiles: Sequence[float] = SUMMARY_PERCENTILES
                ) -> dict[str, dict[float, float]]:
        """{figure: {percentile: value}} for the four figures of each simulation."""
        figures = {"max_drawdown": self.max_drawdown,
                   "max_drawdown_pct": self.max_drawdown_pct,
                   "end_balance": self.end_balance,
                   "longest_drawdown": self.longest_drawdown}
        qs = _check_percentiles(percentiles)
        return {name: dict(zip(qs, (float(v) for v in _nearest_rank(values, qs, axis=None)),
                               strict=True))
                for name, values in figures.items()}

    def fan(self, percentiles: Sequence[float] = FAN_PERCENTILES) -> np.ndarray:
        """The fan chart's bands: row i is the `percentiles[i]`th percentile of the equity at
        each step, across the simulations (shape (len(percentiles), steps + 1))."""
        return _nearest_rank(self.paths, _check_percentiles(percentiles), axis=0)

    def loss_chance(self, amount: float) -> dict[str, float]:
        """The chance of losing at least `amount` (money, > 0): `end`, `ever` and `drawdown`
        as the module's docstring defines them, each a fraction of the simulations."""
        amount = _check_positive("amount", amount)
        floor = self.capital - amount
        return {"end": float(np.mean(self.end_balance <= floor)),
                "ever": float(np.mean(self.lowest <= floor)),
                "drawdown": float(np.mean(self.max_drawdown >= amount))}


def shuffle_trades(trade_pnl: Sequence[float] | np.ndarray, capital: float, simulations: int,
                   seed: int, replace: bool = False) -> MonteCarloResult:
    """Deal the round trips' net P&L (money, in the run's order) in `simulations` random
    orders from `capital`: a permutation each, or draws with replacement when `replace`."""
    pnl = _check_series("trade_pnl", trade_pnl)
    capital = _check_positive("capital", capital)
    simulations = _check_simulations(simulations, len(pnl))
    rng = np.random.default_rng(_check_seed(seed))
    if replace:
        dealt = pnl[rng.integers(0, len(pnl), size=(simulations, len(pnl)))]
    else:
        dealt = rng.permuted(np.broadcast_to(pnl, (simulations, len(pnl))), axis=1)
    paths = np.empty((simulations, len(pnl) + 1))
    paths[:, 0] = capital
    np.cumsum(dealt, axis=1, out=paths[:, 1:])
    paths[:, 1:] += capital
    return _result("trade_order", capital, seed, paths)


def bootstrap_daily_returns(returns: Sequence[float] | np.ndarray, capital: float,
                            simulations: int, seed: int) -> MonteCarloResult:
    """Draw the run's daily simple returns with replacement, as many as it had, and compound
    them from `capital`, `simulations` times. A return at or below -1 is refused (the
    equity would be gone)."""
    values = _check_series("returns", returns)
    wiped = np.flatnonzero(values <= -1.0)
    if wiped.size:
        row = int(wiped[0])
        raise ValueError(f"returns: row {row} is {float(values[row])!r}, at or below -1 (-100%): "
                         "the equity would be gone; a daily bootstrap needs returns above -1")
    capital = _check_positive("capital", capital)
    simulations = _check_simulations(simulations, len(values))
    rng = np.random.default_rng(_check_seed(seed))
    drawn = values[rng.integers(0, len(values), size=(simulations, len(values)))]
    paths = np.empty((simulations, len(values) + 1))
    paths[:, 0] = capital
    np.cumprod(1.0 + drawn, axis=1, out=paths[:, 1:])
    paths[:, 1:] *= capital
    return _result("daily_bootstrap", capital, seed, paths)


def daily_returns(capital: float, daily_net_pnl: Sequence[float] | np.ndarray) -> np.ndarray:
    """Simple daily returns of the equity capital + cumsum(net P&L) (vn.py's `balance`):
    r_t = E_t / E_{t-1} - 1. Refused when the equity reaches 0 or below (no return exists)."""
    capital = _check_positive("capital", capital)
    pnl = _check_series("daily_net_pnl", daily_net_pnl)
    equity = np.concatenate(([capital], capital + np.cumsum(pnl)))
    gone = np.flatnonzero(equity[1:] <= 0)
    if gone.size:
        row = int(gone[0])
        raise ValueError(f"daily_net_pnl: the equity is {float(equity[row + 1])!r} after row "
                         f"{row}, at or below 0: daily returns do not exist from there")
    return equity[1:] / equity[:-1] - 1.0


def run_monte_carlo(method: str, values: Sequence[float] | np.ndarray, capital: float,
                    simulations: int, seed: int) -> MonteCarloResult:
    """One entry by method name (`METHODS`): trade P&L for "trade_order" (a permutation),
    daily returns for "daily_bootstrap"."""
    if method == "trade_order":
        return shuffle_trades(values, capital, simulations, seed)
    if method == "daily_bootstrap":
        return bootstrap_daily_returns(values, capital, simulations, seed)
    raise ValueError(f"method: {method!r} is not one of {', '.join(METHODS)}")


def _result(method: str, capital: float, seed: int, paths: np.ndarray) -> MonteCarloResult:
    peaks = np.maximum.accumulate(paths, axis=1)
    return MonteCarloResult(
        method=method, capital=capital, seed=seed, paths=paths,
        max_drawdown=(peaks - paths).max(axis=1),
        max_drawdown_pct=(1.0 - paths / peaks).max(axis=1),
        end_balance=paths[:, -1].copy(),
        longest_drawdown=_longest_drawdown(paths, peaks),
        lowest=paths.min(axis=1))


def _longest_drawdown(paths: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Steps from a peak to its recovery (the first step back at or above it), or to the last
    step when not recovered; the longest per path. A run of k steps under water is k + 1
    steps long when it recovers, k when it does not (see `stats._periods`)."""
    under = paths < peaks
    run = np.zeros(paths.shape[0], dtype=np.int64)
    longest = np.zeros(paths.shape[0], dtype=np.int64)
    for step in range(1, paths.shape[1]):
        recovered = ~under[:, step] & (run > 0)
        np.maximum(longest, np.where(recovered, run + 1, 0), out=longest)
        run = np.where(under[:, step], run + 1, 0)
    np.maximum(longest, run, out=longest)
    return longest


def _nearest_rank(values: np.ndarray, qs: list[float], axis: int | None) -> np.ndarray:
    return np.percentile(values, qs, axis=axis, method="inverted_cdf")


def _check_series(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not a list of numbers ({exc})") from None
    if array.ndim != 1:
        raise ValueError(f"{name}: one value per row expected, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name}: empty, nothing to simulate")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        row = int(bad[0])
        raise ValueError(f"{name}: row {row} is {float(array[row])!r}, not a finite number")
    return array


def _check_positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: {value!r} is not a number")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: {value!r} must be a finite number above 0")
    return float(value)


def _check_simulations(simulations: int, steps: int) -> int:
    if isinstance(simulations, bool) or not isinstance(simulations, numbers.Integral):
        raise ValueError(f"simulations: {simulations!r} is not a whole number")
    if simulations < 1:
        raise ValueError(f"simulations: {simulations!r}, at least 1 is needed")
    if simulations * (steps + 1) > MAX_CELLS:
        raise ValueError(f"simulations: {simulations} of {steps} steps is "
                         f"{simulations * (steps + 1):,} equity values, more than {MAX_CELLS:,}; "
                         f"use at most {MAX_CELLS // (steps + 1)}")
    return int(simulations)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed: {seed!r} is not a whole number (a seed is required, so a "
                         "simulation can be repeated)")
    if seed < 0:
        raise ValueError(f"seed: {seed!r} is negative; use 0 or above")
    return int(seed)


def _check_percentiles(percentiles: Sequence[float]) -> list[float]:
    qs = [float(q) for q in percentiles]
    if not qs or any(not (0.0 <= q <= 100.0) for q in qs):
        raise ValueError(f"percentiles: {list(percentiles)!r}, each must be within 0..100")
    return qs


FIGURES = ("max_drawdown", "max_drawdown_pct", "end_balance", "longest_drawdown")


def path_figures(path: Sequence[float] | np.ndarray) -> dict[str, float]:
    """The figures of one equity path (step 0 the capital), computed as a simulation's are:
    the run's own path set beside the simulations' percentiles."""
    values = _check_series("path", path)
    one = _result("actual", _check_positive("path[0]", float(values[0])), 0, values[None, :])
    return {name: float(getattr(one, name)[0]) for name in FIGURES}
