"""Import a CSV file of bars or ticks: what was detected, editable, a preview of the first
lines as they will be stored, and the import itself on a worker thread with a progress bar.

The dialog never blocks the GUI thread on the file: detection and the import run as `ThreadJob`s;
only the preview (the first `PREVIEW_ROWS` lines) is parsed on the GUI thread. What it does
with the file is the import service's (`services.imports`, as `data import` uses it): the
form's settings become a spec there, and the import is all or nothing: a rejected file lists
its bad rows here and leaves the store as it was; cancelling works until the write begins.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from vnpy.trader.constant import Exchange

from terminal.services.imports import (
    Imported,
    Inspection,
    import_csv,
    inspect_file,
    spec_from_settings,
)
from terminal.storage.csv_import import (
    DATETIME_FORMATS,
    PREVIEW_ROWS,
    FileRejected,
    ImportRejected,
    ImportSpec,
    RowProblem,
    preview,
)
from terminal.storage.market_store import BAR_FIELDS, TICK_FIELDS, TICK_INTERVAL
from terminal.ui.thread_jobs import ThreadJob
from terminal.ui.models.series import SeriesTableModel, fit_columns, title
from terminal.ui.colours import ERROR_TEXT_STYLE

log = logging.getLogger(__name__)

NOT_IN_FILE = "(not in the file)"
TIME_FIELDS = ("datetime", "date", "time")
TIME_TITLES = {"datetime": "Date and time", "date": "Date", "time": "Time of day"}
INTERVALS = ("1m", "5m", "15m", "30m", "1h", "d", "w")
TIME_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore", "Asia/Tokyo", "UTC",
              "Europe/London", "America/Chicago", "America/New_York")
FIRST_EXCHANGES = ("SHFE", "INE", "DCE", "CZCE", "CFFEX", "GFEX")
TICK_PREVIEW_FIELDS = ("last_price", "last_volume", "volume", "turnover", "open_interest")
_PREVIEW_DELAY_MS = 150


class ImportWizard(QDialog):
    imported = Signal(object, int)  # the spec used, the rows stored

    def __init__(self, store, pool: QThreadPool, parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.pool = pool
        self.path: Path | None = None
        self.headers: list[str] = []
        self.detected: ImportSpec | None = None
        self.ready = False                      # a file is loaded and the form filled
        self.detect_job: ThreadJob | None = None
        self.job: ThreadJob | None = None             # the import
        self.rows_imported: int | None = None
        self.problems: list[RowProblem] = []    # as listed in the problems table
        self._mapping: dict[str, QComboBox] = {}
        self._filling = False
        self.setWindowTitle("Import market data")
        self.setModal(True)
        self.resize(1180, 720)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.timeout.connect(self.update_preview)
        self._build()
        self._set_form_enabled(False)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.file_edit = QLineEdit()
        self.file_edit.setReadOnly(True)
        self.file_edit.setPlaceholderText("Choose a CSV file of bars or ticks")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        file_row = QHBoxLayout()
        file_row.addWidget(QLabel("File:"))
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse_button)

        self.symbol_edit = QLineEdit()
        self.symbol_edit.setPlaceholderText("e.g. rb2401")
        self.exchange_box = QComboBox()
        first = {value: number for number, value in enumerate(FIRST_EXCHANGES)}
        for exchange in sorted(Exchange, key=lambda e: (first.get(e.value, len(first)), e.value)):
            self.exchange_box.addItem(exchange.value, exchange)
        self.kind_box = QComboBox()
        self.kind_box.addItem("Bars", "bar")
        self.kind_box.addItem("Ticks", "tick")
        self.interval_box = QComboBox()
        self.interval_box.setEditable(True)
        self.interval_box.addItems(INTERVALS)
        self.interval_box.setToolTip("1m, 5m, 15m, 30m, 1h, d (daily) or w (weekly)")
        self.format_box = QComboBox()
        self.format_box.setEditable(True)
        self.format_box.addItems([*DATETIME_FORMATS, "mixed"])
        self.format_box.setToolTip("strptime format of the date (and time), e.g. "
                                   "%Y-%m-%d %H:%M:%S; \"mixed\" lets each row be guessed")
        self.timezone_box = QComboBox()
        self.timezone_box.setEditable(True)
        self.timezone_box.addItems(TIME_ZONES)
        self.timezone_box.setToolTip("Time zone of the times in the file")
        self.label_box = QComboBox()
        self.label_box.addItem("their start", False)
        self.label_box.addItem("their end (re-stamped by their start)", True)
        self.volume_box = QComboBox()
        self.volume_box.addItem("the day's running total", True)
        self.volume_box.addItem("each tick's volume (summed up)", False)

        form = QFormLayout()
        form.addRow("Symbol", self.symbol_edit)
        form.addRow("Exchange", self.exchange_box)
        form.addRow("Data", self.kind_box)
        form.addRow("Bar interval", self.interval_box)
        form.addRow("Bars are stamped with", self.label_box)
        form.addRow("Volume column holds", self.volume_box)
        form.addRow("Time format", self.format_box)
        form.addRow("Time zone", self.timezone_box)
        settings = QGroupBox("Detected settings (change any)")
        settings.setLayout(form)

        self.mapping_table = QTableWidget(0, 2)
        self.mapping_table.setHorizontalHeaderLabels(["Field", "Column in the file"])
        self.mapping_table.verticalHeader().setVisible(False)
        self.mapping_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents)
        self.mapping_table.horizontalHeader().setStretchLastSection(True)
        self.mapping_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        mapping = QGroupBox("Columns")
        QVBoxLayout(mapping).addWidget(self.mapping_table)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(settings)
        left_layout.addWidget(mapping, 1)

        self.preview_label = QLabel(f"Preview: the first {PREVIEW_ROWS} lines of the file as "
                                    "they will be stored")
        self.preview_label.setWordWrap(True)
        self.preview_model = SeriesTableModel(self.store.tz, self)
        self.preview_view = QTableView()
        self.preview_view.setModel(self.preview_model)
        self.preview_view.verticalHeader().setVisible(False)
        self.preview_view.verticalHeader().setDefaultSectionSize(
            self.preview_view.fontMetrics().lineSpacing() + 4)
        self.preview_view.setAlternatingRowColors(True)
        self.preview_view.horizontalHeader().setDefaultSectionSize(92)
        self.problems_label = QLabel("")
        self.problems_label.setWordWrap(True)
        self.problems_table = QTableWidget(0, 2)
        self.problems_table.setHorizontalHeaderLabels(["Line", "Problem"])
        self.problems_table.verticalHeader().setVisible(False)
        self.problems_table.horizontalHeader().setStretchLastSection(True)
        self.problems_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.preview_label)
        right_layout.addWidget(self.preview_view, 3)
        right_layout.addWidget(self.problems_label)
        right_layout.addWidget(self.problems_table, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([420, 760])

        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.stage_label = QLabel("")
        self.import_button = QPushButton("Import")
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(lambda: self.start_import())
        self.check_button = QPushButton("Check only")
        self.check_button.setToolTip("Check every row of the file and write nothing")
        self.check_button.clicked.connect(lambda: self.start_import(check_only=True))
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_import)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress_bar, 1)
        bottom.addWidget(self.stage_label, 1)
        bottom.addWidget(self.check_button)
        bottom.addWidget(self.import_button)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(file_row)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message_label)
        layout.addLayout(bottom)

        self.kind_box.currentIndexChanged.connect(self._kind_changed)
        for box in (self.label_box, self.volume_box):
            box.currentIndexChanged.connect(self._schedule_preview)
        for box in (self.interval_box, self.format_box, self.timezone_box):
            box.currentTextChanged.connect(self._schedule_preview)

    # ------------------------------------------------------------------ the file
    def browse(self) -> None:
        start = str(self.path.parent) if self.path else ""
        name, _ = QFileDialog.getOpenFileName(
            self, "Import market data", start, "CSV files (*.csv *.txt);;All files (*)")
        if name:
            self.load_file(Path(name))

    def load_file(self, path: Path) -> ThreadJob:
        """Detect the layout of `path` on a worker thread; the form fills when it is done."""
        path = Path(path)
        self.path = path
        self.ready = False
        self.rows_imported = None
        self.file_edit.setText(str(path))
        self._set_form_enabled(False)
        self.preview_model.clear()
        self._show_problems([])
        self._message("")
        self.progress_bar.setRange(0, 0)  # busy
        self.stage_label.setText("Reading the file…")

        job = ThreadJob(lambda job: inspect_file(path), name=f"detect {path.name}")
        job.succeeded.connect(lambda result: self._detected(job, result))
        job.failed.connect(lambda exc: self._detect_failed(job, exc))
        self.detect_job = job
        job.start(self.pool)
        return job

    def _detected(self, job: ThreadJob, found: Inspection) -> None:
        if job is not self.detect_job:
            return  # another file was chosen meanwhile
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)
        self.stage_label.setText("")
        self.headers = found.headers
        self.detected = found.spec
        self.fill_form(found.spec or ImportSpec(kind="bar", symbol="", exchange=Exchange.LOCAL))
        self._set_form_enabled(True)
        self.ready = True
        self.update_preview()
        if found.problem is not None:  # not recognised: the trader maps it by hand
            self._message(f"The layout was not recognised: {found.problem}. Map the columns "
                          "by hand.", error=True)

    def _detect_failed(self, job: ThreadJob, exc: Exception) -> None:
        if job is not self.detect_job:
            return
        self.progress_bar.setRange(0, 100)
        self.stage_label.setText("")
        if isinstance(exc, ImportRejected):
            self._show_problems(exc.problems)
        log.warning("cannot read %s: %s", self.path, exc)
        self._message(f"Cannot import {self.path.name}: {_reason(exc)}", error=True)

    # ------------------------------------------------------------------ the form
    def fill_form(self, spec: ImportSpec) -> None:
        self._filling = True
        try:
            self.symbol_edit.setText(spec.symbol)
            self.exchange_box.setCurrentIndex(max(0, self.exchange_box.findData(spec.exchange)))
            self.kind_box.setCurrentIndex(self.kind_box.findData(spec.kind))
            self.interval_box.setCurrentText(spec.interval or "1m")
            self.label_box.setCurrentIndex(self.label_box.findData(spec.end_labelled))
            self.volume_box.setCurrentIndex(self.volume_box.findData(spec.cumulative_volume))
            self.format_box.setCurrentText(spec.datetime_format)
            self.timezone_box.setCurrentText(spec.timezone)
            self._build_mapping(spec.kind, spec.columns)
            self._kind_widgets(spec.kind)
        finally:
            self._filling = False

    def _build_mapping(self, kind: str, columns: dict[str, str]) -> None:
        fields = TIME_FIELDS + (BAR_FIELDS if kind == "bar" else TICK_FIELDS)
        self.mapping_table.setRowCount(len(fields))
        self._mapping = {}
        for row, field in enumerate(fields):
            item = QTableWidgetItem(TIME_TITLES.get(field) or title(field))
            item.setData(Qt.ItemDataRole.UserRole, field)
            item.setToolTip(field)
            self.mapping_table.setItem(row, 0, item)
            box = QComboBox()
            box.addItem(NOT_IN_FILE)
            box.addItems(self.headers)
            header = columns.get(field)
            if header in self.headers:
                box.setCurrentIndex(self.headers.index(header) + 1)
            box.currentIndexChanged.connect(self._schedule_preview)
            self.mapping_table.setCellWidget(row, 1, box)
            self._mapping[field] = box

    def set_column(self, field: str, header: str | None) -> None:
        """Map `field` to a column of the file (None: not in the file)."""
        box = self._mapping[field]
        box.setCurrentIndex(self.headers.index(header) + 1 if header else 0)

    def _kind_changed(self) -> None:
        if self._filling:
            return
        kind = self.kind_box.currentData()
        current = self.columns()
        self._build_mapping(kind, current)
        self._kind_widgets(kind)
        self._schedule_preview()

    def _kind_widgets(self, kind: str) -> None:
        bars = kind == "bar"
        self.interval_box.setEnabled(bars)
        self.label_box.setEnabled(bars)
        self.volume_box.setEnabled(not bars)

    def _set_form_enabled(self, enabled: bool) -> None:
        for widget in (self.symbol_edit, self.exchange_box, self.kind_box, self.format_box,
                       self.timezone_box, self.mapping_table, self.import_button,
                       self.check_button, self.browse_button):
            widget.setEnabled(enabled or widget is self.browse_button)
        if enabled:
            self._kind_widgets(self.kind_box.currentData())
        else:
            for widget in (self.interval_box, self.label_box, self.volume_box):
                widget.setEnabled(False)

    def columns(self) -> dict[str, str]:
        return {field: box.currentText() for field, box in self._mapping.items()
                if box.currentIndex() > 0}

    def spec_from_form(self, for_import: bool = True) -> ImportSpec:
        """The settings as the form shows them; ValueError names what is missing or wrong."""
        return spec_from_settings(
            kind=self.kind_box.currentData(), symbol=self.symbol_edit.text(),
            exchange=self.exchange_box.currentData(), interval=self.interval_box.currentText(),
            columns=self.columns(), datetime_format=self.format_box.currentText(),
            end_labelled=bool(self.label_box.currentData()),
            cumulative_volume=bool(self.volume_box.currentData()),
            timezone=self.timezone_box.currentText(), named=for_import)

    # ------------------------------------------------------------------ the preview
    def _schedule_preview(self, *_) -> None:
        if not self._filling and self.ready:
            self._preview_timer.start(_PREVIEW_DELAY_MS)

    def update_preview(self) -> bool:
        """Parse the first lines with the form's settings; False when they cannot be."""
        self._preview_timer.stop()
        if self.path is None or not self.ready:
            return False
        try:
            spec = self.spec_from_form(for_import=False)
            shown = preview(self.path, spec)
        except FileRejected as exc:  # gone or changed since it was chosen
            self.preview_model.clear()
            self._show_problems([])
            self._message(f"Cannot import {self.path.name}: {exc.reason}", error=True)
            return False
        except ImportRejected as exc:
            self.preview_model.clear()
            self._show_problems(exc.problems, f"{self.path.name} does not fit these settings:")
            return False
        except ValueError as exc:
            self.preview_model.clear()
            self._message(f"Preview: {exc}", error=True)
            return False
        except Exception as exc:  # a format pandas refuses, an odd file
            log.warning("preview of %s failed", self.path, exc_info=True)
            self.preview_model.clear()
            self._message(f"Preview failed: {exc}", error=True)
            return False
        if spec.kind == "bar":
            fields = list(BAR_FIELDS)
        else:
            fields = [f for f in TICK_FIELDS if f in TICK_PREVIEW_FIELDS or f in spec.columns]
        interval = spec.interval if spec.kind == "bar" else TICK_INTERVAL
        self.preview_model.set_columns(
            {"datetime": shown.columns["datetime"], **{f: shown.columns[f] for f in fields}},
            interval, lines=shown.lines, valid=shown.valid)
        fit_columns(self.preview_view, self.preview_model)
        zone = getattr(self.store.tz, "key", str(self.store.tz))
        note = ("bars by their start; opening-auction bars are folded into the next bar on "
                "import") if spec.kind == "bar" else "volume as the day's running total"
        self.preview_label.setText(
            f"Preview: the first {len(shown.lines)} lines of the file as they will be stored "
            f"(times in {zone}, {note})")
        self._show_problems(
            shown.problems,
            f"{len({p.line for p in shown.problems})} of these lines would be rejected:"
            if shown.problems else f"No problems in the first {len(shown.lines)} lines.")
        self._message("")
        return True

    def _show_problems(self, problems: list[RowProblem], text: str = "") -> None:
        self.problems = list(problems)
        self.problems_table.setRowCount(len(problems))
        for row, problem in enumerate(problems):
            line = QTableWidgetItem(str(problem.line))
            line.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.problems_table.setItem(row, 0, line)
            self.problems_table.setItem(row, 1, QTableWidgetItem(problem.message))
        self.problems_label.setText(text)

    def _message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet(ERROR_TEXT_STYLE if error else "")

    # ------------------------------------------------------------------ the import
    def start_import(self, check_only: bool = False) -> ThreadJob | None:
        """Check and store the file on a worker thread (`check_only`: check every row and
        store nothing, as `data import --dry-run`); None when the form is not complete."""
        if self.job is not None and self.job.running:
            return self.job
        if self.path is None or not self.ready:
            self._message("Choose a file first.", error=True)
            return None
        try:
            spec = self.spec_from_form()
        except ValueError as exc:
            self._message(f"Cannot import: {exc}", error=True)
            return None
        path, store = self.path, self.store

        job = ThreadJob(lambda job: import_csv(store, path, spec, check_only, job.report),
                  name=f"{'check' if check_only else 'import'} {path.name}")
        job.progress.connect(self._progress)
        job.succeeded.connect(self._imported)
        job.failed.connect(self._failed)
        job.cancelled.connect(self._cancelled)
        self.job = job
        self.rows_imported = None
        self._set_form_enabled(False)
        self.browse_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._message("")
        self._show_problems([])
        self.progress_bar.setValue(0)
        self.stage_label.setText("Starting…")
        job.start(self.pool)
        return job

    def cancel_import(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.stage_label.setText("Cancelling…")
            self.cancel_button.setEnabled(False)

    def _progress(self, percent: int, text: str) -> None:
        self.progress_bar.setValue(percent)
        self.stage_label.setText(text[:1].upper() + text[1:] + "…")
        if percent >= 90:  # writing: too late to cancel
            self.cancel_button.setEnabled(False)

    def _import_over(self) -> None:
        self._set_form_enabled(True)
        self.browse_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _imported(self, result: Imported) -> None:
        spec, rows, what = result.spec, result.rows, result.series
        self._import_over()
        self.progress_bar.setValue(100)
        if not result.stored:
            self.stage_label.setText(f"Checked: {rows:,} rows, no problems")
            self._message(f"Every row is good: {rows:,} rows of {what} would be imported. "
                          "Nothing was written.")
            return
        self.rows_imported = rows
        self.stage_label.setText(f"Imported {rows:,} rows of {what}")
        self._message(f"Imported {rows:,} rows of {what} from {self.path.name}.")
        log.info("imported %d rows of %s from %s", rows, what, self.path)
        self.imported.emit(spec, rows)

    def _failed(self, exc: Exception) -> None:
        self._import_over()
        self.progress_bar.setValue(0)
        if isinstance(exc, FileRejected):
            self.stage_label.setText("Rejected, nothing written")
            self._show_problems(exc.problems)
            self._message(f"Rejected: {exc.reason}; nothing was written.", error=True)
            log.warning("import rejected: %s", exc)
            return
        if isinstance(exc, ImportRejected):
            self.stage_label.setText("Rejected, nothing written")
            self._show_problems(exc.problems, f"{exc.total} bad row(s); the file was not "
                                f"imported. The first {len(exc.problems)}:")
            self._message(f"Rejected: {exc.total} bad row(s) in {self.path.name}; nothing "
                          "was written.", error=True)
            log.warning("import rejected: %s", exc)
            return
        self.stage_label.setText("Failed")
        self._message(f"Import failed: {exc}", error=True)
        expected = isinstance(exc, (OSError, ValueError, RuntimeError))  # StoreError included
        log.error("import of %s failed: %s", self.path, exc, exc_info=None if expected else exc)
        self.error_box = QMessageBox(QMessageBox.Icon.Warning, "Import failed",
                                     f"{self.path.name} could not be imported:\n{exc}",
                                     QMessageBox.StandardButton.Ok, self)
        self.error_box.open()

    def _cancelled(self) -> None:
        self._import_over()
        self.progress_bar.setValue(0)
        self.stage_label.setText("Cancelled, nothing written")

    def reject(self) -> None:
        self.cancel_import()  # a running import stops if it has not begun writing
        super().reject()


def _reason(exc: Exception) -> str:
    """What went wrong, without the file's name again."""
    return exc.reason if isinstance(exc, FileRejected) else str(exc)
