"""Performance: what the trader actually did, from the journal, for a range of trading days.

Summary statistics, realised equity and its drawdown, the breakdowns by day, symbol, strategy
and hour of entry, the round trips with their excursions (MAE/MFE) and a scatter of them.
The figures are `terminal.backtest.live_performance`'s (its docstring defines them), read by
`terminal.services.performance` on a thread (`ThreadJob`): the GUI never waits on the journal.

Refresh: by the button, on changing the range, and by itself when the bridge brings new
trades while the range reaches today's trading day and the dock is shown: at most once a second
(the bridge's batch is journalled before the GUI sees it, so the read finds those trades). A
refresh asked for while one runs is run once that one is done.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QDate, Qt, QThreadPool, QTimer
from PySide6.QtWidgets import (QDateEdit, QHBoxLayout, QLabel, QPushButton, QTabWidget,
                               QVBoxLayout, QWidget)

from terminal.backtest.live_performance import (SUMMARY_LABELS, BreakdownRow, LivePerformance,
                                                format_summary)
from terminal.core.trading_day import current_trading_day
from terminal.ui.backtest.axes import DayAxis, MoneyAxis
from terminal.ui.backtest.models import Col, RowsModel
from terminal.ui.colours import DOWN_HEX, PLOT_BACKGROUND, UP_HEX, WARNING_HEX, up_or_down
from terminal.ui.backtest.results import make_table
from terminal.ui.thread_jobs import ThreadJob

Loader = Callable[[date, date, Callable[[int, str], None]], LivePerformance]
AUTO_REFRESH_MS = 1000
BREAKDOWN_TITLES = {"day": "By day", "symbol": "By symbol", "strategy": "By strategy",
                    "hour": "By hour"}


def _money(value: Any) -> str:
    if value is None:
        return "no bars"
    return "n/a" if isinstance(value, float) and math.isnan(value) else f"{value:,.2f}"


def _ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.3f}"


def _ticks(value: Any) -> str:
    if value is None:
        return "no bars"
    return "n/a" if math.isnan(value) else f"{value:,.6g}"


def _signed(value: Any) -> Any:
    return up_or_down(value) if isinstance(value, (int, float)) else None


def _side(value: str) -> Any:
    return up_or_down(1 if value == "long" else -1)


BREAKDOWN_COLUMNS = [
    Col(""), Col("Round trips", lambda v: f"{v:,}", numeric=True),
    Col("Win rate", lambda v: f"{v * 100:.1f}%", numeric=True),
    Col("Net P&L", _money, numeric=True, color=_signed),
    Col("Before fees", _money, numeric=True, color=_signed),
    Col("Fees", _money, numeric=True),
    Col("Per round trip", _money, numeric=True, color=_signed),
    Col("Profit-loss ratio", _ratio, numeric=True),
    Col("Expectancy", _ratio, numeric=True),
]
TRIP_COLUMNS = [
    Col("Exit day"), Col("Symbol"), Col("Strategy"), Col("Exit by"),
    Col("Side", color=_side), Col("Lots", lambda v: f"{v:g}", numeric=True),
    Col("Entry time"), Col("Entry", lambda v: f"{v:,.6g}", numeric=True),
    Col("Exit time"), Col("Exit", lambda v: f"{v:,.6g}", numeric=True),
    Col("Net P&L", _money, numeric=True, color=_signed),
    Col("Fees", _money, numeric=True),
    Col("MAE", _money, numeric=True, tooltip="maximum adverse excursion, money: from the "
        "1-minute bars of the entry minute to the exit minute"),
    Col("MAE ticks", _ticks, numeric=True),
    Col("MFE", _money, numeric=True, tooltip="maximum favourable excursion, money"),
    Col("MFE ticks", _ticks, numeric=True),
    Col("Bars", lambda v: "no bars" if v is None else f"{v:,}", numeric=True),
]


def breakdown_rows(rows: list[BreakdownRow]) -> list[tuple]:
    return [(r.key, r.trips, r.win_rate, r.net_pnl, r.gross_pnl, r.fees, r.average,
             r.profit_loss_ratio, r.expectancy) for r in rows]


def trip_rows(perf: LivePerformance) -> list[tuple]:
    out = []
    for t in perf.trips:
        e = t.excursion
        out.append((t.day.isoformat(), t.vt_symbol, t.strategy, t.exit_source, t.direction,
                    t.volume, f"{t.entry_time:%Y-%m-%d %H:%M:%S}", t.entry_price,
                    f"{t.exit_time:%Y-%m-%d %H:%M:%S}", t.exit_price, t.net_pnl, t.fees,
                    e and e.adverse, e and e.adverse_ticks, e and e.favourable,
                    e and e.favourable_ticks, e and e.bars))
    return out


def _sortable(model: RowsModel):
    """A table the trader may sort by a click, shown in the order given until then (by hour:
    the night session first)."""
    view = make_table(model, sortable=True)
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    view.horizontalHeader().setResizeContentsPrecision(200)
    return view


class PerformanceDock(QWidget):
    def __init__(self, load: Loader, today: Callable[[], date] = current_trading_day,
                 parent=None) -> None:
        super().__init__(parent)
        self._load = load
        self._today = today
        self._job: ThreadJob | None = None
        self._again = False
        self.threads = QThreadPool(self)
        self.threads.setMaxThreadCount(1)
        self.result: LivePerformance | None = None
        self.auto = QTimer(self)
        self.auto.setSingleShot(True)
        self.auto.setInterval(AUTO_REFRESH_MS)
        self.auto.timeout.connect(self.refresh)

        self.start_edit, self.end_edit = QDateEdit(), QDateEdit()
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.buttons = {name: QPushButton(name) for name in
                        ("Today", "This week", "This month", "Refresh")}
        self.buttons["Today"].clicked.connect(lambda: self.show_range("today"))
        self.buttons["This week"].clicked.connect(lambda: self.show_range("week"))
        self.buttons["This month"].clicked.connect(lambda: self.show_range("month"))
        self.buttons["Refresh"].clicked.connect(self.refresh)
        self.status = QLabel("")
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet(f"color: {WARNING_HEX}")
        self.notes.hide()

        self.summary_model = RowsModel([Col("Statistic"), Col("Value", numeric=True)], self)
        self.summary_view = make_table(self.summary_model)
        self.summary_view.setColumnWidth(0, 300)
        self.breakdown_models = {by: RowsModel(BREAKDOWN_COLUMNS, self) for by in
                                 BREAKDOWN_TITLES}
        self.trips_model = RowsModel(TRIP_COLUMNS, self)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(PLOT_BACKGROUND)
        self.equity_plot = self.plots.addPlot(row=0, col=0, axisItems={"left": MoneyAxis()})
        self.equity_plot.setTitle("Realised P&L, cumulative net, round trip by round trip")
        self.drawdown_plot = self.plots.addPlot(row=1, col=0, axisItems={"left": MoneyAxis()})
        self.drawdown_plot.setTitle("Drawdown of realised P&L")
        self.drawdown_plot.setLabel("bottom", "round trips, in the order they closed")
        self.drawdown_plot.setXLink(self.equity_plot)
        self.day_axis = DayAxis()
        self.daily_plot = self.plots.addPlot(
            row=2, col=0, axisItems={"bottom": self.day_axis, "left": MoneyAxis()})
        self.daily_plot.setTitle("Net P&L per trading day")
        for plot in (self.equity_plot, self.drawdown_plot, self.daily_plot):
            plot.getAxis("left").setWidth(90)
        self.equity_curve = self.equity_plot.plot(pen=pg.mkPen("#f5a623", width=1.5))
        self.drawdown_curve = self.drawdown_plot.plot(pen=pg.mkPen(DOWN_HEX), fillLevel=0,
                                                      brush=pg.mkBrush(48, 164, 108, 90))
        self.daily_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.daily_plot.addItem(self.daily_bars)
        self.scatter_plot = pg.PlotWidget(axisItems={"bottom": MoneyAxis("bottom"),
                                                     "left": MoneyAxis()})
        self.scatter_plot.setBackground(PLOT_BACKGROUND)
        self.scatter_plot.setLabel("bottom", "MAE (money)")
        self.scatter_plot.setLabel("left", "MFE (money)")
        self.scatter = pg.ScatterPlotItem(size=9, pen=pg.mkPen("#ffffff", width=0.5))
        self.scatter_plot.addItem(self.scatter)
        self.scatter_note = QLabel("")
        scatter_panel = QWidget()
        scatter_layout = QVBoxLayout(scatter_panel)
        scatter_layout.setContentsMargins(0, 0, 0, 0)
        scatter_layout.addWidget(self.scatter_note)
        scatter_layout.addWidget(self.scatter_plot, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.summary_view, "Summary")
        self.tabs.addTab(self.plots, "Equity")
        for by, title in BREAKDOWN_TITLES.items():
            self.tabs.addTab(_sortable(self.breakdown_models[by]), title)
        self.trips_view = _sortable(self.trips_model)
        self.tabs.addTab(self.trips_view, "Round trips")
        self.tabs.addTab(scatter_panel, "MAE / MFE")

        bar = QHBoxLayout()
        for widget in (QLabel("From"), self.start_edit, QLabel("to"), self.end_edit,
                       *self.buttons.values()):
            bar.addWidget(widget)
        bar.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.notes)
        layout.addWidget(self.tabs, 1)
        self.show_range("today", refresh=False)
        self.start_edit.dateChanged.connect(self._range_changed)
        self.end_edit.dateChanged.connect(self._range_changed)

    # ------------------------------------------------------------------ the range
    def range(self) -> tuple[date, date]:
        return self.start_edit.date().toPython(), self.end_edit.date().toPython()

    def show_range(self, which: str, refresh: bool = True) -> None:
        """Today, this week (Monday on) or this month (the 1st on), to today's trading day."""
        today = self._today()
        start = {"today": today, "week": today - timedelta(days=today.weekday()),
                 "month": today.replace(day=1)}[which]
        for edit, day in ((self.start_edit, start), (self.end_edit, today)):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day))
            edit.blockSignals(False)
        if refresh:
            self.refresh()

    def _range_changed(self) -> None:
        start, end = self.range()
        if start <= end:
            self.refresh()
        else:
            self.status.setText(f"the range starts on {start} after it ends on {end}")

    # ------------------------------------------------------------------ loading
    def refresh(self) -> None:
        if self._job is not None:
            self._again = True
            return
        start, end = self.range()
        if start > end:
            self.status.setText(f"the range starts on {start} after it ends on {end}")
            return
        self.status.setText("reading the journal…")
        job = ThreadJob(lambda job: self._load(start, end, job.report), name="performance")
        job.succeeded.connect(self.show_result)
        job.failed.connect(self._failed)
        job.finished.connect(self._finished)
        self._job = job
        job.start(self.threads)

    def _failed(self, error: BaseException) -> None:
        self.status.setText(f"cannot read live performance: {error}")

    def _finished(self) -> None:
        self._job = None
        if self._again:
            self._again = False
            self.refresh()

    def apply(self, batch) -> None:
        """New trades while the range reaches today: refresh within a second (see above)."""
        if batch.trades and self.isVisible() and self.range()[1] >= self._today() \
                and not self.auto.isActive():
            self.auto.start()

    def shutdown(self) -> None:
        self.auto.stop()
        if self._job is not None:
            self._job.cancel()
        self.threads.waitForDone(5000)

    # ------------------------------------------------------------------ showing
    def show_result(self, perf: LivePerformance) -> None:
        self.result = perf
        self.status.setText(f"{len(perf.trips)} round trips closed on trading days "
                            f"{perf.start} to {perf.end} ({perf.fills} fills journalled)")
        self.notes.setText("\n".join(perf.notes))
        self.notes.setVisible(bool(perf.notes))
        self.summary_model.set_rows([(label, format_summary(key, perf.summary[key]))
                                     for key, (label, _) in SUMMARY_LABELS.items()])
        for by, model in self.breakdown_models.items():
            model.set_rows(breakdown_rows(perf.breakdowns[by]),
                           [Col(BREAKDOWN_TITLES[by].removeprefix("By ").capitalize()),
                            *BREAKDOWN_COLUMNS[1:]])
        self.trips_model.set_rows(trip_rows(perf))
        self.trips_view.resizeColumnsToContents()
        self.day_axis.days = [d.isoformat() for d in perf.days]
        x = np.arange(len(perf.equity) + 1, dtype=float)      # 0: before the first
        self.equity_curve.setData(x, np.asarray([0.0, *perf.equity]))
        self.drawdown_curve.setData(x, np.asarray([0.0, *perf.drawdown]))
        self.daily_bars.setOpts(x=np.arange(len(perf.daily), dtype=float), height=perf.daily,
                                brushes=[pg.mkBrush(UP_HEX if v > 0 else DOWN_HEX)
                                         for v in perf.daily])
        for plot in (self.equity_plot, self.daily_plot):
            plot.enableAutoRange()
        self._show_scatter(perf)

    def _show_scatter(self, perf: LivePerformance) -> None:
        with_bars = [t for t in perf.trips if t.excursion is not None]
        self.scatter.setData(
            [t.excursion.adverse for t in with_bars], [t.excursion.favourable for t in with_bars],
            brush=[pg.mkBrush(UP_HEX if t.net_pnl > 0 else DOWN_HEX) for t in with_bars])
        missing = len(perf.trips) - len(with_bars)
        self.scatter_note.setText(
            f"{len(with_bars)} round trips: a win in red, a loss in green"
            + (f"; {missing} without stored 1-minute bars are not shown" if missing else ""))


def runtime_loader(runtime) -> Loader:
    """Live performance from the runtime's journal file, market store and the connected
    gateways' contracts."""
    from terminal.services.performance import live_performance

    engine = runtime.kernel.main_engine
    return lambda start, end, progress: live_performance(
        runtime.journal.path, runtime.store, start, end, known=engine.get_contract,
        progress=progress)
