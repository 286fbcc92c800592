"""The plan of a walk-forward optimisation and its windows, and the pass criteria of its
result: pure functions of dates and numbers (no engine, no processes), tested on hand-made
values.

Lengths are in TRADING DAYS: the days the bars fall on (the calendar date of each bar, as
vn.py keys its daily results; rb's night bars carry their calendar date). "120d" means 120
days that have bars, not 120 calendar days, so holidays and weekends do not shorten a window.

Windows (i = 0, 1, ...; IS = in-sample length, OOS = out-of-sample length, the step is OOS):
- rolling:  in-sample days [i*OOS, i*OOS + IS), out-of-sample [i*OOS + IS, i*OOS + IS + OOS);
- anchored: in-sample days [0, i*OOS + IS) (it grows), out-of-sample as rolling.
The out-of-sample windows follow one another without gap or overlap. The last one keeps the
days that are left when fewer than OOS remain (marked `partial`): a trader expects every day
after the first in-sample period to be traded out of sample, not the tail silently dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from terminal.backtest.optimisation.ranking import TARGETS
from terminal.backtest.optimisation.space import ParameterSpace

MODES = ("rolling", "anchored")
SEARCHES = ("grid", "genetic")

# The pass criteria's thresholds (the usual ones, from the walk-forward literature).
MIN_EFFICIENCY = 0.5              # out-of-sample annual return / mean in-sample
MIN_PROFITABLE_WINDOWS = 0.5      # share of windows with out-of-sample net P&L > 0
MAX_WINDOW_SHARE = 0.5            # one window's share of the total net profit
MAX_DRAWDOWN_PERCENT = 40.0       # vn.py's max_ddpercent of the stitched series, in %


class WalkForwardError(ValueError):
    """A walk-forward that cannot run; the message names the value."""


def trading_days_of(text: str | int, option: str = "length") -> int:
    """A length in trading days from 120 or "120d"; WalkForwardError naming it otherwise."""
    raw = str(text).strip().lower()
    number = raw[:-1] if raw.endswith("d") else raw
    if not number.isdigit() or int(number) < 1:
        raise WalkForwardError(f"{option} {text!r}: a number of trading days, 1 or more "
                               "(e.g. 120 or 120d)")
    return int(number)


@dataclass
class WalkForwardPlan:
    """How to walk forward: the windows (mode, lengths in trading days), what each window's
    search aims at (target, maximise) and how it searches (grid, or genetic with population,
    generations and seed) over `space`; `fixed` parameters go to every run."""

    space: ParameterSpace
    in_sample: int
    out_sample: int
    mode: str = "rolling"
    target: str = "sharpe_ratio"
    maximise: bool = True
    search: str = "grid"
    population: int = 20
    generations: int = 10
    seed: int | None = None
    fixed: dict = field(default_factory=dict)

    def check(self) -> None:
        """WalkForwardError naming the first value that cannot run."""
        if self.mode not in MODES:
            raise WalkForwardError(f"mode {self.mode!r}: one of {', '.join(MODES)}")
        if self.search not in SEARCHES:
            raise WalkForwardError(f"search {self.search!r}: one of {', '.join(SEARCHES)}")
        for name in ("in_sample", "out_sample"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise WalkForwardError(f"{name} {value!r}: a number of trading days, 1 or more")
        if self.target not in TARGETS:
            raise WalkForwardError(f"target {self.target!r}: one of {', '.join(TARGETS)}")
        self.space.check()

    def described(self) -> dict:
        """The plan as plain values (kept with a stored run)."""
        return {"mode": self.mode, "in_sample_days": self.in_sample,
                "out_sample_days": self.out_sample, "target": self.target,
                "maximise": self.maximise, "search": self.search,
                "space": {name: list(self.space.values(name)) for name in self.space.names},
                "fixed": dict(self.fixed),
                **({"population": self.population, "generations": self.generations,
                    "seed": self.seed} if self.search == "genetic" else {})}


@dataclass(frozen=True)
class Window:
    """One step: the in-sample days searched and the out-of-sample days traded with the
    setting chosen there (first and last trading day of each, both included)."""

    number: int                   # 1, 2, ...
    is_start: date
    is_end: date
    oos_start: date
    oos_end: date
    is_days: int
    oos_days: int
    partial: bool = False         # the last window, shorter than the plan's out-of-sample


def windows(days: list[date], in_sample: int, out_sample: int, mode: str = "rolling"
            ) -> list[Window]:
    """The windows over `days` (the trading days, sorted, distinct); WalkForwardError naming
    the lengths when the days hold fewer than one in-sample plus one out-of-sample window."""
    if mode not in MODES:
        raise WalkForwardError(f"mode {mode!r}: one of {', '.join(MODES)}")
    if in_sample < 1 or out_sample < 1:
        raise WalkForwardError(f"in-sample ({in_sample}) and out-of-sample ({out_sample}) "
                               "lengths must be 1 trading day or more")
    if len(days) < in_sample + out_sample:
        span = f" ({days[0]} to {days[-1]})" if days else ""
        raise WalkForwardError(
            f"the period holds {len(days)} trading days{span}, fewer than one in-sample "
            f"window ({in_sample}) plus one out-of-sample window ({out_sample}) = "
            f"{in_sample + out_sample}")
    found = []
    oos_first = in_sample
    while oos_first < len(days):
        oos_last = min(oos_first + out_sample, len(days)) - 1
        is_first = 0 if mode == "anchored" else oos_first - in_sample
        found.append(Window(len(found) + 1, days[is_first], days[oos_first - 1],
                            days[oos_first], days[oos_last], oos_first - is_first,
                            oos_last - oos_first + 1, oos_last - oos_first + 1 < out_sample))
        oos_first += out_sample
    return found


# ---------------------------------------------------------------------- criteria
@dataclass(frozen=True)
class Criterion:
    """One pass criterion: its name, the value measured, the threshold and whether it
    passed (a value that cannot be measured, NaN, fails)."""

    name: str
    value: float
    threshold: float
    passed: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "threshold": self.threshold,
                "passed": self.passed, "note": self.note}


def efficiency(oos_annual_return: float, is_annual_returns: list[float]) -> float:
    """Walk-forward efficiency: the stitched out-of-sample annual return ÷ the mean in-sample
    annual return of the chosen settings (vn.py's annual_return: total return % / trading
    days × annual days). NaN when the in-sample mean is 0 or below: a ratio to a loss says
    nothing (a loss out of sample over a loss in sample would read as a high efficiency), so
    the efficiency criterion fails. NaN too when a window's in-sample return is missing: a
    mean over the other windows would judge the walk on part of it."""
    values = list(is_annual_returns)
    if not values or math.isnan(oos_annual_return) or any(math.isnan(v) for v in values):
        return math.nan
    mean = sum(values) / len(values)
    if mean <= 0:
        return math.nan
    return oos_annual_return / mean


def criteria(net_pnl: float, window_pnls: list[float], walk_efficiency: float,
             max_ddpercent: float) -> list[Criterion]:
    """The usual pass criteria of a walk-forward:
    - profitable overall: the stitched net P&L above 0;
    - efficiency ≥ 50% (NaN, i.e. in-sample not profitable, fails);
    - at least 50% of the windows profitable out of sample (net P&L above 0);
    - no window more than 50% of the net profit: the largest window P&L ÷ the total net P&L;
      fails when the net P&L is 0 or below (there is no profit to share);
    - maximum drawdown ≤ 40%: |vn.py's max_ddpercent| of the stitched series."""
    profitable = sum(1 for pnl in window_pnls if pnl > 0)
    share_profitable = profitable / len(window_pnls) if window_pnls else math.nan
    if net_pnl > 0 and window_pnls:
        largest = max(window_pnls) / net_pnl
        share_note = ""
    else:
        largest = math.nan
        share_note = "no net profit to share"
    drawdown = abs(max_ddpercent)
    return [
        Criterion("profitable overall", net_pnl, 0.0, net_pnl > 0),
        Criterion("walk-forward efficiency", walk_efficiency, MIN_EFFICIENCY,
                  walk_efficiency >= MIN_EFFICIENCY,
                  "" if not math.isnan(walk_efficiency)
                  else "in-sample annual return 0 or below, or none"),
        Criterion("windows profitable", share_profitable, MIN_PROFITABLE_WINDOWS,
                  share_profitable >= MIN_PROFITABLE_WINDOWS,
                  f"{profitable} of {len(window_pnls)}"),
        Criterion("largest window's share of net profit", largest, MAX_WINDOW_SHARE,
                  largest <= MAX_WINDOW_SHARE, share_note),
        Criterion("maximum drawdown %", drawdown, MAX_DRAWDOWN_PERCENT,
                  drawdown <= MAX_DRAWDOWN_PERCENT),
    ]
