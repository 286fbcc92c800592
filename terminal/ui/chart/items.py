"""Chart items that draw only what is on screen, so their cost follows the chart's width in
pixels, not the length of the history.

When more than one bar falls on a pixel, bars are merged per pixel column first (highest high,
lowest low, first open, last close; the largest volume), so a million bars draw as a few
thousand. Paths are built from numpy arrays in one call (`pg.arrayToQPath`), never one Qt
object per bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainterPath, QRegion
from PySide6.QtWidgets import QWidget

from terminal.market.bar_series import BarSeries
from terminal.ui.colours import DOWN, UP

BODY_MIN_PIXELS = 3.0           # narrower than this, bars are drawn as lines


def visible_span(item: pg.GraphicsObject, count: int) -> tuple[int, int]:
    """First and past-the-last index of the bars inside the view (one bar of margin)."""
    box = item.getViewBox()
    if box is None or count == 0:
        return 0, count
    (left, right), _ = box.viewRange()
    # pyqtgraph's range may hold numpy floats, whose floor is not an int on every numpy
    start = max(0, int(math.floor(left)) - 1)  # noqa: RUF046
    stop = min(count, int(math.ceil(right)) + 2)  # noqa: RUF046
    return start, max(start, stop)


def exposed_span(option, start: int, stop: int) -> tuple[int, int]:
    """[start, stop) narrowed to the bars in the part of the item being repainted (a live
    bar repaints its own column only), with one bar of margin."""
    exposed = getattr(option, "exposedRect", None)
    if exposed is None or exposed.isEmpty():
        return start, stop
    first = max(start, math.floor(exposed.left()) - 1)
    last = min(stop, math.ceil(exposed.right()) + 2)
    return (first, last) if last > first else (start, start)


class _Painting:
    """The viewport being painted and the parts of it a paint covers (set by `ChartGraphics`).

    Qt hands each item only the bounding rect of everything to repaint: for a live update,
    the last price line across the whole width plus the last bar's column in every pane, so
    most of the chart. The actual parts are a handful of thin rects; drawing only the bars
    inside them is what keeps a live frame cheap."""

    def __init__(self) -> None:
        self.viewport: QWidget | None = None
        self.rects: list[QRectF] = []


PAINTING = _Painting()
MAX_RECTS = 16                  # a region in more pieces than this: draw the bounding rect


class ChartGraphics(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        # Nothing is drawn antialiased (pyqtgraph's default), so Qt need not grow every
        # repainted rect by two pixels: grown, the last price line's strip reached into the
        # price axis, which then repainted at every live update.
        self.setOptimizationFlag(self.OptimizationFlag.DontAdjustForAntialiasing, True)

    def paintEvent(self, event) -> None:
        region: QRegion = event.region()
        PAINTING.viewport = self.viewport()
        PAINTING.rects = [QRectF(rect.adjusted(-1, -1, 1, 1)) for rect in region] \
            if region.rectCount() <= MAX_RECTS else []
        try:
            super().paintEvent(event)
        finally:
            PAINTING.viewport, PAINTING.rects = None, []


def repainted(item: pg.GraphicsObject, widget, start: int, low: np.ndarray,
              high: np.ndarray) -> np.ndarray | None:
    """Which of the bars start, start + 1, ... (spanning `low` to `high`) lie in the parts
    of the viewport being repainted (with a bar of margin); None: draw them all."""
    if widget is None or PAINTING.viewport is not widget or not PAINTING.rects:
        return None
    view = item.getViewWidget()
    if view is None:
        return None
    inverse, invertible = item.deviceTransform(view.viewportTransform()).inverted()
    if not invertible:
        return None
    x = np.arange(start, start + len(low), dtype=float)
    keep = np.zeros(len(low), dtype=bool)
    for rect in PAINTING.rects:
        part = inverse.mapRect(rect)
        bottom, top = sorted((part.top(), part.bottom()))
        keep |= (x >= part.left() - 1) & (x <= part.right() + 1) & (high >= bottom) & \
            (low <= top)
    return keep


def bar_column(item: pg.GraphicsObject, index: int, low: float, high: float,
               top: float, bottom: float) -> QRectF:
    """What to repaint when bar `index` changed: its strip from `low` to `high` with a bar of
    margin each side (for the pens); zoomed out, where the bar is merged with its neighbours
    into one drawn block, the few pixel columns around it over the item's whole height
    (`bottom` to `top`)."""
    per_pixel = bars_per_pixel(item)
    if per_pixel >= 2.0:
        margin = 2.0 * per_pixel + 1.0
        return QRectF(index - margin, bottom, 2.0 * margin, max(top - bottom, 1e-9))
    return QRectF(index - 1.0, low, 2.0, max(high - low, 1e-9))


def bars_per_pixel(item: pg.GraphicsObject) -> float:
    width = item.pixelWidth()
    return width if width and math.isfinite(width) else 0.0


def merged(starts: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray,
           close: np.ndarray) -> tuple[np.ndarray, ...]:
    """Bars merged at `starts` (indices into the arrays)."""
    ends = np.r_[starts[1:], len(open_)] - 1
    return (open_[starts], np.maximum.reduceat(high, starts), np.minimum.reduceat(low, starts),
            close[ends])


class Pyramid:
    """The series merged in fixed blocks of 2, 4, 8, ... bars, for drawing zoomed out: with a
    million bars on screen the merge per pixel then reads a few thousand blocks, not a million
    bars. A changed bar invalidates only the blocks from it on, rebuilt when next drawn."""

    def __init__(self, series: BarSeries) -> None:
        self.series = series
        self._levels: dict[int, dict[str, np.ndarray]] = {}
        self._valid: dict[int, int] = {}           # blocks still right, per block size

    def reset(self) -> None:
        self._levels.clear()
        self._valid.clear()

    def changed(self, index: int) -> None:
        for size in self._valid:
            self._valid[size] = min(self._valid[size], index // size)

    def level(self, size: int) -> dict[str, np.ndarray]:
        count = len(self.series)
        blocks = -(-count // size)
        level = self._levels.get(size)
        valid = self._valid.get(size, 0)
        if level is None or len(level["open"]) < blocks:
            grown = {k: np.zeros(max(blocks, 2 * len(level["open"]) if level else blocks))
                     for k in ("open", "high", "low", "close", "volume")}
            if level is not None:
                for name, values in level.items():
                    grown[name][:valid] = values[:valid]
            level = self._levels[size] = grown
        if valid < blocks:
            first = valid * size
            s = self.series
            starts = np.arange(0, count - first, size)
            open_, high, low, close = merged(
                starts, s.column("open_price")[first:], s.column("high_price")[first:],
                s.column("low_price")[first:], s.column("close_price")[first:])
            for name, values in (("open", open_), ("high", high), ("low", low),
                                 ("close", close)):
                level[name][valid:blocks] = values
            level["volume"][valid:blocks] = np.maximum.reduceat(
                s.column("volume")[first:], starts)
            self._valid[size] = blocks
        return {name: values[:blocks] for name, values in level.items()}


def zoomed_out(pyramid: Pyramid, start: int, stop: int, per_pixel: float
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Centre positions and merged values of the blocks covering [start, stop), about one
    block a pixel."""
    size = 1 << max(1, int(math.log2(per_pixel)))
    level = pyramid.level(size)
    first, last = start // size, -(-stop // size)
    part = {name: values[first:last] for name, values in level.items()}
    step = max(1, int(per_pixel / size))
    x = np.arange(first, last, dtype=float) * size + (size - 1) / 2
    if step > 1:
        starts = np.arange(0, len(x), step)
        open_, high, low, close = merged(starts, part["open"], part["high"], part["low"],
                                         part["close"])
        part = {"open": open_, "high": high, "low": low, "close": close,
                "volume": np.maximum.reduceat(part["volume"], starts)}
        x = x[starts] + (step - 1) * size / 2
    return x, part


_SERIES_COLUMNS = {"open": "open_price", "high": "high_price", "low": "low_price",
                   "close": "close_price", "volume": "volume"}   # the pyramid's names first


def bars_to_paint(item, option, widget, names: tuple[str, ...],
                  extent: Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]
                  ) -> tuple[float, np.ndarray, dict[str, np.ndarray]] | None:
    """What a bar item (with `series` and `pyramid`) paints now: bars a pixel, centre
    positions and values by the pyramid's names (at least `names`); None: no bar in view.
    Several bars a pixel: the pyramid's merged blocks; else the exposed bars, less those
    outside the parts being repainted (`extent` gives their low and high from their values)."""
    start, stop = visible_span(item, len(item.series))
    if stop <= start:
        return None
    per_pixel = bars_per_pixel(item)
    if per_pixel >= 2.0:                  # several bars a pixel: merged blocks
        x, bars = zoomed_out(item.pyramid, start, stop, per_pixel)
        return per_pixel, x, bars
    start, stop = exposed_span(option, start, stop)
    bars = {name: item.series.column(_SERIES_COLUMNS[name])[start:stop] for name in names}
    x = np.arange(start, stop, dtype=float)
    keep = repainted(item, widget, start, *extent(bars))
    if keep is not None:
        x, bars = x[keep], {name: values[keep] for name, values in bars.items()}
    return per_pixel, x, bars


def _rects(left: np.ndarray, width: float, y0: np.ndarray, y1: np.ndarray) -> list[QRectF]:
    """Rectangles for `QPainter.drawRects`: filling one path of many rectangles costs Qt
    some fifty times more than drawing them as rectangles (a few hundred on screen at most,
    since bodies are drawn only when a bar is at least three pixels wide)."""
    bottom = np.minimum(y0, y1)
    height = np.abs(y1 - y0)
    return list(map(QRectF, left.tolist(), bottom.tolist(), [width] * len(left),
                    height.tolist()))


def _segment_path(x: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> QPainterPath:
    if len(x) == 0:
        return QPainterPath()
    return pg.arrayToQPath(np.repeat(x, 2), np.stack([y0, y1], axis=1).ravel(),
                           connect="pairs")


class CandleItem(pg.GraphicsObject):
    def __init__(self, series: BarSeries, pyramid: Pyramid) -> None:
        super().__init__()
        self.series = series
        self.pyramid = pyramid
        self._low = math.inf
        self._high = -math.inf
        self._count = 0                   # bars the bounding rect was made for
        self._changed = (-1, 0.0, 0.0)    # the bar last changed in place: index, low, high
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)   # exposedRect
        self._pens = {True: pg.mkPen(UP), False: pg.mkPen(DOWN)}
        self._brushes = {True: pg.mkBrush(UP), False: pg.mkBrush(DOWN)}

    def reset(self) -> None:
        """After the whole series changed."""
        self.prepareGeometryChange()
        if len(self.series):
            self._low = float(np.min(self.series.column("low_price")))
            self._high = float(np.max(self.series.column("high_price")))
        else:
            self._low, self._high = math.inf, -math.inf
        self._count = len(self.series)
        self._changed = (-1, 0.0, 0.0)
        self.update()

    def bar_changed(self, index: int) -> None:
        """After one bar was added or changed: constant time. Only where that bar was and is
        now is repainted unless the item's extent changed (a live bar updated in place, the
        common case, repainted the whole pane every frame before)."""
        low = float(self.series.column("low_price")[index])
        high = float(self.series.column("high_price")[index])
        count = len(self.series)
        before, self._changed = self._changed, (index, low, high)
        if low < self._low or high > self._high or count != self._count:
            self.prepareGeometryChange()
            self._low, self._high = min(self._low, low), max(self._high, high)
            self._count = count
            self.update()
        elif before[0] == index:
            self.update(bar_column(self, index, min(low, before[1]), max(high, before[2]),
                                   self._high, self._low))
        else:
            self.update(bar_column(self, index, self._low, self._high, self._high, self._low))

    def boundingRect(self) -> QRectF:
        if not len(self.series) or not math.isfinite(self._low):
            return QRectF()
        return QRectF(-1, self._low, len(self.series) + 1, max(self._high - self._low, 1e-9))

    def paint(self, painter, option, widget=None) -> None:
        painted = bars_to_paint(self, option, widget, ("open", "high", "low", "close"),
                                lambda bars: (bars["low"], bars["high"]))
        if painted is None:
            return
        per_pixel, x, bars = painted
        open_, high, low, close = bars["open"], bars["high"], bars["low"], bars["close"]
        rising = close >= open_
        if per_pixel and 1.0 / per_pixel >= BODY_MIN_PIXELS:
            half = 0.35
            for up in (True, False):
                mask = rising == up
                if not mask.any():      # (drawRects of no rects crashes the binding)
                    continue
                painter.setPen(self._pens[up])
                painter.drawPath(_segment_path(x[mask], low[mask], high[mask]))
                painter.setBrush(self._brushes[up])
                painter.drawRects(_rects(x[mask] - half, 2 * half, open_[mask], close[mask]))
        else:
            for up in (True, False):
                mask = rising == up
                if not mask.any():
                    continue
                painter.setPen(self._pens[up])
                painter.drawPath(_segment_path(x[mask], low[mask], high[mask]))


class VolumeItem(pg.GraphicsObject):
    def __init__(self, series: BarSeries, pyramid: Pyramid) -> None:
        super().__init__()
        self.series = series
        self.pyramid = pyramid
        self._top = 0.0
        self._count = 0
        self._changed = (-1, 0.0)         # the bar last changed in place: index, volume
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self._pens = {True: pg.mkPen(UP), False: pg.mkPen(DOWN)}
        self._brushes = {True: pg.mkBrush(UP), False: pg.mkBrush(DOWN)}

    def reset(self) -> None:
        self.prepareGeometryChange()
        volume = self.series.column("volume")
        self._top = float(volume.max()) if len(volume) else 0.0
        self._count = len(volume)
        self._changed = (-1, 0.0)
        self.update()

    def bar_changed(self, index: int) -> None:
        """As `CandleItem.bar_changed`: the bar's column only, unless the extent changed."""
        value = float(self.series.column("volume")[index])
        count = len(self.series)
        before, self._changed = self._changed, (index, value)
        if value > self._top or count != self._count:
            self.prepareGeometryChange()
            self._top = max(self._top, value)
            self._count = count
            self.update()
        else:
            top = max(value, before[1]) if before[0] == index else self._top
            self.update(bar_column(self, index, 0.0, top, max(self._top, 1.0), 0.0))

    def boundingRect(self) -> QRectF:
        if not len(self.series):
            return QRectF()
        return QRectF(-1, 0, len(self.series) + 1, max(self._top, 1.0))

    def paint(self, painter, option, widget=None) -> None:
        painted = bars_to_paint(self, option, widget, ("open", "close", "volume"),
                                lambda bars: (np.zeros(len(bars["volume"])), bars["volume"]))
        if painted is None:
            return
        per_pixel, x, bars = painted
        volume, rising = bars["volume"], bars["close"] >= bars["open"]
        zero = np.zeros(len(volume))
        wide = per_pixel and 1.0 / per_pixel >= BODY_MIN_PIXELS
        for up in (True, False):
            mask = rising == up
            if not mask.any():          # (drawRects of no rects crashes the binding)
                continue
            painter.setPen(self._pens[up])
            if wide:
                painter.setBrush(self._brushes[up])
                painter.drawRects(_rects(x[mask] - 0.35, 0.7, zero[mask], volume[mask]))
            else:
                painter.drawPath(_segment_path(x[mask], zero[mask], volume[mask]))


class LineItem(pg.GraphicsObject):
    """An indicator line over bar positions; NaN leaves a gap."""

    def __init__(self, values: np.ndarray, color: str, width: float = 1.0) -> None:
        super().__init__()
        self.values = values
        self._pen = pg.mkPen(color, width=width)
        self._low, self._high = self._range(values)

    @staticmethod
    def _range(values: np.ndarray) -> tuple[float, float]:
        finite = values[np.isfinite(values)]
        return (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)

    def set_values(self, values: np.ndarray, changed_from: int | None = None) -> None:
        """New values; `changed_from` says only the tail from that index changed."""
        self.prepareGeometryChange()
        self.values = values
        if changed_from is None:
            self._low, self._high = self._range(values)
        else:
            low, high = self._range(values[changed_from:])
            self._low, self._high = min(self._low, low), max(self._high, high)
        self.update()

    def visible_range(self, start: int, stop: int) -> tuple[float, float] | None:
        """Lowest and highest value on screen (sampled when there are many: for fitting the
        axis, not for reading values)."""
        step = max(1, (stop - start) // 4096)
        part = self.values[start:stop:step]
        part = part[np.isfinite(part)]
        return (float(part.min()), float(part.max())) if len(part) else None

    def boundingRect(self) -> QRectF:
        return QRectF(-1, self._low, len(self.values) + 1, max(self._high - self._low, 1e-9))

    def paint(self, painter, option, widget=None) -> None:
        start, stop = visible_span(self, len(self.values))
        if stop - start < 2:
            return
        per_pixel = bars_per_pixel(self)
        step = int(per_pixel / 2) if per_pixel > 2.0 else 1   # two points a pixel at most
        y = self.values[start:stop:step]
        x = np.arange(start, stop, step, dtype=float)
        painter.setPen(self._pen)
        painter.drawPath(pg.arrayToQPath(x, y, connect="finite"))


class HistogramItem(LineItem):
    """Bars from zero (MACD's histogram), red above and green below."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__(values, UP.name())
        self._pens = {True: pg.mkPen(UP), False: pg.mkPen(DOWN)}

    def visible_range(self, start: int, stop: int) -> tuple[float, float] | None:
        span = super().visible_range(start, stop)
        return (min(span[0], 0.0), max(span[1], 0.0)) if span else None

    def paint(self, painter, option, widget=None) -> None:
        start, stop = visible_span(self, len(self.values))
        if stop <= start:
            return
        per_pixel = bars_per_pixel(self)
        step = int(per_pixel) if per_pixel > 1.0 else 1       # one bar a pixel: sampled
        y = self.values[start:stop:step]
        x = np.arange(start, stop, step, dtype=float)
        finite = np.isfinite(y)
        for up in (True, False):
            mask = finite & ((y >= 0) == up)
            painter.setPen(self._pens[up])
            painter.drawPath(_segment_path(x[mask], np.zeros(int(mask.sum())), y[mask]))
