"""The order ticket's checks: a ticket becomes an `OrderRequest` or a set of field errors.

The same checks guard every order the terminal builds (ticket, hotkeys, close and flatten
actions), so a bad order is stopped with a field-level message before anything is sent.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.object import ContractData, OrderRequest

from terminal.market.prices import decimals_for, is_on_tick

PRICED_TYPES = (OrderType.LIMIT, OrderType.FAK, OrderType.FOK, OrderType.STOP)
TICKET_TYPES = (OrderType.LIMIT, OrderType.MARKET, OrderType.FAK, OrderType.FOK, OrderType.STOP)
TICKET_OFFSETS = (Offset.OPEN, Offset.CLOSE, Offset.CLOSETODAY, Offset.CLOSEYESTERDAY)
# A number as a trader types it: digits (of any script, as float() reads them), commas only
# between thousands, a decimal point; no exponent or underscores. "1,5" is not 15 lots, nor
# "1e1" 10.
_TYPED_NUMBER = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?|[+-]?\.\d+")
SHOWN_CHARS = 40  # of a bad value, in a message


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
        try:
            value = float(text)
        except OverflowError:  # an int beyond any float
            return None
    else:
        text = str(text).strip()
        if not _TYPED_NUMBER.fullmatch(text):
            return None
        value = float(text.replace(",", ""))
    return value if math.isfinite(value) else None


def _shown(value: object) -> str:
    """A value as a message quotes it: repr, cut short when long."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS - 4]}...{text[-1]}"


def _on_grid(price: float, pricetick: float) -> bool:
    """A whole number of ticks above 0, to the tick's own decimals: 4100.2003 is not on a
    0.2 grid, nor 0.00000001, though both are within `is_on_tick`'s float tolerance."""
    return price >= pricetick / 2 and is_on_tick(price, pricetick) \
        and round(price, decimals_for(pricetick)) == price


def check(ticket: Ticket, contract: ContractData | None) -> dict[str, str]:
    """Field name -> message for every problem in the ticket; empty when it can be sent."""
    errors: dict[str, str] = {}
    symbol = ticket.vt_symbol.strip()
    if not symbol:
        errors["symbol"] = "choose a symbol"
    elif contract is None:
        errors["symbol"] = f"unknown symbol {_shown(symbol)}"
    if ticket.direction not in (Direction.LONG, Direction.SHORT):
        errors["direction"] = "choose long or short"
    if ticket.offset not in TICKET_OFFSETS:
        errors["offset"] = "choose open or close"
    if ticket.order_type not in TICKET_TYPES:
        errors["type"] = f"order type {ticket.order_type} is not available"

    volume = _number(ticket.volume)
    if volume is None:
        errors["volume"] = f"volume {_shown(ticket.volume)} is not a number"
    elif volume <= 0 or volume != int(volume):
        errors["volume"] = f"volume must be a whole number of lots above 0, not {volume:.15g}"
    elif contract is not None:
        if volume < contract.min_volume:
            errors["volume"] = f"volume below the minimum of {contract.min_volume:g}"
        elif contract.max_volume and volume > contract.max_volume:
            errors["volume"] = f"volume above the exchange maximum of {contract.max_volume:g}"

    if ticket.order_type in PRICED_TYPES:
        price = _number(ticket.price)
        if price is None:
            errors["price"] = f"price {_shown(ticket.price)} is not a number"
        elif price <= 0:
            errors["price"] = "price must be above 0"
        elif contract is not None and price / contract.pricetick > 2**53:  # beyond exact ticks
            errors["price"] = f"price {price:.15g} is too large"
        elif contract is not None and not _on_grid(price, contract.pricetick):
            tick = f"{contract.pricetick:.{decimals_for(contract.pricetick)}f}"
            errors["price"] = f"price {price:.15g} is not a multiple of the tick {tick}"
    return errors


def to_request(ticket: Ticket, contract: ContractData | None) -> OrderRequest:
    """The request for a valid ticket; raises `TicketError` with every field error otherwise."""
    errors = check(ticket, contract)
    if errors:
        raise TicketError(errors)
    assert contract is not None  # noqa: S101 - `check` reported a missing contract above
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
