"""The price ladder dock in the running terminal: clicks become orders through the risk gate,
refusals are said and send nothing, own orders cancel and move, the rows recentre, the dock
joins link groups and keeps its settings, and ticks are drawn at the paced rate."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from vnpy.trader.constant import Direction, Status

from tests.helpers import Submissions, drained
from tests.helpers.gui import RB, WAIT, wait_for_quotes


def open_ladder(qtbot, runtime, window, symbol=RB):
    wait_for_quotes(qtbot, window, symbol)
    window.show_dock("ladder")
    ladder = window.widget("ladder")
    ladder.load_symbol(symbol)
    qtbot.waitUntil(lambda: ladder.book.ladder.centre is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: ladder.view.isVisible() and ladder.view.height() > 200,
                    timeout=WAIT)
    return ladder


def row_of(ladder, price: float) -> int:
    from terminal.market.ladder import tick_index

    row = ladder.book.ladder.row_of(tick_index(price, ladder.book.pricetick))
    assert row is not None, f"{price} is not on the ladder"
    return row


def click(qtbot, ladder, row: int, column: str, button=Qt.MouseButton.LeftButton) -> None:
    centre = ladder.view.cell_rect(row, column).center()
    qtbot.mouseClick(ladder.view, button, pos=centre)


def drag(qtbot, ladder, from_row: int, to_row: int, column: str) -> None:
    """Press on a cell, move over another row (through the middle), release there."""
    view = ladder.view
    start = view.cell_rect(from_row, column).center()
    end = view.cell_rect(to_row, column).center()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for point in (QPoint(start.x(), (start.y() + end.y()) // 2), end):
        QApplication.sendEvent(view, QMouseEvent(
            QEvent.Type.MouseMove, QPointF(point), QPointF(view.mapToGlobal(point)),
            Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)


def resting_price(runtime, ladder, direction: Direction, ticks: int = 3) -> float:
    """A price `ticks` away from the touch on the passive side: it rests, nothing fills."""
    tick = runtime.kernel.main_engine.get_tick(ladder.vt_symbol)
    step = ladder.book.pricetick
    if direction == Direction.LONG:
        return round(tick.bid_price_1 - ticks * step, 6)
    return round(tick.ask_price_1 + ticks * step, 6)


def test_clicking_the_bid_column_sends_a_buy_limit_through_the_gate(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    reached = Submissions(runtime.kernel.main_engine.get_gateway("SIM"))
    price = resting_price(runtime, ladder, Direction.LONG)
    click(qtbot, ladder, row_of(ladder, price), "bid")
    qtbot.waitUntil(lambda: len(reached.requests) == 1, timeout=WAIT)
    (req,) = reached.requests
    assert (req.direction, req.price, req.volume) == (Direction.LONG, price, 1)
    # Its order shows in the own buys column of that row.
    qtbot.waitUntil(lambda: bool(ladder.book.row(row_of(ladder, price)).buys), timeout=WAIT)
    assert not ladder.error_label.text()


def test_clicking_the_ask_column_sends_a_sell_limit(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    reached = Submissions(runtime.kernel.main_engine.get_gateway("SIM"))
    ladder.quantity_buttons.button(5).click()
    price = resting_price(runtime, ladder, Direction.SHORT)
    click(qtbot, ladder, row_of(ladder, price), "ask")
    qtbot.waitUntil(lambda: len(reached.requests) == 1, timeout=WAIT)
    (req,) = reached.requests
    assert (req.direction, req.price, req.volume) == (Direction.SHORT, price, 5)


def test_a_denied_order_says_why_and_sends_nothing(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    config = runtime.risk.config
    runtime.risk.apply(replace(config, global_limits=replace(config.global_limits,
                                                             max_order_volume=3)))
    reached = Submissions(runtime.kernel.main_engine.get_gateway("SIM"))
    ladder.quantity.setValue(4)
    price = resting_price(runtime, ladder, Direction.LONG)
    row = row_of(ladder, price)
    click(qtbot, ladder, row, "bid")
    qtbot.waitUntil(lambda: "max_order_volume" in ladder.error_label.text(), timeout=WAIT)
    drained(runtime.kernel.event_engine)
    assert reached.requests == []
    assert not any(o.is_active() for o in runtime.trading.working_orders(RB))
    assert not ladder.book.row(row).buys


def test_clicking_an_own_order_cancels_it(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    price = resting_price(runtime, ladder, Direction.SHORT)
    row = row_of(ladder, price)
    click(qtbot, ladder, row, "sells")            # an empty own-sells cell sells too
    qtbot.waitUntil(lambda: bool(ladder.book.row(row).sells), timeout=WAIT)
    (working,) = runtime.trading.working_orders(RB)
    assert (working.direction, working.price) == (Direction.SHORT, price)
    click(qtbot, ladder, row, "sells")
    qtbot.waitUntil(lambda: not ladder.book.row(row).sells, timeout=WAIT)
    engine = runtime.kernel.main_engine
    assert engine.get_order(working.vt_orderid).status == Status.CANCELLED


def test_space_recentres_on_the_last_price_and_the_ladder_follows_the_market(qtbot,
                                                                             terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    book = ladder.book
    centre = book.ladder.centre
    ladder.view.scrolled.emit(book.ladder.rows)   # the trader scrolled a page up
    assert book.ladder.centre == centre + book.ladder.rows
    ladder.view.setFocus()
    qtbot.keyClick(ladder.view, Qt.Key.Key_Space)
    assert book.ladder.centre == book.last_index
    # A last price beyond the middle band moves the rows by itself.
    tick = copy_tick(runtime, last_ticks=book.ladder.rows)
    ladder.apply(batch_of(tick))
    assert book.ladder.centre == book.last_index == centre + book.ladder.rows


def copy_tick(runtime, last_ticks: int = 0, volume: float = 0.0):
    import copy

    tick = copy.copy(runtime.kernel.main_engine.get_tick(RB))
    pricetick = runtime.trading.contract(RB).pricetick
    tick.last_price = round(tick.last_price + last_ticks * pricetick, 6)
    tick.volume += volume
    return tick


def batch_of(tick):
    from terminal.core.bridge import Batch

    return Batch(ticks={tick.vt_symbol: tick}, tick_events=1)


def test_the_ladder_joins_link_groups(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    other = "hc2701.SHFE"
    ladder.link_button.choose("red")
    window.ticket.link_button.choose("red")
    window.ticket.load_symbol(other)               # chosen in the ticket: the ladder follows
    assert ladder.vt_symbol == other
    ladder.symbol_box.setCurrentText(RB)           # chosen in the ladder: the ticket follows
    ladder.symbol_box.lineEdit().returnPressed.emit()
    assert ladder.vt_symbol == RB and window.ticket.vt_symbol == RB


def test_the_ladder_keeps_its_symbol_quantity_and_template_in_the_layout(qtbot, terminal,
                                                                         tmp_path):
    from PySide6.QtCore import QSettings

    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window, "hc2701.SHFE")
    ladder.quantity.setValue(7)
    saved = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    window.save_layout(saved)
    ladder.load_symbol(RB)
    ladder.quantity.setValue(1)
    window.restore_layout(saved)
    assert (ladder.vt_symbol, ladder.lots) == ("hc2701.SHFE", 7)
    assert ladder.quantity_buttons.checkedButton() is None    # 7 has no button


def test_ticks_are_drawn_at_the_paced_rate_not_per_tick(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    qtbot.waitUntil(lambda: not ladder.paints.pending and ladder.view.paints > 0,
                    timeout=WAIT)
    shows, paints = ladder.shows, ladder.view.paints
    for step in range(200):
        ladder.apply(batch_of(copy_tick(runtime, volume=step + 1)))
    assert ladder.shows == shows and ladder.view.paints == paints   # none inside the turn
    assert ladder.paints.pending
    qtbot.waitUntil(lambda: not ladder.paints.pending, timeout=WAIT)
    assert ladder.shows == shows + 1           # one paint asked for the whole burst
    qtbot.waitUntil(lambda: ladder.view.paints > paints, timeout=WAIT)
    assert ladder.view.paints - paints < 5     # not 200 (the window may paint it once more)
    assert ladder.book.volume.total == 200     # every tick counted all the same


def test_volume_at_price_is_seeded_from_todays_stored_bars(qtbot, terminal):
    from vnpy.trader.constant import Exchange, Interval
    from vnpy.trader.object import BarData

    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    from terminal.core.trading_day import trading_day

    tick = runtime.kernel.main_engine.get_tick(RB)
    minute = tick.datetime.replace(second=0, microsecond=0)
    today = [minute + timedelta(minutes=m) for m in (-2, -1, 1, 2)
             if trading_day(minute + timedelta(minutes=m)) == trading_day(tick.datetime)]
    bars = [BarData("SIM", "rb2701", Exchange.SHFE, start, Interval.MINUTE, volume=90,
                    open_price=3000, high_price=3002, low_price=3000, close_price=3001)
            for start in today[:2]]
    runtime.store.save_bars(bars)
    ladder = open_ladder(qtbot, runtime, window)
    qtbot.waitUntil(lambda: ladder.book.volume.total == 180, timeout=WAIT)
    assert ladder.book.volume.at(3001) == 60


def test_right_click_above_the_market_in_the_ask_column_arms_a_local_buy_stop(qtbot,
                                                                               terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    reached = Submissions(runtime.kernel.main_engine.get_gateway("SIM"))
    trigger = resting_price(runtime, ladder, Direction.SHORT, ticks=4)
    row = row_of(ladder, trigger)
    click(qtbot, ladder, row, "ask", Qt.MouseButton.RightButton)
    (view,) = runtime.managed.views(RB)
    assert (view.direction, view.price, view.volume, view.where) == \
        (Direction.LONG, trigger, 1, "local")
    qtbot.waitUntil(lambda: bool(ladder.book.row(row).buys), timeout=WAIT)
    (shown,) = ladder.book.row(row).buys
    assert shown.is_stop and shown.is_local
    drained(runtime.kernel.event_engine)
    assert reached.requests == []                 # it waits in the terminal
    # Clicking it cancels it.
    click(qtbot, ladder, row, "buys")
    assert runtime.managed.views(RB) == []
    qtbot.waitUntil(lambda: not ladder.book.row(row).buys, timeout=WAIT)


def test_a_sell_stop_under_a_long_position_protects_it_and_one_above_is_refused(qtbot,
                                                                                terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    ladder.quantity.setValue(2)
    tick = runtime.kernel.main_engine.get_tick(RB)
    ladder.place_limit(Direction.LONG, tick.ask_price_1 + 2 * ladder.book.pricetick)
    qtbot.waitUntil(lambda: ladder.summary.net == 2, timeout=WAIT)
    header = ladder.position_line.text()        # from the batch's position report
    assert header.startswith("Long 2 @") and " CNY · " in header and "tick" in header
    trigger = resting_price(runtime, ladder, Direction.LONG, ticks=5)
    asked = []
    place_stop = runtime.managed.place_stop

    def spied(*args, **kwargs):
        asked.append(kwargs)
        return place_stop(*args, **kwargs)

    runtime.managed.place_stop = spied
    click(qtbot, ladder, row_of(ladder, trigger), "bid", Qt.MouseButton.RightButton)
    assert asked[0]["close_only"] is True and asked[0]["template"] is None
    assert "protective" in ladder.status_line.text()
    (view,) = runtime.managed.views(RB)
    assert (view.direction, view.price, view.volume) == (Direction.SHORT, trigger, 2)
    # A sell stop above the market would fire at once: refused on the cell, nothing armed.
    above = resting_price(runtime, ladder, Direction.SHORT, ticks=3)
    row = row_of(ladder, above)
    click(qtbot, ladder, row, "bid", Qt.MouseButton.RightButton)
    assert "sell stop goes below the market" in ladder.error_label.text()
    assert ladder.view.flashing[:2] == (row, "bid")
    assert len(runtime.managed.views(RB)) == 1


def test_dragging_an_own_order_moves_it_through_the_gate(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    engine = runtime.kernel.main_engine
    reached = Submissions(engine.get_gateway("SIM"))
    price = resting_price(runtime, ladder, Direction.LONG)
    row = row_of(ladder, price)
    click(qtbot, ladder, row, "bid")
    qtbot.waitUntil(lambda: bool(ladder.book.row(row).buys), timeout=WAIT)
    (first,) = runtime.trading.working_orders(RB)
    drag(qtbot, ladder, row, row + 2, "buys")     # two ticks lower
    lower = round(price - 2 * ladder.book.pricetick, 6)
    qtbot.waitUntil(lambda: len(reached.requests) == 2, timeout=WAIT)
    assert (reached.requests[1].price, reached.requests[1].volume) == (lower, 1)
    assert engine.get_order(first.vt_orderid).status == Status.CANCELLED
    qtbot.waitUntil(lambda: bool(ladder.book.row(row + 2).buys)
                    and not ladder.book.row(row).buys, timeout=WAIT)
    assert not ladder.error_label.text()


def test_a_denied_drag_snaps_back_and_says_why(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    engine = runtime.kernel.main_engine
    reached = Submissions(engine.get_gateway("SIM"))
    ladder.quantity.setValue(3)
    price = resting_price(runtime, ladder, Direction.SHORT)
    row = row_of(ladder, price)
    click(qtbot, ladder, row, "ask")
    qtbot.waitUntil(lambda: bool(ladder.book.row(row).sells), timeout=WAIT)
    config = runtime.risk.config
    runtime.risk.apply(replace(config, global_limits=replace(config.global_limits,
                                                             max_order_volume=2)))
    drag(qtbot, ladder, row, row - 1, "sells")
    assert "max_order_volume" in ladder.error_label.text()
    assert ladder.view.flashing[:2] == (row, "sells")
    assert "max_order_volume" in ladder.view.flashing[2]
    drained(runtime.kernel.event_engine)
    assert len(reached.requests) == 1             # no replacement, and no cancel either
    (working,) = runtime.trading.working_orders(RB)
    assert working.price == price and working.status == Status.NOTTRADED
    assert ladder.book.row(row).sells and not ladder.book.row(row - 1).sells


def test_a_drag_let_go_back_on_its_own_row_leaves_the_order_alone(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    price = resting_price(runtime, ladder, Direction.LONG)
    row = row_of(ladder, price)
    click(qtbot, ladder, row, "bid")
    qtbot.waitUntil(lambda: bool(ladder.book.row(row).buys), timeout=WAIT)
    (order,) = runtime.trading.working_orders(RB)
    view = ladder.view
    start = view.cell_rect(row, "buys").center()
    away = view.cell_rect(row + 3, "buys").center()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for point in (away, start):                  # there and back: the trader changed mind
        QApplication.sendEvent(view, QMouseEvent(
            QEvent.Type.MouseMove, QPointF(point), QPointF(view.mapToGlobal(point)),
            Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=start)
    drained(runtime.kernel.event_engine)
    assert runtime.kernel.main_engine.get_order(order.vt_orderid).is_active()
    assert [o.vt_orderid for o in runtime.trading.working_orders(RB)] == [order.vt_orderid]


def test_flatten_on_the_ladder_cancels_each_order_once(qtbot, terminal):
    runtime, window = terminal
    ladder = open_ladder(qtbot, runtime, window)
    engine = runtime.kernel.main_engine
    price = resting_price(runtime, ladder, Direction.LONG)
    click(qtbot, ladder, row_of(ladder, price), "bid")
    qtbot.waitUntil(lambda: len(runtime.trading.working_orders(RB)) == 1, timeout=WAIT)
    cancels = []
    cancel = engine.cancel_order
    engine.cancel_order = lambda req, name: (cancels.append(req.orderid), cancel(req, name))
    try:
        ladder.flatten()
    finally:
        del engine.cancel_order
    assert len(cancels) == 1


def test_a_symbol_restored_before_its_gateway_connects_loads_when_it_does(qtbot, terminal):
    from terminal.core.bridge import Batch
    from terminal.ui.docks.ladder import LadderDock

    runtime, window = terminal
    wait_for_quotes(qtbot, window, RB)
    ladder = LadderDock(runtime.trading, runtime.managed, runtime.order_templates,
                        runtime.store)
    qtbot.addWidget(ladder)
    contract = runtime.trading.contract("hc2701.SHFE")
    ladder.trading = type("NotConnected", (), {"contract": lambda self, vt: None})()
    ladder.restore({"symbol": "hc2701.SHFE", "quantity": 3})   # the layout, before connect
    assert ladder.vt_symbol == "" and not ladder.error_label.text()
    ladder.trading = runtime.trading
    ladder.apply(Batch(contracts={"hc2701.SHFE": contract}))   # the gateway reports it
    assert ladder.vt_symbol == "hc2701.SHFE" and ladder.lots == 3


def test_the_volume_bars_scale_steps_1_2_5_so_the_column_is_not_redrawn_every_tick():
    from terminal.ui.ladder_view import bar_scale

    assert [bar_scale(v) for v in (0, 1, 1.5, 2, 3, 7, 10, 12, 60_000)] == \
        [0.0, 1.0, 2.0, 2.0, 5.0, 10.0, 10.0, 20.0, 100_000.0]
