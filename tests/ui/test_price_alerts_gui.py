"""Price alerts in the window: set from the market watch, listed, edited, disabled and deleted
in their dock, a firing heard in the Alerts dock, and shown on charts (level lines, bells)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QMessageBox
from vnpy.event import Event
from vnpy.trader.constant import Exchange
from vnpy.trader.event import EVENT_TICK
from vnpy.trader.object import TickData

from terminal.core.timezone import CHINA_TZ, to_ns
from terminal.market.drawings import Anchor, new_drawing
from terminal.market.price_alerts import (CROSS_DOWN, CROSS_UP, FIRED, TOUCH, new_alert)
from terminal.ui.dialogs.price_alert import EVERY, add_drawing_alert
from tests.helpers import drained
from tests.helpers.gui import WAIT

RB = "rb2701.SHFE"


def tick(runtime, price: float) -> None:
    """A trade of rb2701 at `price`, through the event engine (the simulator stands still)."""
    data = TickData("SIM", "rb2701", Exchange.SHFE, datetime.now(CHINA_TZ), last_price=price)
    runtime.kernel.event_engine.put(Event(EVENT_TICK, data))
    drained(runtime.kernel.event_engine)


def test_an_alert_set_from_the_market_watch_fires_into_the_alerts_dock(qtbot, terminal):
    runtime, window = terminal
    watch = window.market_watch
    tick(runtime, 3600.0)
    watch.alert_requested.emit(RB, 3600.0)            # the context menu's "Alert at price…"
    dialog = _open_dialog(watch)
    assert dialog.level_box.value() == 3600.0
    assert dialog.condition_box.currentData() == TOUCH   # at the last price: either way
    dialog.level_box.setValue(3650.0)
    dialog.condition_box.setCurrentIndex(dialog.condition_box.findData(CROSS_UP))
    dialog.note_edit.setText("breakout")
    dialog.accept()
    assert not dialog.isVisible()
    [alert] = runtime.price_alerts.alerts()
    assert (alert.vt_symbol, alert.level, alert.condition, alert.once, alert.note) == (
        RB, 3650.0, CROSS_UP, True, "breakout")

    dock = window.widget("price_alerts")
    qtbot.waitUntil(lambda: dock.model.rowCount() == 1, timeout=WAIT)
    alerts_dock = window.widget("alerts")
    severe = []
    alerts_dock.severe_alert.connect(severe.append)
    tick(runtime, 3655.0)
    qtbot.waitUntil(lambda: any(a.rule == "price_alert" for a in alerts_dock.model.records()),
                    timeout=WAIT)
    fired = next(a for a in alerts_dock.model.records() if a.rule == "price_alert")
    assert fired.message == f"{RB} crossed up 3,650 (price level), last 3,655: breakout"
    assert alerts_dock.notified == 1 and severe == []     # heard, and not made severe
    qtbot.waitUntil(lambda: dock.model.record(0).reason == FIRED, timeout=WAIT)
    state = dock.model.index(0, [c.title for c in dock.model.columns].index("State"))
    assert dock.model.data(state) == FIRED


def _open_dialog(parent):
    from terminal.ui.dialogs.price_alert import PriceAlertDialog

    [dialog] = [d for d in parent.findChildren(PriceAlertDialog) if d.isVisible()]
    return dialog


def test_the_dock_edits_disables_and_deletes(qtbot, terminal):
    runtime, window = terminal
    book = runtime.price_alerts
    first = new_alert(RB, CROSS_UP, level=3650.0)
    second = new_alert(RB, CROSS_DOWN, level=3500.0)
    book.add(first)
    book.add(second)
    dock = window.widget("price_alerts")
    qtbot.waitUntil(lambda: dock.model.rowCount() == 2, timeout=WAIT)

    dialog = dock.edit(dock.model.find(first.id))
    dialog.level_box.setValue(3660.0)
    dialog.frequency_box.setCurrentText(EVERY)
    assert dialog.rearm_box.isEnabled()
    dialog.rearm_box.setValue(0.0)
    dialog.accept()                                    # refused: named, the dialog stays
    assert dialog.isVisible() and dialog.error_label.text().startswith("rearm")
    dialog.rearm_box.setValue(8.0)
    dialog.accept()
    assert not dialog.isVisible()
    edited = book.get(first.id)
    assert (edited.level, edited.once, edited.rearm) == (3660.0, False, 8.0)

    row = dock.model.row_of(second.id)
    dock.view.selectRow(row)
    assert dock.toggle_selected() == []
    assert book.get(second.id).enabled is False
    qtbot.waitUntil(lambda: dock.model.find(second.id).enabled is False, timeout=WAIT)

    dock.view.selectRow(dock.model.row_of(second.id))
    dock.delete_selected()
    assert dock.confirm_box.defaultButton() == dock.confirm_box.button(
        QMessageBox.StandardButton.Cancel)
    dock.confirm_box.button(QMessageBox.StandardButton.Yes).click()
    assert book.get(second.id) is None
    qtbot.waitUntil(lambda: dock.model.rowCount() == 1, timeout=WAIT)
    assert dock.model.record(0).id == first.id


def test_an_alert_that_fires_while_its_dialog_is_open_is_not_overwritten(qtbot, terminal):
    runtime, window = terminal
    book = runtime.price_alerts
    alert = new_alert(RB, CROSS_UP, level=3650.0)
    book.add(alert)
    dock = window.widget("price_alerts")
    qtbot.waitUntil(lambda: dock.model.rowCount() == 1, timeout=WAIT)
    dialog = dock.edit(dock.model.find(alert.id))
    dialog.note_edit.setText("typed while it fired")
    tick(runtime, 3600.0)
    tick(runtime, 3655.0)                              # fires: disabled, marked fired
    fired = book.get(alert.id)
    assert (fired.enabled, fired.reason, fired.fired_count) == (False, FIRED, 1)
    dialog.accept()
    assert dialog.isVisible()
    assert dialog.error_label.text().startswith("changed meanwhile: it fired at ")
    assert book.get(alert.id) == fired
    assert not dialog.enabled_box.isChecked() and dialog.note_edit.text() == ""
    dialog.note_edit.setText("seen")                   # changed again, from what it is now
    dialog.accept()
    assert not dialog.isVisible()
    kept = book.get(alert.id)
    assert (kept.note, kept.fired_count, kept.fired_price) == ("seen", 1, 3655.0)


def test_charts_show_level_lines_and_bells_on_lines_with_alerts(qtbot, terminal):
    runtime, window = terminal
    chart = window.chart_docks.open(RB)
    qtbot.waitUntil(lambda: chart.vt_symbol == RB, timeout=WAIT)
    line = new_drawing("hline", [Anchor(to_ns(datetime.now(CHINA_TZ)), 3620.0)])
    runtime.drawings.book(RB).add(line)
    box = new_drawing("rectangle", [Anchor(0, 3600.0), Anchor(60_000_000_000, 3610.0)])
    assert add_drawing_alert(runtime.price_alerts, RB, box, chart) is None
    labels = [a.text() for a in chart.drawing_tools.context_menu(box).actions()]
    assert "Add alert…" not in labels
    menu = chart.drawing_tools.context_menu(line)           # the drawing's own menu
    [add] = [a for a in menu.actions() if a.text() == "Add alert…"]
    add.trigger()
    dialog = chart.alert_lines.dialog
    assert dialog.isVisible() and dialog.drawing == line
    dialog.accept()
    assert [a.drawing_id for a in runtime.price_alerts.alerts()] == [line.id]
    runtime.price_alerts.add(new_alert(RB, TOUCH, level=3640.0))
    runtime.price_alerts.add(new_alert("hc2701.SHFE", TOUCH, level=3000.0))
    qtbot.waitUntil(lambda: chart.alert_lines.item.levels == [3640.0], timeout=WAIT)
    assert chart.drawing_layer._bells == {line.id}
    runtime.drawings.book(RB).remove(line.id)          # its alert is disabled: no bell
    qtbot.waitUntil(lambda: chart.drawing_layer._bells == set(), timeout=WAIT)
    chart.grab()                                       # paints the lines and bells
