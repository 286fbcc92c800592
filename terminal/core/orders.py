"""Order facts that more than one layer relies on.

The trader's own Flatten and Close (`terminal.market.trading`) send closing orders that must
get out when nothing else may: the risk gate lets them through while trading is HALTED, and
spares them the size, rate, count and duplicate limits, as long as they close no more than
the position holds free. Such a request carries the reference `TRADER_CLOSE` (what the Orders
dock shows) and is vouched for here by the object itself: a strategy or plugin that writes the
same reference on its own request gets none of that. Nothing outside the terminal's trading
actions calls `vouch`.
"""

from __future__ import annotations

import weakref

from vnpy.trader.object import OrderRequest

TRADER_CLOSE = "trader close"

# id of a vouched request -> a weak reference to it (requests are unhashable dataclasses; an
# entry goes when its request does, so a new object at a reused id is never taken for it)
_vouched: dict[int, weakref.ref] = {}


def vouch(req: OrderRequest) -> OrderRequest:
    """Mark `req` as the trader's own close (and give it the reference that says so)."""
    req.reference = TRADER_CLOSE
    key = id(req)
    _vouched[key] = weakref.ref(req, lambda _, key=key: _vouched.pop(key, None))
    return req


def is_trader_close(req: OrderRequest) -> bool:
    ref = _vouched.get(id(req))
    return ref is not None and ref() is req
