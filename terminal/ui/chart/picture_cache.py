"""A chart item's picture kept between repaints that change nothing in it.

A live tick repaints the last price's strip and the last bar's column: every item under them
paints again, the drawings too, though none of them moved. The picture lets such a repaint copy
the few pixels it needs. It is made only the second time in a row a paint comes with the same
key (the view and what is shown): while the trader pans or drags, the key changes at every
frame, and drawing straight is cheaper than drawing into a picture and copying it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPixmap

MAX_DEVICE_PIXELS = 16_000_000      # a larger picture (64 MB) is not kept: drawn every time


class PictureCache:
    def __init__(self) -> None:
        self._picture: QPixmap | None = None
        self._key: Hashable = None          # what the picture shows
        self._last: Hashable = None         # the key of the last paint
        self._rect = QRect()                # where the picture goes, in the viewport's pixels
        self._ratio = 1.0

    def paint(self, painter: QPainter, key: Hashable, rect: QRect,
              render: Callable[[QPainter], None], parts: list[QRectF]) -> bool:
        """Copy `parts` (viewport pixels; `painter` is in them) from the picture of `rect`
        with `key`, making it with `render` (which draws in viewport pixels) if the last paint
        had the same key. False: no picture, the caller draws itself."""
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        key = (key, ratio, rect.getRect())
        repeated, self._last = key == self._last, key
        if key != self._key:
            self.clear()
            if not repeated or rect.isEmpty() or \
                    rect.width() * rect.height() * ratio * ratio > MAX_DEVICE_PIXELS:
                return False
            self._make(painter, key, rect, ratio, render)
        for part in parts:
            target = part.toAlignedRect().intersected(self._rect)
            if target.isEmpty():
                continue
            source = QRectF((target.left() - self._rect.left()) * self._ratio,
                            (target.top() - self._rect.top()) * self._ratio,
                            target.width() * self._ratio, target.height() * self._ratio)
            painter.drawPixmap(QRectF(target), self._picture, source)
        return True

    def clear(self) -> None:
        """Forget the picture (what it shows changed)."""
        self._picture, self._key = None, None

    @property
    def kept(self) -> bool:
        return self._picture is not None

    def _make(self, painter: QPainter, key: Hashable, rect: QRect, ratio: float,
              render: Callable[[QPainter], None]) -> None:
        picture = QPixmap(QSize(math.ceil(rect.width() * ratio),
                                math.ceil(rect.height() * ratio)))
        picture.setDevicePixelRatio(ratio)
        picture.fill(Qt.GlobalColor.transparent)
        inner = QPainter(picture)
        try:
            inner.setRenderHints(painter.renderHints())
            inner.translate(-rect.left(), -rect.top())
            render(inner)
        finally:
            inner.end()
        self._picture, self._key, self._rect, self._ratio = picture, key, QRect(rect), ratio
