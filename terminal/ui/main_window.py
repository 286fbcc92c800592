"""The main window around the runtime: the docks of the dock table (`ui.docks.registry`) and
the charts (`ui.chart_docks`), where they are (`ui.window_layout`), the menus (`ui.menu_bar`),
the status bar (`ui.status_bar`), and what the menus do: settings, theme, risk.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QWidget

from terminal import __version__
from terminal.core.bridge import Batch
from terminal.core.events import HandlerError
from terminal.core import deferred_imports
from terminal.core import settings as settings_file
from terminal.core.health import HealthSampler
from terminal.core.looplag import LoopLagMonitor
from terminal.core.resources import resource
from terminal.risk.limits import TradingState
from terminal.risk.service import ReviewRequired
from terminal.ui.docks import registry
from terminal.ui.docks.registry import Dock
from terminal.ui.formats import PRICE_DIGITS
from terminal.ui.links import WindowLinks, is_linkable
from terminal.ui.chart_docks import ChartDocks
from terminal.ui.menu_bar import TerminalMenuBar
from terminal.ui.repaints import set_content
from terminal.ui.pump import BridgePump
from terminal.ui import theme
from terminal.ui.status_bar import TerminalStatusBar
from terminal.ui.window_layout import WindowLayout
from terminal.ui.workspaces import Workspaces

if TYPE_CHECKING:  # imported when first used: the window paints sooner without them
    from terminal.system.runtime import Runtime
    from terminal.ui.dialogs.about import AboutDialog
    from terminal.ui.dialogs.risk import RiskDialog
    from terminal.ui.dialogs.settings import SettingsDialog
    from terminal.ui.docks.chart import ChartDock     # pyqtgraph: a tenth of the start

log = logging.getLogger(__name__)

# pyqtgraph (0.4 s) for the first start's chart, opened once settled: imported on the GUI
# thread it stalled the window just after it showed.
SETTLE_IMPORTS = ("sqlite_utils", "pandas", "pyqtgraph")
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


class DockWidget:
    """The widget of the dock table's entry `dock_id`, as a window attribute
    (`window.ticket`); a lazy dock's is built on first use."""

    def __init__(self, dock_id: str) -> None:
        self.dock_id = dock_id

    def __get__(self, window, owner=None):
        if window is None:
            return self
        return window.widget(self.dock_id)


class MainWindow(QMainWindow):
    # What the first paint need not wait for: once it is done, the modules deferred at start
    # (core.deferred_imports) and sqlite-utils (which imports pandas) load on a background
    # thread; when it has ended, `settled` lists the market store in the Data and Replay
    # docks, with no import left on the GUI thread.
    first_painted = Signal()
    settled = Signal()

    # The docks the window, its menus and the smoke run use (any dock: `widget(id)`; built
    # or not: `widgets`).
    market_watch = DockWidget("market_watch")
    ticket = DockWidget("order_ticket")
    orders = DockWidget("orders")
    trades = DockWidget("trades")
    positions = DockWidget("positions")
    log_view = DockWidget("log")
    alerts = DockWidget("alerts")
    data_manager = DockWidget("data_manager")

    def __init__(self, runtime: Runtime, lag: LoopLagMonitor | None = None) -> None:
        """The window over `runtime`, with the docks of `registry.DOCKS`; `lag` (the GUI
        loop's lag monitor) shows in the status bar and the Health dock."""
        super().__init__()
        self.runtime = runtime
        self.kernel = runtime.kernel
        self.app_settings = runtime.settings          # settings.json, as applied
        self.pump = BridgePump(runtime.kernel.bridge, runtime.settings.frame_ms)
        self.health = HealthSampler.for_runtime(runtime, lag)
        self.dock_table = {dock.id: dock for dock in registry.DOCKS}
        self.docks: dict[str, QDockWidget] = {}       # object name -> dock, charts included
        self.widgets: dict[str, QWidget] = {}         # the dock table's widgets, once built
        self.links = WindowLinks()                    # link groups: docks and charts join
        self.chart_docks = ChartDocks(self, self.docks, runtime, self.links,
                                      default_symbol=lambda: self.ticket.vt_symbol)
        self.workspaces = Workspaces(runtime.kernel.paths.workspaces_dir, runtime.drawings)
        self._known_symbols: set[str] = set()
        self.setWindowTitle(f"Trading Terminal {__version__} — {runtime.kernel.paths.root}")
        self.setObjectName("MainWindow")
        self.setWindowIcon(app_icon())
        self.setDockNestingEnabled(True)
        self.resize(1500, 900)

        self.pump.subscribe(self._learn_contracts)
        # Before the docks: a dock's factory may use it (the Health dock's does).
        self.status_bar = TerminalStatusBar(
            runtime, self.health, lambda: len(self.alerts.unacknowledged()), self)
        self.setStatusBar(self.status_bar)
        self._build_docks()
        self.dock_layout = WindowLayout(self, self.dock_table.values(), self.docks,
                                        self.chart_docks, runtime.kernel.paths.layout_file)
        self.pump.subscribe(self.chart_docks.apply)
        self.pump.subscribe(self.status_bar.count_errors_in)
        self.pump.consumer_failed.connect(self._consumer_failed)
        self.menu_bar = TerminalMenuBar(self)
        self.setMenuBar(self.menu_bar)
        self.menu_bar.apply_shortcuts(self.app_settings.shortcuts)
        self._first_paint = _FirstPaint(self)
        self.installEventFilter(self._first_paint)
        self._closed = False
        self.is_settled = False
        self.first_painted.connect(self._load_deferred)
        # A first start (no layout kept yet) shows a chart of the first watchlist symbol once
        # the window has settled: pyqtgraph is not worth delaying the first paint for.
        self.first_start = not runtime.kernel.paths.layout_file.exists()
        self.settled.connect(self._open_first_chart)
        self.restore_layout()
        self.set_theme(self.app_settings.theme, save=False)

    # ------------------------------------------------------------------ docks
    def _build_docks(self) -> None:
        """A dock for every entry of the table, with its widget (a lazy one's when shown);
        `WindowLayout` puts them in place."""
        for spec in self.dock_table.values():
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(spec.id)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                             | QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.docks[spec.id] = dock
            if spec.lazy:
                set_content(dock, QWidget())
                dock.visibilityChanged.connect(
                    lambda shown, dock_id=spec.id: shown and self.widget(dock_id))
            else:
                self._build_widget(spec)

    def _build_widget(self, spec: Dock) -> QWidget:
        widget = spec.factory(self)
        self.widgets[spec.id] = widget
        set_content(self.docks[spec.id], widget)
        if callable(getattr(widget, "apply", None)):
            self.pump.subscribe(widget.apply)
        if is_linkable(widget):
            self.links.add(spec.id, widget)
        return widget

    def widget(self, dock_id: str) -> QWidget:
        """The widget of the dock table's entry `dock_id` (a lazy one built now, themed)."""
        widget = self.widgets.get(dock_id)
        if widget is None:
            widget = self._build_widget(self.dock_table[dock_id])
            theme.restyle(widget)
        return widget

    def show_dock(self, dock_id: str) -> None:
        self.docks[dock_id].show()
        self.docks[dock_id].raise_()

    def known_symbols(self) -> list[str]:
        return sorted(self._known_symbols)

    def load_symbol(self, vt_symbol: str) -> None:
        self.ticket.load_symbol(vt_symbol)

    # ------------------------------------------------------------------ charts
    def open_chart(self, vt_symbol: str = "", timeframe: str = "1m",
                   name: str = "") -> ChartDock:
        """A new chart (of the ticket's symbol by default) beside the market watch."""
        return self.chart_docks.open(vt_symbol, timeframe, name)

    def _open_first_chart(self) -> None:
        symbols = self.runtime.watchlist.symbols
        if self.first_start and not self.chart_docks.charts and symbols and not self._closed:
            self.chart_docks.open(symbols[0])

    def next_chart(self, step: int = 1) -> ChartDock | None:
        return self.chart_docks.next(step)

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

    # ------------------------------------------------------------------ layout
    def save_layout(self, target: QSettings | None = None) -> None:
        self.dock_layout.save(target)

    def restore_layout(self, source: QSettings | None = None,
                       replace_charts: bool = False) -> bool:
        return self.dock_layout.restore(source, replace_charts)

    def reset_layout(self) -> None:
        self.dock_layout.reset()

    # ------------------------------------------------------------------ theme
    def set_theme(self, name: str, save: bool = True) -> None:
        """Dark or light, for every window and chart, now; remembered in settings.json."""
        try:
            applied = theme.apply(name)
        except ValueError as exc:
            log.warning("%s; the dark theme is used", exc)
            applied = theme.apply(theme.DEFAULT)
        if applied.name in self.menu_bar.theme_actions:
            self.menu_bar.theme_actions[applied.name].setChecked(True)
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
        notes += self.menu_bar.apply_shortcuts(new.shortcuts)
        self.pump.frame = new.frame_ms / 1000.0
        if watchlist_changed:
            notes += self._apply_watchlist(new.watchlist)
            old.watchlist = list(new.watchlist)
            self._save_settings()            # the watchlist's own saves kept only known ones
        return notes

    def _apply_watchlist(self, symbols: list[str]) -> list[str]:
        if not symbols:
            return ["An empty watchlist (every simulator contract) applies after a restart."]
        for symbol in list(self.runtime.watchlist.symbols):
            if symbol not in symbols:
                self.runtime.watchlist.remove(symbol)
        unknown = [symbol for symbol in symbols if self.runtime.watchlist.add(symbol)]
        watchlist = self.runtime.watchlist
        self.market_watch.model.set_filter(lambda tick: tick.vt_symbol in watchlist)
        if unknown:
            return [("Not known to a connected gateway yet, watched after a restart: "
                     f"{', '.join(unknown)}.")]
        return []

    # ------------------------------------------------------------------ file, help
    def import_market_data(self) -> None:
        self.show_dock("data_manager")
        self.data_manager.open_import()

    def open_about(self) -> AboutDialog:
        from terminal.ui.dialogs.about import AboutDialog

        dialog = AboutDialog(self.kernel.paths.root, self.kernel.paths.log_dir, self)
        dialog.open()
        self.about_dialog = dialog
        return dialog

    # ------------------------------------------------------------------ risk
    def open_risk_settings(self) -> RiskDialog:
        from terminal.ui.dialogs.risk import RiskDialog

        dialog = RiskDialog(self.runtime.risk, self)
        dialog.finished.connect(lambda _: self.status_bar.show_risk_state())
        dialog.open()
        self.risk_dialog = dialog
        return dialog

    def set_trading_state(self, state: TradingState) -> None:
        """From the menu. Back to ACTIVE while a review is pending (risk.json could not be
        used, or the daily loss limit was hit) opens the risk settings to review instead."""
        try:
            self.runtime.risk.set_state(state)
        except ReviewRequired as exc:
            dialog = self.open_risk_settings()
            dialog.state_box.setCurrentIndex(dialog.state_box.findData(state.value))
            log.warning("trading state %s asked from the menu: review the limits first (%s)",
                        state.value, exc)
            return
        log.warning("trading state set to %s from the menu", state.value)
        self.status_bar.show_risk_state()

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

    def _consumer_failed(self, error: HandlerError) -> None:
        self.log_view.add_error(error)
        self.status_bar.count_errors(1)

    def _learn_contracts(self, batch: Batch) -> None:
        if batch.contracts:
            PRICE_DIGITS.learn(batch.contracts.values())
            self._known_symbols.update(batch.contracts)
            self.chart_docks.set_symbols(self.known_symbols())

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
        except Exception:  # never block closing on a layout write
            log.exception("could not save the window layout")
        self.status_bar.stop()
        self.chart_docks.close_all()    # (after the layout kept them) loads in flight dropped
        for dock_id, widget in self.widgets.items():
            closing = self.dock_table[dock_id].closing
            if closing is not None:
                closing(widget)
        self.pump.stop()
        super().closeEvent(event)

