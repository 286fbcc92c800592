"""Trading actions: the single path by which the terminal's own windows send and cancel orders.

Everything here works on vn.py's `MainEngine` and its order-management state; nothing here
knows about Qt. Closing orders are split the way China exchanges want them: on SHFE and INE
yesterday's and today's volumes are closed by separate CLOSEYESTERDAY / CLOSETODAY orders.
"""

from __future__ import annotations

import logging

from vnpy.event import Event, EventEngine
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType
from vnpy.trader.engine import MainEngine
from vnpy.trader.object import (
    CancelRequest,
    ContractData,
    OrderData,
    OrderRequest,
    PositionData,
    TickData,
)

from terminal.core.orders import vouch
from terminal.market.flatten import Flattener
from terminal.market.pnl import is_long
from terminal.market.prices import round_to_tick
from terminal.market.ticket import Ticket, to_request

log = logging.getLogger(__name__)

SPLIT_CLOSE_EXCHANGES = (Exchange.SHFE, Exchange.INE)
# Put before the trader's own cancels go out (Cancel, Cancel all, Close, Flatten): data
# (vt_symbol or None for all, vt_orderid or None, and for Close the gateway and the direction
# of the closing orders, else None, None). The managed orders end what the trader cancels
# (their local stops included) instead of taking it for a cancel from outside.
EVENT_TRADER_CANCEL = "eTraderCancel"
CLOSE_SLIPPAGE_TICKS = 5


class TradingError(RuntimeError):
    pass


class Trading:
    def __init__(self, main_engine: MainEngine, event_engine: EventEngine | None = None) -> None:
        """With `event_engine`, Flatten and Close follow their cancels through to a flat
        position (`terminal.market.flatten`); without one they close the free lots only."""
        self.main_engine = main_engine
        self.event_engine = event_engine
        self.orders_sent = 0
        # closes of yesterday's lots sent and not yet known to the engine (its order report
        # still queued): they hold those lots already (see close_requests)
        self._unreported: dict[str, OrderRequest] = {}
        self.flattener = Flattener(event_engine, self._close_lots, main_engine.get_order,
                                   main_engine.get_position) \
            if event_engine is not None else None

    def contract(self, vt_symbol: str) -> ContractData | None:
        return self.main_engine.get_contract(vt_symbol.strip())

    def send_ticket(self, ticket: Ticket) -> str:
        """Send a ticket; raises `TicketError` (nothing sent) when a field is wrong."""
        contract = self.contract(ticket.vt_symbol)
        return self.send(to_request(ticket, contract), contract)

    def send(self, req: OrderRequest, contract: ContractData | None = None,
             gateway_name: str = "") -> str:
        """Send `req` to `gateway_name`, by default the gateway of the symbol's contract (a
        close goes to the gateway that holds the position instead)."""
        contract = contract or self.contract(req.vt_symbol)
        if contract is None:
            raise TradingError(f"unknown symbol {req.vt_symbol}")
        gateway_name = gateway_name or contract.gateway_name
        vt_orderid = self.main_engine.send_order(req, gateway_name)
        if not vt_orderid:
            raise TradingError(f"gateway {gateway_name} did not accept the order")
        self.orders_sent += 1
        if req.offset in (Offset.CLOSEYESTERDAY, Offset.CLOSE) \
                and req.exchange in SPLIT_CLOSE_EXCHANGES:
            self._unreported[vt_orderid] = req
        return vt_orderid

    def cancel(self, vt_orderid: str, announce: bool = True) -> bool:
        """Cancel one working order; `announce`: the trader's own (see EVENT_TRADER_CANCEL)."""
        order = self.main_engine.get_order(vt_orderid)
        if order is None or not order.is_active():
            return False
        if announce:
            self._announce(order.vt_symbol, vt_orderid)
        self.main_engine.cancel_order(order.create_cancel_request(), order.gateway_name)
        return True

    def _announce(self, vt_symbol: str | None, vt_orderid: str | None = None,
                  gateway: str | None = None, closing: Direction | None = None) -> None:
        if self.event_engine is not None:
            self.event_engine.put(Event(EVENT_TRADER_CANCEL,
                                        (vt_symbol, vt_orderid, gateway, closing)))

    def working_orders(self, vt_symbol: str | None = None) -> list[OrderData]:
        return [
            order for order in self.main_engine.get_all_active_orders()
            if vt_symbol is None or order.vt_symbol == vt_symbol
        ]

    def cancel_all(self, vt_symbol: str | None = None) -> int:
        self._announce(vt_symbol)
        orders = self.working_orders(vt_symbol)
        for order in orders:
            req = CancelRequest(orderid=order.orderid, symbol=order.symbol, exchange=order.exchange)
            self.main_engine.cancel_order(req, order.gateway_name)
        return len(orders)

    def close_requests(
        self, position: PositionData, volume: float | None = None, price: float | None = None,
        vouched: bool = True,
    ) -> list[OrderRequest]:
        """Limit orders that close `volume` (default: all that is not frozen), no one larger
        than the exchange takes, at `price` or (None) marketable. A net position
        (`Direction.NET`, one signed volume) is closed by its sign. `vouched`: the trader's
        own close (`core.orders.vouch`), which the gate lets out when trading is halted."""
        contract = self.contract(position.vt_symbol)
        tick = self.main_engine.get_tick(position.vt_symbol)
        if contract is None:
            raise TradingError(f"unknown symbol {position.vt_symbol}")
        if tick is None and price is None:
            raise TradingError(f"no quote for {position.vt_symbol} to price the close")
        held = abs(position.volume)
        closable = held - position.frozen if volume is None else min(volume, held)
        if closable <= 0:
            return []
        direction = Direction.SHORT if is_long(position) else Direction.LONG
        if price is None:
            price = self.marketable_price(tick, contract, direction)
        if contract.exchange not in SPLIT_CLOSE_EXCHANGES or position.direction == Direction.NET:
            parts = [(Offset.CLOSE, closable)]
        else:
            # yesterday's lots not already held by a working close of yesterday's (a CLOSE
            # on SHFE/INE closes yesterday's): sent again, the exchange would refuse them
            held = sum(order.volume - order.traded
                       for order in self.working_orders(position.vt_symbol)
                       if order.gateway_name == position.gateway_name
                       and order.direction == direction
                       and order.offset in (Offset.CLOSEYESTERDAY, Offset.CLOSE))
            held += self._unreported_yesterday(position, direction)
            yesterday = min(max(position.yd_volume - held, 0.0), closable)
            parts = [(Offset.CLOSEYESTERDAY, yesterday), (Offset.CLOSETODAY, closable - yesterday)]
        largest = contract.max_volume or closable
        requests = [
            OrderRequest(
                symbol=contract.symbol, exchange=contract.exchange, direction=direction,
                type=OrderType.LIMIT, volume=min(largest, part - done), price=price,
                offset=offset,
            )
            for offset, part in parts
            for done in _steps(part, largest)
        ]
        return [vouch(req) for req in requests] if vouched else requests

    def _unreported_yesterday(self, position: PositionData, direction: Direction) -> float:
        """Lots of yesterday's that closes sent a moment ago hold, their reports still on
        the way (a bracket's second target is priced in the same breath as its first)."""
        lots = 0.0
        for vt_orderid, req in list(self._unreported.items()):
            if self.main_engine.get_order(vt_orderid) is not None:
                self._unreported.pop(vt_orderid, None)          # counted as working now
            elif req.vt_symbol == position.vt_symbol and req.direction == direction \
                    and vt_orderid.startswith(f"{position.gateway_name}."):
                lots += req.volume
        return lots

    @staticmethod
    def marketable_price(tick: TickData, contract: ContractData, direction: Direction) -> float:
        """The opposite best price a few ticks through, inside the daily limits."""
        slip = CLOSE_SLIPPAGE_TICKS * contract.pricetick
        if direction == Direction.LONG:
            price = (tick.ask_price_1 or tick.last_price) + slip
            if tick.limit_up:
                price = min(price, tick.limit_up)
        else:
            price = (tick.bid_price_1 or tick.last_price) - slip
            if tick.limit_down:
                price = max(price, tick.limit_down)
        return round_to_tick(price, contract.pricetick)

    def _close_lots(self, position: PositionData, lots: float) -> list[str]:
        return [self.send(req, gateway_name=position.gateway_name)
                for req in self.close_requests(position, volume=lots)]

    def _close(self, position: PositionData, cancelled: list[str]) -> list[str]:
        if self.flattener is not None and self.flattener.active(position.vt_positionid):
            # A second click, Flatten after Close, the loss monitor's flatten racing the
            # trader: the position's lots may already be sold and not yet reported.
            raise TradingError(f"{position.vt_positionid} is already being closed")
        if self.flattener is None:
            free = abs(position.volume) - position.frozen
            return self._close_lots(position, free) if free > 0 else []
        return self.flattener.start(position, cancelled)

    def close_position(self, vt_positionid: str) -> list[str]:
        """Close the whole position: the working orders that hold its lots (closes on the
        other side) are cancelled, the free lots closed now, the rest once the cancels are
        confirmed."""
        position = self.main_engine.get_position(vt_positionid)
        if position is None or not position.volume:
            return []
        closing = Direction.SHORT if is_long(position) else Direction.LONG
        self._announce(position.vt_symbol, None, position.gateway_name, closing)
        holding = [order for order in self.working_orders(position.vt_symbol)
                   if order.gateway_name == position.gateway_name
                   and order.offset != Offset.OPEN and order.direction == closing]
        for order in holding:
            self.main_engine.cancel_order(order.create_cancel_request(), order.gateway_name)
        return self._close(position, [order.vt_orderid for order in holding])

    def flatten(self, vt_symbol: str | None = None) -> tuple[int, list[str]]:
        """Cancel working orders, then close every position (of one symbol, or all).

        The cancels go first; the lots they hold are closed once they are confirmed (an
        opening order that fills before its cancel is closed too).
        """
        self._announce(vt_symbol)
        working = self.working_orders(vt_symbol)
        for order in working:
            self.main_engine.cancel_order(order.create_cancel_request(), order.gateway_name)
        sent: list[str] = []
        failed: list[str] = []
        for position in self.main_engine.get_all_positions():
            if position.volume and (vt_symbol is None or position.vt_symbol == vt_symbol):
                cancelled = [o.vt_orderid for o in working
                             if o.vt_symbol == position.vt_symbol
                             and o.gateway_name == position.gateway_name]
                if self.flattener is not None and self.flattener.active(
                        position.vt_positionid):
                    continue                            # already on its way to flat
                try:                  # one position that cannot be closed stops no other
                    sent += self._close(position, cancelled)
                except TradingError as exc:
                    failed.append(f"{position.vt_positionid}: {exc}")
        if failed:
            raise TradingError(f"flatten: {len(sent)} closing order(s) sent, but not for "
                               + "; ".join(failed))
        return len(working), sent


def _steps(total: float, largest: float) -> range:
    """Where each order of at most `largest` lots starts within `total` lots."""
    return range(0, int(total), int(largest)) if total > 0 else range(0)
