"""The main window's docks, one entry each: adding a dock is adding a `Dock` to `DOCKS`.

From this table the main window builds the dock widgets, the View menu (a toggle for every
dock, and for a dock with `menu` an action that brings it to the front, whose keys the trader
can change: shortcut id `view.<id>` in `ui.shortcuts`), the default arrangement that Reset
layout goes back to, and what it does when it closes.

A dock's `id` is its Qt object name: saved layouts (layout.ini) and workspaces find the dock by
it, so an id is never renamed. A factory gets the `DockHost` (the runtime, and what the window
offers its docks) and returns the dock's widget; it imports the dock's module itself, so this
table costs nothing to import (the shortcuts registry reads it). A widget with an
`apply(batch)` method is given every batch the bridge pump drains, once built. A `lazy` dock is
built when first shown or asked for (`MainWindow.widget`): its imports stay off the cold start.

The default arrangement: every dock goes to its `area` in table order, then each one with
`beside` is split off to the right of that dock, then each one with `tab_with` joins that
dock's tabs (all splits come first: Qt tabs a dock split off a tabbed one instead).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from terminal.core.health import HealthSampler
    from terminal.system.runtime import Runtime
    from terminal.ui.status_bar import TerminalStatusBar

Area = Qt.DockWidgetArea


class DockHost(Protocol):
    """What a dock's factory may use: the main window, seen from its docks."""

    runtime: Runtime
    health: HealthSampler
    status_bar: TerminalStatusBar
    settled: Any                  # Signal: the window has painted and loaded what it deferred

    def known_symbols(self) -> list[str]: ...   # every contract a gateway has reported

    def load_symbol(self, vt_symbol: str) -> None: ...   # into the order ticket

    def open_chart(self, vt_symbol: str = "", timeframe: str = "1m", name: str = "") -> Any: ...


@dataclass(frozen=True)
class Dock:
    id: str                                  # Qt object name; saved layouts find the dock by it
    title: str
    area: Area
    factory: Callable[[DockHost], QWidget]
    shortcut: str = ""                       # default keys of the `menu` action ("" none)
    menu: str = ""                           # View menu action bringing the dock to the front
    beside: str = ""                         # split off to the right of this dock
    tab_with: str = ""                       # tabbed with this dock
    front: bool = False                      # the tab shown in its group by default
    width: int = 0                           # default width / height shares (0: Qt's)
    height: int = 0
    lazy: bool = False                       # built when first shown
    closing: Callable[[Any], None] | None = None   # called with the widget when the window closes

    @property
    def shortcut_id(self) -> str:
        return f"view.{self.id}"


def market_watch(host: DockHost) -> QWidget:
    from terminal.ui.docks.market_watch import MarketWatchDock

    dock = MarketWatchDock(host.runtime.watchlist)
    dock.symbol_activated.connect(host.load_symbol)
    dock.chart_requested.connect(lambda symbol: host.open_chart(symbol))
    dock.alert_requested.connect(lambda symbol, price: price_alert_at(host, dock, symbol, price))
    return dock


def price_alert_at(host: DockHost, parent: QWidget, vt_symbol: str, price: float) -> Any:
    from terminal.ui.dialogs.price_alert import open_alert_dialog

    return open_alert_dialog(host.runtime.price_alerts, vt_symbol, parent, level=price)


def order_ticket(host: DockHost) -> QWidget:
    from terminal.ui.docks.order_ticket import OrderTicketDock

    runtime = host.runtime
    return OrderTicketDock(runtime.trading, runtime.managed, runtime.order_templates)


def orders(host: DockHost) -> QWidget:
    from terminal.ui.docks.orders import OrdersDock

    return OrdersDock(host.runtime.trading)


def trades(host: DockHost) -> QWidget:
    from terminal.ui.docks.trades import TradesDock

    return TradesDock()


def positions(host: DockHost) -> QWidget:
    from terminal.ui.docks.positions import PositionsDock

    return PositionsDock(host.runtime.trading, host.runtime.managed)


def account(host: DockHost) -> QWidget:
    from terminal.ui.docks.account import AccountDock

    return AccountDock()


def log(host: DockHost) -> QWidget:
    from terminal.ui.docks.log import LogDock

    return LogDock()


def alerts(host: DockHost) -> QWidget:
    from terminal.ui.docks.alerts import AlertsDock

    return AlertsDock(host.runtime.kernel.event_engine)


def price_alerts(host: DockHost) -> QWidget:
    from terminal.ui.docks.price_alerts import PriceAlertsDock

    return PriceAlertsDock(host.runtime.price_alerts)


def strategies(host: DockHost) -> QWidget:
    from terminal.ui.docks.strategies import StrategiesDock

    dock = StrategiesDock(host.runtime.cta, host.known_symbols)
    dock.check_plugins_later(host.settled)
    return dock


def data_manager(host: DockHost) -> QWidget:
    from terminal.ui.docks.data_manager import DataManagerDock

    dock = DataManagerDock(host.runtime.store, host.runtime.kernel.main_engine,
                           host.runtime.settings)
    dock.list_later(host.settled)
    return dock


def backtest(host: DockHost) -> QWidget:
    from terminal.ui.backtest import BacktestWorkbench   # the backtester, plotly, optimisers

    runtime = host.runtime
    return BacktestWorkbench(runtime.catalog, runtime.store,
                             runtime.kernel.paths.root / "backtests")


def performance(host: DockHost) -> QWidget:
    from terminal.ui.docks.performance import PerformanceDock, runtime_loader

    return PerformanceDock(runtime_loader(host.runtime))


def health(host: DockHost) -> QWidget:
    from terminal.ui.docks.health import HealthDock      # pyqtgraph

    dock = HealthDock(host.health)
    host.status_bar.follow(dock)        # the dock samples from now on, not the status bar
    return dock


def replay(host: DockHost) -> QWidget:
    from terminal.ui.docks.replay import ReplayDock

    runtime = host.runtime
    dock = ReplayDock(runtime.store, runtime.kernel.main_engine, runtime.watchlist)
    dock.list_later(host.settled)
    dock.symbol_activated.connect(host.load_symbol)
    return dock


def ladder(host: DockHost) -> QWidget:
    from terminal.ui.docks.ladder import LadderDock

    runtime = host.runtime
    return LadderDock(runtime.trading, runtime.managed, runtime.order_templates, runtime.store)


def managed_orders(host: DockHost) -> QWidget:
    from terminal.ui.docks.managed_orders import ManagedOrdersDock

    return ManagedOrdersDock(host.runtime.managed)


DOCKS: tuple[Dock, ...] = (
    Dock("market_watch", "Market watch", Area.LeftDockWidgetArea, market_watch,
         width=1100, height=520),
    Dock("order_ticket", "Order entry", Area.RightDockWidgetArea, order_ticket,
         beside="market_watch", front=True, width=380),
    Dock("orders", "Orders", Area.BottomDockWidgetArea, orders, front=True, width=950,
         height=330),
    Dock("managed_orders", "Stops and brackets", Area.BottomDockWidgetArea, managed_orders,
         tab_with="orders"),
    Dock("trades", "Trades", Area.BottomDockWidgetArea, trades, tab_with="orders"),
    Dock("positions", "Positions", Area.BottomDockWidgetArea, positions, beside="orders",
         front=True, width=550),
    Dock("account", "Account", Area.BottomDockWidgetArea, account, tab_with="positions"),
    Dock("log", "Log", Area.BottomDockWidgetArea, log, tab_with="trades"),
    Dock("alerts", "Risk alerts", Area.BottomDockWidgetArea, alerts, tab_with="log"),
    Dock("price_alerts", "Price alerts", Area.BottomDockWidgetArea, price_alerts,
         tab_with="alerts"),
    Dock("strategies", "Strategies", Area.BottomDockWidgetArea, strategies, tab_with="alerts"),
    Dock("data_manager", "Data", Area.BottomDockWidgetArea, data_manager, tab_with="log"),
    Dock("backtest", "Backtest", Area.BottomDockWidgetArea, backtest, lazy=True,
         tab_with="data_manager", menu="&Backtest workbench", shortcut="Ctrl+Shift+B",
         closing=lambda workbench: workbench.shutdown()),   # cancels runs, reaps workers
    Dock("performance", "Performance", Area.BottomDockWidgetArea, performance, lazy=True,
         tab_with="data_manager", closing=lambda dock: dock.shutdown()),
    Dock("health", "Health", Area.BottomDockWidgetArea, health, lazy=True, tab_with="log",
         closing=lambda dock: dock.stop()),
    Dock("replay", "Replay", Area.RightDockWidgetArea, replay, tab_with="order_ticket"),
    Dock("ladder", "Price ladder", Area.RightDockWidgetArea, ladder, tab_with="order_ticket",
         menu="Price &ladder", shortcut="Ctrl+L"),
)
