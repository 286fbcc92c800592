"""The market store behind vn.py's `BaseDatabase`, so vn.py's own engines read from it.

`vnpy.trader.database.get_database()` returns the module's `database` global when it is set;
`install` sets it, which is how CtaEngine.load_bar and BacktestingEngine.load_data come here.
"""

from __future__ import annotations

from datetime import datetime

import vnpy.trader.database as vnpy_database
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.database import BarOverview, BaseDatabase, TickOverview
from vnpy.trader.object import BarData, TickData

from terminal.storage.market_store import TICK_INTERVAL, MarketStore

VNPY_BAR_INTERVALS = {i.value for i in Interval if i != Interval.TICK}


class StoreDatabase(BaseDatabase):
    def __init__(self, store: MarketStore) -> None:
        self.store = store

    def save_bar_data(self, bars: list[BarData], stream: bool = False) -> bool:
        self.store.save_bars(bars)
        return True

    def save_tick_data(self, ticks: list[TickData], stream: bool = False) -> bool:
        self.store.save_ticks(ticks)
        return True

    def load_bar_data(self, symbol: str, exchange: Exchange, interval: Interval,
                      start: datetime, end: datetime) -> list[BarData]:
        return self.store.load_bars(symbol, exchange, interval, start, end)

    def load_tick_data(self, symbol: str, exchange: Exchange, start: datetime,
                       end: datetime) -> list[TickData]:
        return self.store.load_ticks(symbol, exchange, start, end)

    def delete_bar_data(self, symbol: str, exchange: Exchange, interval: Interval) -> int:
        return self.store.delete(symbol, exchange, interval.value)

    def delete_tick_data(self, symbol: str, exchange: Exchange) -> int:
        return self.store.delete(symbol, exchange, TICK_INTERVAL)

    def get_bar_overview(self) -> list[BarOverview]:
        """The bar series whose interval vn.py has a name for (resampled 5m or 30m bars have
        none: `Interval("5m")` raises)."""
        return [
            BarOverview(s.symbol, s.exchange, Interval(s.interval), s.count, s.first, s.last)
            for s in self.store.series() if s.interval in VNPY_BAR_INTERVALS
        ]

    def get_tick_overview(self) -> list[TickOverview]:
        return [
            TickOverview(s.symbol, s.exchange, s.count, s.first, s.last)
            for s in self.store.series() if s.interval == TICK_INTERVAL
        ]


def install(store: MarketStore) -> StoreDatabase:
    database = StoreDatabase(store)
    vnpy_database.database = database
    return database
