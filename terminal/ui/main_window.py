"""The main window: dockable windows, the View menu, the saved layout and the status bar."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QWidget

from terminal import __version__
from terminal.core.bridge import Batch
from terminal.core.events import HandlerError
from terminal.core.kernel import Kernel
from terminal.core.looplag import LoopLagMonitor
from terminal.market.live_bars import LiveBars
from terminal.market.trading import Trading
from terminal.market.watchlist import Watchlist
from terminal.storage.market_store import MarketStore
from terminal.ui.dialogs.connect import ConnectionStatusLabel, ConnectMenu
from terminal.risk.limits import TradingState
from terminal.risk.service import RiskService
from terminal.ui.dialogs.risk import RiskDialog
from terminal.ui.docks.account import AccountDock
from terminal.strategies import TerminalCtaEngine
from terminal.ui.docks.alerts import AlertsDock
from terminal.ui.docks.strategies import StrategiesDock
from terminal.ui.docks.chart import ChartDock
from terminal.ui.docks.data_manager import DataManagerDock
from terminal.ui.docks.log import LogDock
from terminal.ui.docks.market_watch import MarketWatchDock
from terminal.ui.docks.order_ticket import OrderTicketDock
from terminal.ui.docks.orders import OrdersDock
from terminal.ui.docks.positions import PositionsDock
from terminal.ui.docks.replay import ReplayDock
from terminal.ui.docks.trades import TradesDock
from terminal.ui.backtest import BacktestWorkbench
from terminal.plugins.loader import StrategyCatalog
from terminal.ui.formats import PRICE_DIGITS
from terminal.ui.pump import BridgePump

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1


class MainWindow(QMainWindow):
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
    ) -> None:
        super().__init__()
        self.kernel = kernel
        self.trading = trading
        self.pump = pump
        self.lag = lag
        self.store = store
        self.live_bars = live_bars
        self.risk = risk
        self.charts: dict[str, ChartDock] = {}
        self._known_symbols: set[str] = set()
        self.setWindowTitle(f"Trading Terminal {__version__} — {kernel.paths.root}")
        self.setObjectName("MainWindow")
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
        self._add_dock("data_manager", "Data", self.data_manager, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["log"], self.docks["data_manager"])
        self.backtest: BacktestWorkbench | None = None
        if catalog is not None and backtests_dir is not None:
            self.backtest = BacktestWorkbench(catalog, store, backtests_dir)
            self._add_dock("backtest", "Backtest", self.backtest,
                           Qt.DockWidgetArea.BottomDockWidgetArea)
            self.tabifyDockWidget(self.docks["data_manager"], self.docks["backtest"])
        self.replay = ReplayDock(store, kernel.main_engine, watchlist)
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
        self._settings = QSettings(str(kernel.paths.layout_file), QSettings.Format.IniFormat)
        self.restore_layout()

    # ------------------------------------------------------------------ docks and layout
    def _add_dock(self, name: str, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
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
        chart = ChartDock(self.store, self.trading, self.live_bars, parent=self)
        chart.set_symbols(sorted(self._known_symbols))
        dock = ChartDockWidget(name, self)
        dock.setObjectName(name)
        dock.setWidget(chart)
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
            self.removeDockWidget(dock)
            dock.deleteLater()

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

    def save_layout(self) -> None:
        charts = [{"name": name, **chart.state()} for name, chart in self.charts.items()]
        self._settings.setValue("charts/state", json.dumps(charts))
        self._settings.setValue("window/geometry", self.saveGeometry())
        self._settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self._settings.setValue("window/version", LAYOUT_VERSION)
        self._settings.sync()

    def restore_layout(self) -> bool:
        try:
            charts = json.loads(self._settings.value("charts/state") or "[]")
        except (TypeError, ValueError):
            charts = []
            log.warning("chart layout in %s is unreadable; charts not restored",
                        self._settings.fileName())
        for saved in charts if isinstance(charts, list) else []:
            try:
                chart = self.open_chart(saved["symbol"], saved.get("timeframe", "1m"),
                                        saved["name"])
                chart.restore(saved)
            except (KeyError, TypeError) as exc:
                log.warning("a saved chart was left out: %r (%s)", saved, exc)
        geometry = self._settings.value("window/geometry")
        state = self._settings.value("window/state")
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

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        import_data = QAction("&Import market data…", self)
        import_data.triggered.connect(self.import_market_data)
        file_menu.addAction(import_data)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        self.connect_menu = ConnectMenu(self.kernel, self)
        self.menuBar().addMenu(self.connect_menu)

        view = self.menuBar().addMenu("&View")
        new_chart = QAction("New &chart", self)
        new_chart.setShortcut(QKeySequence("Ctrl+N"))
        new_chart.triggered.connect(lambda: self.open_chart())
        view.addAction(new_chart)
        if self.backtest is not None:
            workbench = QAction("&Backtest workbench", self)
            workbench.setShortcut(QKeySequence("Ctrl+Shift+B"))
            workbench.triggered.connect(self.show_backtest)
            view.addAction(workbench)
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        reset = QAction("&Reset layout", self)
        reset.triggered.connect(self.reset_layout)
        view.addAction(reset)
        self.reset_layout_action = reset

        trade = self.menuBar().addMenu("&Trading")
        for text, key, slot in (
            ("Buy", "F2", self.ticket.buy),
            ("Sell", "F3", self.ticket.sell),
            ("Cancel all orders", "F4", self.ticket.cancel_all),
            ("Flatten all positions", "", self.positions.flatten_all),
        ):
            action = QAction(text, self)
            if key:
                action.setShortcut(QKeySequence(key))
                action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            action.triggered.connect(slot)
            trade.addAction(action)
        if self.risk is not None:
            trade.addSeparator()
            settings = QAction("&Risk settings…", self)
            settings.triggered.connect(self.open_risk_settings)
            trade.addAction(settings)
            state_menu = trade.addMenu("Trading &state")
            for state in TradingState:
                action = QAction(state.value.replace("_", "-").title(), self)
                action.triggered.connect(lambda _=False, s=state: self.set_trading_state(s))
                state_menu.addAction(action)

        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def show_backtest(self) -> None:
        self.docks["backtest"].show()
        self.docks["backtest"].raise_()

    def import_market_data(self) -> None:
        self.docks["data_manager"].show()
        self.docks["data_manager"].raise_()
        self.data_manager.open_import()

    def _about(self) -> None:
        import vnpy

        QMessageBox.about(
            self, "About",
            f"Trading Terminal {__version__}\nvn.py {vnpy.__version__}\n"
            f"Data directory: {self.kernel.paths.root}",
        )

    # ------------------------------------------------------------------ status bar
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.connection_label = ConnectionStatusLabel(self.kernel)
        self.rate_label = QLabel()
        self.lag_label = QLabel()
        self.errors_label = QLabel()
        self.errors_label.setStyleSheet("color: #e04040")
        self.risk_label = QLabel()
        for widget in (self.risk_label, self.connection_label, self.rate_label, self.lag_label,
                       self.errors_label):
            bar.addPermanentWidget(widget)
        self._rate_mark = (time.perf_counter(), 0)
        self._errors = 0
        self._status_timer = QTimer(self)
        self._status_timer.timeout.connect(self._refresh_status)
        self._status_timer.start(1000)

    # ------------------------------------------------------------------ risk
    def open_risk_settings(self) -> RiskDialog:
        dialog = RiskDialog(self.risk, self)
        dialog.finished.connect(lambda _: self._show_risk_state())
        dialog.open()
        self.risk_dialog = dialog
        return dialog

    def set_trading_state(self, state: TradingState) -> None:
        self.risk.set_state(state)
        log.warning("trading state set to %s from the menu", state.value)
        self._show_risk_state()

    def _show_risk_state(self) -> None:
        unacknowledged = len(self.alerts.unacknowledged())
        alerts = f", {unacknowledged} alert(s) to acknowledge" if unacknowledged else ""
        if self.risk is None:
            self.risk_label.setText(alerts.lstrip(", "))
            return
        state = self.risk.config.state
        color = {TradingState.HALTED: "#e04040", TradingState.REDUCE_ONLY: "#d4a017"}.get(
            state, "")
        self.risk_label.setStyleSheet(f"color: {color}" if color else "")
        self.risk_label.setText(f"Risk: {state.value.replace('_', '-')}{alerts}")

    def _refresh_status(self) -> None:
        self._show_risk_state()
        now, ticks = time.perf_counter(), self.pump.tick_events
        then, before = self._rate_mark
        self.rate_label.setText(
            f"{(ticks - before) / max(1e-6, now - then):,.0f} ticks/s, "
            f"event queue {self.kernel.event_engine.queue_depth}"
        )
        self._rate_mark = (now, ticks)
        if self.lag is not None:
            self.lag_label.setText(f"GUI lag {self.lag.last * 1000:.1f} ms")

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
    def closeEvent(self, event: QCloseEvent) -> None:
        try:
            self.save_layout()
        except Exception:  # noqa: BLE001 - never block closing on a layout write
            log.exception("could not save the window layout")
        self._status_timer.stop()
        self.pump.stop()
        if self.backtest is not None:
            self.backtest.shutdown()       # cancels runs still working, reaps the workers
        super().closeEvent(event)


RB_DEFAULT = "rb2701.SHFE"


class ChartDockWidget(QDockWidget):
    """A chart's dock: closing it deletes the chart (charts are made on demand)."""

    closed = Signal()

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()
