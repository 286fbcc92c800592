"""Orders: every order of the session or only the working ones; cancel from the table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QMenu, QPushButton, QWidget
from vnpy.trader.constant import Direction, Status

from terminal.core.bridge import Batch
from terminal.market.trading import Trading
from terminal.ui.formats import PRICE_DIGITS
from terminal.ui.docks.common import STRETCH, lay_out_table, make_table, selected_records
from terminal.ui.labels import DIRECTION, OFFSET, ORDER_TYPE, STATUS, label
from terminal.ui.models.table import Column, RecordTableModel, clock, number
from terminal.ui.colours import DOWN_BRUSH, ERROR_BRUSH, UP_BRUSH


def _side_color(record):
    return UP_BRUSH if record.direction == Direction.LONG else DOWN_BRUSH


def _status_color(order):
    return ERROR_BRUSH if order.status == Status.REJECTED else None


def _reason(order) -> str:
    return (order.extra or {}).get("reason", "")


def _working(order) -> bool:
    return order.is_active()


class OrdersModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            [
                Column("Time", lambda o: o.datetime, clock, width=96),
                Column("Order id", lambda o: o.vt_orderid, width=130),
                Column("Symbol", lambda o: o.vt_symbol, width=118),
                Column("Direction", lambda o: label(DIRECTION, o.direction), color=_side_color),
                Column("Offset", lambda o: label(OFFSET, o.offset)),
                Column("Type", lambda o: label(ORDER_TYPE, o.type)),
                Column("Price", lambda o: (o.price, o.vt_symbol), PRICE_DIGITS.text, True),
                Column("Volume", lambda o: o.volume, number(0), True),
                Column("Filled", lambda o: o.traded, number(0), True),
                Column("Status", lambda o: label(STATUS, o.status), color=_status_color),
                Column("Reason", _reason, width=300),
                Column("Source", lambda o: o.reference, width=150),
            ],
            key=lambda o: o.vt_orderid,
            parent=parent,
        )


class OrdersDock(QWidget):
    def __init__(self, trading: Trading, parent=None) -> None:
        super().__init__(parent)
        self.trading = trading
        self.model = OrdersModel(self)
        self.view = make_table(self.model, mirror=True)   # the busiest table after quotes
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self.view, self.cancel_selected)

        self.filter_box = QComboBox()
        self.filter_box.addItems(["All orders", "Working orders"])
        self.filter_box.currentIndexChanged.connect(self._filter_changed)
        self.cancel_button = QPushButton("Cancel selected (Del)")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.cancel_all_button = QPushButton("Cancel all")
        self.cancel_all_button.clicked.connect(lambda: self.trading.cancel_all())
        lay_out_table(self, self.view,
                      self.filter_box, STRETCH, self.cancel_button, self.cancel_all_button)

    def apply(self, batch: Batch) -> None:
        if batch.orders:
            self.model.upsert(batch.orders.values())

    def show_working_only(self, working: bool) -> None:
        self.filter_box.setCurrentIndex(1 if working else 0)

    def _filter_changed(self, index: int) -> None:
        self.model.set_filter(_working if index == 1 else None)

    def cancel_selected(self) -> int:
        return sum(self.trading.cancel(order.vt_orderid) for order in selected_records(self.view))

    def _menu(self, pos) -> None:
        if not self.view.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        menu.addAction("Cancel order", self.cancel_selected)
        menu.addAction("Cancel all working orders", lambda: self.trading.cancel_all())
        menu.exec(self.view.viewport().mapToGlobal(pos))
