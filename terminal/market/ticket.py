"""The order ticket's checks: a ticket becomes an `OrderRequest` or a set of field errors.

The same checks guard every order the terminal builds (ticket, hotkeys, close and flatten
actions), so a bad order is stopped with a field-level message before anything is sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.object import ContractData, OrderRequest

from terminal.market.prices import decimals_for, is_on_tick

PRICED_TYPES = (OrderType.LIMIT, OrderType.FAK, OrderType.FOK, OrderType.STOP)
TICKET_TYPES = (OrderType.LIMIT, OrderType.MARKET, OrderType.FAK, OrderType.FOK, OrderType.STOP)
TICKET_OFFSETS = (Offset.OPEN, Offset.CLOSE, Offset.CLOSETODAY, Offset.CLOSEYESTERDAY)


@dataclass
class Ticket:
    """What the trader typed; price and volume may still be text."""

    vt_symbol: str
    direction: Direction
    offset: Offset
    order_type: OrderType
    price: str | float
    volume: str | float
    reference: str = "ticket"


class TicketError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _number(text: str | float) -> float | None:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        try:
            value = float(str(text).strip().replace(",", ""))
        except ValueError:
            return None
    return value if math.isfinite(value) else None


def check(ticket: Ticket, contract: ContractData | None) -> dict[str, str]:
    """Field name -> message for every problem in the ticket; empty when it can be sent."""
    errors: dict[str, str] = {}
    symbol = ticket.vt_symbol.strip()
    if not symbol:
        errors["symbol"] = "choose a symbol"
    elif contract is None:
        errors["symbol"] = f"unknown symbol {symbol!r}"
    if ticket.direction not in (Direction.LONG, Direction.SHORT):
        errors["direction"] = "choose long or short"
    if ticket.offset not in TICKET_OFFSETS:
        errors["offset"] = "choose open or close"
    if ticket.order_type not in TICKET_TYPES:
        errors["type"] = f"order type {ticket.order_type} is not available"

    volume = _number(ticket.volume)
    if volume is None:
        errors["volume"] = f"volume {ticket.volume!r} is not a number"
    elif volume <= 0 or volume != int(volume):
        errors["volume"] = f"volume must be a whole number of lots above 0, not {volume:g}"
    elif contract is not None:
        if volume < contract.min_volume:
            errors["volume"] = f"volume below the minimum of {contract.min_volume:g}"
        elif contract.max_volume and volume > contract.max_volume:
            errors["volume"] = f"volume above the exchange maximum of {contract.max_volume:g}"

    if ticket.order_type in PRICED_TYPES:
        price = _number(ticket.price)
        if price is None:
            errors["price"] = f"price {ticket.price!r} is not a number"
        elif price <= 0:
            errors["price"] = "price must be above 0"
        elif contract is not None and not is_on_tick(price, contract.pricetick):
            tick = f"{contract.pricetick:.{decimals_for(contract.pricetick)}f}"
            errors["price"] = f"price {price:g} is not a multiple of the tick {tick}"
    return errors


def to_request(ticket: Ticket, contract: ContractData | None) -> OrderRequest:
    """The request for a valid ticket; raises `TicketError` with every field error otherwise."""
    errors = check(ticket, contract)
    if errors:
        raise TicketError(errors)
    assert contract is not None
    price = _number(ticket.price) if ticket.order_type in PRICED_TYPES else 0.0
    return OrderRequest(
        symbol=contract.symbol,
        exchange=contract.exchange,
        direction=ticket.direction,
        type=ticket.order_type,
        volume=float(int(_number(ticket.volume) or 0)),
        price=float(price or 0.0),
        offset=ticket.offset,
        reference=ticket.reference,
    )
