"""A market store filled from a shared data file and installed as vn.py's database for the
length of a test module, as the parity tests and the interval tests both need."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def store_as_vnpy_database(csv_file: Path, folder: Path) -> Iterator:
    """The store in `folder` holding `csv_file`, vn.py's database meanwhile (its backtester's
    caches cleared on the way in and out); skips the test when the file is absent."""
    if not csv_file.exists():
        pytest.skip(f"shared test data not found: {csv_file}")
    import vnpy.trader.database as vnpy_database
    import vnpy_ctastrategy.backtesting as vnpy_backtesting

    from terminal.storage.csv_import import import_file
    from terminal.storage.market_store import MarketStore
    from terminal.storage.vnpy_database import install

    market = MarketStore(folder)
    import_file(market, csv_file)
    previous = vnpy_database.database
    install(market)
    caches = (vnpy_backtesting.load_bar_data, vnpy_backtesting.load_tick_data)
    for cache in caches:
        cache.cache_clear()
    try:
        yield market
    finally:
        vnpy_database.database = previous
        for cache in caches:
            cache.cache_clear()
        market.close()
