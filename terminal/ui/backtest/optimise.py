"""Optimisation: grid or genetic search over chosen parameters towards a chosen statistic.

The strategy, data, period and costs are the settings panel's; parameters not ticked here
keep the value typed there. The search runs as one job of the workbench's pool: the job reads
the bars once and its optimiser evaluates the settings in its own worker processes, which
share them (terminal.backtest.optimisation). Progress comes back through the pool; Cancel ends
the job and its workers. The results table lists every setting evaluated, best first; the
heatmap shows the target over two of the parameters (the best over the others). Above the
table, the odds that the best setting is luck (deflated Sharpe ratio, PBO, settings tried and
the verdict), computed in the job's worker, never on the GUI thread.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter,
    QVBoxLayout, QWidget)

from terminal.backtest.optimisation.odds import OptimisationOdds
from terminal.backtest.optimisation.ranking import OptimisationResult, heatmap
from terminal.backtest.optimisation.space import ParameterError
from terminal.backtest.pool import DONE, JobHandle
from terminal.backtest.stats import format_value
from terminal.plugins.loader import PluginError
from terminal.services import optimisation
from terminal.ui.backtest.form import SettingsPanel
from terminal.ui.backtest.pool_signals import PoolSignals
from terminal.ui.backtest.models import Col, RowsModel, plain, signed_color
from terminal.ui.backtest.results import make_table
from terminal.ui.backtest.search_settings import SearchJob, SearchSettings, spin, target_label
from terminal.ui.colours import (
    ERROR_HEX, MUTED_HEX, PLOT_BACKGROUND, RUNNING_HEX, WARNING_HEX, error_html)

LEVEL_HEX = {"real": RUNNING_HEX, "unsure": WARNING_HEX, "luck": ERROR_HEX,
             "unknown": MUTED_HEX}
ODDS_HELP = (
    ("Deflated Sharpe: the probability that the best setting's true Sharpe ratio beats what "
    "the best of this many settings would reach by luck alone; 0.95 or more is good."),
    ("PBO (probability of backtest overfitting): how often the setting best on half of the "
    "days (16 blocks, every way of halving them) ranked at or below the median on the other "
    "half; 10% or less is good."),
    ("Settings tried: every setting evaluated, failed ones included; the more are tried, the "
    "more the best one's result may be luck."))
SHOWN_STATS = ("total_net_pnl", "sharpe_ratio", "total_return", "max_ddpercent",
               "total_trade_count")
CELL_TEXT_LIMIT = 400              # write each cell's value on heatmaps up to this size


def _stat_text(key: str):
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and math.isnan(value):
            return "n/a"
        return format_value(key, value)
    return text


class OddsBox(QLabel):
    """Beside the best setting: the deflated Sharpe ratio, the PBO and the number of
    settings tried on one line, the verdict under it, framed and coloured by its level; the
    tooltip says what each measure is in one sentence and why one is missing."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.odds: OptimisationOdds | None = None
        self.level = ""
        self.show_odds(None)

    def show_odds(self, odds: OptimisationOdds | None, source: str = "") -> None:
        self.odds = odds
        if odds is None:
            self.level = ""
            self.setText("")
            self.setToolTip("")
            self.setVisible(False)
            return
        self.level = odds.level
        colour = LEVEL_HEX.get(odds.level, MUTED_HEX)
        self.setStyleSheet(f"QLabel {{ border: 1px solid {colour}; border-radius: 3px; "
                           f"padding: 4px; }}")
        origin = f" <span style='color:{MUTED_HEX}'>({escape(source)})</span>" if source else ""
        self.setText(f"<b>{escape(odds.summary())}</b>{origin}<br>"
                     f"<span style='color:{colour}'><b>{escape(odds.headline)}</b></span>")
        self.setToolTip("<br>".join(escape(line) for line in (
            *ODDS_HELP, "", *odds.lines,
            *(f"Missing: {reason}" for reason in odds.missing))))
        self.setVisible(True)


class OptimisePanel(SearchJob, QWidget):
    finished = Signal(object)        # the OptimisationResult, or None when it failed/cancelled

    def __init__(self, form: SettingsPanel, signals: PoolSignals, market_root,
                 parent=None) -> None:
        super().__init__(parent)
        self.form = form
        self.signals = signals
        self.market_root = market_root
        self.handle: JobHandle | None = None
        self.result: OptimisationResult | None = None
        self.params: list[str] = []                # the parameters of the last result
        self._build()
        signals.progress.connect(self._progress)
        signals.finished.connect(self._finished)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.search = SearchSettings(self.form)
        self.limit_spin = spin(0, 24 * 60, 60)
        self.limit_spin.setSuffix(" min")
        self.limit_spin.setToolTip("Stop the search after this long (0: no limit)")
        self.search.form_layout.addRow("Time limit", self.limit_spin)

        left = self.search.side("Optimise", "Tick the parameters to search and set their ranges",
                                self.start, self.cancel)
        self.start_button, self.cancel_button = self.search.start_button, \
            self.search.cancel_button
        self.progress_bar, self.status_label = self.search.progress_bar, \
            self.search.status_label

        self.results_model = RowsModel([], self)
        self.results_view = make_table(self.results_model, sortable=True)
        self.results_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.use_button = QPushButton("Use these parameters")
        self.use_button.setToolTip("Put the selected setting's parameters into the settings "
                                   "panel, to run it on its own")
        self.use_button.clicked.connect(self.use_selected)
        self.results_label = QLabel("")
        results_bar = QHBoxLayout()
        results_bar.addWidget(self.results_label, 1)
        results_bar.addWidget(self.use_button)
        self.odds_box = OddsBox()
        results_panel = QWidget()
        results_layout = QVBoxLayout(results_panel)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addLayout(results_bar)
        results_layout.addWidget(self.odds_box)
        results_layout.addWidget(self.results_view, 1)

        self.x_box = QComboBox()
        self.y_box = QComboBox()
        for box in (self.x_box, self.y_box):
            box.currentIndexChanged.connect(lambda *_: self.draw_heatmap())
        heat_bar = QHBoxLayout()
        heat_bar.addWidget(QLabel("Heatmap  x"))
        heat_bar.addWidget(self.x_box)
        heat_bar.addWidget(QLabel("y"))
        heat_bar.addWidget(self.y_box)
        heat_bar.addStretch(1)
        self.heat_note = QLabel("")
        heat_bar.addWidget(self.heat_note)
        self.heat_widget = pg.PlotWidget(background=PLOT_BACKGROUND)
        self.heat_plot = self.heat_widget.getPlotItem()
        self.heat_plot.setMenuEnabled(False)
        self.heat_image = pg.ImageItem()
        self.heat_plot.addItem(self.heat_image)
        self.color_map = pg.colormap.get("viridis")
        self.heat_image.setColorMap(self.color_map)
        self.color_bar = pg.ColorBarItem(values=(0, 1), colorMap=self.color_map,
                                         interactive=False)
        self.color_bar.setImageItem(self.heat_image, insert_in=self.heat_plot)
        self.heat_texts: list[pg.TextItem] = []
        self.heat_matrix: np.ndarray | None = None
        heat_panel = QWidget()
        heat_layout = QVBoxLayout(heat_panel)
        heat_layout.setContentsMargins(0, 0, 0, 0)
        heat_layout.addLayout(heat_bar)
        heat_layout.addWidget(self.heat_widget, 1)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(results_panel)
        right.addWidget(heat_panel)
        right.setSizes([300, 300])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([380, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

    # ------------------------------------------------------------------ running
    def start(self) -> JobHandle | None:
        if self.running:
            self.status_label.setText("An optimisation is running: cancel it first")
            return None
        try:
            entry = self.form.current_entry()
            self.search.rebuild_if_needed()
            settings = self.form.settings()
            spec = self.search.space_spec()
            space = optimisation.check_search(entry, settings, spec)
            fixed = {k: v for k, v in self.form.params().items() if k not in spec}
        except (ValueError, ParameterError, PluginError) as exc:
            self.status_label.setText(error_html(str(exc)))
            return None
        search = self.search.search()
        self.result = None
        self.params = list(spec)
        handle = optimisation.submit_search(
            self.signals.submit, self.market_root, entry, settings, spec, fixed, search,
            time_limit=self.limit_spin.value() * 60 or None)
        return self._queued(handle, f"{search.method} search of {space.size:,} settings "
                                    f"towards {target_label(search.target)}: queued")

    def _finished(self, handle: JobHandle) -> None:
        if not self._ended(handle):
            return
        if handle.state == DONE:
            result = handle.result(0)
            self.progress_bar.setValue(100)
            self.show_result(result)
            errors = len(result.errors)
            self.status_label.setText(
                f"{len(result.rows):,} settings evaluated in {handle.elapsed:.1f} s"
                + (f", {errors} failed" if errors else "")
                + (" (cancelled)" if result.cancelled else ""))
            self.finished.emit(result)
            return
        self._say_failed(handle)
        self.finished.emit(None)

    # ------------------------------------------------------------------ results
    def show_result(self, result: OptimisationResult) -> None:
        """The settings evaluated, best first, and the heatmap of the first two parameters."""
        self.result = result
        names = list(result.rows[0][0]) if result.rows else list(self.params)
        self.params = names
        target = result.target
        stats = [key for key in SHOWN_STATS if key != target]
        columns = [Col(name, numeric=True) for name in names]
        columns.append(Col(f"{target_label(target)} (target)", _stat_text(target),
                           numeric=True, color=signed_color))
        columns += [Col(target_label(key), _stat_text(key), numeric=True) for key in stats]
        columns.append(Col("Error"))
        rows = []
        for params, value, statistics in result.rows:
            error = statistics.get("error", "")
            rows.append((*[params.get(n) for n in names], value,
                         *[statistics.get(key) for key in stats],
                         error.strip().splitlines()[-1] if error else ""))
        self.results_view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.results_model.set_rows(rows, columns=columns)
        best = result.best
        way = "highest" if result.maximise else "lowest"
        self.results_label.setText(
            f"{len(rows):,} settings, {way} {target_label(target)} first"
            + (f": best {', '.join(f'{k}={v}' for k, v in best[0].items())}" if best else ""))
        self.odds_box.show_odds(result.odds)
        for box in (self.x_box, self.y_box):
            box.blockSignals(True)
            box.clear()
            for name in names:
                box.addItem(name, name)
            box.blockSignals(False)
        if len(names) >= 2:
            self.x_box.setCurrentIndex(0)
            self.y_box.setCurrentIndex(1)
        self.draw_heatmap()

    def show_stored(self, record) -> bool:
        """The odds a reopened optimisation run kept (a RunRecord); False when the run is
        not an optimisation or was kept without odds."""
        odds = optimisation.stored_odds(record.settings)
        if odds is None:
            return False
        self.odds_box.show_odds(odds, f"run {record.run_id}, {record.strategy} on "
                                      f"{record.vt_symbol}")
        return True

    def target_column(self) -> int:
        return len(self.params)

    def draw_heatmap(self) -> None:
        for text in self.heat_texts:
            self.heat_plot.removeItem(text)
        self.heat_texts = []
        result = self.result
        x_name, y_name = self.x_box.currentData(), self.y_box.currentData()
        if result is None or not result.rows or len(self.params) < 2 or not x_name \
                or not y_name or x_name == y_name:
            self.heat_image.clear()
            self.heat_matrix = None
            self.heat_note.setText("The heatmap needs two parameters searched" if result
                                   else "")
            return
        xs, ys, matrix = heatmap(result, x_name, y_name)
        self.heat_matrix = matrix
        finite = matrix[np.isfinite(matrix)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        if high <= low:
            high = low + 1.0
        self.heat_image.setImage(matrix.T, autoLevels=False, levels=(low, high))
        self.heat_image.setRect(0, 0, len(xs), len(ys))
        self.color_bar.setLevels((low, high))
        bottom, left = self.heat_plot.getAxis("bottom"), self.heat_plot.getAxis("left")
        bottom.setTicks([[(i + 0.5, plain(x)) for i, x in enumerate(xs)]])
        left.setTicks([[(j + 0.5, plain(y)) for j, y in enumerate(ys)]])
        self.heat_plot.setLabel("bottom", x_name)
        self.heat_plot.setLabel("left", y_name)
        self.heat_plot.setRange(xRange=(0, len(xs)), yRange=(0, len(ys)), padding=0)
        if matrix.size <= CELL_TEXT_LIMIT:
            for j in range(len(ys)):
                for i in range(len(xs)):
                    value = matrix[j, i]
                    if not math.isfinite(value):
                        continue
                    text = pg.TextItem(f"{value:.4g}", color="#ffffff", anchor=(0.5, 0.5))
                    text.setPos(i + 0.5, j + 0.5)
                    self.heat_plot.addItem(text)
                    self.heat_texts.append(text)
        others = [n for n in self.params if n not in (x_name, y_name)]
        self.heat_note.setText(f"{target_label(result.target)}"
                               + (f", best over {', '.join(others)}" if others else ""))

    def use_selected(self) -> dict | None:
        rows = self.results_view.selectionModel().selectedRows()
        if not rows or self.result is None:
            return None
        row = rows[0].row()
        params = {name: self.results_model.value(row, i) for i, name in enumerate(self.params)}
        self.form.set_params(params)
        self.status_label.setText("parameters put into the settings panel: "
                                  + ", ".join(f"{k}={v}" for k, v in params.items()))
        return params
