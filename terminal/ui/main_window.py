"""The main window: dockable windows, the menus, the saved layout and the status bar.

Menus: File (Settings…, Import market data…, Quit), Connect, View (charts, docks, Theme,
Workspaces, Reset layout), Trading, Help (About). Every action with a keyboard shortcut has an
id in `ui.shortcuts`; the trader's own keys come from settings.json and apply live.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QInputDialog, QLabel, QMainWindow, QMenu,
                               QMessageBox, QWidget)

from terminal import __version__
from terminal.core.bridge import Batch
from terminal.core.events import HandlerError
from terminal.core.kernel import Kernel
from terminal.core import deferred_imports
from terminal.core import settings as settings_file
from terminal.core.health import HealthSampler
from terminal.core.looplag import LoopLagMonitor
from terminal.core.resources import resource
from terminal.market.live_bars import LiveBars
from terminal.market.trading import Trading
from terminal.market.watchlist import Watchlist
from terminal.storage.market_store import MarketStore
from terminal.ui.dialogs.connect import ConnectionStatusLabel, ConnectMenu
from terminal.risk.limits import TradingState
from terminal.risk.service import ReviewRequired, RiskService
from terminal.ui.docks.account import AccountDock
from terminal.plugins.live import TerminalCtaEngine
from terminal.ui.docks.alerts import AlertsDock
from terminal.ui.docks.strategies import StrategiesDock
from terminal.ui.docks.data_manager import DataManagerDock
from terminal.ui.docks.health import HealthStatusLabel
from terminal.ui.docks.log import LogDock
from terminal.ui.docks.market_watch import MarketWatchDock
from terminal.ui.docks.order_ticket import OrderTicketDock
from terminal.ui.docks.orders import OrdersDock
from terminal.ui.docks.positions import PositionsDock
from terminal.ui.docks.replay import ReplayDock
from terminal.ui.docks.trades import TradesDock
from terminal.plugins.loader import StrategyCatalog
from terminal.ui.formats import PRICE_DIGITS
from terminal.ui.repaints import set_content
from terminal.ui.pump import BridgePump
from terminal.ui import shortcuts, theme
from terminal.ui.workspaces import DEFAULT_NAME, Workspaces, WorkspaceError
from terminal.ui.colours import ERROR_HEX, ERROR_TEXT_STYLE, WARNING_HEX

if TYPE_CHECKING:  # imported when first used: the window paints sooner without them
    from terminal.ui.dialogs.about import AboutDialog
    from terminal.ui.dialogs.risk import RiskDialog
    from terminal.ui.dialogs.settings import SettingsDialog
    from terminal.ui.docks.chart import ChartDock     # pyqtgraph: a tenth of the start

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1
SETTLE_IMPORTS = ("sqlite_utils", "pandas")
SETTLE_POLL_MS = 20


def app_icon() -> QIcon:
    """The application icon (every size of icon.ico, and the 256 px PNG); null when the
    resources are missing."""
    icon = QIcon()
    for name in ("icon.ico", "icon.png"):
        path = resource(name)
        if path.exists():
            icon.addFile(str(path))
    return icon


class _FirstPaint(QObject):
    """Emits the window's `first_painted` once its first paint is done."""

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, watched.first_painted.emit)
        return False


class MainWindow(QMainWindow):
    # What the first paint need not wait for: once it is done, the modules deferred at start
    # (core.deferred_imports) and sqlite-utils (which imports pandas) load on a background
    # thread; when it has ended, `settled` lists the market store in the Data and Replay
    # docks, with no import left on the GUI thread.
    first_painted = Signal()
    settled = Signal()

    def __init__(
        self,
        kernel: Kernel,
        trading: Trading,
        watchlist: Watchlist,
        pump: BridgePump,
        store: MarketStore,
        live_bars: LiveBars,
        lag: LoopLagMonitor | None = None,
        risk: RiskService | None = None,
        cta: TerminalCtaEngine | None = None,
        catalog: StrategyCatalog | None = None,
        backtests_dir: Path | None = None,
        health: HealthSampler | None = None,
    ) -> None:
        super().__init__()
        self.kernel = kernel
        self.health = health
        self._health_dock = None
        self.trading = trading
        self.pump = pump
        self.lag = lag
        self.store = store
        self.live_bars = live_bars
        self.risk = risk
        self.watchlist = watchlist
        self.app_settings = kernel.settings          # settings.json, as applied
        self.charts: dict[str, ChartDock] = {}
        self._last_chart = ""
        self.shortcut_actions: dict[str, QAction] = {}   # shortcut id -> action (not actions(): Qt's)
        self.workspaces = Workspaces(kernel.paths.workspaces_dir)
        self._known_symbols: set[str] = set()
        self.setWindowTitle(f"Trading Terminal {__version__} — {kernel.paths.root}")
        self.setObjectName("MainWindow")
        self.setWindowIcon(app_icon())
        self.setDockNestingEnabled(True)
        self.resize(1500, 900)

        self.market_watch = MarketWatchDock(watchlist)
        self.ticket = OrderTicketDock(trading)
        self.orders = OrdersDock(trading)
        self.trades = TradesDock()
        self.positions = PositionsDock(trading)
        self.account = AccountDock()
        self.log_view = LogDock()
        self.alerts = AlertsDock(kernel.event_engine)
        self.strategies = StrategiesDock(cta, lambda: sorted(self._known_symbols)) \
            if cta is not None else None
        self.market_watch.symbol_activated.connect(self.ticket.load_symbol)
        self.market_watch.chart_requested.connect(lambda symbol: self.open_chart(symbol))

        self.docks: dict[str, QDockWidget] = {}
        self._add_dock("market_watch", "Market watch", self.market_watch, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("order_ticket", "Order entry", self.ticket, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("orders", "Orders", self.orders, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("trades", "Trades", self.trades, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("positions", "Positions", self.positions, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("account", "Account", self.account, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("log", "Log", self.log_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("alerts", "Risk alerts", self.alerts, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.docks["market_watch"], self.docks["order_ticket"], Qt.Orientation.Horizontal)
        self.splitDockWidget(self.docks["orders"], self.docks["positions"], Qt.Orientation.Horizontal)
        self.tabifyDockWidget(self.docks["orders"], self.docks["trades"])
        self.tabifyDockWidget(self.docks["trades"], self.docks["log"])
        self.tabifyDockWidget(self.docks["log"], self.docks["alerts"])
        if self.strategies is not None:
            self._add_dock("strategies", "Strategies", self.strategies,
                           Qt.DockWidgetArea.BottomDockWidgetArea)
            self.tabifyDockWidget(self.docks["alerts"], self.docks["strategies"])
        self.tabifyDockWidget(self.docks["positions"], self.docks["account"])
        self.data_manager = DataManagerDock(store)
        self.data_manager.list_later(self.settled)
        if self.strategies is not None:
            self.strategies.check_plugins_later(self.settled)
        self._add_dock("data_manager", "Data", self.data_manager, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["log"], self.docks["data_manager"])
        # The workbench is built when its dock is first shown: its imports (the backtester,
        # plotly, the optimisers) were a sixth of the cold start.
        self._backtest = None
        self._backtest_parts = (catalog, store, backtests_dir) \
            if catalog is not None and backtests_dir is not None else None
        if self._backtest_parts is not None:
            dock = self._add_dock("backtest", "Backtest", QWidget(),
                                  Qt.DockWidgetArea.BottomDockWidgetArea)
            dock.visibilityChanged.connect(lambda shown: shown and self.backtest)
            self.tabifyDockWidget(self.docks["data_manager"], self.docks["backtest"])
        if health is not None:      # built on first show, like the workbench (pyqtgraph)
            dock = self._add_dock("health", "Health", QWidget(),
                                  Qt.DockWidgetArea.BottomDockWidgetArea)
            dock.visibilityChanged.connect(lambda shown: shown and self.health_dock)
            self.tabifyDockWidget(self.docks["log"], dock)
        self.replay = ReplayDock(store, kernel.main_engine, watchlist)
        self.replay.list_later(self.settled)
        self.replay.symbol_activated.connect(self.ticket.load_symbol)
        self._add_dock("replay", "Replay", self.replay, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.docks["order_ticket"], self.docks["replay"])
        self.docks["order_ticket"].raise_()
        self.docks["orders"].raise_()
        self.docks["positions"].raise_()
        self.resizeDocks(
            [self.docks["market_watch"], self.docks["order_ticket"]], [1100, 380],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks(
            [self.docks["market_watch"], self.docks["orders"]], [520, 330], Qt.Orientation.Vertical
        )
        self._default_state = self.saveState(LAYOUT_VERSION)

        for consumer in (
            self._learn_contracts,
            self.market_watch.apply, self.ticket.apply, self.orders.apply, self.trades.apply,
            self.positions.apply, self.account.apply, self.log_view.apply, self.replay.apply,
            self.alerts.apply, *([self.strategies.apply] if self.strategies else []),
            self._charts_apply, self._status_from,
        ):
            pump.subscribe(consumer)
        pump.consumer_failed.connect(self._consumer_failed)

        self._build_menus()
        self._build_status_bar()
        self._first_paint = _FirstPaint(self)
        self.installEventFilter(self._first_paint)
        self._closed = False
        self.is_settled = False
        self.first_painted.connect(self._load_deferred)
        self._settings = QSettings(str(kernel.paths.layout_file), QSettings.Format.IniFormat)
        self.restore_layout()
        self.set_theme(self.app_settings.theme, save=False)

    # ------------------------------------------------------------------ docks and layout
    def _add_dock(self, name: str, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        set_content(dock, widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        return dock

    # ------------------------------------------------------------------ charts
    def open_chart(self, vt_symbol: str = "", timeframe: str = "1m",
                   name: str = "") -> ChartDock:
        """A new chart dock (beside the market watch, tabbed with the other charts)."""
        vt_symbol = vt_symbol or self.ticket.vt_symbol or RB_DEFAULT
        if not name:
            number = 1
            while f"chart_{number}" in self.docks:
                number += 1
            name = f"chart_{number}"
        from terminal.ui.docks.chart import ChartDock

        chart = ChartDock(self.store, self.trading, self.live_bars, parent=self)
        chart.set_symbols(sorted(self._known_symbols))
        theme.restyle(chart)
        dock = ChartDockWidget(name, self)
        dock.setObjectName(name)
        set_content(dock, chart)
        dock.closed.connect(lambda: self._chart_closed(name))
        chart.title_changed.connect(dock.setWindowTitle)
        others = [self.docks[n] for n in self.charts if n in self.docks]
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        if others:
            self.tabifyDockWidget(others[-1], dock)
        else:
            self.splitDockWidget(self.docks["market_watch"], dock, Qt.Orientation.Horizontal)
            width = max(self.width(), 1200)
            self.resizeDocks([self.docks["market_watch"], dock, self.docks["order_ticket"]],
                             [width * 3 // 10, width * 5 // 10, width * 2 // 10],
                             Qt.Orientation.Horizontal)
        self.docks[name] = dock
        self.charts[name] = chart
        chart.load(vt_symbol, timeframe)
        dock.show()
        dock.raise_()
        return chart

    def _chart_closed(self, name: str) -> None:
        chart = self.charts.pop(name, None)
        dock = self.docks.pop(name, None)
        if chart is not None:
            chart.close_chart()
        if dock is not None:
            dock.setObjectName("")     # a new chart may take the name before this one is gone
            self.removeDockWidget(dock)
            dock.deleteLater()

    def close_charts(self) -> None:
        for name in list(self.charts):
            self._chart_closed(name)

    def next_chart(self, step: int = 1) -> ChartDock | None:
        """Bring the next (or previous, step -1) chart to the front and give it the keys."""
        names = list(self.charts)
        if not names:
            return None
        current = next((n for n, c in self.charts.items()
                        if c.isVisible() and not c.visibleRegion().isEmpty()
                        and c.isAncestorOf(self.focusWidget() or self)), None)
        if current is None:
            current = self._last_chart if self._last_chart in names else names[-1]
        name = names[(names.index(current) + step) % len(names)]
        self._last_chart = name
        self.docks[name].show()
        self.docks[name].raise_()
        self.charts[name].chart.setFocus()
        return self.charts[name]

    def focus_ticket(self) -> None:
        """The order ticket to the front, its price selected for typing."""
        dock = self.docks["order_ticket"]
        dock.show()
        dock.raise_()
        dock.activateWindow()
        edit = self.ticket.price_edit if self.ticket.price_edit.isEnabled() \
            else self.ticket.volume_edit
        edit.setFocus()
        edit.selectAll()

    def _charts_apply(self, batch: Batch) -> None:
        if batch.contracts:
            self._known_symbols.update(batch.contracts)
            for chart in self.charts.values():
                chart.set_symbols(sorted(self._known_symbols))
        for name, chart in list(self.charts.items()):
            try:
                chart.apply(batch)
            except Exception:  # noqa: BLE001 - one chart failing must not stop the others
                log.exception("chart %s failed to update", name)

    def save_layout(self, target: QSettings | None = None) -> None:
        """The charts, the window geometry and the docks' arrangement into `target`
        (layout.ini when None; a workspace file otherwise)."""
        target = target if target is not None else self._settings
        charts = [{"name": name, **chart.state()} for name, chart in self.charts.items()]
        target.setValue("charts/state", json.dumps(charts))
        target.setValue("window/geometry", self.saveGeometry())
        target.setValue("window/state", self.saveState(LAYOUT_VERSION))
        target.setValue("window/version", LAYOUT_VERSION)
        target.sync()

    def restore_layout(self, source: QSettings | None = None,
                       replace_charts: bool = False) -> bool:
        """What `save_layout` wrote; with `replace_charts` the charts open now are closed
        first (loading a workspace). False when the dock arrangement was not restored."""
        source = source if source is not None else self._settings
        if replace_charts:
            self.close_charts()
        try:
            charts = json.loads(source.value("charts/state") or "[]")
        except (TypeError, ValueError):
            charts = []
            log.warning("chart layout in %s is unreadable; charts not restored",
                        source.fileName())
        for saved in charts if isinstance(charts, list) else []:
            try:
                chart = self.open_chart(saved["symbol"], saved.get("timeframe", "1m"),
                                        saved["name"])
                chart.restore(saved)
            except (KeyError, TypeError) as exc:
                log.warning("a saved chart was left out: %r (%s)", saved, exc)
        geometry = source.value("window/geometry")
        state = source.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and self.restoreState(state, LAYOUT_VERSION):
            return True
        return False

    def reset_layout(self) -> None:
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.restoreState(self._default_state, LAYOUT_VERSION)
        self.docks["orders"].raise_()
        self.docks["positions"].raise_()

    def _action(self, action_id: str, text: str, slot, menu: QMenu) -> QAction:
        """A menu action with a registered shortcut id (its keys set by apply_shortcuts)."""
        action = QAction(text, self)
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)  # floating docks too
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)       # the shortcut works while the menu bar is hidden too
        self.shortcut_actions[action_id] = action
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action("file.settings", "&Settings…", self.open_settings, file_menu)
        self._action("file.import", "&Import market data…", self.import_market_data, file_menu)
        file_menu.addSeparator()
        self._action("file.quit", "&Quit", self.close, file_menu)

        self.connect_menu = ConnectMenu(self.kernel, self)
        self.menuBar().addMenu(self.connect_menu)

        view = self.menuBar().addMenu("&View")
        self._action("view.new_chart", "New &chart", lambda: self.open_chart(), view)
        self._action("view.next_chart", "&Next chart", lambda: self.next_chart(1), view)
        self._action("view.previous_chart", "&Previous chart", lambda: self.next_chart(-1),
                     view)
        if self._backtest_parts is not None:
            self._action("view.backtest", "&Backtest workbench", self.show_backtest, view)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        theme_menu = view.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name, choice in theme.THEMES.items():
            action = self._action(f"view.theme_{name}", choice.title,
                                  lambda _=False, n=name: self.set_theme(n), theme_menu)
            action.setCheckable(True)
            self.theme_group.addAction(action)
            self.theme_actions[name] = action
        self.workspaces_menu = view.addMenu("&Workspaces")
        self._action("view.save_workspace", "&Save as…", self.ask_save_workspace,
                     self.workspaces_menu)
        self.workspaces_load_menu = self.workspaces_menu.addMenu("&Load")
        self.workspaces_delete_menu = self.workspaces_menu.addMenu("&Delete")
        self.workspaces_menu.aboutToShow.connect(self._fill_workspaces_menu)
        self._fill_workspaces_menu()
        reset = self._action("view.reset_layout", "&Reset layout", self.reset_layout, view)
        self.reset_layout_action = reset

        trade = self.menuBar().addMenu("&Trading")
        self._action("trading.buy", "Buy", self.ticket.buy, trade)
        self._action("trading.sell", "Sell", self.ticket.sell, trade)
        self._action("trading.cancel_all", "Cancel all orders", self.ticket.cancel_all, trade)
        self._action("trading.flatten_all", "Flatten all positions",
                     self.positions.flatten_all, trade)
        trade.addSeparator()
        self._action("trading.focus_ticket", "Focus the order &ticket", self.focus_ticket,
                     trade)
        if self.risk is not None:
            trade.addSeparator()
            self._action("trading.risk_settings", "&Risk settings…", self.open_risk_settings,
                         trade)
            state_menu = trade.addMenu("Trading &state")
            for state in TradingState:
                action = QAction(state.value.replace("_", "-").title(), self)
                action.triggered.connect(lambda _=False, s=state: self.set_trading_state(s))
                state_menu.addAction(action)

        help_menu = self.menuBar().addMenu("&Help")
        self._action("help.about", "&About", self._about, help_menu)
        self.apply_shortcuts(self.app_settings.shortcuts)

    # ------------------------------------------------------------------ shortcuts
    def apply_shortcuts(self, overrides: dict[str, str]) -> list[str]:
        """The registry's defaults with the trader's `overrides`, live; returns warnings
        (also logged) for overrides left out."""
        keys, warnings = shortcuts.effective(overrides)
        for action_id, action in self.shortcut_actions.items():
            action.setShortcut(QKeySequence.fromString(keys.get(action_id, ""),
                                                       shortcuts.PORTABLE))
        native = QKeySequence.SequenceFormat.NativeText
        shown = [QKeySequence.fromString(keys.get(f"trading.{name}", ""),
                                         shortcuts.PORTABLE).toString(native)
                 for name in ("buy", "sell", "cancel_all")]
        self.ticket.show_keys(*shown)
        for warning in warnings:
            log.warning("%s", warning)
        return warnings

    # ------------------------------------------------------------------ theme
    def set_theme(self, name: str, save: bool = True) -> None:
        """Dark or light, for every window and chart, now; remembered in settings.json."""
        try:
            applied = theme.apply(name)
        except ValueError as exc:
            log.warning("%s; the dark theme is used", exc)
            applied = theme.apply(theme.DEFAULT)
        if applied.name in getattr(self, "theme_actions", {}):
            self.theme_actions[applied.name].setChecked(True)
        if save and self.app_settings.theme != applied.name:
            self.app_settings.theme = applied.name
            self._save_settings()

    def _save_settings(self) -> None:
        try:
            settings_file.save(self.kernel.paths.settings_file, self.app_settings)
        except OSError:
            log.exception("could not save %s", self.kernel.paths.settings_file)

    # ------------------------------------------------------------------ settings
    def open_settings(self) -> SettingsDialog:
        from terminal.ui.dialogs.settings import SettingsDialog

        dialog = SettingsDialog(self.app_settings, self.kernel.paths.settings_file,
                                self.apply_settings, self)
        dialog.accepted.connect(lambda: self._settings_saved(dialog))
        dialog.open()
        self.settings_dialog = dialog
        return dialog

    def _settings_saved(self, dialog: SettingsDialog) -> None:
        if dialog.message:
            self.statusBar().showMessage(dialog.message, 15000)

    def apply_settings(self, new: settings_file.Settings) -> list[str]:
        """Take `new` (already checked and saved): the theme, shortcuts, GUI frame and
        watchlist change now; the rest waits for a restart. Returns notes for the trader."""
        notes: list[str] = []
        old = self.app_settings
        watchlist_changed = new.watchlist != old.watchlist
        for name in settings_file.Settings.__dataclass_fields__:
            setattr(old, name, getattr(new, name))       # the runtime shares this object
        self.set_theme(new.theme, save=False)
        notes += self.apply_shortcuts(new.shortcuts)
        self.pump.frame = new.frame_ms / 1000.0
        if watchlist_changed:
            notes += self._apply_watchlist(new.watchlist)
            old.watchlist = list(new.watchlist)
            self._save_settings()            # the watchlist's own saves kept only known ones
        return notes

    def _apply_watchlist(self, symbols: list[str]) -> list[str]:
        if not symbols:
            return ["An empty watchlist (every simulator contract) applies after a restart."]
        for symbol in list(self.watchlist.symbols):
            if symbol not in symbols:
                self.watchlist.remove(symbol)
        unknown = [symbol for symbol in symbols if self.watchlist.add(symbol)]
        watchlist = self.watchlist
        self.market_watch.model.set_filter(lambda tick: tick.vt_symbol in watchlist)
        if unknown:
            return [f"Not known to a connected gateway yet, watched after a restart: "
                    f"{', '.join(unknown)}."]
        return []

    # ------------------------------------------------------------------ workspaces
    def _fill_workspaces_menu(self) -> None:
        load, delete = self.workspaces_load_menu, self.workspaces_delete_menu
        load.clear()
        delete.clear()
        load.addAction(DEFAULT_NAME, self.reset_layout)
        names = self.workspaces.names()
        if names:
            load.addSeparator()
        for name in names:
            load.addAction(name, lambda n=name: self.load_workspace(n))
        delete.setEnabled(bool(names))
        for name in names:
            delete.addAction(name, lambda n=name: self.delete_workspace(n))

    def ask_save_workspace(self) -> None:
        name, ok = QInputDialog.getText(self, "Save workspace",
                                        "Name (the layout, the window and the open charts):")
        if not ok:
            return
        try:
            if self.workspaces.exists(name) and QMessageBox.question(
                    self, "Save workspace", f"Replace the workspace {name.strip()!r}?") \
                    != QMessageBox.StandardButton.Yes:
                return
            self.save_workspace(name)
        except WorkspaceError as exc:
            QMessageBox.warning(self, "Workspace not saved", str(exc))

    def save_workspace(self, name: str) -> Path:
        path = self.workspaces.save(self, name)
        self.statusBar().showMessage(f"Workspace {name.strip()!r} saved", 5000)
        return path

    def load_workspace(self, name: str) -> bool:
        try:
            restored = self.workspaces.load(self, name)
        except WorkspaceError as exc:
            QMessageBox.warning(self, "Workspace not loaded", str(exc))
            return False
        if not restored:
            log.warning("workspace %r: the dock arrangement could not be restored", name)
        self.statusBar().showMessage(f"Workspace {name!r} loaded", 5000)
        return restored

    def delete_workspace(self, name: str) -> None:
        try:
            self.workspaces.delete(name)
        except (WorkspaceError, OSError) as exc:
            QMessageBox.warning(self, "Workspace not deleted", str(exc))
            return
        self.statusBar().showMessage(f"Workspace {name!r} deleted", 5000)

    @property
    def backtest(self):
        """The backtest workbench (None without a strategy catalog), built on first use."""
        if self._backtest is None and self._backtest_parts is not None:
            from terminal.ui.backtest import BacktestWorkbench

            self._backtest = BacktestWorkbench(*self._backtest_parts)
            set_content(self.docks["backtest"], self._backtest)
            theme.restyle(self._backtest)
        return self._backtest

    @property
    def health_dock(self):
        """The health dock (None without a sampler), built on first use; it samples from
        then on, before that the status bar's timer does."""
        if self._health_dock is None and self.health is not None:
            from terminal.ui.docks.health import HealthDock

            self._health_dock = HealthDock(self.health)
            self._health_dock.sampled.connect(self.health_label.show_sample)
            set_content(self.docks["health"], self._health_dock)
            theme.restyle(self._health_dock)
        return self._health_dock

    def show_health(self) -> None:
        self.docks["health"].show()
        self.docks["health"].raise_()

    def show_backtest(self) -> None:
        self.docks["backtest"].show()
        self.docks["backtest"].raise_()

    def import_market_data(self) -> None:
        self.docks["data_manager"].show()
        self.docks["data_manager"].raise_()
        self.data_manager.open_import()

    def _about(self) -> AboutDialog:
        from terminal.ui.dialogs.about import AboutDialog

        dialog = AboutDialog(self.kernel.paths.root, self.kernel.paths.log_dir, self)
        dialog.open()
        self.about_dialog = dialog
        return dialog

    # ------------------------------------------------------------------ status bar
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.connection_label = ConnectionStatusLabel(self.kernel)
        self.rate_label = QLabel()           # without a health sampler (ticks/s, queue, lag)
        self.health_label = HealthStatusLabel()    # details: View -> Health
        self.errors_label = QLabel()
        self.errors_label.setStyleSheet(ERROR_TEXT_STYLE)
        self.risk_label = QLabel()
        for widget in (self.risk_label, self.connection_label,
                       self.health_label if self.health is not None else self.rate_label,
                       self.errors_label):
            bar.addPermanentWidget(widget)
        self._rate_mark = (time.perf_counter(), 0)
        self._errors = 0
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._refresh_status)
        self._status_timer.start(1000)

    # ------------------------------------------------------------------ risk
    def open_risk_settings(self) -> RiskDialog:
        from terminal.ui.dialogs.risk import RiskDialog

        dialog = RiskDialog(self.risk, self)
        dialog.finished.connect(lambda _: self._show_risk_state())
        dialog.open()
        self.risk_dialog = dialog
        return dialog

    def set_trading_state(self, state: TradingState) -> None:
        """From the menu. Back to ACTIVE while a review is pending (risk.json could not be
        used, or the daily loss limit was hit) opens the risk settings to review instead."""
        try:
            self.risk.set_state(state)
        except ReviewRequired as exc:
            dialog = self.open_risk_settings()
            dialog.state_box.setCurrentIndex(dialog.state_box.findData(state.value))
            log.warning("trading state %s asked from the menu: review the limits first (%s)",
                        state.value, exc)
            return
        log.warning("trading state set to %s from the menu", state.value)
        self._show_risk_state()

    def show_startup_problems(self, alerts: list) -> QMessageBox | None:
        """What went wrong at start and was recovered from, at once, in one dialog (the same
        is in the Alerts dock, severe)."""
        if not alerts:
            return None
        box = QMessageBox(QMessageBox.Icon.Critical, "Problems at start",
                          "\n\n".join(alert.message for alert in alerts),
                          QMessageBox.StandardButton.Ok, self)
        box.setInformativeText("These are also in the Alerts dock.")
        box.open()
        self.startup_box = box
        return box

    def _show_risk_state(self) -> None:
        unacknowledged = len(self.alerts.unacknowledged())
        alerts = f", {unacknowledged} alert(s) to acknowledge" if unacknowledged else ""
        if self.risk is None:
            self.risk_label.setText(alerts.lstrip(", "))
            return
        state = self.risk.config.state
        color = {TradingState.HALTED: ERROR_HEX, TradingState.REDUCE_ONLY: WARNING_HEX}.get(
            state, "")
        self.risk_label.setStyleSheet(f"color: {color}" if color else "")
        self.risk_label.setText(f"Risk: {state.value.replace('_', '-')}{alerts}")

    def _refresh_status(self) -> None:
        self._show_risk_state()
        if self.health is not None:
            if self._health_dock is None:    # once built, the dock samples and shows it
                sample = self.health.sample()
                self.health_label.show_sample(sample, self.health.levels())
            return
        now, ticks = time.perf_counter(), self.pump.tick_events
        then, before = self._rate_mark
        lag = f", GUI lag {self.lag.last * 1000:.1f} ms" if self.lag is not None else ""
        self.rate_label.setText(
            f"{(ticks - before) / max(1e-6, now - then):,.0f} ticks/s, "
            f"event queue {self.kernel.event_engine.queue_depth}{lag}"
        )
        self._rate_mark = (now, ticks)

    @staticmethod
    def _learn_contracts(batch: Batch) -> None:
        if batch.contracts:
            PRICE_DIGITS.learn(batch.contracts.values())

    def _status_from(self, batch: Batch) -> None:
        if batch.errors:
            self._count_errors(len(batch.errors))

    def _consumer_failed(self, error: HandlerError) -> None:
        self.log_view.add_error(error)
        self._count_errors(1)

    def _count_errors(self, count: int) -> None:
        self._errors += count
        self.errors_label.setText(f"{self._errors} handler error(s), see Log")

    # ------------------------------------------------------------------ life cycle
    def _load_deferred(self) -> None:
        """Load on a thread what the first paint did without; this thread watches it end
        (nothing crosses back), then `settled`."""
        loading = deferred_imports.warm(also=SETTLE_IMPORTS)
        watch = QTimer(self)
        watch.setInterval(SETTLE_POLL_MS)

        def check() -> None:
            if not loading.is_alive():
                watch.stop()
                watch.deleteLater()
                if not self._closed:
                    self.is_settled = True
                    self.settled.emit()

        watch.timeout.connect(check)
        watch.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._closed = True
        try:
            self.save_layout()
        except Exception:  # noqa: BLE001 - never block closing on a layout write
            log.exception("could not save the window layout")
        self._status_timer.stop()
        if self._health_dock is not None:
            self._health_dock.stop()
        self.pump.stop()
        if self._backtest is not None:
            self._backtest.shutdown()      # cancels runs still working, reaps the workers
        super().closeEvent(event)


RB_DEFAULT = "rb2701.SHFE"


class ChartDockWidget(QDockWidget):
    """A chart's dock: closing it deletes the chart (charts are made on demand)."""

    closed = Signal()

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()
