"""The dock table (`ui.docks.registry`) is the one place docks are declared: the main window's
docks, its View menu, the docks' shortcuts and the default layout all come from it, so a new
dock is one entry."""

from __future__ import annotations

import importlib

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QLabel, QMenu

from terminal.ui import shortcuts
from terminal.ui.docks import registry
from terminal.ui.docks.registry import Dock
from tests.helpers import next_quotes

WAIT = 10_000


def view_menu(window) -> QMenu:
    menus = {menu.title(): menu for menu in window.menuBar().findChildren(QMenu)}
    return menus["&View"]


def test_the_table_is_consistent():
    """Ids are unique; a dock is split off or tabbed with one declared before it, and a dock
    that others are split off is not itself a tab (Qt would tab them instead)."""
    ids = [dock.id for dock in registry.DOCKS]
    assert len(ids) == len(set(ids))
    for index, dock in enumerate(registry.DOCKS):
        for anchor in (dock.beside, dock.tab_with):
            assert not anchor or anchor in ids[:index], (dock.id, anchor)
        assert not (dock.beside and dock.tab_with), dock.id
    tabs = {dock.id for dock in registry.DOCKS if dock.tab_with}
    assert not {dock.beside for dock in registry.DOCKS if dock.beside} & tabs


def test_every_entry_has_its_dock_and_view_menu_action(terminal):
    _, window = terminal
    view = view_menu(window)
    toggles = {action.text(): action for action in view.actions()}
    for spec in registry.DOCKS:
        dock = window.docks[spec.id]
        assert dock.objectName() == spec.id            # saved layouts find the dock by it
        assert dock.windowTitle() == spec.title
        assert toggles[spec.title] is dock.toggleViewAction()
        if not spec.lazy:
            assert dock.widget() is window.widget(spec.id)
        if spec.menu:
            action = window.menu_bar.shortcut_actions[spec.shortcut_id]
            assert action in view.actions() and action.text() == spec.menu
            assert action.shortcut() == QKeySequence(spec.shortcut)
            assert shortcuts.BY_ID[spec.shortcut_id].default == spec.shortcut
    docks_in_menu = [a.text() for a in view.actions() if a.text() in
                     {spec.title for spec in registry.DOCKS}]
    assert docks_in_menu == [spec.title for spec in registry.DOCKS]       # in table order


class NotesDock(QLabel):
    """A dock as a later issue would add one: made from the runtime, fed every batch."""

    def __init__(self, host) -> None:
        super().__init__(f"notes for {host.runtime.kernel.paths.root}")
        self.host = host
        self.batches = 0
        self.closed = False

    def apply(self, batch) -> None:
        self.batches += 1

    def shutdown(self) -> None:
        self.closed = True


NOTES = Dock("notes", "Notes", Qt.DockWidgetArea.BottomDockWidgetArea, NotesDock,
             shortcut="Ctrl+Alt+N", menu="&Notes", tab_with="log",
             closing=lambda dock: dock.shutdown())


def test_a_dock_added_to_the_table_is_all_a_new_dock_needs(qtbot, data_dir, monkeypatch):
    """One entry, no other code: the dock is built from the runtime, is in the View menu with
    its shortcut (configurable: the shortcuts registry has it), tabbed where the entry says,
    fed by the bridge pump, kept in the layout, and told when the window closes."""
    from terminal.app.main import start
    from terminal.gateways.sim.clock import ManualClock

    monkeypatch.setattr(registry, "DOCKS", (*registry.DOCKS, NOTES))
    importlib.reload(shortcuts)            # the registry as read from the edited table
    try:
        assert shortcuts.BY_ID["view.notes"].default == "Ctrl+Alt+N"
        runtime, window = start(data_dir, show=True, sim_clock=ManualClock())
        qtbot.addWidget(window)
        try:
            notes = window.widget("notes")
            assert isinstance(notes, NotesDock) and notes.host is window
            assert str(runtime.kernel.paths.root) in notes.text()
            dock = window.docks["notes"]
            assert dock.objectName() == "notes" and dock.widget() is notes
            assert dock in window.tabifiedDockWidgets(window.docks["log"])
            view = view_menu(window)
            assert dock.toggleViewAction() in view.actions()
            action = window.menu_bar.shortcut_actions["view.notes"]
            assert action in view.actions()
            assert action.shortcut() == QKeySequence("Ctrl+Alt+N")
            dock.hide()
            action.trigger()
            assert dock.isVisible()
            next_quotes(runtime)
            qtbot.waitUntil(lambda: notes.batches > 0, timeout=WAIT)
            dock.setFloating(True)
            window.reset_layout()
            assert not dock.isFloating() and dock in window.tabifiedDockWidgets(
                window.docks["log"])
        finally:
            window.close()
            runtime.close()
        assert notes.closed
    finally:
        monkeypatch.undo()
        importlib.reload(shortcuts)
    assert "view.notes" not in shortcuts.BY_ID


def test_every_dock_can_be_built_at_start(qtbot, data_dir, monkeypatch):
    """`lazy` only defers a dock's cost: a factory never depends on it (the status bar and the
    rest of the window exist before any dock is made)."""
    import dataclasses

    from terminal.app.main import start
    from terminal.gateways.sim.clock import ManualClock

    monkeypatch.setattr(registry, "DOCKS", tuple(dataclasses.replace(dock, lazy=False)
                                                 for dock in registry.DOCKS))
    runtime, window = start(data_dir, show=True, sim_clock=ManualClock())
    qtbot.addWidget(window)
    try:
        assert set(window.widgets) == {dock.id for dock in registry.DOCKS}
    finally:
        window.close()
        runtime.close()
