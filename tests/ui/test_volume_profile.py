"""The volume profile on a chart of real rb2401 1-minute bars: turned on from the Indicators
menu, it shows the POC and value area `market.volume_profile` computes over the visible bars
(and per trading session), follows pans and live bars without recomputing on every frame, and
comes back with the layout."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from terminal.core.timezone import CHINA_TZ
from terminal.core.trading_day import trading_day
from terminal.market import volume_profile as vp
from terminal.storage.csv_import import import_file
from terminal.ui.docks.chart import ChartDock
from tests.helpers import SHARED_DATA
from tests.helpers.gui import WAIT

RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
pytestmark = pytest.mark.skipif(not RB_FILE.exists(), reason=f"{RB_FILE} is not there")
RB = "rb2401.SHFE"


def rb_chart(qtbot, runtime, window, timeframe: str = "1m") -> ChartDock:
    import_file(runtime.store, RB_FILE)
    chart = window.open_chart(RB, timeframe)
    qtbot.waitUntil(lambda: not chart.loading, timeout=WAIT)
    return chart


def menu_action(chart: ChartDock, text: str):
    """An action of the Indicators menu's Volume profile submenu, as the trader opens it."""
    from PySide6.QtWidgets import QMenu

    chart.indicator_menu.aboutToShow.emit()
    # Found by title, the newest (PySide6 deletes a submenu whose QAction.menu() wrapper it
    # collects; QMenu.clear leaves the submenus of earlier fills behind as children).
    sub = [m for m in chart.indicator_menu.findChildren(QMenu)
           if m.title() == "Volume profile"][-1]
    return next(a for a in sub.actions() if a.text().startswith(text))


def settled(qtbot, chart: ChartDock) -> None:
    """The profile's paced recomputation has run."""
    qtbot.waitUntil(lambda: not chart.profile.refresh.pending, timeout=WAIT)


def on_screen(chart: ChartDock) -> tuple[int, int]:
    """The bars whose middle is in view, worked out here from the view's range."""
    (left, right), _ = chart.chart.price.getViewBox().viewRange()
    return max(0, math.ceil(left)), min(len(chart.chart.series), math.floor(right) + 1)


def expected(chart: ChartDock, first: int, stop: int, ticks: int | None = None) -> vp.Profile:
    s = chart.chart.series
    return vp.build(s.column("high_price")[first:stop], s.column("low_price")[first:stop],
                    s.column("volume")[first:stop], tick=1.0, ticks_per_row=ticks)


def poc_label(profile: vp.Profile) -> str:
    """rb's tick is 1: the POC's price, or its row's lowest and highest for wider rows."""
    if profile.ticks_per_row == 1:
        return f"{profile.poc_price:.0f}"
    return f"{profile.row_low(profile.poc):.0f}–{profile.row_high(profile.poc):.0f}"


def figures(profile: vp.Profile) -> tuple:
    return (profile.poc_price, profile.value_area_low, profile.value_area_high,
            profile.ticks_per_row, list(profile.volumes))


def test_the_visible_profile_is_the_domain_profile_of_the_visible_bars(qtbot, terminal):
    runtime, window = terminal
    chart = rb_chart(qtbot, runtime, window)
    assert chart.profile.mode == "off" and not chart.profile.item.isVisible()
    menu_action(chart, "Visible range").trigger()
    assert chart.profile.item.isVisible() and chart.profile.item.overlay.isVisible()
    # Rows under the candles, their labels over them.
    assert chart.profile.item.zValue() < chart.chart.candles.zValue() < \
        chart.profile.item.overlay.zValue()
    first, stop = on_screen(chart)
    assert stop - first > 150                                 # the last 200 bars or so
    want = expected(chart, first, stop)
    assert figures(chart.profile.visible) == figures(want)
    assert [text for _, text in chart.profile.item.labels()] == [
        f"POC {poc_label(want)}", f"VAH {want.value_area_high:.0f}",
        f"VAL {want.value_area_low:.0f}"]
    chart.chart.show_readout(first)
    chart.chart.hovered.emit(first)
    assert f"POC {poc_label(want)}" in chart.chart.readout.text()

    # A pan is not recomputed on its frame, but by the chart's pacer a little later.
    box = chart.chart.price.getViewBox()
    box.setXRange(100.5, 400.5, padding=0)
    assert figures(chart.profile.visible) == figures(want)
    assert chart.profile.refresh.pending
    settled(qtbot, chart)
    assert on_screen(chart) == (101, 401)
    assert figures(chart.profile.visible) == figures(expected(chart, 101, 401))

    # Rows of five ticks, asked for through Row size….
    from PySide6.QtWidgets import QInputDialog

    asked = []
    original = QInputDialog.getInt
    QInputDialog.getInt = staticmethod(lambda *args: (asked.append(args[3]) or (5, True)))
    try:
        menu_action(chart, "Row size…").trigger()
    finally:
        QInputDialog.getInt = original
    assert asked == [0] and chart.profile.ticks_per_row == 5
    assert figures(chart.profile.visible) == figures(expected(chart, 101, 401, 5))
    assert "(5 ticks)" in menu_action(chart, "Row size…").text()
    poc = chart.profile.visible
    assert chart.profile.item.labels()[0][1] == \
        f"POC {poc.row_low(poc.poc):.0f}–{poc.row_low(poc.poc) + 4:.0f}"

    # The live bar, updated in place (the view stays) with the most volume at a new price,
    # becomes the POC.
    series = chart.chart.series
    box.setXRange(len(series) - 100.5, len(series) + 1.5, padding=0)
    settled(qtbot, chart)
    view = box.viewRange()[0]
    price = float(series.column("high_price")[-100:].max() + 3)
    assert chart.chart.put_bar(int(series.times[-1]), {
        "open_price": price, "high_price": price, "low_price": price, "close_price": price,
        "volume": 10**7}) == "updated"
    assert box.viewRange()[0] == view and chart.profile.refresh.pending
    settled(qtbot, chart)
    assert chart.profile.visible.row_low(chart.profile.visible.poc) <= price <= \
        chart.profile.visible.row_high(chart.profile.visible.poc)
    assert figures(chart.profile.visible) == figures(expected(chart, *on_screen(chart), 5))

    menu_action(chart, "Off").trigger()
    assert chart.profile.visible is None and not chart.profile.item.isVisible()


def test_one_profile_per_trading_session_with_the_night_in_the_next_day(qtbot, terminal):
    runtime, window = terminal
    chart = rb_chart(qtbot, runtime, window)
    menu_action(chart, "Per session").trigger()
    series = chart.chart.series
    chart.chart.price.getViewBox().setXRange(-0.5, len(series) - 0.5, padding=0)
    settled(qtbot, chart)
    # The sessions worked out here, bar by bar, by the one trading-day rule.
    days = [trading_day(datetime.fromtimestamp(t / 1e9, CHINA_TZ)) for t in series.times]
    runs = {}
    for index, day in enumerate(days):
        runs.setdefault(day, [index, index])[1] = index + 1
    shown = chart.profile.sessions
    assert [(s.day, s.start, s.stop) for s in shown] == [(d, a, b) for d, (a, b) in runs.items()]
    # The night of Monday the 25th (21:00) opens Tuesday the 26th's session.
    night = next(i for i, t in enumerate(series.times)
                 if datetime.fromtimestamp(t / 1e9, CHINA_TZ).strftime("%m-%d %H:%M")
                 == "09-25 21:00")
    tuesday = next(s for s in shown if s.start <= night < s.stop)
    assert str(tuesday.day) == "2023-09-26" and tuesday.start == night
    ticks = shown[0].profile.ticks_per_row
    assert all(s.profile.ticks_per_row == ticks for s in shown)
    for session in shown:
        assert figures(session.profile) == figures(
            expected(chart, session.start, session.stop, ticks)), session.day
    assert len(chart.profile.item.sessions) == len(shown)
    chart.chart.show_readout(night)
    chart.chart.hovered.emit(night)
    assert f"Session 09-26 POC {poc_label(tuesday.profile)}" in chart.chart.readout.text()


def test_the_profile_comes_back_with_the_layout_and_a_bad_one_is_named(qtbot, terminal,
                                                                       tmp_path):
    runtime, window = terminal
    chart = rb_chart(qtbot, runtime, window, "5m")
    chart.profile.set_row_ticks(2)
    menu_action(chart, "Per session").trigger()
    assert chart.state()["volume_profile"] == {"mode": "session", "ticks_per_row": 2}
    workspace = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    window.dock_layout.save(workspace)
    window.dock_layout.restore(workspace, replace_charts=True)
    again = window.chart_docks.charts["chart_1"]
    assert again is not chart
    qtbot.waitUntil(lambda: not again.loading, timeout=WAIT)
    settled(qtbot, again)
    assert (again.profile.mode, again.profile.ticks_per_row) == ("session", 2)
    assert again.profile.sessions and again.profile.item.isVisible()

    again.restore({"volume_profile": {"mode": "sideways", "ticks_per_row": 3}})
    assert "volume profile left off" in again.message.text() and "sideways" in again.message.text()
    assert (again.profile.mode, again.profile.ticks_per_row) == ("session", 2)
    with pytest.raises(ValueError, match="ticks a row"):
        again.profile.set_row_ticks(-1)


def built_from_minutes(qtbot, terminal, timeframe: str, mode: str) -> tuple:
    """A chart of rb2401 at `timeframe` with the profile in `mode`, once built from the
    stored 1-minute bars; and those bars, read here."""
    from vnpy.trader.constant import Exchange

    runtime, window = terminal
    chart = rb_chart(qtbot, runtime, window, timeframe)
    menu_action(chart, mode).trigger()
    qtbot.waitUntil(lambda: chart.profile.built_from == "1m", timeout=WAIT)
    settled(qtbot, chart)
    table = runtime.store.load_table("rb2401", Exchange.SHFE, "1m")
    return chart, {name: table.column(name).to_numpy() for name in table.column_names}


def test_a_longer_timeframe_is_built_from_its_one_minute_bars(qtbot, terminal):
    chart, minutes = built_from_minutes(qtbot, terminal, "30m", "Visible range")
    series = chart.chart.series
    first, stop = on_screen(chart)
    assert (first, stop) == (0, len(series))                   # 64 bars: all in view
    inside = minutes["datetime"] >= series.times[first]
    want = vp.build(minutes["high_price"][inside], minutes["low_price"][inside],
                    minutes["volume"][inside], tick=1.0)
    assert figures(chart.profile.visible) == figures(want)
    assert chart.profile.visible.total == pytest.approx(series.column("volume").sum())
    coarse = expected(chart, first, stop)
    assert list(coarse.volumes) != list(want.volumes)          # the minutes say more
    chart.chart.show_readout(first)
    chart.chart.hovered.emit(first)
    assert "from 1-minute bars" in chart.chart.readout.text()

    # A live minute after the stored ones (the dock's last minutes) goes into the profile.
    box = chart.chart.price.getViewBox()
    box.setXRange(len(series) - 10.5, len(series) + 1.5, padding=0)
    settled(qtbot, chart)
    moment = ns_of(2023, 10, 10, 21, 0)
    price = float(series.column("high_price")[-10:].max() + 7)
    values = {"open_price": price, "high_price": price, "low_price": price,
              "close_price": price, "volume": 1234.0}
    chart._tail.put(moment, values)
    assert chart.chart.put_bar(moment, values) == "appended"
    settled(qtbot, chart)
    first, stop = on_screen(chart)
    assert stop == len(series) and series.column("volume")[-1] == 1234.0
    assert chart.profile.visible.total == pytest.approx(series.column("volume")[first:stop].sum())
    top = chart.profile.visible
    assert top.row_low(top.rows - 1) <= price <= top.row_high(top.rows - 1)
    assert top.volumes[-1] == pytest.approx(1234.0)             # the new price: its minute only


def ns_of(*args) -> int:
    return int(datetime(*args, tzinfo=CHINA_TZ).timestamp()) * 10**9


def test_daily_bars_take_the_minutes_of_their_trading_day_night_included(qtbot, terminal):
    chart, minutes = built_from_minutes(qtbot, terminal, "d", "Per session")
    series = chart.chart.series
    days = [trading_day(datetime.fromtimestamp(t / 1e9, CHINA_TZ)) for t in minutes["datetime"]]
    shown = chart.profile.sessions
    assert len(shown) == len(series) == len(set(days))
    ticks = shown[0].profile.ticks_per_row
    for session in shown:
        mine = np.array([d == session.day for d in days])
        want = vp.build(minutes["high_price"][mine], minutes["low_price"][mine],
                        minutes["volume"][mine], tick=1.0, ticks_per_row=ticks)
        assert figures(session.profile) == figures(want), session.day
        assert session.profile.total == pytest.approx(series.column("volume")[session.start])


def test_a_profile_of_many_bars_follows_the_live_bar(qtbot):
    """Zoomed out over 12,288 bars the profile is summed from blocks of bars kept aside: a
    live bar changed in place must still count as it is now."""
    from terminal.ui.chart.volume_profile import VolumeProfile
    from terminal.ui.chart.widget import ChartWidget

    rng = np.random.default_rng(4)
    count = 3 * 4096                  # the live bar ends a whole block: one of those kept
    close = np.round(3500 + np.cumsum(rng.normal(0, 1.5, count)))
    chart = ChartWidget(CHINA_TZ)
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    chart.set_history({"datetime": (1_700_000_000 + np.arange(count) * 60) * 10**9,
                       "open_price": close, "high_price": close + rng.integers(0, 4, count),
                       "low_price": close - rng.integers(0, 4, count), "close_price": close,
                       "volume": rng.integers(1, 300, count).astype(float)})
    profile = VolumeProfile(chart, lambda: 1.0, per_second=10)
    chart.price.getViewBox().setXRange(-0.5, count - 0.5, padding=0)
    profile.set_mode("visible")
    s = chart.series

    def matches() -> bool:
        want = vp.build(s.column("high_price"), s.column("low_price"), s.column("volume"), 1.0)
        return figures(profile.visible)[:4] == figures(want)[:4] and np.allclose(
            profile.visible.volumes, want.volumes)

    assert matches()
    price = float(s.column("high_price").max())
    chart.put_bar(int(s.times[-1]), {"open_price": price, "high_price": price,
                                     "low_price": price, "close_price": price,
                                     "volume": 10.0**8})
    qtbot.waitUntil(lambda: not profile.refresh.pending, timeout=WAIT)
    poc = profile.visible.poc
    assert profile.visible.row_low(poc) <= price <= profile.visible.row_high(poc) and matches()
