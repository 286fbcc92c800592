"""Price alerts on a chart: a thin dotted line with a bell at the price of each enabled level
alert of the chart's symbol, and the bell on each drawing that carries an alert (the drawing
layer paints it; this tells it which).

`AlertLines` is attached to a chart dock when the chart is made; it follows the chart's symbol
(its title changes when a symbol or timeframe has loaded) and the alerts' changes, and puts
"Add alert…" in the menu of each line drawing (the drawing tools' `menu_entries`).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen, QTransform

from terminal.market.alert_book import PriceAlerts
from terminal.market.drawings import Drawing, DrawingBook
from terminal.core.bridge import Batch
from terminal.market.price_alerts import EVENT_PRICE_ALERTS, LINE_KINDS
from terminal.ui.chart.drawing_shapes import paint_bell
from terminal.ui.colours import WARNING_HEX
from terminal.ui.dialogs.price_alert import PriceAlertDialog, add_drawing_alert

BELL_INSET = 40            # pixels from the right edge of the pane


class AlertLevelsItem(pg.GraphicsObject):
    """The level alerts' lines: one item for all of them, painted across the view."""

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[float] = []
        self.color = QColor(WARNING_HEX)
        self.setZValue(15)

    def set_levels(self, levels: list[float]) -> None:
        if levels != self.levels:
            self.levels = list(levels)
            self.update()

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()

    def boundingRect(self) -> QRectF:
        box = self.getViewBox()
        return box.viewRect() if box is not None else QRectF()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self.levels:
            return
        view = self.boundingRect()
        transform = painter.transform()
        painter.setTransform(QTransform())           # draw in pixels: thin, dotted, sharp
        pen = QPen(self.color, 1.0)
        pen.setDashPattern([1.0, 3.0])
        for level in self.levels:
            if not view.top() <= level <= view.bottom():
                continue
            left = transform.map(QPointF(view.left(), level))
            right = transform.map(QPointF(view.right(), level))
            painter.setPen(pen)
            painter.drawLine(left, right)
            paint_bell(painter, QPointF(right.x() - BELL_INSET, right.y() - 15), self.color)


class AlertLines:
    """Keeps a chart dock's alert lines and bells in step with its symbol and the alerts."""

    def __init__(self, chart_dock, alerts: PriceAlerts) -> None:
        self.chart_dock = chart_dock
        self.alerts = alerts
        self.item = AlertLevelsItem()
        chart_dock.chart.price.addItem(self.item, ignoreBounds=True)
        chart_dock.title_changed.connect(lambda _title: self.refresh())
        chart_dock.drawing_tools.menu_entries.append(self.menu_entry)
        self.dialog: PriceAlertDialog | None = None
        self.refresh()

    def menu_entry(self, menu, drawing: Drawing, book: DrawingBook) -> None:
        """"Add alert…" in a line drawing's menu."""
        if drawing.kind in LINE_KINDS and book is not None:
            menu.addSeparator()
            menu.addAction("Add alert…", lambda: self.add_alert(drawing, book.vt_symbol))

    def add_alert(self, drawing: Drawing, vt_symbol: str) -> PriceAlertDialog | None:
        self.dialog = add_drawing_alert(self.alerts, vt_symbol, drawing, self.chart_dock)
        return self.dialog

    def apply(self, batch: Batch) -> None:
        """The chart's symbol's alerts changed (through the event bridge): draw them again."""
        if self.chart_dock.vt_symbol in batch.routed.get(EVENT_PRICE_ALERTS, ()):
            self.refresh()

    def refresh(self) -> None:
        vt_symbol = self.chart_dock.vt_symbol
        mine = self.alerts.alerts(vt_symbol) if vt_symbol else []
        self.item.set_levels(sorted(a.level for a in mine if a.drawing is None and a.enabled))
        self.chart_dock.drawing_layer.set_bells(self.alerts.drawing_ids(vt_symbol)
                                                if vt_symbol else set())
