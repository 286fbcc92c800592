"""Conduct rules on the gateway boundary: the guard keeps each account's resting limit orders
from what it sends and from order events, denies a self-trade before the gateway sees it (the
crossed orders readable on the rejection), and publishes conduct warnings as alerts."""

from __future__ import annotations

import os
from datetime import datetime
from typing import ClassVar

import pytest
from vnpy.event import EventEngine
from vnpy.event.engine import Event
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Product, Status
from vnpy.trader.engine import MainEngine
from vnpy.trader.event import EVENT_ORDER, EVENT_TRADE
from vnpy.trader.gateway import BaseGateway
from vnpy.trader.object import (AccountData, CancelRequest, ContractData, OrderRequest,
                                TickData, TradeData)

from terminal.core.alerts import EVENT_ALERT, WARNING
from terminal.risk import RiskConfig, RiskGate, RiskLimits
from terminal.risk.guard import RiskGuard
from tests.helpers.risk_gate import FakeClock

BUY, SELL = Direction.LONG, Direction.SHORT


class BookGateway(BaseGateway):
    """Takes every order (the exchange's answers come from the test as order events)."""

    default_name = "BOOK"
    default_setting: ClassVar[dict] = {}
    exchanges: ClassVar[list[Exchange]] = [Exchange.SHFE]

    def __init__(self, event_engine, gateway_name):
        super().__init__(event_engine, gateway_name)
        self.sent: list[OrderRequest] = []
        self.cancels: list[CancelRequest] = []

    def connect(self, setting): ...
    def close(self): ...
    def subscribe(self, req): ...
    def query_account(self): ...
    def query_position(self): ...

    def send_order(self, req):
        self.sent.append(req)
        return f"{self.gateway_name}.{len(self.sent)}"

    def cancel_order(self, req):
        self.cancels.append(req)


class Desk:
    """Two accounts (gateways A and B) on one engine, the guard, and what it publishes."""

    def __init__(self, limits: RiskLimits) -> None:
        self.here = os.getcwd()
        self.clock = FakeClock(1000.0)
        self.event_engine = EventEngine()
        self.engine = MainEngine(self.event_engine)
        self.a = self.engine.add_gateway(BookGateway, "A")
        self.b = self.engine.add_gateway(BookGateway, "B")
        oms = self.engine.get_engine("oms")
        for name in ("A", "B"):
            for symbol in ("rb2701", "hc2701"):
                contract = ContractData(name, symbol, Exchange.SHFE, symbol, Product.FUTURES,
                                        10, 1.0, max_volume=500)
                oms.contracts[contract.vt_symbol] = contract
                oms.ticks[contract.vt_symbol] = TickData(name, symbol, Exchange.SHFE,
                                                         datetime.now(), last_price=3250.0)
            account = AccountData(name, "1", balance=10_000_000.0)
            oms.accounts[account.vt_accountid] = account
        self.gate = RiskGate(RiskConfig(global_limits=limits), clock=self.clock,
                             trading_day=lambda: "2026-03-02")
        self.guard = RiskGuard(self.engine, self.event_engine, self.gate,
                               lambda vt: (0.1, 0.0001, 0.0))
        self.published: list[Event] = []
        put = self.event_engine.put
        self.event_engine.put = lambda event: (self.published.append(event), put(event))

    def send(self, gateway: str, direction: Direction, price: float, volume: float = 1,
             kind: OrderType = OrderType.LIMIT, symbol: str = "rb2701") -> str:
        req = OrderRequest(symbol, Exchange.SHFE, direction, kind, volume, price, Offset.OPEN)
        self.clock.now += 0.5                    # the burst counter is not what these test
        return self.engine.send_order(req, gateway)

    def report(self, vt_orderid: str, status: Status, traded: float = 0) -> None:
        """The exchange's order event for an order sent earlier, as the engine delivers it."""
        gateway_name, orderid = vt_orderid.split(".", 1)
        gateway = self.engine.get_gateway(gateway_name)
        req = gateway.sent[int(orderid) - 1]
        order = req.create_order_data(orderid, gateway_name)
        order.status, order.traded = status, traded
        self.guard._on_order(Event(EVENT_ORDER, order))

    def fill(self, vt_orderid: str, volume: float) -> None:
        """The exchange's trade for an order sent earlier (its order event may come later)."""
        gateway_name, orderid = vt_orderid.split(".", 1)
        req = self.engine.get_gateway(gateway_name).sent[int(orderid) - 1]
        trade = TradeData(gateway_name, req.symbol, req.exchange, orderid, f"t{orderid}",
                          req.direction, req.offset, req.price, volume)
        self.guard._on_order(Event(EVENT_TRADE, trade))

    def rejected(self, vt_orderid: str):
        (order,) = [e.data for e in self.published
                    if e.type == EVENT_ORDER and e.data.vt_orderid == vt_orderid]
        assert order.status is Status.REJECTED
        return order

    def alerts(self, rule: str) -> list:
        return [e.data for e in self.published if e.type == EVENT_ALERT and e.data.rule == rule]

    def close(self) -> None:
        self.engine.close()
        os.chdir(self.here)


@pytest.fixture
def desk():
    made = Desk(RiskLimits(max_actions_per_second=0, max_actions_per_day=0))
    yield made
    made.close()


def test_a_buy_against_the_accounts_own_resting_sell_never_reaches_the_gateway(desk):
    resting = desk.send("A", SELL, 3260.0, 2)
    desk.report(resting, Status.NOTTRADED)
    denied = desk.send("A", BUY, 3260.0)
    assert denied.startswith("A.RISK-") and len(desk.a.sent) == 1
    order = desk.rejected(denied)
    assert order.extra["risk_rule"] == "self_trade"
    assert order.extra["risk_orders"] == [resting]                  # for the managed orders
    assert f"own resting sell 2 @ 3260 ({resting})" in order.extra["reason"]
    assert desk.alerts("self_trade")
    # Below the sell it is an ordinary order.
    assert desk.send("A", BUY, 3259.0) == "A.2"


def test_an_order_rests_from_the_moment_it_is_sent_not_from_its_first_event(desk):
    resting = desk.send("A", BUY, 3250.0)                           # no event yet
    assert desk.rejected(desk.send("A", SELL, 3250.0)).extra["risk_orders"] == [resting]


def test_the_other_account_and_the_other_symbol_are_not_blocked(desk):
    desk.report(desk.send("A", SELL, 3260.0), Status.NOTTRADED)
    assert desk.send("B", BUY, 3260.0) == "B.1"
    assert desk.send("A", BUY, 3260.0, symbol="hc2701") == "A.2"


def test_a_partly_filled_order_still_blocks_and_a_filled_or_cancelled_one_no_longer(desk):
    first = desk.send("A", SELL, 3260.0, 3)
    desk.report(first, Status.PARTTRADED, traded=2)
    order = desk.rejected(desk.send("A", BUY, 3265.0))
    assert f"own resting sell 1 @ 3260 ({first})" in order.extra["reason"]   # 1 lot left
    desk.report(first, Status.ALLTRADED, traded=3)
    assert desk.send("A", BUY, 3265.0) == "A.2"
    desk.report("A.2", Status.ALLTRADED, traded=1)

    second = desk.send("A", BUY, 3240.0)
    desk.report(second, Status.NOTTRADED)
    assert desk.rejected(desk.send("A", SELL, 3240.0)).extra["risk_rule"] == "self_trade"
    desk.report(second, Status.CANCELLED)
    assert desk.send("A", SELL, 3240.0) == "A.4"


def test_orders_that_do_not_rest_on_the_book_never_block(desk):
    for kind in (OrderType.FAK, OrderType.FOK, OrderType.STOP, OrderType.MARKET):
        desk.send("A", SELL, 3200.0 if kind is not OrderType.MARKET else 0.0, kind=kind)
    assert desk.send("A", BUY, 3300.0) == "A.5"
    # A market order crosses a resting limit one whatever its price.
    desk.report(desk.send("A", SELL, 3400.0), Status.NOTTRADED)
    assert desk.rejected(desk.send("A", BUY, 0.0, kind=OrderType.MARKET)) \
        .extra["risk_rule"] == "self_trade"


def test_conduct_warnings_are_published_as_alerts_once_per_crossing():
    desk = Desk(RiskLimits(max_actions_per_second=10, max_orders_per_second=0,
                           duplicate_seconds=0, max_cancels_per_day=6))
    try:
        req = OrderRequest("rb2701", Exchange.SHFE, BUY, OrderType.LIMIT, 1, 3230.0,
                           Offset.OPEN)
        for i in range(4):
            desk.engine.send_order(OrderRequest("rb2701", Exchange.SHFE, BUY, OrderType.LIMIT,
                                                1, 3240.0 - i, Offset.OPEN), "A")
        for i in range(5):                                          # 9 actions in a second
            desk.engine.cancel_order(CancelRequest(f"{i + 1}", "rb2701", Exchange.SHFE), "A")
        (burst,) = desk.alerts("actions_per_second_warning")
        assert burst.severity == WARNING and burst.symbol == ""
        assert "account A: 8 orders and cancels within one second" in burst.message
        (cancels,) = desk.alerts("cancels_per_day_warning")
        assert cancels.symbol == "rb2701.SHFE" and "5 cancels in rb2701.SHFE today" in \
            cancels.message
        assert len(desk.a.cancels) == 5                              # cancels always pass
        # At the limit the next order is denied, with the numbers; account B is not.
        desk.engine.cancel_order(CancelRequest("1", "rb2701", Exchange.SHFE), "A")
        denied = desk.engine.send_order(req, "A")
        assert "10 orders and cancels in the last second" in \
            desk.rejected(denied).extra["reason"]
        other = OrderRequest("hc2701", Exchange.SHFE, BUY, OrderType.LIMIT, 1, 3230.0,
                             Offset.OPEN)
        assert desk.engine.send_order(other, "B") == "B.1"
        assert len(desk.alerts("actions_per_second_warning")) == 1
    finally:
        desk.close()


def test_an_order_whose_cancel_was_sent_no_longer_blocks_flattens_close(desk):
    """Flatten cancels the working orders and closes at once: the exchange takes the cancel
    first, so the close must not be refused for the order being cancelled."""
    resting = desk.send("A", BUY, 3249.0)             # resting from the moment it was sent
    desk.engine.cancel_order(CancelRequest("1", "rb2701", Exchange.SHFE), "A")
    assert desk.send("A", SELL, 3245.0) == "A.2"
    desk.report(resting, Status.NOTTRADED)            # a late event does not put it back
    assert desk.send("A", SELL, 3244.0) == "A.3"
    # A new order of the same account is checked as before.
    desk.report(desk.send("A", BUY, 3240.0), Status.NOTTRADED)
    assert desk.rejected(desk.send("A", SELL, 3240.0)).extra["risk_rule"] == "self_trade"


def test_a_fill_told_by_its_trade_before_its_order_event_leaves_the_book(desk):
    """A bracket places its targets on the entry's trade: the filled entry must not be taken
    for a resting order on the other side (nor a fill counted twice when both come)."""
    entry = desk.send("A", BUY, 3256.0, 3)
    desk.fill(entry, 1)                                       # 2 rest
    order = desk.rejected(desk.send("A", SELL, 3255.0))
    assert f"own resting buy 2 @ 3256 ({entry})" in order.extra["reason"]
    desk.report(entry, Status.PARTTRADED, traded=1)          # the same fill, told again
    order = desk.rejected(desk.send("A", SELL, 3254.0))
    assert f"own resting buy 2 @ 3256 ({entry})" in order.extra["reason"]
    desk.fill(entry, 2)                                       # all filled, no event yet
    assert desk.send("A", SELL, 3253.0) == "A.2"
