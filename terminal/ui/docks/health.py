"""Health: is the terminal keeping up? Connections, tick rate, queues, GUI loop lag, memory,
and on a virtual machine the host's steal.

A timer samples the `HealthSampler` once a second. The table shows the current values,
amber when a measure needs watching (a queue that keeps growing, a lag p99 over one frame,
a connection being made, memory up 10% in ten minutes), red when something is wrong (a failed
or closed connection, a queue seconds behind, a lag over 100 ms). Three small plots show the
last 15 minutes of memory, loop lag and ticks per second, each redrawn every `PLOT_EVERY`
samples, in turn (one plot a sample), and only while the dock is visible: redrawing the three
at once (their value axes are most of it) would show as a loop lag spike of its own.
`HealthStatusLabel` is the one-line version for the status bar.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QWidget)

from terminal.core.health import (BAD, FRAME, OK, WARN, HealthSample, HealthSampler,
                                  status_text)
from terminal.ui.colours import ERROR_HEX, PLOT_BACKGROUND, WARNING_HEX

PLOT_EVERY = 5                  # samples between two redraws of a plot
LEVEL_COLORS = {WARN: WARNING_HEX, BAD: ERROR_HEX}
_BRUSHES = {level: QBrush(QColor(color)) for level, color in LEVEL_COLORS.items()}

# (key in the levels, label, how to show the sample's value, what the colour means)
ROWS: list[tuple[str, str, object, str]] = [
    ("ticks_per_second", "Ticks per second",
     lambda s: _num(s.ticks_per_second, "{:,.0f}"), "tick events reaching the GUI bridge"),
    ("event_queue", "Event queue", lambda s: _num(s.event_queue, "{:,}"),
     "events waiting for vn.py's event thread; amber: growing, red: over 5,000"),
    ("bridge_pending", "Waiting for the GUI", lambda s: _num(s.bridge_pending, "{:,}"),
     "items folded by the bridge, not yet drained by the GUI; amber: growing, red: over 5,000"),
    ("journal_queue", "Journal queue", lambda s: _num(s.journal_queue, "{:,}"),
     "orders, trades and snapshots not yet committed; amber: growing, red: over 5,000"),
    ("recorder_queue", "Recorder queue", lambda s: _num(s.recorder_queue, "{:,}"),
     "ticks not yet written to the recording; amber: growing, red: over 50,000"),
    ("lag_last", "GUI loop lag", lambda s: _ms(s.lag_last),
     "lateness of the last 20 ms wait on the GUI loop; amber over 16 ms, red over 100 ms"),
    ("lag_p99", "GUI loop lag p99 (1 min)", lambda s: _ms(s.lag_p99),
     "99th percentile over the last minute; amber over one frame (16 ms), red over 100 ms"),
    ("rss", "Memory (resident)", lambda s: _num(None if s.rss is None else s.rss / 2**20,
                                                "{:,.0f} MB"),
     "resident memory of the process; amber: up more than 10% in ten minutes"),
    ("threads", "Threads", lambda s: _num(s.threads, "{:,}"), "threads of the process"),
    ("cpu", "CPU", lambda s: _num(s.cpu, "{:.0f}%"), "of one core, over the last second"),
    ("host_steal", "Host steal (virtual machine)", lambda s: _num(s.host_steal, "{:.1f}%"),
     ("share of all CPUs' time the virtual machine's host gave to other guests over the last "
      "second (Linux only); amber over 5%: loop lags then come from the host, not the terminal")),
]


def _num(value, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def _ms(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds * 1000:.1f} ms"


class HealthDock(QWidget):
    """The health view over `sampler`, sampled every `interval_ms` while the dock exists."""

    sampled = Signal(object, object)      # HealthSample, levels (dict measure -> ok/warn/bad)

    def __init__(self, sampler: HealthSampler, interval_ms: int = 1000, parent=None) -> None:
        super().__init__(parent)
        self.sampler = sampler
        self.levels: dict[str, str] = {}
        self._gateways: tuple[str, ...] = ()
        self._samples = 0

        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Measure", "Now"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 190)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().lineSpacing() + 4)
        self.table.setMinimumWidth(300)
        self.table.setMaximumWidth(420)

        import pyqtgraph as pg   # here: the status bar's label needs none of it at start

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(PLOT_BACKGROUND)
        self.memory_plot = self._plot(0, "Memory (MB)")
        self.lag_plot = self._plot(1, "GUI loop lag (ms)")
        self.rate_plot = self._plot(2, "Ticks per second")
        # Cosmetic one-pixel pens: wider ones are stroked as outlines, several times slower.
        self.memory_curve = self.memory_plot.plot(pen=pg.mkPen("#4a90e2"))
        self.lag_curve = self.lag_plot.plot(pen=pg.mkPen("#8a8f98"), name="last")
        self.lag_p99_curve = self.lag_plot.plot(pen=pg.mkPen("#f5a623"), name="p99")
        self.lag_plot.addItem(pg.InfiniteLine(FRAME * 1000, angle=0,
                                              pen=pg.mkPen(LEVEL_COLORS[BAD], width=1,
                                                           style=Qt.PenStyle.DashLine)))
        self.rate_curve = self.rate_plot.plot(pen=pg.mkPen("#30a46c"))
        self._plotters = (self._plot_memory, self._plot_lag, self._plot_rate)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)
        layout.addWidget(self.plots, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    def _plot(self, column: int, title: str):
        plot = self.plots.addPlot(row=0, col=column)
        minutes = self.sampler.history_seconds / 60
        plot.setTitle(f"{title}, last {minutes:g} min", size="9pt")
        plot.hideAxis("bottom")               # the time span is fixed: said in the title
        plot.showGrid(x=False, y=False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.getAxis("left").enableAutoSIPrefix(False)
        plot.getAxis("left").setWidth(48)
        plot.setXRange(-minutes, 0, padding=0)
        return plot

    # ------------------------------------------------------------------ updates
    def refresh(self) -> HealthSample:
        """Take a sample, show it, and tell the status bar."""
        sample = self.sampler.sample()
        self.levels = self.sampler.levels()
        self._show_table(sample)
        self._samples += 1
        turn = self._samples % PLOT_EVERY       # the plots take turns: one short paint each
        if self.isVisible() and turn < len(self._plotters):
            self._plotters[turn]()
        self.sampled.emit(sample, self.levels)
        return sample

    def _show_table(self, sample: HealthSample) -> None:
        gateways = tuple(gateway for gateway, _, _ in sample.connections)
        if gateways != self._gateways or self.table.rowCount() == 0:
            self._gateways = gateways
            self.table.setRowCount(len(gateways) + len(ROWS))
            labels = [f"Connection {g}" for g in gateways] + [label for _, label, _, _ in ROWS]
            tips = ["state of the gateway's connection"] * len(gateways) + \
                   [tip for _, _, _, tip in ROWS]
            for row, (label, tip) in enumerate(zip(labels, tips, strict=True)):
                item = QTableWidgetItem(label)
                item.setToolTip(tip)
                self.table.setItem(row, 0, item)
                self.table.setItem(row, 1, QTableWidgetItem())
        cells = [(f"connection:{gateway}", state, detail)
                 for gateway, state, detail in sample.connections]
        cells += [(key, show(sample), "") for key, _, show, _ in ROWS]
        for row, (key, text, tip) in enumerate(cells):
            item = self.table.item(row, 1)
            if item.text() != text:
                item.setText(text)
            if tip and item.toolTip() != tip:
                item.setToolTip(tip)
            brush = _BRUSHES.get(self.levels.get(key, OK))
            item.setForeground(brush if brush is not None else self.palette().text())

    def update_plots(self) -> None:
        for plot in self._plotters:
            plot()

    def _minutes_ago(self) -> np.ndarray | None:
        latest = self.sampler.latest
        if latest is None:
            return None
        times, _ = self.sampler.series("at")
        return (np.asarray(times) - latest.at) / 60.0

    def _plot_memory(self) -> None:
        x = self._minutes_ago()
        if x is not None:
            _, rss = self.sampler.series("rss")
            self.memory_curve.setData(x, np.asarray(rss) / 2**20, connect="finite")

    def _plot_lag(self) -> None:
        x = self._minutes_ago()
        if x is not None:
            _, lag = self.sampler.series("lag_last")
            _, p99 = self.sampler.series("lag_p99")
            self.lag_curve.setData(x, np.asarray(lag) * 1000, connect="finite")
            self.lag_p99_curve.setData(x, np.asarray(p99) * 1000, connect="finite")

    def _plot_rate(self) -> None:
        x = self._minutes_ago()
        if x is not None:
            _, rate = self.sampler.series("ticks_per_second")
            self.rate_curve.setData(x, np.asarray(rate), connect="finite")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.update_plots()

    def stop(self) -> None:
        self.timer.stop()

    def value_text(self, key: str) -> str:
        """The text shown for a measure (`connection:<gateway>` for a connection)."""
        for row in range(self.table.rowCount()):
            label = self.table.item(row, 0).text()
            if key.startswith("connection:") and label == f"Connection {key.split(':', 1)[1]}":
                return self.table.item(row, 1).text()
            if any(k == key and lbl == label for k, lbl, _, _ in ROWS):
                return self.table.item(row, 1).text()
        raise KeyError(key)

    def level_color(self, key: str) -> str | None:
        """The warning colour a measure is shown in (None: normal)."""
        return LEVEL_COLORS.get(self.levels.get(key, OK))


class HealthStatusLabel(QLabel):
    """The health in one line for the status bar, coloured by the worst level; the details
    are in the tooltip. Follows a HealthDock: `HealthStatusLabel(dock)`."""

    def __init__(self, dock: HealthDock | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setText("health: –")
        if dock is not None:
            dock.sampled.connect(self.show_sample)

    def show_sample(self, sample: HealthSample, levels: dict[str, str]) -> None:
        self.setText(status_text(sample))
        color = LEVEL_COLORS.get(levels.get("overall", OK))
        self.setStyleSheet(f"color: {color}" if color else "")
        problems = [key for key, level in levels.items() if level != OK and key != "overall"]
        tip = "Health: all measures within bounds" if not problems else \
            "Needs attention: " + ", ".join(problems)
        self.setToolTip(tip + "\n(event queue / waiting for the GUI / journal / recorder)")

