"""The managed orders in the running terminal: their book and templates in the data folder,
their broker over the engine and the risk guard, their handlers on the event thread, their
views routed to the windows, and their re-arming once the journal's orders are known."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from vnpy.event import Event
from vnpy.trader.event import EVENT_ORDER, EVENT_POSITION, EVENT_TICK, EVENT_TRADE

from terminal.core.alerts import SEVERE, WARNING, Alert
from terminal.core.kernel import Kernel
from terminal.core.paths import DataPaths
from terminal.core.symbols import split_vt_symbol
from terminal.core.timezone import CHINA_TZ
from terminal.gateways.connection import State as ConnectionState
from terminal.gateways.connection import Status as ConnectionStatus
from terminal.market import indicators
from terminal.market.trading import EVENT_TRADER_CANCEL, Trading
from terminal.orders.book import ManagedBook
from terminal.orders.broker import EngineBroker
from terminal.orders.manager import ManagedOrders
from terminal.orders.model import EVENT_MANAGED
from terminal.orders.templates import OrderTemplates
from terminal.risk.service import RiskService
from terminal.services.chart_history import ChartSources
from terminal.storage.market_store import MarketStore

EVENT_MANAGED_RESTORE = "eManagedRestore"
ATR_KEEP_SECONDS = 60.0


def build_managed(kernel: Kernel, paths: DataPaths, trading: Trading, risk: RiskService,
                  store: MarketStore) -> tuple[ManagedOrders, OrderTemplates, list[Alert]]:
    """The engine, the templates, and what could not be read at start (severe alerts)."""
    problems: list[Alert] = []
    now = datetime.now(CHINA_TZ)
    book = ManagedBook(paths.managed_orders_file)
    if book.kept_aside is not None:
        problems.append(Alert(now, SEVERE, "managed_order", "", (
            f"The managed orders file could not be used ({book.why}); it is kept as "
            f"{book.kept_aside.name} and a new one started. Stops and brackets from before "
            "are NOT armed: check every position's protection.")))
    templates = OrderTemplates(paths.order_templates_file)
    if templates.problem:
        problems.append(Alert(now, WARNING, "order_templates", "", templates.problem))
    engine = kernel.event_engine
    managed = ManagedOrders(
        EngineBroker(kernel.main_engine, trading, risk.guard), book,
        lambda kind, data: engine.put(Event(kind, data)),
        atr=AtrSource(ChartSources(store, kernel.main_engine)), templates=templates)
    engine.register(EVENT_TICK, lambda event: managed.on_tick(event.data))
    engine.register(EVENT_ORDER, lambda event: managed.on_order(event.data))
    engine.register(EVENT_TRADE, lambda event: managed.on_trade(event.data))
    engine.register(EVENT_POSITION, lambda event: managed.on_position(
        event.data.vt_symbol, event.data.gateway_name))
    engine.register(EVENT_TRADER_CANCEL, lambda event: managed.on_trader_cancel(*event.data))
    engine.register(EVENT_MANAGED_RESTORE, lambda event: managed.restore())
    kernel.bridge.route_latest(EVENT_MANAGED, lambda view: view.id)
    # After the journal's orders (already queued): the engine knows them when it re-arms.
    engine.put(Event(EVENT_MANAGED_RESTORE, None))
    return managed, templates, problems


def watch_managed_connection(managed: ManagedOrders, status: ConnectionStatus) -> None:
    """A gateway going down while local stops are armed on it is a severe alert."""
    down = status.state in (ConnectionState.RECONNECTING, ConnectionState.DISCONNECTED,
                            ConnectionState.FAILED)
    managed.on_connection(status.gateway, not down, status.detail or status.state.value)


class AtrSource:
    """The average true range of a symbol's last n 1-minute bars (store, else gateway), kept a
    minute: asked when a trailing-by-ATR bracket is placed."""

    def __init__(self, sources: ChartSources) -> None:
        self.sources = sources
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, int], tuple[float, float | None]] = {}

    def __call__(self, vt_symbol: str, n: int) -> float | None:
        key = (vt_symbol, n)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and time.monotonic() - kept[0] < ATR_KEEP_SECONDS:
                return kept[1]
        symbol, exchange = split_vt_symbol(vt_symbol)
        bars = self.sources.history(symbol, exchange, "1m").bars
        value = None
        if len(bars["datetime"]) > n:
            series = indicators.atr(bars["high"], bars["low"], bars["close"], n)
            value = float(series[-1]) if series[-1] == series[-1] else None
        with self._lock:
            self._kept[key] = (time.monotonic(), value)
        return value
