"""Longer bars made from stored shorter ones and stored beside them: the Data dock's
"Resample to" and the `data resample` command. The store and the session rules meet here,
above both."""

from __future__ import annotations

from vnpy.trader.constant import Exchange

from terminal.market.resample import resample
from terminal.storage.market_store import MarketStore


def resample_stored(store: MarketStore, symbol: str, exchange: Exchange, source: str,
                    target: str) -> int:
    """Build `target` bars from the stored `source` bars and store them (replacing what the
    store held for those times); returns the number of bars written."""
    table = store.load_table(symbol, exchange, source)
    if table.num_rows == 0:
        raise ValueError(f"the store holds no {source} bars of {symbol}.{exchange.value}")
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    bars = resample(columns, source, target, symbol, exchange, store.tz)
    store.save_columns(symbol, exchange, target, bars)
    return len(bars["datetime"])
