"""What an optimisation gives back: the target statistic of each evaluated setting, the
settings ranked by it (a failed setting ranks last), the results table, the heatmap of the
target over two parameters, and the odds that the best setting is luck (`odds`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from terminal.backtest.optimisation.odds import (
    OptimisationOdds, ReturnsTable, odds_of, returns_table)
from terminal.backtest.optimisation.space import ParameterError

Row = tuple[dict, float, dict]

# vn.py's statistics that make sense as a target (BacktestingEngine.calculate_statistics).
TARGETS = ("sharpe_ratio", "ewm_sharpe", "return_drawdown_ratio", "rgr_ratio", "total_return",
           "annual_return", "total_net_pnl", "daily_net_pnl", "end_balance", "max_drawdown",
           "max_ddpercent", "daily_return", "total_trade_count")


class OptimisationError(RuntimeError):
    """An optimisation that cannot give results (an unknown target, a cluster missing)."""


def target_value(stats: dict | None, target: str) -> float:
    """The target statistic as a float; NaN when missing or not a number."""
    if not stats or "error" in stats:
        return math.nan
    value = stats.get(target)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value


def sort_key(value: float, maximise: bool) -> tuple:
    if math.isnan(value):
        return (1, 0.0)
    return (0, -value if maximise else value)


@dataclass
class OptimisationResult:
    """Evaluated settings, best first: rows of (params, target value, statistics)."""

    target: str
    rows: list[Row] = field(default_factory=list)
    maximise: bool = True
    cancelled: bool = False
    elapsed: float = 0.0
    total: int = 0            # settings asked for (grid) or the size of the space (genetic)
    odds: OptimisationOdds | None = None    # set by `compute_odds`

    @property
    def best(self) -> Row | None:
        return self.rows[0] if self.rows and not math.isnan(self.rows[0][1]) else None

    @property
    def tried(self) -> int:
        """Settings evaluated, failed ones included: the N of the deflated Sharpe ratio."""
        return len(self.rows)

    def returns_table(self) -> ReturnsTable:
        """Days x settings of daily returns, a column per setting that gave them (its
        position in `rows` in `.rows`), 0 on a day missing from a setting's results."""
        return returns_table([stats for _, _, stats in self.rows])

    def compute_odds(self) -> OptimisationOdds:
        """The deflated Sharpe ratio and PBO of the best setting, kept as `odds` (a second or
        two for thousands of settings: call it off the GUI thread)."""
        self.odds = odds_of([stats for _, _, stats in self.rows],
                            0 if self.best is not None else None, self.tried)
        return self.odds

    @property
    def errors(self) -> list[Row]:
        return [row for row in self.rows if "error" in row[2]]

    def frame(self, statistics: Sequence[str] = ()) -> pd.DataFrame:
        """The results table: one row per setting, parameters, the target, then the chosen
        statistics (and an error column when some failed)."""
        records = []
        for params, value, stats in self.rows:
            record = {**params, self.target: value}
            for name in statistics:
                if name != self.target:
                    record[name] = stats.get(name)
            if "error" in stats:
                record["error"] = stats["error"].strip().splitlines()[-1]
            records.append(record)
        return pd.DataFrame.from_records(records)


def ranked(target: str, settings: list[dict], stats: list, maximise: bool, cancelled: bool,
           elapsed: float, total: int, order: list[int] | None = None) -> OptimisationResult:
    """The result of evaluating `settings` (None where a setting was not evaluated): rows
    best first, ties in the given order (or by `order`, a position per setting)."""
    rows = []
    for position, (params, stat) in enumerate(zip(settings, stats, strict=True)):
        if stat is None:        # not evaluated (cancelled)
            continue
        tie = order[position] if order is not None else position
        rows.append((tie, (params, target_value(stat, target), stat)))
    present = [stat for _, (_, _, stat) in rows if "error" not in stat]
    if present and not any(target in stat for stat in present):
        raise OptimisationError(f"no statistic named {target!r}; the evaluation gives "
                                f"{', '.join(map(str, present[0]))}")
    rows.sort(key=lambda item: (*sort_key(item[1][1], maximise), item[0]))
    return OptimisationResult(target, [row for _, row in rows], maximise, cancelled, elapsed,
                              total)


def heatmap(result: OptimisationResult, x_param: str, y_param: str
            ) -> tuple[list, list, np.ndarray]:
    """The target over two parameters: (x values, y values, matrix[y, x]); where other
    parameters vary too, each cell holds the best value over them; NaN where nothing was
    evaluated."""
    if x_param == y_param:
        raise ParameterError(f"the heatmap needs two different parameters, not {x_param} twice")
    for name in (x_param, y_param):
        if result.rows and name not in result.rows[0][0]:
            raise ParameterError(f"{name}: not among the optimised parameters "
                                 f"({', '.join(result.rows[0][0])})")
    xs = sorted({row[0][x_param] for row in result.rows})
    ys = sorted({row[0][y_param] for row in result.rows})
    column = {x: i for i, x in enumerate(xs)}
    line = {y: i for i, y in enumerate(ys)}
    matrix = np.full((len(ys), len(xs)), np.nan)
    better = max if result.maximise else min
    for params, value, _ in result.rows:
        if math.isnan(value):
            continue
        cell = (line[params[y_param]], column[params[x_param]])
        held = matrix[cell]
        matrix[cell] = value if math.isnan(held) else better(held, value)
    return xs, ys, matrix

