"""Where the main window's docks are: the dock table's default arrangement (what View →
Reset layout goes back to) and the arrangement the trader left, with the open charts, kept in
layout.ini (and in workspace files, `ui.workspaces`).

Qt keeps each dock's place under its object name, the table's `id`: a layout saved by an
earlier version finds its docks as long as no id is renamed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

from terminal.ui.chart_docks import ChartDocks
from terminal.ui.docks.registry import Dock

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1


class WindowLayout:
    def __init__(self, window: QMainWindow, table: Iterable[Dock],
                 docks: dict[str, QDockWidget], charts: ChartDocks, path: Path) -> None:
        """Add the table's docks to the window where the table says, and keep that as the
        default."""
        self.window = window
        self.table = tuple(table)
        self.docks = docks
        self.charts = charts
        self.settings = QSettings(str(path), QSettings.Format.IniFormat)
        # The docks that are tabs come last: Qt makes a dock split off a tabbed one a tab too,
        # and docks side by side in an area widen the window to fit them all.
        for spec in sorted(self.table, key=lambda spec: bool(spec.tab_with)):
            dock = docks[spec.id]
            window.addDockWidget(spec.area, dock)
            if spec.beside:
                window.splitDockWidget(docks[spec.beside], dock, Qt.Orientation.Horizontal)
            if spec.tab_with:
                window.tabifyDockWidget(docks[spec.tab_with], dock)
        self.raise_front()
        for size, orientation in (("width", Qt.Orientation.Horizontal),
                                  ("height", Qt.Orientation.Vertical)):
            sized = [spec for spec in self.table if getattr(spec, size)]
            window.resizeDocks([docks[spec.id] for spec in sized],
                               [getattr(spec, size) for spec in sized], orientation)
        self.default_state = window.saveState(LAYOUT_VERSION)

    def raise_front(self) -> None:
        for spec in self.table:
            if spec.front:
                self.docks[spec.id].raise_()

    def save(self, target: QSettings | None = None) -> None:
        """The charts, the window geometry and the docks' arrangement into `target`
        (layout.ini when None; a workspace file otherwise)."""
        target = target if target is not None else self.settings
        charts = [{"name": name, **chart.state()} for name, chart in self.charts.charts.items()]
        target.setValue("charts/state", json.dumps(charts))
        target.setValue("links/groups", self.charts.links.layout_state())
        target.setValue("docks/state", json.dumps(self._dock_states()))
        target.setValue("window/geometry", self.window.saveGeometry())
        target.setValue("window/state", self.window.saveState(LAYOUT_VERSION))
        target.setValue("window/version", LAYOUT_VERSION)
        target.sync()

    def restore(self, source: QSettings | None = None, replace_charts: bool = False) -> bool:
        """What `save` wrote; with `replace_charts` the charts open now are closed first
        (loading a workspace). False when the dock arrangement was not restored."""
        source = source if source is not None else self.settings
        if replace_charts:
            self.charts.close_all()
        self.charts.links.restore_layout(source.value("links/groups"), source.fileName())
        try:
            charts = json.loads(source.value("charts/state") or "[]")
        except (TypeError, ValueError):
            charts = []
            log.warning("chart layout in %s is unreadable; charts not restored",
                        source.fileName())
        for saved in charts if isinstance(charts, list) else []:
            try:
                chart = self.charts.open(saved["symbol"], saved.get("timeframe", "1m"),
                                         saved["name"], restoring=True)
                chart.restore(saved)
            except (KeyError, TypeError) as exc:
                log.warning("a saved chart was left out: %r (%s)", saved, exc)
        self._restore_dock_states(source)
        geometry = source.value("window/geometry")
        state = source.value("window/state")
        if isinstance(geometry, QByteArray):
            self.window.restoreGeometry(geometry)
        return isinstance(state, QByteArray) and self.window.restoreState(state, LAYOUT_VERSION)

    def _dock_states(self) -> dict:
        """The settings of the table's docks that keep some (a `state()` method: the price
        ladder's symbol, quantity and template), by dock id."""
        states = {}
        for spec in self.table:
            widget = self.docks[spec.id].widget()
            if callable(getattr(widget, "state", None)):
                states[spec.id] = widget.state()
        return states

    def _restore_dock_states(self, source: QSettings) -> None:
        try:
            states = json.loads(source.value("docks/state") or "{}")
        except (TypeError, ValueError):
            states = None
        if not isinstance(states, dict):
            log.warning("dock settings in %s are unreadable; not restored", source.fileName())
            return
        for spec in self.table:
            widget = self.docks[spec.id].widget()
            if spec.id in states and callable(getattr(widget, "restore", None)):
                widget.restore(states[spec.id])

    def reset(self) -> None:
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        self.window.restoreState(self.default_state, LAYOUT_VERSION)
        self.raise_front()
