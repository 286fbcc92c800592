"""Stops & brackets: every managed order (local stops, stop-limits, OCO groups, brackets and
their legs), where it lives ("local": it dies with the terminal or the connection; "at the
exchange"), its state and why it ended; move its price, cancel a leg or a whole group."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QInputDialog, QLabel, QMenu, QPushButton, QWidget
from vnpy.trader.constant import Direction

from terminal.core.bridge import Batch
from terminal.market.prices import price_decimals
from terminal.orders import EVENT_MANAGED, ManagedOrders, ManagedView
from terminal.ui.colours import DOWN_BRUSH, ERROR_BRUSH, UP_BRUSH, WARNING_BRUSH
from terminal.ui.docks.common import STRETCH, lay_out_table, make_table, selected_records
from terminal.ui.formats import PRICE_DIGITS
from terminal.ui.labels import DIRECTION, label
from terminal.ui.models.table import Column, RecordTableModel, number

ENDED_BADLY = ("failed", "in doubt")


def _side_color(view: ManagedView):
    return UP_BRUSH if view.direction == Direction.LONG else DOWN_BRUSH


def _where_color(view: ManagedView):
    return WARNING_BRUSH if view.where == "local" and view.active else None


def _state_color(view: ManagedView):
    return ERROR_BRUSH if view.state in ENDED_BADLY else None


def _active(view: ManagedView) -> bool:
    return view.active


class ManagedOrdersModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            [
                Column("Symbol", lambda v: v.vt_symbol, width=110),
                Column("Order", lambda v: v.role, width=80),
                Column("Direction", lambda v: label(DIRECTION, v.direction), color=_side_color),
                Column("Kind", lambda v: v.kind, width=72),
                Column("Lots", lambda v: v.volume, number(0), True, width=50),
                Column("Price", lambda v: (v.price, v.vt_symbol), PRICE_DIGITS.text, True),
                Column("Where", lambda v: v.where, color=_where_color, width=104,
                       tooltip="local: kept and fired by this terminal; it dies with it or "
                               "with the connection. At the exchange: an order there."),
                Column("State", lambda v: v.state, color=_state_color, width=76),
                Column("Filled", lambda v: v.filled, number(0), True, width=50),
                Column("Template", lambda v: v.template, width=80),
                Column("Order id", lambda v: v.vt_orderid, width=130),
                Column("Note", lambda v: v.reason or v.text, width=320),
                Column("Group", lambda v: v.group, width=150),
            ],
            key=lambda v: v.id,
            parent=parent,
        )


class ManagedOrdersDock(QWidget):
    def __init__(self, managed: ManagedOrders, parent=None) -> None:
        super().__init__(parent)
        self.managed = managed
        self.model = ManagedOrdersModel(self)
        self.view = make_table(self.model)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.doubleClicked.connect(lambda _: self.move_selected())
        QShortcut(QKeySequence(Qt.Key.Key_Delete), self.view, self.cancel_selected)
        self.filter_box = QComboBox()
        self.filter_box.addItems(["Active", "All this session"])
        self.filter_box.currentIndexChanged.connect(
            lambda index: self.model.set_filter(_active if index == 0 else None))
        self.model.set_filter(_active)
        self.message = QLabel("")
        self.message.setObjectName("error")
        cancel = QPushButton("Cancel selected (Del)")
        cancel.clicked.connect(self.cancel_selected)
        cancel_groups = QPushButton("Cancel group")
        cancel_groups.clicked.connect(self.cancel_groups)
        lay_out_table(self, self.view, self.filter_box, (self.message, 1), STRETCH, cancel,
                      cancel_groups)
        self.model.upsert(managed.views())

    def apply(self, batch: Batch) -> None:
        changed = batch.routed.get(EVENT_MANAGED)
        if changed:
            self.model.upsert(changed.values())

    def cancel_selected(self) -> int:
        return sum(self.managed.cancel(view.id) for view in selected_records(self.view)
                   if view.active)

    def cancel_groups(self) -> int:
        groups = {view.group for view in selected_records(self.view)}
        return sum(self.managed.cancel(group) for group in groups)

    def move_selected(self) -> bool:
        """Ask for a new price for the selected leg; the gate's refusal is shown, nothing
        changed."""
        chosen = [view for view in selected_records(self.view) if view.active]
        if len(chosen) != 1:
            return False
        view = chosen[0]
        contract = self.managed.broker.contract(view.vt_symbol)
        decimals = price_decimals(contract.pricetick) if contract else 4
        price, ok = QInputDialog.getDouble(self, "Move order", f"{view.text}\nNew price:",
                                           view.price, 0.0, 1e12, decimals)
        return ok and self.move(view.id, price)

    def move(self, key: str, price: float) -> bool:
        decision = self.managed.modify(key, price)
        self.message.setText("" if decision else f"not moved: {decision.message}")
        return bool(decision)

    def _menu(self, pos) -> None:
        if not self.view.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        menu.addAction("Move price…", self.move_selected)
        menu.addAction("Cancel order", self.cancel_selected)
        menu.addAction("Cancel its group", self.cancel_groups)
        menu.exec(self.view.viewport().mapToGlobal(pos))
