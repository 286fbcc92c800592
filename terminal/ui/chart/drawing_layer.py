"""One item on the price pane that paints all of a symbol's drawings.

Anchors are time and price; the chart's X is the bar index. Each anchor's X is mapped once
(`BarPositions`) and cached in one array for all drawings; a new live bar re-maps only the
anchors at or after the previous last bar (only those can move) and repaints nothing when none
of them moved; a new history or a change of the book re-maps all (a few thousand numbers,
vectorised). The lines of every drawing are numpy rows (`drawing_segments`): bounded shapes
made once per mapping, lines to the edge of the view cut at each paint. A paint culls in one
pass what is outside the part being repainted, maps the rest to pixels with the view's
transform and strokes one path per style in pixels (Qt strokes a path under a scaling transform
several times slower), so labels, handles, badges and dashes keep their size at any zoom. A
repaint that changes nothing in the drawings (a live tick under a still view) copies them from
a picture (`PictureCache`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QStaticText

from terminal.market.bar_positions import NS_PER_DAY, NS_PER_MINUTE, BarPositions
from terminal.market.drawings import Anchor, Drawing, DrawingBook, Style
from terminal.market.resample import DAILY, minutes_of
from terminal.ui.chart import drawing_segments
from terminal.ui.chart.drawing_segments import Layout
from terminal.ui.chart.drawing_shapes import (bell_point, fib_lines, near,
                                               paint_bell, paint_handles, paint_lock_badge,
                                               shape_segments)
from terminal.ui.chart.items import PAINTING
from terminal.ui.chart.picture_cache import PictureCache

DASH_STYLES = {"solid": Qt.PenStyle.SolidLine, "dash": Qt.PenStyle.DashLine,
               "dot": Qt.PenStyle.DotLine}
SELECTED_WIDTH = 1.5         # added to the pen of the selected drawing
LABEL_REACH = (280.0, 80.0)  # pixels a note or label reaches past its drawing's anchors
LABEL_GAP_PIXELS = 12.0      # fib levels closer than this are drawn without their labels
NOTE_WIDTH = 260.0           # pixels a long note's text wraps at
NOTE_WRAP = 40               # characters: a longer note wraps
TEXT_CACHE = 4000            # laid-out texts kept
THIN_ABOVE = 300             # more drawings on screen: their dashed lines one pixel wide
RECTANGLE_ALPHA, NOTE_ALPHA, SELECTED_NOTE_ALPHA = 40, 35, 60   # of a drawing's colour
NOTE_HIT_PIXELS = 48.0       # a note's text is hit this far from its anchor at most
CUT_MARGIN = 12.0            # pixels past the view a line to its edge is cut at (wide pens)
# Kinds whose shape reaches past their anchors along X (culled by Y only, or not at all).
UNBOUNDED_X = {"ray", "extended", "hline", "hray"}
UNBOUNDED_Y = {"ray", "extended", "vline"}
UNBOUNDED = UNBOUNDED_X | UNBOUNDED_Y      # drawn to the edge of the view: cut at each paint
Frame = tuple[float, float, float, float]  # view to pixels: x * sx + dx, y * sy + dy


class DrawingLayer(pg.GraphicsObject):
    """Paints the book's drawings on the chart of `series` (add to the price pane with
    ignoreBounds=True). `select`/`set_bells`/`set_preview` are set by the tools and alerts;
    `hit` and `anchor_at` answer them in view coordinates (bar index, price)."""

    def __init__(self, positions: BarPositions) -> None:
        super().__init__()
        self.positions = positions
        self.book: DrawingBook | None = None
        self._unlisten: Callable[[], None] = lambda: None
        self._drawings: list[Drawing] = []
        self._starts = np.zeros(1, np.int64)       # first anchor of each drawing, and the end
        self._times = np.zeros(0, np.int64)        # every anchor's time, drawing by drawing
        self._prices = np.zeros(0)
        self._x = np.zeros(0)
        self._by_time = np.zeros(0, np.int64)      # anchor order by time (for live re-maps)
        self._bars = 0                             # bars when the X were mapped
        self._last_time = 0                        # the last bar's start then
        self._selected: str | None = None
        self._bells: set[str] = set()
        self._preview: Drawing | None = None
        self._rect: QRectF | None = None
        self._kinds: list[str] = []
        self._boxes_cache: np.ndarray | None = None
        self._segments_cache: tuple[np.ndarray, np.ndarray] | None = None
        self.version = 0                           # counts the changes of what is painted
        self._picture = PictureCache()
        # per drawing, made when the book changes: its place, its style's number, and what
        # it has besides lines
        self._index: dict[str, int] = {}
        self._layout = Layout()
        self._styles: list[Style] = []
        self._style_of = np.zeros(0, np.int64)
        self._unbounded = np.zeros(0, bool)
        self._filled = np.zeros(0, bool)
        self._labelled = np.zeros(0, bool)
        self._plain_label = np.zeros(0, bool)     # a fib's labels or a note, and nothing more
        self._fib_gap = np.zeros(0)               # a fib's closest levels (in level units)
        self._lines = np.zeros(0, np.int64)        # the rays and extended lines
        self._line_is_ray = np.zeros(0, bool)
        self._pen_cache: dict[tuple[Style, bool], QPen] = {}
        self._colours: dict[str, tuple[QColor, QColor]] = {}
        self._texts: dict[tuple[str, float], QStaticText] = {}
        self._fib_texts: dict[int, list[tuple[float, QStaticText]]] = {}
        self._note_looks: dict[int, tuple[QStaticText, float, float, QColor, QColor]] = {}
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)   # exposedRect
        self.setZValue(30)
        self._font = QFont()
        self._font.setPointSizeF(8.5)
        # alike drawn straight and in the picture (no subpixel colours on a transparent one)
        self._font.setStyleStrategy(QFont.StyleStrategy.NoSubpixelAntialias)

    # ------------------------------------------------------------------ what is shown
    def show(self, book: DrawingBook | None, timeframe: str) -> None:
        """After the chart loaded a symbol at a timeframe: that symbol's book, mapped at
        that timeframe's bars."""
        self.positions.daily = timeframe == DAILY
        self.positions.bar_ns = NS_PER_DAY if timeframe == DAILY \
            else minutes_of(timeframe) * NS_PER_MINUTE
        if book is not self.book:
            self.set_book(book)
        else:
            self.remap()

    def set_book(self, book: DrawingBook | None) -> None:
        """Show `book`'s drawings (None: none), following its changes."""
        self._unlisten()
        self.book = book
        self._unlisten = book.listen(lambda _symbol: self.reload()) if book is not None \
            else (lambda: None)
        self._selected = None
        self._preview = None
        self.reload()

    def reload(self) -> None:
        """The book changed: take its drawings and map them all."""
        self._drawings = self.book.drawings() if self.book is not None else []
        if self._selected is not None and self.book is not None \
                and self._selected not in self.book:
            self._selected = None
        self._kinds = kinds = [d.kind for d in self._drawings]
        count = len(self._drawings)
        self._index = {d.id: i for i, d in enumerate(self._drawings)}
        numbers: dict[Style, int] = {}
        self._style_of = np.fromiter((numbers.setdefault(d.style, len(numbers))
                                      for d in self._drawings), np.int64, count)
        self._styles = list(numbers)
        self._unbounded = np.fromiter((k in UNBOUNDED for k in kinds), bool, count)
        self._filled = np.fromiter((k == "rectangle" for k in kinds), bool, count)
        self._labelled = np.fromiter((d.kind in ("fib", "text") or bool(d.text) or d.locked
                                      for d in self._drawings), bool, count)
        self._plain_label = np.fromiter((d.kind in ("fib", "text") and not d.locked
                                         for d in self._drawings), bool, count)
        levels = {i: d.fib_levels for i, d in enumerate(self._drawings) if d.kind == "fib"}
        self._fib_gap = np.full(count, np.inf)
        for index, values in levels.items():
            if len(values) > 1:
                self._fib_gap[index] = float(np.diff(sorted(values)).min())
        self._lines = np.flatnonzero(np.fromiter((k in ("ray", "extended") for k in kinds),
                                                 bool, count))
        self._line_is_ray = np.fromiter((kinds[i] == "ray" for i in self._lines), bool,
                                        len(self._lines))
        self._fib_texts, self._note_looks = {}, {}
        counts = [len(d.anchors) for d in self._drawings]
        self._starts = np.r_[0, np.cumsum(counts)].astype(np.int64)
        self._layout = Layout.of(kinds, self._starts, levels)
        anchors = [a for d in self._drawings for a in d.anchors]
        self._times = np.fromiter((a.time_ns for a in anchors), np.int64, len(anchors))
        self._prices = np.fromiter((a.price for a in anchors), np.float64, len(anchors))
        self._by_time = np.argsort(self._times, kind="stable")
        self.remap()

    def remap(self) -> None:
        """The whole history changed (a symbol or timeframe loaded): map every anchor."""
        self._x = self.positions.x_of(self._times)
        self._mapped()

    def bars_changed(self) -> None:
        """After a live bar: a bar updated in place moves nothing; a new bar moves only the
        anchors at or after the previous last bar's start, and only those whose X changed
        (a time past the new bar's start) are a reason to repaint."""
        series = self.positions.series
        if len(series) == self._bars:
            return
        if not self._bars or len(series) < self._bars:
            self.remap()
            return
        first = int(np.searchsorted(self._times[self._by_time], self._last_time, "left"))
        moving = self._by_time[first:]
        if len(moving):
            moved = self.positions.x_of(self._times[moving])
            if not np.array_equal(moved, self._x[moving], equal_nan=True):
                self._x[moving] = moved
                self._boxes_cache = self._segments_cache = None
                self._changed()
        self._note_bars()

    def _mapped(self) -> None:
        self._boxes_cache = self._segments_cache = None
        self._note_bars()
        self._changed()

    def _changed(self) -> None:
        """What is painted changed: the picture is no longer it."""
        self.version += 1
        self._picture.clear()
        self.update()

    def _note_bars(self) -> None:
        times = self.positions.series.times
        self._bars = len(times)
        self._last_time = int(times[-1]) if len(times) else 0

    def select(self, drawing_id: str | None) -> None:
        if drawing_id != self._selected:
            self._selected = drawing_id
            self._changed()

    @property
    def selected(self) -> str | None:
        return self._selected

    def set_bells(self, ids: set[str]) -> None:
        """The drawings that carry a price alert (a bell is drawn on each)."""
        if set(ids) != self._bells:
            self._bells = set(ids)
            self._changed()

    def set_preview(self, drawing: Drawing | None) -> None:
        """Paint `drawing` too (one being placed, or being dragged: then instead of the
        book's version of it); None removes it. Maps its own anchors only. The preview is
        painted over the others at each paint: a drag leaves their picture as it is."""
        if (drawing and drawing.id) != (self._preview and self._preview.id):
            self.version += 1                  # the dragged drawing leaves the picture
            self._picture.clear()
        self._preview = drawing
        self.update()

    def x_of(self, time_ns: int) -> float:
        """The chart X a time maps to, as drawings are painted."""
        return float(self.positions.x_of(np.array([time_ns], np.int64))[0])

    def anchor_at(self, view_x: float, view_y: float) -> Anchor:
        """The anchor at a point of the view: X inside the history is rounded to the nearest
        bar and gives that bar's start time; X before the first or past the last bar gives a
        time extrapolated by the timeframe's bar length (business days on daily bars), kept
        fractional, so it maps back to the same X. Y is the price as is."""
        return Anchor(self.positions.time_of(view_x), float(view_y))

    # ------------------------------------------------------------------ geometry
    def _shown(self, near: np.ndarray | None = None) -> list[tuple[Drawing, np.ndarray,
                                                                      np.ndarray]]:
        """(drawing, anchor X, anchor prices) of what is painted, preview included (of the
        book's drawings only those marked in `near`, when given)."""
        preview = self._preview
        shown = []
        indices = range(len(self._drawings)) if near is None else np.flatnonzero(near).tolist()
        for index in indices:
            drawing = self._drawings[index]
            if preview is not None and drawing.id == preview.id:
                continue
            part = slice(self._starts[index], self._starts[index + 1])
            shown.append((drawing, self._x[part], self._prices[part]))
        if preview is not None:
            times = np.array([a.time_ns for a in preview.anchors], np.int64)
            shown.append((preview, self.positions.x_of(times),
                          np.array([a.price for a in preview.anchors])))
        return shown

    def _boxes(self) -> np.ndarray:
        """Each drawing's extent in view coordinates: rows of x0, x1, y0, y1 (infinite where
        the shape goes on), vectorised over all anchors; kept until the X are mapped again."""
        if self._boxes_cache is None:
            self._boxes_cache = self._extents()
        return self._boxes_cache

    def _segments(self) -> tuple[np.ndarray, np.ndarray]:
        """The lines of every bounded drawing in view coordinates, as rows of x0, y0, x1,
        y1, and the drawing each belongs to; kept until the X are mapped again."""
        if self._segments_cache is None:
            self._segments_cache = drawing_segments.bounded(self._layout, self._x,
                                                            self._prices)
        return self._segments_cache

    def _extents(self) -> np.ndarray:
        count = len(self._drawings)
        if not count:
            return np.zeros((0, 4))
        starts = self._starts[:-1]
        boxes = np.empty((count, 4))
        boxes[:, 0] = np.minimum.reduceat(self._x, starts)
        boxes[:, 1] = np.maximum.reduceat(self._x, starts)
        boxes[:, 2] = np.minimum.reduceat(self._prices, starts)
        boxes[:, 3] = np.maximum.reduceat(self._prices, starts)
        kinds = self._kinds
        for column, unbounded in ((0, UNBOUNDED_X), (2, UNBOUNDED_Y)):
            mask = np.fromiter((k in unbounded for k in kinds), bool, count)
            boxes[mask, column], boxes[mask, column + 1] = -np.inf, np.inf
        channel = np.fromiter((k == "channel" for k in kinds), bool, count)
        if channel.any():      # the parallel line lies beyond the third anchor
            boxes[channel, 2], boxes[channel, 3] = -np.inf, np.inf
        return boxes            # a note reaches past its anchor by a label's margin (paint)

    # ------------------------------------------------------------------ Qt item
    def viewTransformChanged(self) -> None:
        self._rect = None
        self.prepareGeometryChange()

    def viewRangeChanged(self) -> None:
        self._rect = None
        self.prepareGeometryChange()

    def boundingRect(self) -> QRectF:
        if self._rect is None:
            box = self.getViewBox()
            self._rect = box.viewRect() if box is not None else QRectF()
        return QRectF(self._rect)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self._drawings and self._preview is None:
            return
        transform = painter.transform()
        frame = (transform.m11(), transform.m22(), transform.m31(), transform.m32())
        if not (frame[0] and frame[1]) or transform.m12() or transform.m21():
            return
        view = self.boundingRect().normalized()
        exposed = (option.exposedRect if option.exposedRect.isValid() else view).normalized()
        pixels = _to_pixels(view, frame)
        thin = self._on_screen(self._boxes()) > THIN_ABOVE    # alike in every part
        parts = self._repainted_rects(widget)
        painter.save()
        painter.resetTransform()
        if self._drawings:
            key = (frame, self.version, thin)
            # onto the chart's window only: an export (scene.render, no widget) draws
            # straight, so an SVG keeps its drawings as lines
            if widget is None or not self._picture.paint(
                    painter, key, pixels.toAlignedRect(),
                    lambda inner: self._draw(inner, frame, view, view, thin),
                    parts if parts is not None else [_to_pixels(exposed, frame)]):
                self._draw(painter, frame, exposed, view, thin, parts)
        preview = self._preview
        if preview is not None:
            times = np.array([a.time_ns for a in preview.anchors], np.int64)
            points = [QPointF(x * frame[0] + frame[2], a.price * frame[1] + frame[3])
                      for x, a in zip(self.positions.x_of(times), preview.anchors, strict=True)]
            if all(math.isfinite(p.x()) and math.isfinite(p.y()) for p in points):
                painter.setFont(self._font)
                painter.setPen(self._pen(preview.style, preview.id == self._selected))
                around = pixels.adjusted(-2, -2, 2, 2)
                for segment in shape_segments(preview, points, around):
                    painter.drawLine(*segment)
                self._decorate(painter, preview, points, around)
        painter.restore()

    def _draw(self, painter: QPainter, frame: Frame, area: QRectF, view: QRectF, thin: bool,
              parts: list[QRectF] | None = None) -> None:
        """The drawings reaching into `area` (view coordinates; `parts`: the pieces of the
        viewport being repainted, when known), with `painter` in the viewport's pixels."""
        sx, sy, _, _ = frame
        # a margin of a label's size: notes, fib labels and badges reach past the shape
        mx, my = abs(LABEL_REACH[0] / sx), abs(LABEL_REACH[1] / sy)
        x0, x1, y0, y1 = area.left(), area.right(), area.top(), area.bottom()
        boxes = self._boxes()
        keep = (boxes[:, 1] >= x0 - mx) & (boxes[:, 0] <= x1 + mx) & \
            (boxes[:, 3] >= y0 - my) & (boxes[:, 2] <= y1 + my)
        keep &= self._lines_cross(x0, x1, y0 - my, y1 + my)
        if self._preview is not None and self._preview.id in self._index:
            keep[self._index[self._preview.id]] = False     # painted as the preview instead
        if parts is not None:
            keep &= self._in_parts(boxes, parts, frame, mx, my)
        if not keep.any():
            return
        self._paint_lines(painter, frame, keep, area, view, thin)
        painter.setFont(self._font)
        self._paint_labels(painter, frame, keep, _to_pixels(view, frame).adjusted(-2, -2, 2, 2))

    def _lines_cross(self, left: float, right: float, low: float, high: float) -> np.ndarray:
        """False for the rays and extended lines that pass outside the rect (their box is
        the whole plane); True for every other drawing."""
        crossing = np.ones(len(self._drawings), bool)
        lines = self._lines
        if not len(lines):
            return crossing
        first = self._starts[lines]
        ax, ay = self._x[first], self._prices[first]
        bx, by = self._x[first + 1], self._prices[first + 1]
        ray = self._line_is_ray
        start = np.where(ray & (bx > ax), np.maximum(left, ax), left)
        stop = np.where(ray & (bx < ax), np.minimum(right, ax), right)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (by - ay) / (bx - ax)
            at_start, at_stop = ay + slope * (start - ax), ay + slope * (stop - ax)
        upright = bx == ax       # a vertical line: inside when its X is
        below = np.where(ray & (by < ay), np.minimum(high, ay), high)
        above = np.where(ray & (by > ay), np.maximum(low, ay), low)
        crossing[lines] = np.where(
            upright, (ax >= left) & (ax <= right) & (below >= above),
            (start <= stop) & (np.minimum(at_start, at_stop) <= high) &
            (np.maximum(at_start, at_stop) >= low))
        return crossing

    def _on_screen(self, boxes: np.ndarray) -> int:
        """How many drawings reach into the view."""
        view = self.boundingRect().normalized()
        return int(np.count_nonzero(
            (boxes[:, 1] >= view.left()) & (boxes[:, 0] <= view.right()) &
            (boxes[:, 3] >= view.top()) & (boxes[:, 2] <= view.bottom()))) if len(boxes) else 0

    def _repainted_rects(self, widget) -> list[QRectF] | None:
        """The parts of the viewport being repainted (its pixels), when known: a live bar
        repaints its column and the last price's strip, whose bounding rect (Qt's exposed
        rect) is most of the pane."""
        if widget is None or PAINTING.viewport is not widget or not PAINTING.rects:
            return None
        return list(PAINTING.rects)

    def _in_parts(self, boxes: np.ndarray, parts: list[QRectF], frame: Frame, mx: float,
                  my: float) -> np.ndarray:
        """Which drawings reach into the parts of the viewport being repainted."""
        inside = np.zeros(len(boxes), bool)
        for rect in parts:
            part = _to_view(rect, frame)
            inside |= (boxes[:, 1] >= part.left() - mx) & (boxes[:, 0] <= part.right() + mx) & \
                (boxes[:, 3] >= part.top() - my) & (boxes[:, 2] <= part.bottom() + my)
        return inside

    def _paint_lines(self, painter: QPainter, frame: Frame, keep: np.ndarray, area: QRectF,
                     view: QRectF, thin: bool) -> None:
        """Every kept drawing's lines, one path per style, in pixels: bounded shapes from the
        segments made when they were mapped (each culled on its own to `area`), the
        unbounded ones cut to the view. `thin`: many on screen (zoomed far out), dashed and
        dotted lines drawn one pixel wide, which Qt dashes several times faster than wider
        ones (a solid line is the other way round: wider than a pixel, Qt fills it in spans;
        one pixel wide, it walks it pixel by pixel)."""
        sx, sy, dx, dy = frame
        segments, owners = self._segments()
        if len(segments):
            kept = keep[owners]
            low_x = np.minimum(segments[:, 0], segments[:, 2])
            high_x = np.maximum(segments[:, 0], segments[:, 2])
            low_y = np.minimum(segments[:, 1], segments[:, 3])
            high_y = np.maximum(segments[:, 1], segments[:, 3])
            kept &= (high_x >= area.left()) & (low_x <= area.right()) & \
                (high_y >= area.top()) & (low_y <= area.bottom())
            segments, owners = segments[kept], owners[kept]
        if (keep & self._unbounded).any():
            mx, my = abs(CUT_MARGIN / sx), abs(CUT_MARGIN / sy)
            more, more_owners = drawing_segments.unbounded(
                self._layout, self._x, self._prices, keep,
                (view.left() - mx, view.right() + mx, view.top() - my, view.bottom() + my))
            segments, owners = np.vstack([segments, more]), np.r_[owners, more_owners]
        if len(owners):
            xs = segments[:, [0, 2]] * sx + dx
            ys = segments[:, [1, 3]] * sy + dy
            styles = self._style_of[owners]
            for style in np.unique(styles):
                rows = styles == style
                pen_style = self._styles[style]
                if thin and pen_style.dash != "solid":
                    pen_style = Style(pen_style.color, 1.0, pen_style.dash)
                painter.setPen(self._pen(pen_style, False))
                _stroke(painter, np.column_stack([xs[rows, 0], ys[rows, 0], xs[rows, 1],
                                                  ys[rows, 1]]))
        rectangles = np.flatnonzero(keep & self._filled)
        if len(rectangles):
            first = self._starts[rectangles]
            xs = np.column_stack([self._x[first], self._x[first + 1]]) * sx + dx
            ys = np.column_stack([self._prices[first], self._prices[first + 1]]) * sy + dy
            for index, (ax, bx), (ay, by) in zip(rectangles.tolist(), xs.tolist(),
                                                 ys.tolist(), strict=True):
                painter.fillRect(QRectF(QPointF(ax, ay), QPointF(bx, by)).normalized(),
                                 self._colour(self._drawings[index].style.color)[1])

    def _pen(self, style: Style, selected: bool) -> QPen:
        key = (style, selected)
        pen = self._pen_cache.get(key)
        if pen is None:
            pen = self._pen_cache[key] = QPen(QColor(style.color))
            pen.setWidthF(style.width + (SELECTED_WIDTH if selected else 0.0))
            pen.setStyle(DASH_STYLES[style.dash])
            pen.setCosmetic(True)
        return pen

    def _colour(self, name: str) -> tuple[QColor, QColor, QColor, QColor]:
        """A drawing colour, its faint fill (rectangles) and a note's background (and when
        the note is selected)."""
        colours = self._colours.get(name)
        if colours is None:
            colours = self._colours[name] = (QColor(name), *(
                _faint(name, alpha) for alpha in (RECTANGLE_ALPHA, NOTE_ALPHA,
                                                  SELECTED_NOTE_ALPHA)))
        return colours

    def _paint_labels(self, painter: QPainter, frame: Frame, keep: np.ndarray,
                      view: QRectF) -> None:
        """Labels, notes, badges, bells and handles of the kept drawings, in pixels: a fib's
        labels and a note on their own (only those of fibs tall enough to read them), then,
        over them, what else a drawing carries by `_decorate` (the selected one's handles)."""
        sx, sy, dx, dy = frame
        marked = self._labelled.copy()
        plain = self._plain_label.copy()
        for drawing_id in (*self._bells, self._selected):
            index = self._index.get(drawing_id)
            if index is not None:
                marked[index], plain[index] = True, False
        plain &= keep
        fibs, _ = self._layout.of_kind("fib")
        fibs = fibs[plain[fibs]]
        first = self._starts[fibs]
        top, bottom = self._prices[first] * sy + dy, self._prices[first + 1] * sy + dy
        left = np.minimum(self._x[first], self._x[first + 1]) * sx + dx
        readable = (self._fib_gap[fibs] * np.abs(top - bottom) >= LABEL_GAP_PIXELS) & \
            np.isfinite(left) & np.isfinite(top) & np.isfinite(bottom)
        for index, y_top, y_bottom, x in zip(fibs[readable].tolist(), top[readable].tolist(),
                                             bottom[readable].tolist(), left[readable].tolist(),
                                             strict=True):
            painter.setPen(self._colour(self._drawings[index].style.color)[0])
            for level, static in self._fib_label_texts(index):
                painter.drawStaticText(QPointF(x + 2, y_bottom + (y_top - y_bottom) * level - 15),
                                       static)
        notes, first = self._layout.of_kind("text")
        chosen = plain[notes]
        notes, first = notes[chosen], first[chosen]
        xs, ys = self._x[first] * sx + dx, self._prices[first] * sy + dy
        placed = np.isfinite(xs) & np.isfinite(ys)
        for index, x, y in zip(notes[placed].tolist(), xs[placed].tolist(), ys[placed].tolist(),
                               strict=True):
            static, width, height, colour, back = self._note_look(index)
            painter.fillRect(QRectF(x + 1, y + 2, width, height), back)
            painter.setPen(colour)
            painter.drawStaticText(QPointF(x + 4, y + 4), static)
        for index in np.flatnonzero(keep & marked & ~plain):    # over the others
            part = slice(self._starts[index], self._starts[index + 1])
            points = [QPointF(x * sx + dx, y * sy + dy)
                      for x, y in zip(self._x[part], self._prices[part], strict=True)]
            self._decorate(painter, self._drawings[index], points, view)

    def _note_look(self, index: int) -> tuple[QStaticText, float, float, QColor, QColor]:
        """Note `index`'s text laid out, its background's size, its colours (as `_note`
        draws it), kept until the book changes."""
        look = self._note_looks.get(index)
        if look is None:
            drawing = self._drawings[index]
            text = drawing.text or "…"
            static = self._static(text, NOTE_WIDTH if len(text) > NOTE_WRAP else 0.0)
            size = static.size()
            colours = self._colour(drawing.style.color)
            look = self._note_looks[index] = (static, size.width() + 6, size.height() + 4,
                                              colours[0], colours[2])
        return look

    def _fib_label_texts(self, index: int) -> list[tuple[float, QStaticText]]:
        """(level, its laid-out label) of fib `index`, kept until the book changes."""
        texts = self._fib_texts.get(index)
        if texts is None:
            drawing = self._drawings[index]
            first, second = drawing.anchors
            texts = self._fib_texts[index] = [
                (level, self._static(_fib_label(level, first.price, second.price)))
                for level in drawing.fib_levels]
        return texts

    def _decorate(self, painter: QPainter, drawing: Drawing, points: list[QPointF],
                  view: QRectF) -> None:
        """In pixels: a fib's labels, a note, a label, the lock badge, the bell, and for the
        selected drawing its lines again, wider, and its handles."""
        if any(not (math.isfinite(p.x()) and math.isfinite(p.y())) for p in points):
            return                                  # no bars yet to place it on
        style = drawing.style
        color = QColor(style.color)
        selected = drawing.id == self._selected
        if selected:
            painter.setPen(self._pen(style, True))
            for segment in shape_segments(drawing, points, view):
                painter.drawLine(*segment)
        painter.setPen(color)
        if drawing.kind == "fib":
            self._fib_labels(painter, drawing, points)
        elif drawing.kind == "text":
            self._note(painter, drawing, points[0], selected)
        elif drawing.text:
            painter.drawStaticText(points[-1] + QPointF(4, -16), self._static(drawing.text))
        if drawing.locked:
            paint_lock_badge(painter, points[0] + QPointF(-14, -14), color)
        if drawing.id in self._bells:
            paint_bell(painter, bell_point(drawing, points, view), color)
        if selected:
            paint_handles(painter, points, color)

    def _static(self, text: str, width: float = 0.0) -> QStaticText:
        """Laid-out text, kept: laying text out again each frame was most of a frame."""
        key = (text, width)
        static = self._texts.get(key)
        if static is None:
            if len(self._texts) > TEXT_CACHE:
                self._texts.clear()
            static = self._texts[key] = QStaticText(text)
            if width:
                static.setTextWidth(width)
            static.prepare(font=self._font)
        return static

    def _fib_labels(self, painter: QPainter, drawing: Drawing, points: list[QPointF]) -> None:
        """Each level's value and price, when the levels are far enough apart to read."""
        first, second = drawing.anchors
        lines = fib_lines(drawing, points)
        gaps = np.diff(sorted(y for _, y in lines))
        if len(gaps) and gaps.min() < LABEL_GAP_PIXELS:
            return
        left = min(points[0].x(), points[1].x())
        for level, y in lines:
            painter.drawStaticText(QPointF(left + 2, y - 15),
                                   self._static(_fib_label(level, first.price, second.price)))

    def _note(self, painter: QPainter, drawing: Drawing, at: QPointF, selected: bool) -> None:
        text = drawing.text or "…"
        static = self._static(text, NOTE_WIDTH if len(text) > NOTE_WRAP else 0.0)
        size = static.size()
        painter.fillRect(QRectF(at.x() + 1, at.y() + 2, size.width() + 6, size.height() + 4),
                         self._colour(drawing.style.color)[3 if selected else 2])
        painter.drawStaticText(at + QPointF(4, 4), static)

    # ------------------------------------------------------------------ hit testing
    def hit(self, view_x: float, view_y: float,
            pixel_tolerance: float = 5.0) -> tuple[str, int | None] | None:
        """The drawing at a point of the view (the top-most; the selected one's handles
        first): (id, handle index) on a handle, (id, None) on its body, None on nothing."""
        box = self.getViewBox()
        if box is None:
            return None
        px, py = self.pixelWidth() or 1.0, self.pixelHeight() or 1.0
        # pixels, with Y up as on screen it is down: only distances matter here
        at = QPointF(view_x / px, -view_y / py)
        view = box.viewRect()
        view = QRectF(QPointF(view.left() / px, -view.bottom() / py),
                      QPointF(view.right() / px, -view.top() / py)).normalized()
        shown = self._shown(self._within_reach(view_x, view_y, pixel_tolerance + 2, px, py))
        selected = [item for item in shown if item[0].id == self._selected]
        others = [item for item in reversed(shown) if item[0].id != self._selected]
        for drawing, xs, prices in selected + others:   # the selected first, then top-most
            points = [QPointF(x / px, -y / py) for x, y in zip(xs, prices, strict=True)]
            if not all(math.isfinite(p.x()) and math.isfinite(p.y()) for p in points):
                continue
            for handle, point in enumerate(points):
                if math.hypot(point.x() - at.x(), point.y() - at.y()) <= pixel_tolerance + 2:
                    return drawing.id, handle
            if near(drawing, points, view, at, pixel_tolerance):
                return drawing.id, None
        return None

    def _within_reach(self, view_x: float, view_y: float, pixels: float, px: float,
                      py: float) -> np.ndarray:
        """Which drawings may be within `pixels` of a point (view coordinates; `px`, `py`:
        a pixel's size in them): by their box, a note by its text beside its anchor, a ray
        or extended line by whether it crosses the square around the point. `hit` tests
        these few exactly, not every drawing in Python."""
        boxes = self._boxes()
        reach_x = np.full(len(boxes), pixels * px)
        reach_y = np.full(len(boxes), pixels * py)
        notes = self._layout.of_kind("text")[0]
        reach_x[notes] += NOTE_HIT_PIXELS * px
        reach_y[notes] += NOTE_HIT_PIXELS * py
        near = (boxes[:, 1] >= view_x - reach_x) & (boxes[:, 0] <= view_x + reach_x) & \
            (boxes[:, 3] >= view_y - reach_y) & (boxes[:, 2] <= view_y + reach_y)
        return near & self._lines_cross(view_x - pixels * px, view_x + pixels * px,
                                        view_y - pixels * py, view_y + pixels * py)


def _stroke(painter: QPainter, rows: np.ndarray) -> None:
    """The lines x0, y0, x1, y1 of `rows` in one call, Qt reading the numpy rows in place as
    its array of QLineF (four doubles each): no Python object per line, and Qt's fast path
    for a batch of lines rather than a path's."""
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    if len(rows):
        painter.drawLines(shiboken6.wrapInstance(rows.ctypes.data, QLineF), len(rows))


def _faint(name: str, alpha: int) -> QColor:
    colour = QColor(name)
    colour.setAlpha(alpha)
    return colour


def _fib_label(level: float, first: float, second: float) -> str:
    """A fib level's label: the level and its price (level 0 at the second anchor)."""
    return f"{level:g} ({second + (first - second) * level:.6g})"


def _to_pixels(rect: QRectF, frame: Frame) -> QRectF:
    sx, sy, dx, dy = frame
    return QRectF(QPointF(rect.left() * sx + dx, rect.top() * sy + dy),
                  QPointF(rect.right() * sx + dx, rect.bottom() * sy + dy)).normalized()


def _to_view(rect: QRectF, frame: Frame) -> QRectF:
    sx, sy, dx, dy = frame
    return QRectF(QPointF((rect.left() - dx) / sx, (rect.top() - dy) / sy),
                  QPointF((rect.right() - dx) / sx, (rect.bottom() - dy) / sy)).normalized()
