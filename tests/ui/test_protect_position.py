"""Protect a position from the Positions dock: a local stop and a target at the exchange as
one OCO group; a stop on the wrong side of the market is refused in the dialog."""

from __future__ import annotations

from vnpy.trader.constant import Direction

from tests.helpers.gui import RB, WAIT, fill_ticket, marketable_buy_price, wait_for_quotes


def test_protect_places_a_local_stop_and_a_target_as_one_oco_group(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window, RB)
    fill_ticket(window, price=marketable_buy_price(runtime), volume="2").buy()
    window.show_dock("positions")
    dock = window.widget("positions")
    qtbot.waitUntil(lambda: dock.model.rowCount() == 1, timeout=WAIT)
    dock.view.selectRow(0)
    dialog = dock.protect_dialog()
    last = runtime.kernel.main_engine.get_tick(RB).last_price
    dialog.stop_box.setValue(last + 5)                        # above a long's market
    assert not dialog.place() and "must be below the last price" in dialog.error.text()
    assert runtime.managed.views() == []
    dialog.stop_box.setValue(last - 8)
    dialog.target_box.setValue(last + 8)
    assert dialog.place()
    views = {v.role: v for v in runtime.managed.views()}
    assert (views["oco 1"].kind, views["oco 1"].where, views["oco 1"].volume) == \
        ("stop", "local", 2)
    assert views["oco 1"].direction == Direction.SHORT and views["oco 1"].price == last - 8
    def limit():
        return next(v for v in runtime.managed.views() if v.role == "oco 2")

    qtbot.waitUntil(lambda: limit().state == "working", timeout=WAIT)
    assert limit().where == "at the exchange"
    engine = runtime.kernel.main_engine       # knows the order once its report is dispatched
    qtbot.waitUntil(lambda: engine.get_order(limit().vt_orderid) is not None, timeout=WAIT)
    target = engine.get_order(limit().vt_orderid)
    assert (target.price, target.volume, target.direction) == (last + 8, 2, Direction.SHORT)
    dialog.close()
