"""A chart's history: its bars at the timeframe the trader picked, read from the store and
built from shorter stored bars where that timeframe is not stored itself, and the last
1-minute bars the chart rebuilds its latest bars from as live minutes arrive."""

from __future__ import annotations

import numpy as np
from vnpy.trader.constant import Exchange

from terminal.market.resample import resample, shortest_source
from terminal.storage.market_store import MarketStore

CHART_TIMEFRAMES = ("1m", "5m", "15m", "30m", "1h", "4h", "d")
TAIL_MINUTES = 3000          # 1-minute bars kept to extend a chart's last bars live


def chart_history(store: MarketStore, symbol: str, exchange: Exchange,
                  timeframe: str) -> tuple[dict, dict]:
    """A chart's bars at `timeframe`, and the last 1-minute bars (to rebuild its latest bars
    as live minutes arrive). Built from the shortest stored bars that divide the timeframe
    (stored 1-minute bars usually); a series stored at the timeframe itself is used as is."""
    stored = {info.interval for info in store.series()
              if info.symbol == symbol and info.exchange == exchange}
    source = _best_source(stored, timeframe)
    empty = {"datetime": np.empty(0, np.int64)}
    if source is None:
        return empty, empty
    table = store.load_table(symbol, exchange, source)
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    bars = columns if source == timeframe else resample(
        columns, source, timeframe, symbol, exchange, store.tz)
    tail = {name: values[-TAIL_MINUTES:] for name, values in columns.items()} \
        if source == "1m" else empty
    return bars, tail


def _best_source(stored: set[str], timeframe: str) -> str | None:
    return timeframe if timeframe in stored else shortest_source(timeframe, stored)
