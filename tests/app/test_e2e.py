"""The whole terminal on a temporary data directory: quotes, orders from the ticket, fills,
positions, rejections, cancels, closing, and the layout across restarts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from vnpy.trader.constant import Direction, OrderType, Status

from tests.helpers import EventCounter, next_quotes
from tests.helpers.gui import RB, WAIT, fill_ticket, marketable_buy_price, wait_for_quotes

def test_quotes_order_fill_and_position(qtbot, terminal):
    runtime, window = terminal
    qtbot.waitUntil(lambda: window.market_watch.model.rowCount() == 24, timeout=WAIT)

    ticket = fill_ticket(window, price=marketable_buy_price(runtime), volume="2")
    qtbot.mouseClick(ticket.buy_button, Qt.MouseButton.LeftButton)
    assert ticket.error_label.text() == ""

    trades, positions = window.trades.model, window.positions.model
    qtbot.waitUntil(lambda: sum(t.volume for t in trades.records()) == 2, timeout=WAIT)
    assert all(t.direction == Direction.LONG and t.vt_symbol == RB for t in trades.records())
    qtbot.waitUntil(lambda: positions.find(f"SIM.{RB}.{Direction.LONG.value}") is not None,
                    timeout=WAIT)
    position = positions.find(f"SIM.{RB}.{Direction.LONG.value}")
    assert position.volume == 2
    order = window.orders.model.records()[0]
    assert order.status == Status.ALLTRADED
    qtbot.waitUntil(lambda: window.widget("account").model.rowCount() == 1, timeout=WAIT)
    account = window.widget("account").model.record(0)
    assert (account.extra or {}).get("commission", 0) > 0

    # close it from the positions dock
    window.positions.view.selectRow(0)
    sent = window.positions.close_selected()
    assert sent
    qtbot.waitUntil(lambda: positions.rowCount() == 0, timeout=WAIT)


def test_rejected_order_shows_its_reason(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window, "IF2612.CFFEX")
    ticket = fill_ticket(window, "IF2612.CFFEX",
                         price=marketable_buy_price(runtime, "IF2612.CFFEX"), volume="20")
    vt_orderid = ticket.buy()
    assert vt_orderid
    orders = window.orders.model
    qtbot.waitUntil(
        lambda: orders.find(vt_orderid) is not None
        and orders.find(vt_orderid).status == Status.REJECTED, timeout=WAIT,
    )
    reason_column = [c.title for c in orders.columns].index("Reason")
    text = orders.data(orders.index(orders.row_of(vt_orderid), reason_column))
    # The risk gate stops it first (20 lots of IF is some 25 million CNY) ...
    assert text.startswith("risk max_order_notional: order value")
    # ... and without the gate the simulated exchange refuses it for want of funds.
    runtime.risk.guard.enabled = False
    vt_orderid = ticket.buy()
    qtbot.waitUntil(
        lambda: orders.find(vt_orderid) is not None
        and orders.find(vt_orderid).status == Status.REJECTED, timeout=WAIT,
    )
    text = orders.data(orders.index(orders.row_of(vt_orderid), reason_column))
    assert "not enough available funds" in text


def test_invalid_ticket_shows_the_field_error_and_sends_nothing(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    ticket = fill_ticket(window, price="3250.5", volume="0")
    qtbot.mouseClick(ticket.buy_button, Qt.MouseButton.LeftButton)
    assert "not a multiple of the tick" in ticket.error_label.text()
    assert "whole number" in ticket.error_label.text()
    assert ticket.price_edit.toolTip() and ticket.volume_edit.toolTip()
    ticket.symbol_box.setCurrentText("nosuch.SHFE")
    ticket.price_edit.setText("100")
    ticket.volume_edit.setText("1")
    assert ticket.sell() is None
    assert "unknown symbol" in ticket.error_label.text()
    qtbot.wait(300)
    assert runtime.trading.orders_sent == 0
    assert window.orders.model.rowCount() == 0
    assert runtime.kernel.main_engine.get_all_orders() == []


def test_cancel_from_the_orders_table_and_working_filter(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    tick = runtime.kernel.main_engine.get_tick(RB)
    passive = f"{tick.bid_price_1 - 50:.0f}"
    ticket = fill_ticket(window, price=passive)
    first = ticket.buy()
    ticket.price_edit.setText(f"{tick.bid_price_1 - 51:.0f}")  # the same order again is a duplicate
    second = ticket.buy()
    orders = window.orders.model
    qtbot.waitUntil(lambda: all(orders.find(o) is not None
                                and orders.find(o).status == Status.NOTTRADED
                                for o in (first, second)), timeout=WAIT)
    window.orders.show_working_only(True)
    assert orders.rowCount() == 2
    window.orders.view.selectRow(orders.row_of(first))
    assert window.orders.cancel_selected() == 1
    # cancelled leaves the working view
    qtbot.waitUntil(lambda: orders.rowCount() == 1, timeout=WAIT)
    assert orders.record(0).vt_orderid == second
    qtbot.keyClick(window, Qt.Key.Key_F4)  # cancel all
    qtbot.waitUntil(lambda: orders.rowCount() == 0, timeout=WAIT)
    window.orders.show_working_only(False)
    assert {o.status for o in orders.records()} == {Status.CANCELLED}


def test_double_click_in_market_watch_loads_the_ticket(qtbot, terminal):
    _runtime, window = terminal
    wait_for_quotes(qtbot, window, "au2702.SHFE")
    model = window.market_watch.model
    index = model.index(model.row_of("au2702.SHFE"), 0)
    window.market_watch.view.doubleClicked.emit(index)
    assert window.ticket.vt_symbol == "au2702.SHFE"
    qtbot.waitUntil(lambda: window.ticket.depth.item(4, 1).text() != "", timeout=WAIT)
    assert window.ticket.price_edit.text()


def test_sorting_keeps_rows_updating_in_place(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    view = window.market_watch.view
    view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    model = window.market_watch.model
    symbols = [model.record(r).vt_symbol for r in range(model.rowCount())]
    assert symbols == sorted(symbols, reverse=True)
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    next_quotes(runtime, 2)
    book = runtime.kernel.main_engine.get_gateway("SIM").exchange.books[RB]
    qtbot.waitUntil(lambda: model.find(RB).datetime == book.datetime, timeout=WAIT)
    assert resets == []
    symbols = [model.record(r).vt_symbol for r in range(model.rowCount())]
    assert symbols == sorted(symbols, reverse=True)


def test_failing_gui_consumer_is_reported_and_others_keep_updating(qtbot, terminal):
    runtime, window = terminal
    calls = []

    def broken(batch):
        calls.append(1)
        raise RuntimeError("broken view")

    window.pump._consumers.insert(0, broken)
    wait_for_quotes(qtbot, window)
    for _ in range(4):                        # each round of quotes is a batch or more
        called = len(calls)
        next_quotes(runtime)
        qtbot.waitUntil(lambda called=called: len(calls) > called, timeout=WAIT)
    assert window.pump.consumer_errors >= 4
    book = runtime.kernel.main_engine.get_gateway("SIM").exchange.books[RB]
    qtbot.waitUntil(lambda: window.market_watch.model.find(RB).datetime == book.datetime,
                    timeout=WAIT)            # the consumers after it still update
    assert "handler error" in window.status_bar.errors_label.text()
    messages = [r.message for r in window.log_view.model.records()]
    assert any("broken view" in m for m in messages)


def test_raising_engine_handler_is_reported_and_quotes_keep_coming(qtbot, terminal):
    runtime, window = terminal
    from vnpy.trader.event import EVENT_TICK

    def broken(event):
        raise KeyError("strategy bug")

    runtime.kernel.event_engine.register(EVENT_TICK, broken)
    next_quotes(runtime)                      # 24 ticks, each raising in `broken`
    qtbot.waitUntil(lambda: runtime.kernel.event_engine.handler_errors > 3, timeout=WAIT)
    before = window.pump.tick_events
    next_quotes(runtime)
    qtbot.waitUntil(lambda: window.pump.tick_events > before + 5, timeout=WAIT)
    qtbot.waitUntil(
        lambda: any("strategy bug" in r.message for r in window.log_view.model.records()),
        timeout=WAIT,
    )


def test_layout_survives_a_restart_and_can_be_reset(qtbot, data_dir):
    from terminal.app.main import start

    runtime, window = start(data_dir)
    qtbot.addWidget(window)
    window.docks["trades"].close()
    window.docks["log"].setFloating(True)
    qtbot.addWidget(window.docks["log"])    # floating, a window of its own: closed after the test
    window.close()
    runtime.close()
    assert (data_dir / "layout.ini").exists()

    runtime, window = start(data_dir)
    qtbot.addWidget(window)
    try:
        qtbot.waitExposed(window)
        assert window.docks["trades"].isHidden()
        assert window.docks["log"].isFloating()
        assert not window.docks["orders"].isHidden()
        window.menu_bar.reset_layout_action.trigger()
        assert not window.docks["trades"].isHidden()
        assert not window.docks["log"].isFloating()
    finally:
        window.close()
        runtime.close()


def test_flatten_symbol_cancels_and_closes(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window, "m2705.DCE")
    ticket = fill_ticket(window, "m2705.DCE", price=marketable_buy_price(runtime, "m2705.DCE"),
                         volume="3")
    ticket.buy()
    tick = runtime.kernel.main_engine.get_tick("m2705.DCE")
    ticket.price_edit.setText(f"{tick.bid_price_1 - 30:.0f}")
    ticket.buy()
    positions = window.positions.model
    qtbot.waitUntil(lambda: positions.rowCount() == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: len(runtime.trading.working_orders("m2705.DCE")) == 1, timeout=WAIT)
    qtbot.mouseClick(ticket.flatten_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: positions.rowCount() == 0, timeout=WAIT)
    assert runtime.trading.working_orders("m2705.DCE") == []
    assert "1 cancel(s), 1 closing order(s)" in ticket.status_label.text()


def test_market_orders_take_no_price(qtbot, terminal):
    _runtime, window = terminal
    ticket = window.ticket
    ticket.type_box.setCurrentIndex(ticket.type_box.findData(OrderType.MARKET))
    assert not ticket.price_edit.isEnabled()
    ticket.type_box.setCurrentIndex(ticket.type_box.findData(OrderType.STOP))
    assert ticket.price_edit.isEnabled()


def test_terminal_warnings_reach_the_log_dock(qtbot, terminal):
    import logging

    _runtime, window = terminal
    logging.getLogger("terminal.test").warning("margin call at %s", "10:00")
    qtbot.waitUntil(
        lambda: any(r.message == "margin call at 10:00" and r.level == "WARNING"
                    for r in window.log_view.model.records()),
        timeout=WAIT,
    )


def test_a_field_that_changes_repaints_itself_not_its_dock(qtbot, terminal):
    """The ticket's price field changes with every order sent; a paint of the dock under it
    drew the dock's title with the Fusion style, which loads its icons from file each time."""
    from PySide6.QtCore import QEvent

    _runtime, window = terminal
    wait_for_quotes(qtbot, window)
    ticket, dock = window.ticket, window.docks["order_ticket"]
    qtbot.wait(100)                                   # start-up paints done
    paints = EventCounter([ticket.price_edit, dock], QEvent.Type.Paint)
    for step in range(10):
        ticket.price_edit.setText(f"{3000 + step}")
        qtbot.wait(5)
    assert ticket.price_edit in paints.seen
    assert dock not in paints.seen


def test_orders_sent_fast_do_not_lay_the_ticket_out_again(qtbot, terminal):
    """The ticket says "Sent <id>" at every order: as a QLabel that re-laid out the ticket
    and the whole main window, about 150 times a second at 500 orders/s."""
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    contract = runtime.trading.contract(RB)
    bid = runtime.kernel.main_engine.get_tick(RB).bid_price_1
    ticket = fill_ticket(window, price=f"{bid - 200 * contract.pricetick:.1f}")
    qtbot.wait(100)                                   # start-up layouts done
    layouts = EventCounter([ticket, ticket.parentWidget()])
    for step in range(20):                            # no two alike: the duplicate guard
        ticket.price_edit.setText(f"{bid - (200 + step) * contract.pricetick:.1f}")
        vt_orderid = ticket.buy()
        assert vt_orderid, ticket.error_label.text()
        qtbot.wait(2)
    assert ticket.status_label.text() == f"Sent {vt_orderid}"
    assert layouts.seen == []
