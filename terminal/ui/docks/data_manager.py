"""Data: the market store's catalogue as a tree, import, export, delete, verify and a data
view.

    Exchange ─ symbol ─ interval (tick, 1m, 5m, d ...)   rows, first, last

Everything `trading-terminal data ...` does, through the same services (`terminal.services`):
the import wizard (`ui.dialogs.import_wizard`) runs `imports.import_csv`, Export
`exports.export_series`, Resample to `resample.resample_stored`, Verify `verify.verify_store`.
Slow work (imports, exports, resampling, verifying, loading a series for the view) runs on a
worker thread; errors are shown in a message box and logged, never raised into Qt. A series
found damaged (by Verify, or by
a load that failed) is shown in red, its damaged parts in the row's tooltip.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt, QThreadPool
from PySide6.QtGui import QAction, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from vnpy.trader.constant import Exchange

from terminal.services.exports import FORMATS, export_series
from terminal.services.resample import resample_stored, resample_targets
from terminal.services.verify import damaged_series, verify_store
from terminal.storage.market_store import (TICK_INTERVAL, DamagedPartError, MarketStore,
                                           SeriesInfo, Verification)
from terminal.ui.dialogs.confirm import delete_on_yes
from terminal.ui.docks.common import RefreshedWhenShown
from terminal.ui.thread_jobs import ThreadJob
from terminal.ui.models.series import SeriesTableModel, fit_columns
from terminal.ui.colours import ERROR_BRUSH

if TYPE_CHECKING:
    from terminal.ui.dialogs.download_history import DownloadHistoryDialog
    from terminal.ui.dialogs.import_wizard import ImportWizard

log = logging.getLogger(__name__)

KEY_ROLE = Qt.ItemDataRole.UserRole
COLUMNS = ("Series", "Rows", "First", "Last")
EXPORT_FILTERS = {"CSV files (*.csv)": ".csv", "Parquet files (*.parquet)": ".parquet"}
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}

Key = tuple[str, str, str]  # symbol, exchange value, interval
SIMULATED = " · simulated"
SIMULATED_TIP = ("Simulated history: made by the simulated exchange's price process, "
                 "not market data")


def interval_order(interval: str) -> tuple[int, int]:
    """tick, then bars from the shortest: tick, 1m, 5m, 1h, d, w."""
    if interval == TICK_INTERVAL:
        return (0, 0)
    match = re.fullmatch(r"(\d*)([mhdw])", interval)
    if not match:
        return (2, 0)
    return (1, int(match.group(1) or 1) * _UNIT_MINUTES[match.group(2)])


def describe(key: Key) -> str:
    symbol, exchange, interval = key
    return f"{symbol}.{exchange} {interval}"


def _stamp(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


class DataManagerDock(RefreshedWhenShown, QWidget):
    def __init__(self, store: MarketStore, main_engine=None, settings=None,
                 parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.main_engine, self.settings = main_engine, settings   # for Download history…
        self.download_dialog: DownloadHistoryDialog | None = None
        self.pool = QThreadPool(self)  # waits for its jobs when the dock goes
        self.pool.setMaxThreadCount(2)
        self.series: dict[Key, SeriesInfo] = {}
        self.wizard: ImportWizard | None = None
        self.jobs: list[ThreadJob] = []              # running exports and loads
        self.viewed: Key | None = None         # the series in the data view
        self.confirm_box: QMessageBox | None = None
        self.error_box: QMessageBox | None = None
        self.verify_job: ThreadJob | None = None
        self.damaged: dict[Key, list[str]] = {}   # series found damaged: "part: what failed"
        self._build()           # the catalogue is read when the dock is first shown

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.import_action = QAction("Import…", self)
        self.import_action.setToolTip("Import a CSV file of bars or ticks")
        self.import_action.triggered.connect(lambda: self.open_import())
        self.export_action = QAction("Export…", self)
        self.export_action.setToolTip("Write the selected series to a CSV or Parquet file")
        self.export_action.triggered.connect(self.request_export)
        self.delete_action = QAction("Delete…", self)
        self.delete_action.setToolTip("Remove the selected series from the store")
        self.delete_action.triggered.connect(self.request_delete)
        self.view_action = QAction("View", self)
        self.view_action.setToolTip("Show the selected series' rows")
        self.view_action.triggered.connect(lambda: self.view_series())
        self.download_action = QAction("Download history…", self)
        self.download_action.setToolTip("Store bars from a gateway, the datafeed or the "
                                        "simulator, in the background")
        self.download_action.triggered.connect(lambda: self.open_download())
        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.triggered.connect(self.refresh)
        self.verify_action = QAction("Verify all", self)
        self.verify_action.setToolTip("Check every stored part against the hash recorded when "
                                      "it was written and its page checksums")
        self.verify_action.triggered.connect(self._verify_clicked)
        self.verify_one_action = QAction("Verify series", self)
        self.verify_one_action.setToolTip("Check the selected series' parts")
        self.verify_one_action.triggered.connect(
            lambda: self.verify_series(self.selected_key()) if self.selected_key() else None)

        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for action in (self.import_action, self.download_action, self.export_action,
                       self.delete_action, self.view_action, self.refresh_action,
                       self.verify_action):
            button = QPushButton(action.text())
            button.setToolTip(action.toolTip())
            button.clicked.connect(action.trigger)
            buttons.addWidget(button)
            self.buttons[action.text().rstrip("…")] = button
        buttons.addStretch(1)
        self.status_label = QLabel("")
        buttons.addWidget(self.status_label)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((170, 90, 150, 150)):
            self.tree.setColumnWidth(column, width)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.itemSelectionChanged.connect(self._update_actions)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self.tree, self.request_delete)

        self.view_label = QLabel("Select a series and press View")
        self.view_model = SeriesTableModel(self.store.tz, self)
        self.view = QTableView()
        self.view.setModel(self.view_model)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().lineSpacing() + 4)
        self.view.horizontalHeader().setDefaultSectionSize(96)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view_panel = QWidget()
        view_layout = QVBoxLayout(view_panel)
        view_layout.setContentsMargins(0, 0, 0, 0)
        view_layout.addWidget(self.view_label)
        view_layout.addWidget(self.view, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tree)
        splitter.addWidget(view_panel)
        splitter.setSizes([560, 900])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(buttons)
        layout.addWidget(splitter, 1)
        self._update_actions()

    # ------------------------------------------------------------------ the catalogue
    def refresh(self) -> None:
        """Re-read the catalogue into the tree, keeping the selection."""
        selected = self.selected_key()
        try:
            series = self.store.series()
        except Exception as exc:  # noqa: BLE001 - a damaged catalogue must not take the GUI down
            self.show_error("Market data", "The market data catalogue cannot be read", exc)
            return
        self.series = {(s.symbol, s.exchange.value, s.interval): s for s in series}
        self.tree.clear()
        bold = QFont(self.tree.font())
        bold.setBold(True)
        tree: dict[str, dict[str, list[SeriesInfo]]] = {}
        for info in series:
            tree.setdefault(info.exchange.value, {}).setdefault(info.symbol, []).append(info)
        for exchange in sorted(tree):
            symbols = tree[exchange]
            exchange_item = self._item(None, exchange, [s for ss in symbols.values() for s in ss])
            exchange_item.setFont(0, bold)
            for symbol in sorted(symbols):
                infos = sorted(symbols[symbol], key=lambda s: interval_order(s.interval))
                symbol_item = self._item(exchange_item, symbol + (
                    SIMULATED if any(info.simulated for info in infos) else ""), infos)
                for info in infos:
                    leaf = self._item(symbol_item, info.interval
                                      + (SIMULATED if info.simulated else ""), [info])
                    key = (info.symbol, info.exchange.value, info.interval)
                    leaf.setData(0, KEY_ROLE, key)
                    self._mark(leaf, key)
        self.tree.expandAll()
        if selected is not None:
            self.select_series(*selected)
        total = sum(s.count for s in series)
        self.status_label.setText(f"{len(series)} series, {total:,} rows" if series
                                  else "The store is empty: Import… a CSV file")
        self._update_actions()

    def _item(self, parent: QTreeWidgetItem | None, text: str,
              infos: list[SeriesInfo]) -> QTreeWidgetItem:
        count = sum(s.count for s in infos)
        texts = [text, f"{count:,}", _stamp(min(s.first for s in infos)),
                 _stamp(max(s.last for s in infos))]
        item = QTreeWidgetItem(parent, texts) if parent is not None else QTreeWidgetItem(texts)
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if parent is None:
            self.tree.addTopLevelItem(item)
        return item

    def _mark(self, leaf: QTreeWidgetItem, key: Key) -> None:
        """A damaged series in red, what failed in its tooltip; a simulated one says so."""
        damaged = self.damaged.get(key)
        info = self.series.get(key)
        for column in range(len(COLUMNS)):
            if damaged:
                leaf.setForeground(column, ERROR_BRUSH)
                leaf.setToolTip(column, "Damaged, cannot be read:\n" + "\n".join(damaged))
            else:
                leaf.setData(column, Qt.ItemDataRole.ForegroundRole, None)
                leaf.setToolTip(column, SIMULATED_TIP if info and info.simulated else "")

    def item_for(self, symbol: str, exchange: str, interval: str) -> QTreeWidgetItem | None:
        key = (symbol, exchange, interval)
        for top in range(self.tree.topLevelItemCount()):
            exchange_item = self.tree.topLevelItem(top)
            for s in range(exchange_item.childCount()):
                symbol_item = exchange_item.child(s)
                for i in range(symbol_item.childCount()):
                    leaf = symbol_item.child(i)
                    if leaf.data(0, KEY_ROLE) == key:
                        return leaf
        return None

    def select_series(self, symbol: str, exchange: str, interval: str) -> bool:
        item = self.item_for(symbol, exchange, interval)
        if item is None:
            return False
        self.tree.setCurrentItem(item)
        item.setSelected(True)
        return True

    def selected_key(self) -> Key | None:
        items = self.tree.selectedItems()
        key = items[0].data(0, KEY_ROLE) if items else None
        return tuple(key) if key else None

    def _update_actions(self) -> None:
        chosen = self.selected_key() is not None
        for action in (self.export_action, self.delete_action, self.view_action):
            action.setEnabled(chosen)
        self.verify_one_action.setEnabled(chosen)
        for name, button in self.buttons.items():
            button.setEnabled(chosen or name in ("Import", "Download history", "Refresh",
                                                 "Verify all"))

    def _context_menu(self, point: QPoint) -> None:
        item = self.tree.itemAt(point)
        if item is not None:
            self.tree.setCurrentItem(item)
        menu = QMenu(self)
        for action in (self.view_action, self.export_action, self.delete_action,
                       self.verify_one_action, None, self.import_action,
                       self.download_action, self.verify_action,
                       self.refresh_action):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        key = self.selected_key()
        targets = resample_targets(key[2]) if key else []
        if targets:
            longer = menu.addMenu("Resample to")
            for target in targets:
                longer.addAction(target, lambda target=target: self.resample_series(key, target))
        menu.popup(self.tree.viewport().mapToGlobal(point))
        self.context_menu = menu

    def _double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        if item.data(0, KEY_ROLE):
            self.view_series()

    # ------------------------------------------------------------------ import
    def open_import(self, path: Path | None = None) -> ImportWizard | None:
        """The import wizard, on `path` or on a file the trader picks; not blocking."""
        if path is None:
            name, _ = QFileDialog.getOpenFileName(
                self, "Import market data", "", "CSV files (*.csv *.txt);;All files (*)")
            if not name:
                return None
            path = Path(name)
        if self.wizard is None:
            from terminal.ui.dialogs.import_wizard import ImportWizard  # on first use

            self.wizard = ImportWizard(self.store, self.pool, self)
            self.wizard.imported.connect(self._imported)
        if self.wizard.job is not None and self.wizard.job.running:
            self.wizard.open()  # one import at a time: show the running one
            return self.wizard
        self.wizard.load_file(Path(path))
        self.wizard.open()
        return self.wizard

    def _imported(self, spec, rows: int) -> None:
        self.refresh()
        interval = spec.interval if spec.kind == "bar" else TICK_INTERVAL
        self.select_series(spec.symbol, spec.exchange.value, interval)
        if self.viewed == (spec.symbol, spec.exchange.value, interval):
            self.view_series(self.viewed)

    # ------------------------------------------------------------------ download
    def open_download(self, vt_symbol: str = "") -> DownloadHistoryDialog:
        """The download dialog (not blocking); the tree shows the series once stored."""
        if self.download_dialog is None:
            from terminal.ui.dialogs.download_history import DownloadHistoryDialog

            self.download_dialog = DownloadHistoryDialog(self.store, self.pool,
                                                         self.main_engine, self.settings, self)
            self.download_dialog.downloaded.connect(self._downloaded)
        if vt_symbol:
            self.download_dialog.symbol_box.setEditText(vt_symbol)
        self.download_dialog.open()
        return self.download_dialog

    def _downloaded(self, outcome) -> None:
        self.refresh()
        if outcome is not None:
            download = outcome.download
            self.select_series(download.symbol, download.exchange.value, download.interval)

    # ------------------------------------------------------------------ export
    def request_export(self) -> ThreadJob | None:
        key = self.selected_key()
        if key is None:
            return None
        symbol, exchange, interval = key
        filters = list(EXPORT_FILTERS)
        name, chosen = QFileDialog.getSaveFileName(
            self, f"Export {describe(key)}", f"{symbol}.{exchange}_{interval}.csv",
            ";;".join(filters), filters[0])
        if not name:
            return None
        return self.export_series(key, export_target(name, chosen))

    def export_series(self, key: Key, out: Path) -> ThreadJob:
        """Write the series to `out` (.csv or .parquet) on a worker thread."""
        symbol, exchange, interval = key
        store = self.store

        def work(job: ThreadJob):
            return export_series(store, symbol, Exchange(exchange), interval, Path(out),
                                 job.report)

        def done(rows: int) -> None:
            self.status_label.setText(f"Exported {rows:,} rows of {describe(key)} to {out}")
            log.info("exported %d rows of %s to %s", rows, describe(key), out)

        job = self._busy(ThreadJob(work, name=f"export {describe(key)}"),
                         f"Exporting {describe(key)}…")
        return self._run(job, done, f"{describe(key)} could not be exported to {out}", key)

    # ------------------------------------------------------------------ resample
    def resample_series(self, key: Key, target: str) -> ThreadJob:
        """Store `target` bars built from the series on trading sessions (worker thread)."""
        symbol, exchange, interval = key
        store = self.store

        def work(job: ThreadJob):
            return resample_stored(store, symbol, Exchange(exchange), interval, target,
                                   job.report)

        def done(rows: int) -> None:
            self.refresh()
            self.select_series(symbol, exchange, target)
            self.status_label.setText(f"Wrote {rows:,} {target} bars built from "
                                      f"{describe(key)}")

        job = self._busy(ThreadJob(work, name=f"resample {describe(key)}"),
                         f"Resampling {describe(key)} to {target}…")
        return self._run(job, done, f"{describe(key)} could not be resampled to {target}", key)

    # ------------------------------------------------------------------ delete
    def request_delete(self) -> QMessageBox | None:
        """Ask before deleting the selected series (not blocking: the box's Yes deletes)."""
        key = self.selected_key()
        if key is None:
            return None
        info = self.series.get(key)
        rows = f"{info.count:,} rows" if info else "all rows"
        box = QMessageBox(
            QMessageBox.Icon.Warning, "Delete market data",
            f"Delete {describe(key)}: {rows}"
            + (f" from {_stamp(info.first)} to {_stamp(info.last)}" if info else "")
            + "?\n\nThis cannot be undone.", parent=self)
        delete_on_yes(box, lambda: self.delete_series(key))
        self.confirm_box = box
        box.open()
        return box

    def delete_series(self, key: Key) -> int | None:
        symbol, exchange, interval = key
        try:
            removed = self.store.delete(symbol, Exchange(exchange), interval)
        except Exception as exc:  # noqa: BLE001 - StoreError, OSError: shown, not raised
            self.show_error("Delete market data", f"{describe(key)} could not be deleted", exc)
            self.refresh()
            return None
        log.info("deleted %d rows of %s", removed, describe(key))
        self.damaged.pop(key, None)
        if self.viewed == key:
            self.viewed = None
            self.view_model.clear()
            self.view_label.setText(f"{describe(key)} was deleted")
        self.refresh()
        self.status_label.setText(f"Deleted {removed:,} rows of {describe(key)}")
        return removed

    # ------------------------------------------------------------------ the data view
    def view_series(self, key: Key | None = None) -> ThreadJob | None:
        """Load a series (the selected one by default) into the data view, off the GUI
        thread; the table reads its columns as the rows come on screen."""
        key = key or self.selected_key()
        if key is None:
            return None
        symbol, exchange, interval = key
        store = self.store

        def work(job: ThreadJob):
            return store.load_table(symbol, Exchange(exchange), interval)

        def done(table) -> None:
            self.viewed = key
            self.view_model.set_table(table, interval)
            fit_columns(self.view, self.view_model)
            self.view.scrollToTop()
            zone = getattr(store.tz, "key", str(store.tz))
            self.view_label.setText(f"{describe(key)}: {table.num_rows:,} rows "
                                    f"(times in {zone})")

        self.view_label.setText(f"Loading {describe(key)}…")
        return self._run(ThreadJob(work, name=f"load {describe(key)}"), done,
                         f"{describe(key)} could not be read", key)

    # ------------------------------------------------------------------ verify
    def _verify_clicked(self) -> None:
        """The Verify all button: every series, or stop the check that is running."""
        if self.verify_job is not None and self.verify_job.running:
            self.verify_job.cancel()
        else:
            self.verify_series()

    def verify_series(self, key: Key | None = None) -> ThreadJob | None:
        """Check every part of the store (or of series `key`) on a worker thread: progress in
        the status line, damaged series marked in the tree and listed in a message box."""
        if self.verify_job is not None and self.verify_job.running:
            return None                          # one check at a time
        store = self.store
        what = describe(key) if key else "every series"

        def work(job: ThreadJob) -> Verification:
            if key is None:
                return verify_store(store, progress=job.report)
            symbol, exchange, interval = key
            return verify_store(store, symbol, Exchange(exchange), interval, job.report)

        job = ThreadJob(work, name=f"verify {what}")
        job.progress.connect(lambda percent, text: self.status_label.setText(
            f"Verifying {percent}%: {text}"))
        job.cancelled.connect(lambda: self.status_label.setText("Verification stopped"))
        job.finished.connect(self._verify_finished)
        self.verify_job = job
        self.buttons["Verify all"].setText("Stop verifying")
        self.status_label.setText(f"Verifying {what}…")
        return self._run(job, lambda report: self._verified(key, report),
                         f"{what} could not be verified")

    def _verify_finished(self) -> None:
        self.buttons["Verify all"].setText(self.verify_action.text())

    def _verified(self, key: Key | None, report: Verification) -> None:
        found = damaged_series(report)
        if key is None:
            self.damaged = found
        else:
            self.damaged.pop(key, None)
            self.damaged.update(found)
        self.refresh()
        parts, series = len(report.parts), report.series
        older = len(report.hash_only)
        note = (f"; {older} written before page checksums, checked by hash only"
                if older else "")
        if not report.damaged:
            self.status_label.setText(f"Verified {parts:,} part{'s' * (parts != 1)} of "
                                      f"{series:,} series: all intact{note}")
            log.info("verified %d parts of %d series: all intact", parts, series)
            return
        text = (f"{len(report.damaged)} of {parts:,} parts damaged, in "
                f"{len(found)} series{note}")
        self.status_label.setText(text)
        lines = [f"{check.series}: {check.path}\n    {check.problem}" for check in report.damaged]
        log.error("market data verification: %s:\n%s", text, "\n".join(lines))
        box = QMessageBox(QMessageBox.Icon.Critical, "Damaged market data",
                          f"{text}. These series cannot be read until each damaged part is "
                          "restored from a backup, or the series deleted and imported again:\n\n"
                          + "\n".join(sorted({c.series for c in report.damaged})),
                          QMessageBox.StandardButton.Ok, self)
        box.setDetailedText("\n".join(lines))
        self.error_box = box
        box.open()

    def _set_damaged(self, key: Key, problems: list[str]) -> None:
        self.damaged[key] = problems
        item = self.item_for(*key)
        if item is not None:
            self._mark(item, key)

    # ------------------------------------------------------------------ plumbing
    def _busy(self, job: ThreadJob, text: str) -> ThreadJob:
        """Say what `job` does in the status line, with how far it has got."""
        self.status_label.setText(text)
        job.progress.connect(lambda percent, _: self.status_label.setText(f"{text} {percent}%"))
        return job

    def _run(self, job: ThreadJob, done, failure: str, key: Key | None = None) -> ThreadJob:
        """Start `job`; `done` gets its result. A failure is shown; a damaged part met while
        working on series `key` marks that series."""
        self.jobs.append(job)

        def failed(exc: Exception) -> None:
            self.status_label.setText(failure)
            if key is not None and isinstance(exc, DamagedPartError):
                self._set_damaged(key, [f"{exc.path.name}: {exc.reason}"])
            self.show_error("Market data", failure, exc)

        job.succeeded.connect(done)
        job.failed.connect(failed)
        job.finished.connect(lambda: self.jobs.remove(job) if job in self.jobs else None)
        job.start(self.pool)
        return job

    def show_error(self, title: str, text: str, exc: BaseException) -> QMessageBox:
        """Log the error and show it in a message box that does not block."""
        expected = isinstance(exc, (OSError, ValueError, RuntimeError))  # StoreError included
        log.error("%s: %s", text, exc, exc_info=None if expected else exc)
        box = QMessageBox(QMessageBox.Icon.Warning, title, f"{text}:\n{exc}",
                          QMessageBox.StandardButton.Ok, self)
        self.error_box = box
        box.open()
        return box


def export_target(name: str, chosen_filter: str) -> Path:
    """The file to write: the name as typed, given the chosen format's suffix if it has none
    of ours."""
    path = Path(name)
    if path.suffix.lower() not in FORMATS:
        path = path.with_name(path.name + EXPORT_FILTERS.get(chosen_filter, ".csv"))
    return path
