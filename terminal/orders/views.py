"""What the windows see of a managed order: one immutable `ManagedView` per leg, with the
lots it stands for, where it lives ("local" or "at the exchange") and a line a trader reads."""

from __future__ import annotations

from vnpy.trader.constant import Direction

from terminal.market.prices import decimals_for
from terminal.orders.broker import EngineBroker, held_side
from terminal.orders.model import (AT_EXCHANGE, LOCAL, STOPS, Group, GroupKind, Kind, Leg,
                                   ManagedView)

_LONG = Direction.LONG
_STOPS = STOPS


def shown_volume(group: Group, leg: Leg, broker: EngineBroker) -> float:
    """The lots a leg stands for now: a protective stop's never more than the position
    it closes (its order is cut to the lots free when it goes)."""
    if leg.role == "entry":
        return max(leg.volume - leg.filled, 0.0)
    if leg.live_children:
        return leg.working
    if group.kind is GroupKind.BRACKET and leg.kind not in _STOPS:
        return max(leg.volume - leg.filled, 0.0)
    if group.kind is GroupKind.BRACKET and not group.legs[0].filled:
        return group.volume                 # planned, before the entry fills
    volume = group.room()
    if leg.close_only and leg.state.active:
        position = broker.position(group.vt_symbol, group.gateway_name,
                                   held_side(leg.direction))
        volume = min(volume, abs(position.volume) if position else 0.0)
    return volume


def view_of(group: Group, leg: Leg, broker: EngineBroker) -> ManagedView:
    contract = broker.contract(group.vt_symbol)
    tick = contract.pricetick if contract else 0.0
    live = leg.live_children
    # at the exchange only while an order of its own works there; else it lives here
    where = AT_EXCHANGE if live else LOCAL
    volume = shown_volume(group, leg, broker)
    shown_price = "market" if leg.kind is Kind.MARKET else f"@ {price_text(leg.price, tick)}"
    side = "Buy" if leg.direction == _LONG else "Sell"
    parts = [f"{side} {leg.kind.value} {volume:g} {shown_price}"]
    if leg.kind is Kind.STOP_LIMIT:
        parts.append(f"limit {price_text(leg.limit_price, tick)}")
    if leg.trail_text:
        parts.append(leg.trail_text)
    if leg.breakeven_after and not leg.breakeven_done:
        parts.append("breakeven pending")
    parts.append(where)
    return ManagedView(
        id=leg.id, group=group.id, role=leg.role, vt_symbol=group.vt_symbol,
        direction=leg.direction, volume=volume, filled=leg.filled, price=leg.price,
        kind=leg.kind.value, where=where, state=leg.state.value,
        vt_orderid=live[-1].vt_orderid if live else "", active=leg.state.active,
        text=" · ".join(parts), reason=leg.reason, template=group.template)


def side_word(direction: Direction) -> str:
    """"buy" or "sell", as a sentence says it."""
    return "buy" if direction == _LONG else "sell"


def price_text(price: float, tick: float) -> str:
    """A price with the digits of its tick."""
    return f"{price:.{decimals_for(tick)}f}" if tick else f"{price:g}"
