"""The account's own resting limit orders in one contract, best price first on each side, so
the gate can tell at once whether a new order would trade against one of them (a self-trade).

Kept by the risk guard from its order tracking: an order is added when it is sent and removed
when it is no longer active, or as soon as its cancel is sent: an exchange takes one
session's requests in the order they come, so the cancel goes before any order sent after it
(Flatten cancels the working orders and closes at once; the close must not meet them). If
the exchange refuses that cancel, the order works on unchecked for self-trade.

Only LIMIT orders rest on an exchange's book: FAK and FOK orders trade or die on arrival, a
market order never rests, and a STOP order held at the exchange (the simulator's) is not on
the book until it triggers, when it is a new order there.

Each side keeps its distinct prices sorted and the orders at each price in sending order, so
the best price is read in O(1); adding or removing an order costs a bisection over the
distinct prices. Not thread-safe: the guard calls it under its lock.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import NamedTuple

from vnpy.trader.constant import Direction

_LONG = Direction.LONG


def _slack(price: float) -> float:
    """Prices equal but for float rounding (4100.2 computed two ways) count as equal."""
    return 1e-9 * max(1.0, abs(price))


class RestingOrder(NamedTuple):      # a tuple: one is made per order sent, on the order path
    vt_orderid: str
    direction: Direction
    price: float
    volume: float            # lots still open

    def describe(self) -> str:
        side = "buy" if self.direction is _LONG else "sell"
        return f"{side} {self.volume:g} @ {self.price:g} ({self.vt_orderid})"


class _Side:
    """One side's orders by price; `prices` ascending."""

    __slots__ = ("at", "prices")

    def __init__(self) -> None:
        self.prices: list[float] = []
        self.at: dict[float, dict[str, RestingOrder]] = {}

    def add(self, order: RestingOrder) -> None:
        orders = self.at.get(order.price)
        if orders is None:
            orders = self.at[order.price] = {}
            insort(self.prices, order.price)
        orders[order.vt_orderid] = order

    def remove(self, order: RestingOrder) -> None:
        orders = self.at[order.price]
        del orders[order.vt_orderid]
        if not orders:
            del self.at[order.price]
            del self.prices[bisect_left(self.prices, order.price)]


class RestingOrders:
    """One account's resting limit orders in one contract."""

    __slots__ = ("_buys", "_by_id", "_sells")

    def __init__(self) -> None:
        self._buys = _Side()
        self._sells = _Side()
        self._by_id: dict[str, RestingOrder] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, vt_orderid: str) -> bool:
        return vt_orderid in self._by_id

    def put(self, vt_orderid: str, direction: Direction, price: float, volume: float) -> None:
        """Add the order, or update it (a partial fill leaves fewer lots open)."""
        old = self._by_id.get(vt_orderid)
        if old is not None:
            if old.price == price and old.direction is direction and old.volume == volume:
                return
            self.remove(vt_orderid)
        order = RestingOrder(vt_orderid, direction, price, volume)
        self._by_id[vt_orderid] = order
        (self._buys if direction is _LONG else self._sells).add(order)

    def shrink(self, vt_orderid: str, volume: float) -> None:
        """Fewer lots of the order rest (a fill); none or less: it leaves the book."""
        order = self._by_id.get(vt_orderid)
        if order is None:
            return
        if volume > 0:
            self.put(vt_orderid, order.direction, order.price, volume)
        else:
            self.remove(vt_orderid)

    def remove(self, vt_orderid: str) -> None:
        order = self._by_id.pop(vt_orderid, None)
        if order is not None:
            (self._buys if order.direction is _LONG else self._sells).remove(order)

    @property
    def best_buy(self) -> float | None:
        """The highest own resting buy price."""
        prices = self._buys.prices
        return prices[-1] if prices else None

    @property
    def best_sell(self) -> float | None:
        """The lowest own resting sell price."""
        prices = self._sells.prices
        return prices[0] if prices else None

    def crosses(self, direction: Direction, price: float | None) -> bool:
        """Would an order in `direction` at `price` (None: a market order) trade against one
        of these? A buy at or above the lowest own sell, a sell at or below the highest own
        buy; a market order against any on the other side. O(1)."""
        if direction is _LONG:
            best = self.best_sell
            return best is not None and (price is None or price >= best - _slack(best))
        best = self.best_buy
        return best is not None and (price is None or price <= best + _slack(best))

    def crossing(self, direction: Direction, price: float | None) -> list[RestingOrder]:
        """The own orders such an order would trade against, best price first (the order
        the exchange would match them in); costs as many steps as there are of them."""
        found: list[RestingOrder] = []
        if direction is _LONG:
            side = self._sells
            prices = side.prices if price is None else \
                side.prices[:bisect_left(side.prices, price + _slack(price))]
        else:
            side = self._buys
            prices = side.prices if price is None else \
                side.prices[bisect_left(side.prices, price - _slack(price)):]
            prices = prices[::-1]
        for level in prices:
            found.extend(side.at[level].values())
        return found

