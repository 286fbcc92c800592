"""Monte Carlo on a stored run: the round trips' net P&L (from the stored fills, with the
run's costs) or its daily returns are what is simulated; the same seed gives the same
result; a run with too few round trips or days is refused naming the count; the table's
"this run" column is the run's own path, worked out by hand."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from terminal.backtest.runs import FAILED, RunStore
from terminal.services import montecarlo
from terminal.services.errors import BadInput
from tests.helpers.stored_runs import daily_frame, round_trip_fills, store_run, trading_days

CAPITAL = 100_000.0
TRIPS = [500.0, -300.0, 200.0, -800.0, 1_000.0, -100.0, 400.0, -600.0, 300.0, 250.0, -50.0,
         700.0]
DAILY = [300.0, -200.0, 150.0, -400.0, 600.0, 100.0, -250.0, 80.0, -60.0, 500.0,
         -300.0, 200.0, 50.0, -120.0, 90.0, 400.0, -700.0, 350.0, 20.0, -10.0, 130.0, 60.0]


@pytest.fixture
def runs(tmp_path):
    with RunStore(tmp_path / "backtests") as store:
        yield store


@pytest.fixture
def run_id(runs):
    days = trading_days(len(DAILY))
    return store_run(runs, daily_frame(days, DAILY, CAPITAL),
                     round_trip_fills(TRIPS, 10.0, datetime(2023, 1, 30, 9, 0)))


@pytest.mark.parametrize("method", montecarlo.METHODS)
def test_the_same_seed_gives_the_same_monte_carlo(runs, run_id, method):
    first = montecarlo.simulate_stored(runs, run_id, method, 500, seed=7)
    again = montecarlo.simulate_stored(runs, run_id, method, 500, seed=7)
    other = montecarlo.simulate_stored(runs, run_id, method, 500, seed=8)
    np.testing.assert_array_equal(first.result.paths, again.result.paths)
    assert montecarlo.percentile_rows(first) == montecarlo.percentile_rows(again)
    assert montecarlo.loss_words(first, 1_000) == montecarlo.loss_words(again, 1_000)
    assert not np.array_equal(first.result.paths, other.result.paths)


def test_trades_are_the_round_trips_net_pnl_after_costs(runs):
    # rate 0.0001 of traded value and 1 price unit of slippage per fill, size 10: a trip
    # bought at 3000 and sold at 3000 + pnl/10 pays 0.0001 * (3000 + exit) * 10 + 2 * 10
    days = trading_days(3)
    run_id = store_run(runs, daily_frame(days, [0.0] * 3, CAPITAL),
                       round_trip_fills(TRIPS, 10.0, datetime(2023, 1, 30, 9, 0)),
                       settings={"rate": 0.0001, "slippage": 1.0})
    net = [pnl - 0.0001 * (3000 + 3000 + pnl / 10) * 10 - 20 for pnl in TRIPS]
    run = montecarlo.simulate_stored(runs, run_id, "trades", 200, seed=3)
    for path in run.result.paths:
        np.testing.assert_allclose(sorted(np.diff(path)), sorted(net))
    np.testing.assert_allclose(run.actual, CAPITAL + np.concatenate(([0], np.cumsum(net))))
    assert run.result.steps == len(TRIPS) and run.unit == "round trips"
    assert run.step_labels() == [str(step) for step in range(len(TRIPS) + 1)]


def test_daily_bootstraps_the_stored_days_returns(runs, run_id):
    equity = CAPITAL + np.concatenate(([0.0], np.cumsum(DAILY)))
    returns = equity[1:] / equity[:-1] - 1
    run = montecarlo.simulate_stored(runs, run_id, "daily", 200, seed=3)
    drawn = run.result.paths[:, 1:] / run.result.paths[:, :-1] - 1
    assert np.isin(np.round(drawn, 12), np.round(returns, 12)).all()
    np.testing.assert_allclose(run.actual, equity)
    assert run.result.steps == len(DAILY) and run.unit == "trading days"
    assert run.step_labels() == ["start", *(d.isoformat() for d in trading_days(len(DAILY)))]


def test_replacement_draws_trades_again(runs, run_id):
    run = montecarlo.simulate_stored(runs, run_id, "trades", 300, seed=1, replace=True)
    ends = set(np.round(run.result.end_balance, 6))
    assert len(ends) > 1                       # a bootstrap: the end balance varies
    assert "with replacement" in run.description


def test_this_run_column_is_the_runs_own_path(runs, run_id):
    # the trips in order from 100,000: peak 100,500 after trip 1, low 99,600 after trip 4
    # (100,500 - 300 + 200 - 800): 900 below the peak, 0.8955% of it; back above the peak
    # at trip 5 (100,600): 4 trips long; the longest is the next: peak 100,900 after trip 7,
    # under water after trips 8-11 (100,300 100,600 100,850 100,800), recovered at 12 -> 5
    run = montecarlo.simulate_stored(runs, run_id, "trades", 100, seed=1)
    rows = {row[0]: row for row in montecarlo.percentile_rows(run)}
    assert rows["Maximum drawdown"][4] == "900.00"
    assert rows["Maximum drawdown %"][4] == "0.90%"
    assert rows["End balance"][4] == f"{CAPITAL + sum(TRIPS):,.2f}"
    assert rows["Longest drawdown"][4] == "5 round trips"
    # a permutation: every simulation ends on the same balance
    assert {rows["End balance"][i] for i in (1, 2, 3)} == {f"{CAPITAL + sum(TRIPS):,.2f}"}


def test_loss_chance_in_words(runs, run_id):
    run = montecarlo.simulate_stored(runs, run_id, "trades", 400, seed=2)
    chance = run.result.loss_chance(500)
    words = montecarlo.loss_words(run, 500)
    assert words[0].startswith(f"{chance['end'] * 100:.1f}% ")
    assert words[2].startswith(f"{chance['drawdown'] * 100:.1f}% ")
    assert "500.00" in words[1]
    with pytest.raises(BadInput, match="loss: -5"):
        montecarlo.loss_words(run, -5)


def test_too_few_round_trips_or_days_are_refused_naming_the_count(runs):
    days = trading_days(5)
    run_id = store_run(runs, daily_frame(days, [10.0] * 5, CAPITAL),
                       round_trip_fills(TRIPS[:3], 10.0, datetime(2023, 1, 30, 9, 0)))
    with pytest.raises(BadInput, match=f"run {run_id} has 3 closed round trips; .* at least "
                       f"{montecarlo.MIN_ROUND_TRIPS}"):
        montecarlo.simulate_stored(runs, run_id, "trades", 100, seed=1)
    with pytest.raises(BadInput, match=f"run {run_id} has 5 trading days; .* at least "
                       f"{montecarlo.MIN_DAYS}"):
        montecarlo.simulate_stored(runs, run_id, "daily", 100, seed=1)


def test_unknown_failed_runs_and_bad_settings_are_refused(runs, run_id):
    with pytest.raises(BadInput, match="run 'nope': no such run"):
        montecarlo.simulate_stored(runs, "nope", "trades", 100, seed=1)
    with pytest.raises(BadInput, match="method: 'weekly'"):
        montecarlo.simulate_stored(runs, run_id, "weekly", 100, seed=1)
    with pytest.raises(BadInput, match="simulations: 0"):
        montecarlo.simulate_stored(runs, run_id, "trades", 0, seed=1)
    with pytest.raises(BadInput, match="seed: -1"):
        montecarlo.simulate_stored(runs, run_id, "trades", 10, seed=-1)
    runs.set_status(run_id, FAILED, "broken")
    with pytest.raises(BadInput, match=f"run {run_id} is failed"):
        montecarlo.simulate_stored(runs, run_id, "trades", 100, seed=1)


def test_daily_results_without_net_pnl_are_refused(runs):
    days = trading_days(25)
    daily = daily_frame(days, [10.0] * 25, CAPITAL).drop(columns=["net_pnl"])
    run_id = store_run(runs, daily, round_trip_fills(TRIPS, 10.0, datetime(2023, 1, 30, 9)),
                       stats={})
    with pytest.raises(BadInput, match="no net_pnl column"):
        montecarlo.simulate_stored(runs, run_id, "daily", 100, seed=1)
