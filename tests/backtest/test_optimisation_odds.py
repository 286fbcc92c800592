"""Overfitting odds of every optimisation: each setting's daily returns come back with its
statistics (from worker processes), the days x settings table is aligned on dates with a
missing day as 0, failed settings count as tried but have no column, and the best setting's
deflated Sharpe ratio and PBO tell a planted edge from pure noise, or say why they are
missing."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from terminal.backtest.optimisation.genetic import genetic
from terminal.backtest.optimisation.odds import (
    RETURNS_KEY, DailyReturns, OptimisationOdds, odds_of, returns_table)
from terminal.backtest.optimisation.optimiser import Optimiser
from terminal.backtest.optimisation.space import ParameterSpace

FIRST_DAY = date(2024, 1, 2).toordinal()
DAYS = 480
SETTINGS = 24
EDGE = 7            # the setting with a planted edge


def noise_returns(setting: int, days: int = DAYS, edge: float = 0.0) -> DailyReturns:
    """Seeded daily returns of one setting: noise, plus `edge` daily Sharpe when planted."""
    rng = np.random.default_rng(1000 + setting)
    values = rng.normal(0.0, 0.01, days) + edge * 0.01
    return DailyReturns(np.arange(FIRST_DAY, FIRST_DAY + days, dtype=np.int32), values)


def statistics_of(returns: DailyReturns) -> dict:
    values = returns.values
    return {"sharpe_ratio": float(values.mean() / values.std(ddof=1) * np.sqrt(240)),
            RETURNS_KEY: returns}


def noise(params: dict, data) -> dict:
    return statistics_of(noise_returns(params["setting"]))


def planted(params: dict, data) -> dict:
    setting = params["setting"]
    return statistics_of(noise_returns(setting, edge=0.25 if setting == EDGE else 0.0))


def failing_on_three(params: dict, data) -> dict:
    if params["setting"] == 3:
        raise RuntimeError("setting 3 fails on purpose")
    return noise(params, data)


SPACE = ParameterSpace({"setting": list(range(SETTINGS))})


def test_a_planted_edge_is_called_real_and_pure_noise_luck():
    edge = Optimiser(workers=2).grid(planted, SPACE, "sharpe_ratio")
    odds = edge.compute_odds()
    assert edge.best[0] == {"setting": EDGE}
    assert odds.tried == odds.settings == SETTINGS and odds.days == DAYS
    assert odds.pbo < 0.10 and odds.dsr > 0.95
    assert odds.level == "real" and odds.headline.startswith("Likely real")

    luck = Optimiser(workers=2).grid(noise, SPACE, "sharpe_ratio")
    odds = luck.compute_odds()
    assert 0.3 < odds.pbo < 0.7 and odds.dsr < 0.95
    assert odds.level in ("luck", "unsure") and not odds.headline.startswith("Likely real")
    assert odds.summary() == (f"Deflated Sharpe {odds.dsr:.2f} · PBO {odds.pbo:.0%} · "
                              f"{SETTINGS} settings tried")


def test_a_failed_setting_counts_as_tried_but_has_no_column():
    result = Optimiser(workers=2).grid(failing_on_three, SPACE, "sharpe_ratio")
    assert len(result.errors) == 1 and result.tried == SETTINGS
    table = result.returns_table()
    assert table.matrix.shape == (DAYS, SETTINGS - 1)
    failed = next(i for i, (p, _, _) in enumerate(result.rows) if p == {"setting": 3})
    assert failed not in table.rows
    odds = result.compute_odds()
    assert odds.tried == SETTINGS and odds.settings == SETTINGS - 1


def test_the_genetic_search_counts_every_setting_it_evaluated():
    space = ParameterSpace({"setting": list(range(SETTINGS)), "twin": [0, 1, 2, 3]})
    calls = []

    def evaluate(params: dict) -> dict:
        calls.append(dict(params))
        return noise({"setting": params["setting"] * 4 + params["twin"]}, None)

    result = genetic(space, evaluate, "sharpe_ratio", population=8, generations=3, seed=5)
    assert result.tried == len(calls) == len(result.rows) < space.size
    assert result.compute_odds().tried == len(calls)
    through_workers = Optimiser(workers=2).genetic(
        noise_for_twins, space, "sharpe_ratio", population=8, generations=3, seed=5)
    assert through_workers.tried == len(calls)
    assert through_workers.compute_odds().settings == len(calls)


def noise_for_twins(params: dict, data) -> dict:
    return noise({"setting": params["setting"] * 4 + params["twin"]}, data)


def test_the_table_is_aligned_on_dates_and_a_missing_day_is_zero():
    a = DailyReturns(np.array([10, 11, 13], np.int32), np.array([0.1, 0.2, 0.3]))
    b = DailyReturns(np.array([11, 12], np.int32), np.array([-0.1, -0.2]))
    table = returns_table([{RETURNS_KEY: a}, {"error": "boom"}, {"sharpe_ratio": 1.0},
                           {RETURNS_KEY: b}])
    assert table.days.tolist() == [10, 11, 12, 13] and table.rows == [0, 3]
    assert table.matrix.tolist() == [[0.1, 0.0], [0.2, -0.1], [0.0, -0.2], [0.3, 0.0]]
    assert table.dates[0] == date.fromordinal(10)


@pytest.mark.parametrize(("stats", "best", "dsr", "pbo", "reason"), [
    ([statistics_of(noise_returns(s, days=20)) for s in range(5)], 0, True, False,
     ("20 days of results; the probability of backtest overfitting cuts them into 16 "
     "blocks and needs at least 32")),
    ([statistics_of(noise_returns(0)), {"error": "boom"}], 0, False, False,
     "1 of the 2 settings tried gave daily returns; ranking them needs at least 2"),
    ([statistics_of(noise_returns(s)) for s in range(3)], None, False, False,
     "no setting gave the target"),
    ([{"sharpe_ratio": 1.0}, statistics_of(noise_returns(1))], 0, False, False,
     "the best setting's evaluation gave no daily returns"),
])
def test_missing_odds_say_why_and_give_no_number(stats, best, dsr, pbo, reason):
    odds = odds_of(stats, best)
    assert (odds.dsr is not None) == dsr and (odds.pbo is not None) == pbo
    assert odds.why("PBO") == reason
    if not dsr:
        assert odds.level == "unknown" and odds.headline.startswith("Cannot tell")


def test_a_best_setting_that_never_traded_has_no_deflated_sharpe():
    flat = DailyReturns(np.arange(FIRST_DAY, FIRST_DAY + 40, dtype=np.int32), np.zeros(40))
    odds = odds_of([statistics_of(noise_returns(1, days=40)) | {RETURNS_KEY: flat},
                    statistics_of(noise_returns(2, days=40))], 0)
    assert odds.dsr is None and 0 <= odds.pbo <= 1      # the PBO still ranks the columns
    assert "every daily return is 0.0" in odds.why("DSR") and odds.why("PBO") == ""


def test_the_odds_keep_as_a_dict_and_come_back_the_same():
    odds = odds_of([statistics_of(noise_returns(s)) for s in range(4)], 0)
    assert OptimisationOdds.from_dict(odds.as_dict()) == odds
