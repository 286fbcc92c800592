"""The replay dock in the whole terminal: a stored day of IF2101 ticks appears in the market
watch and the ticket, plays, pauses, seeks from the slider and trades like any contract."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from PySide6.QtCore import Qt
from vnpy.trader.constant import Direction

from terminal.storage.csv_import import import_file
from tests.helpers import SHARED_DATA
from tests.helpers.gui import WAIT, fill_ticket

IF_FILE = SHARED_DATA / "cn_fut_CFFEX_IF2101_tick_20210104-06_wondertrader.csv"
IF = "IF2101.CFFEX"
pytestmark = pytest.mark.skipif(not IF_FILE.exists(), reason=f"{IF_FILE} is not there")


def test_replay_a_day_from_the_dock(qtbot, terminal):
    runtime, window = terminal
    import_file(runtime.store, IF_FILE)
    dock = window.widget("replay")
    dock.refresh()
    assert dock.series_box.currentText().startswith("IF2101.CFFEX")
    assert [dock.day_box.itemText(i) for i in range(dock.day_box.count())] == [
        "2021-01-06", "2021-01-05", "2021-01-04"]
    dock.choose(IF, "tick", date(2021, 1, 4))
    dock.speed_box.setCurrentIndex(dock.speed_box.findData(100))
    qtbot.mouseClick(dock.start_button, Qt.MouseButton.LeftButton)

    # The past contract joins the market watch and the order ticket, paused at the auction.
    qtbot.waitUntil(lambda: window.market_watch.model.find(IF) is not None, timeout=WAIT)
    assert window.ticket.vt_symbol == IF
    qtbot.waitUntil(lambda: "paused at 100x" in dock.clock_label.text(), timeout=WAIT)
    assert "2021-01-04 09:29:00" in dock.clock_label.text()
    assert window.market_watch.model.find(IF).last_price == 5230.0

    qtbot.mouseClick(dock.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "playing" in dock.clock_label.text(), timeout=WAIT)
    runtime.kernel.main_engine.get_gateway("SIM").advance(1.0)     # 100 s of the day
    qtbot.waitUntil(lambda: dock.slider.value() > 0, timeout=WAIT)
    assert dock.play_button.text() == "Pause"
    qtbot.mouseClick(dock.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "paused" in dock.clock_label.text(), timeout=WAIT)

    # Seek to the middle of the day from the slider.
    dock.slider.setValue(5_000)
    dock.slider.sliderReleased.emit()
    status = runtime.kernel.main_engine.get_gateway("SIM").replay_status()
    qtbot.waitUntil(lambda: dock._status is not None and dock._status.now > status.first
                    + (status.last - status.first) // 3, timeout=WAIT)
    qtbot.waitUntil(lambda: window.market_watch.model.find(IF).datetime.hour >= 11,
                    timeout=WAIT)

    # A marketable buy from the ticket fills at the recorded ask, stamped on the replay clock
    # (one lot of IF needs some 18% of the simulated funds; the default risk limit is 10%).
    config = runtime.risk.config
    runtime.risk.apply(replace(config, global_limits=replace(config.global_limits,
                                                             max_funds_share=0.5)), save=False)
    tick = runtime.kernel.main_engine.get_tick(IF)
    ticket = fill_ticket(window, IF, price=f"{tick.ask_price_1:.1f}")
    qtbot.mouseClick(ticket.buy_button, Qt.MouseButton.LeftButton)
    assert ticket.error_label.text() == ""
    qtbot.waitUntil(lambda: window.trades.model.rowCount() == 1, timeout=WAIT)
    trade = window.trades.model.record(0)
    assert trade.vt_symbol == IF and trade.direction == Direction.LONG
    assert trade.price == tick.ask_price_1 and trade.datetime.date() == date(2021, 1, 4)

    qtbot.mouseClick(dock.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.clock_label.text().startswith("No replay"), timeout=WAIT)
    assert not dock.play_button.isEnabled()


def test_an_empty_store_says_what_to_do(qtbot, terminal):
    _, window = terminal
    dock = window.widget("replay")
    # listed once the window has painted and loaded what it deferred (MainWindow.settled)
    qtbot.waitUntil(lambda: "import some" in dock.message.text(), timeout=10_000)
    assert dock.series_box.count() == 0
    assert dock.start() is False
    assert "choose a series" in dock.message.text()
