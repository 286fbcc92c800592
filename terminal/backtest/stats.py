"""Backtest statistics: vn.py's own, plus the ones traders compare across platforms.

vn.py's numbers come unchanged from `BacktestingEngine.calculate_statistics(output=False)`.
`compute` adds the figures QuantConnect LEAN reports, and the longest drawdown, from vn.py's
daily results (`engine.calculate_result()`: one row per trading day with `net_pnl`,
`commission`, `slippage` and `turnover`) and its fills (`engine.trades`).

Definitions (A = `annual_days`, 240 for China futures; all days are the rows of the daily
results, i.e. trading days):

- Equity: E_0 = capital, E_t = capital + the sum of `net_pnl` over days 1..t (vn.py's
  `balance`). Daily return r_t = E_t / E_{t-1} - 1 (simple returns; vn.py's own Sharpe uses
  log returns, which is why its figure differs a little). When equity ever falls to 0 or
  below, every return-based figure is NaN.
- `compounding_annual_return`: (E_n / capital) ** (A / n) - 1, n trading days (LEAN uses
  calendar days / 365 for the years; trading days / A matches vn.py's annualisation).
- `drawdown`: the largest fall from a running peak of E_0..E_n, as a fraction of that peak,
  max(1 - E_t / max(E_0..E_t)) (LEAN's "Drawdown"; the starting capital counts as a peak,
  unlike vn.py's `max_ddpercent` which starts from the first day's balance).
- `annual_standard_deviation`: sample standard deviation (n - 1) of r, times sqrt(A);
  `annual_variance` is its square.
- `annual_performance`: (1 + mean(r)) ** A - 1, LEAN's annualised mean daily return.
- `lean_sharpe_ratio`: (annual_performance - risk_free) / annual_standard_deviation, 0 when
  the deviation is 0 (as LEAN computes it).
- `sortino_ratio`: (annual_performance - risk_free) / annual downside deviation, the
  downside deviation being the sample standard deviation of the negative daily returns only,
  times sqrt(A) (LEAN's definition); 0 when it is 0 or there are fewer than two losing days.
- `probabilistic_sharpe_ratio`: the probability that the true Sharpe ratio is above 0
  (Bailey & López de Prado, 2012): PSR = Phi((SR - 0) * sqrt(n - 1) /
  sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR**2)) where SR = mean(r) / std(r, n - 1) is the daily
  (not annualised) Sharpe ratio, g3 the skewness and g4 the kurtosis (not excess: 3 for a
  normal distribution) of r, both as plain moment estimates (m3 / m2**1.5, m4 / m2**2).
  NaN with fewer than 3 daily returns or none that differ. (LEAN benchmarks against a Sharpe
  of 1 a year and puts excess kurtosis in the formula; this follows the paper.)
- Round trips: fills matched first in, first out. A long fill first closes open short lots
  (oldest first) and opens a long lot with what is left; a short fill the other way round.
  Offset flags are ignored, as vn.py's P&L ignores them. A round trip's net P&L is
  (exit - entry) * volume * size (negated for a short) minus its share of both fills'
  commission (rate * price * volume * size) and slippage (slippage * volume * size), the same
  costs vn.py charges. Lots still open at the end are not round trips.
- `win_rate` / `loss_rate`: the fraction of closed round trips with net P&L above 0 / at or
  below 0 (LEAN counts a break-even trade as a loss).
- `average_win` / `average_loss`: the mean net P&L, in money, of winning / losing round trips
  (LEAN reports them as fractions of the running capital instead).
- `profit_loss_ratio`: average_win / |average_loss|, 0 when there is no loss (LEAN).
- `expectancy`: win_rate * profit_loss_ratio - loss_rate (LEAN): the expected result of a
  round trip in units of the average loss.
- `total_fees`: the commission paid on all fills (slippage is in vn.py's `total_slippage`).
- `portfolio_turnover`: the average traded value per day (price * volume * size over all
  fills, vn.py's `turnover`) divided by the average equity E_1..E_n: how many times the
  equity is traded per day, as a fraction.
- Drawdown periods: a period starts at a peak of E_0..E_n that the next day falls below and
  ends on the first day equity is back at or above that peak (its recovery). Lengths are in
  trading days. `longest_drawdown_days`: peak to recovery of the longest period (to the last
  day when it has not recovered); `longest_drawdown_recovery_days`: from its lowest point to
  its recovery (NaN when not recovered); `longest_drawdown_start` / `_end`: the first day
  under water and the recovery day ("" when not recovered).
  `max_drawdown_recovery_days`: lowest point to recovery of the deepest period (NaN when not
  recovered).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from vnpy.trader.constant import Direction

NAN = float("nan")

# key -> (label, format); formats: "date", "int", "money", "percent" (value already in %),
# "fraction" (shown as %), "ratio", "number", "days"
VNPY_LABELS: dict[str, tuple[str, str]] = {
    "start_date": ("First trading day", "date"),
    "end_date": ("Last trading day", "date"),
    "total_days": ("Trading days", "int"),
    "profit_days": ("Profitable days", "int"),
    "loss_days": ("Losing days", "int"),
    "capital": ("Starting capital", "money"),
    "end_balance": ("Ending balance", "money"),
    "max_drawdown": ("Max drawdown", "money"),
    "max_ddpercent": ("Max drawdown % (vn.py)", "percent"),
    "max_drawdown_duration": ("Max drawdown, peak to trough (calendar days)", "days"),
    "total_net_pnl": ("Net P&L", "money"),
    "daily_net_pnl": ("Net P&L per day", "money"),
    "total_commission": ("Commission", "money"),
    "daily_commission": ("Commission per day", "money"),
    "total_slippage": ("Slippage", "money"),
    "daily_slippage": ("Slippage per day", "money"),
    "total_turnover": ("Traded value", "money"),
    "daily_turnover": ("Traded value per day", "money"),
    "total_trade_count": ("Fills", "int"),
    "daily_trade_count": ("Fills per day", "number"),
    "total_return": ("Total return", "percent"),
    "annual_return": ("Annual return (simple, vn.py)", "percent"),
    "daily_return": ("Mean daily log return", "percent"),
    "return_std": ("Std of daily log returns", "percent"),
    "sharpe_ratio": ("Sharpe ratio (vn.py)", "ratio"),
    "ewm_sharpe": ("EWM Sharpe ratio (vn.py)", "ratio"),
    "return_drawdown_ratio": ("Return / max drawdown", "ratio"),
    "rgr_ratio": ("RGR ratio (vn.py)", "ratio"),
}
EXTRA_LABELS: dict[str, tuple[str, str]] = {
    "compounding_annual_return": ("Compounding annual return", "fraction"),
    "drawdown": ("Drawdown (from capital)", "fraction"),
    "annual_performance": ("Annualised mean daily return", "fraction"),
    "annual_standard_deviation": ("Annual standard deviation", "fraction"),
    "annual_variance": ("Annual variance", "number"),
    "lean_sharpe_ratio": ("Sharpe ratio (LEAN)", "ratio"),
    "sortino_ratio": ("Sortino ratio", "ratio"),
    "probabilistic_sharpe_ratio": ("Probabilistic Sharpe ratio", "fraction"),
    "closed_trades": ("Round trips", "int"),
    "winning_trades": ("Winning round trips", "int"),
    "losing_trades": ("Losing round trips", "int"),
    "win_rate": ("Win rate", "fraction"),
    "loss_rate": ("Loss rate", "fraction"),
    "average_win": ("Average win", "money"),
    "average_loss": ("Average loss", "money"),
    "profit_loss_ratio": ("Profit-loss ratio", "ratio"),
    "expectancy": ("Expectancy", "ratio"),
    "total_fees": ("Total fees", "money"),
    "portfolio_turnover": ("Portfolio turnover (per day)", "fraction"),
    "longest_drawdown_days": ("Longest drawdown (trading days)", "days"),
    "longest_drawdown_recovery_days": ("Longest drawdown, recovery (trading days)", "days"),
    "longest_drawdown_start": ("Longest drawdown, first day under water", "date"),
    "longest_drawdown_end": ("Longest drawdown, recovered on", "date"),
    "max_drawdown_recovery_days": ("Deepest drawdown, recovery (trading days)", "days"),
}
LABELS: dict[str, tuple[str, str]] = {**VNPY_LABELS, **EXTRA_LABELS}


@dataclass(frozen=True)
class RoundTrip:
    """An opening fill (or part of one) and the closing fill that matched it."""

    direction: str               # "long" or "short"
    volume: float
    entry_time: datetime
    entry_price: float
    exit_time: datetime
    exit_price: float
    gross_pnl: float
    costs: float                 # commission and slippage of both fills, this volume's share
    entry_fill: Any = field(default=None, compare=False, repr=False)   # the fills themselves
    exit_fill: Any = field(default=None, compare=False, repr=False)

    @property
    def net_pnl(self) -> float:
        return self.gross_pnl - self.costs


def _fills(trades: Mapping | Iterable) -> list:
    items = list(trades.values()) if isinstance(trades, Mapping) else list(trades)
    return sorted(items, key=lambda t: t.datetime)   # stable: same-time fills keep order


def _sign(direction: Any) -> int:
    if direction == Direction.LONG or str(direction).lower() == "long":
        return 1
    if direction == Direction.SHORT or str(direction).lower() == "short":
        return -1
    raise ValueError(f"a fill's direction must be long or short, not {direction!r}")


def round_trips(trades: Mapping | Iterable, size: float, rate: float = 0.0,
                slippage: float = 0.0) -> list[RoundTrip]:
    """Closed round trips of vn.py fills (`engine.trades` or a list of TradeData), matched
    first in, first out, in the order they close (see the module's definitions)."""
    open_lots: deque[list] = deque()  # [sign, volume left, price, time, cost per lot, fill]
    closed: list[RoundTrip] = []
    for fill in _fills(trades):
        sign = _sign(fill.direction)
        volume = float(fill.volume)
        unit_cost = fill.price * size * rate + size * slippage
        while volume > 1e-12 and open_lots and open_lots[0][0] == -sign:
            lot = open_lots[0]
            matched = min(volume, lot[1])
            closed.append(RoundTrip(
                direction="long" if lot[0] > 0 else "short", volume=matched,
                entry_time=lot[3], entry_price=lot[2], exit_time=fill.datetime,
                exit_price=fill.price,
                gross_pnl=(fill.price - lot[2]) * matched * size * lot[0],
                costs=(lot[4] + unit_cost) * matched, entry_fill=lot[5], exit_fill=fill))
            lot[1] -= matched
            volume -= matched
            if lot[1] <= 1e-12:
                open_lots.popleft()
        if volume > 1e-12:
            open_lots.append([sign, volume, fill.price, fill.datetime, unit_cost, fill])
    return closed


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def probabilistic_sharpe_ratio(returns: np.ndarray, benchmark: float = 0.0) -> float:
    """PSR of per-period `returns` against a per-period benchmark Sharpe ratio (Bailey &
    López de Prado); NaN with fewer than 3 returns or no variation."""
    r = np.asarray(returns, dtype=float)
    n = len(r)
    if n < 3:
        return NAN
    std = r.std(ddof=1)
    if not std > 0:
        return NAN
    sharpe = r.mean() / std
    centred = r - r.mean()
    m2 = np.mean(centred ** 2)
    skew = np.mean(centred ** 3) / m2 ** 1.5
    kurt = np.mean(centred ** 4) / m2 ** 2
    variance = 1.0 - skew * sharpe + (kurt - 1.0) / 4.0 * sharpe ** 2
    if not variance > 0:
        return NAN
    return _normal_cdf((sharpe - benchmark) * math.sqrt(n - 1) / math.sqrt(variance))


def _periods(equity: np.ndarray) -> list[tuple[int, int, int, bool]]:
    """Drawdown periods of an equity curve: (peak index, trough index, end index, recovered);
    end is the recovery index, or the last index when not recovered."""
    periods = []
    peak_index, peak = 0, equity[0]
    trough = None
    for i in range(1, len(equity)):
        value = equity[i]
        if value >= peak:
            if trough is not None:
                periods.append((peak_index, trough, i, True))
                trough = None
            peak_index, peak = i, value
        elif trough is None or value < equity[trough]:
            trough = i
    if trough is not None:
        periods.append((peak_index, trough, len(equity) - 1, False))
    return periods


def _day(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return "" if value is None else str(value)


def trip_figures(trips: list[RoundTrip]) -> dict[str, Any]:
    """The round-trip figures of `EXTRA_LABELS` (count, win and loss rates, average win and
    loss, profit-loss ratio, expectancy) for closed round trips; shared with live performance
    (`backtest.live_performance`)."""
    wins = [t.net_pnl for t in trips if t.net_pnl > 0]
    losses = [t.net_pnl for t in trips if t.net_pnl <= 0]
    count = len(trips)
    win_rate = len(wins) / count if count else 0.0
    loss_rate = len(losses) / count if count else 0.0
    average_win = float(np.mean(wins)) if wins else 0.0
    average_loss = float(np.mean(losses)) if losses else 0.0
    ratio = average_win / abs(average_loss) if average_loss else 0.0
    return dict(closed_trades=count, winning_trades=len(wins), losing_trades=len(losses),
                win_rate=win_rate, loss_rate=loss_rate, average_win=average_win,
                average_loss=average_loss, profit_loss_ratio=ratio,
                expectancy=win_rate * ratio - loss_rate)


def compute(daily: pd.DataFrame, trades: Mapping | Iterable, capital: float, size: float,
            rate: float = 0.0, slippage: float = 0.0, annual_days: int = 240,
            risk_free: float = 0.0, trips: list[RoundTrip] | None = None) -> dict[str, Any]:
    """The figures of `EXTRA_LABELS` (defined in the module's docstring) for vn.py's daily
    results and fills. Values are Python floats, ints and strings. `trips`, when given, are
    the round trips instead of those matched from `trades` (a walk-forward matches each
    window's fills on their own: every window starts flat)."""
    result: dict[str, Any] = dict.fromkeys(EXTRA_LABELS, NAN)
    if trips is None:
        trips = round_trips(trades, size, rate, slippage)
    result.update(trip_figures(trips))
    result.update(longest_drawdown_start="", longest_drawdown_end="")
    if daily is None or daily.empty:
        result.update(total_fees=0.0, longest_drawdown_days=0, drawdown=0.0)
        return result

    net = daily["net_pnl"].to_numpy(dtype=float)
    days = list(daily.index)
    n = len(net)
    equity = np.concatenate([[float(capital)], float(capital) + np.cumsum(net)])
    result["total_fees"] = float(daily["commission"].sum())
    mean_equity = float(equity[1:].mean())
    result["portfolio_turnover"] = (float(daily["turnover"].mean()) / mean_equity
                                    if mean_equity > 0 else NAN)

    peaks = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peaks > 0, 1.0 - equity / peaks, NAN)
    result["drawdown"] = float(np.nanmax(falls)) if np.isfinite(falls).any() else NAN

    periods = _periods(equity)
    if periods:
        longest = max(periods, key=lambda p: (p[2] - p[0], -p[0]))   # earliest of the longest
        peak, trough, end, recovered = longest
        result["longest_drawdown_days"] = end - peak
        result["longest_drawdown_recovery_days"] = end - trough if recovered else NAN
        result["longest_drawdown_start"] = _day(days[peak])      # equity index peak+1 is day peak
        result["longest_drawdown_end"] = _day(days[end - 1]) if recovered else ""
        deepest = max(periods, key=lambda p: (1.0 - equity[p[1]] / equity[p[0]]
                                              if equity[p[0]] > 0 else 0.0, -p[0]))
        result["max_drawdown_recovery_days"] = deepest[2] - deepest[1] if deepest[3] else NAN
    else:
        result["longest_drawdown_days"] = 0
        result["longest_drawdown_recovery_days"] = 0
        result["max_drawdown_recovery_days"] = 0

    if (equity <= 0).any():
        return result          # bankrupt: returns are meaningless
    returns = equity[1:] / equity[:-1] - 1.0
    result["compounding_annual_return"] = float((equity[-1] / capital) ** (annual_days / n) - 1)
    annual_performance = float((1.0 + returns.mean()) ** annual_days - 1.0)
    result["annual_performance"] = annual_performance
    variance = float(returns.var(ddof=1)) * annual_days if n > 1 else 0.0
    deviation = math.sqrt(variance)
    result["annual_variance"] = variance
    result["annual_standard_deviation"] = deviation
    result["lean_sharpe_ratio"] = (annual_performance - risk_free) / deviation \
        if deviation > 0 else 0.0
    negative = returns[returns < 0]
    downside = math.sqrt(float(negative.var(ddof=1)) * annual_days) if len(negative) > 1 else 0.0
    result["sortino_ratio"] = (annual_performance - risk_free) / downside if downside > 0 else 0.0
    result["probabilistic_sharpe_ratio"] = probabilistic_sharpe_ratio(returns, 0.0)
    return result


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, dates as ISO text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    return value


def report(engine: Any, statistics: dict | None = None) -> dict[str, Any]:
    """vn.py's statistics (`statistics` when already computed, else
    `engine.calculate_statistics(output=False)`) followed by `compute`'s, as one flat dict of
    Python numbers and strings, for an engine that has run and calculated its results."""
    if statistics is None:
        statistics = engine.calculate_statistics(output=False)
    merged = {key: _plain(value) for key, value in statistics.items()}
    merged.update(compute(engine.daily_df, engine.trades, engine.capital, engine.size,
                          engine.rate, engine.slippage, engine.annual_days, engine.risk_free))
    return merged


def _listed(value: Any) -> str:
    """A value that is not one number (a walk-forward's criteria: dicts with a name and
    passed) as one line of text."""
    if isinstance(value, dict):
        value = [value]
    return "; ".join(f"{item.get('name', '?')}: {'PASS' if item.get('passed') else 'FAIL'}"
                     if isinstance(item, dict) and "passed" in item else str(item)
                     for item in value)


def format_value(key: str, value: Any, kind: str = "") -> str:
    """`value` as the workbench shows it, by the format of `key` in `LABELS` (or `kind`, one
    of the formats listed above `VNPY_LABELS`, for a key of another table)."""
    kind = kind or LABELS.get(key, ("", "number"))[1]
    if isinstance(value, str) or value is None:
        return value or "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, dict)):
        return _listed(value)
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if kind == "date":
        return _day(value)
    if kind in ("int", "days"):
        return f"{round(value):,}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "percent":
        return f"{value:,.2f}%"
    if kind == "fraction":
        return f"{value * 100:,.2f}%"
    if kind == "ratio":
        return f"{value:,.3f}"
    return f"{value:,.6g}"
