"""The composition root: `build` makes the engine side of the terminal (kernel, market store,
gateways, trading actions, watchlist, journal, risk, connections, live strategies) in
dependency order, each object finished by its constructor; nothing is wired in afterwards.

The same function builds the terminal for the GUI (`terminal.app.main` builds the window
around it), the smoke mode, the benchmarks and the tests, so what is tested is what runs. It
must be called after `core.paths.prepare`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime

from vnpy.event import Event
from vnpy.trader.event import EVENT_TICK
from vnpy_ctastrategy.base import EVENT_CTA_LOG, EVENT_CTA_STRATEGY

from terminal.core import settings as settings_file
from terminal.core.alerts import EVENT_ALERT, SEVERE, WARNING, Alert
from terminal.core.instance import InstanceLock
from terminal.core.kernel import Kernel
from terminal.core.paths import DataPaths
from terminal.core.settings import Settings
from terminal.core.timezone import CHINA_TZ
from terminal.core.trading_day import current_trading_day, trading_day
from terminal.gateways.connection import ConnectionManager
from terminal.gateways.sim import SimGateway
from terminal.market import contracts
from terminal.market.alert_book import PriceAlerts
from terminal.market.bars import MinuteBarBuilder
from terminal.market.drawings import Drawings
from terminal.market.live_bars import LiveBars
from terminal.market.trading import Trading
from terminal.market.watchlist import Watchlist
from terminal.plugins.live import TerminalCtaEngine, start_engine
from terminal.plugins.loader import StrategyCatalog, plugin_folders
from terminal.risk.service import RiskService
from terminal.storage import vnpy_database
from terminal.storage.journal import Journal, JournalState, open_journal
from terminal.storage.market_store import MarketStore
from terminal.storage.recorder import Recorder
from terminal.orders import ManagedOrders, OrderTemplates
from terminal.system.managed_wiring import build_managed, watch_managed_connection
from terminal.system.price_alert_wiring import build_price_alerts
from terminal.system.restore import kept_aside_alert, publish_restored, unreadable_alert
from terminal.system.risk_wiring import build_risk, watch_connection

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
    journal: Journal
    recorder: Recorder | None          # None when market data is not recorded
    restored: JournalState
    connections: ConnectionManager
    risk: RiskService
    catalog: StrategyCatalog
    cta: TerminalCtaEngine
    instance: InstanceLock             # held while it runs; released by close
    drawings: Drawings                 # every symbol's drawings, kept in the data directory
    price_alerts: PriceAlerts          # checked on the event thread at every tick
    managed: ManagedOrders             # stops, OCO, brackets, cancel-then-replace modifies
    order_templates: OrderTemplates    # the named brackets
    # What went wrong at start and was recovered from (a journal or risk.json that could not
    # be used...): published as alerts once the journal listens; the GUI shows the severe ones
    # in a dialog at once.
    startup_alerts: list[Alert] = field(default_factory=list)

    @property
    def startup_problems(self) -> list[Alert]:
        return [alert for alert in self.startup_alerts if alert.severity == SEVERE]

    def connect_simulator(self) -> None:
        """Connect the simulated exchange, with the account and positions the journal kept
        from the previous run (a broker keeps them across client restarts)."""
        accounts = [a for a in self.restored.accounts if a.gateway_name == SIM]
        self.kernel.connect(
            SIM,
            {
                "quote_rate": self.settings.sim_quote_rate,
                "capital": self.settings.sim_capital,
                "seed": self.settings.sim_seed,
                "restore": {
                    "positions": [p for p in self.restored.positions if p.gateway_name == SIM],
                    "account": accounts[-1] if accounts else None,
                },
            },
        )

    def close(self) -> None:
        self.catalog.close()              # plugin checks under way are killed
        self.connections.close()
        self.kernel.close()
        self.price_alerts.close()         # the last firing's state written before we go
        self.managed.book.close()
        if self.recorder is not None:
            self.recorder.stop()
        self.journal.close()
        self.store.close()
        self.instance.release()


def build(paths: DataPaths, settings: Settings, sim_clock=None) -> Runtime:
    """The runtime, holding the data directory's instance lock (`AlreadyRunning` when another
    terminal does), or nothing held when it cannot be built. `sim_clock`: the simulated
    exchange's clock (tests pass a `ManualClock`, so its market moves only when they say)."""
    instance = InstanceLock(paths.root)
    instance.acquire()                   # before anything is opened: one terminal per folder
    try:
        return _build(paths, settings, instance, sim_clock)
    except BaseException:
        instance.release()
        raise


def _build(paths: DataPaths, settings: Settings, instance: InstanceLock,
           sim_clock=None) -> Runtime:
    with contextlib.ExitStack() as opened:   # closed again, newest first, if the build fails
        journal_path = paths.root / "journal.db"
        ran_here_before = journal_path.exists()
        # First: without a journal nothing may trade (JournalError), and the bridge commits it
        # before the GUI is shown anything.
        journal, set_aside = open_journal(journal_path, trading_day)
        opened.callback(journal.close)
        kernel = Kernel(paths, settings, committed=journal.flush)
        opened.callback(kernel.close)
        store = MarketStore(paths.market_dir, on_repair=functools.partial(store_repaired, kernel))
        opened.callback(store.close)
        vnpy_database.install(store)  # before any vn.py engine asks for its database
        simulator = kernel.add_gateway(SimGateway)
        if sim_clock is not None:         # vn.py makes the gateway: its clock is set here
            simulator.clock = sim_clock
        trading = Trading(kernel.main_engine, kernel.event_engine)
        watchlist = Watchlist(kernel.main_engine,
                              settings.watchlist or [spec.vt_symbol for spec in contracts.SPECS],
                              on_change=functools.partial(remember_watchlist, paths, settings))
        live_bars = LiveBars()
        kernel.event_engine.register(EVENT_TICK, lambda event: live_bars.on_tick(event.data))
        recorder = start_recorder(kernel, store, paths, settings)
        if recorder is not None:
            opened.callback(recorder.stop)
        risk = build_risk(kernel, paths, trading, expected=ran_here_before)
        # Registered after the risk guard: both go first, so the last one registered runs first,
        # and a record is journalled before the guard or anything else acts on it.
        journal.register(kernel.event_engine)
        restored = journal.load(current_trading_day())
        publish_restored(kernel.event_engine, restored)
        startup_alerts = [kept_aside_alert(journal_path, set_aside)] if set_aside else []
        startup_alerts += risk.startup_alerts
        if restored.unreadable:
            startup_alerts.append(unreadable_alert(journal_path, restored.unreadable))
        # After the journal's orders are queued: they are known when the book re-arms.
        managed, order_templates, managed_problems = build_managed(kernel, paths, trading, risk,
                                                                   store)
        opened.callback(managed.book.close)
        startup_alerts += managed_problems
        for alert in startup_alerts:
            kernel.event_engine.put(Event(EVENT_ALERT, alert))
        connections = ConnectionManager(kernel, watchlist)
        opened.callback(connections.close)
        connections.listeners.append(functools.partial(watch_connection, risk))
        connections.listeners.append(functools.partial(watch_managed_connection, managed))
        catalog = StrategyCatalog(plugin_folders(settings.plugin_folder),
                                  check_seconds=settings.plugin_check_seconds,
                                  cache_file=paths.cache_dir / "plugin_checks.json")
        kernel.bridge.route_latest(EVENT_CTA_STRATEGY, lambda data: data["strategy_name"])
        kernel.bridge.route_every(EVENT_CTA_LOG)
        # Imports only the classes of restored strategies; the other plugin files are checked
        # once the window has settled (StrategiesDock.check_plugins_later), or when first listed.
        opened.callback(catalog.close)
        cta = start_engine(kernel.main_engine, catalog)
        drawings = Drawings(paths.drawings_dir,
                            on_problem=functools.partial(drawings_problem, kernel))
        price_alerts, alert_problems = build_price_alerts(kernel, paths, trading, drawings)
        for alert in alert_problems:
            kernel.event_engine.put(Event(EVENT_ALERT, alert))
        runtime = Runtime(kernel, trading, watchlist, settings, store, live_bars, journal,
                          recorder, restored, connections, risk, catalog, cta, instance,
                          drawings, price_alerts, managed, order_templates,
                          startup_alerts + alert_problems)
        opened.pop_all()                     # the runtime closes them from now on
        return runtime


def remember_watchlist(paths: DataPaths, settings: Settings, symbols: list[str]) -> None:
    """The watchlist as changed, kept in settings.json (the settings dialog shows what the
    file holds)."""
    settings.watchlist = list(symbols)
    try:
        settings_file.save(paths.settings_file, settings)
    except OSError:
        log.exception("could not save the watchlist")


def start_recorder(kernel: Kernel, store: MarketStore, paths: DataPaths,
                   settings: Settings) -> Recorder | None:
    """Ticks recorded into the store when the settings ask for it (the simulator's only when
    they say so too)."""
    if not settings.record_market_data:
        return None
    skip = set() if settings.record_simulator else {SIM}
    recorder = Recorder(store, paths.market_dir / "recording.db", skip, MinuteBarBuilder)
    kernel.event_engine.register(EVENT_TICK, lambda event: recorder.on_tick(event.data))
    recorder.start()
    return recorder


def store_repaired(kernel: Kernel, text: str) -> None:
    """The market data catalogue was rebuilt from the parts: the data is whole, but say so."""
    kernel.event_engine.put(Event(EVENT_ALERT, Alert(datetime.now(CHINA_TZ), WARNING,
                                                     "market_data", "", text)))


def drawings_problem(kernel: Kernel, vt_symbol: str, text: str) -> None:
    """A symbol's drawings file could not be read (kept aside) or written: said in an alert."""
    kernel.event_engine.put(Event(EVENT_ALERT, Alert(datetime.now(CHINA_TZ), WARNING,
                                                     "drawings", vt_symbol, text)))
