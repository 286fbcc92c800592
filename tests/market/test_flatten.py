"""Flatten that finishes, driven event by event (no exchange, no threads): the free lots go
at once, the held ones only after the cancels are final and a later position report, never
more than the position holds; a rejection or the deadline stops it with an alert."""

from __future__ import annotations

from dataclasses import replace

from vnpy.event import Event
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.event import EVENT_ORDER, EVENT_POSITION, EVENT_TIMER, EVENT_TRADE
from vnpy.trader.object import OrderData, PositionData, TradeData

from terminal.core.alerts import EVENT_ALERT
from terminal.market.flatten import Flattener


class Engine:
    """Handlers called when the test says; orders and positions as the engine would hold."""

    def __init__(self) -> None:
        self.handlers: dict[str, list] = {}
        self.orders: dict[str, OrderData] = {}
        self.positions: dict[str, PositionData] = {}
        self.alerts: list = []
        self.now = 0.0

    def register(self, kind, handler) -> None:
        self.handlers.setdefault(kind, []).append(handler)

    def put(self, event: Event) -> None:
        if event.type == EVENT_ALERT:
            self.alerts.append(event.data)

    def emit(self, kind: str, data=None) -> None:
        if kind == EVENT_ORDER:
            self.orders[data.vt_orderid] = data
        elif kind == EVENT_POSITION:
            self.positions[data.vt_positionid] = data
        for handler in self.handlers.get(kind, []):
            handler(Event(kind, data))


def order(orderid: str, volume=1.0, status=Status.NOTTRADED, offset=Offset.CLOSETODAY):
    return OrderData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE,
                     orderid=orderid, type=OrderType.LIMIT, direction=Direction.SHORT,
                     offset=offset, price=3300.0, volume=volume, status=status)


def position(volume: float, frozen: float = 0.0) -> PositionData:
    return PositionData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE,
                        direction=Direction.LONG, volume=volume, frozen=frozen)


def make(engine: Engine, reject: dict | None = None):
    """A flattener whose closes are recorded (lots each) and acknowledged at once, or
    rejected with `reject` as the order's extra while that dict is not empty."""
    closes: list[float] = []

    def close(held: PositionData, lots: float) -> list[str]:
        closes.append(lots)
        sent = order(f"close{len(closes)}", lots,
                     Status.REJECTED if reject else Status.SUBMITTING)
        if reject:
            sent.extra = dict(reject)
        engine.emit(EVENT_ORDER, sent)
        return [sent.vt_orderid]

    flattener = Flattener(engine, close, engine.orders.get, engine.positions.get, timeout=30,
                          clock=lambda: engine.now)
    return flattener, closes


def test_free_lots_at_once_the_held_ones_once_the_cancel_is_final_and_reported():
    engine = Engine()
    flattener, closes = make(engine)
    target = order("target", 2)
    engine.emit(EVENT_ORDER, target)
    held = position(3, frozen=2)
    engine.emit(EVENT_POSITION, held)
    assert flattener.start(held, [target.vt_orderid]) == ["SIM.close1"]
    assert closes == [1]
    filled(engine, "close1", 1)
    engine.emit(EVENT_POSITION, position(2, frozen=2))        # after the fill
    assert closes == [1]                                      # the target still works
    engine.emit(EVENT_ORDER, replace(target, status=Status.CANCELLED))
    assert closes == [1]                # the last report still has the 2 lots held
    engine.emit(EVENT_POSITION, position(2, frozen=0))        # the cancel reported
    assert closes == [1, 2]
    filled(engine, "close2", 2)
    engine.emit(EVENT_POSITION, position(0))
    assert not flattener.active(held.vt_positionid) and engine.alerts == []


def test_a_cancel_that_lost_to_a_fill_leaves_nothing_to_close_twice():
    engine = Engine()
    flattener, closes = make(engine)
    target = order("target", 2)
    engine.emit(EVENT_ORDER, target)
    held = position(2, frozen=2)
    assert flattener.start(held, [target.vt_orderid]) == []   # nothing free yet
    engine.emit(EVENT_ORDER, replace(target, status=Status.ALLTRADED, traded=2))  # it filled
    engine.emit(EVENT_POSITION, position(0))
    assert closes == [] and not flattener.active(held.vt_positionid)


def test_a_report_before_the_orders_settle_is_used_when_it_came_after_their_last_fill():
    """The simulator reports the position before the order's final state."""
    engine = Engine()
    flattener, closes = make(engine)
    held = position(1)
    engine.emit(EVENT_POSITION, held)
    flattener.start(held, [])
    engine.emit(EVENT_TRADE, trade("close1"))
    engine.emit(EVENT_POSITION, position(0))                  # the fill's report came first
    engine.emit(EVENT_ORDER, replace(engine.orders["SIM.close1"], status=Status.ALLTRADED,
                                     traded=1))
    assert not flattener.active(held.vt_positionid) and engine.alerts == [] and closes == [1]


def test_a_report_older_than_the_last_fill_is_not_trusted():
    """CTP reports positions when it queries them: a fill after the last report means the
    report overstates what is left; closing that would reverse the position."""
    engine = Engine()
    flattener, closes = make(engine)
    target = order("target", 2)
    engine.emit(EVENT_ORDER, target)
    held = position(3, frozen=2)
    engine.emit(EVENT_POSITION, held)
    flattener.start(held, [target.vt_orderid])               # closes the 1 free lot
    engine.emit(EVENT_POSITION, position(3, frozen=2))        # a query from before any fill
    engine.emit(EVENT_TRADE, trade("close1"))
    engine.emit(EVENT_TRADE, trade("target"))                 # the target filled 1 lot first
    engine.emit(EVENT_ORDER, replace(engine.orders["SIM.close1"], status=Status.ALLTRADED,
                                     traded=1))
    engine.emit(EVENT_ORDER, replace(target, status=Status.CANCELLED, traded=1))
    assert closes == [1]                                      # not 3 on the old report
    engine.emit(EVENT_POSITION, position(1))                  # the next query: 1 left
    assert closes == [1, 1]


def filled(engine: Engine, orderid: str, lots: float) -> None:
    """`orderid` filled: its trade, then its state (the simulator's order; CTP's is tested
    on its own)."""
    engine.emit(EVENT_TRADE, trade(orderid))
    engine.emit(EVENT_ORDER, replace(engine.orders[f"SIM.{orderid}"], status=Status.ALLTRADED,
                                     traded=lots))


def trade(orderid: str) -> TradeData:
    return TradeData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE,
                     orderid=orderid, tradeid=f"t{orderid}", direction=Direction.SHORT,
                     offset=Offset.CLOSETODAY, price=3300.0, volume=1)


def test_a_rejected_close_stops_the_job_with_an_alert():
    engine = Engine()
    flattener, closes = make(engine, reject={"reason": "risk halted: trading is halted"})
    held = position(1)
    flattener.start(held, [])
    assert not flattener.active(held.vt_positionid) and closes == [1]
    (alert,) = engine.alerts
    assert alert.rule == "flatten" and "risk halted" in alert.message


def test_the_deadline_stops_it_with_an_alert():
    engine = Engine()
    flattener, _ = make(engine)
    target = order("target", 1)
    engine.emit(EVENT_ORDER, target)
    held = position(1, frozen=1)
    engine.emit(EVENT_POSITION, held)
    flattener.start(held, [target.vt_orderid])               # its cancel is never confirmed
    engine.now = 29.0
    engine.emit(EVENT_TIMER)
    assert flattener.active(held.vt_positionid)
    engine.now = 30.0
    engine.emit(EVENT_TIMER)
    assert not flattener.active(held.vt_positionid)
    assert "not flat 30 s after Flatten" in engine.alerts[0].message


def test_a_close_refused_for_want_of_free_lots_is_tried_again_at_the_next_report():
    """CTP reports what working orders hold only when it next queries: just after a cancel
    the risk gate may still see the lots held and refuse the close. The next report decides."""
    engine = Engine()
    refused = {"risk_rule": "reduce_only", "reason": "risk reduce_only: closing 2 lots "
               "exceeds the 0 long lots free to close"}
    flattener, closes = make(engine, reject=refused)
    held = position(2)
    flattener.start(held, [])
    assert closes == [2] and flattener.active(held.vt_positionid) and engine.alerts == []
    refused.clear()
    engine.emit(EVENT_POSITION, position(2))
    assert closes == [2, 2]
    filled(engine, "close2", 2)
    engine.emit(EVENT_POSITION, position(0))
    assert not flattener.active(held.vt_positionid) and engine.alerts == []


def test_a_fill_seen_in_the_orders_state_before_its_trade_is_a_fill():
    """CTP sends the order's new state (all traded) before the trade itself: a position
    query answered between Flatten and the fill must not count as after it."""
    engine = Engine()
    flattener, closes = make(engine)
    held = position(3)
    engine.emit(EVENT_POSITION, held)
    flattener.start(held, [])                                 # closes 3
    engine.emit(EVENT_POSITION, position(3))                  # a query from before the fill
    engine.emit(EVENT_ORDER, replace(engine.orders["SIM.close1"], status=Status.ALLTRADED,
                                     traded=3))
    engine.emit(EVENT_TRADE, trade("close1"))
    assert closes == [3]                                      # not 3 more on that report
    engine.emit(EVENT_POSITION, position(0))
    assert not flattener.active(held.vt_positionid) and engine.alerts == []


def test_lots_a_working_order_holds_wait_for_the_next_report():
    """A strategy's exit sent meanwhile holds lots: closing them too would be more than is
    held once it fills."""
    engine = Engine()
    flattener, closes = make(engine)
    held = position(3)
    engine.emit(EVENT_POSITION, held)
    flattener.start(held, [])
    engine.emit(EVENT_ORDER, replace(engine.orders["SIM.close1"], status=Status.PARTTRADED,
                                     traded=1))
    engine.emit(EVENT_ORDER, replace(engine.orders["SIM.close1"], status=Status.CANCELLED,
                                     traded=1))
    engine.emit(EVENT_POSITION, position(2, frozen=2))        # someone's exit holds both
    assert closes == [3]
    engine.emit(EVENT_POSITION, position(2, frozen=1))        # one of them freed
    assert closes == [3, 1]
