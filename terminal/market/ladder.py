"""The price ladder (DOM) of one symbol, Qt-free: one row per price tick around a centre, with
the book's sizes, the trader's own orders, and today's volume traded at each price.

- **Rows.** Row 0 is the highest price; the centre tick sits in the middle row. The ladder
  follows the market by recentring when the last price leaves the middle band of rows
  (`Ladder.follow`), never by scrolling a row at a time, so a price the trader is about to
  click does not move under the mouse at every tick.
- **Book.** The latest tick's five levels a side (CTP gives one level for most contracts:
  the other rows are then empty).
- **Own orders.** The working orders at the exchange and the managed orders (local stops,
  brackets' legs: `terminal.orders`); a managed leg's own order at the exchange shows once, as
  the leg, so cancelling or dragging it goes to the manager, which keeps its group right.
- **Volume at price.** Today's 1-minute bars from the store, each bar's volume spread over
  its high-low range as the volume profile does (`market.volume_profile`), then every tick's
  volume change at its last price. The store's bars are authoritative for the minutes they
  cover: live volume counted for those minutes before they arrived is dropped, so a minute is
  never counted twice. A cumulative volume that goes backwards is a reconnect (or a feed
  restarted): the count re-bases on it and adds nothing. A new trading day empties the
  ladder's volume (and the dock reloads the day's bars from the store). The GUI gets the
  latest tick per symbol once a frame (the bridge): ticks folded into one frame add their
  volume at that frame's last price, which is exact for CTP's two quotes a second.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
from vnpy.trader.constant import Direction
from vnpy.trader.object import OrderData, PositionData, TickData

from terminal.core.timezone import CHINA_TZ, to_ns
from terminal.core.trading_day import trading_day
from terminal.market import volume_profile
from terminal.market.pnl import is_long, open_pnl
from terminal.market.prices import decimals_for

LEVELS = 5
DEFAULT_ROWS = 40
MIDDLE_BAND = 0.5          # the share of rows around the centre the last price may roam
NS_PER_MINUTE = 60_000_000_000
LOCAL = "local"            # where a managed order lives (terminal.orders' words)
AT_EXCHANGE = "at the exchange"


class LadderError(ValueError):
    """A click the ladder cannot turn into an order; the message says why, for the trader."""


# ---------------------------------------------------------------------------- rows
class Ladder:
    """Which price each row shows: `rows` rows of one tick each around `centre` (a tick
    index, price / pricetick); None until the first price is known."""

    def __init__(self, rows: int = DEFAULT_ROWS) -> None:
        self.rows = max(3, int(rows))
        self.centre: int | None = None

    @property
    def middle(self) -> int:
        return self.rows // 2

    def index_at(self, row: int) -> int | None:
        """The tick index row `row` shows (None before the first price)."""
        if self.centre is None:
            return None
        return self.centre + self.middle - row

    def row_of(self, index: int) -> int | None:
        """The row showing tick index `index`, None when it is off the ladder."""
        if self.centre is None:
            return None
        row = self.centre + self.middle - index
        return row if 0 <= row < self.rows else None

    def recentre(self, index: int) -> None:
        self.centre = int(index)

    def resize(self, rows: int) -> None:
        self.rows = max(3, int(rows))

    def scroll(self, rows: int) -> None:
        """Move the prices shown by `rows` rows (positive: higher prices come into view)."""
        if self.centre is not None:
            self.centre += int(rows)

    def in_band(self, index: int) -> bool:
        """Whether `index` is inside the middle band of rows."""
        if self.centre is None:
            return False
        half = max(1, int(self.rows * MIDDLE_BAND / 2))
        return abs(index - self.centre) <= half

    def follow(self, index: int) -> bool:
        """Recentre on `index` when it has left the middle band; whether the rows moved."""
        if self.in_band(index):
            return False
        self.recentre(index)
        return True


# ---------------------------------------------------------------------------- book
def book_sizes(tick: TickData, pricetick: float) -> tuple[dict[int, float], dict[int, float]]:
    """Bid and ask sizes by tick index from the tick's levels (empty levels left out)."""
    bids: dict[int, float] = {}
    asks: dict[int, float] = {}
    for level in range(1, LEVELS + 1):
        for side, sizes in (("bid", bids), ("ask", asks)):
            price = getattr(tick, f"{side}_price_{level}", 0.0) or 0.0
            volume = getattr(tick, f"{side}_volume_{level}", 0.0) or 0.0
            if price > 0 and volume > 0 and math.isfinite(price):
                sizes[tick_index(price, pricetick)] = float(volume)
    return bids, asks


def tick_index(price: float, pricetick: float) -> int:
    return round(price / pricetick)


def price_of(index: int, pricetick: float) -> float:
    return round(index * pricetick, decimals_for(pricetick))


# ---------------------------------------------------------------------------- own orders
@dataclass(frozen=True)
class OwnOrder:
    """One of the trader's orders as the ladder shows it."""

    key: str              # what cancel and modify take: a managed id or a vt_orderid
    direction: Direction
    price: float
    volume: float         # lots still open
    kind: str             # "limit", "stop", "stop limit", "market"
    where: str            # LOCAL or AT_EXCHANGE
    state: str
    text: str             # one line for the tooltip

    @property
    def is_stop(self) -> bool:
        return self.kind.startswith("stop")

    @property
    def is_local(self) -> bool:
        return self.where == LOCAL

    @property
    def buy(self) -> bool:
        return self.direction == Direction.LONG


def order_of(order: OrderData) -> OwnOrder:
    """A plain working order at the exchange."""
    side = "Buy" if order.direction == Direction.LONG else "Sell"
    left = order.volume - order.traded
    offset = order.offset.value if order.offset else ""
    return OwnOrder(order.vt_orderid, order.direction, order.price, left, "limit",
                    AT_EXCHANGE, order.status.value if order.status else "",
                    f"{side} {offset} {left:g} @ {order.price:g} · {order.vt_orderid} · "
                    f"at the exchange")


def view_of(view) -> OwnOrder:
    """A managed order (a `terminal.orders.ManagedView`)."""
    return OwnOrder(view.id, view.direction, view.price, view.volume, view.kind, view.where,
                    view.state, view.text)


class OwnOrders:
    """The trader's active orders of one symbol by price: plain working orders and managed
    legs. `managed_child(vt_orderid)` says whether an order is a managed leg's child (shown
    as its leg instead)."""

    def __init__(self, vt_symbol: str = "",
                 managed_child: Callable[[str], bool] = lambda vt_orderid: False) -> None:
        self.vt_symbol = vt_symbol
        self._managed_child = managed_child
        self._orders: dict[str, OwnOrder] = {}        # plain working orders by vt_orderid
        self._views: dict[str, OwnOrder] = {}         # managed legs by id
        self._view_orders: dict[str, str] = {}        # managed id -> its order at the gateway
        self._cells: dict[tuple[int, bool], list[OwnOrder]] | None = None
        self._cells_tick = 0.0

    def reset(self, vt_symbol: str, orders: Iterable[OrderData], views: Iterable) -> None:
        self.vt_symbol = vt_symbol
        self._orders.clear()
        self._views.clear()
        self._view_orders.clear()
        for view in views:
            self.update_view(view)
        for order in orders:
            self.update_order(order)
        self._cells = None

    def update_order(self, order: OrderData) -> bool:
        """Take an order event; whether the ladder's own orders changed."""
        if order.vt_symbol != self.vt_symbol:
            return False
        key = order.vt_orderid
        shown = order.is_active() and key not in self._view_orders.values() \
            and not self._managed_child(key)
        if shown:
            self._orders[key] = order_of(order)
        elif self._orders.pop(key, None) is None:
            return False
        self._cells = None
        return True

    def update_view(self, view) -> bool:
        """Take a managed order's view; whether the ladder's own orders changed."""
        if view.vt_symbol != self.vt_symbol:
            return False
        if view.active:
            self._views[view.id] = view_of(view)
            if view.vt_orderid:
                self._view_orders[view.id] = view.vt_orderid
                self._orders.pop(view.vt_orderid, None)    # shown as its leg from now on
            else:
                self._view_orders.pop(view.id, None)
        else:
            self._views.pop(view.id, None)
            self._view_orders.pop(view.id, None)
        self._cells = None
        return True

    def all(self) -> list[OwnOrder]:
        return [*self._views.values(), *self._orders.values()]

    def find(self, key: str) -> OwnOrder | None:
        return self._views.get(key) or self._orders.get(key)

    def at(self, index: int, buy: bool, pricetick: float) -> list[OwnOrder]:
        """The orders on one side of one price row."""
        if self._cells is None or self._cells_tick != pricetick:
            cells: dict[tuple[int, bool], list[OwnOrder]] = defaultdict(list)
            for order in self.all():
                if order.price > 0:
                    cells[(tick_index(order.price, pricetick), order.buy)].append(order)
            self._cells, self._cells_tick = dict(cells), pricetick
        return self._cells.get((index, buy), [])


# ---------------------------------------------------------------------------- volume
class VolumeAtPrice:
    """Today's volume traded at each tick of one symbol (see the module's notes)."""

    def __init__(self, pricetick: float) -> None:
        if not (math.isfinite(pricetick) and pricetick > 0):
            raise ValueError(f"price tick must be a number above 0, got {pricetick!r}")
        self.pricetick = pricetick
        self.day: date | None = None          # the trading day counted
        self.new_day = False                  # set when a tick began a new day (reseed)
        self._seed: dict[int, float] = {}
        self._seeded_until = 0                # ns: the store's bars cover minutes before this
        self._live: dict[int, dict[int, float]] = {}   # minute ns -> tick index -> volume
        self._totals: dict[int, float] = {}
        self._base: float | None = None       # the cumulative volume last seen
        self.largest = 0.0

    def at(self, index: int) -> float:
        return self._totals.get(index, 0.0)

    @property
    def total(self) -> float:
        return float(sum(self._totals.values()))

    def seed(self, day: date, times_ns, high, low, volume) -> bool:
        """Today's stored 1-minute bars (`day`'s; arrays in time order, bars start at the
        times given). False (nothing taken) when the ladder has moved to another day."""
        if self.day is not None and day != self.day:
            return False
        self.day = day
        times_ns = np.asarray(times_ns, np.int64)
        self._seed = {}
        self._seeded_until = int(times_ns[-1]) + NS_PER_MINUTE if len(times_ns) else 0
        profile = volume_profile.build(high, low, volume, self.pricetick, ticks_per_row=1) \
            if len(times_ns) else None
        if profile is not None:
            for row, traded in enumerate(profile.volumes.tolist()):
                if traded > 0:
                    self._seed[profile.first_row + row] = traded
        for minute in [m for m in self._live if m < self._seeded_until]:
            del self._live[minute]                    # the store's bar has that minute
        self._recount()
        return True

    def on_tick(self, tick: TickData) -> bool:
        """Count `tick`'s volume change at its last price; whether a row's volume changed."""
        volume = tick.volume
        if volume is None or not math.isfinite(volume) or not tick.last_price > 0:
            return False
        moment = tick.datetime
        if moment is not None and moment.tzinfo is not None:
            moment = moment.astimezone(CHINA_TZ)
        day = trading_day(moment) if moment is not None else self.day
        if self.day is None:
            self.day = day
        elif day is not None and day > self.day:      # a new trading day: start it empty
            self.clear(day)
            self.new_day = True
            self._base = volume
            return True
        elif day is not None and day < self.day:
            return False                              # a late tick of the day before
        base, self._base = self._base, volume
        if base is None or volume <= base:            # first sight, unchanged, or a reset
            return False
        when = to_ns(tick.datetime) if tick.datetime is not None else 0
        minute = when - when % NS_PER_MINUTE
        if minute < self._seeded_until:
            return False                              # the store's bar of it counts already
        index = tick_index(tick.last_price, self.pricetick)
        row = self._live.setdefault(minute, {})
        traded = volume - base
        row[index] = row.get(index, 0.0) + traded
        total = self._totals.get(index, 0.0) + traded
        self._totals[index] = total
        self.largest = max(self.largest, total)
        return True

    def clear(self, day: date | None = None) -> None:
        self.day = day
        self._seed = {}
        self._seeded_until = 0
        self._live.clear()
        self._base = None
        self._recount()

    def _recount(self) -> None:
        totals = dict(self._seed)
        for row in self._live.values():
            for index, traded in row.items():
                totals[index] = totals.get(index, 0.0) + traded
        self._totals = totals
        self.largest = max(totals.values(), default=0.0)


def minutes_of_day(times_ns, day: date, tz) -> np.ndarray:
    """Which of the bars (start times, ns) belong to trading day `day`: a boolean mask."""
    times_ns = np.asarray(times_ns, np.int64)
    if not len(times_ns):
        return np.zeros(0, bool)
    return volume_profile.trading_days(times_ns, tz) == day.toordinal()


# ---------------------------------------------------------------------------- position
@dataclass(frozen=True)
class PositionSummary:
    """The symbol's position as the ladder's header shows it: net lots (long positive),
    average price, and open P&L in money and in ticks at the last price."""

    net: float = 0.0
    long: float = 0.0
    short: float = 0.0
    average: float = 0.0
    pnl: float = 0.0
    pnl_ticks: float = 0.0


def position_summary(positions: Iterable[PositionData], last: float | None, size: float,
                     pricetick: float) -> PositionSummary:
    long_lots = short_lots = long_cost = short_cost = pnl = 0.0
    for position in positions:
        lots = abs(position.volume)
        if not lots:
            continue
        long = is_long(position)
        if long:
            long_lots += lots
            long_cost += position.price * lots
        else:
            short_lots += lots
            short_cost += position.price * lots
        if last is not None and last > 0:
            pnl += open_pnl(position, last, size, pricetick)[0]
        else:
            pnl += position.pnl
    net = long_lots - short_lots
    held = long_lots if net > 0 else short_lots if net < 0 else 0.0
    cost = long_cost if net > 0 else short_cost if net < 0 else 0.0
    average = cost / held if held else 0.0
    ticks = 0.0
    if net and last and pricetick > 0:
        ticks = (last - average) / pricetick * (1 if net > 0 else -1)
    return PositionSummary(net, long_lots, short_lots, average, pnl, ticks)


# ---------------------------------------------------------------------------- clicks
def stop_direction(ask_side: bool, price: float, last: float | None) -> Direction:
    """A right-click's stop: a buy stop above the market in the ask column, a sell stop
    below it in the bid column. LadderError says why a price on the wrong side is refused
    (such a stop would fire at once)."""
    if last is None or not last > 0:
        raise LadderError("no last price yet: a stop needs the market to be known")
    if ask_side:
        if price <= last:
            raise LadderError(f"a buy stop goes above the market (last {last:g}); "
                              f"{price:g} is not")
        return Direction.LONG
    if price >= last:
        raise LadderError(f"a sell stop goes below the market (last {last:g}); "
                          f"{price:g} is not")
    return Direction.SHORT


def closes_position(direction: Direction, lots: float, summary: PositionSummary) -> bool:
    """Whether an order of `direction` for `lots` is covered by the opposite position (a
    protective stop: `close_only`)."""
    held = summary.long if direction == Direction.SHORT else summary.short
    return held >= lots > 0


# ---------------------------------------------------------------------------- the whole
@dataclass(frozen=True)
class LadderRow:
    """What one row shows."""

    index: int
    price: float
    bid: float
    ask: float
    buys: tuple[OwnOrder, ...]
    sells: tuple[OwnOrder, ...]
    volume: float
    last: bool            # the last trade's price
    best_bid: bool
    best_ask: bool
    entry: int = 0        # the position's average price is in this row: 1 long, -1 short


class LadderBook:
    """One symbol's ladder: rows, book, own orders, volume at price and the last price.
    The dock feeds it and draws `row(r)`; nothing here knows how it is drawn."""

    def __init__(self, rows: int = DEFAULT_ROWS,
                 managed_child: Callable[[str], bool] = lambda vt_orderid: False) -> None:
        self.ladder = Ladder(rows)
        self.own = OwnOrders(managed_child=managed_child)
        self.vt_symbol = ""
        self.pricetick = 0.0
        self.size = 1.0
        self.volume: VolumeAtPrice | None = None
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self.last: float | None = None
        self.last_index: int | None = None
        self.tick: TickData | None = None
        self.entry: tuple[int, int] | None = None     # (tick index, 1 long / -1 short)

    def set_position(self, summary: PositionSummary) -> None:
        """Mark the row of the position's average price."""
        if summary.net and self.pricetick > 0:
            self.entry = (tick_index(summary.average, self.pricetick),
                          1 if summary.net > 0 else -1)
        else:
            self.entry = None

    def reset(self, vt_symbol: str, pricetick: float, size: float,
              orders: Iterable[OrderData] = (), views: Iterable = ()) -> None:
        """Show another symbol (its contract's tick and size): everything starts over."""
        self.vt_symbol, self.pricetick, self.size = vt_symbol, pricetick, size or 1.0
        self.volume = VolumeAtPrice(pricetick)
        self.bids, self.asks = {}, {}
        self.last = self.last_index = self.tick = self.entry = None
        self.ladder.centre = None
        self.own.reset(vt_symbol, orders, views)

    @property
    def ready(self) -> bool:
        return bool(self.vt_symbol) and self.pricetick > 0

    def on_tick(self, tick: TickData) -> bool:
        """The symbol's latest tick; whether the rows moved (recentred)."""
        if not self.ready or tick.vt_symbol != self.vt_symbol:
            return False
        self.tick = tick
        self.bids, self.asks = book_sizes(tick, self.pricetick)
        if self.volume is not None:
            self.volume.on_tick(tick)
        if tick.last_price and tick.last_price > 0:
            self.last = tick.last_price
            self.last_index = tick_index(tick.last_price, self.pricetick)
        elif self.bids or self.asks:             # no trade yet today: centre on the book
            self.last_index = self.middle_of_book()
        if self.last_index is None:
            return False
        if self.ladder.centre is None:
            self.ladder.recentre(self.last_index)
            return True
        return self.ladder.follow(self.last_index)

    def middle_of_book(self) -> int | None:
        bid = max(self.bids, default=None)
        ask = min(self.asks, default=None)
        if bid is not None and ask is not None:
            return (bid + ask) // 2
        return bid if bid is not None else ask

    def recentre(self) -> bool:
        """Centre on the last price (the middle of the book before a trade)."""
        index = self.last_index if self.last_index is not None else self.middle_of_book()
        if index is None:
            return False
        self.ladder.recentre(index)
        return True

    def price_at(self, row: int) -> float | None:
        index = self.ladder.index_at(row)
        return None if index is None or not self.ready else price_of(index, self.pricetick)

    def row(self, row: int) -> LadderRow | None:
        index = self.ladder.index_at(row)
        if index is None or not self.ready:
            return None
        best_bid = max(self.bids, default=None)
        best_ask = min(self.asks, default=None)
        return LadderRow(
            index, price_of(index, self.pricetick), self.bids.get(index, 0.0),
            self.asks.get(index, 0.0), tuple(self.own.at(index, True, self.pricetick)),
            tuple(self.own.at(index, False, self.pricetick)),
            self.volume.at(index) if self.volume is not None else 0.0,
            index == self.last_index and self.last is not None, index == best_bid,
            index == best_ask,
            self.entry[1] if self.entry is not None and self.entry[0] == index else 0)

    def largest_volume(self) -> float:
        return self.volume.largest if self.volume is not None else 0.0
