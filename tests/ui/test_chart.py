"""Chart docks in the whole terminal: history from the store on China sessions with the gaps
closed, timeframes, live bars from the simulated exchange, indicators kept with the layout,
and orders, fills and the position drawn on the chart."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest

from vnpy.trader.constant import Direction, Exchange, Status
from vnpy.trader.object import TickData

from terminal.market.bar_series import BarSeries
from terminal.market.live_bars import LiveBars
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import CHINA_TZ
from terminal.core.timezone import to_ns
from terminal.ui.chart_services import ChartServices
from terminal.ui.colours import ERROR_HEX, WARNING_HEX
from terminal.ui.docks.chart import ChartDock
from tests.helpers import PROJECT, SHARED_DATA
from tests.helpers import next_quotes
from tests.helpers.gui import WAIT

RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
needs_rb = pytest.mark.skipif(not RB_FILE.exists(), reason=f"{RB_FILE} is not there")
SIM = "rb2701.SHFE"


def loaded(qtbot, *charts) -> None:
    """History comes from a worker thread: wait for it."""
    for chart in charts:
        qtbot.waitUntil(lambda chart=chart: not chart.loading, timeout=WAIT)


def labels(chart) -> list[str]:
    return [datetime.fromtimestamp(t / 1e9, CHINA_TZ).strftime("%m-%d %H:%M")
            for t in chart.chart.series.times]


@needs_rb
def test_history_on_sessions_with_the_gaps_closed(qtbot, terminal):
    runtime, window = terminal
    import_file(runtime.store, RB_FILE)
    chart = window.open_chart("rb2401.SHFE", "30m")
    loaded(qtbot, chart)
    assert len(chart.chart.series) == 64
    shown = labels(chart)
    # The night of the 25th follows 14:30 directly, and 09:00 follows 22:30: one slot each.
    night = shown.index("09-25 21:00")
    assert shown[night - 1] == "09-25 14:30" and shown[night + 4] == "09-26 09:00"
    assert "09-26 10:45" in shown and "09-26 10:15" not in shown
    axis = chart.chart.price.getAxis("bottom")
    assert axis.tickStrings([night], 1, 1) == ["09-25 21:00"]

    for timeframe, count in (("1h", 38), ("d", 6), ("1m", 1830), ("5m", 366)):
        chart.timeframe_box.setCurrentIndex(chart.timeframe_box.findData(timeframe))
        loaded(qtbot, chart)
        assert len(chart.chart.series) == count, timeframe
    assert window.docks["chart_1"].windowTitle() == "rb2401.SHFE 5 min"
    # Two requests in a row: the answer to the first is dropped, the second is shown.
    chart.load("rb2401.SHFE", "d")
    assert chart.loading and chart.message.text().startswith("loading rb2401.SHFE")
    chart.load("rb2401.SHFE", "1h")
    loaded(qtbot, chart)
    qtbot.wait(200)
    assert (chart.timeframe, len(chart.chart.series)) == ("1h", 38)
    chart.load("rb2401.SHFE", "5m")
    loaded(qtbot, chart)

    # Only what is visible is fitted: the price axis follows a zoom into the first day.
    box = chart.chart.price.getViewBox()
    box.setXRange(0, 40, padding=0)
    low, high = box.viewRange()[1]
    first_day = chart.chart.series.column("low_price")[:41]
    assert low <= first_day.min() and high - low < 3 * (first_day.max() - first_day.min())

    assert chart.chart.last_line.value() == chart.chart.series.column("close_price")[-1]
    assert chart.chart.last_line.label.toPlainText() == "3610"
    chart.chart.show_readout(0)
    assert chart.chart.readout.text().startswith("2023-09-25 09:00   O 3778")


def test_live_bars_from_the_simulated_exchange(qtbot, terminal):
    runtime, window = terminal
    qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick(SIM) is not None, timeout=WAIT)
    chart = window.open_chart(SIM, "1m")
    loaded(qtbot, chart)
    # The simulator's own history, up to the minute its market started.
    assert chart.message.text() == chart.history_source == "simulated history"
    assert WARNING_HEX in chart.message.styleSheet()      # marked, not shown as an error
    assert not chart.load("rb2701", "1m") and ERROR_HEX in chart.message.styleSheet()
    history = len(chart.chart.series)
    start = runtime.kernel.main_engine.get_gateway("SIM").start
    assert history > 3000 and chart.chart.series.times[-1] < to_ns(start.moment)
    assert chart.chart.series.column("close_price")[-1] == start.prices[SIM]
    next_quotes(runtime, 3)                       # the market moves; the last quote stands
    tick = runtime.kernel.main_engine.get_gateway("SIM").exchange.books[SIM]
    qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick(SIM) is tick, timeout=WAIT)
    # (the history may end at the price the quotes stand at: wait for the live bar itself)
    qtbot.waitUntil(lambda: len(chart.chart.series) > history, timeout=WAIT)
    assert chart.chart.series.times[-1] == to_ns(tick.datetime.replace(second=0,
                                                                       microsecond=0))
    qtbot.waitUntil(lambda: chart.chart.series.column("close_price")[-1] == tick.last_price,
                    timeout=WAIT)
    assert len(chart.chart.series) == history + 1     # the live minute joins the history
    chart.timeframe_box.setCurrentIndex(chart.timeframe_box.findData("15m"))
    loaded(qtbot, chart)
    next_quotes(runtime)                          # (the reloaded chart's live bars start anew)
    tick = runtime.kernel.main_engine.get_gateway("SIM").exchange.books[SIM]
    qtbot.waitUntil(lambda: len(chart.chart.series) >= 1
                    and chart.chart.series.column("close_price")[-1] == tick.last_price,
                    timeout=WAIT)
    # The simulator trades around the clock; outside rb's real hours the bars follow the
    # minutes the data shows, so only check the bar holds the latest price.
    assert chart.chart.series.times[-1] <= to_ns(tick.datetime)


def test_indicators_and_charts_survive_a_restart(qtbot, data_dir):
    from terminal.app.main import start

    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    chart = window.open_chart(SIM, "5m")
    loaded(qtbot, chart)
    chart.add_indicator("MA", {"n": 10})
    macd = chart.add_indicator("MACD")
    chart.reconfigure(macd, {"fast": 5, "slow": 30, "signal": 4})
    assert chart.add_indicator("RSI", {"n": 1}) is None and "n" in chart.message.text()
    second = window.open_chart("cu2701.SHFE", "1h")
    loaded(qtbot, second)
    second.add_indicator("BOLL", {"n": 30, "k": 2.5})
    window.close()
    runtime.close()

    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    try:
        assert sorted(window.chart_docks.charts) == ["chart_1", "chart_2"]
        first, second = window.chart_docks.charts["chart_1"], window.chart_docks.charts["chart_2"]
        loaded(qtbot, first, second)
        assert (first.vt_symbol, first.timeframe) == (SIM, "5m")
        assert [(i.kind, i.params) for i in first.chart.indicators] == [
            ("MA", {"n": 10}), ("MACD", {"fast": 5, "slow": 30, "signal": 4})]
        assert len(first.chart.panes) == 3                       # price, volume, MACD
        assert (second.vt_symbol, second.timeframe) == ("cu2701.SHFE", "1h")
        assert second.state()["indicators"] == [{"kind": "BOLL", "params": {"n": 30, "k": 2.5}}]
        first.chart.remove_indicator(first.chart.indicators[1])
        assert len(first.chart.panes) == 2
        window.docks["chart_2"].close()
        assert list(window.chart_docks.charts) == ["chart_1"]
    finally:
        window.close()
        runtime.close()


def test_orders_fills_and_position_on_the_chart(qtbot, terminal):
    runtime, window = terminal
    engine = runtime.kernel.main_engine
    qtbot.waitUntil(lambda: engine.get_tick(SIM) is not None, timeout=WAIT)
    chart = window.open_chart(SIM, "1m")
    loaded(qtbot, chart)
    next_quotes(runtime)                          # live bars from the quotes after it opened
    qtbot.waitUntil(lambda: len(chart.chart.series) >= 1, timeout=WAIT)
    tick = engine.get_tick(SIM)
    menu = chart.orders.entry.menu(tick.ask_price_1 + 5.4)
    assert next(a.text() for a in menu.actions()) == f"Buy limit 1 @ {tick.ask_price_1 + 5:.0f}"

    bought = chart.orders.entry.place(Direction.LONG, "limit", tick.ask_price_1 + 5, 1)
    assert bought
    qtbot.waitUntil(lambda: len(chart.fills.data) == 1, timeout=WAIT)
    spot = chart.fills.data[0]
    assert spot["y"] <= tick.ask_price_1 + 5 and spot["x"] == len(chart.chart.series) - 1
    positions = lambda: [line for key, line in chart.orders.lines.items()  # noqa: E731
                         if key.startswith("position")]
    qtbot.waitUntil(lambda: len(positions()) == 1, timeout=WAIT)
    assert positions()[0].text.startswith("Long 1 @")

    resting = chart.orders.entry.place(Direction.LONG, "limit", tick.bid_price_1 - 50, 1)
    qtbot.waitUntil(lambda: resting in chart.orders.lines, timeout=WAIT)
    assert chart.orders.lines[resting].price == tick.bid_price_1 - 50
    runtime.trading.cancel(resting)
    qtbot.waitUntil(lambda: resting not in chart.orders.lines, timeout=WAIT)
    assert engine.get_order(resting).status == Status.CANCELLED

    # Through the gate's checks: an off-tick price is refused and nothing is sent.
    sent = runtime.trading.orders_sent
    assert chart.orders.entry.place(Direction.SHORT, "limit", tick.bid_price_1 + 0.5, 1) == ""
    assert "order not sent" in chart.message.text() and "tick" in chart.message.text()
    assert runtime.trading.orders_sent == sent
    chart.orders.entry.error_box.close()


@needs_rb
def test_a_chart_made_for_a_symbol_shows_the_timeframe_it_was_given(qtbot, terminal):
    """The loop filling the timeframe box once reused the argument's name, so a chart made
    for a symbol loaded the box's last timeframe (daily) instead of the one asked for."""
    runtime, window = terminal
    import_file(runtime.store, RB_FILE)
    chart = ChartDock(ChartServices.minimal(runtime.store, runtime.trading, runtime.live_bars),
                      vt_symbol="rb2401.SHFE", timeframe="5m", parent=window)
    try:
        loaded(qtbot, chart)
        assert (chart.timeframe, len(chart.chart.series)) == ("5m", 366)
    finally:
        chart.close_chart()


def test_a_chart_comes_out_of_its_constructor_finished(qtbot, terminal):
    """Issue 17's rule: the window's services give a chart its alert lines, Templates menu,
    shortcut keys and symbol list in its constructor; nothing is attached afterwards. A chart
    made with a store and trading only has none of them."""
    runtime, window = terminal
    qtbot.waitUntil(lambda: window.is_settled, timeout=WAIT)     # its first chart opened
    qtbot.waitUntil(lambda: not any(c.loading for c in window.chart_docks.charts.values()),
                    timeout=WAIT)
    window.chart_docks.set_symbols(["cu2701.SHFE"])
    chart = ChartDock(window.chart_docks.services, parent=window)
    bare = ChartDock(ChartServices.minimal(runtime.store, runtime.trading, runtime.live_bars),
                     parent=window)
    try:
        assert chart.alert_lines.alerts is runtime.price_alerts
        assert chart.alert_lines.menu_entry in chart.drawing_tools.menu_entries
        assert chart.templates_menu.templates is window.chart_docks.templates
        assert chart.drawings is runtime.drawings
        window.app_settings.shortcuts = {"chart.draw_trend": "Alt+Shift+T"}
        assert chart.drawing_tools.overrides() == {"chart.draw_trend": "Alt+Shift+T"}
        assert "cu2701.SHFE" in [chart.symbol_box.itemText(i)
                                 for i in range(chart.symbol_box.count())]
        assert (bare.alert_lines, bare.templates_menu, bare.drawings) == (None, None, None)
        assert bare.drawing_tools.overrides() == {} and bare.symbol_box.count() == 0
    finally:
        chart.close_chart()
        bare.close_chart()


def test_live_bars_keep_every_chart_its_own_place():
    live = LiveBars()
    first = live.watch("rb2701.SHFE")

    def tick(second: int, price: float) -> TickData:
        return TickData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE,
                        datetime=datetime(2026, 11, 20, 9, 0, tzinfo=CHINA_TZ).replace(
                            minute=second // 60, second=second % 60),
                        last_price=price, volume=second)

    for second in (0, 30, 61, 90, 125):
        live.on_tick(tick(second, 100 + second))
    bars, position, current = live.take("rb2701.SHFE", first)
    assert [b.close_price for b in bars] == [130, 190] and current.close_price == 225
    second_chart = live.watch("rb2701.SHFE")
    assert live.take("rb2701.SHFE", second_chart)[0] == []
    assert live.take("rb2701.SHFE", first)[0] == bars             # its own cursor
    assert live.take("rb2701.SHFE", position)[0] == []
    live.on_tick(TickData(gateway_name="SIM", symbol="cu2701", exchange=Exchange.SHFE,
                          datetime=datetime(2026, 11, 20, 9, 0, tzinfo=CHINA_TZ),
                          last_price=1.0))
    assert live.take("cu2701.SHFE", 0) == ([], 0, None)           # nobody watches it


def test_bar_series_updates_in_place_and_grows():
    series = BarSeries(capacity=2)
    assert series.put(60, {"close_price": 1.0}) == "appended"
    assert series.put(60, {"close_price": 2.0}) == "updated"
    assert series.put(0, {"close_price": 9.0}) == "stale"
    for minute in range(2, 10):
        series.put(60 * minute, {"close_price": float(minute)})
    assert len(series) == 9 and list(series.column("close_price")[:2]) == [2.0, 2.0]
    assert series.index_at_or_before(125) == 1 and series.index_at_or_before(59) == -1


@needs_rb
@pytest.mark.slow
def test_screenshot_of_a_chart_under_xvfb_is_not_blank(tmp_path):
    if not any(os.access(os.path.join(p, "xvfb-run"), os.X_OK)
               for p in os.environ.get("PATH", "").split(os.pathsep)):
        pytest.skip("xvfb-run is not installed (apt-get install xvfb)")
    shot = tmp_path / "chart.png"
    script = f"""
import sys
from pathlib import Path
from terminal.core import paths
paths.prepare(Path({str(tmp_path / 'home')!r}))
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from terminal.app.main import start
from terminal.storage.csv_import import import_file
runtime, window = start(Path({str(tmp_path / 'home')!r}), show=True)
import_file(runtime.store, Path({str(RB_FILE)!r}))
chart = window.open_chart("rb2401.SHFE", "5m")
chart.add_indicator("BOLL")
chart.add_indicator("MACD")
while chart.loading:
    app.processEvents()
window.resize(1400, 900)
for _ in range(30):
    app.processEvents()
window.docks["chart_1"].grab().save({str(shot)!r})
window.close()
runtime.close()
"""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "QT_QPA_PLATFORM": "xcb"}
    result = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable,
                             "-c", script], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert image.width() > 600 and image.height() > 400
    pixels = np.array([image.pixel(x, y) for x in range(0, image.width(), 7)
                       for y in range(0, image.height(), 7)])
    colours, counts = np.unique(pixels, return_counts=True)
    assert len(colours) > 20                            # candles, lines, text: not blank
    assert counts.max() / counts.sum() < 0.97           # not one flat colour



def test_zoomed_out_blocks_follow_the_bars_and_live_changes():
    from terminal.ui.chart.items import Pyramid, zoomed_out

    rng = np.random.default_rng(3)
    count = 10_001
    close = 100 + np.cumsum(rng.normal(0, 1, count))
    series = BarSeries()
    series.replace({"datetime": np.arange(count, dtype=np.int64) * 60, "open_price": close - 0.5,
                    "high_price": close + rng.random(count),
                    "low_price": close - 1 - rng.random(count),
                    "close_price": close, "volume": rng.integers(1, 50, count).astype(float)})
    pyramid = Pyramid(series)
    level = pyramid.level(4)
    high, volume = series.column("high_price"), series.column("volume")
    assert len(level["high"]) == 2501
    assert np.array_equal(level["high"][:-1], high[:10_000].reshape(-1, 4).max(axis=1))
    assert level["high"][-1] == high[-1] and level["open"][7] == series.column("open_price")[28]
    assert np.array_equal(level["volume"][:-1], volume[:10_000].reshape(-1, 4).max(axis=1))

    x, part = zoomed_out(pyramid, 1000, 9000, per_pixel=9.0)   # blocks of 8, one a pixel
    assert len(x) == 1000 and x[0] == 1000 + 3.5
    assert part["high"].max() == high[1000:9000].max()
    assert part["low"].min() == series.column("low_price")[1000:9000].min()

    series.put(int(series.times[-1]), {"open_price": 1.0, "high_price": 10_000.0,
                                       "low_price": 0.5, "close_price": 2.0, "volume": 999.0})
    pyramid.changed(count - 1)
    assert pyramid.level(4)["high"][-1] == 10_000.0
    series.put(int(series.times[-1]) + 60, {"open_price": 3.0, "high_price": 20_000.0,
                                            "low_price": 2.0, "close_price": 4.0, "volume": 1.0})
    pyramid.changed(count)
    assert pyramid.level(4)["high"][-1] == 20_000.0 and len(pyramid.level(4)["high"]) == 2501
    assert pyramid.level(2)["volume"][-1] == 999.0


def _empty_chart(qtbot):
    from terminal.core.timezone import CHINA_TZ
    from terminal.ui.chart.widget import ChartWidget

    chart = ChartWidget(CHINA_TZ)
    qtbot.addWidget(chart)
    chart.resize(900, 420)
    chart.set_history({name: np.array([], dtype=np.int64 if name == "datetime" else float)
                       for name in ("datetime", "open_price", "high_price", "low_price",
                                    "close_price", "volume")})
    return chart


def _bar(minute: int) -> tuple[int, dict]:
    price = 3_000.0 + minute
    return (1_700_000_000 * 10**9 + minute * 60 * 10**9,
            {"open_price": price, "high_price": price + 1, "low_price": price - 1,
             "close_price": price, "volume": 10.0})


def _in_view(chart, index: int) -> bool:
    (left, right), _ = chart.price.getViewBox().viewRange()
    return left < index < right


def test_live_bars_on_an_empty_chart_are_in_view_from_the_first(qtbot):
    """A symbol with no stored history: every new bar shows at once, none waits for End."""
    from terminal.ui.chart.widget import INITIAL_BARS

    chart = _empty_chart(qtbot)
    for minute in range(INITIAL_BARS + 50):
        assert chart.put_bar(*_bar(minute)) == "appended"
        assert _in_view(chart, minute), minute
        if minute < INITIAL_BARS:
            assert _in_view(chart, 0), minute           # the first bar stays until the view is full
    (left, right), _ = chart.price.getViewBox().viewRange()
    assert right - left <= INITIAL_BARS + 3                # then the view slides, its width kept


def test_a_chart_scrolled_back_stays_where_the_trader_put_it(qtbot):
    chart = _empty_chart(qtbot)
    for minute in range(60):
        chart.put_bar(*_bar(minute))
    chart.price.getViewBox().setXRange(5, 20, padding=0)
    chart.put_bar(*_bar(60))
    (left, right), _ = chart.price.getViewBox().viewRange()
    assert (left, right) == (5, 20)


def test_a_minute_that_ends_while_the_history_loads_is_not_lost(qtbot, terminal):
    """The history is read on a worker thread; a minute the live feed finishes meanwhile is
    after the history's last bar and must still reach the chart."""
    from terminal.services.chart_history import ChartHistory

    runtime, window = terminal
    live = LiveBars()

    def tick(second: int, price: float) -> TickData:
        return TickData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE,
                        datetime=datetime(2026, 11, 20, 9, 0, tzinfo=CHINA_TZ).replace(
                            minute=second // 60, second=second % 60),
                        last_price=price, volume=second)

    class History:
        """The store's history up to 09:00, while minute 09:00 ends on the feed."""
        def history(self, symbol, exchange, timeframe):
            live.on_tick(tick(10, 101.0))
            live.on_tick(tick(70, 102.0))            # 09:00 ends, 09:01 begins
            first = to_ns(datetime(2026, 11, 20, 8, 59, tzinfo=CHINA_TZ))
            bars = {"datetime": np.array([first], np.int64),
                    **{name: np.array([100.0]) for name in
                       ("open_price", "high_price", "low_price", "close_price")},
                    "volume": np.array([1.0]), "turnover": np.array([0.0]),
                    "open_interest": np.array([0.0])}
            return ChartHistory(bars, {"datetime": np.empty(0, np.int64)})

    services = replace(ChartServices.minimal(runtime.store, runtime.trading, live),
                       sources=History)
    chart = ChartDock(services, parent=window)
    try:
        chart.load(SIM, "1m")
        loaded(qtbot, chart)
        chart._draw_live()
        assert labels(chart) == ["11-20 08:59", "11-20 09:00", "11-20 09:01"]
        assert list(chart.chart.series.column("close_price")) == [100.0, 101.0, 102.0]
        chart.load("cu2701.SHFE", "1m")         # made void by the next one at once
        chart.load(SIM, "5m")
        loaded(qtbot, chart)
        assert dict(live._watchers) == {SIM: 1}
    finally:
        chart.close_chart()
    assert not live._watchers                   # every watch was given back
