"""The main window's charts: any number of chart docks, made on demand (the first imports
pyqtgraph), beside the market watch and tabbed together. They are not in the dock table: a
chart is named `chart_<n>` when opened, and the saved layout keeps each one's name, symbol,
timeframe, indicators and link colour. A new chart opens with the default chart template."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow

from terminal.core.bridge import Batch
from terminal.market.chart_templates import ChartTemplates
from terminal.ui.chart_services import ChartServices
from terminal.ui.chart_templates import apply_template, report_problem
from terminal.ui.links import WindowLinks
from terminal.ui.repaints import set_content

if TYPE_CHECKING:
    from terminal.system.runtime import Runtime
    from terminal.ui.docks.chart import ChartDock     # pyqtgraph: a tenth of the start

log = logging.getLogger(__name__)

BESIDE = "market_watch"      # the first chart goes to its right, before this one:
AFTER = "order_ticket"
BELOW = "orders"             # the tables under the top row
RB_DEFAULT = "rb2701.SHFE"


class ChartDockWidget(QDockWidget):
    """A chart's dock: closing it deletes the chart (charts are made on demand)."""

    closed = Signal()

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.emit()


class ChartDocks:
    def __init__(self, window: QMainWindow, docks: dict[str, QDockWidget], runtime: Runtime,
                 links: WindowLinks, default_symbol: Callable[[], str] = lambda: "") -> None:
        """`links`: the window's link groups, which each chart joins; `default_symbol`: what
        a chart opened without a symbol shows (the ticket's)."""
        self.window = window
        self.docks = docks          # the window's, by object name: the charts join them
        self.runtime = runtime
        self.default_symbol = default_symbol
        self.charts: dict[str, ChartDock] = {}
        self.symbols: list[str] = []       # offered in each chart's symbol box
        self._last = ""
        self.links = links
        self.templates = ChartTemplates(runtime.kernel.paths.chart_templates_file)
        report_problem(self.templates, runtime.kernel.event_engine)
        # What every chart needs from the runtime, handed to each one's constructor.
        self.services = ChartServices.for_runtime(
            runtime, self.templates, lambda text: window.statusBar().showMessage(text, 5000),
            lambda: self.symbols)

    def open(self, vt_symbol: str = "", timeframe: str = "1m", name: str = "",
             restoring: bool = False) -> ChartDock:
        """A new chart dock (beside the market watch, tabbed with the other charts), with the
        default template applied unless `restoring` a saved one (which has its own)."""
        vt_symbol = vt_symbol or self.default_symbol() or RB_DEFAULT
        if not name:
            number = 1
            while f"chart_{number}" in self.docks:
                number += 1
            name = f"chart_{number}"
        from terminal.ui.docks.chart import ChartDock

        window = self.window
        chart = ChartDock(self.services, parent=window)
        if not restoring:
            apply_template(chart, self.templates.default_indicators(),
                           self.templates.default_volume_profile())
        dock = ChartDockWidget(name, window)
        dock.setObjectName(name)
        set_content(dock, chart)
        dock.closed.connect(lambda: self.close(name))
        chart.title_changed.connect(dock.setWindowTitle)
        others = [self.docks[n] for n in self.charts if n in self.docks]
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        if others:
            window.tabifyDockWidget(others[-1], dock)
        else:
            window.splitDockWidget(self.docks[BESIDE], dock, Qt.Orientation.Horizontal)
            width = max(window.width(), 1200)
            window.resizeDocks([self.docks[BESIDE], dock, self.docks[AFTER]],
                               [width * 3 // 10, width * 5 // 10, width * 2 // 10],
                               Qt.Orientation.Horizontal)
            # A chart wants height: the top row gets two thirds, the tables below the rest.
            height = max(window.height(), 800)
            window.resizeDocks([self.docks[BESIDE], self.docks[BELOW]],
                               [height * 2 // 3, height // 3], Qt.Orientation.Vertical)
        self.docks[name] = dock
        self.charts[name] = chart
        self.links.add(name, chart, in_layout=False)
        chart.load(vt_symbol, timeframe)
        dock.show()
        dock.raise_()
        return chart

    def close(self, name: str) -> None:
        chart = self.charts.pop(name, None)
        dock = self.docks.pop(name, None)
        self.links.remove(name)
        if chart is not None:
            chart.close_chart()
        if dock is not None:
            dock.setObjectName("")     # a new chart may take the name before this one is gone
            self.window.removeDockWidget(dock)
            dock.deleteLater()

    def close_all(self) -> None:
        for name in list(self.charts):
            self.close(name)

    def next(self, step: int = 1) -> ChartDock | None:
        """Bring the next (or previous, step -1) chart to the front and give it the keys."""
        names = list(self.charts)
        if not names:
            return None
        focus = self.window.focusWidget() or self.window
        current = next((n for n, c in self.charts.items()
                        if c.isVisible() and not c.visibleRegion().isEmpty()
                        and c.isAncestorOf(focus)), None)
        if current is None:
            current = self._last if self._last in names else names[-1]
        name = names[(names.index(current) + step) % len(names)]
        self._last = name
        self.docks[name].show()
        self.docks[name].raise_()
        self.charts[name].chart.setFocus()
        return self.charts[name]

    def set_symbols(self, symbols: list[str]) -> None:
        self.symbols = symbols
        for chart in self.charts.values():
            chart.set_symbols(symbols)

    def apply(self, batch: Batch) -> None:
        for name, chart in list(self.charts.items()):
            try:
                chart.apply(batch)
            except Exception:  # one chart failing must not stop the others
                log.exception("chart %s failed to update", name)
