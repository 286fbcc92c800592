"""How likely an optimisation's best setting is luck: every evaluated setting's daily returns,
kept compactly and sent back with its statistics, the days x settings table built from them,
and the deflated Sharpe ratio and probability of backtest overfitting of the best setting
with their plain-language verdict (terminal.backtest.overfitting).

- A setting's daily returns are its daily net P&L / the capital, one per day of its daily
  results (vn.py's: every day with bars), as two numpy arrays (`DailyReturns`: the days as
  date ordinals, int32; the returns, float64) under `RETURNS_KEY` in its statistics.
- The table has one row per day any setting has a result for, in date order, and one column
  per setting that gave returns, in the order of the result's rows (best first). A day
  missing from a setting's results (no bars that day in its run) is a return of 0: no P&L.
- A failed setting (its row an error) has no column but counts as tried: N, the number of
  settings tried for the deflated Sharpe ratio, is every setting evaluated, failed or not.
- A measure that cannot be computed (too few days for 16 blocks, fewer than 2 settings,
  a best setting whose returns never vary) is missing with the reason, never a number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, NamedTuple

import numpy as np

from terminal.backtest.overfitting import (
    CSCV_BLOCKS, _dsr_line, _pbo_line, deflated_sharpe_ratio, optimisation_odds,
    probability_of_overfitting, verdict)

RETURNS_KEY = "returns_by_day"      # in an evaluation's statistics
LEVELS = ("unknown", "luck", "unsure", "real")     # worst first, as `overfitting.verdict`
NO_VERDICT = "Cannot tell: the odds could not be computed."


class DailyReturns(NamedTuple):
    """One setting's daily returns: the days (date ordinals) and daily net P&L / capital."""

    days: np.ndarray        # int32, ascending
    values: np.ndarray      # float64


def daily_returns(daily: Any, capital: float) -> DailyReturns:
    """The daily returns of vn.py's daily results (`calculate_result()`, indexed by date,
    with a net_pnl column); empty when there are none."""
    if daily is None or len(daily) == 0 or "net_pnl" not in daily:
        return DailyReturns(np.zeros(0, np.int32), np.zeros(0, np.float64))
    days = np.fromiter((_ordinal(d) for d in daily.index), np.int32, len(daily))
    values = np.asarray(daily["net_pnl"], dtype=np.float64) / float(capital)
    order = np.argsort(days, kind="stable")
    return DailyReturns(days[order], values[order])


def _ordinal(day: Any) -> int:
    return (day.date() if hasattr(day, "date") else day).toordinal()


@dataclass(frozen=True)
class ReturnsTable:
    """Days x settings: `matrix[i, j]` the return of setting `rows[j]` (a position in the
    result's rows) on `days[i]` (date ordinals), 0 where it had no result that day."""

    days: np.ndarray
    matrix: np.ndarray
    rows: list[int]

    @property
    def dates(self) -> list[date]:
        return [date.fromordinal(int(d)) for d in self.days]


def returns_table(stats: list[dict]) -> ReturnsTable:
    """The table of the settings whose statistics carry daily returns (failed ones and those
    whose evaluation gave none are left out)."""
    kept = [(i, s[RETURNS_KEY]) for i, s in enumerate(stats)
            if "error" not in s and isinstance(s.get(RETURNS_KEY), DailyReturns)]
    if not kept:
        return ReturnsTable(np.zeros(0, np.int32), np.zeros((0, 0)), [])
    days = np.unique(np.concatenate([r.days for _, r in kept]))
    matrix = np.zeros((len(days), len(kept)))
    for column, (_, returns) in enumerate(kept):
        matrix[np.searchsorted(days, returns.days), column] = returns.values
    return ReturnsTable(days, matrix, [i for i, _ in kept])


@dataclass(frozen=True)
class OptimisationOdds:
    """The odds of an optimisation's best setting, in plain values (kept with the run as a
    dict: `as_dict`, `from_dict`). `dsr`/`pbo` are None when missing, `missing` says why."""

    tried: int                      # settings evaluated, failed ones included (N)
    settings: int                   # settings with daily returns (the table's columns)
    days: int                       # rows of the table
    dsr: float | None = None
    pbo: float | None = None
    sharpe: float | None = None     # the best setting's daily Sharpe ratio
    expected_max_sharpe: float | None = None   # SR0, daily: the best of N by luck
    blocks: int = CSCV_BLOCKS
    level: str = "unknown"          # LEVELS: the verdict's, for its colour
    headline: str = NO_VERDICT
    lines: tuple[str, ...] = ()
    missing: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict:
        values = asdict(self)
        values["lines"], values["missing"] = list(self.lines), list(self.missing)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> OptimisationOdds:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        known["lines"] = tuple(known.get("lines", ()))
        known["missing"] = tuple(known.get("missing", ()))
        return cls(**known)

    def why(self, measure: str) -> str:
        """Why "DSR" or "PBO" is missing ("" when it is not)."""
        if (self.dsr if measure == "DSR" else self.pbo) is not None:
            return ""
        prefix = f"{measure}: "
        own = [r[len(prefix):] for r in self.missing if r.startswith(prefix)]
        general = [r for r in self.missing if not r.startswith(("DSR: ", "PBO: "))]
        return (own or general or ["not computed"])[0]

    def summary(self) -> str:
        """"Deflated Sharpe 0.93 · PBO 12% · 1,240 settings tried"."""
        dsr = "n/a" if self.dsr is None else f"{self.dsr:.2f}"
        pbo = "n/a" if self.pbo is None else f"{self.pbo:.0%}"
        return f"Deflated Sharpe {dsr} · PBO {pbo} · {self.tried:,} settings tried"


def odds_of(stats: list[dict], best: int | None, tried: int | None = None,
            blocks: int = CSCV_BLOCKS) -> OptimisationOdds:
    """The odds of setting `best` (a position in `stats`, None when no setting gave the
    target) among the evaluated settings' `stats`; `tried` defaults to how many there are."""
    tried = len(stats) if tried is None else tried
    table = returns_table(stats)
    columns, days = len(table.rows), len(table.days)
    base = dict(tried=tried, settings=columns, days=days, blocks=blocks)
    if best is None:
        return OptimisationOdds(**base, missing=("no setting gave the target",))
    if best not in table.rows:
        return OptimisationOdds(**base, missing=(
            "the best setting's evaluation gave no daily returns",))
    if columns < 2:
        reason = (f"{columns} of the {tried:,} settings tried gave daily returns; ranking "
                  f"them needs at least 2")
        return OptimisationOdds(**base, missing=(reason,))
    column = table.rows.index(best)
    if days < 2 * blocks:
        return _partial(table, column, base, f"{days} days of results; the probability of "
                        f"backtest overfitting cuts them into {blocks} blocks and needs at "
                        f"least {2 * blocks}")
    try:
        odds = optimisation_odds(table.matrix, column, tried, blocks)
    except ValueError:              # e.g. the best setting's returns never vary
        return _partial(table, column, base, None)
    d = odds.deflated
    return OptimisationOdds(
        **base, dsr=d.dsr, pbo=odds.overfitting.pbo, sharpe=d.sharpe,
        expected_max_sharpe=d.expected_max_sharpe, level=_level(d.dsr, odds.overfitting.pbo),
        headline=odds.verdict.headline, lines=odds.verdict.lines)


def _partial(table: ReturnsTable, column: int, base: dict,
             pbo_reason: str | None) -> OptimisationOdds:
    """What can be computed of the two measures, the other missing with its reason."""
    missing, pbo, d = [], None, None
    matrix = table.matrix
    if pbo_reason is None:
        try:
            pbo = probability_of_overfitting(matrix, base["blocks"]).pbo
        except ValueError as exc:
            pbo_reason = str(exc)
    if pbo_reason is not None:
        missing.append(f"PBO: {pbo_reason}")
    std = matrix.std(axis=0, ddof=1) if len(matrix) > 1 else np.zeros(matrix.shape[1])
    sharpes = np.divide(matrix.mean(axis=0), std, out=np.zeros(matrix.shape[1]),
                        where=std > 0)
    try:
        d = deflated_sharpe_ratio(matrix[:, column], base["tried"], trial_sharpes=sharpes)
    except ValueError as exc:
        missing.append(f"DSR: {exc}")
    dsr = None if d is None else d.dsr
    if dsr is None and pbo is None:
        return OptimisationOdds(**base, missing=tuple(missing))
    said = verdict(dsr=dsr, pbo=pbo)
    return OptimisationOdds(**base, dsr=dsr, pbo=pbo, sharpe=d and d.sharpe,
                            expected_max_sharpe=d and d.expected_max_sharpe,
                            level=_level(dsr, pbo), headline=said.headline, lines=said.lines,
                            missing=tuple(missing))


def _level(dsr: float | None, pbo: float | None) -> str:
    """The verdict's level: the worse of the measures given (as `overfitting.verdict`)."""
    kinds = set()
    if dsr is not None:
        kinds.add(_dsr_line(dsr)[0])
    if pbo is not None:
        kinds.add(_pbo_line(pbo)[0])
    return next((level for level in LEVELS if level in kinds), "unknown")

