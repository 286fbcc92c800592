"""The Stops and brackets dock: a managed order shows where it lives and its state, moves
through the risk gate (a refusal is said and changes nothing) and cancels from the table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from vnpy.trader.constant import Direction

from tests.helpers.gui import RB, WAIT, wait_for_quotes


def test_a_local_stop_shows_moves_through_the_gate_and_cancels(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window, RB)
    window.show_dock("managed_orders")
    dock = window.widget("managed_orders")
    last = runtime.kernel.main_engine.get_tick(RB).last_price
    group = runtime.managed.place_stop(RB, Direction.SHORT, 1, last - 10)
    qtbot.waitUntil(lambda: dock.model.find(f"{group}.stoporder") is not None, timeout=WAIT)
    view = dock.model.find(f"{group}.stoporder")
    row = dock.model.row_of(view.id)
    shown = {dock.model.headerData(c, Qt.Orientation.Horizontal): dock.model.index(row, c).data()
             for c in range(dock.model.columnCount())}
    assert (shown["Where"], shown["State"], shown["Order"]) == ("local", "armed", "stop order")

    assert not dock.move(view.id, round(last * 0.5))            # beyond the price band
    assert "price_band" in dock.message.text()
    assert runtime.managed.views()[0].price == last - 10        # unchanged
    assert dock.move(view.id, last - 12) and not dock.message.text()
    qtbot.waitUntil(lambda: dock.model.find(view.id).price == last - 12, timeout=WAIT)

    dock.view.selectRow(row)
    assert dock.cancel_selected() == 1
    qtbot.waitUntil(lambda: dock.model.find(view.id) is None, timeout=WAIT)   # ended: hidden
    dock.filter_box.setCurrentIndex(1)
    assert dock.model.find(view.id).state == "cancelled"
    assert runtime.managed.views() == []
