"""Positions with floating P&L marked to the latest tick, and close / flatten actions.

Floating P&L is computed here from the last price and the contract multiplier, so it moves
with every tick whatever the gateway reports and however often it reports it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMenu, QPushButton, QWidget
from vnpy.trader.constant import Direction
from vnpy.trader.object import PositionData

from terminal.core.bridge import Batch
from terminal.market.pnl import open_pnl
from terminal.market.trading import Trading, TradingError
from terminal.orders import ManagedOrders
from terminal.ui.formats import PRICE_DIGITS
from terminal.ui.docks.common import lay_out_table, make_table, selected_records
from terminal.ui.labels import DIRECTION, label
from terminal.ui.models.table import Column, RecordTableModel, number
from terminal.ui.status_line import StatusLine
from terminal.ui.colours import DOWN_BRUSH, ERROR_TEXT_STYLE, UP_BRUSH, up_or_down


class PositionsModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        self.last: dict[str, float] = {}
        self.size: dict[str, float] = {}
        super().__init__(
            [
                Column("Symbol", lambda p: p.vt_symbol, width=118),
                Column(
                    "Direction", lambda p: label(DIRECTION, p.direction),
                    color=lambda p: UP_BRUSH if p.direction == Direction.LONG else DOWN_BRUSH,
                ),
                Column("Volume", lambda p: p.volume, number(0), True),
                Column("Yesterday", lambda p: p.yd_volume, number(0), True),
                Column("Today", lambda p: p.volume - p.yd_volume, number(0), True),
                Column("Frozen", lambda p: p.frozen, number(0), True),
                Column("Avg price", lambda p: p.price, number(3), True),
                Column("Last", lambda p: (self.last.get(p.vt_symbol), p.vt_symbol),
                       PRICE_DIGITS.text, True),
                Column("Float P&L", self.floating_pnl, number(2), True, self._pnl_color),
                Column("Margin", lambda p: (p.extra or {}).get("margin"), number(2), True),
            ],
            key=lambda p: p.vt_positionid,
            accept=lambda p: p.volume > 0,
            snapshots=False,  # re-shown with a new last price, same object
            parent=parent,
        )

    def floating_pnl(self, position: PositionData) -> float:
        last = self.last.get(position.vt_symbol)
        size = self.size.get(position.vt_symbol)
        if last is None or size is None or not position.volume:
            return position.pnl
        return open_pnl(position, last, size, 0.0)[0]

    def _pnl_color(self, position: PositionData):
        pnl = self.floating_pnl(position)
        return up_or_down(pnl)

    def total_pnl(self) -> float:
        return sum(self.floating_pnl(p) for p in self.records())

    def apply(self, batch: Batch) -> None:
        for contract in batch.contracts.values():
            self.size[contract.vt_symbol] = contract.size
        if batch.positions:
            self.upsert(batch.positions.values())
        if batch.ticks:
            last = self.last
            for vt_symbol, tick in batch.ticks.items():
                last[vt_symbol] = tick.last_price
            marked = [p for p in self.records() if p.vt_symbol in batch.ticks]
            if marked:
                self.upsert(marked)


class PositionsDock(QWidget):
    def __init__(self, trading: Trading, managed: ManagedOrders | None = None,
                 parent=None) -> None:
        """`managed`: "Protect with stop and target…" places its OCO exits."""
        super().__init__(parent)
        self.trading = trading
        self.managed = managed
        self.model = PositionsModel(self)
        self.view = make_table(self.model)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.close_button = QPushButton("Close selected")
        self.close_button.clicked.connect(self.close_selected)
        self.flatten_button = QPushButton("Flatten all")
        self.flatten_button.clicked.connect(self.flatten_all)
        self.total_label = StatusLine()     # changes with every tick: no layout, paced
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_TEXT_STYLE)
        lay_out_table(self, self.view,
                      self.total_label, (self.message, 1), self.close_button, self.flatten_button)

    def apply(self, batch: Batch) -> None:
        self.model.apply(batch)
        if batch.positions or batch.ticks:
            self.total_label.setText(f"Float P&L {self.model.total_pnl():,.2f}")

    def close_selected(self) -> list[str]:
        sent: list[str] = []
        self.message.clear()
        for position in selected_records(self.view):
            try:
                sent += self.trading.close_position(position.vt_positionid)
            except TradingError as exc:
                self.message.setText(str(exc))
        return sent

    def flatten_all(self) -> None:
        self.message.clear()
        try:
            self.trading.flatten()
        except TradingError as exc:
            self.message.setText(str(exc))

    def protect_dialog(self):
        """The dialog for the selected position, or None (several or none selected, no
        quote yet)."""
        from terminal.ui.dialogs.protect_position import ProtectPositionDialog

        chosen = selected_records(self.view)
        if len(chosen) != 1 or self.managed is None:
            return None
        position = chosen[0]
        tick = self.trading.main_engine.get_tick(position.vt_symbol)
        contract = self.trading.contract(position.vt_symbol)
        if tick is None or contract is None:
            self.message.setText(f"no quote for {position.vt_symbol} yet")
            return None
        return ProtectPositionDialog(self.managed, position, tick.last_price,
                                     contract.pricetick, self)

    def protect_selected(self) -> None:
        dialog = self.protect_dialog()
        if dialog is not None:
            dialog.open()
            self.protect = dialog

    def _menu(self, pos) -> None:
        if not self.view.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        menu.addAction("Close position", self.close_selected)
        if self.managed is not None:
            menu.addAction("Protect with stop and target…", self.protect_selected)
        menu.addAction("Flatten all", self.flatten_all)
        menu.exec(self.view.viewport().mapToGlobal(pos))
