"""The simulated exchange behind vn.py's gateway interface, on a real event engine."""

from __future__ import annotations

import threading
import time

from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.event import EVENT_ORDER, EVENT_TICK
from vnpy.trader.object import SubscribeRequest

from terminal.core.events import IsolatedEventEngine
from terminal.gateways.sim import SimGateway

from helpers import request


def connected(rate: float):
    engine = IsolatedEventEngine()
    engine.start()
    gateway = SimGateway(engine)
    gateway.connect({"quote_rate": rate, "capital": 1_000_000, "seed": 7})
    return engine, gateway


def test_quote_rate_is_configurable_and_only_subscribed_symbols_tick():
    counts = {}
    for rate in (2.0, 20.0):
        engine, gateway = connected(rate)
        ticks = []
        engine.register(EVENT_TICK, lambda e, ticks=ticks: ticks.append(e.data.vt_symbol))
        gateway.subscribe(SubscribeRequest("rb2701", Exchange.SHFE))
        time.sleep(1.0)
        gateway.close()
        engine.stop()
        assert set(ticks) == {"rb2701.SHFE"}
        counts[rate] = len(ticks)
    assert 1 <= counts[2.0] <= 5
    assert counts[20.0] >= 4 * counts[2.0]


def test_orders_go_submitting_then_final_with_reason_on_rejection():
    engine, gateway = connected(2.0)
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
        assert done.wait(5)
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

    engine, gateway = connected(2.0)
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
        time.sleep(0.2)                     # the connect's own account is out
        engine.register(EVENT_ACCOUNT, lambda event: accounts.append(event.data))
        engine.register(EVENT_ORDER, on_order)
        exchange.submit = first_waits
        bid = exchange.books["rb2701.SHFE"].bid_price_1
        for k in range(20):
            gateway.send_order(request("rb2701", Exchange.SHFE, Direction.LONG, 1,
                                       bid - 50 - k, order_type=OrderType.LIMIT))
        release.set()
        assert all_acked.wait(5)
        time.sleep(0.2)
    finally:
        gateway.close()
        engine.stop()
    assert len(accounts) == 1
    assert accounts[0].frozen == exchange.account_data().frozen > 0
    assert len(exchange.working) == 20
