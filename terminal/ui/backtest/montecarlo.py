"""The Monte Carlo tab of a run's results, and its "Export report…".

`MonteCarloPanel`: method, simulations, seed and the loss asked about; Run computes the
Monte Carlo (terminal.services.montecarlo) on a ThreadJob, never on the GUI thread, and shows
the percentiles table beside the run's own figures, the chance of the loss in words, and a
fan chart: the 5th-95th and 25th-75th percentile bands of the equity at each step, the
median and the run's own path, on a money axis. The loss can be changed after a run: the
words follow without simulating again.

`ReportExport`: the button that writes the shown run's HTML report (with the Monte Carlo on
the tab, when it is of that run) to a file the trader picks, on a ThreadJob.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from terminal.backtest.pool_jobs import RunResult
from terminal.backtest.runs import DONE, WALKFORWARD, RunRecord
from terminal.services import montecarlo, reports
from terminal.services.errors import BadInput
from terminal.ui.backtest.axes import DayAxis, MoneyAxis
from terminal.ui.backtest.models import Col, RowsModel
from terminal.ui.colours import ERROR_TEXT_STYLE, PLOT_BACKGROUND
from terminal.ui.thread_jobs import ThreadJob

log = logging.getLogger(__name__)

# (label, service method, with replacement)
METHOD_CHOICES = (
    ("Trade order: the round trips reshuffled", "trades", False),
    ("Trades drawn with replacement", "trades", True),
    ("Daily returns drawn with replacement", "daily", False),
)
BAND_OUTER, BAND_INNER = (74, 144, 226, 55), (74, 144, 226, 110)
MEDIAN_PEN, ACTUAL_PEN = "#4a90e2", "#f5a623"


class MonteCarloPanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.record: RunRecord | None = None
        self.result: RunResult | None = None
        self.shown: montecarlo.MonteCarloRun | None = None
        self.job: ThreadJob | None = None

        self.method_box = QComboBox()
        for label, method, replace in METHOD_CHOICES:
            self.method_box.addItem(label, (method, replace))
        self.simulations_box = QSpinBox()
        self.simulations_box.setRange(10, 200_000)
        self.simulations_box.setSingleStep(1000)
        self.simulations_box.setGroupSeparatorShown(True)
        self.simulations_box.setValue(montecarlo.DEFAULT_SIMULATIONS)
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2_147_483_647)
        self.seed_box.setValue(7)
        self.seed_box.setToolTip("The same seed gives the same simulations")
        self.loss_box = QDoubleSpinBox()
        self.loss_box.setRange(0.01, 1e12)
        self.loss_box.setDecimals(2)
        self.loss_box.setSingleStep(10_000)
        self.loss_box.setGroupSeparatorShown(True)
        self.loss_box.setValue(100_000)
        self.loss_box.setToolTip("The loss whose chance is told, in money")
        self.loss_box.valueChanged.connect(self._show_loss)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Method", self.method_box)
        form.addRow("Simulations", self.simulations_box)
        form.addRow("Seed", self.seed_box)
        form.addRow("Loss to ask about", self.loss_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addStretch(1)
        form.addRow(buttons)

        self.table_model = RowsModel([Col("Figure"), Col("5th percentile", numeric=True),
                                      Col("Median", numeric=True),
                                      Col("95th percentile", numeric=True),
                                      Col("This run", numeric=True)], self)
        from terminal.ui.backtest.results import make_table    # results imports this module

        self.table = make_table(self.table_model)
        self.table.setColumnWidth(0, 170)
        self.loss_label = QLabel("")
        self.loss_label.setWordWrap(True)

        self.fan_axis = DayAxis()          # the steps: trading days, or round trips dealt
        self.fan_plot = pg.PlotWidget(axisItems={"left": MoneyAxis(), "bottom": self.fan_axis})
        self.fan_plot.setBackground(PLOT_BACKGROUND)
        self.fan_plot.getAxis("left").setWidth(90)
        self.fan_plot.addLegend(offset=(10, 10))
        plot = self.fan_plot.getPlotItem()
        # 5, 95, 25, 75; an invisible pen, not none: a curve without a pen holds no path
        self.band_edges = [plot.plot(pen=pg.mkPen(None)) for _ in range(4)]
        self.outer_band = pg.FillBetweenItem(self.band_edges[0], self.band_edges[1],
                                             brush=pg.mkBrush(*BAND_OUTER))
        self.inner_band = pg.FillBetweenItem(self.band_edges[2], self.band_edges[3],
                                             brush=pg.mkBrush(*BAND_INNER))
        plot.addItem(self.outer_band)
        plot.addItem(self.inner_band)
        # the legend draws a sample from a curve's fill, and the bands are not curves: two
        # curves that are never plotted stand for them (kept here, not given a Qt parent
        # that would delete them under the legend)
        self.band_samples = [pg.PlotDataItem(pen=None, fillLevel=0,
                                             fillBrush=pg.mkBrush(*colour))
                             for colour in (BAND_OUTER, BAND_INNER)]
        for sample, label in zip(self.band_samples, ("5th-95th percentile",
                                                     "25th-75th percentile"), strict=True):
            plot.legend.addItem(sample, label)
        self.median_curve = plot.plot(pen=pg.mkPen(MEDIAN_PEN, width=1.5), name="median")
        self.actual_curve = plot.plot(pen=pg.mkPen(ACTUAL_PEN, width=1.5), name="this run")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(form)
        left_layout.addWidget(self.status)
        rows = len(montecarlo.FIGURE_LABELS) + 1
        self.table.setFixedHeight(rows * self.table.verticalHeader().defaultSectionSize() + 8)
        left_layout.addWidget(self.table)
        left_layout.addWidget(self.loss_label)
        left_layout.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(left, 1)
        layout.addWidget(self.fan_plot, 1)
        self.set_run(None, None)

    # ------------------------------------------------------------------ the run shown
    def set_run(self, record: RunRecord | None, result: RunResult | None) -> None:
        """The run whose Monte Carlo the tab computes; what was shown before is cleared."""
        same = (self.record is not None and record is not None
                and self.record.run_id == record.run_id)
        self.record, self.result = record, result
        if same:
            return
        self._clear()
        capital = (record.settings.get("capital") if record is not None else None)
        if isinstance(capital, (int, float)) and capital > 0:
            self.loss_box.setValue(capital * montecarlo.DEFAULT_LOSS_SHARE)
        self.run_button.setEnabled(self._ready() and (self.job is None or self.job.done))
        self._say("" if self._ready() else "Show a finished run to simulate it.")

    def _ready(self) -> bool:
        return (self.record is not None and self.record.status == DONE
                and self.result is not None)

    def _clear(self) -> None:
        self.shown = None
        self.table_model.set_rows([])
        self.loss_label.setText("")
        for item in (*self.band_edges, self.median_curve, self.actual_curve):
            item.setData([], [])

    # ------------------------------------------------------------------ running
    def run(self) -> ThreadJob | None:
        """Simulate the shown run with the settings on the tab, on a thread."""
        record, result = self.record, self.result
        if not self._ready() or (self.job is not None and not self.job.done):
            return None
        method, replace = self.method_box.currentData()
        simulations, seed = self.simulations_box.value(), self.seed_box.value()
        daily, trades = result.daily, result.trades

        def work(job: ThreadJob):
            job.report(0, "simulating")
            simulated = montecarlo.simulate(record, daily, trades, method, simulations, seed,
                                            replace)
            job.report(80, "percentiles")
            return simulated, simulated.result.fan(), montecarlo.percentile_rows(simulated)

        job = ThreadJob(work, name=f"monte carlo {record.run_id}")
        job.succeeded.connect(lambda out, run_id=record.run_id: self._done(run_id, out))
        job.failed.connect(lambda exc, run_id=record.run_id: self._failed(run_id, exc))
        job.finished.connect(lambda: self.run_button.setEnabled(self._ready()))
        self.job = job
        self.run_button.setEnabled(False)
        self._say(f"Simulating {simulations:,} times…")
        job.start(self.pool)
        return job

    def _done(self, run_id: str, out) -> None:
        if self.record is None or self.record.run_id != run_id:
            return                                  # another run is shown now
        simulated, fan, rows = out
        self.shown = simulated
        self.table_model.set_rows(rows)
        self.table.resizeColumnsToContents()
        x = np.arange(fan.shape[1], dtype=float)
        for item, row in zip(self.band_edges, (fan[0], fan[4], fan[1], fan[3]), strict=True):
            item.setData(x, row)
        self.median_curve.setData(x, fan[2])
        self.actual_curve.setData(np.arange(len(simulated.actual), dtype=float),
                                  simulated.actual)
        self.fan_axis.days = simulated.step_labels()
        self.fan_plot.setLabel("bottom", simulated.unit)
        # the range of the lines themselves (the bands' fill would let auto-range reach 0)
        low = float(min(fan[0].min(), simulated.actual.min()))
        high = float(max(fan[4].max(), simulated.actual.max()))
        self.fan_plot.setXRange(0, max(1, fan.shape[1] - 1), padding=0.02)
        self.fan_plot.setYRange(low, high if high > low else low + 1, padding=0.05)
        self._say(simulated.description)
        self._show_loss()

    def _failed(self, run_id: str, exc: BaseException) -> None:
        if self.record is None or self.record.run_id != run_id:
            return
        if not isinstance(exc, BadInput):
            log.error("Monte Carlo of run %s failed", run_id, exc_info=exc)
        self._say(f"No Monte Carlo: {exc}", error=True)

    def _show_loss(self, *_) -> None:
        if self.shown is None:
            return
        amount = self.loss_box.value()
        self.loss_label.setText(f"Chance of losing {amount:,.2f}:\n"
                                + "\n".join(montecarlo.loss_words(self.shown, amount)))

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_TEXT_STYLE if error else "")

    def monte_carlo_of(self, run_id: str) -> tuple[montecarlo.MonteCarloRun, float] | None:
        """The Monte Carlo shown for this run and the loss asked about, if any."""
        if self.shown is None or self.shown.record.run_id != run_id:
            return None
        return self.shown, self.loss_box.value()

    # ------------------------------------------------------------------ for tests
    def snapshot(self) -> dict:
        return {"status": self.status.text(), "table": self.table_model.texts(),
                "loss": self.loss_label.text(),
                "median": list(self.median_curve.getData()[1]
                               if self.median_curve.getData()[1] is not None else []),
                "actual": list(self.actual_curve.getData()[1]
                               if self.actual_curve.getData()[1] is not None else [])}


class ReportExport(QWidget):
    """"Export report…": the shown run as one HTML file, written on a thread."""

    def __init__(self, view, panel: MonteCarloPanel, parent=None) -> None:
        super().__init__(parent)
        self.view, self.panel = view, panel
        self.windows_of = None      # run id -> a walk-forward's windows (the workbench's store)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.button = QPushButton("Export report…")
        self.button.setToolTip("The shown run as one HTML file: statistics, equity and "
                               "drawdown, monthly returns, trades, and the Monte Carlo tab's "
                               "result when it is of this run")
        self.button.clicked.connect(self._ask)
        self.status = QLabel("")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.button)
        self.last_dir = Path.home()

    def _ask(self) -> None:
        record = self.view.record
        if record is None or record.status != DONE:
            self._say("Show a finished run to export its report.", error=True)
            return
        name = f"{record.strategy}-{record.vt_symbol}-{record.run_id}.html".replace("/", "_")
        path, _ = QFileDialog.getSaveFileName(self, "Export report", str(self.last_dir / name),
                                              "HTML (*.html)")
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> ThreadJob | None:
        """Write the shown run's report to `path`, on a thread."""
        record, result = self.view.record, self.view.result
        if record is None or result is None:
            self._say("Show a finished run to export its report.", error=True)
            return None
        chosen = self.panel.monte_carlo_of(record.run_id)
        simulated, loss = chosen if chosen is not None else (None, None)
        daily, trades = result.daily, result.trades
        windows_of = self.windows_of if record.kind == WALKFORWARD else None

        def work(job: ThreadJob) -> Path:
            job.report(0, "writing")
            windows = windows_of(record.run_id) if windows_of is not None else None
            return reports.write(path, reports.run_report(record, daily, trades, simulated,
                                                          loss, windows))

        job = ThreadJob(work, name=f"report {record.run_id}")
        job.succeeded.connect(lambda written: self._say(f"Report written to {written}"))
        job.failed.connect(lambda exc: self._say(f"No report: {exc}", error=True))
        self.last_dir = path.parent
        self._say(f"Writing {path.name}…")
        job.start(self.pool)
        return job

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet(ERROR_TEXT_STYLE if error else "")
