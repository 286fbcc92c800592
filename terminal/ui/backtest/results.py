"""One run's results: statistics, equity and drawdown, daily P&L and its histogram, the fills
and the fills on a candle chart.

The view shows a `RunResult` (terminal.backtest.pool_jobs): the data a run sends back when it
finishes and the data the run store gives back when it is reopened are the same frames, so a
run looks the same either way. Statistics are vn.py's (`calculate_statistics`) followed by the
LEAN ones (`backtest.stats`), labelled and written as `stats.format_value` writes them.
"""

from __future__ import annotations

import html
import math
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QTableView, QTabWidget, QVBoxLayout, QWidget)
from vnpy.trader.constant import Direction, Offset

from terminal.backtest.pool_jobs import RUN_NOTES, RunResult
from terminal.backtest.runs import RunRecord
from terminal.backtest.stats import EXTRA_LABELS, LABELS, VNPY_LABELS, format_value
from terminal.ui.backtest.axes import DayAxis, MoneyAxis
from terminal.ui.backtest.models import Col, RowsModel
from terminal.ui.backtest.montecarlo import MonteCarloPanel, ReportExport
from terminal.ui.chart.widget import ChartWidget
from terminal.ui.labels import DIRECTION, OFFSET, label
from terminal.ui.colours import DOWN_HEX, ERROR_TEXT_STYLE, PLOT_BACKGROUND, UP_HEX



def make_table(model: RowsModel, sortable: bool = False) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().lineSpacing() + 4)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.horizontalHeader().setStretchLastSection(True)
    view.setSortingEnabled(sortable)
    return view


def statistic_rows(stats: dict) -> tuple[list[tuple], list[int]]:
    """(label, value text, key) rows in two sections, and the rows that are section titles."""
    rows: list[tuple] = []
    titles: list[int] = []
    sections = (("vn.py", VNPY_LABELS), ("LEAN and more", EXTRA_LABELS))
    for title, labels in sections:
        present = [key for key in labels if key in stats]
        if not present:
            continue
        titles.append(len(rows))
        rows.append((title, "", ""))
        rows.extend((labels[key][0], format_value(key, stats[key]), key) for key in present)
    others = [key for key in stats if key not in LABELS]
    if others:
        titles.append(len(rows))
        rows.append(("Other", "", ""))
        rows += [(key, format_value(key, stats[key]), key) for key in others]
    return rows, titles


def _day_text(value: Any) -> str:
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _enum_label(enum: type, table: dict, value: Any) -> str:
    """A stored enum value ("多", "开") as the terminal writes it ("Long", "Open")."""
    try:
        return label(table, enum(value))
    except ValueError:
        return "" if value is None else str(value)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if frame is None or frame.empty or name not in frame.columns:
        return np.zeros(0)
    return frame[name].to_numpy(dtype=float)


class ResultsView(QWidget):
    def __init__(self, tz: ZoneInfo, parent=None) -> None:
        super().__init__(parent)
        self.tz = tz
        self.result: RunResult | None = None
        self.record: RunRecord | None = None
        self.title = QLabel("No run shown: run a backtest, or open one from History")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_TEXT_STYLE)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()

        self.stats_model = RowsModel([Col("Statistic"), Col("Value", numeric=True)], self)
        self.stats_view = make_table(self.stats_model)
        self.stats_view.setColumnWidth(0, 330)

        self.equity_plots = pg.GraphicsLayoutWidget()
        self.equity_plots.setBackground(PLOT_BACKGROUND)
        self.equity_axis, self.drawdown_axis = DayAxis(), DayAxis()
        self.equity_plot = self.equity_plots.addPlot(
            row=0, col=0, axisItems={"bottom": self.equity_axis, "left": MoneyAxis()})
        self.equity_plot.setTitle("Balance")
        self.drawdown_plot = self.equity_plots.addPlot(
            row=1, col=0, axisItems={"bottom": self.drawdown_axis, "left": MoneyAxis()})
        self.drawdown_plot.setTitle("Drawdown")
        self.drawdown_plot.setXLink(self.equity_plot)
        for plot in (self.equity_plot, self.drawdown_plot):
            plot.getAxis("left").setWidth(90)
        self.equity_plots.ci.layout.setRowStretchFactor(0, 3)
        self.equity_plots.ci.layout.setRowStretchFactor(1, 2)
        self.equity_curve = self.equity_plot.plot(pen=pg.mkPen("#f5a623", width=1.5))
        self.drawdown_curve = self.drawdown_plot.plot(pen=pg.mkPen(DOWN_HEX), fillLevel=0,
                                                      brush=pg.mkBrush(48, 164, 108, 90))

        self.pnl_plots = pg.GraphicsLayoutWidget()
        self.pnl_plots.setBackground(PLOT_BACKGROUND)
        self.pnl_axis = DayAxis()
        self.pnl_plot = self.pnl_plots.addPlot(
            row=0, col=0, axisItems={"bottom": self.pnl_axis, "left": MoneyAxis()})
        self.pnl_plot.setTitle("Net P&L per day")
        self.histogram_plot = self.pnl_plots.addPlot(
            row=1, col=0, axisItems={"bottom": MoneyAxis("bottom")})
        self.histogram_plot.setTitle("Distribution of daily net P&L")
        self.histogram_plot.setLabel("left", "days")
        self.pnl_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.pnl_plot.addItem(self.pnl_bars)
        self.histogram_bars = pg.BarGraphItem(x=[], height=[], width=1, brush="#4a90e2")
        self.histogram_plot.addItem(self.histogram_bars)
        self.histogram: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))

        self.trades_model = RowsModel(self._trade_columns(), self)
        self.trades_view = make_table(self.trades_model, sortable=True)

        self.chart = ChartWidget(tz)
        self.fills = pg.ScatterPlotItem(size=11, pen=pg.mkPen("#ffffff", width=0.5))
        self.fills.setZValue(20)
        self.chart.price.addItem(self.fills)
        self._fill_times = np.zeros(0, np.int64)       # ns since the epoch, -1 when unknown
        self._fill_prices = np.zeros(0)
        self._fill_long = np.zeros(0, bool)
        self.chart_note = QLabel("")
        self.candle_box = QComboBox()       # a tick run's candles: built from its ticks
        self.candle_box.setToolTip("The length of the candles built from the run's ticks")
        self.candle_box.currentIndexChanged.connect(self._candles_chosen)
        self.candle_box.hide()
        chart_bar = QHBoxLayout()
        chart_bar.addWidget(self.chart_note, 1)
        chart_bar.addWidget(self.candle_box)
        chart_panel = QWidget()
        chart_layout = QVBoxLayout(chart_panel)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addLayout(chart_bar)
        chart_layout.addWidget(self.chart, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.stats_view, "Statistics")
        self.tabs.addTab(self.equity_plots, "Equity")
        self.tabs.addTab(self.pnl_plots, "Daily P&L")
        self.tabs.addTab(self.trades_view, "Trades")
        self.tabs.addTab(chart_panel, "Chart")
        self.monte_carlo = MonteCarloPanel()
        self.tabs.addTab(self.monte_carlo, "Monte Carlo")
        self.report_export = ReportExport(self, self.monte_carlo)
        self.tabs.setCornerWidget(self.report_export)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.error_label)
        layout.addWidget(self.tabs, 1)

    @staticmethod
    def _trade_columns() -> list[Col]:
        def side(value: Any):
            return {"Long": UP_BRUSH, "Short": DOWN_BRUSH}.get(value)

        return [Col("Time"), Col("Direction", color=side), Col("Offset"),
                Col("Price", lambda v: f"{v:,.6g}", numeric=True),
                Col("Volume", lambda v: f"{v:,.6g}", numeric=True), Col("Trade"), Col("Order")]

    # ------------------------------------------------------------------ showing a run
    def show_run(self, result: RunResult | None, record: RunRecord | None = None,
                 error: str = "") -> None:
        """Show a run (its record says what was run); `error` for a run that failed."""
        self.result, self.record = result, record
        self.title.setText(describe(record) if record is not None else "")
        error = error or (record.error if record is not None else "")
        self.error_label.setText(error.strip()[-2000:])
        self.error_label.setVisible(bool(error))
        result = result or RunResult()
        rows, titles = statistic_rows(result.stats)
        self.stats_model.set_rows([row[:2] for row in rows], bold=titles,
                                  tooltips=[row[2] for row in rows])
        self._show_daily(result.daily)
        self._show_trades(result.trades)
        self._show_chart(result, record)
        self.monte_carlo.set_run(record, result if record is not None else None)

    def _show_daily(self, daily: pd.DataFrame) -> None:
        days = [_day_text(day) for day in (daily.index if daily is not None else [])]
        for axis in (self.equity_axis, self.drawdown_axis, self.pnl_axis):
            axis.days = days
        x = np.arange(len(days), dtype=float)
        balance = _column(daily, "balance")
        drawdown = _column(daily, "drawdown")
        pnl = _column(daily, "net_pnl")
        self.equity_curve.setData(x[:len(balance)], balance)
        self.drawdown_curve.setData(x[:len(drawdown)], drawdown)
        brushes = [pg.mkBrush(UP_HEX if value >= 0 else DOWN_HEX) for value in pnl]
        self.pnl_bars.setOpts(x=x[:len(pnl)], height=pnl, width=0.8, brushes=brushes)
        finite = pnl[np.isfinite(pnl)]
        if len(finite):
            bins = int(min(40, max(5, round(math.sqrt(len(finite))) * 2)))
            counts, edges = np.histogram(finite, bins=bins)
            centres = (edges[:-1] + edges[1:]) / 2
            width = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
            self.histogram = (counts, edges)
            self.histogram_bars.setOpts(x=centres, height=counts, width=width or 1.0)
        else:
            self.histogram = (np.zeros(0), np.zeros(0))
            self.histogram_bars.setOpts(x=[], height=[], width=1)
        for plot in (self.equity_plot, self.drawdown_plot, self.pnl_plot, self.histogram_plot):
            plot.enableAutoRange()

    def _show_trades(self, trades: pd.DataFrame) -> None:
        """The fills as rows, built column by column (thousands of fills cost milliseconds)."""
        if trades is None or trades.empty:
            self._fill_times, self._fill_long = np.zeros(0, np.int64), np.zeros(0, bool)
            self._fill_prices = np.zeros(0)
            self.trades_model.set_rows([])
            return
        count = len(trades)
        times = self._times(trades["datetime"]) if "datetime" in trades.columns else None
        if times is not None:
            stamps = times.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("").tolist()
            self._fill_times = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(
                dtype="datetime64[ns]").astype(np.int64)
            self._fill_times[times.isna().to_numpy()] = -1
        else:
            stamps, self._fill_times = [""] * count, np.full(count, -1, np.int64)
        directions = self._labels(trades, "direction", Direction, DIRECTION)
        offsets = self._labels(trades, "offset", Offset, OFFSET)
        prices = self._numbers(trades, "price")
        volumes = self._numbers(trades, "volume")
        self._fill_prices = np.asarray(prices, float)
        self._fill_long = np.array([d == "Long" for d in directions], bool)
        tradeids = self._texts(trades, "tradeid")
        orderids = self._texts(trades, "orderid")
        self.trades_model.set_rows(list(zip(stamps, directions, offsets, prices, volumes,
                                            tradeids, orderids, strict=True)))

    def _times(self, column: pd.Series) -> pd.Series:
        times = pd.to_datetime(column)
        if times.dt.tz is None:
            times = times.dt.tz_localize(self.tz)       # naive: China local, as vn.py has it
        return times.dt.tz_convert(self.tz)

    @staticmethod
    def _labels(trades: pd.DataFrame, name: str, enum: type, table: dict) -> list[str]:
        if name not in trades.columns:
            return [""] * len(trades)
        column = trades[name]
        names = {value: _enum_label(enum, table, value) for value in column.unique()}
        return [names[value] for value in column.tolist()]

    @staticmethod
    def _numbers(trades: pd.DataFrame, name: str) -> list[float]:
        if name not in trades.columns:
            return [math.nan] * len(trades)
        return trades[name].astype(float).tolist()

    @staticmethod
    def _texts(trades: pd.DataFrame, name: str) -> list[str]:
        if name not in trades.columns:
            return [""] * len(trades)
        return ["" if value is None else str(value) for value in trades[name].tolist()]

    def _show_chart(self, result: RunResult, record: RunRecord | None) -> None:
        interval = record.interval if record is not None else ""
        self.candle_box.blockSignals(True)
        self.candle_box.clear()
        for length in result.candles:
            self.candle_box.addItem(length, length)
        self.candle_box.blockSignals(False)
        self.candle_box.setVisible(bool(result.candles))
        if result.candles:
            self._draw_candles(result.candles[self.candle_box.currentData()], False,
                               self._tick_note(result))
        else:
            self._draw_candles(result.bars, interval in ("d", "w"),
                               "No candles: no bars in the store for the period"
                               if result.stats else "")

    def _candles_chosen(self, *_) -> None:
        result = self.result
        length = self.candle_box.currentData()
        if result is not None and length in result.candles:
            self._draw_candles(result.candles[length], False, self._tick_note(result))

    def _tick_note(self, result: RunResult) -> str:
        length = self.candle_box.currentData() or ""
        return (f"A tick run: {length} candles built from its ticks, the fills on them"
                if result.candles.get(length) is not None
                and len(result.candles[length]["datetime"])
                else "No candles: the run's ticks are no longer in the store")

    def _draw_candles(self, bars: dict | None, daily: bool, empty_note: str) -> None:
        """The candles and each fill on the one that holds its time; `empty_note` says why
        there are none, or (for a tick run) where its candles come from."""
        empty = not bars or not len(bars.get("datetime", ()))
        note = empty_note if empty or not self.candle_box.isHidden() else ""
        self.chart_note.setText(note)
        self.chart_note.setVisible(bool(note))
        if empty:
            self.chart.set_history({"datetime": np.zeros(0, np.int64)})
            self.fills.setData([])
            return
        self.chart.set_history(bars, daily=daily)
        # each fill on the bar that holds its time, as the chart dock draws the trader's fills
        index = np.searchsorted(self.chart.series.times, self._fill_times, "right") - 1
        shown = (index >= 0) & (self._fill_times >= 0)
        bought = self._fill_long[shown]
        self.fills.setData(
            x=index[shown].astype(float), y=self._fill_prices[shown],
            symbol=np.where(bought, "t1", "t").tolist(),
            brush=[UP_BRUSH if b else DOWN_BRUSH for b in bought])

    # ------------------------------------------------------------------ for tests
    def snapshot(self) -> dict:
        """What is on screen, as plain data."""
        x_fills, y_fills = self.fills.getData()
        return {
            "title": self.title.text(),
            "error": self.error_label.text(),
            "statistics": self.stats_model.texts(),
            "trades": self.trades_model.texts(),
            "balance": list(self.equity_curve.getData()[1] if self.equity_curve.getData()[1]
                            is not None else []),
            "drawdown": list(self.drawdown_curve.getData()[1]
                             if self.drawdown_curve.getData()[1] is not None else []),
            "days": list(self.equity_axis.days),
            "histogram": [list(part) for part in self.histogram],
            "bars": len(self.chart.series),
            "candles": self.candle_box.currentData() or "",
            "chart_note": self.chart_note.text(),
            "fills": list(zip(list(x_fills), list(y_fills), strict=True)),
        }


UP_BRUSH = pg.mkBrush(UP_HEX)
DOWN_BRUSH = pg.mkBrush(DOWN_HEX)


def describe(record: RunRecord) -> str:
    """One line on what a run was."""
    params = ", ".join(f"{k}={v}" for k, v in record.params.items())
    period = f"{_day_text(record.start)} to {_day_text(record.end)}"
    settings = record.settings
    costs = (f"capital {settings.get('capital', 0):,.0f}, rate {settings.get('rate', 0):g}, "
             f"slippage {settings.get('slippage', 0):g}, size {settings.get('size', 0):g}, "
             f"tick {settings.get('pricetick', 0):g}")
    line = (f"<b>{record.strategy}</b> on <b>{record.vt_symbol}</b> {record.interval}, "
            f"{period} ({params or 'default parameters'}) — {costs} — run {record.run_id}, "
            f"{record.status}")
    bars, warmup = (record.stats.get(key) for key in RUN_NOTES)
    if isinstance(bars, str) and bars:          # kept with the run (pool_jobs.run_notes)
        line += "<br>Bars: " + html.escape(bars, quote=False)
    if isinstance(warmup, str) and warmup:      # what the strategy's load_bar actually got
        line += "<br>" + html.escape(warmup[:1].upper() + warmup[1:], quote=False)
    return line
