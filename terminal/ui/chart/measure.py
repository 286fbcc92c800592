"""The measure tool's figures and its mark on the chart: from one point to another, the
price change, ticks, percent, bars and time between them. Transient: nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPen

from terminal.market.drawings import Anchor
from terminal.market.prices import decimals_for
from terminal.ui.colours import DOWN_HEX, UP_HEX


@dataclass(frozen=True)
class Measurement:
    """From one point to another on a chart: what the measure tool shows."""
    change: float
    percent: float | None        # None from a price of zero
    ticks: float | None          # None when the contract's tick is not known
    bars: int
    seconds: float
    decimals: int

    def text(self) -> str:
        parts = [f"{self.change:+,.{self.decimals}f}"]
        if self.ticks is not None:
            parts.append(f"{self.ticks:+,.0f} ticks")
        if self.percent is not None:
            parts.append(f"{self.percent:+.2f}%")
        return f"{'  '.join(parts)}\n{self.bars:+,d} bars, {duration_text(self.seconds)}"


def measure(start: Anchor, end: Anchor, bars: int, pricetick: float | None) -> Measurement:
    change = end.price - start.price
    tick = pricetick if pricetick and pricetick > 0 else None
    return Measurement(
        change=change,
        percent=change / start.price * 100.0 if start.price else None,
        ticks=round(change / tick, 6) if tick else None,
        bars=bars, seconds=(end.time_ns - start.time_ns) / 1e9,
        decimals=decimals_for(tick) if tick else 2)


def duration_text(seconds: float) -> str:
    """`3d 4h 05m`, `2h 15m`, `45m`, signed when backwards."""
    sign = "-" if seconds < 0 else ""
    span = timedelta(seconds=round(abs(seconds)))
    hours, rest = divmod(span.seconds, 3600)
    minutes = rest // 60
    if span.days:
        return f"{sign}{span.days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m"


class MeasureItem(pg.GraphicsObject):
    """The measure tool's shaded span and arrow (view coordinates), beside its label."""

    def __init__(self) -> None:
        super().__init__()
        self.start = QPointF()
        self.end = QPointF()
        self.color = QColor(UP_HEX)
        self.label = pg.TextItem(anchor=(0, 1), color="#ffffff", fill=pg.mkBrush(0, 0, 0, 170))
        self.label.setZValue(61)
        self.setZValue(60)

    def set_points(self, start: QPointF, end: QPointF, text: str) -> None:
        self.prepareGeometryChange()
        self.start, self.end = start, end
        self.color = QColor(UP_HEX if end.y() >= start.y() else DOWN_HEX)
        self.label.setText(text)
        self.label.fill = pg.mkBrush(self.color.darker(180))
        self.label.setPos(end)
        self.label.setAnchor((0, 1) if end.y() >= start.y() else (0, 0))
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self.start, self.end).normalized()

    def paint(self, painter, option, widget=None) -> None:
        rect = QRectF(self.start, self.end).normalized()
        fill = QColor(self.color)
        fill.setAlpha(40)
        pen = QPen(self.color, 1.0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRect(rect)
        painter.drawLine(self.start, self.end)
