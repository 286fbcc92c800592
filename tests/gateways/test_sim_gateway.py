"""The simulated exchange behind vn.py's gateway interface, on a real event engine and a
clock the tests move (`ManualClock`): what they see does not depend on the machine's speed."""

from __future__ import annotations

import threading

import pytest
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.event import EVENT_ORDER, EVENT_TICK

from terminal.core.events import IsolatedEventEngine
from terminal.gateways.sim import SimGateway
from terminal.market import contracts

from tests.helpers import drained, request, simulator

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
