"""What the managed orders need from the trading engine, in one place: contracts, quotes,
positions, the risk gate's verdict, and sending and cancelling through `Trading` (so every
child order passes the gate on the gateway boundary like any other order).

The engine (`terminal.orders.engine`) is written against this small surface; the property
tests drive it with a simulated broker of their own (tests/helpers/fake_exchange.py).
"""

from __future__ import annotations

from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.engine import MainEngine
from vnpy.trader.object import ContractData, OrderData, OrderRequest, PositionData, TickData

from terminal.market.trading import Trading
from terminal.risk.gate import ALLOWED, Decision
from terminal.risk.guard import RiskGuard


def held_side(exit_direction: Direction) -> Direction:
    """The position an exit in `exit_direction` closes."""
    return Direction.SHORT if exit_direction == Direction.LONG else Direction.LONG


class EngineBroker:
    def __init__(self, main_engine: MainEngine, trading: Trading,
                 guard: RiskGuard | None) -> None:
        self.engine = main_engine
        self.trading = trading
        self.guard = guard

    def contract(self, vt_symbol: str) -> ContractData | None:
        return self.engine.get_contract(vt_symbol)

    def tick(self, vt_symbol: str) -> TickData | None:
        return self.engine.get_tick(vt_symbol)

    def position(self, vt_symbol: str, gateway: str, held: Direction) -> PositionData | None:
        """The long or short position (a net one counts by its sign)."""
        net = self.engine.get_position(f"{gateway}.{vt_symbol}.{Direction.NET.value}")
        if net is not None and net.volume:
            return net if (net.volume > 0) == (held == Direction.LONG) else None
        return self.engine.get_position(f"{gateway}.{vt_symbol}.{held.value}")

    def free_to_close(self, vt_symbol: str, gateway: str, exit_direction: Direction) -> float:
        """Lots an exit may close now: the position less what working closes hold, as the
        gate counts them (closes sent a moment ago included)."""
        guard = self.guard
        contract = self.contract(vt_symbol)
        if guard is None or contract is None:
            position = self.position(vt_symbol, gateway, held_side(exit_direction))
            return max(abs(position.volume) - position.frozen, 0.0) if position else 0.0
        probe = OrderRequest(contract.symbol, contract.exchange, exit_direction,
                             OrderType.LIMIT, 1.0, 0.0)
        with guard.lock:
            return max(guard.context(probe, contract, gateway).free_to_close(exit_direction),
                       0.0)

    def preview(self, req: OrderRequest, gateway: str, release: float = 0.0,
                stop: bool = False) -> Decision:
        """The gate's verdict on `req` were it sent now; nothing is sent or counted.
        `release`: lots of the closed side held by working closes that will be cancelled
        before `req` goes (a stop's own targets, the order a modify replaces). `stop`: the
        order a stop sends when it fires, which first cancels the trader's own orders it
        would trade against (so no self-trade is judged now)."""
        guard = self.guard
        contract = self.contract(req.vt_symbol)
        if contract is None:
            return Decision(False, "unknown_contract",
                            f"{req.vt_symbol} is not a contract of any connected gateway")
        if guard is None or not guard.enabled:
            return ALLOWED
        with guard.lock:
            ctx = guard.context(req, contract, gateway)
            if stop:
                ctx.resting = None
            if release and req.offset == Offset.OPEN:
                ctx.pending_open = max(ctx.pending_open - release, 0.0)
                ctx.working_orders = max(ctx.working_orders - 1, 0)
            elif release:
                if req.direction == Direction.SHORT:
                    ctx.long_frozen = max(ctx.long_frozen - release, 0.0)
                else:
                    ctx.short_frozen = max(ctx.short_frozen - release, 0.0)
                ctx.working_orders = max(ctx.working_orders - 1, 0)
            return guard.gate.check(req, ctx)

    def send(self, req: OrderRequest, gateway: str) -> str:
        """The order's vt_orderid (a denied one's too: its REJECTED event follows); raises
        `TradingError` when the gateway takes nothing."""
        return self.trading.send(req, gateway_name=gateway)

    def cancel(self, vt_orderid: str) -> bool:
        return self.trading.cancel(vt_orderid, announce=False)     # the engine's own

    def orders_survive(self, gateway: str) -> bool:
        """Whether `gateway`'s working orders outlive this process (a broker's do; the
        simulated exchange's die with it: `orders_die_with_process`)."""
        return not getattr(self.engine.get_gateway(gateway), "orders_die_with_process", False)

    def order(self, vt_orderid: str) -> OrderData | None:
        return self.engine.get_order(vt_orderid)

    def order_by_reference(self, reference: str) -> OrderData | None:
        for order in self.engine.get_all_orders():
            if order.reference == reference:
                return order
        return None

    def crossing(self, vt_symbol: str, gateway: str, direction: Direction,
                 price: float) -> list[str]:
        """The account's own resting orders an order in `direction` at `price` would trade
        against, as the risk gate sees them (an order sent a moment ago included); without
        a guard, from the engine's working orders."""
        guard = self.guard
        contract = self.contract(vt_symbol)
        if guard is None or contract is None:
            return [order.vt_orderid for order in self.working(vt_symbol)
                    if order.type == OrderType.LIMIT and order.direction != direction
                    and order.gateway_name == gateway
                    and (order.price >= price if direction == Direction.SHORT
                         else order.price <= price)]
        probe = OrderRequest(contract.symbol, contract.exchange, direction, OrderType.LIMIT,
                             1.0, price)
        with guard.lock:
            book = guard.context(probe, contract, gateway).resting
            return [order.vt_orderid for order in book.crossing(direction, price)] \
                if book is not None else []

    def working(self, vt_symbol: str | None) -> list[OrderData]:
        """Working orders of one symbol (None: all)."""
        return self.trading.working_orders(vt_symbol)

    def close_requests(self, position: PositionData, volume: float, price: float,
                       vouched: bool) -> list[OrderRequest]:
        return self.trading.close_requests(position, volume, price=price, vouched=vouched)

    def marketable_price(self, tick: TickData, contract: ContractData,
                         direction: Direction) -> float:
        return self.trading.marketable_price(tick, contract, direction)
