"""The backtest workbench dock: settings on the left; Runs, Results, History, Compare and
Optimise tabs on the right.

- Run: the settings panel's strategy, data, period, costs and parameters become a run in the
  run store (queued) and a job of the workbench's `BacktestPool`: a worker process reads the
  bars, runs vn.py's engine and sends back statistics, daily results, fills and candles. At
  most "Parallel runs" work at once (more wait, queued), each stopped at its time limit.
- Runs tab: every run of this session with its state, a progress bar and Cancel.
- Results: the last run that finished (or the one opened from History).
- History: every run kept; Open, Compare, Delete.
- Optimise: grid or genetic search over chosen parameters.
- Walk-forward: a search on each in-sample window, the best traded on the next out-of-sample
  window, the stitched result judged (ui/backtest/walkforward.py).

Nothing slow happens on the GUI thread: backtests and optimisations run in worker processes;
their progress and results arrive as queued Qt signals (`ui.backtest.pool_signals.PoolSignals`);
saving a result and opening a stored run (Parquet reads) run on a thread
(`ui.thread_jobs.ThreadJob`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QScrollArea,
    QSpinBox, QSplitter, QStyle, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout,
    QWidget)

from terminal.backtest.engine import BacktestSettings
from terminal.backtest.pool_jobs import RunResult
from terminal.backtest.pool import CANCELLED, DONE, FAILED, QUEUED, RUNNING, JobHandle
from terminal.backtest.runs import RunNotFound, RunStore
from terminal.plugins.loader import PluginError, StrategyCatalog
from terminal.services import backtest_runs
from terminal.storage.market_store import MarketStore
from terminal.ui.backtest.form import SettingsPanel
from terminal.ui.backtest.history import CompareView, HistoryPanel
from terminal.ui.backtest.pool_signals import PoolSignals
from terminal.ui.backtest.optimise import OptimisePanel
from terminal.ui.backtest.walkforward import WalkForwardPanel
from terminal.ui.backtest.results import ResultsView
from terminal.ui.thread_jobs import ThreadJob
from terminal.ui.colours import ERROR_TEXT_STYLE

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 600          # seconds per run
MAX_SESSION_ROWS = 200            # rows kept in the Runs tab
SETTINGS_WIDTH = 300              # the settings panel at first (wider when its form needs it)
RUNS_COLUMNS = ("Run", "Strategy", "Symbol", "Interval", "State", "Progress", "Elapsed", "")
PROGRESS_COLUMN, STATE_COLUMN, ELAPSED_COLUMN, ACTION_COLUMN = 5, 4, 6, 7


def settings_width(scroll: QScrollArea, form: QWidget) -> int:
    """The narrowest the settings' scroll area may be: the form's own minimum, a vertical
    scroll bar and the frame (below it the form would need a sideways scroll bar)."""
    bar = scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
    return form.minimumSizeHint().width() + bar + 2 * scroll.frameWidth() + 2


@dataclass
class SessionRun:
    """A run started in this session and its row in the Runs tab."""

    run_id: str
    handle: JobHandle
    strategy: str
    settings: BacktestSettings
    params: dict
    status: str = QUEUED             # as the run store has it
    saved: bool = False              # the final state is in the run store
    bar: QProgressBar | None = None
    cancel_button: QPushButton | None = None
    text: str = ""


class BacktestWorkbench(QWidget):
    run_done = Signal(str, str)           # run id, final status once the store has it
    run_opened = Signal(str)              # run id shown in Results

    def __init__(self, catalog: StrategyCatalog, store: MarketStore, runs: RunStore | Path | str,
                 max_workers: int = 2, time_limit: float | None = DEFAULT_TIME_LIMIT,
                 parent=None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.store = store
        self._own_runs = not isinstance(runs, RunStore)
        self.runs = runs if isinstance(runs, RunStore) else RunStore(Path(runs))
        self.signals = PoolSignals(max_workers=max_workers, parent=self)
        self.threads = QThreadPool(self)
        self.threads.setMaxThreadCount(2)
        self.session: dict[str, SessionRun] = {}       # run id -> run, in start order
        self._by_job: dict[int, str] = {}              # job id -> run id
        self.io_jobs: list[ThreadJob] = []
        self.closed = False
        self._build(max_workers, time_limit)
        self.signals.progress.connect(self._progress)
        self.signals.changed.connect(self._changed)
        self.signals.finished.connect(self._finished)
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)
        self._clock.start()

    # ------------------------------------------------------------------ layout
    def _build(self, max_workers: int, time_limit: float | None) -> None:
        self.form = SettingsPanel(self.catalog, self.store)
        self.settings_scroll = scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        # never sideways: the panel is never narrower than the form and a vertical scroll bar
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(settings_width(scroll, self.form))
        self.form.installEventFilter(self)      # its rows change: parameters, a long name

        self.run_button = QPushButton("Run backtest")
        self.run_button.setToolTip("Run the strategy with these settings in a worker process")
        self.run_button.clicked.connect(lambda: self.run())
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, max(2, (os.cpu_count() or 1) * 2))
        self.workers_spin.setValue(max_workers)
        self.workers_spin.setToolTip("Runs working at once; more wait in the queue")
        self.workers_spin.valueChanged.connect(self._set_workers)
        self.limit_spin = QSpinBox()
        self.limit_spin.setRange(0, 24 * 3600)
        self.limit_spin.setSuffix(" s")
        self.limit_spin.setValue(int(time_limit or 0))
        self.limit_spin.setToolTip("A run still working after this long is stopped (0: no "
                                   "limit)")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        # one row, so the settings keep the height of the default (short) bottom dock
        controls = QWidget()
        limits = QHBoxLayout()
        limits.addWidget(QLabel("Parallel runs"))
        limits.addWidget(self.workers_spin)
        limits.addWidget(QLabel("Limit"))
        limits.addWidget(self.limit_spin, 1)
        controls_layout = QVBoxLayout(controls)
        controls_layout.setContentsMargins(2, 2, 2, 2)
        controls_layout.addLayout(limits)
        controls_layout.addWidget(self.run_button)
        controls_layout.addWidget(self.message)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        left_layout.addWidget(controls)

        self.runs_table = QTableWidget(0, len(RUNS_COLUMNS))
        self.runs_table.setHorizontalHeaderLabels(list(RUNS_COLUMNS))
        self.runs_table.verticalHeader().setVisible(False)
        self.runs_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs_table.horizontalHeader().setSectionResizeMode(
            PROGRESS_COLUMN, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((150, 150, 100, 55, 230)):
            self.runs_table.setColumnWidth(column, width)
        self.runs_table.cellDoubleClicked.connect(self._runs_double_clicked)
        self.cancel_all_button = QPushButton("Cancel all")
        self.cancel_all_button.clicked.connect(self.cancel_all)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_finished)
        self.queue_label = QLabel("")
        runs_bar = QHBoxLayout()
        runs_bar.addWidget(self.queue_label, 1)
        runs_bar.addWidget(self.cancel_all_button)
        runs_bar.addWidget(self.clear_button)
        runs_panel = QWidget()
        runs_layout = QVBoxLayout(runs_panel)
        runs_layout.setContentsMargins(2, 2, 2, 2)
        runs_layout.addLayout(runs_bar)
        runs_layout.addWidget(self.runs_table, 1)

        self.results = ResultsView(self.store.tz)
        self.results.report_export.windows_of = self.runs.load_windows   # a walk's report
        self.history = HistoryPanel(self.runs)
        self.history.open_requested.connect(self.open_run)
        self.history.compare_requested.connect(self.compare)
        self.history.deleted.connect(self._deleted)
        self.compare_view = CompareView(self.runs)
        self.optimise = OptimisePanel(self.form, self.signals, self.store.root)
        self.walkforward = WalkForwardPanel(self.form, self.signals, self.runs,
                                            self.store.root, self._start_io)
        self.walkforward.kept.connect(lambda _: self.history.refresh())
        self.walkforward.open_requested.connect(self.open_run)

        self.tabs = QTabWidget()
        self.tabs.addTab(runs_panel, "Runs")
        self.tabs.addTab(self.results, "Results")
        self.tabs.addTab(self.history, "History")
        self.tabs.addTab(self.compare_view, "Compare")
        self.tabs.addTab(self.optimise, "Optimise")
        self.tabs.addTab(self.walkforward, "Walk-forward")

        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setCollapsible(0, False)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([max(scroll.minimumWidth(), SETTINGS_WIDTH), 1100])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.form and event.type() == QEvent.Type.LayoutRequest:
            QTimer.singleShot(0, self._fit_settings)     # once the form's layout has run
        return super().eventFilter(watched, event)

    def _fit_settings(self) -> None:
        if not self.closed:
            self.settings_scroll.setMinimumWidth(settings_width(self.settings_scroll,
                                                                self.form))

    def _set_workers(self, value: int) -> None:
        self.signals.pool.max_workers = value

    def time_limit(self) -> float | None:
        return float(self.limit_spin.value()) or None

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.form.refresh_series()          # bars imported in the Data dock since

    # ------------------------------------------------------------------ running
    def run(self) -> str | None:
        """Start a run of the settings panel's choice; returns its run id (None and a
        message when something does not fit)."""
        if self.closed:
            return None
        try:
            entry = self.form.current_entry()
            settings = self.form.settings()
            params = self.form.params()
        except (ValueError, PluginError) as exc:
            self._say(str(exc), error=True)
            return None
        run_id, handle = backtest_runs.submit_run(self.runs, self.signals.submit,
                                                  self.store.root, entry, settings, params,
                                                  self.time_limit())
        run = SessionRun(run_id, handle, entry.name, settings, params)
        self.session[run_id] = run
        self._by_job[handle.id] = run_id
        self._add_row(run)
        self._say(f"run {run_id} queued")
        self.tabs.setCurrentWidget(self.runs_table.parentWidget())
        self.history.refresh()
        return run_id

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(ERROR_TEXT_STYLE if error else "")
        self.message.setText(text)

    def _add_row(self, run: SessionRun) -> None:
        table = self.runs_table
        table.insertRow(0)
        interval = run.settings.interval
        for column, text in enumerate((run.run_id, run.strategy, run.settings.vt_symbol,
                                       getattr(interval, "value", str(interval)), "queued", "",
                                       "")):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, run.run_id)
            table.setItem(0, column, item)
        run.bar = QProgressBar()
        run.bar.setRange(0, 100)
        run.bar.setValue(0)
        run.bar.setFormat("%p%")
        table.setCellWidget(0, PROGRESS_COLUMN, run.bar)
        run.cancel_button = QPushButton("Cancel")
        run.cancel_button.clicked.connect(lambda: self.cancel(run.run_id))
        table.setCellWidget(0, ACTION_COLUMN, run.cancel_button)
        while table.rowCount() > MAX_SESSION_ROWS:
            self._drop_row(table.rowCount() - 1)
        self._update_queue()

    def _row_of(self, run_id: str) -> int:
        for row in range(self.runs_table.rowCount()):
            item = self.runs_table.item(row, 0)
            if item is not None and item.text() == run_id:
                return row
        return -1

    def _drop_row(self, row: int) -> None:
        run_id = self.runs_table.item(row, 0).text()
        run = self.session.get(run_id)
        if run is not None and not run.handle.done:
            return
        self.runs_table.removeRow(row)
        if run is not None:
            self.session.pop(run_id, None)
            self._by_job.pop(run.handle.id, None)

    def _set_state(self, run: SessionRun, text: str) -> None:
        run.text = text
        row = self._row_of(run.run_id)
        if row >= 0:
            self.runs_table.item(row, STATE_COLUMN).setText(text)
            self.runs_table.item(row, STATE_COLUMN).setToolTip(run.handle.error or text)

    def _run_of(self, handle: JobHandle) -> SessionRun | None:
        run_id = self._by_job.get(handle.id)
        return self.session.get(run_id) if run_id else None

    def _changed(self, handle: JobHandle) -> None:
        run = self._run_of(handle)
        if run is None or run.status != QUEUED or handle.state != RUNNING:
            return
        run.status = RUNNING
        backtest_runs.set_status(self.runs, run.run_id, RUNNING)
        self._set_state(run, "running")
        self._update_queue()

    def _progress(self, handle: JobHandle, percent: float, text: str) -> None:
        run = self._run_of(handle)
        if run is None or run.bar is None:
            return
        run.bar.setValue(int(percent))
        run.bar.setFormat(f"%p%  {text}" if text else "%p%")

    def _finished(self, handle: JobHandle) -> None:
        run = self._run_of(handle)
        if run is None:
            return
        if run.cancel_button is not None:
            run.cancel_button.setEnabled(False)
        self._update_queue()
        if handle.state == DONE:
            self._set_state(run, "saving")
            if run.bar is not None:
                run.bar.setValue(100)
            self._save(run, handle.result(0))
            return
        status = CANCELLED if handle.state == CANCELLED else FAILED
        self._set_state(run, handle.status_text)
        self._store_final(run, status, handle.error if status == FAILED else "")

    def _store_final(self, run: SessionRun, status: str, error: str = "") -> None:
        backtest_runs.set_status(self.runs, run.run_id, status, error)
        run.status = status
        run.saved = True
        last = error.strip().splitlines()[-1] if error.strip() else ""
        self._say(f"run {run.run_id} {status}" + (f": {last}" if last else ""),
                  error=status == FAILED)
        self.history.refresh()
        self.run_done.emit(run.run_id, status)

    def _save(self, run: SessionRun, result: RunResult) -> None:
        """Keep the result (Parquet and SQLite, on a thread), then show it."""
        runs = self.runs

        job = ThreadJob(lambda _: backtest_runs.save_result(runs, run.run_id, result),
                  name=f"save {run.run_id}")
        job.succeeded.connect(lambda saved: self._saved(run, saved))
        job.failed.connect(lambda exc: self._save_failed(run, exc))
        self._start_io(job)

    def _saved(self, run: SessionRun, result: RunResult) -> None:
        self._set_state(run, f"done: {len(result.trades):,} fills")
        self._say(f"run {run.run_id} done in {run.handle.elapsed:.1f} s")
        try:
            record = self.runs.get(run.run_id)
        except RunNotFound:
            record = None
        run.status = DONE
        run.saved = True
        self.results.show_run(result, record)
        if self.tabs.currentWidget() is self.runs_table.parentWidget():
            self.tabs.setCurrentWidget(self.results)
        self.history.refresh()
        self.run_done.emit(run.run_id, DONE)
        self.run_opened.emit(run.run_id)

    def _save_failed(self, run: SessionRun, exc: BaseException) -> None:
        log.error("backtest run %s could not be saved: %s", run.run_id, exc)
        self._set_state(run, f"failed: could not be saved: {exc}")
        self._store_final(run, FAILED, f"the result could not be saved: {exc}")

    def _start_io(self, job: ThreadJob) -> None:
        self.io_jobs.append(job)
        job.finished.connect(self._io_finished)
        job.start(self.threads)

    def _io_finished(self) -> None:
        """Let a finished job go: its slots hold closures over this dock and the results,
        and a Qt connection is a reference the garbage collector cannot see through."""
        job = self.sender()
        if job in self.io_jobs:
            self.io_jobs.remove(job)
        for signal in (job.succeeded, job.failed, job.finished):
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):
                pass

    def cancel(self, run_id: str) -> bool:
        run = self.session.get(run_id)
        if run is None or run.handle.done:
            return False
        run.handle.cancel()
        self._set_state(run, "cancelling")
        return True

    def cancel_all(self) -> None:
        for run_id in list(self.session):
            self.cancel(run_id)

    def clear_finished(self) -> None:
        for row in reversed(range(self.runs_table.rowCount())):
            run = self.session.get(self.runs_table.item(row, 0).text())
            if run is None or (run.handle.done and run.saved):
                self._drop_row(row)
        self._update_queue()

    def _update_queue(self) -> None:
        working = [r for r in self.session.values() if not r.handle.done]
        running = sum(1 for r in working if r.handle.state == RUNNING)
        self.queue_label.setText(f"{running} running, {len(working) - running} queued"
                                 if working else "No run working")

    def _tick(self) -> None:
        for run in self.session.values():
            handle = run.handle
            if handle.started is None:
                continue
            if handle.done and run.text.startswith(("done", "failed", "cancelled")) \
                    and handle.finished and time.time() - handle.finished > 1:
                continue
            row = self._row_of(run.run_id)
            if row >= 0:
                self.runs_table.item(row, ELAPSED_COLUMN).setText(f"{handle.elapsed:,.1f} s")

    def _runs_double_clicked(self, row: int, column: int) -> None:
        item = self.runs_table.item(row, 0)
        run = self.session.get(item.text()) if item is not None else None
        if run is not None and run.saved:
            self.open_run(run.run_id)

    def status_of(self, run_id: str) -> str:
        """The run's state: the worker's while it works ("finishing" until the run store has
        the outcome), else the store's."""
        run = self.session.get(run_id)
        if run is not None and not run.saved:       # finished, but not yet in the store
            return "finishing" if run.handle.done else run.handle.state
        try:
            return self.runs.get(run_id).status
        except RunNotFound:
            return "deleted"

    # ------------------------------------------------------------------ stored runs
    def open_run(self, run_id: str) -> ThreadJob | None:
        """Show a stored run in Results: its statistics, daily results and fills as they were
        kept (nothing recomputed) and the candles of its period (read on a thread)."""
        runs, store = self.runs, self.store
        job = ThreadJob(lambda _: backtest_runs.open_run(runs, store, run_id),
                        name=f"open {run_id}")
        job.succeeded.connect(self._opened)
        job.failed.connect(lambda exc: self._say(f"run {run_id} cannot be opened: {exc}",
                                                 error=True))
        self._start_io(job)
        return job

    def _opened(self, loaded) -> None:
        record, result = loaded
        self.results.show_run(result, record)
        self.optimise.show_stored(record)   # a kept optimisation: its overfitting odds
        self.walkforward.open_stored(record)    # a kept walk-forward: its windows, criteria
        self.tabs.setCurrentWidget(self.results)
        self.run_opened.emit(record.run_id)

    def compare(self, run_ids: list[str]) -> None:
        try:
            self.compare_view.compare(run_ids)
        except RunNotFound as exc:
            self._say(f"run {exc} is gone", error=True)
            self.history.refresh()
            return
        self.tabs.setCurrentWidget(self.compare_view)

    def _deleted(self, run_ids: list[str]) -> None:
        self.compare_view.forget(run_ids)
        shown = self.results.record
        if shown is not None and shown.run_id in run_ids:
            self.results.show_run(None, None)
            self.results.title.setText(f"Run {shown.run_id} was deleted")

    # ------------------------------------------------------------------ life cycle
    def shutdown(self) -> None:
        """Cancel what works (kept as cancelled), stop the pool and close the run store."""
        if self.closed:
            return
        self.closed = True
        self._clock.stop()
        self.signals.close()                # cancels the runs still working, reaps workers
        self.threads.waitForDone(10_000)    # results being saved are saved
        backtest_runs.mark_unfinished(self.runs, list(self.session), CANCELLED,
                                      "the terminal was closed during the run")
        if self._own_runs:
            self.runs.close()
