"""Hostile review of the managed orders' rules (issue 19), on the strict simulated exchange:
each test is a way real money could get hurt that the engine once allowed; each now
guards its fix."""

from __future__ import annotations

import threading

from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.object import OrderRequest

from terminal.core.alerts import EVENT_ALERT, SEVERE
from terminal.orders.book import ManagedBook
from terminal.orders.manager import ManagedOrders
from terminal.orders.templates import BracketTemplate, Target
from tests.helpers.fake_exchange import SYMBOL, VT, FakeBroker, FakeExchange

LONG, SHORT = Direction.LONG, Direction.SHORT


def market(tmp_path, position: float = 0.0, broker=FakeBroker, book: str = "managed.db"):
    x = FakeExchange(last=3000.0)
    x.tick(0)
    events: list = []
    engine = ManagedOrders(broker(x), ManagedBook(tmp_path / book),
                           lambda kind, data: events.append((kind, data)))
    x.handlers = engine
    if position:
        x.truth.volume[LONG] = position
        x._emit_position()
    x.deliver()
    return x, engine, events


def roles(engine) -> dict:
    return {view.role: view for view in engine.views(VT)}


def move_to(x: FakeExchange, price: float) -> None:
    x.tick(int(price - x.last))
    x.deliver()


def own_order(x: FakeExchange, direction, offset, volume, price) -> str:
    """An order of the trader's own, outside any managed group (the ticket, a strategy)."""
    vt_orderid = x.accept(OrderRequest(SYMBOL, x.contract.exchange, direction,
                                       OrderType.LIMIT, volume, price, offset, "own"))
    x.deliver()
    return vt_orderid


def filled_long_bracket(x, engine, template, volume):
    group = engine.place_bracket(VT, LONG, volume, None, template)
    x.deliver()
    (entry,) = [v for v, o in x.orders.items() if o.reference == f"{group}.entry#1"]
    x.fill(entry, volume, trade_first=False)
    x.deliver()
    return group, x.orders[entry].price


def assert_one_lot_protected(x: FakeExchange, engine: ManagedOrders) -> None:
    assert x.truth.volume[LONG] == 1
    stop = roles(engine).get("stop")
    assert stop is not None and (stop.state, stop.volume) == ("armed", 1), \
        f"one lot held with no stop armed for it: {engine.views(VT)}"


def severe(events) -> list:
    return [e for kind, e in events if kind == EVENT_ALERT and e.severity == SEVERE]


def test_a_stop_entry_bracket_sends_nothing_until_its_trigger_is_crossed(tmp_path):
    x, engine, _ = market(tmp_path)
    engine.place_stop(VT, LONG, 2, 3010.0,
                      template=BracketTemplate("Break", stop_ticks=5, targets=(Target(10, 2),)))
    x.deliver()
    assert x.orders == {}, "a buy stop at 3010 with the market at 3000 sent an order"
    assert roles(engine)["entry"].where == "local"
    move_to(x, 3010.0)
    (entry,) = x.orders.values()
    assert (entry.direction, entry.offset, entry.volume) == (LONG, Offset.OPEN, 2)


def test_a_stop_whose_position_was_closed_outside_never_closes_a_later_position(tmp_path):
    x, engine, _ = market(tmp_path)
    filled_long_bracket(x, engine, BracketTemplate("T", stop_ticks=5), 1)
    fill = x.last
    closed = own_order(x, SHORT, Offset.CLOSETODAY, 1, fill)     # the ticket's close
    x.fill(closed, 1, trade_first=False)
    x.deliver()
    move_to(x, fill - 6)                    # through the stop: nothing left to close
    move_to(x, fill + 3)
    reopened = own_order(x, LONG, Offset.OPEN, 1, x.last)        # a new idea, no stop wanted
    x.fill(reopened, 1, trade_first=False)
    x.deliver()
    stale = [o for o in x.orders.values() if ".stop#" in o.reference]
    assert stale == [], f"the old bracket's stop closed the new position: {stale}"


def test_an_entry_filling_while_its_bracket_is_cancelled_is_protected_or_said(tmp_path):
    x, engine, events = market(tmp_path)
    group = engine.place_bracket(VT, LONG, 2, 2999.0,
                                 BracketTemplate("T", stop_ticks=5, targets=(Target(10, 2),)))
    x.deliver()
    assert engine.cancel(group)
    (entry,) = x.orders
    x.fill(entry, 1, trade_first=False)     # the fill races the cancel
    x.confirm_cancels()
    x.deliver()
    assert x.truth.volume[LONG] == 1
    stop = roles(engine).get("stop")
    protected = stop is not None and stop.state == "armed" and stop.volume == 1
    assert protected or [a for a in severe(events) if group in a.message], \
        "one lot is held with no stop and nothing said"


def test_moving_a_triggered_stops_order_replaces_it_at_the_new_price(tmp_path):
    x, engine, _ = market(tmp_path, position=1)
    engine.place_stop(VT, SHORT, 1, 2995.0, close_only=True)
    move_to(x, 2995.0)                      # triggered: a sell at 2990 works
    stop = roles(engine)["stop order"]
    assert engine.modify(stop.id, 2999.0)
    x.confirm_cancels()
    x.deliver()
    working = [o for o in x.orders.values() if o.is_active()]
    assert [(o.price, o.volume) for o in working] == [(2999.0, 1)]
    assert roles(engine)["stop order"].price == 2999.0


def test_cancelling_a_leg_whose_earlier_cancel_was_lost_sends_a_cancel_again(tmp_path):
    x, engine, _ = market(tmp_path)
    filled_long_bracket(x, engine, BracketTemplate("T", stop_ticks=10,
                                                   targets=(Target(20, 2),)), 2)
    target = roles(engine)["target 1"]
    assert engine.modify(target.id, target.price + 2)
    assert x.cancels == {target.vt_orderid}
    x.cancels.clear()                       # refused (CTP flow control, a broken link)
    engine.cancel(target.id)                # the trader: "then cancel it"
    assert x.cancels == {target.vt_orderid}, "the order still works; no cancel went out"


def test_a_triggered_stop_behind_a_lost_cancel_asks_again_once_the_link_is_back(tmp_path):
    x, engine, events = market(tmp_path)
    _, fill = filled_long_bracket(x, engine, BracketTemplate("T", stop_ticks=10,
                                                             targets=(Target(20, 2),)), 2)
    target = roles(engine)["target 1"].vt_orderid
    move_to(x, fill - 10)                   # the stop triggers and cancels the target first
    assert x.cancels == {target}
    x.cancels.clear()                       # that cancel is lost
    engine.on_connection("SIM", False, "trading front lost")
    engine.on_connection("SIM", True, "")
    move_to(x, fill - 20)
    assert x.cancels == {target} or severe(events), \
        "20 ticks through the stop: no cancel asked again, no close sent, nothing said"


def test_where_an_order_lives_is_local_while_nothing_is_at_the_exchange(tmp_path):
    x, engine, _ = market(tmp_path)
    engine.place_bracket(VT, LONG, 1, 2990.0,
                         BracketTemplate("T", stop_ticks=5, targets=(Target(10, 1),)))
    x.deliver()
    target = roles(engine)["target 1"]
    assert (target.state, target.vt_orderid) == ("waiting", "")
    assert target.where == "local", "a target that dies with the terminal shown at the exchange"
    x2, engine2, _ = market(tmp_path, position=1, book="second.db")
    engine2.place_stop(VT, SHORT, 1, 2995.0, close_only=True)
    own = own_order(x2, SHORT, Offset.CLOSETODAY, 1, 3050.0)     # holds the lot
    move_to(x2, 2995.0)
    stop = roles(engine2)["stop order"]
    assert (stop.state, stop.vt_orderid) == ("waiting", "") and own
    assert stop.where == "local", "a stop waiting for lots shown at the exchange"


def test_a_trailing_stop_limit_keeps_its_limit_the_templates_ticks_from_the_trigger(tmp_path):
    x, engine, _ = market(tmp_path)
    _, fill = filled_long_bracket(x, engine, BracketTemplate(
        "SL", stop_ticks=10, trail_ticks=5, stop_limit_ticks=2), 1)
    move_to(x, fill + 20)
    assert roles(engine)["stop"].price == fill + 15
    move_to(x, fill + 15)
    (sent,) = [o for o in x.orders.values() if o.offset != Offset.OPEN]
    assert sent.price == fill + 13, f"limit {sent.price}, 2 ticks through {fill + 15} expected"


class _ReportsAtOnce(FakeBroker):
    """The event thread handles an order's reports while the thread that sent it is still
    inside `send` (a fast gateway; the GUI thread placing a bracket)."""

    def __init__(self, exchange) -> None:
        super().__init__(exchange)
        self.threads: list[threading.Thread] = []

    def send(self, req, gateway) -> str:
        vt_orderid = super().send(req, gateway)
        if req.offset == Offset.OPEN:
            self.x.fill(vt_orderid, req.volume, trade_first=False)
            thread = threading.Thread(target=self.x.deliver, name="events")
            thread.start()
            thread.join(timeout=1.0)     # bounds a handler that (rightly) waits for the lock
            self.threads.append(thread)
        return vt_orderid


def test_an_entry_fill_reported_while_the_gui_thread_is_still_sending_is_counted(tmp_path):
    x, engine, _ = market(tmp_path, broker=_ReportsAtOnce)
    engine.place_bracket(VT, LONG, 1, None, BracketTemplate("T", stop_ticks=5))
    for thread in engine.broker.threads:
        thread.join()
    x.deliver()
    assert_one_lot_protected(x, engine)


def test_a_triggered_protective_stop_goes_out_even_when_its_state_cannot_be_written(tmp_path):
    x, engine, events = market(tmp_path, position=1)
    engine.place_stop(VT, SHORT, 1, 2995.0, close_only=True)

    def full_disk(group):
        raise OSError("database or disk is full")

    engine.book.save = full_disk
    move_to(x, 2995.0)
    closes = [o for o in x.orders.values() if o.offset != Offset.OPEN]
    assert [o.volume for o in closes] == [1], "the stop fired and no close left"
    assert severe(events)


def restarted(x: FakeExchange, engine: ManagedOrders, tmp_path) -> ManagedOrders:
    """A hard kill and a new engine on the same book: the reports still in flight (`x.queue`)
    reach only the new one, as after a kill within the journal's 50 ms batch over CTP. The
    risk guard of the new run knows only the orders reported (journal, gateway)."""
    engine.book.close()
    x.pending_close = {k: v for k, v in x.pending_close.items() if k in x.seen_orders}
    again = ManagedOrders(FakeBroker(x), ManagedBook(tmp_path / "managed.db"),
                          lambda kind, data: None)
    x.handlers = again
    again.restore()
    return again


def test_an_entry_sent_just_before_a_kill_is_still_followed_after_the_restart(tmp_path):
    x, engine, _ = market(tmp_path)
    engine.place_bracket(VT, LONG, 1, 2999.0, BracketTemplate("T", stop_ticks=5))
    (entry,) = x.orders                     # acknowledged by the gateway, not yet reported
    engine = restarted(x, engine, tmp_path)
    x.deliver()
    x.fill(entry, 1, trade_first=False)
    x.deliver()
    assert_one_lot_protected(x, engine)


def test_a_stop_close_sent_just_before_a_kill_is_not_sent_again(tmp_path):
    x, engine, _ = market(tmp_path, position=1)
    engine.place_stop(VT, SHORT, 1, 2995.0, close_only=True)
    x.tick(-5)
    x.deliver(1)                            # the crossing tick; the close's report in flight
    assert len(x.orders) == 1
    engine = restarted(x, engine, tmp_path)
    x.deliver()
    closes = [o.vt_orderid for o in x.orders.values() if o.is_active()]
    assert len(closes) == 1, f"two closes for one lot: {closes}"
    assert roles(engine)["stop order"].vt_orderid == closes[0]
