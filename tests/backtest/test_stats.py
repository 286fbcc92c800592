"""The statistics the terminal adds to vn.py's, each checked on a small series computed by
hand (the arithmetic is written out next to each expectation)."""

from __future__ import annotations

import math
from datetime import date, datetime
from types import SimpleNamespace

import pandas as pd
import pytest
from vnpy.trader.constant import Direction

from terminal.backtest import stats

# Equity 100 -> 120 -> 108 -> 118.8 -> 95.04 -> 104.544:
# daily returns +20%, -10%, +10%, -20%, +10%.
NET = [20.0, -12.0, 10.8, -23.76, 9.504]
RETURNS = [0.2, -0.1, 0.1, -0.2, 0.1]
DAYS = [date(2024, 1, d) for d in range(2, 7)]
A = 4              # trading days per year, small so powers are easy to check


def daily(net, turnover=None, commission=None, days=None) -> pd.DataFrame:
    n = len(net)
    return pd.DataFrame({
        "net_pnl": net,
        "turnover": turnover if turnover is not None else [0.0] * n,
        "commission": commission if commission is not None else [0.0] * n,
        "slippage": [0.0] * n,
    }, index=pd.Index(days or [date(2024, 1, 1 + d) for d in range(n)], name="date"))


def fill(minute: int, direction: Direction, price: float, volume: float = 1):
    return SimpleNamespace(datetime=datetime(2024, 1, 2, 9, minute), direction=direction,
                           price=price, volume=volume)


@pytest.fixture
def result():
    return stats.compute(daily(NET, turnover=[1000.0, 0, 500.0, 0, 0],
                               commission=[1.5, 0, 0.5, 0, 0], days=DAYS),
                         [], capital=100, size=1, annual_days=A)


def test_compounding_annual_return(result):
    # (104.544 / 100) ** (A / 5 days) - 1
    assert result["compounding_annual_return"] == pytest.approx(1.04544 ** 0.8 - 1)


def test_drawdown_from_running_peak_including_capital(result):
    # peak 120, trough 95.04: 1 - 95.04 / 120 = 0.208
    assert result["drawdown"] == pytest.approx(0.208)
    # a loss on the first day is a drawdown from the starting capital
    first_day_loss = stats.compute(daily([-10.0, 5.0]), [], capital=100, size=1)
    assert first_day_loss["drawdown"] == pytest.approx(0.10)


def test_annual_standard_deviation_and_variance(result):
    # mean 0.02; squared deviations .0324 .0144 .0064 .0484 .0064 = .108; / (5 - 1) = .027
    assert result["annual_variance"] == pytest.approx(0.027 * A)
    assert result["annual_standard_deviation"] == pytest.approx(math.sqrt(0.027 * A))


def test_sharpe_ratio_as_lean(result):
    # annual performance (1 + 0.02) ** 4 - 1 = 0.08243216, over sqrt(.027 * 4)
    assert result["annual_performance"] == pytest.approx(0.08243216)
    assert result["lean_sharpe_ratio"] == pytest.approx(0.08243216 / math.sqrt(0.108))
    with_risk_free = stats.compute(daily(NET), [], capital=100, size=1, annual_days=A,
                                   risk_free=0.02)
    assert with_risk_free["lean_sharpe_ratio"] == pytest.approx(0.06243216 / math.sqrt(0.108))


def test_sortino_ratio_as_lean(result):
    # negative days -0.1 and -0.2: mean -0.15, sample variance (.05² + .05²) / 1 = .005
    assert result["sortino_ratio"] == pytest.approx(0.08243216 / math.sqrt(0.005 * A))
    # fewer than two losing days: no downside deviation, 0 as LEAN gives
    one_loss = stats.compute(daily([10.0, -11.0, 9.9, 10.89]), [], capital=100, size=1)
    assert one_loss["sortino_ratio"] == 0.0


def test_probabilistic_sharpe_ratio(result):
    # SR = 0.02 / sqrt(.027); moments about the mean: m2 = .108 / 5 = .0216,
    # m3 = (.18³ - .12³ + .08³ - .22³ + .08³) / 5 = -.001104,
    # m4 = (.18⁴ + .12⁴ + .08⁴ + .22⁴ + .08⁴) / 5 = .00073632
    sr = 0.02 / math.sqrt(0.027)
    skew = -0.001104 / 0.0216 ** 1.5
    kurt = 0.00073632 / 0.0216 ** 2
    z = sr * math.sqrt(5 - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr ** 2)
    assert result["probabilistic_sharpe_ratio"] == pytest.approx(
        0.5 * (1 + math.erf(z / math.sqrt(2))))
    # a zero mean gives exactly even odds; too few days or no variation gives no answer
    assert stats.probabilistic_sharpe_ratio([0.01, -0.01, 0.02, -0.02]) == pytest.approx(0.5)
    assert math.isnan(stats.probabilistic_sharpe_ratio([0.01, -0.01]))
    assert math.isnan(stats.probabilistic_sharpe_ratio([0.01, 0.01, 0.01]))


def test_total_fees_and_portfolio_turnover(result):
    assert result["total_fees"] == pytest.approx(2.0)
    # traded value per day (1000 + 500) / 5 = 300 over mean equity
    # (120 + 108 + 118.8 + 95.04 + 104.544) / 5 = 109.2768
    assert result["portfolio_turnover"] == pytest.approx(300 / 109.2768)


def test_round_trips_fifo_with_costs():
    # size 10, commission 0.1% of value, slippage 1 per lot: cost per lot 0.01 * price + 10
    trades = {str(i): t for i, t in enumerate([
        fill(0, Direction.LONG, 100, 2),      # open 2 long (11.00 per lot)
        fill(1, Direction.SHORT, 110, 1),     # close 1: +100 gross, costs 11 + 11.10
        fill(2, Direction.SHORT, 105, 2),     # close 1: +50 gross, costs 11 + 11.05; open 1 short
        fill(3, Direction.LONG, 107, 1),      # close the short: -20 gross, costs 11.05 + 11.07
    ])}
    trips = stats.round_trips(trades, size=10, rate=0.001, slippage=1)
    assert [(t.direction, t.volume, t.entry_price, t.exit_price) for t in trips] == [
        ("long", 1, 100, 110), ("long", 1, 100, 105), ("short", 1, 105, 107)]
    assert [t.gross_pnl for t in trips] == pytest.approx([100, 50, -20])
    assert [t.net_pnl for t in trips] == pytest.approx([77.9, 27.95, -42.12])
    assert trips[2].entry_time == datetime(2024, 1, 2, 9, 2)

    result = stats.compute(daily([0.0]), trades, capital=1000, size=10, rate=0.001,
                           slippage=1)
    assert result["closed_trades"] == 3
    assert (result["winning_trades"], result["losing_trades"]) == (2, 1)
    assert result["win_rate"] == pytest.approx(2 / 3)
    assert result["loss_rate"] == pytest.approx(1 / 3)
    assert result["average_win"] == pytest.approx((77.9 + 27.95) / 2)
    assert result["average_loss"] == pytest.approx(-42.12)
    assert result["profit_loss_ratio"] == pytest.approx(52.925 / 42.12)
    assert result["expectancy"] == pytest.approx(2 / 3 * 52.925 / 42.12 - 1 / 3)


def test_break_even_counts_as_a_loss_and_open_lots_are_not_round_trips():
    trades = [fill(0, Direction.LONG, 100), fill(1, Direction.SHORT, 100),
              fill(2, Direction.SHORT, 101)]                 # the last one stays open
    result = stats.compute(daily([0.0]), trades, capital=1000, size=10)
    assert result["closed_trades"] == 1
    assert (result["win_rate"], result["loss_rate"]) == (0.0, 1.0)
    assert result["profit_loss_ratio"] == 0.0 and result["expectancy"] == -1.0


def test_longest_drawdown_and_its_recovery():
    # equity 100, 90, 95, 100 | 110, 105, 104, 103, 111
    # first period: peak day 0, trough day 1, recovered day 3 (3 days, recovery 2, depth 10%)
    # second: peak day 4, trough day 7, recovered day 8 (4 days, recovery 1, depth 6.4%)
    days = [date(2024, 3, d) for d in range(1, 9)]
    result = stats.compute(daily([-10.0, 5.0, 5.0, 10.0, -5.0, -1.0, -1.0, 8.0], days=days),
                           [], capital=100, size=1)
    assert result["longest_drawdown_days"] == 4
    assert result["longest_drawdown_recovery_days"] == 1
    assert result["longest_drawdown_start"] == "2024-03-05"    # first day under water
    assert result["longest_drawdown_end"] == "2024-03-08"      # back to 110 or above
    assert result["max_drawdown_recovery_days"] == 2           # the deeper, first period


def test_drawdown_not_recovered(result):
    # peak 120 on day 1; under water to the end (day 5): 4 days, no recovery
    assert result["longest_drawdown_days"] == 4
    assert math.isnan(result["longest_drawdown_recovery_days"])
    assert result["longest_drawdown_start"] == "2024-01-03"
    assert result["longest_drawdown_end"] == ""
    assert math.isnan(result["max_drawdown_recovery_days"])


def test_bankrupt_and_empty_results_do_not_raise():
    broke = stats.compute(daily([-150.0, 10.0]), [], capital=100, size=1)
    assert math.isnan(broke["lean_sharpe_ratio"]) and broke["drawdown"] >= 1.0
    empty = stats.compute(pd.DataFrame(), {}, capital=100, size=1)
    assert empty["closed_trades"] == 0 and empty["total_fees"] == 0.0


def test_every_key_has_a_label_and_formats():
    result = stats.compute(daily(NET, days=DAYS), [], capital=100, size=1, annual_days=A)
    assert set(result) == set(stats.EXTRA_LABELS)
    assert all(isinstance(v, (int, float, str)) for v in result.values())
    assert stats.format_value("win_rate", 0.5) == "50.00%"
    assert stats.format_value("total_return", 12.345) == "12.35%"
    assert stats.format_value("average_win", 1234.5) == "1,234.50"
    assert stats.format_value("longest_drawdown_recovery_days", float("nan")) == "n/a"
    assert stats.format_value("longest_drawdown_end", "") == "—"
