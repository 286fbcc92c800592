"""Drawing on a chart with the mouse and the keys, as a trader does: on a real chart dock of
the terminal with stored bars, mouse events on the chart's viewport at the pixels of bars and
prices. Every tool places its drawing (clicks, or press-drag-release), the magnet snaps to a
bar's high, a drawing moves by its body or a handle in one undo step, a lock holds it, undo
and redo, copy and paste between charts of two symbols, Esc cancels, the measure tool reads
price, ticks, percent, bars and time."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from terminal.market.drawings import Anchor, Style, new_drawing
from terminal.ui.chart.drawing_tools import HIT_PIXELS, MAGNET_PIXELS
from terminal.ui.chart.measure import measure
from tests.helpers import random_walk_bars
from tests.helpers.gui import WAIT

SYMBOL = "rb2401.SHFE"
OTHER = "rb2701.SHFE"             # a simulated contract: another symbol's chart
LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier
ALT = Qt.KeyboardModifier.AltModifier
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def chart(qtbot, terminal, monkeypatch):
    """A chart dock of SYMBOL with 450 stored 1-minute bars, the newest 200 on screen.

    pyqtgraph drops mouse moves that come within 10 ms of the last one (its rate limit), so
    whether a test's drag pans would depend on the machine's speed: the limit is off here.
    The tools see every move either way."""
    monkeypatch.setitem(pg.CONFIG_OPTIONS, "mouseRateLimit", 0)
    runtime, window = terminal
    runtime.store.save_bars(random_walk_bars("rb2401", days=2, per_day=225, seed=5))
    dock = window.open_chart(SYMBOL, "1m")
    qtbot.waitUntil(lambda: not dock.loading and len(dock.chart.series) == 450, timeout=WAIT)
    window.docks["chart_1"].raise_()
    dock.chart.graphics.setFocus()
    qtbot.waitUntil(lambda: dock.chart.graphics.viewport().isVisible(), timeout=WAIT)
    return runtime, window, dock


# ---------------------------------------------------------------------------- driving it
def pixel(dock, bar: float, price: float) -> QPoint:
    """The viewport pixel of a bar index and price on the price pane."""
    box = dock.chart.price.getViewBox()
    scene = box.mapViewToScene(QPointF(bar, price))
    return dock.chart.graphics.mapFromScene(scene)


def press(dock, bar, price, button=LEFT):
    QTest.mousePress(dock.chart.graphics.viewport(), button, NONE, pixel(dock, bar, price))


def move(dock, bar, price):
    QTest.mouseMove(dock.chart.graphics.viewport(), pixel(dock, bar, price))


def release(dock, bar, price, button=LEFT):
    QTest.mouseRelease(dock.chart.graphics.viewport(), button, NONE, pixel(dock, bar, price))


def click(dock, bar, price, button=LEFT):
    press(dock, bar, price, button)
    release(dock, bar, price, button)


def drag(dock, start, end, steps: int = 4):
    press(dock, *start)
    for step in range(1, steps + 1):
        move(dock, start[0] + (end[0] - start[0]) * step / steps,
             start[1] + (end[1] - start[1]) * step / steps)
    release(dock, *end)


def key(dock, code, modifiers=NONE):
    QTest.keyClick(dock.chart.graphics, code, modifiers)


def time_of(dock, bar: int) -> int:
    return int(dock.chart.series.times[bar])


def mid_price(dock, share: float = 0.5) -> float:
    low, high = dock.chart.price.getViewBox().viewRange()[1]
    return round(low + (high - low) * share)


def book(runtime, symbol=SYMBOL):
    return runtime.drawings.book(symbol)


def only(runtime, symbol=SYMBOL):
    drawings = book(runtime, symbol).drawings()
    assert len(drawings) == 1, drawings
    return drawings[0]


def x_range(dock):
    return tuple(dock.chart.price.getViewBox().viewRange()[0])


# ---------------------------------------------------------------------------- tests
def test_every_tool_places_its_drawing_by_clicks_with_its_key(qtbot, chart):
    runtime, _, dock = chart
    tools = dock.drawing_tools
    low, high = mid_price(dock, 0.3), mid_price(dock, 0.7)
    clicks = {"trend": [(300, low), (340, high)], "ray": [(300, low), (340, high)],
              "extended": [(300, low), (340, high)], "hline": [(320, high)],
              "hray": [(320, low)], "vline": [(330, low)],
              "rectangle": [(300, low), (340, high)],
              "channel": [(300, low), (340, high), (310, high)],
              "fib": [(300, low), (340, high)]}
    keys = {"trend": Qt.Key.Key_T, "ray": Qt.Key.Key_R, "extended": Qt.Key.Key_E,
            "hline": Qt.Key.Key_H, "hray": Qt.Key.Key_J, "vline": Qt.Key.Key_V,
            "rectangle": Qt.Key.Key_B, "channel": Qt.Key.Key_C, "fib": Qt.Key.Key_F}
    shown = x_range(dock)
    for kind, points in clicks.items():
        key(dock, keys[kind], ALT)
        assert tools.tool == kind
        assert dock.drawing_toolbar.tool_actions[kind].isChecked()
        for bar, price in points:
            click(dock, bar, price)
        drawn = book(runtime).drawings()[-1]
        assert drawn.kind == kind
        assert [(a.time_ns, a.price) for a in drawn.anchors] == \
            [(time_of(dock, bar), price) for bar, price in points], kind
        assert tools.tool == "" and dock.drawing_toolbar.cursor_action.isChecked()
        assert dock.drawing_layer.selected == drawn.id       # the new one is selected
    assert len(book(runtime)) == len(clicks)
    assert x_range(dock) == shown            # clicks with a tool never pan the chart

    # The text note asks for its text; an empty one is not kept.
    key(dock, Qt.Key.Key_N, ALT)
    click(dock, 350, high)
    dialog = tools.dialog
    assert isinstance(dialog, QInputDialog) and dialog.isVisible()
    dialog.setTextValue("breakout above the range")
    dialog.accept()
    note = book(runtime).drawings()[-1]
    assert (note.kind, note.text, note.anchors) == ("text", "breakout above the range",
                                                    (Anchor(time_of(dock, 350), high),))
    # A double-click on the note edits its text (one change of the book).
    QTest.mouseDClick(dock.chart.graphics.viewport(), LEFT, NONE, pixel(dock, 350, high))
    assert isinstance(tools.dialog, QInputDialog)
    assert tools.dialog.textValue() == "breakout above the range"
    tools.dialog.setTextValue("breakout failed")
    tools.dialog.accept()
    assert book(runtime).get(note.id).text == "breakout failed"
    assert book(runtime).get(note.id).anchors == note.anchors
    key(dock, Qt.Key.Key_N, ALT)
    click(dock, 360, high)
    tools.dialog.setTextValue("   ")
    tools.dialog.accept()
    assert len(book(runtime)) == len(clicks) + 1
    assert "empty note" in dock.message.text()

    # The same key again puts the tool down; "stay in tool" keeps it after placing.
    key(dock, Qt.Key.Key_T, ALT)
    key(dock, Qt.Key.Key_T, ALT)
    assert tools.tool == ""
    dock.drawing_toolbar.stay_action.trigger()
    key(dock, Qt.Key.Key_H, ALT)
    click(dock, 310, low)
    click(dock, 312, high)
    assert tools.tool == "hline"
    assert [d.anchors[0].price for d in book(runtime).drawings()[-2:]] == [low, high]


def test_two_point_tools_also_place_by_press_drag_release(qtbot, chart):
    runtime, _, dock = chart
    low, high = mid_price(dock, 0.2), mid_price(dock, 0.8)
    shown = x_range(dock)
    key(dock, Qt.Key.Key_T, ALT)
    drag(dock, (300, low), (330, high))
    line = only(runtime)
    assert (line.kind, line.anchors) == ("trend", (Anchor(time_of(dock, 300), low),
                                                   Anchor(time_of(dock, 330), high)))
    assert x_range(dock) == shown                 # the drag drew, it did not pan
    # A channel: drag the first line, click the third point.
    key(dock, Qt.Key.Key_C, ALT)
    drag(dock, (300, low), (330, low + 10))
    assert dock.drawing_tools.tool == "channel" and len(book(runtime)) == 1
    assert dock.drawing_layer._preview is not None and dock.drawing_layer._preview.kind == \
        "channel"                                  # what is being placed is shown
    click(dock, 310, high)
    channel = book(runtime).drawings()[-1]
    assert [a.price for a in channel.anchors] == [low, low + 10, high]
    assert dock.drawing_layer._preview is None
    # Without a tool, a drag off the drawings pans the chart.
    drag(dock, (370, low), (400, low))
    assert x_range(dock) != shown and len(book(runtime)) == 2


def test_the_magnet_snaps_to_the_high_of_the_bar(qtbot, chart):
    runtime, _, dock = chart
    series = dock.chart.series
    bar = 320
    high = float(series.column("high_price")[bar])
    box = dock.chart.price.getViewBox()
    per_pixel = abs(box.mapSceneToView(QPointF(0, 0)).y() - box.mapSceneToView(QPointF(0, 1)).y())
    near = high + 6 * per_pixel                     # 6 pixels above the high
    far = high + (MAGNET_PIXELS + 15) * per_pixel    # too far to snap
    key(dock, Qt.Key.Key_M)
    assert dock.drawing_tools.magnet and dock.drawing_toolbar.magnet_action.isChecked()
    key(dock, Qt.Key.Key_H, ALT)
    click(dock, bar, near)
    assert only(runtime).anchors[0] == Anchor(time_of(dock, bar), high)
    key(dock, Qt.Key.Key_H, ALT)
    click(dock, bar, far)
    assert book(runtime).drawings()[-1].anchors[0].price == round(far)   # rb's tick is 1
    key(dock, Qt.Key.Key_M)                                             # magnet off
    key(dock, Qt.Key.Key_H, ALT)
    click(dock, bar, near)
    assert book(runtime).drawings()[-1].anchors[0].price == round(near) != high


def test_move_by_body_and_by_handle_each_one_undo_step(qtbot, chart):
    runtime, _, dock = chart
    low, high = mid_price(dock, 0.3), mid_price(dock, 0.6)
    line = new_drawing("trend", [Anchor(time_of(dock, 300), low),
                                 Anchor(time_of(dock, 340), high)])
    book(runtime).add(line)
    shown = x_range(dock)
    middle = (320, (low + high) / 2)
    # By the body: ten bars right and 5 up, previewed while dragging, one change on release.
    changes = []
    book(runtime).listen(changes.append)
    press(dock, *middle)
    for step in (2, 6, 10):
        move(dock, middle[0] + step, middle[1] + step / 2)
    assert dock.drawing_layer._preview is not None
    assert book(runtime).get(line.id) == line and changes == []   # nothing stored yet
    release(dock, middle[0] + 10, middle[1] + 5)
    moved = only(runtime)
    assert [(a.time_ns, a.price) for a in moved.anchors] == \
        [(time_of(dock, 310), low + 5), (time_of(dock, 350), high + 5)]
    assert len(changes) == 1 and x_range(dock) == shown
    assert dock.drawing_layer.selected == line.id

    # By a handle: the second anchor only.
    drag(dock, (350, high + 5), (360, high + 20))
    handled = only(runtime)
    assert handled.anchors == (moved.anchors[0], Anchor(time_of(dock, 360), high + 20))
    assert len(changes) == 2

    # Undo and redo, one step each, by the keys.
    key(dock, Qt.Key.Key_Z, CTRL)
    assert only(runtime) == moved
    key(dock, Qt.Key.Key_Z, CTRL)
    assert only(runtime) == line
    key(dock, Qt.Key.Key_Y, CTRL)
    assert only(runtime) == moved
    key(dock, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert only(runtime) == handled

    # Delete the selected drawing; undo puts it back.
    dock.drawing_layer.select(line.id)
    key(dock, Qt.Key.Key_Delete)
    assert len(book(runtime)) == 0
    key(dock, Qt.Key.Key_Z, CTRL)
    assert only(runtime) == handled


def test_a_lock_holds_a_drawing_against_moves_and_deletes(qtbot, chart):
    runtime, _, dock = chart
    tools = dock.drawing_tools
    price = mid_price(dock)
    level = new_drawing("hline", [Anchor(time_of(dock, 320), price)])
    book(runtime).add(level)
    # Lock it from its context menu (right-click on the line).
    click(dock, 330, price, Qt.MouseButton.RightButton)
    menu = tools.menu
    assert menu is not None and menu.isVisible()
    texts = [a.text() for a in menu.actions()]
    assert "Lock" in texts and "Style…" in texts and "Fib levels…" not in texts
    next(a for a in menu.actions() if a.text() == "Lock").trigger()
    menu.close()
    assert only(runtime).locked
    shown = x_range(dock)
    drag(dock, (330, price), (340, price + 30))
    assert only(runtime).anchors == level.anchors            # not moved...
    assert x_range(dock) != shown                            # ...the chart panned instead
    assert "locked" in dock.message.text()
    key(dock, Qt.Key.Key_Delete)
    assert len(book(runtime)) == 1 and "locked" in dock.message.text()
    # Its menu offers Unlock, and Delete is disabled while locked.
    menu = tools.context_menu(only(runtime))
    delete = next(a for a in menu.actions() if a.text().startswith("Delete"))
    assert not delete.isEnabled()
    next(a for a in menu.actions() if a.text() == "Unlock").trigger()
    menu.close()
    tools.layer.select(level.id)
    key(dock, Qt.Key.Key_Delete)
    assert len(book(runtime)) == 0


def test_style_and_fib_levels_from_the_context_menu(qtbot, chart):
    runtime, _, dock = chart
    tools = dock.drawing_tools
    low, high = mid_price(dock, 0.2), mid_price(dock, 0.8)
    fib = new_drawing("fib", [Anchor(time_of(dock, 300), low), Anchor(time_of(dock, 340), high)])
    book(runtime).add(fib)
    menu = tools.context_menu(fib)
    next(a for a in menu.actions() if a.text() == "Style…").trigger()
    menu.close()
    dialog = tools.dialog
    dialog.color_edit.setText("#e5484d")
    dialog.width_box.setValue(3)
    dialog.dash_box.setCurrentIndex(dialog.dash_box.findData("dash"))
    dialog.accept()
    assert only(runtime).style == Style("#e5484d", 3.0, "dash")
    menu = tools.context_menu(only(runtime))
    next(a for a in menu.actions() if a.text() == "Fib levels…").trigger()
    menu.close()
    tools.dialog.set_texts(["0", "0.5", "161.8%"])
    tools.dialog.accept()
    assert only(runtime).levels == (0.0, 0.5, 1.618)
    key(dock, Qt.Key.Key_Z, CTRL)                      # each edit is one undo step
    assert only(runtime).levels == () and only(runtime).style.color == "#e5484d"


def test_copy_and_paste_between_charts_of_two_symbols(qtbot, chart):
    runtime, window, dock = chart
    low, high = mid_price(dock, 0.3), mid_price(dock, 0.6)
    line = new_drawing("ray", [Anchor(time_of(dock, 300), low), Anchor(time_of(dock, 340), high)],
                       style=Style("#123456", 2.0, "dot"), locked=True)
    book(runtime).add(line)
    other = window.open_chart(OTHER, "1m")
    qtbot.waitUntil(lambda: not other.loading, timeout=WAIT)
    # Nothing selected: Ctrl+C copies nothing; then select and copy.
    QApplication.clipboard().clear()
    key(dock, Qt.Key.Key_C, CTRL)
    assert not dock.drawing_tools.can_paste()
    dock.drawing_layer.select(line.id)
    key(dock, Qt.Key.Key_C, CTRL)
    QTest.keyClick(other.chart.graphics, Qt.Key.Key_V, CTRL)
    pasted = only(runtime, OTHER)
    assert pasted.id != line.id and not pasted.locked
    assert (pasted.kind, pasted.anchors, pasted.style) == (line.kind, line.anchors, line.style)
    assert other.drawing_layer.selected == pasted.id
    assert f"pasted from {SYMBOL}" in other.message.text()
    assert only(runtime) == line                        # the original stays
    # Pasted twice on the same symbol: two drawings; undo takes the last one away.
    QTest.keyClick(other.chart.graphics, Qt.Key.Key_V, CTRL)
    assert len(book(runtime, OTHER)) == 2
    QTest.keyClick(other.chart.graphics, Qt.Key.Key_Z, CTRL)
    assert only(runtime, OTHER) == pasted


def test_esc_cancels_a_drawing_being_placed(qtbot, chart):
    runtime, _, dock = chart
    tools = dock.drawing_tools
    price = mid_price(dock)
    key(dock, Qt.Key.Key_C, ALT)
    click(dock, 300, price)
    click(dock, 330, price + 20)
    move(dock, 310, price + 40)
    assert dock.drawing_layer._preview is not None
    key(dock, Qt.Key.Key_Escape)
    assert tools.tool == "" and dock.drawing_layer._preview is None
    click(dock, 310, price + 40)
    assert len(book(runtime)) == 0
    # A right-click leaves a tool too, without the order menu.
    key(dock, Qt.Key.Key_T, ALT)
    click(dock, 300, price)
    click(dock, 310, price, Qt.MouseButton.RightButton)
    assert tools.tool == "" and len(book(runtime)) == 0
    assert not hasattr(dock, "_menu")                     # the chart's order menu: not shown
    # Esc then unselects.
    book(runtime).add(new_drawing("hline", [Anchor(time_of(dock, 300), price)]))
    dock.drawing_layer.select(only(runtime).id)
    key(dock, Qt.Key.Key_Escape)
    assert dock.drawing_layer.selected is None


def test_the_measure_tool_reads_price_ticks_percent_bars_and_time(qtbot, chart):
    runtime, _, dock = chart
    tools = dock.drawing_tools
    low, high = mid_price(dock, 0.3), mid_price(dock, 0.7)
    key(dock, Qt.Key.Key_M, ALT)
    drag(dock, (300, low), (345, high))
    assert tools.measuring and tools.tool == ""
    label = tools.measure_item.label.toPlainText()
    change = high - low
    seconds = (time_of(dock, 345) - time_of(dock, 300)) / 1e9
    assert label == (f"{change:+,.0f}  {change:+,.0f} ticks  {change / low * 100:+.2f}%\n"
                     f"+45 bars, {int(seconds // 60)}m")
    assert len(book(runtime)) == 0                   # a measure is not kept
    key(dock, Qt.Key.Key_Escape)
    assert not tools.measuring
    # Click, click works too, and the next click clears it.
    key(dock, Qt.Key.Key_M, ALT)
    click(dock, 340, high)
    click(dock, 300, low)
    assert tools.measuring and tools.measurement.bars == -40
    click(dock, 320, low)
    assert not tools.measuring


def test_measure_figures():
    start = Anchor(0, 3600.0)
    end = Anchor(90 * 60 * 10**9 + 5 * 10**9, 3575.5)
    result = measure(start, end, 90, 0.5)
    assert result.text() == "-24.5  -49 ticks  -0.68%\n+90 bars, 1h 30m"
    assert measure(start, Anchor(3 * 86400 * 10**9, 3600.0), 3, None).text() == \
        "+0.00  +0.00%\n+3 bars, 3d 0h 00m"
    assert measure(Anchor(0, 0.0), Anchor(0, 1.0), 0, 1.0).percent is None


def test_the_chart_keys_win_over_the_menu_mnemonics_only_in_the_chart(qtbot, chart):
    """Alt+T is the Trading menu's mnemonic: in the chart it is the trend tool."""
    _, window, dock = chart
    window.activateWindow()
    dock.chart.graphics.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dock.chart.graphics, timeout=WAIT)
    key(dock, Qt.Key.Key_T, ALT)
    assert dock.drawing_tools.tool == "trend"
    assert window.menu_bar.activeAction() is None
    key(dock, Qt.Key.Key_Escape)
    # A tool's key changed in the settings applies at once; Alt+T is the menu's again.
    window.app_settings.shortcuts = {"chart.draw_trend": "Alt+Shift+T"}
    key(dock, Qt.Key.Key_T, ALT)
    assert dock.drawing_tools.tool == ""
    popup = QApplication.activePopupWidget()
    assert popup is not None and popup.title() == "&Trading"
    popup.close()
    key(dock, Qt.Key.Key_T, ALT | Qt.KeyboardModifier.ShiftModifier)
    assert dock.drawing_tools.tool == "trend"
    dock.drawing_toolbar.refresh_keys()
    assert "Alt+Shift+T" in dock.drawing_toolbar.tool_actions["trend"].toolTip()


def test_remove_all_asks_and_is_one_undo_step(qtbot, chart):
    runtime, _, dock = chart
    price = mid_price(dock)
    for bar in (300, 310, 320):
        book(runtime).add(new_drawing("hline", [Anchor(time_of(dock, bar), price + bar)],
                                      locked=bar == 320))
    box = dock.drawing_tools.remove_all()
    assert isinstance(box, QMessageBox) and "the 1 locked ones too" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert len(book(runtime)) == 3
    box = dock.drawing_tools.remove_all()
    box.button(QMessageBox.StandardButton.Yes).click()
    assert len(book(runtime)) == 0
    key(dock, Qt.Key.Key_Z, CTRL)
    assert len(book(runtime)) == 3


def test_a_press_near_a_line_selects_it_and_the_toolbar_menu_lists_the_commands(qtbot, chart):
    runtime, _, dock = chart
    price = mid_price(dock)
    level = new_drawing("hline", [Anchor(time_of(dock, 300), price)])
    book(runtime).add(level)
    box = dock.chart.price.getViewBox()
    per_pixel = abs(box.mapSceneToView(QPointF(0, 0)).y() - box.mapSceneToView(QPointF(0, 1)).y())
    viewport = dock.chart.graphics.viewport()
    move(dock, 330, price + (HIT_PIXELS - 2) * per_pixel)        # the cursor says it is there
    qtbot.waitUntil(lambda: viewport.cursor().shape() == Qt.CursorShape.PointingHandCursor,
                    timeout=WAIT)
    click(dock, 330, price + (HIT_PIXELS - 2) * per_pixel)
    assert dock.drawing_layer.selected == level.id
    move(dock, 330, price + (HIT_PIXELS + 15) * per_pixel)
    qtbot.waitUntil(lambda: viewport.cursor().shape() == Qt.CursorShape.ArrowCursor,
                    timeout=WAIT)
    click(dock, 330, price + (HIT_PIXELS + 15) * per_pixel)
    assert dock.drawing_layer.selected is None
    toolbar = dock.drawing_toolbar
    toolbar._fill_menu()
    texts = [a.text().split("\t")[0] for a in toolbar.menu.actions()]
    assert "Extended line" in texts and "Measure" in texts
    assert f"Remove all drawings of {SYMBOL}…" in texts
    undo = next(a for a in toolbar.menu.actions() if a.text().startswith("Undo"))
    assert undo.isEnabled()
    assert "<b>Ctrl+Z</b> undo" in toolbar.menu_button.toolTip()
