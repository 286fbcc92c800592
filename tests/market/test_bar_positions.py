"""Where drawing anchors land on a chart whose X is the bar index: the bar holding the time at
every timeframe (real rb2401 minutes), extrapolated by bar length past either end, by trading
day on daily bars."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from vnpy.trader.constant import Exchange

from terminal.core.timezone import CHINA_TZ
from terminal.market.bar_positions import NS_PER_DAY, NS_PER_MINUTE, BarPositions
from terminal.market.bar_series import BarSeries
from terminal.market.resample import minutes_of
from terminal.services.chart_history import chart_history
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import MarketStore
from tests.helpers import SHARED_DATA

RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
needs_rb = pytest.mark.skipif(not RB_FILE.exists(), reason=f"{RB_FILE} is not there")


def ns(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=CHINA_TZ).timestamp()) * 1_000_000_000


def positions_of(columns: dict, timeframe: str) -> BarPositions:
    series = BarSeries()
    series.replace(columns)
    daily = timeframe == "d"
    return BarPositions(series, NS_PER_DAY if daily else minutes_of(timeframe) * NS_PER_MINUTE,
                        daily, CHINA_TZ)


@needs_rb
def test_a_line_drawn_on_minutes_lands_on_the_bars_holding_its_minutes(tmp_path):
    """Anchors on real rb2401 1-minute bars (a morning, a night-session minute, the last
    afternoon minute) map at 5 minutes and at 1 day to the index of the bar that holds the
    anchor's minute, found here from the bars' own times."""
    store = MarketStore(tmp_path / "market")
    try:
        import_file(store, RB_FILE)
        minutes, _ = chart_history(store, "rb2401", Exchange.SHFE, "1m")
        five, _ = chart_history(store, "rb2401", Exchange.SHFE, "5m")
        days, _ = chart_history(store, "rb2401", Exchange.SHFE, "d")
    finally:
        store.close()
    one = minutes["datetime"]
    # a line from a night minute (Tuesday 26th, 21:37, for the 27th) to a morning minute
    picked = [ns(2023, 9, 26, 21, 37), ns(2023, 9, 28, 10, 3), ns(2023, 10, 9, 14, 59)]
    assert all(t in set(one.tolist()) for t in picked), "the minutes are bars of the file"
    at_1m = positions_of(minutes, "1m").x_of(np.array(picked))
    assert at_1m.tolist() == [float(np.flatnonzero(one == t)[0]) for t in picked]

    starts = five["datetime"]
    holding = [int(np.flatnonzero((starts <= t) & (t < starts + 5 * NS_PER_MINUTE))[0])
               for t in picked]
    assert positions_of(five, "5m").x_of(np.array(picked)).tolist() == holding
    assert [starts[i] for i in holding] == [ns(2023, 9, 26, 21, 35), ns(2023, 9, 28, 10, 0),
                                            ns(2023, 10, 9, 14, 55)]

    day_starts = days["datetime"]
    trading_days = [datetime.fromtimestamp(t / 1e9, CHINA_TZ).date() for t in day_starts]
    # the bar holding each minute: the night of the 26th trades for the 27th
    wanted = [trading_days.index(d) for d in (datetime(2023, 9, 27).date(),
                                              datetime(2023, 9, 28).date(),
                                              datetime(2023, 10, 9).date())]
    assert positions_of(days, "d").x_of(np.array(picked)).tolist() == wanted


def test_past_either_end_x_goes_on_by_bar_length_and_back():
    series = BarSeries()
    start = ns(2023, 9, 25, 9, 0)
    series.replace({"datetime": np.array([start + i * 5 * NS_PER_MINUTE for i in range(4)])})
    positions = BarPositions(series, 5 * NS_PER_MINUTE, False, CHINA_TZ)
    times = np.array([start - 10 * NS_PER_MINUTE, start + 3 * NS_PER_MINUTE,
                      start + 17 * NS_PER_MINUTE, start + 20 * NS_PER_MINUTE,
                      start + 32 * NS_PER_MINUTE])
    assert positions.x_of(times).tolist() == [-2.0, 0.0, 3.0, 4.0, 6.4]
    for x in (-2.0, 4.0, 6.4):
        assert positions.x_of(np.array([positions.time_of(x)]))[0] == pytest.approx(x)
    assert positions.time_of(1.4) == start + 5 * NS_PER_MINUTE     # the nearest bar


def test_daily_bars_map_by_trading_day_and_business_days():
    series = BarSeries()
    # trading days Mon 25th .. Thu 28th at midnight (labels as resample makes them)
    days = [ns(2023, 9, d) for d in (25, 26, 27, 28)]
    series.replace({"datetime": np.array(days)})
    positions = BarPositions(series, NS_PER_DAY, True, CHINA_TZ)
    times = np.array([ns(2023, 9, 26, 21, 5),     # Tuesday night: Wednesday's bar
                      ns(2023, 9, 28, 22, 0),     # Thursday night: Friday, one past the end
                      ns(2023, 9, 29, 21, 0),     # Friday night: Monday, two past the end
                      ns(2023, 9, 22, 10, 0)])    # Friday before: one before the first
    assert positions.x_of(times).tolist() == [2.0, 4.0, 5.0, -1.0]
    assert positions.time_of(5.0) == ns(2023, 10, 2)
    assert positions.time_of(-1.0) == ns(2023, 9, 22)
