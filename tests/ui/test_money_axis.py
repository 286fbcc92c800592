"""The workbench's money axes read as money: thousands separators, no exponent, no SI
prefix, as many decimals as the tick step needs."""

import pytest

from terminal.core.money import money_text
from terminal.ui.backtest.axes import MoneyAxis


@pytest.mark.parametrize(("value", "spacing", "text"), [
    (1_020_000, 10_000, "1,020,000"),
    (1_020_000.5, 0.5, "1,020,000.5"),
    (-1_500, 500, "-1,500"),
    (0.25, 0.25, "0.25"),
    (-0.0, 1, "0"),
    (-0.004, 1, "0"),
    (-0.2, 0.1, "-0.2"),
    (float("nan"), 1, ""),
])
def test_money_text(value, spacing, text):
    assert money_text(value, spacing) == text


def test_the_axis_labels_a_balance_in_money(qtbot):
    axis = MoneyAxis()
    assert axis.tickStrings([1_000_000.0, 1_020_000.0], 1.0, 20_000.0) == [
        "1,000,000", "1,020,000"]
    assert not axis.autoSIPrefix


def test_the_results_plots_read_money(qtbot):
    from terminal.core.timezone import CHINA_TZ
    from terminal.ui.backtest.results import ResultsView

    view = ResultsView(CHINA_TZ)
    qtbot.addWidget(view)
    for plot in (view.equity_plot, view.drawdown_plot, view.pnl_plot):
        assert plot.getAxis("left").tickStrings([1_020_000.0], 1.0, 10_000.0) == ["1,020,000"]
    assert view.histogram_plot.getAxis("bottom").tickStrings([-25_000.0], 1.0, 5_000.0) == [
        "-25,000"]
