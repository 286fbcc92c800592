"""The bridge keeps the latest tick per symbol and every trade, and wakes the GUI once a batch."""

from __future__ import annotations

from datetime import datetime

from vnpy.event import Event
from vnpy.trader.constant import Exchange, Status
from vnpy.trader.event import EVENT_LOG, EVENT_ORDER, EVENT_TICK, EVENT_TRADE
from vnpy.trader.object import LogData, OrderData, TickData, TradeData

from terminal.core.bridge import EventBridge
from terminal.core.events import IsolatedEventEngine


def tick(symbol: str, price: float) -> TickData:
    return TickData("SIM", symbol, Exchange.SHFE, datetime.now(), last_price=price)


def test_orders_and_trades_wake_urgently_once_per_batch():
    engine = IsolatedEventEngine()
    wakes = []
    EventBridge(engine, wake=wakes.append)
    engine._process(Event(EVENT_ORDER, OrderData("SIM", "rb", Exchange.SHFE, "1")))
    engine._process(Event(EVENT_TRADE, TradeData("SIM", "rb", Exchange.SHFE, "1", "t1")))
    engine._process(Event(EVENT_TICK, tick("s0", 1.0)))
    assert wakes == [True]                       # an order opening a batch: one urgent wake


def test_latest_state_per_key_every_trade_and_one_wake_per_batch():
    """One wake per batch, plus one urgent wake when its first order or trade arrives."""
    engine = IsolatedEventEngine()  # not started: handlers are called directly below
    wakes = []
    bridge = EventBridge(engine, wake=lambda urgent: wakes.append("urgent" if urgent else 1))
    for i in range(1000):
        engine._process(Event(EVENT_TICK, tick(f"s{i % 10}", float(i))))
    for status in (Status.SUBMITTING, Status.NOTTRADED, Status.ALLTRADED):
        order = OrderData("SIM", "rb", Exchange.SHFE, "1", status=status)
        engine._process(Event(EVENT_ORDER, order))
    for i in range(5):
        engine._process(Event(EVENT_TRADE, TradeData("SIM", "rb", Exchange.SHFE, "1", f"t{i}")))
    engine._process(Event(EVENT_LOG, LogData("SIM", "hello")))
    assert wakes == [1, "urgent"]

    batch = bridge.drain()
    assert batch.tick_events == 1000
    assert len(batch.ticks) == 10
    assert batch.ticks["s3.SHFE"].last_price == 993.0
    assert batch.orders["SIM.1"].status == Status.ALLTRADED
    assert [t.tradeid for t in batch.trades] == [f"t{i}" for i in range(5)]
    assert [log.msg for log in batch.logs] == ["hello"]

    assert not bridge.drain()
    engine._process(Event(EVENT_TICK, tick("s0", 1.0)))
    assert wakes == [1, "urgent", 1]
    bridge.close()
    engine._process(Event(EVENT_TICK, tick("s0", 2.0)))
    assert bridge.drain().ticks["s0.SHFE"].last_price == 1.0  # unregistered: 2.0 never arrived
