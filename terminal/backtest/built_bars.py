"""Bars of a length the store does not hold, built in memory from a shorter stored series: one
builder for the command line (services.backtest_bars) and the workbench's worker
(backtest.pool_jobs), so a run gives the same result from either.

5m, 15m, 30m, 1h, 4h and d bars are built from the shortest stored intraday series that
divides them, on the product's trading sessions (`market.resample`, the rules of `data
resample`); nothing is written to the store. They are handed to vn.py's engine as stock
vn.py runs such bars (terminal.backtest.intervals). The strategy's warm-up asking for the
run's own length is served from the built bars; another length (load_bar's default, 1m) is
read from the store, as in vn.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from terminal.backtest.engine import history_range
from terminal.backtest.intervals import engine_interval, name_of
from terminal.backtest.optimisation.evaluation import (
    SharedBars, load_shared_bars, warmup_series)
from terminal.core.symbols import split_vt_symbol
from terminal.core.timezone import to_ns
from terminal.market.resample import ResampleError, resample, shortest_source
from terminal.storage.market_store import BAR_FIELDS, MarketStore, from_ns


class CannotBuild(ValueError):
    """The bars cannot be built from the stored ones; the message names the series."""


def stored_series(store: MarketStore, symbol: str, exchange) -> dict:
    """The store's series of one contract, by interval."""
    return {info.interval: info for info in store.series()
            if info.symbol == symbol and info.exchange == exchange}


def source_for(interval: str, stored: dict) -> str | None:
    """The stored series to build `interval` from: the shortest stored intraday series whose
    length divides it; None when the store holds `interval` itself (nothing to build) or
    nothing can build it."""
    if interval in stored or interval == "1m":
        return None
    return shortest_source(interval, stored)


def built_from(source: str, symbol: str) -> str:
    """How built bars were had, for the run's record."""
    return f"built in memory from the stored {source} bars on {symbol}'s trading sessions"


def build(store: MarketStore, symbol: str, exchange, source: str, interval: str, settings,
          warmup_days: int | None = None) -> SharedBars:
    """`interval` bars built from the whole stored `source` series (whole trading days), as
    BarData, kept from `warmup_days` before the start (from the first when None) to the end
    of the backtest; CannotBuild says why when they cannot be."""
    from vnpy.trader.object import BarData

    built = build_columns(store, symbol, exchange, source, interval)
    first, last = history_range(settings)
    keep = built["datetime"] <= to_ns(last, store.tz)
    if warmup_days is not None:
        keep &= built["datetime"] >= to_ns(first - timedelta(days=warmup_days), store.tz)
    times = from_ns(built["datetime"][keep], store.tz)
    values = {name: built[name][keep].tolist() for name in BAR_FIELDS}
    return SharedBars([BarData("DB", symbol, exchange, moment, engine_interval(interval),
                               **{name: values[name][i] for name in BAR_FIELDS})
                       for i, moment in enumerate(times)])


def build_columns(store: MarketStore, symbol: str, exchange, source: str,
                  interval: str) -> dict:
    """`interval` bars built from the whole stored `source` series, as columns ("datetime"
    in ns); CannotBuild says why when they cannot be."""
    table = store.load_table(symbol, exchange, source)
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    try:
        return resample(columns, source, interval, symbol, exchange, store.tz)
    except ResampleError as exc:
        raise CannotBuild(f"{interval} bars cannot be built from the stored {source} bars of "
                          f"{symbol}.{exchange.value}: {exc}") from None


def warmup_loader(shared: SharedBars, interval: str, read):
    """A bar_loader serving `interval` from the built bars and other intervals from `read`
    (a strategy asking for 1m bars on a 5m run gets the stored 1m bars, as in vn.py)."""
    def load_bars(symbol, exchange, asked, start, end) -> list[Any]:
        if name_of(asked) == interval:
            return shared.load_bars(symbol, exchange, asked, start, end)
        return read(symbol, exchange, asked, start, end)

    return load_bars


def built_shared(store: MarketStore, symbol: str, exchange, source: str, interval: str,
                 settings, warmup_days: int) -> SharedBars:
    """Built bars read once for a search (an optimisation, a walk-forward, the command line
    with warm-up days): the built series from `warmup_days` before the start, with the other
    intervals' bars of those days as the store gives them (load_bar's own length, 1m by
    default, is read from the store as in vn.py)."""
    built = build(store, symbol, exchange, source, interval, settings, warmup_days)
    since = history_range(settings)[0] - timedelta(days=warmup_days)
    return SharedBars(built.bars, interval, warmup_series(
        store, symbol, exchange, interval, since, settings.start), since)


def shared_bars(store: MarketStore, settings, warmup_days: int = 30) -> SharedBars:
    """The bars every setting of a search shares, read once: the stored series of the run's
    length, or bars built from a shorter stored one (CannotBuild says why they cannot be),
    so the Optimise and Walk-forward tabs run every length the Backtest runs."""
    symbol, exchange = split_vt_symbol(settings.vt_symbol)
    name = name_of(settings.interval)
    stored = stored_series(store, symbol, exchange)
    source = source_for(name, stored)
    if source is None:
        return load_shared_bars(store, settings, warmup_days)
    return built_shared(store, symbol, exchange, source, name, settings, warmup_days)

