"""Small builders shared by the tests."""

from __future__ import annotations

from datetime import datetime

from vnpy.trader.constant import Direction, Exchange, Offset, OrderType
from vnpy.trader.object import OrderRequest, TickData


def book(symbol: str, exchange: Exchange, bid: float, ask: float, tick: float,
         volume: float = 10, last: float | None = None, last_volume: float = 0,
         limit_pct: float = 0.1) -> TickData:
    """A 5-level book with `volume` lots on every level."""
    mid = (bid + ask) / 2
    data = TickData(
        gateway_name="SIM", symbol=symbol, exchange=exchange, datetime=datetime(2026, 11, 20, 10),
        last_price=last if last is not None else bid, last_volume=last_volume,
        limit_up=round(mid * (1 + limit_pct) / tick) * tick,
        limit_down=round(mid * (1 - limit_pct) / tick) * tick,
        pre_close=mid,
    )
    for level in range(1, 6):
        setattr(data, f"bid_price_{level}", round(bid - (level - 1) * tick, 6))
        setattr(data, f"ask_price_{level}", round(ask + (level - 1) * tick, 6))
        setattr(data, f"bid_volume_{level}", volume)
        setattr(data, f"ask_volume_{level}", volume)
    return data


def request(symbol: str, exchange: Exchange, direction: Direction, volume: float,
            price: float = 0.0, offset: Offset = Offset.OPEN,
            order_type: OrderType = OrderType.LIMIT) -> OrderRequest:
    return OrderRequest(symbol=symbol, exchange=exchange, direction=direction, type=order_type,
                        volume=volume, price=price, offset=offset)
