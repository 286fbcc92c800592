"""Composition of the engine side: kernel, gateways, trading actions and the watchlist.

The same function builds the terminal for the GUI, the smoke mode, the benchmarks and the
tests, so what is tested is what runs. It must be called after `core.paths.prepare`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from vnpy.trader.event import EVENT_TICK

from terminal.core import settings as settings_file
from terminal.core.kernel import Kernel
from terminal.core.paths import DataPaths
from terminal.core.settings import Settings
from terminal.gateways.sim import SimGateway
from terminal.market import contracts
from terminal.market.bars import MinuteBarBuilder
from terminal.market.live_bars import LiveBars
from terminal.market.trading import Trading
from terminal.market.watchlist import Watchlist
from terminal.storage import vnpy_database
from terminal.storage.market_store import MarketStore
from terminal.storage.recorder import Recorder

log = logging.getLogger(__name__)

SIM = SimGateway.default_name


@dataclass
class Runtime:
    kernel: Kernel
    trading: Trading
    watchlist: Watchlist
    settings: Settings
    store: MarketStore
    live_bars: LiveBars
    recorder: Recorder | None = None

    def connect_simulator(self) -> None:
        self.kernel.connect(
            SIM,
            {
                "quote_rate": self.settings.sim_quote_rate,
                "capital": self.settings.sim_capital,
                "seed": self.settings.sim_seed,
            },
        )

    def close(self) -> None:
        self.kernel.close()
        if self.recorder is not None:
            self.recorder.stop()
        self.store.close()


def build(paths: DataPaths, settings: Settings) -> Runtime:
    store = MarketStore(paths.market_dir)
    vnpy_database.install(store)  # before any vn.py engine asks for its database
    kernel = Kernel(paths, settings)
    kernel.add_gateway(SimGateway)
    trading = Trading(kernel.main_engine)
    symbols = settings.watchlist or [spec.vt_symbol for spec in contracts.SPECS]

    def remember(symbols: list[str]) -> None:
        try:
            settings_file.save(paths.settings_file, replace(settings, watchlist=symbols))
        except OSError:
            log.exception("could not save the watchlist")

    watchlist = Watchlist(kernel.main_engine, symbols, on_change=remember)
    live_bars = LiveBars()
    kernel.event_engine.register(EVENT_TICK, lambda event: live_bars.on_tick(event.data))
    recorder = None
    if settings.record_market_data:
        skip = set() if settings.record_simulator else {SIM}
        recorder = Recorder(store, paths.market_dir / "recording.db", skip, MinuteBarBuilder)
        kernel.event_engine.register(EVENT_TICK, lambda event: recorder.on_tick(event.data))
        recorder.start()
    return Runtime(kernel, trading, watchlist, settings, store, live_bars, recorder)
