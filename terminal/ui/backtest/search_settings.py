"""What a search is over and how it searches, as the Optimise and Walk-forward tabs both ask
it: the strategy's number parameters with a range each (tick those to search), the target
statistic and its direction, grid or genetic (population, generations, seed) and the worker
processes. One widget so that the two tabs ask the same way and check the same way."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QFrame, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
    QLineEdit, QProgressBar, QPushButton, QScrollArea, QSpinBox, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget)

from terminal.backtest.optimisation.ranking import TARGETS
from terminal.backtest.pool import CANCELLED, JobHandle
from terminal.backtest.optimisation.space import ParameterError, ParameterSpace
from terminal.backtest.stats import LABELS
from terminal.plugins.parameters import kind_of, parse_param
from terminal.services import optimisation
from terminal.ui.backtest.form import SettingsPanel
from terminal.ui.colours import error_html


PARAMETER_ROWS_SHOWN = 110          # px: the parameter table shows a few rows at least


def target_label(target: str) -> str:
    return LABELS.get(target, (target,))[0]


def spin(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


class SearchSettings(QWidget):
    """The parameter table (`param_table`, `space_label`) and the search options
    (`options`, a group box whose form a tab may add rows to); both are laid out by the tab
    that holds them. The settings panel gives the strategy and its defaults."""

    def __init__(self, settings_panel: SettingsPanel, parent=None) -> None:
        super().__init__(parent)
        self.settings_panel = settings_panel
        self.param_table = QTableWidget(0, 5)
        self.param_table.setHorizontalHeaderLabels(["Parameter", "Start", "Stop", "Step",
                                                    "Values"])
        self.param_table.verticalHeader().setVisible(False)
        self.param_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents)
        self.param_table.horizontalHeader().setStretchLastSection(True)
        for column in (1, 2, 3):
            self.param_table.setColumnWidth(column, 64)
        self.param_table.itemChanged.connect(lambda *_: self.update_space())
        self.space_label = QLabel("")
        self.space_label.setWordWrap(True)

        self.target_box = QComboBox()
        for target in TARGETS:
            self.target_box.addItem(target_label(target), target)
        self.target_box.setCurrentIndex(self.target_box.findData("sharpe_ratio"))
        self.maximise_box = QCheckBox("Maximise (untick to minimise)")
        self.maximise_box.setChecked(True)
        self.method_box = QComboBox()
        self.method_box.addItem("Grid: every setting", "grid")
        self.method_box.addItem("Genetic: search a large space", "genetic")
        self.method_box.currentIndexChanged.connect(lambda *_: self._method_changed())
        self.population_spin = spin(2, 10_000, 20)
        self.generations_spin = spin(0, 10_000, 10)
        self.seed_spin = spin(0, 2_000_000_000, 0)
        self.seed_spin.setToolTip("The same seed gives the same search; 0 for a new one")
        self.workers_spin = spin(1, max(1, os.cpu_count() or 1) * 4,
                                       max(1, min(4, os.cpu_count() or 1)))
        self.workers_spin.setToolTip("Worker processes evaluating settings at once")
        self.cluster_edit = QLineEdit()
        self.cluster_edit.setPlaceholderText("this machine")
        self.cluster_edit.setToolTip(
            "A Dask scheduler's address (tcp://host:8786) to evaluate the settings on its "
            "workers instead of this machine's processes; they need this terminal's package, "
            "vn.py and the strategy's file importable")

        self.options = QGroupBox("Search")
        form = self.form_layout = QFormLayout(self.options)
        form.addRow("Target", self.target_box)
        form.addRow(self.maximise_box)
        form.addRow("Method", self.method_box)
        form.addRow("Population", self.population_spin)
        form.addRow("Generations", self.generations_spin)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Workers", self.workers_spin)
        form.addRow("Dask cluster", self.cluster_edit)
        self._method_changed()
        settings_panel.strategy_changed.connect(lambda *_: self.rebuild_parameters())
        self.rebuild_parameters()

    def side(self, start_text: str, hint: str, start: Callable[[], Any],
             cancel: Callable[[], Any]) -> QWidget:
        """The tab's left side: the parameter table, the options, the start and Cancel
        buttons (`start_button`, `cancel_button`), the progress bar and the status line
        (`progress_bar`, `status_label`, first saying `hint`)."""
        self.start_button = QPushButton(start_text)
        self.start_button.clicked.connect(lambda: start())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: cancel())
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.status_label = QLabel(hint)
        self.status_label.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        side = QWidget()
        layout = QVBoxLayout(side)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Parameters (tick those to search)"))
        self.param_table.setMinimumHeight(PARAMETER_ROWS_SHOWN)
        layout.addWidget(self.param_table, 1)
        layout.addWidget(self.space_label)
        layout.addWidget(self.options)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        # the workbench's dock is short (about 300 px in the default layout): the side
        # scrolls down rather than making the dock, and the window, taller than the screen
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(side)
        scroll.setMinimumWidth(side.minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width())
        self.side_scroll = scroll
        return scroll

    def search(self) -> optimisation.Search:
        """The search as chosen (a seed of 0 asks for a new one; no cluster address: this
        machine's worker processes)."""
        return optimisation.Search(
            target=self.target_box.currentData(), maximise=self.maximise_box.isChecked(),
            genetic=self.method_box.currentData() == "genetic",
            population=self.population_spin.value(), generations=self.generations_spin.value(),
            seed=self.seed_spin.value() or None, workers=self.workers_spin.value(),
            scheduler=self.cluster_edit.text().strip() or None)

    def _method_changed(self) -> None:
        genetic = self.method_box.currentData() == "genetic"
        for spin in (self.population_spin, self.generations_spin, self.seed_spin):
            spin.setEnabled(genetic)

    # ------------------------------------------------------------------ parameters
    def rebuild_parameters(self) -> None:
        """One row per number parameter of the strategy: start, stop and step from its
        default (one value until the trader widens it)."""
        self.param_table.blockSignals(True)
        self.param_table.setRowCount(0)
        for name, default in self.settings_panel.defaults.items():
            kind = kind_of(default)
            if kind not in ("int", "float"):
                continue
            row = self.param_table.rowCount()
            self.param_table.insertRow(row)
            check = QTableWidgetItem(name)
            check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            check.setCheckState(Qt.CheckState.Unchecked)
            check.setData(Qt.ItemDataRole.UserRole, name)
            check.setToolTip(f"{name} ({kind}, default {default!r})")
            self.param_table.setItem(row, 0, check)
            step = 1 if kind == "int" else (abs(default) / 10 or 0.1)
            for column, value in ((1, default), (2, default), (3, step)):
                self.param_table.setItem(row, column, QTableWidgetItem(
                    repr(value) if isinstance(value, float) else str(value)))
            values = QTableWidgetItem("1")
            values.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.param_table.setItem(row, 4, values)
        self.param_table.blockSignals(False)
        self.update_space()

    def set_range(self, name: str, start, stop, step, chosen: bool = True) -> None:
        """Tick a parameter and set its range (as the trader would type it)."""
        for row in range(self.param_table.rowCount()):
            if self.param_table.item(row, 0).data(Qt.ItemDataRole.UserRole) == name:
                self.param_table.blockSignals(True)
                self.param_table.item(row, 0).setCheckState(
                    Qt.CheckState.Checked if chosen else Qt.CheckState.Unchecked)
                for column, value in ((1, start), (2, stop), (3, step)):
                    self.param_table.item(row, column).setText(str(value))
                self.param_table.blockSignals(False)
                self.update_space()
                return
        raise KeyError(f"{name}: not a number parameter of the strategy")

    def space_spec(self) -> dict:
        """The ticked parameters as ParameterSpace's spec; ValueError names a bad field."""
        spec = {}
        for row in range(self.param_table.rowCount()):
            item = self.param_table.item(row, 0)
            if item.checkState() != Qt.CheckState.Checked:
                continue
            name = item.data(Qt.ItemDataRole.UserRole)
            default = self.settings_panel.defaults.get(name)
            values = []
            for column, label in ((1, "start"), (2, "stop"), (3, "step")):
                text = self.param_table.item(row, column).text()
                try:
                    values.append(parse_param(name, text, default))
                except ValueError as exc:
                    raise ValueError(f"{exc} ({label})") from None
            spec[name] = tuple(values)
        return spec

    def update_space(self) -> int:
        """The size of the space as typed (0 and the reason when it cannot be searched)."""
        try:
            spec = self.space_spec()
            space = ParameterSpace(spec)
        except (ValueError, ParameterError) as exc:
            self.space_label.setText(error_html(str(exc)))
            return 0
        self.param_table.blockSignals(True)
        for row in range(self.param_table.rowCount()):
            name = self.param_table.item(row, 0).data(Qt.ItemDataRole.UserRole)
            count = len(space.values(name)) if name in spec else 1
            self.param_table.item(row, 4).setText(f"{count:,}")
        self.param_table.blockSignals(False)
        if not spec:
            self.space_label.setText("No parameter ticked")
            return 0
        self.space_label.setText(f"{space.size:,} settings in the space")
        return space.size

    def rebuild_if_needed(self) -> None:
        names = [self.param_table.item(r, 0).data(Qt.ItemDataRole.UserRole)
                 for r in range(self.param_table.rowCount())]
        wanted = [n for n, d in self.settings_panel.defaults.items()
                  if kind_of(d) in ("int", "float")]
        if names != wanted:
            self.rebuild_parameters()


class SearchJob:
    """The life of a search tab's one pool job, for a QWidget holding `search` (the
    SearchSettings whose side shows the buttons, progress and status) and `handle`: queued
    (Start off, Cancel on), its progress, Cancel, and its end (the buttons back, a failure's
    last line shown and its traceback as the tooltip)."""

    search: SearchSettings
    handle: JobHandle | None

    @property
    def running(self) -> bool:
        return self.handle is not None and not self.handle.done

    def cancel(self) -> None:
        if self.running:
            self.handle.cancel()
            self.search.status_label.setText("cancelling…")

    def _queued(self, handle: JobHandle, text: str) -> JobHandle:
        self.handle = handle
        self.search.progress_bar.setValue(0)
        self.search.status_label.setText(text)
        self.search.start_button.setEnabled(False)
        self.search.cancel_button.setEnabled(True)
        return handle

    def _progress(self, handle: JobHandle, percent: float, text: str) -> None:
        if handle is not self.handle:
            return
        self.search.progress_bar.setValue(int(percent))
        self.search.status_label.setText(text)

    def _ended(self, handle: JobHandle) -> bool:
        """True when `handle` is this tab's job: the buttons are back."""
        if handle is not self.handle:
            return False
        self.search.start_button.setEnabled(True)
        self.search.cancel_button.setEnabled(False)
        return True

    def _say_failed(self, handle: JobHandle) -> None:
        """A job that did not finish: "cancelled", or the last line of why it failed."""
        status = self.search.status_label
        if handle.state == CANCELLED:
            status.setText("cancelled")
            return
        last = handle.error.strip().splitlines()[-1] if handle.error.strip() else "failed"
        status.setText(error_html(f"failed: {last}"))
        status.setToolTip(handle.error)

