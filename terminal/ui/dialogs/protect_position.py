"""Protect a position: a stop, and a target if wanted, that close it as one OCO group (the
first to fill cancels the other, a partial fill reduces it). Both close only and never more
than the position; the stop is local (kept by the terminal), the target rests at the
exchange. The risk gate judges both before anything is placed; a refusal is shown here and
the dialog stays open."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QSpinBox, QWidget)
from vnpy.trader.constant import Direction
from vnpy.trader.object import PositionData

from terminal.market.pnl import is_long
from terminal.market.prices import price_decimals, round_to_tick
from terminal.orders import ManagedOrderError, ManagedOrders
from terminal.ui.colours import ERROR_TEXT_STYLE
from terminal.ui.dialogs.price_alert import price_box

DEFAULT_TICKS = 10       # the stop and target offered, in ticks from the last price


class ProtectPositionDialog(QDialog):
    def __init__(self, managed: ManagedOrders, position: PositionData, last: float,
                 pricetick: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.managed = managed
        self.position = position
        self.placed = ""
        long = is_long(position)
        self.exit = Direction.SHORT if long else Direction.LONG
        sign = 1 if long else -1
        held = abs(position.volume)
        self.setWindowTitle(f"Protect {position.vt_symbol}")
        self.stop_box = price_box(pricetick, round_to_tick(last - sign * DEFAULT_TICKS
                                                           * pricetick, pricetick))
        self.target_box = price_box(pricetick, round_to_tick(last + sign * DEFAULT_TICKS
                                                             * pricetick, pricetick))
        self.with_target = QCheckBox("Target")
        self.with_target.setChecked(True)
        self.with_target.toggled.connect(self.target_box.setEnabled)
        self.lots_box = QSpinBox()
        self.lots_box.setRange(1, max(int(held), 1))
        self.lots_box.setValue(int(held))
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_TEXT_STYLE)
        form = QFormLayout(self)
        side = "long" if long else "short"
        form.addRow(QLabel(f"{held:g} lots {side} at {position.price:.{price_decimals(pricetick)}f}"
                           f"; last {last:.{price_decimals(pricetick)}f}"))
        form.addRow("Stop (local)", self.stop_box)
        form.addRow(self.with_target, self.target_box)
        form.addRow("Lots", self.lots_box)
        form.addRow(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.place)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def place(self) -> bool:
        """Place the stop (with the target, as an OCO group); a refusal stays on screen."""
        vt_symbol, lots = self.position.vt_symbol, self.lots_box.value()
        try:
            if self.with_target.isChecked():
                self.placed = self.managed.place_oco(
                    vt_symbol, lots, [(self.exit, "stop", self.stop_box.value()),
                                      (self.exit, "limit", self.target_box.value())],
                    source="positions")
            else:
                self.placed = self.managed.place_stop(vt_symbol, self.exit, lots,
                                                      self.stop_box.value(), close_only=True,
                                                      source="positions")
        except ManagedOrderError as exc:
            self.error.setText(str(exc))
            return False
        self.accept()
        return True
