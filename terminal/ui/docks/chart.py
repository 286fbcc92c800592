"""A chart dock: one symbol at one timeframe, history from the store, live bars from the
gateway, and the trader's own orders, fills and position on it.

Live bars come from `LiveBars` (built on the event thread from every tick). For timeframes
above a minute the dock keeps the last 1-minute bars and rebuilds the latest timeframe bars
from them with the session rules, so a live 30-minute bar is exactly what the history will
show once it is stored.

Live bars are drawn at most `LIVE_DRAWS_PER_SECOND` times a second: a symbol quoting
hundreds of times a second would otherwise repaint its chart on every GUI frame, several
milliseconds each (the soak benchmark's two charts took a third of the GUI thread at 20 a
second, and the loop lag target was missed on a slower day). CTP quotes a contract twice a
second, so a real feed never asks for more. Nothing is lost: the bars are built from every
tick on the event thread, and the latest state is drawn at the next tick of the chart's own
clock (`ui.pacing`), which is offset from every other paced view's, so several busy charts
and tables draw and paint in turns rather than in one long stall of the GUI thread.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QThreadPool, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QInputDialog, QLabel, QMenu,
                               QToolButton, QVBoxLayout, QWidget)
from vnpy.trader.constant import Direction, Exchange
from vnpy.trader.object import BarData

from terminal.core.bridge import Batch
from terminal.market import indicators
from terminal.market.bar_positions import NS_PER_MINUTE, BarPositions
from terminal.market.bar_series import FIELDS, BarSeries
from terminal.market.resample import DAILY, ResampleError, resample
from terminal.services.chart_history import CHART_TIMEFRAMES, TAIL_MINUTES, ChartHistory
from terminal.storage.market_store import StoreError
from terminal.core.timezone import to_ns
from terminal.ui.chart.alert_lines import AlertLines
from terminal.ui.chart.drawing_layer import DrawingLayer
from terminal.ui.chart.drawing_toolbar import DrawingToolbar
from terminal.ui.chart.drawing_tools import DrawingTools, pricetick_of
from terminal.ui.chart.order_lines import ChartOrders
from terminal.ui.chart.volume_profile import MinuteSource, VolumeProfile, price_tick
from terminal.ui.chart.widget import ChartWidget
from terminal.ui.chart_services import ChartServices
from terminal.ui.chart_templates import TemplatesMenu
from terminal.ui.thread_jobs import ThreadJob
from terminal.ui.pacing import Pacer
from terminal.ui.theme import Theme
from terminal.ui.theme import current as current_theme
from terminal.ui.theme import restyle
from terminal.core.symbols import BadSymbol, canonical_vt_symbol, split_vt_symbol, vt_symbol_of
from terminal.core.link_groups import LinkError
from terminal.ui.links import LinkButton
from terminal.ui.colours import DOWN, ERROR_TEXT_STYLE, MUTED_HEX, UP, WARNING_HEX

log = logging.getLogger(__name__)

LIVE_DRAWS_PER_SECOND = 10
TIMEFRAME_LABELS = {"1m": "1 min", "5m": "5 min", "15m": "15 min", "30m": "30 min",
                    "1h": "1 hour", "4h": "4 hours", "d": "1 day"}


def bar_values(bar: BarData) -> dict[str, float]:
    return {name: getattr(bar, name) for name in FIELDS}


class ChartDock(QWidget):
    title_changed = Signal(str)
    symbol_chosen = Signal(str)     # by the trader in the symbol box: for its link group

    def __init__(self, services: ChartServices, vt_symbol: str = "", timeframe: str = "1m",
                 parent=None) -> None:
        """Everything the chart owns is made here from `services` (ui.chart_services)."""
        super().__init__(parent)
        self.services = services
        self.store = store = services.store
        # Where history comes from: the store, else the gateway, else the datafeed.
        self.sources = services.sources()
        self.history_source = ""             # where the shown bars came from ("" the store)
        self.drawings = services.drawings   # every symbol's; the chart shows its symbol's book
        self.trading = services.trading
        self.live = services.live
        self.vt_symbol = ""
        self.timeframe = timeframe
        self._since = 0
        self._pending: tuple[str, int] | None = None     # (symbol, live position) loading
        self._tail = BarSeries()
        self._fills: list[tuple[int, float, bool]] = []      # (ns, price, bought)
        self._fills_drawn_for = -1                           # bars when they were drawn
        # Live bars are drawn on this chart's own clock, in turn with other views (ui.pacing).
        self.live_draws = Pacer(self._draw_live, LIVE_DRAWS_PER_SECOND, self)
        self.last_error = ""
        self.loading = False
        self._requests = 0
        self._closed = False

        self.symbol_box = QComboBox()
        self.symbol_box.setEditable(True)
        self.symbol_box.setMinimumContentsLength(14)
        self.timeframe_box = QComboBox()
        for frame in CHART_TIMEFRAMES:
            self.timeframe_box.addItem(TIMEFRAME_LABELS[frame], frame)
        self.indicator_button = QToolButton()
        self.indicator_button.setText("Indicators")
        self.indicator_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.indicator_menu = QMenu(self)
        self.indicator_menu.aboutToShow.connect(self._fill_indicator_menu)
        self.indicator_button.setMenu(self.indicator_menu)
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_TEXT_STYLE)
        self.link_button = LinkButton(self)
        self.chart = ChartWidget(store.tz)
        self.fills = pg.ScatterPlotItem(
            size=11, pen=pg.mkPen(current_theme().chart.marker_outline, width=0.5))
        self.fills.setZValue(20)
        self.chart.price.addItem(self.fills)
        self.drawing_layer = DrawingLayer(BarPositions(self.chart.series, NS_PER_MINUTE, False,
                                                       store.tz))
        self.chart.price.addItem(self.drawing_layer, ignoreBounds=True)
        self.drawing_tools = DrawingTools(self.chart, self.drawing_layer,
                                          lambda: pricetick_of(self.trading, self.vt_symbol), self,
                                          overrides=services.shortcuts)
        self.drawing_tools.notice.connect(lambda text: self._note(text, WARNING_HEX))
        self.drawing_toolbar = DrawingToolbar(self.drawing_tools, self)
        self.profile = VolumeProfile(self.chart, lambda: price_tick(
            self.trading.contract(self.vt_symbol), self.vt_symbol, self.chart.series),
            LIVE_DRAWS_PER_SECOND, self, MinuteSource(
                store, lambda: (self.vt_symbol, self.timeframe), lambda: self._tail))
        # Level lines and bells of the price alerts; Indicators → Templates.
        self.alert_lines = (None if services.price_alerts is None
                            else AlertLines(self, services.price_alerts))
        self.templates_menu = (None if services.templates is None
                               else TemplatesMenu(services.templates, self, services.status))
        # Orders, managed orders and the position as lines to drag and cancel; the order menu.
        self.orders = ChartOrders(self, services.managed, services.order_templates,
                                  busy=lambda: bool(self.drawing_tools.tool))

        bar = QHBoxLayout()
        bar.addWidget(self.link_button)
        bar.addWidget(self.symbol_box)
        bar.addWidget(self.timeframe_box)
        bar.addWidget(self.indicator_button)
        bar.addWidget(self.message, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.drawing_toolbar)
        layout.addWidget(self.chart, 1)

        self.symbol_box.lineEdit().returnPressed.connect(self._choose_symbol)
        self.symbol_box.activated.connect(lambda _: self._choose_symbol())
        self.timeframe_box.currentIndexChanged.connect(
            lambda _: self.load(self.vt_symbol, self.timeframe_box.currentData()))
        self.chart.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.set_symbols(services.symbols())
        restyle(self)
        if vt_symbol:
            self.load(vt_symbol, timeframe)

    # ------------------------------------------------------------------ what is shown
    def set_symbols(self, symbols: list[str]) -> None:
        stored = {f"{s.symbol}.{s.exchange.value}" for s in self.store.series()
                  if s.interval != "tick"}
        current = self.symbol_box.currentText()
        self.symbol_box.blockSignals(True)
        self.symbol_box.clear()
        self.symbol_box.addItems(sorted(set(symbols) | stored))
        self.symbol_box.setEditText(current)
        self.symbol_box.blockSignals(False)

    def load(self, vt_symbol: str, timeframe: str) -> bool:
        """Show `vt_symbol` at `timeframe`: history from the store, then live bars. The history
        is read and resampled on a worker thread (years of minutes take a few hundred ms) and
        shown when it arrives; a newer request makes an older one's answer void."""
        try:
            symbol, exchange = split_vt_symbol(vt_symbol)
        except BadSymbol as exc:
            return self._fail(str(exc))
        vt_symbol = vt_symbol_of(symbol, exchange)
        self._requests += 1
        request = self._requests
        self.loading = True
        self._note(f"loading {vt_symbol} {TIMEFRAME_LABELS[timeframe]}…", MUTED_HEX)
        # Live bars are kept from before the history is asked for, so a minute that ends
        # while it loads is in one or the other (both: the chart takes the newer), never lost.
        self._unwatch_pending()
        self._pending = (vt_symbol, self.live.watch(vt_symbol))
        sources = self.sources
        job = ThreadJob(lambda job: sources.history(symbol, Exchange(exchange), timeframe),
                  name=f"chart history {vt_symbol} {timeframe}")
        job.succeeded.connect(lambda result: self._loaded(request, vt_symbol, timeframe, result))
        job.failed.connect(lambda exc: self._load_failed(request, vt_symbol, timeframe, exc))
        job.start(QThreadPool.globalInstance())
        return True

    def _choose_symbol(self) -> None:
        """The trader's choice in the symbol box: loaded, and announced to the link group."""
        text = self.symbol_box.currentText()
        if self.load(text, self.timeframe):
            self.symbol_chosen.emit(canonical_vt_symbol(text))

    def link_symbol(self, vt_symbol: str) -> None:
        """Show `vt_symbol`, chosen in another window of this chart's link group."""
        if self.loading or vt_symbol != self.vt_symbol:
            self.load(vt_symbol, self.timeframe)

    def _load_failed(self, request: int, vt_symbol: str, timeframe: str,
                     exc: Exception) -> None:
        if request == self._requests and not self._closed:
            self.loading = False
            self._unwatch_pending()
            if not isinstance(exc, (StoreError, ResampleError, OSError)):
                log.error("chart history of %s failed", vt_symbol, exc_info=exc)
            self._fail(f"cannot load {vt_symbol} {timeframe}: {exc}")

    def _loaded(self, request: int, vt_symbol: str, timeframe: str,
                history: ChartHistory) -> None:
        bars, tail = history.bars, history.tail
        if request != self._requests or self._closed:
            return                               # asked for something else, or closed
        self.loading = False
        if self.vt_symbol:
            self.live.unwatch(self.vt_symbol)
        self.vt_symbol, self.timeframe = vt_symbol, timeframe
        _, self._since = self._pending
        self._pending = None
        self._tail.replace(tail)
        self.chart.set_history(bars, daily=timeframe == DAILY)
        self.drawing_layer.show(None if self.drawings is None else self.drawings.book(vt_symbol),
                                timeframe)
        self.symbol_box.setEditText(vt_symbol)
        self.timeframe_box.blockSignals(True)
        self.timeframe_box.setCurrentIndex(self.timeframe_box.findData(timeframe))
        self.timeframe_box.blockSignals(False)
        self.history_source = history.source
        # Where the bars came from: amber, as bars not from the store (simulated ones above
        # all) are not what a backtest of the store would see.
        self._note(history.source if len(bars["datetime"]) else
                   "no history in the store"
                   + "".join(f"; {problem}" for problem in history.problems)
                   + " (nor from a gateway or datafeed): live bars only", WARNING_HEX)
        self._fills = [(to_ns(t.datetime), t.price, t.direction == Direction.LONG)
                       for t in self.trading.main_engine.get_all_trades()
                       if t.vt_symbol == vt_symbol]
        self._draw_fills()
        self.title_changed.emit(f"{vt_symbol} {TIMEFRAME_LABELS[timeframe]}"
                                + (f" · {history.source}" if history.source else ""))

    def _note(self, text: str, color: str) -> None:
        """A message that is not an error (where the bars came from, loading)."""
        self.message.setStyleSheet(f"color: {color}")
        self.message.setText(text)

    def _fail(self, message: str) -> bool:
        self.message.setStyleSheet(ERROR_TEXT_STYLE)
        self.message.setText(message)
        self.last_error = message
        log.warning("chart: %s", message)
        return False

    def state(self) -> dict:
        return {"symbol": self.vt_symbol, "timeframe": self.timeframe,
                "indicators": [{"kind": i.kind, "params": i.params}
                               for i in self.chart.indicators],
                "link": self.link_button.group,
                "volume_profile": self.profile.state()}

    def restore(self, state: dict) -> None:
        for item in state.get("indicators", []):
            try:
                self.chart.add_indicator(item["kind"], item.get("params"))
            except (KeyError, ValueError, TypeError) as exc:
                self._fail(f"indicator {item!r} left out: {exc}")
        try:
            self.link_button.choose(state.get("link", ""))
        except LinkError as exc:
            self._fail(f"not linked: {exc}")
        try:
            self.profile.restore(state.get("volume_profile"))
        except ValueError as exc:
            self._fail(f"volume profile left off: {exc}")

    def _unwatch_pending(self) -> None:
        """The live bars kept for a load that will not be shown (a newer one, a failure)."""
        if self._pending is not None:
            self.live.unwatch(self._pending[0])
            self._pending = None

    def close_chart(self) -> None:
        self._closed = True
        self.live_draws.cancel()
        self.drawing_layer.set_book(None)      # no longer told of the book's changes
        self._unwatch_pending()
        self.drawing_tools.close()
        self.profile.close()
        if self.vt_symbol:
            self.live.unwatch(self.vt_symbol)
            self.vt_symbol = ""

    # ------------------------------------------------------------------ indicators
    def _fill_indicator_menu(self) -> None:
        menu = self.indicator_menu
        menu.clear()
        add = menu.addMenu("Add")
        for kind, spec in indicators.SPECS.items():
            add.addAction(f"{spec.name} ({kind})", lambda kind=kind: self.add_indicator(kind))
        self.profile.fill_menu(menu.addMenu("Volume profile"))
        for indicator in list(self.chart.indicators):
            sub = menu.addMenu(indicator.label)
            sub.addAction("Settings…", lambda i=indicator: self.configure(i))
            sub.addAction("Remove", lambda i=indicator: self.chart.remove_indicator(i))
        if self.templates_menu is not None:
            menu.addSeparator()
            menu.addMenu(self.templates_menu)

    def add_indicator(self, kind: str, params: dict | None = None):
        try:
            return self.chart.add_indicator(kind, params)
        except ValueError as exc:
            self._fail(str(exc))
            return None

    def configure(self, indicator) -> None:
        """Ask for each parameter in turn; a bad value is refused with its reason."""
        spec = indicators.SPECS[indicator.kind]
        params = dict(indicator.params)
        for param in spec.params:
            if param.is_integer:
                value, ok = QInputDialog.getInt(self, spec.name, param.label,
                                                int(params[param.name]), int(param.minimum),
                                                int(param.maximum))
            else:
                value, ok = QInputDialog.getDouble(self, spec.name, param.label,
                                                   float(params[param.name]), param.minimum,
                                                   param.maximum, 2)
            if not ok:
                return
            params[param.name] = value
        self.reconfigure(indicator, params)

    def reconfigure(self, indicator, params: dict) -> None:
        position = self.chart.indicators.index(indicator)
        try:
            indicators.SPECS[indicator.kind].validate(params)
        except ValueError as exc:
            self._fail(str(exc))
            return
        self.chart.remove_indicator(indicator)
        added = self.chart.add_indicator(indicator.kind, params)
        self.chart.indicators.remove(added)
        self.chart.indicators.insert(position, added)

    # ------------------------------------------------------------------ live
    def apply(self, batch: Batch) -> None:
        if not self.vt_symbol:
            return
        if self.vt_symbol in batch.ticks:
            self.live_draws.request()
        for trade in batch.trades:
            if trade.vt_symbol == self.vt_symbol:
                self._fills.append((to_ns(trade.datetime), trade.price,
                                    trade.direction == Direction.LONG))
                self._draw_fills()
        self.orders.apply(batch)
        if self.alert_lines is not None:
            self.alert_lines.apply(batch)

    def _draw_live(self) -> None:
        if self.vt_symbol and not self._closed:
            self._live_bars()
            self.drawing_layer.bars_changed()
            self.orders.paced()

    def _live_bars(self) -> None:
        finished, self._since, current = self.live.take(self.vt_symbol, self._since)
        minutes = [*finished, *([current] if current else [])]
        if not minutes:
            return
        if self.timeframe == "1m":
            for bar in minutes:
                self.chart.put_bar(to_ns(bar.datetime), bar_values(bar))
            self._fills_moved()
            return
        for bar in minutes:
            self._tail.put(to_ns(bar.datetime), bar_values(bar))
        if len(self._tail) > 2 * TAIL_MINUTES:
            self._tail.replace({k: v[-TAIL_MINUTES:] for k, v in self._tail.columns().items()})
        first_live = to_ns(minutes[0].datetime)
        symbol, exchange = split_vt_symbol(self.vt_symbol)
        rebuilt = resample(self._tail.columns(), "1m", self.timeframe, symbol, exchange,
                           self.store.tz)
        times = rebuilt["datetime"]
        chart_last = self.chart.series.times[-1] if len(self.chart.series) else -1
        # The bars the new minutes fall into: from the one holding the first new minute on.
        start = max(0, int(np.searchsorted(times, first_live, "right")) - 1)
        for index in range(start, len(times)):
            if times[index] >= chart_last:
                self.chart.put_bar(int(times[index]),
                                   {name: float(rebuilt[name][index]) for name in FIELDS
                                    if name in rebuilt})
        self._fills_moved()

    def _fills_moved(self) -> None:
        """After live bars: the fill markers are placed by bar position, which only a new bar
        can change; redrawn then (every frame before, with nothing to move)."""
        if self._fills and len(self.chart.series) != self._fills_drawn_for:
            self._draw_fills()

    # ------------------------------------------------------------------ orders, fills, position
    def _draw_fills(self) -> None:
        series = self.chart.series
        self._fills_drawn_for = len(series)
        if not self._fills or not len(series):
            self.fills.setData([])
            return
        spots = []
        for time_ns, price, bought in self._fills:
            index = series.index_at_or_before(time_ns)
            if index < 0:
                continue
            spots.append({"pos": (index, price), "symbol": "t1" if bought else "t",
                          "brush": pg.mkBrush(UP if bought else DOWN)})
        self.fills.setData(spots)

    def apply_theme(self, theme: Theme) -> None:
        """The chart's own lines and markers in the theme's colours (the chart widget
        restyles itself)."""
        colors = theme.chart
        self.fills.setPen(pg.mkPen(colors.marker_outline, width=0.5))
        self.orders.apply_theme()

    # ------------------------------------------------------------------ orders from the chart
    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.RightButton or not self.vt_symbol:
            return
        position = event.scenePos()
        if not self.chart.price.sceneBoundingRect().contains(position):
            return
        price = self.chart.price.getViewBox().mapSceneToView(position).y()
        menu = self.orders.entry.menu(price)
        menu.popup(event.screenPos().toPoint())
        self._menu = menu
