"""Price paths and 5-level books for the simulated exchange.

Each contract follows a random walk on its tick grid with a volatility of about 1.5% a day and
a weak pull back to its starting price, inside its daily limits. Books are one or two ticks
wide with depth sized to the contract (a few lots for index futures, hundreds for rebar).
"""

from __future__ import annotations

import math
import random
import sys
from datetime import datetime

from vnpy.trader.object import TickData

from terminal.market.contracts import ContractSpec
from terminal.market.prices import decimals_for, round_to_tick

LEVELS = 5
# The book's field names, made once, not formatted for every quote. Interned, so that passing
# them as keywords to TickData matches its parameters by identity rather than by comparing strings.
LEVEL_FIELDS = tuple(tuple(map(sys.intern, (f"bid_price_{n}", f"ask_price_{n}",
                                             f"bid_volume_{n}", f"ask_volume_{n}")))
                     for n in range(1, LEVELS + 1))
DAILY_VOL = 0.015
SNAPSHOTS_PER_DAY = 6.5 * 3600 * 2


def book_depth(spec: ContractSpec) -> int:
    """Lots at the best price: about CNY 20 million of notional (a few lots of an index
    future, hundreds of rebar); the simulated history's volume is sized by it too."""
    return max(2, int(20_000_000 / (spec.base_price * spec.size)))


class QuoteModel:
    """The market of one contract, advanced one snapshot at a time."""

    def __init__(self, spec: ContractSpec, rng: random.Random, gateway_name: str) -> None:
        self.spec = spec
        self._rng = rng
        tick = spec.pricetick
        self.pre_close = round_to_tick(spec.base_price, tick)
        self.limit_up = round_to_tick(self.pre_close * (1 + spec.limit_pct) - tick / 2, tick)
        self.limit_down = round_to_tick(self.pre_close * (1 - spec.limit_pct) + tick / 2, tick)
        self._mid_ticks = round(self.pre_close / tick)
        self._decimals = decimals_for(tick)       # a grid price is round(ticks * tick, this)
        self._sigma = max(0.7, DAILY_VOL * spec.base_price / tick / math.sqrt(SNAPSHOTS_PER_DAY))
        self._depth = book_depth(spec)
        self.open_price = 0.0
        self.high = 0.0
        self.low = 0.0
        self.volume = 0.0
        self.turnover = 0.0
        self.open_interest = float(self._depth * 400)
        self.last: TickData | None = None
        # A tick made by TickData's own constructor: what stays the same from quote to quote
        # (names, limits, vt_symbol from __post_init__, vn.py's defaults), for `_new_tick`.
        self._template = TickData(
            gateway_name=gateway_name, symbol=spec.symbol, exchange=spec.exchange,
            datetime=datetime.now(), name=spec.name, limit_up=self.limit_up,
            limit_down=self.limit_down, pre_close=self.pre_close,
        ).__dict__

    @property
    def mid_price(self) -> float:
        """Where the market stands between quotes (before the first: where it starts)."""
        return round(self._mid_ticks * self.spec.pricetick, self._decimals)

    def resume_at(self, price: float) -> None:
        """Continue the market from `price` (a restart with positions marked there)."""
        low, high = self.limit_down + LEVELS * self.spec.pricetick, \
            self.limit_up - LEVELS * self.spec.pricetick
        self._mid_ticks = round(min(max(price, low), high) / self.spec.pricetick)

    def step(self, now: datetime) -> TickData:
        spec, rng, tick = self.spec, self._rng, self.spec.pricetick
        random_ = rng.random
        base_ticks = self.pre_close / tick
        pull = (base_ticks - self._mid_ticks) * 0.0005
        self._mid_ticks += round(rng.gauss(pull, self._sigma))
        low_ticks = round(self.limit_down / tick) + LEVELS + 1
        high_ticks = round(self.limit_up / tick) - LEVELS - 1
        self._mid_ticks = min(max(self._mid_ticks, low_ticks), high_ticks)

        spread = 1 if random_() < 0.85 else 2
        bid1 = self._mid_ticks
        ask1 = bid1 + spread
        last_ticks = bid1 if random_() < 0.5 else ask1
        decimals = self._decimals
        last = round(last_ticks * tick, decimals)
        last_volume = float(max(1, int(rng.expovariate(1.0) * self._depth / 8)))

        self.volume += last_volume
        self.turnover += last * last_volume * spec.size
        self.open_interest = max(0.0, self.open_interest + rng.choice((-1, 0, 1)) * last_volume)
        if not self.open_price:
            self.open_price = self.high = self.low = last
        self.high = max(self.high, last)
        self.low = min(self.low, last)

        # This quote's fields over the constant ones (random.uniform's own call, same
        # draws, inlined in the book's volumes).
        fields = self._template.copy()
        fields["datetime"] = now          # (item by item: a keyword update is a dict more)
        fields["volume"] = self.volume
        fields["turnover"] = self.turnover
        fields["open_interest"] = self.open_interest
        fields["last_price"] = last
        fields["last_volume"] = last_volume
        fields["open_price"] = self.open_price
        fields["high_price"] = self.high
        fields["low_price"] = self.low
        depth = self._depth
        for level, (bid_price, ask_price, bid_volume, ask_volume) in enumerate(LEVEL_FIELDS, 1):
            fields[bid_price] = round((bid1 - level + 1) * tick, decimals)
            fields[ask_price] = round((ask1 + level - 1) * tick, decimals)
            scale = 0.6 + 0.2 * level
            fields[bid_volume] = float(max(1, int((0.2 + 0.8 * random_()) * depth * scale)))
            fields[ask_volume] = float(max(1, int((0.2 + 0.8 * random_()) * depth * scale)))
        tick_data = self.last = _new_tick(fields)
        return tick_data


def _new_tick(fields: dict) -> TickData:
    """A TickData holding `fields`: a copy of a constructed tick's attributes with this
    quote's values. TickData's generated constructor, with its forty-odd keywords, was half a
    quote's cost; every field of TickData is a number, a string, an enum, a time or None, so
    a copied dict shares nothing that changes (tests/test_sim_quotes.py checks each tick
    against one built by the constructor)."""
    tick = _NEW(TickData)
    tick.__dict__ = fields
    return tick


_NEW = object.__new__
