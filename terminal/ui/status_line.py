"""A one-line message that can change at every order without costing the order path.

`QLabel.setText` calls `updateGeometry`, and every layout above the label then activates, up
to the main window's, on the GUI thread while acks wait: a "Sent <order id>" per order would
lay the main window out at every order. This
line's size never depends on its text, it is opaque (a repaint does not repaint the ticket
under it), and it repaints at most `MAX_REPAINTS_PER_SECOND` times a second, which is faster
than anyone reads. `text()` is always the latest message; the tooltip holds it whole and the
context menu copies it (an order id, say).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QPainter, QPalette
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from terminal.ui.pacing import Pacer

MAX_REPAINTS_PER_SECOND = 10          # as the tables, the book and the charts (ui.pacing)
_MARGIN = 2


class StatusLine(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._text = ""
        self.setAutoFillBackground(True)          # the window colour, which follows the theme
        self.setBackgroundRole(QPalette.ColorRole.Window)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._repaints = Pacer(self.update, MAX_REPAINTS_PER_SECOND, self)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text == self._text:
            return
        self._text = text
        self.setToolTip(text)
        self._repaints.request()

    def clear(self) -> None:
        self.setText("")

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        return QSize(metrics.averageCharWidth() * 32, metrics.height() + 2 * _MARGIN)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.fontMetrics().height() + 2 * _MARGIN)

    def paintEvent(self, event) -> None:
        if not self._text:
            return
        painter = QPainter(self)
        area = self.rect().adjusted(_MARGIN, 0, -_MARGIN, 0)
        shown = self.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight,
                                              area.width())
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        painter.drawText(area, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, shown)

    def contextMenuEvent(self, event) -> None:
        if not self._text:
            return
        menu = QMenu(self)
        text = self._text
        menu.addAction("Copy", lambda: QGuiApplication.clipboard().setText(text))
        menu.exec(event.globalPos())
