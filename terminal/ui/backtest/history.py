"""Every run kept: a table of the run store, filtered by strategy and symbol; open a run (its
stored statistics, daily results and fills, no recomputing), compare runs side by side, delete
runs (after a confirmation that does not block the window)."""

from __future__ import annotations

import math
import time
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget)

from terminal.backtest.runs import (
    BACKTEST, QUEUED, RUNNING, WALKFORWARD, RunNotFound, RunRecord, RunStore)
from terminal.backtest.stats import LABELS, format_value
from terminal.ui.backtest.models import Col, RowsModel, plain, signed_color
from terminal.ui.backtest.results import make_table
from terminal.ui.colours import ERROR_BRUSH, MUTED_BRUSH, RUNNING_BRUSH
from terminal.ui.dialogs.confirm import delete_on_yes

ALL = "All"
STATUS_COLOR = {"done": None, "failed": ERROR_BRUSH, "cancelled": MUTED_BRUSH,
                "running": RUNNING_BRUSH, "queued": MUTED_BRUSH}


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _stat(key: str):
    return lambda value: "" if value is None else format_value(key, value)


KIND_TEXT = {BACKTEST: "backtest", WALKFORWARD: "walk-forward"}

HISTORY_COLUMNS = [
    Col("Run"), Col("Created"), Col("Kind"), Col("Strategy"), Col("Symbol"), Col("Interval"),
    Col("Period"), Col("Parameters"), Col("Status", color=lambda v: STATUS_COLOR.get(v)),
    Col("Net P&L", _stat("total_net_pnl"), numeric=True, color=signed_color),
    Col("Return", _stat("total_return"), numeric=True, color=signed_color),
    Col("Sharpe", _stat("sharpe_ratio"), numeric=True),
    Col("Max DD %", _stat("max_ddpercent"), numeric=True),
    Col("Fills", _stat("total_trade_count"), numeric=True),
    Col("Seconds", lambda v: "" if v is None else f"{v:,.1f}", numeric=True),
]


def history_row(record: RunRecord) -> tuple:
    stats = record.stats
    params = ", ".join(f"{k}={v}" for k, v in record.params.items())
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
    return (record.run_id, created, KIND_TEXT.get(record.kind, record.kind), record.strategy,
            record.vt_symbol, record.interval,
            f"{_day(record.start)} – {_day(record.end)}", params, record.status,
            stats.get("total_net_pnl"), stats.get("total_return"), stats.get("sharpe_ratio"),
            stats.get("max_ddpercent"), stats.get("total_trade_count"), record.duration)


class HistoryPanel(QWidget):
    open_requested = Signal(str)              # run id
    compare_requested = Signal(list)          # run ids
    deleted = Signal(list)                    # run ids

    def __init__(self, runs: RunStore, parent=None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.records: dict[str, RunRecord] = {}
        self.confirm_box: QMessageBox | None = None
        self.kind_box = QComboBox()
        self.kind_box.addItem("All kinds", None)
        self.kind_box.addItem("Backtests", BACKTEST)
        self.kind_box.addItem("Walk-forwards", WALKFORWARD)
        self.kind_box.currentIndexChanged.connect(lambda *_: self.refresh())
        self.strategy_box = QComboBox()
        self.symbol_box = QComboBox()
        for box in (self.strategy_box, self.symbol_box):
            box.addItem(ALL, None)
            box.currentIndexChanged.connect(lambda *_: self.refresh())
        # boxes as wide as a few letters, whatever they list: the bar must fit the workbench
        # of a 1366-pixel screen
        for box, letters in ((self.kind_box, 7), (self.strategy_box, 10), (self.symbol_box, 8)):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(letters)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Show the selected run's results (from the store)")
        self.open_button.clicked.connect(self.open_selected)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Statistics of the selected runs side by side")
        self.compare_button.clicked.connect(self.compare_selected)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self.request_delete)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.count_label = QLabel("")

        bar = QHBoxLayout()
        bar.addWidget(self.kind_box)
        bar.addWidget(QLabel("Strategy"))
        bar.addWidget(self.strategy_box)
        bar.addWidget(QLabel("Symbol"))
        bar.addWidget(self.symbol_box)
        for button in (self.open_button, self.compare_button, self.delete_button,
                       self.refresh_button):
            bar.addWidget(button)
        bar.addStretch(1)
        bar.addWidget(self.count_label)

        self.model = RowsModel(HISTORY_COLUMNS, self)
        self.view = make_table(self.model, sortable=True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.doubleClicked.connect(lambda index: self.open_run(self.model.value(
            index.row(), 0)))
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        for column, width in enumerate((150, 130, 85, 150, 100, 55, 170, 200, 70)):
            self.view.setColumnWidth(column, width)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self.view, self.request_delete)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.refresh()

    # ------------------------------------------------------------------ content
    def refresh(self) -> None:
        """Read the store again (filters kept, newest first unless sorted otherwise)."""
        self._fill(self.strategy_box, self.runs.strategies())
        self._fill(self.symbol_box, self.runs.symbols())
        selected = set(self.selected())
        records = self.runs.list(strategy=self.strategy_box.currentData(),
                                 vt_symbol=self.symbol_box.currentData(),
                                 kind=self.kind_box.currentData())
        self.records = {record.run_id: record for record in records}
        self.model.set_rows([history_row(record) for record in records],
                            tooltips=[record.error.strip().splitlines()[-1]
                                      if record.error.strip() else record.run_id
                                      for record in records])
        header = self.view.horizontalHeader()
        if header.sortIndicatorSection() >= 0 and self.view.isSortingEnabled() \
                and header.sortIndicatorSection() < len(HISTORY_COLUMNS):
            self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        if selected:
            self.select(*selected)
        self.count_label.setText(f"{len(records)} run(s)")
        self._update_buttons()

    def _fill(self, box: QComboBox, values: list[str]) -> None:
        current = box.currentData()
        wanted = [None, *values]
        if [box.itemData(i) for i in range(box.count())] == wanted:
            return
        box.blockSignals(True)
        box.clear()
        box.addItem(ALL, None)
        for value in values:
            box.addItem(value, value)
        index = box.findData(current) if current is not None else 0
        box.setCurrentIndex(max(index, 0))
        box.blockSignals(False)

    def set_filter(self, strategy: str | None = None, vt_symbol: str | None = None) -> None:
        for box, value in ((self.strategy_box, strategy), (self.symbol_box, vt_symbol)):
            box.blockSignals(True)
            box.setCurrentIndex(max(box.findData(value), 0) if value is not None else 0)
            box.blockSignals(False)
        self.refresh()

    def run_ids(self) -> list[str]:
        """The runs listed, in table order."""
        return [row[0] for row in self.model.rows]

    def selected(self) -> list[str]:
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        return [self.model.value(row, 0) for row in rows]

    def select(self, *run_ids: str) -> None:
        self.view.clearSelection()
        selection = self.view.selectionModel()
        for row, values in enumerate(self.model.rows):
            if values[0] in run_ids:
                selection.select(self.model.index(row, 0),
                                 QItemSelectionModel.SelectionFlag.Select
                                 | QItemSelectionModel.SelectionFlag.Rows)

    def _update_buttons(self) -> None:
        count = len(self.selected())
        self.open_button.setEnabled(count == 1)
        self.compare_button.setEnabled(count >= 2)
        self.delete_button.setEnabled(count >= 1)

    # ------------------------------------------------------------------ actions
    def open_selected(self) -> None:
        chosen = self.selected()
        if chosen:
            self.open_run(chosen[0])

    def open_run(self, run_id: str) -> None:
        self.open_requested.emit(run_id)

    def compare_selected(self) -> None:
        chosen = self.selected()
        if len(chosen) >= 2:
            self.compare_requested.emit(chosen)

    def request_delete(self) -> QMessageBox | None:
        """Ask (without blocking) before deleting the selected runs; runs still working
        must be cancelled first."""
        chosen = self.selected()
        if not chosen:
            return None
        busy = [run_id for run_id in chosen
                if self.records.get(run_id) and self.records[run_id].status in (QUEUED, RUNNING)]
        box = QMessageBox(self)
        box.setWindowTitle("Delete runs")
        if busy:
            box.setIcon(QMessageBox.Icon.Information)
            box.setText(f"{len(busy)} of the selected runs are still working: cancel them "
                        "in the Runs tab first.")
            box.setStandardButtons(QMessageBox.StandardButton.Ok)
        else:
            box.setIcon(QMessageBox.Icon.Question)
            box.setText(f"Delete {len(chosen)} run(s) with their results? This cannot be "
                        "undone.")
            delete_on_yes(box, lambda: self.delete(chosen))
        self.confirm_box = box
        box.open()
        return box

    def delete(self, run_ids: list[str]) -> list[str]:
        gone = []
        for run_id in run_ids:
            try:
                self.runs.delete(run_id)
            except RunNotFound:
                pass
            gone.append(run_id)
        self.refresh()
        if gone:
            self.deleted.emit(gone)
        return gone


# ---------------------------------------------------------------------- compare
COMPARE_NAMES = {"strategy": "Strategy", "vt_symbol": "Symbol", "interval": "Interval",
                 "start": "From", "end": "To", "status": "Status"}


def compare_text(key: str, value: Any) -> str:
    if key in ("start", "end"):
        return _day(value)
    if key in LABELS:
        return "" if value is None else format_value(key, value)
    if isinstance(value, float) and not math.isnan(value):
        return f"{value:,.6g}"
    return plain(value)


class CompareView(QWidget):
    """Runs side by side: what was run, the parameters, then every statistic."""

    def __init__(self, runs: RunStore, parent=None) -> None:
        super().__init__(parent)
        self.runs = runs
        self.run_ids: list[str] = []
        self.label = QLabel("Select two or more runs in History and press Compare")
        self.model = RowsModel([Col("")], self)
        self.view = make_table(self.model)
        self.view.horizontalHeader().setStretchLastSection(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.view, 1)

    def compare(self, run_ids: list[str]) -> None:
        frame = self.runs.compare(list(run_ids))
        self.run_ids = list(frame.columns)
        rows, titles = [], []
        for key, values in frame.iterrows():
            name = str(key)
            if name.startswith("param: "):
                title = name
            else:
                title = COMPARE_NAMES.get(name) or LABELS.get(name, (name,))[0]
            rows.append((title, *[compare_text(name, value) for value in values]))
            titles.append(name)
        columns = [Col("")] + [Col(self._header(run_id), lambda v: v, numeric=True)
                               for run_id in self.run_ids]
        self.model.set_rows(rows, columns=columns, tooltips=titles)
        self.view.setColumnWidth(0, 300)
        for column in range(1, len(columns)):
            self.view.setColumnWidth(column, 190)
        self.label.setText(f"{len(self.run_ids)} runs side by side")

    def _header(self, run_id: str) -> str:
        try:
            record = self.runs.get(run_id)
        except RunNotFound:
            return run_id
        return f"{record.strategy}\n{record.vt_symbol} {record.interval}\n{run_id}"

    def forget(self, run_ids: list[str]) -> None:
        """Runs deleted: compare what is left (or nothing)."""
        left = [run_id for run_id in self.run_ids if run_id not in run_ids]
        if left == self.run_ids:
            return
        if len(left) >= 1:
            self.compare(left)
        else:
            self.run_ids = []
            self.model.set_rows([], columns=[Col("")])
            self.label.setText("Select two or more runs in History and press Compare")

    def table(self) -> dict[str, list[str]]:
        """Row key -> the texts of each run, for tests."""
        return {self.model.tooltips[row]: [self.model.text(row, c)
                                           for c in range(1, len(self.model.columns))]
                for row in range(len(self.model.rows))}
