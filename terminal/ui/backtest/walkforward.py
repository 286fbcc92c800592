"""Walk-forward: search the parameters on each in-sample window, trade the best on the
out-of-sample window that follows, step forward, and judge the stitched out-of-sample result.

The strategy, data, period and costs are the settings panel's; the parameters to search and
how (target, grid or genetic, workers) are asked as the Optimise tab asks them
(`SearchSettings`); the windows (rolling or anchored, in-sample and out-of-sample lengths in
trading days) and the warm-up read before the period are this tab's. The walk runs as one
job of the workbench's pool (its worker reads the bars once and walks with its own worker
processes); it is kept in the run store as a run of kind "walkforward", so History lists it,
opens it again (here and in Results) and compares it with other runs.

Shown: the walk-forward efficiency and the five pass criteria, each PASS or FAIL; one row a
window (its days, the setting chosen, the target in sample, the result out of sample); and
the stitched out-of-sample balance with the windows' starts marked.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget,
    QVBoxLayout, QWidget)

from terminal.backtest.optimisation.space import ParameterError
from terminal.backtest.pool import DONE, FAILED, JobHandle
from terminal.backtest.report_html import criterion_needs, criterion_text
from terminal.backtest.runs import WALKFORWARD, RunRecord, RunStore
from terminal.backtest.stats import format_value
from terminal.backtest.walkforward import WalkForwardResult
from terminal.backtest.walkforward_windows import WalkForwardError, WalkForwardPlan
from terminal.plugins.loader import PluginError
from terminal.services import backtest_runs, optimisation, walkforward
from terminal.ui.backtest.axes import DayAxis, MoneyAxis
from terminal.ui.backtest.form import SettingsPanel
from terminal.ui.backtest.models import Col, RowsModel, plain, signed_color
from terminal.ui.backtest.pool_signals import PoolSignals
from terminal.ui.backtest.results import make_table
from terminal.ui.backtest.search_settings import SearchJob, SearchSettings, spin, target_label
from terminal.ui.colours import ERROR_HEX, MUTED_HEX, PLOT_BACKGROUND, RUNNING_HEX, error_html
from terminal.ui.thread_jobs import ThreadJob

log = logging.getLogger(__name__)

DEFAULT_IN_SAMPLE, DEFAULT_OUT_SAMPLE, DEFAULT_WARMUP = 120, 40, 30


def _passed_color(value: Any):
    return pg.mkBrush(RUNNING_HEX if value == "PASS" else ERROR_HEX)


class WalkForwardPanel(SearchJob, QWidget):
    kept = Signal(str)              # a walk's run id, once it is kept (done, failed, cancelled)
    open_requested = Signal(str)    # show a walk's stitched run in Results

    def __init__(self, form: SettingsPanel, signals: PoolSignals, runs: RunStore,
                 market_root, start_io: Callable[[ThreadJob], None], parent=None) -> None:
        super().__init__(parent)
        self.form = form
        self.signals = signals
        self.runs = runs
        self.market_root = market_root
        self.start_io = start_io
        self.handle: JobHandle | None = None
        self.run_id: str | None = None            # the walk running, or the one shown
        self.shown: str | None = None
        self._build()
        signals.progress.connect(self._progress)
        signals.finished.connect(self._finished)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_plan())
        splitter.addWidget(self._build_results())
        splitter.setSizes([330, 770])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)

    def _build_plan(self) -> QWidget:
        """The search and the windows, Walk forward and Cancel, the progress."""
        self.search = SearchSettings(self.form)
        self.mode_box = QComboBox()
        self.mode_box.addItem("Rolling: the in-sample window moves", "rolling")
        self.mode_box.addItem("Anchored: the in-sample window grows from the start",
                              "anchored")
        self.in_sample_spin = spin(1, 100_000, DEFAULT_IN_SAMPLE)
        self.out_sample_spin = spin(1, 100_000, DEFAULT_OUT_SAMPLE)
        self.warmup_spin = spin(0, 3_650, DEFAULT_WARMUP)
        for box, what in ((self.in_sample_spin, "searched"), (self.out_sample_spin, "traded")):
            box.setSuffix(" days")
            box.setToolTip(f"Trading days (days with bars) {what} in each window; each step "
                           "moves on by the out-of-sample length")
        self.warmup_spin.setSuffix(" days")
        self.warmup_spin.setToolTip("Calendar days of bars read before the period, for the "
                                    "strategy's load_bar")
        self.limit_spin = spin(0, 24 * 60, 120)
        self.limit_spin.setSuffix(" min")
        self.limit_spin.setToolTip("Stop the walk after this long (0: no limit)")
        form = self.search.form_layout
        form.addRow("Windows", self.mode_box)
        form.addRow("In sample", self.in_sample_spin)
        form.addRow("Out of sample", self.out_sample_spin)
        form.addRow("Warm-up", self.warmup_spin)
        form.addRow("Time limit", self.limit_spin)

        left = self.search.side(
            "Walk forward", "Tick the parameters to search, set the windows, and walk",
            self.start, self.cancel)
        self.start_button, self.cancel_button = self.search.start_button, \
            self.search.cancel_button
        self.progress_bar, self.status_label = self.search.progress_bar, \
            self.search.status_label
        return left

    def _build_results(self) -> QWidget:
        """The verdict, the criteria, the windows and the stitched balance."""
        self.verdict_label = QLabel("")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextFormat(Qt.TextFormat.RichText)
        self.open_button = QPushButton("Open in Results")
        self.open_button.setToolTip("The stitched out-of-sample run: statistics, equity, "
                                    "trades and chart")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(lambda: self.shown and self.open_requested.emit(
            self.shown))
        header = QHBoxLayout()
        header.addWidget(self.verdict_label, 1)
        header.addWidget(self.open_button)
        self.criteria_model = RowsModel([
            Col("Criterion"), Col("Measured", numeric=True), Col("Needs"),
            Col("Result", color=_passed_color), Col("Note")], self)
        self.criteria_view = make_table(self.criteria_model)
        self.windows_model = RowsModel([], self)
        self.windows_view = make_table(self.windows_model, sortable=True)

        self.equity_plots = pg.GraphicsLayoutWidget()
        self.equity_plots.setBackground(PLOT_BACKGROUND)
        self.day_axis = DayAxis()
        self.equity_plot = self.equity_plots.addPlot(
            row=0, col=0, axisItems={"bottom": self.day_axis, "left": MoneyAxis()})
        self.equity_plot.setTitle("Stitched out-of-sample balance (dashed: a window starts)")
        self.equity_plot.getAxis("left").setWidth(90)
        self.equity_curve = self.equity_plot.plot(pen=pg.mkPen("#f5a623", width=1.5))
        self.window_lines: list[pg.InfiniteLine] = []

        self.tabs = QTabWidget()
        self.tabs.addTab(self.criteria_view, "Criteria")
        self.tabs.addTab(self.windows_view, "Windows")
        self.tabs.addTab(self.equity_plots, "Out-of-sample equity")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(header)
        right_layout.addWidget(self.tabs, 1)
        return right

    # ------------------------------------------------------------------ running
    def plan(self) -> tuple[Any, Any, WalkForwardPlan]:
        """(the strategy's entry, the settings, the plan) as typed; ValueError,
        ParameterError, PluginError or WalkForwardError names what is wrong."""
        entry = self.form.current_entry()
        self.search.rebuild_if_needed()
        settings = self.form.settings()
        spec = self.search.space_spec()
        space = optimisation.check_search(entry, settings, spec)
        search = self.search.search()
        fixed = {k: v for k, v in self.form.params().items() if k not in spec}
        plan = WalkForwardPlan(space, self.in_sample_spin.value(),
                               self.out_sample_spin.value(), self.mode_box.currentData(),
                               search.target, search.maximise, search.method,
                               search.population, search.generations, search.seed, fixed)
        plan.check()
        return entry, settings, plan

    def start(self) -> JobHandle | None:
        if self.running:
            self.status_label.setText("A walk-forward is running: cancel it first")
            return None
        try:
            entry, settings, plan = self.plan()
        except (ValueError, ParameterError, PluginError, WalkForwardError) as exc:
            self.status_label.setText(error_html(str(exc)))
            return None
        try:
            self.run_id, handle = walkforward.submit_walk(
                self.runs, self.signals.submit, self.market_root, entry, settings, plan,
                workers=self.search.workers_spin.value(), warmup_days=self.warmup_spin.value(),
                time_limit=self.limit_spin.value() * 60 or None,
                scheduler=self.search.search().scheduler)
        except Exception as exc:  # noqa: BLE001 - the pool refused it: kept failed, said here
            self.status_label.setText(error_html(f"the walk could not start: {exc}"))
            return None
        return self._queued(handle, (
            f"{plan.mode} walk-forward, {plan.in_sample} days in sample, {plan.out_sample} "
            f"out, {plan.search} search of {plan.space.size:,} settings a window towards "
            f"{target_label(plan.target)}: queued"))

    def _finished(self, handle: JobHandle) -> None:
        if not self._ended(handle):
            return
        run_id = self.run_id
        if handle.state == DONE:
            self._keep(run_id, handle.result(0))
            return
        backtest_runs.set_status(self.runs, run_id, handle.state,
                                 handle.error if handle.state == FAILED else "")
        self._say_failed(handle)
        self.kept.emit(run_id)

    def _keep(self, run_id: str, result: WalkForwardResult) -> None:
        """Keep the walk (Parquet and SQLite, on a thread), then show it."""
        runs = self.runs
        self.status_label.setText("saving…")
        job = ThreadJob(lambda _: walkforward.keep_result(runs, run_id, result),
                        name=f"save walk-forward {run_id}")
        job.succeeded.connect(lambda _: self._kept(run_id, result))
        job.failed.connect(lambda exc: self._keep_failed(run_id, exc))
        self.start_io(job)

    def _kept(self, run_id: str, result: WalkForwardResult) -> None:
        self.progress_bar.setValue(100)
        if result.cancelled:
            self.status_label.setText("cancelled")
        else:
            self.status_label.setText(
                f"{len(result.windows)} windows, {result.evaluated:,} settings evaluated in "
                f"{result.elapsed:.1f} s: run {run_id}")
            self.show_walk(run_id, result.windows_frame(), result.daily,
                           {**walkforward.statistics(result)}, result.plan.target)
        self.kept.emit(run_id)

    def _keep_failed(self, run_id: str, exc: BaseException) -> None:
        log.error("walk-forward %s could not be saved: %s", run_id, exc)
        backtest_runs.set_status(self.runs, run_id, FAILED,
                                 f"the result could not be saved: {exc}")
        self.status_label.setText(error_html(f"could not be saved: {exc}"))
        self.kept.emit(run_id)

    # ------------------------------------------------------------------ showing
    def open_stored(self, record: RunRecord) -> ThreadJob | None:
        """Show a kept walk-forward (its windows and stitched balance read on a thread);
        None when the run is not a finished walk-forward."""
        if record.kind != WALKFORWARD or record.status != DONE:
            return None
        runs = self.runs

        def load(_):
            return runs.load_windows(record.run_id), runs.load_daily(record.run_id)

        job = ThreadJob(load, name=f"open walk-forward {record.run_id}")
        target = record.settings.get("walkforward", {}).get("target", "")
        job.succeeded.connect(lambda loaded: self.show_walk(
            record.run_id, loaded[0], loaded[1], record.stats, target))
        job.failed.connect(lambda exc: self.status_label.setText(
            error_html(f"run {record.run_id} cannot be opened: {exc}")))
        self.start_io(job)
        return job

    def show_walk(self, run_id: str, windows: pd.DataFrame, daily: pd.DataFrame,
                  stats: dict, target: str) -> None:
        """The verdict and criteria, the windows table and the stitched balance."""
        self.shown = run_id
        self.open_button.setEnabled(True)
        criteria = stats.get("criteria") or []
        passed = bool(criteria) and all(c.get("passed") for c in criteria)
        count = sum(1 for c in criteria if c.get("passed"))
        colour = RUNNING_HEX if passed else ERROR_HEX
        efficiency = stats.get("walkforward_efficiency")
        self.verdict_label.setText(
            f"<b style='color:{colour}'>{'PASSED' if passed else 'FAILED'}: {count} of "
            f"{len(criteria)} criteria</b> · walk-forward efficiency "
            f"{criterion_text('efficiency', efficiency)} · net "
            f"{format_value('total_net_pnl', stats.get('total_net_pnl', math.nan))} · "
            f"{stats.get('windows', len(windows))} windows "
            f"<span style='color:{MUTED_HEX}'>(run {run_id})</span>")
        self.criteria_model.set_rows([
            (c["name"], criterion_text(c["name"], c.get("value")),
             criterion_needs(c["name"], c.get("threshold")),
             "PASS" if c.get("passed") else "FAIL", c.get("note", ""))
            for c in criteria])
        self.criteria_view.resizeColumnsToContents()
        self._show_windows(windows, target)
        self._show_equity(windows, daily)

    def _show_windows(self, windows: pd.DataFrame, target: str) -> None:
        params = [c for c in windows.columns if c.startswith("param: ")]
        target_column = f"is_{target}"
        columns = [Col("Window", numeric=True), Col("In sample"), Col("Out of sample")]
        columns += [Col(c.removeprefix("param: "), numeric=True) for c in params]
        columns += [Col(f"{target_label(target)} (IS)", _number, numeric=True,
                        tooltip="the target statistic of the chosen setting in sample"),
                    Col("Net P&L (OOS)", _number, numeric=True, color=signed_color,
                        tooltip="out of sample, the chosen setting traded"),
                    Col("Annual return % (OOS)", _number, numeric=True),
                    Col("Max drawdown % (OOS)", _number, numeric=True),
                    Col("Trades (OOS)", plain, numeric=True)]
        rows = []
        for _, w in windows.iterrows():
            rows.append((
                w["window"], f"{_day(w['is_start'])} to {_day(w['is_end'])}",
                f"{_day(w['oos_start'])} to {_day(w['oos_end'])}"
                + (" (partial)" if w.get("partial") else ""),
                *[w[c] for c in params], w.get(target_column, math.nan), w["oos_net_pnl"],
                w["oos_annual_return"], w["oos_max_ddpercent"], w["oos_trade_count"]))
        self.windows_model.set_rows(rows, columns=columns)
        self.windows_view.resizeColumnsToContents()

    def _show_equity(self, windows: pd.DataFrame, daily: pd.DataFrame) -> None:
        for line in self.window_lines:
            self.equity_plot.removeItem(line)
        self.window_lines = []
        if daily is None or daily.empty or "balance" not in daily:
            self.day_axis.days = []
            self.equity_curve.setData([], [])
            return
        days = [_day(d) for d in daily.index]
        self.day_axis.days = days
        balance = daily["balance"].to_numpy(dtype=float)
        self.equity_curve.setData(np.arange(len(balance)), balance)
        where = {day: i for i, day in enumerate(days)}
        for start in windows.get("oos_start", []):
            index = where.get(_day(start))
            if index is None:
                continue
            line = pg.InfiniteLine(index, angle=90,
                                   pen=pg.mkPen(MUTED_HEX, style=Qt.PenStyle.DashLine))
            self.equity_plot.addItem(line)
            self.window_lines.append(line)
        self.equity_plot.autoRange()


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)[:10]


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.2f}"
