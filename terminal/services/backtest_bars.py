"""The bars a backtest or an optimisation in this process runs on, and its strategy's warm-up.

- A series stored at the interval is used as is; 5m, 15m, 30m, 1h, 4h and d bars are otherwise
  built in memory from the shortest stored intraday series that divides them
  (terminal.backtest.built_bars, which the workbench's worker uses too).
- Warm-up (`load_bar(days, interval)` in a strategy's on_init): with `warmup_days` None it
  reads the interval the strategy asks for (1m unless it says otherwise) from the store, as
  the workbench and vn.py do, served from the run's bars when it asks for theirs (the store
  stays open until `close`); what it actually got is told after the run
  (engine.warmup_summary); with a number,
  the bars are read once from that many days before the start and every warm-up is served
  from them (an optimisation's settings and the best one's backtest alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from terminal.backtest import built_bars
from terminal.backtest.engine import history_range, select_history
from terminal.backtest.intervals import load_bars
from terminal.backtest.optimisation.evaluation import (
    SharedBars, load_shared_bars)
from terminal.core.paths import DataPaths
from terminal.services.errors import BadInput
from terminal.storage.market_store import MarketStore, StoreError


@dataclass
class Bars:
    """The period's bars as vn.py's load_data gives them, and the engine's bar_loader for the
    strategy's warm-up."""

    history: list
    load_bars: Any
    shared: SharedBars | None       # bars read once (an optimisation's, or built ones)
    bars_from: str                  # how the bars were had
    warmup: str                     # where the warm-up comes from
    warmup_days: int | None = None
    store: MarketStore | None = None   # open while the warm-up reads it

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def load(paths: DataPaths, symbol: str, exchange, interval: str, settings,
         warmup_days: int | None) -> Bars:
    """The bars of the period and a loader for the warm-up; BadInput when the store has
    neither the interval nor bars to build it from."""
    store = MarketStore(paths.market_dir)
    keep_open = False
    try:
        stored = built_bars.stored_series(store, symbol, exchange)
        if interval in stored:
            bars_from = f"the stored {interval} bars"
            if warmup_days is None:
                history = select_history(load_bars(
                    store, symbol, exchange, interval, *history_range(settings)), settings)
                keep_open = True
                return Bars(history, store.load_bars, None, bars_from,
                            "the strategy's warm-up (load_bar) reads the store", store=store)
            shared = load_shared_bars(store, settings, warmup_days)
        else:
            source = built_bars.source_for(interval, stored)
            if source is None:
                raise BadInput(f"no {interval} bars of {settings.vt_symbol} in the store"
                               + (", nor shorter bars to build them from" if interval != "1m"
                                  else "") + f"; {holdings(paths, symbol, exchange, store)}")
            if warmup_days is None:
                shared = built_bars.build(store, symbol, exchange, source, interval, settings)
            else:
                shared = built_bars.built_shared(store, symbol, exchange, source, interval,
                                                 settings, warmup_days)
            bars_from = built_bars.built_from(source, symbol)
        history = shared.history(settings)
        before = max(len(shared) - len(history), 0)
        if warmup_days is not None:
            return Bars(history, shared.load_bars, shared, bars_from,
                        f"{before:,} bars before the start, from {warmup_days} days before, "
                        "serve the strategy's warm-up", warmup_days)
        # a warm-up at another interval (load_bar's default is 1m) reads the store
        keep_open = True
        return Bars(history, built_bars.warmup_loader(shared, interval, store.load_bars),
                    shared, bars_from,
                    f"the strategy's warm-up (load_bar) reads these bars when it asks for "
                    f"{interval} bars ({before:,} before the start), the store for other "
                    "intervals", store=store)
    except (StoreError, built_bars.CannotBuild) as exc:
        raise BadInput(str(exc)) from None
    finally:
        if not keep_open:
            store.close()


def holdings(paths: DataPaths, symbol: str, exchange, store: MarketStore | None = None) -> str:
    """What the store holds for a symbol, for an error message."""
    own = store is None
    store = store or MarketStore(paths.market_dir)
    try:
        series = [s for s in store.series() if s.symbol == symbol and s.exchange == exchange]
    finally:
        if own:
            store.close()
    if not series:
        return f"the store holds nothing of {symbol}.{exchange.value} (see `data list`)"
    return f"the store holds of {symbol}.{exchange.value}: " + "; ".join(
        f"{s.interval} {s.first:%Y-%m-%d %H:%M} to {s.last:%Y-%m-%d %H:%M} ({s.count:,})"
        for s in series)
