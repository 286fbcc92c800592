"""Longer bars made from stored shorter ones and stored beside them: the Data dock's
"Resample to" and the `data resample` command. The store and the session rules meet here,
above both."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vnpy.trader.constant import Exchange

from terminal.market.resample import DAILY, TARGETS, ResampleError, minutes_of, resample
from terminal.storage.market_store import TICK_INTERVAL, MarketStore

if TYPE_CHECKING:
    from terminal.storage.csv_import import Progress  # (percent, stage); csv_import loads pandas


def resample_stored(store: MarketStore, symbol: str, exchange: Exchange, source: str,
                    target: str, progress: Progress | None = None) -> int:
    """Build `target` bars from the stored `source` bars and store them (replacing what the
    store held for those times); returns the number of bars written. `progress` hears
    (percent, stage); raising from it before the write stops with nothing written."""
    step = progress or (lambda percent, stage: None)
    step(0, f"reading {source} bars")
    table = store.load_table(symbol, exchange, source)
    if table.num_rows == 0:
        raise ValueError(f"the store holds no {source} bars of {symbol}.{exchange.value}")
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    step(40, f"building {target} bars")
    bars = resample(columns, source, target, symbol, exchange, store.tz)
    step(90, "writing to the store")
    # Built from simulated bars, they are simulated too.
    store.save_columns(symbol, exchange, target, bars, store.source_of(symbol, exchange, source))
    return len(bars["datetime"])


def resample_targets(interval: str) -> list[str]:
    """The longer intervals a stored bar interval can be resampled to."""
    if interval in (TICK_INTERVAL, DAILY):
        return []
    try:
        length = minutes_of(interval)
    except ResampleError:
        return []
    return [t for t in TARGETS if t == DAILY or (minutes_of(t) > length
                                                  and minutes_of(t) % length == 0)]
