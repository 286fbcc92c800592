"""The chart: candles over a volume pane and indicator panes, one time axis of bar positions.

- X is the bar's index, so nights, lunch breaks and weekends leave no empty space.
- The mouse wheel and drag zoom and pan time only; the price axis fits what is visible.
  Keys: Left/Right pan, Up/Down zoom, Home/End jump to the first/last bar.
- A crosshair follows the mouse across every pane; the readout shows the bar under it.
- A live bar costs constant time: the columns are updated in place, and items repaint only
  the bars on screen. Indicators are recomputed over a tail long enough to be exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from terminal.market import indicators
from terminal.market.bar_series import BarSeries
from terminal.ui.chart.axis import TimeAxis
from terminal.ui.chart.items import (CandleItem, ChartGraphics, HistogramItem, LineItem,
                                     Pyramid, VolumeItem, visible_span)
from terminal.ui.theme import Theme
from terminal.ui.theme import current as current_theme

INITIAL_BARS = 200
LINE_COLORS = ("#f5a623", "#4a90e2", "#bd10e0", "#7ed321", "#50e3c2", "#b8e986", "#9013fe")
TAIL_MIN = 2000                 # bars recomputed for a live indicator value, at the least
TAIL_PER_PERIOD = 40            # ... and this many times its longest period (exact to 1e-17)
FIT_EXACT = 4096                # up to this many bars on screen, fit the axis on every bar
Y_PADDING = 0.05                # share of the value range left free above and below
# A live bar leaving the shown range re-fits it with this share of the range to spare on the
# side it left by: each re-fit redraws the axes and the whole pane (tens of ms under load),
# and a trending price, or a live bar's volume growing all minute, re-fitted at every tick.
PRICE_HEADROOM = 0.2
VOLUME_HEADROOM = 0.5


@dataclass
class Indicator:
    kind: str
    params: dict
    lines: dict[str, LineItem] = field(default_factory=dict)
    pane: pg.PlotItem | None = None        # its own pane, or None on the price/volume pane

    @property
    def label(self) -> str:
        return indicators.SPECS[self.kind].label(self.params)

    @property
    def tail(self) -> int:
        longest = max([int(v) for v in self.params.values()] + [1])
        return max(TAIL_MIN, TAIL_PER_PERIOD * longest)


class ChartWidget(QWidget):
    hovered = Signal(int)          # bar index under the mouse (-1 when none)
    bars_changed = Signal(bool)    # True: all bars replaced (set_history); False: a live bar

    def __init__(self, tz: ZoneInfo, parent=None) -> None:
        super().__init__(parent)
        self.tz = tz
        self.series = BarSeries()
        self.indicators: list[Indicator] = []
        self.daily = False
        self.readout = QLabel(" ")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        colors = current_theme().chart
        self.graphics = ChartGraphics()
        self.graphics.setBackground(colors.background)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.readout)
        layout.addWidget(self.graphics, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.price = self._pane(0, stretch=5)
        self.volume = self._pane(1, stretch=1)
        self.pyramid = Pyramid(self.series)
        self.candles = CandleItem(self.series, self.pyramid)
        self.volumes = VolumeItem(self.series, self.pyramid)
        self.price.addItem(self.candles)
        self.volume.addItem(self.volumes)
        self.last_line = pg.InfiniteLine(angle=0, movable=False,
                                         pen=pg.mkPen(colors.crosshair,
                                                      style=Qt.PenStyle.DotLine),
                                         label="{value:g}", labelOpts={
                                             "position": 0.98, "color": colors.label_text,
                                             "fill": pg.mkBrush(colors.label_fill)})
        self.last_line.hide()
        self.price.addItem(self.last_line, ignoreBounds=True)
        self.panes: list[pg.PlotItem] = [self.price, self.volume]
        self._bottom_axis()
        self._lines: dict[pg.PlotItem, tuple[pg.InfiniteLine, pg.InfiniteLine]] = {}
        for pane in self.panes:
            self._add_crosshair(pane)
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)
        self.price.getViewBox().sigXRangeChanged.connect(lambda *_: self.fit_y())

    # ------------------------------------------------------------------ panes
    def _pane(self, row: int, stretch: int) -> pg.PlotItem:
        axis = TimeAxis(self.series, self.tz, self.daily)
        pane = self.graphics.addPlot(row=row, col=0, axisItems={"bottom": axis})
        pane.setMouseEnabled(x=True, y=False)
        pane.enableAutoRange(x=False, y=False)
        pane.showGrid(x=False, y=False)
        pane.showAxis("right")
        pane.hideAxis("left")
        pane.getAxis("right").setWidth(70)
        # Ticks outside the plot: pyqtgraph's default (inward) makes each axis overlap the
        # plot's edge, so every live change there (the last price line, the newest bar)
        # repainted the axes too, a quarter of a live frame's cost.
        for side in ("right", "bottom"):
            pane.getAxis(side).setStyle(tickLength=5)
        pane.setMenuEnabled(False)
        pane.hideButtons()
        if row:
            pane.setXLink(self.price)
        self.graphics.ci.layout.setRowStretchFactor(row, stretch)
        return pane

    def _bottom_axis(self) -> None:
        for pane in self.panes:
            pane.showAxis("bottom", pane is self.panes[-1])

    def _add_crosshair(self, pane: pg.PlotItem) -> None:
        pen = pg.mkPen(current_theme().chart.crosshair, style=Qt.PenStyle.DashLine)
        vertical = pg.InfiniteLine(angle=90, movable=False, pen=pen)
        horizontal = pg.InfiniteLine(angle=0, movable=False, pen=pen)
        for line in (vertical, horizontal):
            line.setZValue(50)
            line.hide()
            pane.addItem(line, ignoreBounds=True)
        self._lines[pane] = (vertical, horizontal)

    def apply_theme(self, theme: Theme) -> None:
        """The theme's chart colours, live (candle colours stay: they read on both)."""
        colors = theme.chart
        self.graphics.setBackground(colors.background)
        for pane in self.panes:
            for name in ("right", "bottom"):
                axis = pane.getAxis(name)
                axis.setPen(pg.mkPen(colors.axis))
                axis.setTextPen(pg.mkPen(colors.axis))
        crosshair = pg.mkPen(colors.crosshair, style=Qt.PenStyle.DashLine)
        for lines in self._lines.values():
            for line in lines:
                line.setPen(crosshair)
        self.last_line.setPen(pg.mkPen(colors.crosshair, style=Qt.PenStyle.DotLine))
        self.last_line.label.setColor(colors.label_text)
        self.last_line.label.fill = pg.mkBrush(colors.label_fill)
        self.last_line.label.update()

    # ------------------------------------------------------------------ data
    def set_history(self, columns: dict[str, np.ndarray], daily: bool = False) -> None:
        """All bars at once: after a symbol or timeframe change."""
        self.daily = daily
        for pane in self.panes:
            pane.getAxis("bottom").daily = daily
        self.series.replace(columns)
        self.pyramid.reset()
        self.candles.reset()
        self.volumes.reset()
        for indicator in self.indicators:
            self._compute(indicator)
        self._mark_last()
        self.show_latest()
        self.bars_changed.emit(True)

    def put_bar(self, time_ns: int, values: dict[str, float]) -> str:
        """A live bar: the last one updated or a new one appended, in constant time."""
        following = self._following()
        outcome = self.series.put(time_ns, values)
        if outcome == "stale":
            return outcome
        index = len(self.series) - 1
        self.pyramid.changed(index)
        self.candles.bar_changed(index)
        self.volumes.bar_changed(index)
        self._mark_last()
        for indicator in self.indicators:
            self._compute_tail(indicator, appended=outcome == "appended")
        if outcome == "appended" and following:
            # The newest bar comes into view: the view slides one bar, or while it still
            # shows the first bar and is narrower than a first view, it widens instead.
            box = self.price.getViewBox()
            (left, right), _ = box.viewRange()
            widening = left < 0 and right + 1 - left <= INITIAL_BARS + 2.5
            box.setXRange(left if widening else left + 1, right + 1, padding=0)
        else:
            self.fit_y(live=True)
        self.bars_changed.emit(False)
        return outcome

    def _mark_last(self) -> None:
        """The last price as a line with its value on the price axis side (moved only when
        the price changed: moving the line and its label is most of a live update's cost)."""
        if len(self.series):
            value = float(self.series.column("close_price")[-1])
            if not self.last_line.isVisible():
                self.last_line.show()     # before the value: a hidden label is not updated
                self.last_line.setValue(value)
            elif value != self.last_line.value():
                self.last_line.setValue(value)
        else:
            self.last_line.hide()

    def _following(self) -> bool:
        (_, right), _ = self.price.getViewBox().viewRange()
        return right >= len(self.series) - 1

    # ------------------------------------------------------------------ indicators
    def add_indicator(self, kind: str, params: dict | None = None) -> Indicator:
        spec = indicators.SPECS[kind]
        indicator = Indicator(kind, spec.validate(params))
        if not spec.overlay and kind != "VOLMA":
            row = len(self.panes)
            indicator.pane = self._pane(row, stretch=2)
            self.panes.append(indicator.pane)
            self._add_crosshair(indicator.pane)
            self._bottom_axis()
        self.indicators.append(indicator)
        self._compute(indicator)
        self.fit_y()
        return indicator

    def remove_indicator(self, indicator: Indicator) -> None:
        host = self._host(indicator)
        for line in indicator.lines.values():
            host.removeItem(line)
        if indicator.pane is not None:
            self.graphics.removeItem(indicator.pane)
            self.panes.remove(indicator.pane)
            del self._lines[indicator.pane]
            self._relayout()
        self.indicators.remove(indicator)
        self.fit_y()

    def _relayout(self) -> None:
        for pane in self.panes[2:]:
            self.graphics.removeItem(pane)
        for row, pane in enumerate(self.panes[2:], start=2):
            self.graphics.addItem(pane, row=row, col=0)
            self.graphics.ci.layout.setRowStretchFactor(row, 2)
        self._bottom_axis()

    def _host(self, indicator: Indicator) -> pg.PlotItem:
        if indicator.pane is not None:
            return indicator.pane
        return self.volume if indicator.kind == "VOLMA" else self.price

    def _compute(self, indicator: Indicator) -> None:
        values = indicators.compute(indicator.kind, indicator.params, self.series.columns())
        host = self._host(indicator)
        for name, line_values in values.items():
            line = indicator.lines.get(name)
            if line is None:
                used = sum(len(i.lines) for i in self.indicators)
                line = HistogramItem(line_values) if name == "hist" else \
                    LineItem(line_values, LINE_COLORS[used % len(LINE_COLORS)])
                indicator.lines[name] = line
                host.addItem(line)
            else:
                line.set_values(line_values)

    def _compute_tail(self, indicator: Indicator, appended: bool) -> None:
        count = len(self.series)
        start = max(0, count - indicator.tail)
        columns = {k: v[start:] for k, v in self.series.columns().items()}
        values = indicators.compute(indicator.kind, indicator.params, columns)
        for name, tail in values.items():
            line = indicator.lines[name]
            if appended or len(line.values) != count:
                grown = np.full(count, np.nan)
                grown[:len(line.values)] = line.values[:count]
                line.values = grown
            line.values[count - 2 if count > 1 else 0:] = tail[-min(2, count):]
            line.set_values(line.values, changed_from=max(0, count - 2))

    # ------------------------------------------------------------------ view
    def show_latest(self, bars: int = INITIAL_BARS) -> None:
        count = len(self.series)
        self.price.getViewBox().setXRange(max(0, count - bars) - 0.5, count + 2, padding=0)
        self.fit_y()

    def fit_y(self, live: bool = False) -> None:
        """Each pane's value axis to what is visible. `live` (a live bar changed): a pane whose
        range still holds what is visible keeps it, so the axes are not redrawn every frame;
        a pan, a zoom or a new bar fits exactly."""
        count = len(self.series)
        if not count:
            return
        start, stop = visible_span(self.candles, count)
        if stop <= start:
            return
        if stop - start > FIT_EXACT:          # many bars: read merged blocks instead
            size = 1 << int(math.log2((stop - start) / FIT_EXACT * 2))
            level = self.pyramid.level(size)
            first, last = start // size, -(-stop // size)
            lows, highs = level["low"][first:last], level["high"][first:last]
            volumes = level["volume"][first:last]
        else:
            lows = self.series.column("low_price")[start:stop]
            highs = self.series.column("high_price")[start:stop]
            volumes = self.series.column("volume")[start:stop]
        low, high = float(lows.min()), float(highs.max())
        for indicator in self.indicators:
            if indicator.pane is None and indicator.kind != "VOLMA":
                for line in indicator.lines.values():
                    span = line.visible_range(start, stop)
                    if span:
                        low, high = min(low, span[0]), max(high, span[1])
        self._set_y(self.price, low, high, live, PRICE_HEADROOM)
        top = float(volumes.max())
        self._set_y(self.volume, 0.0, top, live, VOLUME_HEADROOM)
        for indicator in self.indicators:
            if indicator.pane is not None:
                spans = [s for s in (line.visible_range(start, stop)
                                     for line in indicator.lines.values()) if s]
                if spans:
                    self._set_y(indicator.pane, min(s[0] for s in spans),
                                max(s[1] for s in spans), live, PRICE_HEADROOM)

    @staticmethod
    def _set_y(pane: pg.PlotItem, low: float, high: float, live: bool = False,
               headroom: float = 0.0) -> None:
        if not (math.isfinite(low) and math.isfinite(high)):
            return
        if high <= low:
            high, low = high + 1, low - 1
        box = pane.getViewBox()
        shown_low, shown_high = box.viewRange()[1]
        if live:
            if shown_low <= low and high <= shown_high:
                return
            spare = (high - low) * headroom
            if high > shown_high:
                high += spare
            if low < shown_low:
                low -= spare
        pad = (high - low) * Y_PADDING
        if math.isclose(shown_low, low - pad, rel_tol=1e-12, abs_tol=1e-12) and \
                math.isclose(shown_high, high + pad, rel_tol=1e-12, abs_tol=1e-12):
            return                     # pyqtgraph redraws the axes even for the same range
        box.setYRange(low, high, padding=Y_PADDING)

    def keyPressEvent(self, event) -> None:
        box = self.price.getViewBox()
        (left, right), _ = box.viewRange()
        width = right - left
        key = event.key()
        if key == Qt.Key.Key_Left:
            box.setXRange(left - width / 10, right - width / 10, padding=0)
        elif key == Qt.Key.Key_Right:
            box.setXRange(left + width / 10, right + width / 10, padding=0)
        elif key == Qt.Key.Key_Up:                       # zoom in around the right edge
            box.setXRange(right - width / 1.5, right, padding=0)
        elif key == Qt.Key.Key_Down:
            box.setXRange(right - min(width * 1.5, len(self.series) + 10), right, padding=0)
        elif key == Qt.Key.Key_Home:
            box.setXRange(-0.5, width - 0.5, padding=0)
        elif key == Qt.Key.Key_End:
            self.show_latest(int(width))
        else:
            super().keyPressEvent(event)

    # ------------------------------------------------------------------ crosshair
    def _mouse_moved(self, position) -> None:
        under = next((p for p in self.panes if p.sceneBoundingRect().contains(position)), None)
        if under is None or not len(self.series):
            for vertical, horizontal in self._lines.values():
                vertical.hide()
                horizontal.hide()
            self.hovered.emit(-1)
            return
        point = under.getViewBox().mapSceneToView(position)
        index = round(point.x())
        index = min(max(index, 0), len(self.series) - 1)
        for pane, (vertical, horizontal) in self._lines.items():
            vertical.setPos(index)
            vertical.show()
            horizontal.setVisible(pane is under)
            if pane is under:
                horizontal.setPos(point.y())
        self.show_readout(index, point.y() if under is self.price else None)
        self.hovered.emit(index)

    def show_readout(self, index: int, price: float | None = None) -> None:
        s = self.series
        moment = datetime.fromtimestamp(s.times[index] / 1e9, self.tz)
        stamp = moment.strftime("%Y-%m-%d" if self.daily else "%Y-%m-%d %H:%M")
        text = (f"{stamp}   O {s.column('open_price')[index]:g}   "
                f"H {s.column('high_price')[index]:g}   L {s.column('low_price')[index]:g}   "
                f"C {s.column('close_price')[index]:g}   V {s.column('volume')[index]:g}")
        for indicator in self.indicators:
            parts = [f"{line.values[index]:.4g}" for line in indicator.lines.values()
                     if index < len(line.values) and math.isfinite(line.values[index])]
            if parts:
                text += f"   {indicator.label} {' / '.join(parts)}"
        if price is not None:
            text += f"   · cursor {price:.6g}"
        self.readout.setText(text)
