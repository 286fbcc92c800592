"""Orders placed from a chart: the right-click menu's buy/sell limit and stop at the cursor's
price (on the tick), with the lots and the order template chosen in the same menu.

With the managed orders (`terminal.orders`) a limit goes to `place_limit` (the offset chosen
for the trader) and a stop to `place_stop` (a local stop); with a template each becomes a
bracket whose planned stop and targets come back as managed views and are drawn as lines
(`ui.chart.order_lines`). Every order passes the risk gate; a refusal is shown (the chart's
message line and a box) and nothing is sent. Without the managed orders (a chart made with
`ChartServices.minimal`) a limit or stop goes through the order ticket's checks.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox
from vnpy.trader.constant import Direction, Offset, OrderType

from terminal.market.prices import decimals_for, round_to_tick
from terminal.market.ticket import Ticket, TicketError
from terminal.market.trading import TradingError
from terminal.orders import ManagedOrderError
from terminal.ui.template_box import NO_TEMPLATE

if TYPE_CHECKING:
    from terminal.orders import ManagedOrders, OrderTemplates
    from terminal.ui.dialogs.order_templates import OrderTemplatesDialog

log = logging.getLogger(__name__)

LOT_CHOICES = (1, 2, 3, 5, 10)


class OrderEntry(QObject):
    """One chart's order entry: its chosen lots and template, the menu, and the sending."""

    def __init__(self, dock, managed: ManagedOrders | None = None,
                 templates: OrderTemplates | None = None) -> None:
        super().__init__(dock)
        self.dock = dock
        self.managed = managed
        self.templates = templates if managed is not None else None
        self.volume = 1
        self.template: str | None = None
        if self.templates is not None and self.templates.default in self.templates.names():
            self.choose_template(self.templates.default)
        self.menu_shown: QMenu | None = None
        self.error_box: QMessageBox | None = None
        self.dialog: OrderTemplatesDialog | None = None

    # ------------------------------------------------------------------ choices
    def choose_template(self, name: str | None) -> None:
        """The template for the next orders (None: plain orders); a template with targets
        sets the lots to theirs, since its targets share out the entry's lots."""
        if name is not None and (self.templates is None or name not in self.templates.names()):
            self.dock._fail(f"no order template {name!r}")
            return
        self.template = name
        if name is not None:
            lots = sum(target.volume for target in self.templates.get(name).targets)
            if lots:
                self.volume = lots

    def choose_volume(self, volume: int) -> None:
        if volume >= 1:
            self.volume = volume

    # ------------------------------------------------------------------ the menu
    def menu(self, cursor_price: float) -> QMenu:
        """Buy/sell limit and stop at the cursor's price (on the tick), then the lots and the
        template to place them with."""
        vt_symbol = self.dock.vt_symbol
        contract = self.dock.trading.contract(vt_symbol)
        menu = QMenu(self.dock)
        if contract is None:
            menu.addAction(f"{vt_symbol} is not tradable now").setEnabled(False)
            return menu
        price = round_to_tick(cursor_price, contract.pricetick)
        text = f"{price:.{decimals_for(contract.pricetick)}f}"
        suffix = f" · bracket {self.template}" if self.template else ""
        for label, direction, kind in (
            (f"Buy limit {self.volume} @ {text}", Direction.LONG, "limit"),
            (f"Sell limit {self.volume} @ {text}", Direction.SHORT, "limit"),
            (f"Buy stop {self.volume} @ {text}", Direction.LONG, "stop"),
            (f"Sell stop {self.volume} @ {text}", Direction.SHORT, "stop"),
        ):
            action = QAction(label + suffix, menu)
            action.triggered.connect(
                lambda _=False, d=direction, k=kind: self.place(d, k, price, self.volume))
            menu.addAction(action)
        menu.addSeparator()
        # Submenus made with a parent: one from addMenu(title) is deleted with its wrapper.
        lots = QMenu(f"Lots: {self.volume}", menu)
        self._lots_menu(lots)
        menu.addMenu(lots)
        if self.templates is not None:
            templates = QMenu(f"Template: {self.template or NO_TEMPLATE}", menu)
            self._template_menu(templates)
            menu.addMenu(templates)
        return menu

    def _lots_menu(self, menu: QMenu) -> None:
        group = QActionGroup(menu)
        for lots in LOT_CHOICES:
            action = QAction(str(lots), menu, checkable=True, checked=lots == self.volume)
            action.triggered.connect(lambda _=False, n=lots: self.choose_volume(n))
            group.addAction(action)
            menu.addAction(action)
        menu.addAction(QAction("Other…", menu, triggered=self._ask_volume))

    def _ask_volume(self) -> None:
        volume, ok = QInputDialog.getInt(self.dock, "Lots", "Lots for orders from the chart",
                                         self.volume, 1, 10_000)
        if ok:
            self.choose_volume(volume)

    def _template_menu(self, menu: QMenu) -> None:
        group = QActionGroup(menu)
        for name in [None, *self.templates.names()]:
            action = QAction(name or NO_TEMPLATE, menu, checkable=True,
                             checked=name == self.template)
            action.triggered.connect(lambda _=False, n=name: self.choose_template(n))
            group.addAction(action)
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(QAction("Order templates…", menu, triggered=self.open_templates))

    def open_templates(self) -> OrderTemplatesDialog:
        from terminal.ui.dialogs.order_templates import OrderTemplatesDialog

        self.dialog = OrderTemplatesDialog(self.templates, self.dock)
        self.dialog.open()
        return self.dialog

    # ------------------------------------------------------------------ sending
    def place(self, direction: Direction, kind: str, price: float, volume: float) -> str:
        """A limit or a stop ("limit"/"stop") at `price` with the chosen template: the
        order's id (a bracket's group id), or "" when it was refused (the reason shown)."""
        vt_symbol = self.dock.vt_symbol
        if self.managed is None:
            return self._send_ticket(direction, OrderType.LIMIT if kind == "limit"
                                     else OrderType.STOP, price, volume)
        try:
            if kind == "limit":
                return self.managed.place_limit(vt_symbol, direction, volume, price,
                                                template=self.template, source="chart")
            return self.managed.place_stop(vt_symbol, direction, volume, price,
                                           template=self.template, source="chart")
        except ManagedOrderError as exc:
            self._refused(str(exc))
        return ""

    def _send_ticket(self, direction: Direction, order_type: OrderType, price: float,
                     volume: float) -> str:
        """Through the same checks as the order ticket, to open."""
        ticket = Ticket(self.dock.vt_symbol, direction, Offset.OPEN, order_type, price, volume,
                        reference="chart")
        try:
            return self.dock.trading.send_ticket(ticket)
        except TicketError as exc:
            self._refused("; ".join(exc.errors.values()))
        except TradingError as exc:
            self._refused(str(exc))
        return ""

    def _refused(self, message: str) -> None:
        self.dock._fail(f"order not sent: {message}")
        box = QMessageBox(QMessageBox.Icon.Warning, "Order not sent", message,
                          QMessageBox.StandardButton.Ok, self.dock)
        box.open()
        self.error_box = box
