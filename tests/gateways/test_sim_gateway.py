"""The simulated exchange behind vn.py's gateway interface, on a real event engine and a
clock the tests move (`ManualClock`): what they see does not depend on the machine's speed."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.event import EVENT_LOG, EVENT_ORDER, EVENT_TICK, EVENT_TRADE

from terminal.core.events import IsolatedEventEngine
from terminal.core.timezone import CHINA_TZ
from terminal.gateways.sim import SimGateway
from terminal.market import contracts

from tests.helpers import book, drained, request, simulator

EVERY_CONTRACT = [spec.vt_symbol for spec in contracts.SPECS]


def test_quote_rate_is_configurable_and_only_subscribed_symbols_tick():
    for rate in (2.0, 20.0):
        engine, gateway = simulator(rate, ["rb2701.SHFE"])   # its book came at once
        ticks = []
        try:
            engine.register(EVENT_TICK, lambda e, ticks=ticks: ticks.append(e.data))
            gateway.advance(1.0)
            drained(engine)
        finally:
            gateway.close()
            engine.stop()
        assert {t.vt_symbol for t in ticks} == {"rb2701.SHFE"}
        assert len(ticks) == rate                   # every contract quotes `rate` times a second
        start = gateway.clock.start
        assert [(t.datetime - start).total_seconds() for t in ticks] == pytest.approx(
            [(k + 1) / rate - (len(contracts.SPECS) - 1) / (rate * len(contracts.SPECS))
             for k in range(int(rate))], abs=1e-6)  # rb2701 is the first of the turn


def test_the_market_stands_still_until_its_clock_moves_and_then_catches_up_in_order():
    engine, gateway = simulator(2.0, EVERY_CONTRACT)
    ticks = []
    try:
        engine.register(EVENT_TICK, lambda e: ticks.append(e.data))
        gateway.advance(0)
        drained(engine)
        assert ticks == []
        for _ in range(4):
            gateway.advance(0.25)
        drained(engine)
    finally:
        gateway.close()
        engine.stop()
    assert len(ticks) == 2 * len(contracts.SPECS)
    assert [t.vt_symbol for t in ticks] == 2 * [spec.vt_symbol for spec in contracts.SPECS]
    assert [t.datetime for t in ticks] == sorted(t.datetime for t in ticks)
    with pytest.raises(RuntimeError, match="ManualClock"):
        SimGateway(engine).advance(1.0)


def test_orders_go_submitting_then_final_with_reason_on_rejection():
    engine, gateway = simulator(2.0)
    states: dict[str, list] = {}
    done = threading.Event()

    def on_order(event):
        order = event.data
        states.setdefault(order.vt_orderid, []).append(order)
        if len(states) == 2 and all(not o[-1].is_active() for o in states.values()):
            done.set()

    engine.register(EVENT_ORDER, on_order)
    book = gateway.exchange.books["m2705.DCE"]
    filled = gateway.send_order(request("m2705", Exchange.DCE, Direction.LONG, 1,
                                        book.ask_price_1 + 5))
    rejected = gateway.send_order(request("m2705", Exchange.DCE, Direction.SHORT, 2,
                                          book.bid_price_1, Offset.CLOSE))
    try:
        assert done.wait(30)
    finally:
        gateway.close()
        engine.stop()
    assert states[filled][0].status == Status.SUBMITTING
    assert states[filled][-1].status == Status.ALLTRADED
    assert states[rejected][-1].status == Status.REJECTED
    assert "not enough long position" in states[rejected][-1].extra["reason"]


def test_orders_are_rejected_when_not_connected():
    engine = IsolatedEventEngine()
    gateway = SimGateway(engine)
    orders = []
    engine.register(EVENT_ORDER, lambda e: orders.append(e.data))
    vt_orderid = gateway.send_order(request("rb2701", Exchange.SHFE, Direction.LONG, 1, 3000,
                                            order_type=OrderType.LIMIT))
    engine._process(engine._queue.get())
    assert orders[-1].vt_orderid == vt_orderid and orders[-1].status == Status.REJECTED
    assert "not connected" in orders[-1].extra["reason"]


def test_a_burst_of_orders_reports_the_account_once_when_it_is_done():
    """Twenty orders queued at once: each order is acknowledged, the account goes out once,
    after the last, holding the funds frozen by all twenty."""
    from vnpy.trader.event import EVENT_ACCOUNT

    engine, gateway = simulator(2.0)
    exchange = gateway.exchange
    accounts, acked = [], []
    all_acked = threading.Event()

    def on_order(event):
        if event.data.status == Status.NOTTRADED:
            acked.append(event.data.vt_orderid)
            if len(acked) == 20:
                all_acked.set()

    release, submit = threading.Event(), exchange.submit

    def first_waits(*args):                 # holds the exchange thread while the rest queue
        exchange.submit = submit
        release.wait(5)
        return submit(*args)

    try:
        drained(engine)                     # the connect's own account is out
        engine.register(EVENT_ACCOUNT, lambda event: accounts.append(event.data))
        engine.register(EVENT_ORDER, on_order)
        exchange.submit = first_waits
        bid = exchange.books["rb2701.SHFE"].bid_price_1
        for k in range(20):
            gateway.send_order(request("rb2701", Exchange.SHFE, Direction.LONG, 1,
                                       bid - 50 - k, order_type=OrderType.LIMIT))
        release.set()
        assert all_acked.wait(30)
        gateway.advance(0)                  # the exchange is idle: the account went out ...
        drained(engine)                     # ... and reached the engine's handlers
    finally:
        gateway.close()
        engine.stop()
    assert len(accounts) == 1
    assert accounts[0].frozen == exchange.account_data().frozen > 0
    assert len(exchange.working) == 20


# ---------------------------------------------------------------------- cancels and stamps
def on_clock(start: datetime, subscribe=()):
    """`simulator` on a ManualClock starting at `start`, far from the machine's time, so a
    stamp from the machine's clock cannot pass for the exchange's."""
    return simulator(2.0, subscribe, start=start)


class Seen:
    """Orders (every report), trades and log lines reaching the engine's handlers."""

    def __init__(self, engine) -> None:
        self.orders, self.trades, self.logs = [], [], []
        engine.register(EVENT_ORDER, lambda e: self.orders.append(e.data))
        engine.register(EVENT_TRADE, lambda e: self.trades.append(e.data))
        engine.register(EVENT_LOG, lambda e: self.logs.append(e.data.msg))

    def states(self, vt_orderid: str) -> list[Status]:
        return [o.status for o in self.orders if o.vt_orderid == vt_orderid]


START = datetime(2026, 3, 2, 10, 0, tzinfo=CHINA_TZ)


def settle(engine, gateway) -> None:
    gateway.advance(0)
    drained(engine)


def test_a_held_cancel_lets_the_order_fill_and_is_then_refused_without_a_report():
    """The race a cancel-then-replace must survive: the cancel is on its way while the order
    fills. Held, the order stays working and fills on the next book; released, the cancel
    finds a filled order, changes nothing and is logged (as CTP answers it with an error).
    A held cancel of an order still working is answered CANCELLED on release."""
    engine, gateway = on_clock(START, ["rb2701.SHFE"])
    seen = Seen(engine)
    try:
        ask = gateway.exchange.books["rb2701.SHFE"].ask_price_1
        racing = gateway.send_order(request("rb2701", Exchange.SHFE, Direction.LONG, 1, ask - 20))
        resting = gateway.send_order(request("rb2701", Exchange.SHFE, Direction.LONG, 1,
                                             ask - 40))
        settle(engine, gateway)
        gateway.hold_cancels()
        for vt_orderid in (racing, resting):
            gateway.cancel_order(gateway.exchange.working[vt_orderid].order.create_cancel_request())
        settle(engine, gateway)
        assert seen.states(racing)[-1] == seen.states(resting)[-1] == Status.NOTTRADED
        gateway.quote(book("rb2701", Exchange.SHFE, ask - 30, ask - 20, 1, last=ask - 20))
        settle(engine, gateway)
        assert seen.states(racing)[-1] == Status.ALLTRADED
        gateway.release_cancels()
        settle(engine, gateway)
    finally:
        gateway.close()
        engine.stop()
    assert seen.states(racing) == [Status.SUBMITTING, Status.NOTTRADED, Status.ALLTRADED]
    assert seen.states(resting) == [Status.SUBMITTING, Status.NOTTRADED, Status.CANCELLED]
    assert [t.vt_orderid for t in seen.trades] == [racing]
    assert f"cancel refused: {racing} is already filled" in seen.logs


def test_cancels_are_answered_at_once_unless_held_and_again_after_hold_false():
    engine, gateway = on_clock(START)
    seen = Seen(engine)
    try:
        bid = gateway.exchange.books["rb2701.SHFE"].bid_price_1
        ids = [gateway.send_order(request("rb2701", Exchange.SHFE, Direction.LONG, 1, bid - k))
               for k in (30, 31, 32)]
        settle(engine, gateway)
        cancel = [gateway.exchange.working[i].order.create_cancel_request() for i in ids]
        gateway.cancel_order(cancel[0])                     # answered at once
        gateway.hold_cancels()
        gateway.cancel_order(cancel[1])                     # held ...
        settle(engine, gateway)
        held = seen.states(ids[1])[-1]
        gateway.hold_cancels(False)                         # ... released by hold=False
        gateway.cancel_order(cancel[2])                     # answered at once again
        gateway.cancel_order(cancel[0])                     # already cancelled
        settle(engine, gateway)
    finally:
        gateway.close()
        engine.stop()
    assert held == Status.NOTTRADED
    assert [seen.states(i)[-1] for i in ids] == [Status.CANCELLED] * 3
    assert seen.states(ids[0]).count(Status.CANCELLED) == 1
    assert f"cancel refused: {ids[0]} is already cancelled" in seen.logs


def test_orders_trades_and_cancels_are_stamped_on_the_exchange_clock():
    """On a clock months from the machine's, every report carries the exchange's time: the
    order the time it was accepted, the trade the time it filled."""
    from datetime import timedelta

    engine, gateway = on_clock(START, ["rb2701.SHFE"])
    seen = Seen(engine)
    try:
        gateway.advance(3.0)
        ask = gateway.exchange.books["rb2701.SHFE"].ask_price_1
        stop = gateway.send_order(request("rb2701", Exchange.SHFE, Direction.LONG, 1, ask + 10,
                                          order_type=OrderType.STOP))
        resting = gateway.send_order(request("rb2701", Exchange.SHFE, Direction.LONG, 1,
                                             ask - 40))
        settle(engine, gateway)
        gateway.advance(2.0)
        gateway.quote(book("rb2701", Exchange.SHFE, ask + 10, ask + 11, 1, last=ask + 10))
        gateway.cancel_order(gateway.exchange.working[resting].order.create_cancel_request())
        settle(engine, gateway)
    finally:
        gateway.close()
        engine.stop()
    accepted, filled = START + timedelta(seconds=3), START + timedelta(seconds=5)
    assert seen.states(stop)[-1] == Status.ALLTRADED
    assert seen.states(resting)[-1] == Status.CANCELLED
    assert {o.datetime for o in seen.orders} == {accepted}
    assert [(t.vt_orderid, t.datetime, t.price) for t in seen.trades] == [
        (stop, filled, ask + 11)]


def test_a_quote_of_an_unknown_contract_is_refused_with_a_log_line():
    engine, gateway = on_clock(START)
    seen = Seen(engine)
    try:
        gateway.quote(book("xx9999", Exchange.SHFE, 100, 101, 1))
        settle(engine, gateway)
    finally:
        gateway.close()
        engine.stop()
    assert "simulated exchange: no contract xx9999.SHFE to quote" in seen.logs
