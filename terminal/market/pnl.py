"""A position's side and open P&L, one rule for every window (the chart's position line, the
ladder's header, the Positions dock, the protect dialog) and for closing it: a net position
(`Direction.NET`, one signed volume) is long or short by its sign."""

from __future__ import annotations

from vnpy.trader.constant import Direction
from vnpy.trader.object import PositionData


def is_long(position: PositionData) -> bool:
    return position.direction == Direction.LONG or (
        position.direction == Direction.NET and position.volume > 0)


def open_pnl(position: PositionData, last: float, size: float,
             pricetick: float) -> tuple[float, float]:
    """(money, ticks) of `position` at `last`: the money for all its lots with the contract
    multiplier `size`, the ticks per lot from its average price."""
    move = (last - position.price) if is_long(position) else (position.price - last)
    return move * abs(position.volume) * size, (move / pricetick if pricetick > 0 else 0.0)
