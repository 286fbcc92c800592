"""Monte Carlo on a run: the same simulations for a seed, known answers on small hand-made
inputs (the arithmetic next to each expectation), and inputs refused with the value named."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from terminal.backtest import montecarlo as mc
from terminal.backtest.stats import _periods
from terminal.core.looplag import percentile


def test_same_seed_same_simulations_other_seed_others():
    pnl = [120.0, -80.0, 45.0, -30.0, 200.0, -150.0, 10.0]
    returns = [0.01, -0.02, 0.005, 0.03, -0.01]
    for run in (lambda seed: mc.shuffle_trades(pnl, 10_000, 300, seed),
                lambda seed: mc.shuffle_trades(pnl, 10_000, 300, seed, replace=True),
                lambda seed: mc.bootstrap_daily_returns(returns, 10_000, 300, seed)):
        first, again, other = run(7), run(7), run(8)
        np.testing.assert_array_equal(first.paths, again.paths)
        assert first.summary() == again.summary()
        assert not np.array_equal(first.paths, other.paths)


def test_all_equal_trades_every_order_is_the_same_run():
    # 100 -> 110 -> 120 -> 130 whatever the order: no drawdown, ends on 130
    result = mc.shuffle_trades([10.0, 10.0, 10.0], 100, 50, seed=1)
    np.testing.assert_array_equal(result.paths, np.tile([100.0, 110, 120, 130], (50, 1)))
    assert set(result.end_balance) == {130.0}
    assert set(result.max_drawdown) == {0.0}
    assert set(result.longest_drawdown) == {0}
    # 100 -> 90 -> 80: 20 given back from the capital (20%), under water for 2 trades
    losing = mc.shuffle_trades([-10.0, -10.0], 100, 20, seed=1)
    assert set(losing.max_drawdown) == {20.0}
    np.testing.assert_allclose(losing.max_drawdown_pct, 0.2)
    assert set(losing.longest_drawdown) == {2}
    assert set(losing.end_balance) == {80.0}


def test_two_trades_by_hand():
    # +10 then -20: 100 -> 110 -> 90, drawdown 20 from the peak 110 (20/110), 1 trade long
    # -20 then +10: 100 -> 80 -> 90, drawdown 20 from the capital (20%), 2 trades long
    # both end on 90: a permutation never changes the end balance
    result = mc.shuffle_trades([10.0, -20.0], 100, 400, seed=3)
    first_up = result.paths[:, 1] == 110
    np.testing.assert_array_equal(result.paths[first_up],
                                  np.tile([100.0, 110, 90], (first_up.sum(), 1)))
    np.testing.assert_array_equal(result.paths[~first_up],
                                  np.tile([100.0, 80, 90], ((~first_up).sum(), 1)))
    assert 150 < first_up.sum() < 250                   # both orders dealt, about half each
    assert set(result.end_balance) == {90.0}
    assert set(result.max_drawdown) == {20.0}
    np.testing.assert_allclose(result.max_drawdown_pct, np.where(first_up, 20 / 110, 0.2))
    np.testing.assert_array_equal(result.longest_drawdown, np.where(first_up, 1, 2))
    summary = result.summary()
    assert summary["end_balance"] == {5.0: 90.0, 50.0: 90.0, 95.0: 90.0}
    assert summary["max_drawdown_pct"][5.0] == pytest.approx(20 / 110)
    assert summary["max_drawdown_pct"][95.0] == pytest.approx(0.2)
    assert summary["longest_drawdown"][5.0] == 1 and summary["longest_drawdown"][95.0] == 2


def test_trades_with_replacement_draw_only_the_run_trades():
    # draws of +10 / -20 twice: ends 120, 90 (either order) or 60
    result = mc.shuffle_trades([10.0, -20.0], 100, 400, seed=5, replace=True)
    assert set(result.end_balance) == {120.0, 90.0, 60.0}
    steps = np.diff(result.paths, axis=1)
    assert set(steps.ravel()) == {10.0, -20.0}


def test_daily_bootstrap_by_hand():
    # +10% / -10% drawn twice: 100*1.1*1.1 = 121, 100*1.1*0.9 = 99 (either order), 100*0.9*0.9 = 81
    result = mc.bootstrap_daily_returns([0.1, -0.1], 100, 400, seed=2)
    np.testing.assert_allclose(sorted(set(np.round(result.end_balance, 9))), [81, 99, 121])
    down_down = np.isclose(result.end_balance, 81)
    np.testing.assert_allclose(result.max_drawdown[down_down], 19)         # 100 -> 90 -> 81
    np.testing.assert_array_equal(result.longest_drawdown[down_down], 2)
    up_down = np.isclose(result.paths[:, 1], 110) & np.isclose(result.end_balance, 99)
    np.testing.assert_allclose(result.max_drawdown[up_down], 11)           # 110 -> 99
    np.testing.assert_allclose(result.max_drawdown_pct[up_down], 0.1)
    # equal returns: every path the same, 100 -> 105 -> 110.25
    same = mc.bootstrap_daily_returns([0.05, 0.05], 100, 10, seed=2)
    np.testing.assert_allclose(same.paths, np.tile([100, 105, 110.25], (10, 1)))


def test_daily_returns_from_net_pnl():
    # 100 -> 120 -> 108: +20%, -10%
    np.testing.assert_allclose(mc.daily_returns(100, [20.0, -12.0]), [0.2, -0.1])
    with pytest.raises(ValueError, match=r"daily_net_pnl: the equity is -5.0 after row 1"):
        mc.daily_returns(100, [-50.0, -55.0])


def test_loss_chance_counted_by_hand():
    # -30 and three +10s from 100. Only -30 dealt first takes the equity to 70 (<= 100 - 25);
    # after k >= 1 gains it reaches 100 + 10k - 30 >= 80. The run ends on 100: never 25 down
    # at the end. The drawdown is 30 whatever the order (the -30 always falls from a peak).
    result = mc.shuffle_trades([-30.0, 10.0, 10.0, 10.0], 100, 4000, seed=11)
    first_loss = result.paths[:, 1] == 70
    chance = result.loss_chance(25)
    assert chance["end"] == 0.0
    assert chance["ever"] == first_loss.mean()
    assert chance["ever"] == pytest.approx(1 / 4, abs=0.03)         # 1 order in 4 starts with -30
    assert chance["drawdown"] == 1.0
    assert result.loss_chance(31) == {"end": 0.0, "ever": 0.0, "drawdown": 0.0}
    # "at least": losing exactly the amount counts
    two = mc.shuffle_trades([10.0, -20.0], 100, 50, seed=1)
    assert two.loss_chance(10)["end"] == 1.0                        # ends on 90 = 100 - 10
    assert two.loss_chance(20)["drawdown"] == 1.0
    with pytest.raises(ValueError, match=r"amount: 0 must be"):
        two.loss_chance(0)


def test_percentiles_ordered_and_nearest_rank():
    rng = np.random.default_rng(0)
    result = mc.shuffle_trades(rng.normal(5, 100, 60), 10_000, 500, seed=4, replace=True)
    for name, by_q in result.summary().items():
        assert by_q[5.0] <= by_q[50.0] <= by_q[95.0], name
    values = list(result.max_drawdown)
    assert [result.summary()["max_drawdown"][q] for q in (5.0, 50.0, 95.0)] == \
        [percentile(values, q) for q in (5, 50, 95)]
    fan = result.fan()
    assert fan.shape == (5, 61)
    assert (np.diff(fan, axis=0) >= 0).all()                        # 5 <= 25 <= 50 <= 75 <= 95
    np.testing.assert_array_equal(fan[:, 0], 10_000)
    step = 30
    assert fan[3, step] == percentile(list(result.paths[:, step]), 75)


def test_figures_match_the_stats_definitions_on_random_paths():
    rng = np.random.default_rng(1)
    result = mc.shuffle_trades(rng.normal(0, 50, 40), 1_000, 200, seed=9, replace=True)
    for path, dd, dd_pct, longest in zip(result.paths, result.max_drawdown,
                                         result.max_drawdown_pct, result.longest_drawdown,
                                         strict=True):
        peaks = [max(path[: i + 1]) for i in range(len(path))]
        assert dd == pytest.approx(max(p - e for p, e in zip(peaks, path, strict=True)))
        assert dd_pct == pytest.approx(max(1 - e / p for p, e in zip(peaks, path, strict=True)))
        periods = _periods(path)
        assert longest == max((end - peak for peak, _t, end, _r in periods), default=0)


def test_every_permutation_is_a_permutation():
    trades = [1.0, 2.0, 4.0, 8.0]
    result = mc.shuffle_trades(trades, 100, 500, seed=6)
    dealt = np.diff(result.paths, axis=1)
    assert all(sorted(row) == trades for row in dealt.tolist())
    assert len({tuple(row) for row in dealt.tolist()}) == math.factorial(4)  # all 24 dealt
    assert set(itertools.permutations(trades)) == {tuple(row) for row in dealt.tolist()}


def test_run_monte_carlo_by_method_name():
    by_name = mc.run_monte_carlo("trade_order", [10.0, -20.0], 100, 30, seed=1)
    np.testing.assert_array_equal(by_name.paths, mc.shuffle_trades([10.0, -20.0], 100, 30, 1).paths)
    assert by_name.method == "trade_order" and by_name.simulations == 30 and by_name.steps == 2
    daily = mc.run_monte_carlo("daily_bootstrap", [0.1, -0.1], 100, 30, seed=1)
    assert daily.method == "daily_bootstrap"
    with pytest.raises(ValueError,
                       match=r"method: 'weekly' is not one of trade_order, daily_bootstrap"):
        mc.run_monte_carlo("weekly", [0.1], 100, 30, seed=1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"trade_pnl": []}, r"trade_pnl: empty"),
    ({"trade_pnl": [1.0, float("nan"), 2.0]}, r"trade_pnl: row 1 is nan"),
    ({"trade_pnl": [1.0, float("inf")]}, r"trade_pnl: row 1 is inf"),
    ({"trade_pnl": ["a"]}, r"trade_pnl: not a list of numbers"),
    ({"trade_pnl": [[1.0, 2.0]]}, r"trade_pnl: one value per row expected, got shape \(1, 2\)"),
    ({"simulations": 0}, r"simulations: 0, at least 1"),
    ({"simulations": -3}, r"simulations: -3, at least 1"),
    ({"simulations": 2.5}, r"simulations: 2.5 is not a whole number"),
    ({"simulations": True}, r"simulations: True is not a whole number"),
    ({"simulations": 10_000_000}, r"simulations: 10000000 of 2 steps is 30,000,000 equity values"),
    ({"seed": None}, r"seed: None is not a whole number"),
    ({"seed": -1}, r"seed: -1 is negative"),
    ({"seed": 1.5}, r"seed: 1.5 is not a whole number"),
    ({"seed": "7"}, r"seed: '7' is not a whole number"),
    ({"capital": 0}, r"capital: 0 must be a finite number above 0"),
    ({"capital": float("nan")}, r"capital: nan must be"),
    ({"capital": "1e6"}, r"capital: '1e6' is not a number"),
])
def test_bad_inputs_are_refused_naming_the_value(kwargs, message):
    arguments = {"trade_pnl": [10.0, -20.0], "capital": 100, "simulations": 10, "seed": 1}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        mc.shuffle_trades(**arguments)


def test_daily_bootstrap_refuses_a_wipe_out_and_bad_returns():
    with pytest.raises(ValueError, match=r"returns: row 2 is -1.0, at or below -1"):
        mc.bootstrap_daily_returns([0.1, 0.0, -1.0], 100, 10, seed=1)
    with pytest.raises(ValueError, match=r"returns: empty"):
        mc.bootstrap_daily_returns([], 100, 10, seed=1)
    with pytest.raises(ValueError, match=r"returns: row 0 is nan"):
        mc.bootstrap_daily_returns([float("nan")], 100, 10, seed=1)
    with pytest.raises(ValueError, match=r"percentiles: \[5, 101\]"):
        mc.bootstrap_daily_returns([0.1], 100, 10, seed=1).fan([5, 101])


def test_path_figures_of_one_path():
    # 100 -> 110 -> 90 -> 95 -> 120: peak 110, trough 90 (20 down, 20/110 of the peak);
    # under water at steps 2 and 3, back above the peak at 4: 3 steps long; ends on 120
    figures = mc.path_figures([100.0, 110.0, 90.0, 95.0, 120.0])
    assert figures == {"max_drawdown": 20.0, "max_drawdown_pct": pytest.approx(20 / 110),
                       "end_balance": 120.0, "longest_drawdown": 3}
    with pytest.raises(ValueError, match=r"path\[0\]: 0.0 must be a finite number above 0"):
        mc.path_figures([0.0, 10.0])
