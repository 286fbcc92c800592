"""A strict exchange and broker for the managed-orders property tests.

The exchange holds the truth: positions, the lots working closes hold (frozen), orders. It
refuses nothing but records as a violation any close sent for more lots than are free (CTP
would reject it; here it is the engine's fault) and any replacement sent while the order it
replaces still works. Its reports (order, trade and position events) queue up and reach the
engine only when the test delivers them, in the order they were made: the engine sees the
world late, as it does over CTP.

The broker side answers the engine from what was delivered, as the terminal's does: positions
from position events, and lots held by closes as the risk guard counts them (from the send,
then from order events), the larger of the two.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Product, Status
from vnpy.trader.object import (ContractData, OrderData, OrderRequest, PositionData, TickData,
                                TradeData)

from terminal.core.timezone import CHINA_TZ
from terminal.risk.gate import ALLOWED, Decision

SYMBOL, EXCHANGE, GATEWAY = "rb2701", Exchange.SHFE, "SIM"
VT = f"{SYMBOL}.{EXCHANGE.value}"
TICK = 1.0
MOMENT = __import__("datetime").datetime(2026, 12, 7, 10, 0, tzinfo=CHINA_TZ)


@dataclass
class Book:
    """Positions by side: volume and frozen (lots held by working closes)."""

    volume: dict = field(default_factory=lambda: {Direction.LONG: 0.0, Direction.SHORT: 0.0})
    frozen: dict = field(default_factory=lambda: {Direction.LONG: 0.0, Direction.SHORT: 0.0})


def held(exit_direction: Direction) -> Direction:
    return Direction.SHORT if exit_direction == Direction.LONG else Direction.LONG


class FakeExchange:
    def __init__(self, last: float = 3000.0) -> None:
        self.contract = ContractData(GATEWAY, SYMBOL, EXCHANGE, "rb", Product.FUTURES, 10,
                                     TICK, min_volume=1, max_volume=500)
        self.truth = Book()
        self.orders: dict[str, OrderData] = {}          # the exchange's
        self.seen_orders: dict[str, OrderData] = {}     # as delivered
        self.seen = Book()
        self.pending_close: dict[str, tuple[Direction, float]] = {}   # guard-style
        self.queue: deque = deque()
        self.handlers = None           # the engine, once made
        self.last = last
        self.ids = 0
        self.trades = 0
        self.violations: list[str] = []
        self.replacing: dict[str, set[str]] = {}        # leg id -> orders a modify replaces
        self.cancels: set[str] = set()                  # cancel requested, not confirmed
        self.preview_denies = False

    # ------------------------------------------------------------------ the exchange
    def _emit(self, kind: str, data) -> None:
        self.queue.append((kind, data))

    def _emit_order(self, order: OrderData) -> None:
        self._emit("order", _copy_order(order))

    def _emit_position(self) -> None:
        self._emit("position", (dict(self.truth.volume), dict(self.truth.frozen)))

    def accept(self, req: OrderRequest) -> str:
        self.ids += 1
        vt_orderid = f"{GATEWAY}.{self.ids}"
        leg = req.reference.partition("#")[0]
        old = {v for v in self.replacing.get(leg, ()) if self.orders[v].is_active()}
        if old:
            self.violations.append(f"{req.reference} sent while {sorted(old)} still work")
        if req.offset != Offset.OPEN:
            side = held(req.direction)
            free = self.truth.volume[side] - self.truth.frozen[side]
            if req.volume > free + 1e-9:
                self.violations.append(f"close of {req.volume} with {free} free "
                                       f"({req.reference})")
            self.truth.frozen[side] += req.volume
        order = req.create_order_data(str(self.ids), GATEWAY)
        order.status = Status.NOTTRADED
        order.datetime = MOMENT
        self.orders[vt_orderid] = order
        self._emit_order(order)
        if req.offset != Offset.OPEN:
            self._emit_position()
        return vt_orderid

    def fill(self, vt_orderid: str, volume: float, trade_first: bool) -> None:
        order = self.orders[vt_orderid]
        volume = min(volume, order.volume - order.traded)
        if volume <= 0 or not order.is_active():
            return
        order.traded += volume
        order.status = Status.ALLTRADED if order.traded >= order.volume else Status.PARTTRADED
        if order.offset == Offset.OPEN:
            self.truth.volume[order.direction] += volume
        else:
            side = held(order.direction)
            self.truth.volume[side] -= volume
            self.truth.frozen[side] -= volume
            if self.truth.volume[side] < -1e-9:
                self.violations.append(f"{side.value} position went to "
                                       f"{self.truth.volume[side]}")
        self.trades += 1
        trade = TradeData(GATEWAY, SYMBOL, EXCHANGE, order.orderid, str(self.trades),
                          order.direction, order.offset, order.price, volume, MOMENT)
        events = [lambda: self._emit_order(order), lambda: self._emit("trade", trade)]
        for emit in (events[::-1] if trade_first else events):
            emit()
        self._emit_position()

    def end(self, vt_orderid: str, status: Status) -> None:
        """Cancel (confirmed) or reject what is left of an order."""
        order = self.orders[vt_orderid]
        if not order.is_active():
            return
        left = order.volume - order.traded
        order.status = status
        if order.offset != Offset.OPEN:
            self.truth.frozen[held(order.direction)] -= left
        self._emit_order(order)
        self._emit_position()

    def confirm_cancels(self) -> None:
        for vt_orderid in sorted(self.cancels):
            self.end(vt_orderid, Status.CANCELLED)
        self.cancels.clear()

    def tick(self, moves: int) -> None:
        self.last = max(self.last + moves * TICK, 100.0)
        self._emit("tick", TickData(GATEWAY, SYMBOL, EXCHANGE, MOMENT, last_price=self.last,
                                    bid_price_1=self.last - TICK, ask_price_1=self.last + TICK,
                                    limit_up=self.last * 1.1, limit_down=self.last * 0.9))

    # ------------------------------------------------------------------ delivery
    def deliver(self, count: int | None = None) -> None:
        engine = self.handlers
        n = 0
        while self.queue and (count is None or n < count):
            kind, data = self.queue.popleft()
            n += 1
            if kind == "order":
                self.seen_orders[data.vt_orderid] = data
                if data.vt_orderid in self.pending_close:
                    side, _ = self.pending_close[data.vt_orderid]
                    if data.is_active():
                        self.pending_close[data.vt_orderid] = (side, data.volume - data.traded)
                    else:
                        del self.pending_close[data.vt_orderid]
                engine.on_order(data)
            elif kind == "trade":
                engine.on_trade(data)
            elif kind == "position":
                volume, frozen = data
                self.seen.volume.update(volume)
                self.seen.frozen.update(frozen)
                engine.on_position(VT, GATEWAY)
            elif kind == "tick":
                self.seen_tick = data
                engine.on_tick(data)

    # ------------------------------------------------------------------ the broker surface
    seen_tick: TickData | None = None

    def contract_of(self, vt_symbol: str) -> ContractData | None:
        return self.contract if vt_symbol == VT else None


class FakeBroker:
    """`terminal.orders.broker.EngineBroker`'s surface over a `FakeExchange`."""

    def __init__(self, exchange: FakeExchange) -> None:
        self.x = exchange

    def contract(self, vt_symbol):
        return self.x.contract_of(vt_symbol)

    def tick(self, vt_symbol):
        return self.x.seen_tick

    def position(self, vt_symbol, gateway, side):
        seen = self.x.seen
        return PositionData(GATEWAY, SYMBOL, EXCHANGE, side, seen.volume[side],
                            frozen=seen.frozen[side])

    def free_to_close(self, vt_symbol, gateway, exit_direction):
        side = held(exit_direction)
        pending = sum(left for s, left in self.x.pending_close.values() if s == side)
        return max(self.x.seen.volume[side] - max(self.x.seen.frozen[side], pending), 0.0)

    def preview(self, req, gateway, release=0.0, stop=False) -> Decision:
        if self.x.preview_denies:
            return Decision(False, "price_band", "denied by the test")
        return ALLOWED

    def send(self, req, gateway) -> str:
        vt_orderid = self.x.accept(req)
        if req.offset != Offset.OPEN:
            self.x.pending_close[vt_orderid] = (held(req.direction), req.volume)
        return vt_orderid

    def cancel(self, vt_orderid) -> bool:
        order = self.x.orders.get(vt_orderid)
        if order is None or not order.is_active():
            return False
        self.x.cancels.add(vt_orderid)
        return True

    def orders_survive(self, gateway) -> bool:
        return True                        # a broker's exchange: its orders outlive a kill

    def order(self, vt_orderid):
        return self.x.seen_orders.get(vt_orderid)

    def order_by_reference(self, reference):
        for order in self.x.seen_orders.values():
            if order.reference == reference:
                return order
        return None

    def crossing(self, vt_symbol, gateway, direction, price):
        return [o.vt_orderid for o in self.working(vt_symbol)
                if o.type == OrderType.LIMIT and o.direction != direction
                and o.vt_orderid not in self.x.cancels
                and (o.price >= price if direction == Direction.SHORT else o.price <= price)]

    def working(self, vt_symbol):
        return [o for o in self.x.seen_orders.values() if o.is_active()]

    def close_requests(self, position, volume, price, vouched):
        exit_direction = Direction.SHORT if position.direction == Direction.LONG \
            else Direction.LONG
        return [OrderRequest(SYMBOL, EXCHANGE, exit_direction, OrderType.LIMIT, volume, price,
                             Offset.CLOSETODAY)]

    def marketable_price(self, tick, contract, direction):
        return tick.last_price + (5 if direction == Direction.LONG else -5) * TICK


def _copy_order(order: OrderData) -> OrderData:
    copy = OrderData(order.gateway_name, order.symbol, order.exchange, order.orderid,
                     order.type, order.direction, order.offset, order.price, order.volume,
                     order.traded, order.status, order.datetime, order.reference)
    return copy


MARKET_ACTIONS = ("tick", "fill", "deliver", "cancels", "reject")


def market_step(data, x: FakeExchange, action: str) -> None:
    """One thing the market does in a property test (Hypothesis draws from `data`): a tick,
    a fill of a working order (its reports in either order), some reports delivered, the
    cancels confirmed, an unfilled order rejected."""
    from hypothesis import strategies as st

    active = sorted(v for v, o in x.orders.items() if o.is_active())
    if action == "tick":
        x.tick(data.draw(st.integers(-4, 4), label="moves"))
        x.deliver()
    elif action == "fill" and active:
        x.fill(data.draw(st.sampled_from(active), label="order"),
               data.draw(st.integers(1, 3), label="lots"),
               data.draw(st.booleans(), label="trade first"))
    elif action == "deliver":
        x.deliver(data.draw(st.integers(1, 4), label="reports"))
    elif action == "cancels":
        x.confirm_cancels()
    elif action == "reject" and active:
        order = x.orders[data.draw(st.sampled_from(active), label="rejected")]
        if not order.traded:
            x.end(order.vt_orderid, Status.REJECTED)

