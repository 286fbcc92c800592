"""Composition of the engine side: kernel, gateways, trading actions and the watchlist.

The same function builds the terminal for the GUI, the smoke mode, the benchmarks and the
tests, so what is tested is what runs. It must be called after `core.paths.prepare`.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime

from vnpy.event import Event
from vnpy.trader.constant import Status
from vnpy.trader.event import (
    EVENT_ACCOUNT,
    EVENT_ORDER,
    EVENT_POSITION,
    EVENT_TICK,
    EVENT_TRADE,
)
from vnpy_ctastrategy.base import EVENT_CTA_LOG, EVENT_CTA_STRATEGY

from terminal.core import settings as settings_file
from terminal.core.alerts import EVENT_ALERT, SEVERE, WARNING, Alert
from terminal.core.instance import InstanceLock
from terminal.core.kernel import Kernel
from terminal.core.paths import DataPaths
from terminal.core.settings import Settings
from terminal.core.timezone import CHINA_TZ
from terminal.gateways.connection import ConnectionManager
from terminal.gateways.connection import State as ConnectionState
from terminal.gateways.connection import Status as ConnectionStatus
from terminal.gateways.sim import SimGateway
from terminal.market import contracts, sessions
from terminal.market.bars import MinuteBarBuilder
from terminal.market.live_bars import LiveBars
from terminal.market.trading import Trading
from terminal.market.watchlist import Watchlist
from terminal.plugins.live import TerminalCtaEngine, start_engine
from terminal.plugins.loader import StrategyCatalog, plugin_folders
from terminal.risk.service import RiskService
from terminal.storage import vnpy_database
from terminal.storage.journal import Journal, JournalState, SetAside, open_journal
from terminal.storage.market_store import MarketStore
from terminal.storage.recorder import Recorder
from terminal.core.symbols import BadSymbol, split_vt_symbol

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
    recorder: Recorder | None = None
    restored: JournalState = field(default_factory=JournalState)
    connections: ConnectionManager | None = None
    risk: RiskService | None = None
    catalog: StrategyCatalog | None = None
    cta: TerminalCtaEngine | None = None
    # What went wrong at start and was recovered from (a journal or risk.json that could not
    # be used...): published as alerts once the journal listens; the GUI shows the severe ones
    # in a dialog at once.
    startup_alerts: list[Alert] = field(default_factory=list)
    instance: InstanceLock | None = None       # held while it runs; released by close

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
        if self.catalog is not None:
            self.catalog.close()              # plugin checks under way are killed
        if self.connections is not None:
            self.connections.close()
        self.kernel.close()
        if self.recorder is not None:
            self.recorder.stop()
        self.journal.close()
        self.store.close()
        if self.instance is not None:
            self.instance.release()


def build(paths: DataPaths, settings: Settings) -> Runtime:
    """The runtime, holding the data directory's instance lock (`AlreadyRunning` when another
    terminal does), or nothing held when it cannot be built."""
    instance = InstanceLock(paths.root)
    instance.acquire()                   # before anything is opened: one terminal per folder
    try:
        return _build(paths, settings, instance)
    except BaseException:
        instance.release()
        raise


def _build(paths: DataPaths, settings: Settings, instance: InstanceLock) -> Runtime:
    kernel = Kernel(paths, settings)
    store = MarketStore(paths.market_dir, on_repair=functools.partial(store_repaired, kernel))
    vnpy_database.install(store)  # before any vn.py engine asks for its database
    kernel.add_gateway(SimGateway)
    trading = Trading(kernel.main_engine, kernel.event_engine)
    symbols = settings.watchlist or [spec.vt_symbol for spec in contracts.SPECS]

    def remember(symbols: list[str]) -> None:
        settings.watchlist = list(symbols)    # the settings dialog shows what the file holds
        try:
            settings_file.save(paths.settings_file, settings)
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
    journal_path = paths.root / "journal.db"
    ran_here_before = journal_path.exists()
    risk = build_risk(kernel, paths, trading, expected=ran_here_before)
    journal, set_aside = open_journal(journal_path, contracts.trading_day)
    journal.register(kernel.event_engine)
    kernel.bridge.committed = journal.flush
    restored = journal.load(contracts.trading_day(datetime.now(CHINA_TZ)))
    publish_restored(kernel, restored)
    startup_alerts = list(risk.startup_alerts)
    risk.startup_alerts.clear()
    if set_aside is not None:
        startup_alerts.insert(0, journal_alert(journal_path, set_aside))
    if restored.unreadable:
        startup_alerts.append(Alert(datetime.now(CHINA_TZ), WARNING, "journal", "", (
            f"{restored.unreadable} record(s) of the trading journal {journal_path} could not "
            "be read and are not shown (they stay in the file; the log names them)")))
    for alert in startup_alerts:
        kernel.event_engine.put(Event(EVENT_ALERT, alert))
    connections = ConnectionManager(kernel, watchlist)
    kernel.connections = connections
    connections.listeners.append(lambda status: watch_connection(risk, status))
    catalog = StrategyCatalog(plugin_folders(settings.plugin_folder),
                              check_seconds=settings.plugin_check_seconds,
                              cache_file=paths.cache_dir / "plugin_checks.json")
    kernel.bridge.route_latest(EVENT_CTA_STRATEGY, lambda data: data["strategy_name"])
    kernel.bridge.route_every(EVENT_CTA_LOG)
    # Imports only the classes of restored strategies; the other plugin files are checked
    # once the window has settled (StrategiesDock.check_plugins_later), or when first listed.
    cta = start_engine(kernel.main_engine, catalog)
    return Runtime(kernel, trading, watchlist, settings, store, live_bars, journal, recorder,
                   restored, connections, risk, catalog, cta, startup_alerts, instance)


def store_repaired(kernel: Kernel, text: str) -> None:
    """The market data catalogue was rebuilt from the parts: the data is whole, but say so."""
    kernel.event_engine.put(Event(EVENT_ALERT, Alert(datetime.now(CHINA_TZ), WARNING,
                                                     "market_data", "", text)))


def journal_alert(path, set_aside: SetAside) -> Alert:
    return Alert(datetime.now(CHINA_TZ), SEVERE, "journal", "", (
        f"The trading journal {path} could not be used ({set_aside.reason}). It is kept, "
        f"untouched, as {set_aside.kept.name} in the same folder, and a new journal was "
        "started. Orders, trades and positions from before may be missing from the "
        "terminal's view: the broker's records are the reference."))


_session_map = functools.lru_cache(maxsize=None)(sessions.build)


def build_risk(kernel: Kernel, paths: DataPaths, trading: Trading,
               expected: bool = False) -> RiskService:
    """The gate in front of every order, and the monitors, with the contract tables' margin
    and fee rates and trading hours (products the tables do not know: 12% margin, hours
    not checked)."""
    def rates(vt_symbol: str) -> tuple[float, float, float]:
        try:
            symbol, exchange = split_vt_symbol(vt_symbol)
        except BadSymbol:
            return 0.12, 0.0, 0.0
        spec = contracts.find(vt_symbol) or next(
            (s for s in contracts.SPECS if s.exchange == exchange
             and s.product == sessions.product_of(symbol)), None)
        return (spec.margin_rate, spec.fee_rate, spec.fee_per_lot) if spec else (0.12, 0.0, 0.0)

    def in_session(vt_symbol: str, now: datetime) -> bool:
        try:
            symbol, exchange = split_vt_symbol(vt_symbol)
        except BadSymbol:
            return False
        listed = sessions.sessions_for(symbol, exchange)
        if listed is None:
            return False
        minute = now.hour * 60 + now.minute
        return now.weekday() < 5 and _session_map(listed).segment[minute] >= 0

    def flatten(vt_symbol: str) -> None:
        trading.flatten(vt_symbol)

    return RiskService(kernel.main_engine, kernel.event_engine, paths.root / "risk.json",
                       rates, in_session, lambda: contracts.trading_day(datetime.now(CHINA_TZ)),
                       flatten, expected=expected)


def watch_connection(risk: RiskService, status: ConnectionStatus) -> None:
    """A live gateway going down is a risk event; coming back clears it."""
    if status.state in (ConnectionState.RECONNECTING, ConnectionState.DISCONNECTED):
        risk.monitor.gateway_down(status.gateway, status.detail or status.state.value)
    elif status.state == ConnectionState.CONNECTED:
        risk.monitor.gateway_up(status.gateway)


def publish_restored(kernel: Kernel, state: JournalState) -> None:
    """Show today's orders, trades and alerts, and the last known positions and accounts,
    as they were before the terminal stopped (or was killed). The simulated exchange's working
    orders did not survive its process: they come back cancelled, saying so."""
    put = kernel.event_engine.put
    for order in state.orders:
        if order.gateway_name == SIM and order.is_active():
            order.status = Status.CANCELLED
            order.extra = {**(order.extra or {}),
                           "reason": "cancelled: the simulated exchange was restarted"}
        put(Event(EVENT_ORDER, order))
    for trade in state.trades:
        put(Event(EVENT_TRADE, trade))
    for alert in state.alerts:
        put(Event(EVENT_ALERT, alert))
    for position in state.positions:
        if position.gateway_name != SIM and position.volume:
            put(Event(EVENT_POSITION, position))
    for account in state.accounts:
        if account.gateway_name != SIM:
            put(Event(EVENT_ACCOUNT, account))
