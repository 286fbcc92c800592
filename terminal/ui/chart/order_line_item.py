"""The painting and hit testing of a chart's order and position lines: one item for all of
them, drawn in screen pixels across the price pane, each with a label at the right (and a ×
on an order's label). `ui.chart.order_lines` decides what the lines are and what a gesture
on them means; this module only draws them and says what is under a point.

One item rather than a pyqtgraph line per order: a new `InfiniteLine` with its label costs
milliseconds, and the labels must be laid out together (stacked leftwards when two prices
are closer than a label's height) so that every × stays clickable.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QTransform

from terminal.ui.theme import current as current_theme

LABEL_INSET = 70.0         # pixels from the pane's right edge to a label's right edge
LABEL_PAD = 4.0            # around a label's text
LABEL_GAP = 4.0            # between labels stacked side by side
CLOSE_SIZE = 14.0          # the × box
LOCAL_DASHES = [6.0, 4.0]  # a local order (dies with the terminal): dashed
REPLACING_DASHES = [1.5, 3.0]


@dataclass(frozen=True)
class Line:
    """One line as drawn: an order (`closable`: it has a ×) or a position."""

    key: str                # an order's: what modify and cancel take; a position's: its id
    price: float
    text: str
    colour: str             # the line's (hex)
    text_colour: str = ""   # the label's text, when not the line's (a position's P&L sign)
    local: bool = False     # dashed: lives in the terminal, not at the exchange
    replacing: bool = False  # dotted and muted: a move is under way
    closable: bool = True
    width: float = 1.2


@dataclass(frozen=True)
class Placed:
    """A line laid out on screen (pixels of the item's view)."""

    line: Line
    y: float
    label: QRectF
    close: QRectF | None


class OrderLinesItem(pg.GraphicsObject):
    """Every order and position line of one chart, and the one being dragged."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[Line] = []
        self.preview: tuple[str, float, str] | None = None     # (key, price, label)
        self.setZValue(40)              # over the candles and drawings, under the crosshair
        self.font = QFont()
        self.font.setPointSizeF(8.5)
        self.font.setStyleStrategy(QFont.StyleStrategy.NoSubpixelAntialias)
        self.metrics = QFontMetricsF(self.font)
        self._colours: dict[str, QColor] = {}

    # ------------------------------------------------------------------ what is drawn
    def set_lines(self, lines: list[Line]) -> None:
        if lines != self.lines:
            self.lines = list(lines)
            self.update()

    def set_preview(self, key: str, price: float, label: str) -> None:
        """The line `key` drawn at `price` with `label` while it is dragged (its place
        before stays, faint)."""
        if self.preview != (key, price, label):
            self.preview = (key, price, label)
            self.update()

    def clear_preview(self) -> None:
        if self.preview is not None:
            self.preview = None
            self.update()

    def shown(self) -> list[Line]:
        """The lines as they are drawn now: the dragged one at its preview price."""
        if self.preview is None:
            return self.lines
        key, price, label = self.preview
        return [Line(line.key, price, label, line.colour, line.text_colour, line.local,
                     line.replacing, line.closable, line.width) if line.key == key else line
                for line in self.lines]

    # ------------------------------------------------------------------ geometry
    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()

    def boundingRect(self) -> QRectF:
        box = self.getViewBox()
        return box.viewRect() if box is not None else QRectF()

    def layout(self, to_pixels, left: float, right: float) -> list[Placed]:
        """Where each shown line and its label are, in the pixels `to_pixels` maps a view
        point to (scene pixels for hit tests, device pixels for painting); `left`/`right`
        are the view's edges in view coordinates. A label that would cover an earlier one
        moves left of it."""
        placed: list[Placed] = []
        edge = to_pixels(QPointF(right, 0.0)).x()
        height = self.metrics.height() + LABEL_PAD
        for line in sorted(self.shown(), key=lambda line: -line.price):
            y = to_pixels(QPointF(left, line.price)).y()
            width = self.metrics.horizontalAdvance(line.text) + 2 * LABEL_PAD \
                + (CLOSE_SIZE + LABEL_PAD if line.closable else 0.0)
            label = QRectF(edge - LABEL_INSET - width, y - height / 2, width, height)
            moved = True
            while moved:
                moved = False
                for other in placed:
                    if other.label.intersects(label):
                        label.moveRight(other.label.left() - LABEL_GAP)
                        moved = True
            close = None
            if line.closable:
                close = QRectF(label.right() - LABEL_PAD / 2 - CLOSE_SIZE,
                               label.center().y() - CLOSE_SIZE / 2, CLOSE_SIZE, CLOSE_SIZE)
            placed.append(Placed(line, y, label, close))
        return placed

    def placed_in_scene(self) -> list[Placed]:
        box = self.getViewBox()
        if box is None:
            return []
        view = box.viewRect()
        return self.layout(box.mapViewToScene, view.left(), view.right())

    def hit(self, scene_pos: QPointF, pixels: float) -> tuple[str, str] | None:
        """(key, part) under `scene_pos`: part "close" (the ×), "label" or "line" (within
        `pixels` of it); None when nothing is. The ×, then a label, then the nearest line."""
        placed = self.placed_in_scene()
        for spot in placed:
            if spot.close is not None and spot.close.adjusted(-2, -2, 2, 2).contains(scene_pos):
                return spot.line.key, "close"
        for spot in placed:
            if spot.label.contains(scene_pos):
                return spot.line.key, "label"
        near = [(abs(spot.y - scene_pos.y()), spot.line.key) for spot in placed
                if abs(spot.y - scene_pos.y()) <= pixels]
        return (min(near)[1], "line") if near else None

    # ------------------------------------------------------------------ painting
    def _colour(self, hex_colour: str) -> QColor:
        colour = self._colours.get(hex_colour)
        if colour is None:
            colour = self._colours[hex_colour] = QColor(hex_colour)
        return colour

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self.lines:
            return
        view = self.boundingRect()
        transform = painter.transform()
        painter.save()
        painter.setTransform(QTransform())           # pixels: thin lines, unscaled text
        painter.setFont(self.font)
        colours = current_theme().chart
        fill = self._colour(colours.label_fill)
        left = transform.map(QPointF(view.left(), 0.0)).x()
        right = transform.map(QPointF(view.right(), 0.0)).x()
        dragged = self.preview[0] if self.preview is not None else None
        if dragged is not None:                      # where the dragged line was, faint
            for line in self.lines:
                if line.key == dragged:
                    faint = QColor(self._colour(line.colour))
                    faint.setAlpha(90)
                    pen = QPen(faint, 1.0)
                    pen.setDashPattern([2.0, 3.0])
                    painter.setPen(pen)
                    y = transform.map(QPointF(view.left(), line.price)).y()
                    painter.drawLine(QPointF(left, y), QPointF(right, y))
        for spot in self.layout(transform.map, view.left(), view.right()):
            line = spot.line
            if not view.top() <= line.price <= view.bottom():
                continue
            colour = self._colour(line.colour)
            pen = QPen(colour, line.width)
            if line.replacing:
                pen.setDashPattern(REPLACING_DASHES)
            elif line.local:
                pen.setDashPattern(LOCAL_DASHES)
            painter.setPen(pen)
            painter.drawLine(QPointF(left, spot.y), QPointF(spot.label.left(), spot.y))
            painter.drawLine(QPointF(spot.label.right(), spot.y), QPointF(right, spot.y))
            painter.setPen(QPen(colour, 1.0))
            painter.setBrush(fill)
            painter.drawRect(spot.label)
            painter.setPen(self._colour(line.text_colour or line.colour))
            text_rect = spot.label.adjusted(LABEL_PAD, 0, -LABEL_PAD, 0)
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft
                             | Qt.AlignmentFlag.AlignVCenter, line.text)
            if spot.close is not None:
                painter.setPen(QPen(colour, 1.0))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(spot.close)
                painter.drawText(spot.close, Qt.AlignmentFlag.AlignCenter, "×")
        painter.restore()
