"""One drawing's geometry and glyphs in pixels: its line segments (what a preview, the
selection and a hit test draw or measure one drawing by; `drawing_segments` makes the same
lines for many at once), where its bell goes, and the small marks drawn on drawings (handles,
a lock, a bell; the alerts' price lines draw the same bell)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen

from terminal.market.drawings import Drawing

HANDLE_PIXELS = 4.0          # half the side of a selected drawing's handle squares
FAR = 1e9                    # steps along a line at most, to reach past the view


def shape_segments(drawing: Drawing, points: list[QPointF],
                   view: QRectF) -> list[tuple[QPointF, QPointF]]:
    """The line segments of a drawing, in the pixel space of `points` (`view`: the visible
    part, to which unbounded lines are drawn)."""
    kind, p = drawing.kind, points
    if kind == "trend":
        return [(p[0], p[1])]
    if kind in ("ray", "extended"):
        direction = p[1] - p[0]
        if direction.isNull():
            return []
        far = _reach(p[0], direction, view)
        start = p[0] if kind == "ray" else _reach(p[0], -direction, view)
        return [(start, far)]
    if kind == "hline":
        return [(QPointF(view.left(), p[0].y()), QPointF(view.right(), p[0].y()))]
    if kind == "hray":
        return [(p[0], QPointF(max(view.right(), p[0].x()), p[0].y()))]
    if kind == "vline":
        return [(QPointF(p[0].x(), view.top()), QPointF(p[0].x(), view.bottom()))]
    if kind == "rectangle":
        a, b = p
        corners = [a, QPointF(b.x(), a.y()), b, QPointF(a.x(), b.y())]
        return [(corners[i], corners[(i + 1) % 4]) for i in range(4)]
    if kind == "channel":
        shift = _channel_shift(p)
        middle = QPointF(0, shift.y() / 2)
        return [(p[0], p[1]), (p[0] + shift, p[1] + shift), (p[0] + middle, p[1] + middle)]
    if kind == "fib":
        left, right = sorted((p[0].x(), p[1].x()))
        return [(QPointF(left, y), QPointF(right, y)) for _, y in fib_lines(drawing, p)] + \
            [(p[0], p[1])]
    return []                                       # text: drawn as a note


def fib_lines(drawing: Drawing, points: list[QPointF]) -> list[tuple[float, float]]:
    """(level, pixel Y) of a fib's levels: level 0 at the second anchor, 1 at the first."""
    top, bottom = points[0].y(), points[1].y()
    return [(level, bottom + (top - bottom) * level) for level in drawing.fib_levels]


def _channel_shift(points: list[QPointF]) -> QPointF:
    """The vertical offset of a channel's parallel line: through its third point."""
    a, b, c = points
    if b.x() == a.x():
        return QPointF(c.x() - a.x(), 0)
    y_at_c = a.y() + (b.y() - a.y()) * (c.x() - a.x()) / (b.x() - a.x())
    return QPointF(0, c.y() - y_at_c)


def _reach(start: QPointF, direction: QPointF, view: QRectF) -> QPointF:
    """A point along `direction` from `start` just beyond the view, on each axis on its own
    (the view's units may differ by axis: bars and price); Qt clips the rest."""
    steps = []
    for origin, step, low, high in ((start.x(), direction.x(), view.left(), view.right()),
                                    (start.y(), direction.y(), view.top(), view.bottom())):
        if step:
            steps.append((max(abs(low - origin), abs(high - origin)) + (high - low)) / abs(step))
    return start + direction * min(max(steps, default=1.0) + 1.0, FAR)


def near(drawing: Drawing, points: list[QPointF], view: QRectF, at: QPointF,
          tolerance: float) -> bool:
    if drawing.kind == "text":
        return math.hypot(at.x() - points[0].x() - 20, at.y() - points[0].y() - 8) <= 24 \
            or _distance(at, points[0], points[0]) <= tolerance
    if drawing.kind == "rectangle" and QRectF(points[0], points[1]).normalized().contains(at):
        return True
    return any(_distance(at, a, b) <= tolerance
               for a, b in shape_segments(drawing, points, view))


def _distance(point: QPointF, a: QPointF, b: QPointF) -> float:
    """From `point` to the segment a-b."""
    ab = b - a
    length = ab.x() ** 2 + ab.y() ** 2
    t = 0.0 if length == 0 else max(0.0, min(1.0, QPointF.dotProduct(point - a, ab) / length))
    nearest = a + ab * t
    return math.hypot(point.x() - nearest.x(), point.y() - nearest.y())


def bell_point(drawing: Drawing, points: list[QPointF], view: QRectF) -> QPointF:
    """Where a drawing's alert bell goes: at the right edge of the view on a horizontal line
    (so it is seen wherever the line started), else by the second anchor."""
    if drawing.kind in ("hline", "hray"):
        return QPointF(min(view.right() - 18, max(points[0].x(), view.left())) if
                       drawing.kind == "hray" else view.right() - 18, points[0].y() - 16)
    return points[min(1, len(points) - 1)] + QPointF(6, -18)


def paint_handles(painter: QPainter, points: list[QPointF], color: QColor) -> None:
    painter.setPen(QPen(color, 1.0))
    painter.setBrush(QBrush(QColor("#ffffff")))
    size = HANDLE_PIXELS
    for point in points:
        painter.drawRect(QRectF(point.x() - size, point.y() - size, 2 * size, 2 * size))


def paint_lock_badge(painter: QPainter, at: QPointF, color: QColor) -> None:
    """A small padlock: a body and a shackle."""
    painter.setPen(QPen(color, 1.2))
    painter.setBrush(QBrush(color))
    painter.drawRect(QRectF(at.x(), at.y() + 4, 8, 6))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    shackle = QPainterPath()
    shackle.arcMoveTo(QRectF(at.x() + 1, at.y(), 6, 8), 180)
    shackle.arcTo(QRectF(at.x() + 1, at.y(), 6, 8), 180, -180)
    painter.drawPath(shackle)


def paint_bell(painter: QPainter, at: QPointF, color: QColor) -> None:
    """A small bell, its top left at `at`: a dome on a rim, with a clapper (the chart's
    drawings and the alerts' price lines draw the same)."""
    painter.setPen(QPen(color, 1.2))
    painter.setBrush(QBrush(color))
    dome = QPainterPath()
    dome.moveTo(at.x(), at.y() + 10)
    dome.cubicTo(at.x() + 1, at.y() + 1, at.x() + 11, at.y() + 1, at.x() + 12, at.y() + 10)
    dome.closeSubpath()
    painter.drawPath(dome)
    painter.drawEllipse(QPointF(at.x() + 6, at.y() + 12), 1.6, 1.6)
