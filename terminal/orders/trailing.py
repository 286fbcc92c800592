"""Breakeven and trailing: where a protective stop's trigger goes as the price moves. It only
ever moves towards the price; a stop-limit's limit keeps its distance from the trigger."""

from __future__ import annotations

import math

from terminal.market.prices import decimals_for
from terminal.orders.model import Kind, Leg


def move_trigger(leg: Leg, level: float) -> None:
    """A stop's trigger moves; a stop-limit's limit keeps its distance from it."""
    if leg.kind is Kind.STOP_LIMIT:
        leg.limit_price += level - leg.price
    leg.price = level


def follow(leg: Leg, entry_price: float, last: float, sign: int,
           tick: float) -> tuple[bool, bool]:
    """Move `leg`'s trigger for the last price: (moved, moved to breakeven now). `sign` is +1
    for a sell stop (below a long), -1 for a buy stop."""
    moved = breakeven = False
    if leg.breakeven_after and not leg.breakeven_done and entry_price and \
            sign * (last - entry_price) >= leg.breakeven_after:
        level = entry_price + sign * leg.breakeven_offset
        leg.breakeven_done = True
        if sign * (level - leg.price) > 0:
            move_trigger(leg, level)
            moved = breakeven = True
    if leg.trail_distance:
        level = last - sign * leg.trail_distance
        if tick:
            level = (math.floor(level / tick + 1e-9) if sign > 0
                     else math.ceil(level / tick - 1e-9)) * tick
            level = round(level, decimals_for(tick))
        if sign * (level - leg.price) > 0:
            move_trigger(leg, level)
            moved = True
    return moved, breakeven
