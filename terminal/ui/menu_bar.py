"""The main window's menus: File (Settings…, Import market data…, Quit), Connect, View (charts,
the front action of every dock of the dock table with a `menu`, every dock's toggle, Theme,
Workspaces, Reset layout), Trading, Help (About).

Every action with a keyboard shortcut has an id in `ui.shortcuts`; the trader's own keys come
from settings.json and apply live (`apply_shortcuts`). The actions are the window's too, so
their keys work while the menu bar is hidden and from floating docks.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

from terminal.risk.limits import TradingState
from terminal.ui import shortcuts, theme
from terminal.ui.dialogs.connect import ConnectMenu
from terminal.ui.dialogs.order_templates import open_order_templates
from terminal.ui.workspaces import WorkspacesMenu

if TYPE_CHECKING:
    from terminal.ui.main_window import MainWindow

log = logging.getLogger(__name__)


class TerminalMenuBar(QMenuBar):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.owner = window
        self.shortcut_actions: dict[str, QAction] = {}   # shortcut id -> action
        file_menu = self.addMenu("&File")
        self._action("file.settings", "&Settings…", window.open_settings, file_menu)
        self._action("file.import", "&Import market data…", window.import_market_data,
                     file_menu)
        file_menu.addSeparator()
        self._action("file.quit", "&Quit", window.close, file_menu)

        self.connect_menu = ConnectMenu(window.kernel, window.runtime.connections, window)
        self.addMenu(self.connect_menu)
        self._view_menu(window)

        trade = self.addMenu("&Trading")
        ticket = window.ticket
        self._action("trading.buy", "Buy", ticket.buy, trade)
        self._action("trading.sell", "Sell", ticket.sell, trade)
        self._action("trading.cancel_all", "Cancel all orders", ticket.cancel_all, trade)
        self._action("trading.flatten_all", "Flatten all positions",
                     window.positions.flatten_all, trade)
        trade.addSeparator()
        self._action("trading.focus_ticket", "Focus the order &ticket", window.focus_ticket,
                     trade)
        trade.addSeparator()
        self._action("trading.risk_settings", "&Risk settings…", window.open_risk_settings,
                     trade)
        trade.addAction(QAction("Order te&mplates…", window,
                                triggered=lambda: open_order_templates(window)))
        state_menu = trade.addMenu("Trading &state")
        for state in TradingState:
            action = QAction(state.value.replace("_", "-").title(), window)
            action.triggered.connect(lambda _=False, s=state: window.set_trading_state(s))
            state_menu.addAction(action)

        help_menu = self.addMenu("&Help")
        self._action("help.about", "&About", window.open_about, help_menu)

    def _view_menu(self, window: MainWindow) -> None:
        view = self.addMenu("&View")
        self._action("view.new_chart", "New &chart", lambda: window.open_chart(), view)
        self._action("view.next_chart", "&Next chart", lambda: window.next_chart(1), view)
        self._action("view.previous_chart", "&Previous chart", lambda: window.next_chart(-1),
                     view)
        for spec in window.dock_table.values():
            if spec.menu:
                self._action(spec.shortcut_id, spec.menu,
                             lambda _=False, dock_id=spec.id: window.show_dock(dock_id), view)
        view.addSeparator()
        for dock in window.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        theme_menu = view.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name, choice in theme.THEMES.items():
            action = self._action(f"view.theme_{name}", choice.title,
                                  lambda _=False, n=name: window.set_theme(n), theme_menu)
            action.setCheckable(True)
            self.theme_group.addAction(action)
            self.theme_actions[name] = action
        self.workspaces_menu = WorkspacesMenu(window.workspaces, window, view)
        view.addMenu(self.workspaces_menu)
        self._shortcut("view.save_workspace", self.workspaces_menu.save_action)
        self.reset_layout_action = self._action("view.reset_layout", "&Reset layout",
                                                window.reset_layout, view)

    def _action(self, action_id: str, text: str, slot, menu: QMenu) -> QAction:
        """A menu action with a registered shortcut id (its keys set by apply_shortcuts)."""
        action = QAction(text, self.owner)
        action.triggered.connect(slot)
        menu.addAction(action)
        return self._shortcut(action_id, action)

    def _shortcut(self, action_id: str, action: QAction) -> QAction:
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)  # floating docks too
        self.owner.addAction(action)       # the keys work while the menu bar is hidden too
        self.shortcut_actions[action_id] = action
        return action

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
        self.owner.ticket.show_keys(*shown)
        for warning in warnings:
            log.warning("%s", warning)
        return warnings
