"""Order entry: symbol, direction, offset, type, price, volume, and the 5-level book.

Every field is checked by `terminal.market.ticket` before anything is sent; a wrong field is
outlined with its message and the order does not leave the terminal.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.object import TickData

from terminal.core.bridge import Batch
from terminal.market.prices import decimals_for
from terminal.market.ticket import (
    PRICED_TYPES,
    TICKET_OFFSETS,
    TICKET_TYPES,
    Ticket,
    TicketError,
    to_request,
)
from terminal.market.trading import Trading, TradingError
from terminal.orders import ManagedOrderError, ManagedOrders, OrderTemplates
from terminal.ui.labels import DIRECTION, OFFSET, ORDER_TYPE
from terminal.ui.links import LinkButton
from terminal.ui.pacing import Pacer
from terminal.ui.status_line import StatusLine
from terminal.ui.template_box import TemplateBox
from terminal.ui.colours import DOWN, ERROR_FIELD_STYLE, ERROR_TEXT_STYLE, UP

log = logging.getLogger(__name__)

LEVELS = 5
DEPTH_REFRESHES_PER_SECOND = 10


class OrderTicketDock(QWidget):
    symbol_chosen = Signal(str)     # a tradable symbol now in the ticket: for its link group

    def __init__(self, trading: Trading, managed: ManagedOrders | None = None,
                 templates: OrderTemplates | None = None, parent=None) -> None:
        """`managed`: brackets (with a template) and local stops (a stop on a gateway that
        keeps none) go through it; `templates`: the names offered."""
        super().__init__(parent)
        self.trading = trading
        self.managed = managed
        self.templates = templates
        self._tick: TickData | None = None
        self._decimals = 2
        self._field_errors: dict[str, str] = {}

        self.symbol_box = QComboBox()
        self.symbol_box.setEditable(True)
        self.symbol_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.symbol_box.lineEdit().editingFinished.connect(self._symbol_edited)
        self.symbol_box.activated.connect(lambda _: self._symbol_edited())
        self.direction_box = self._combo(DIRECTION, (Direction.LONG, Direction.SHORT))
        self.offset_box = self._combo(OFFSET, TICKET_OFFSETS)
        self.type_box = self._combo(ORDER_TYPE, TICKET_TYPES)
        self.type_box.currentIndexChanged.connect(self._type_changed)
        self.price_edit = QLineEdit()
        self.volume_edit = QLineEdit("1")
        self.template_box = TemplateBox(templates)
        self.template_box.setToolTip("A named bracket: the order becomes its entry, with the "
                                     "template's stop and targets (Trading → Order templates)")
        self.fields = {
            "symbol": self.symbol_box,
            "direction": self.direction_box,
            "offset": self.offset_box,
            "type": self.type_box,
            "price": self.price_edit,
            "volume": self.volume_edit,
        }

        form = QFormLayout()
        self.link_button = LinkButton(self)
        symbol_row = QHBoxLayout()
        symbol_row.addWidget(self.symbol_box, 1)
        symbol_row.addWidget(self.link_button)
        form.addRow("Symbol", symbol_row)
        form.addRow("Direction", self.direction_box)
        form.addRow("Offset", self.offset_box)
        form.addRow("Type", self.type_box)
        form.addRow("Price", self.price_edit)
        form.addRow("Volume", self.volume_edit)
        if managed is not None:
            form.addRow("Template", self.template_box)

        self.buy_button = QPushButton("Buy (F2)")
        self.buy_button.setStyleSheet("background-color: #c83737; color: white; font-weight: bold")
        self.sell_button = QPushButton("Sell (F3)")
        self.sell_button.setStyleSheet("background-color: #2c9a5a; color: white; font-weight: bold")
        self.send_button = QPushButton("Send")
        self.cancel_all_button = QPushButton("Cancel all (F4)")
        self.flatten_button = QPushButton("Flatten symbol")
        self.buy_button.clicked.connect(self.buy)
        self.sell_button.clicked.connect(self.sell)
        self.send_button.clicked.connect(self.send)
        self.cancel_all_button.clicked.connect(self.cancel_all)
        self.flatten_button.clicked.connect(self.flatten)
        buttons = QGridLayout()
        buttons.addWidget(self.buy_button, 0, 0)
        buttons.addWidget(self.sell_button, 0, 1)
        buttons.addWidget(self.send_button, 1, 0, 1, 2)
        buttons.addWidget(self.cancel_all_button, 2, 0)
        buttons.addWidget(self.flatten_button, 2, 1)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_TEXT_STYLE)
        self.status_label = StatusLine()        # changes at every order: see ui.status_line

        self.depth = QTableWidget(2 * LEVELS, 3)
        self.depth.setHorizontalHeaderLabels(["", "Price", "Volume"])
        self.depth.verticalHeader().setVisible(False)
        self.depth.verticalHeader().setDefaultSectionSize(18)
        self.depth.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.depth.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.depth.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.depth.cellClicked.connect(self._depth_clicked)
        # The book changes with every tick; it is shown at a reading pace (ui.pacing).
        self._depth_shows = Pacer(self._show_depth, DEPTH_REFRESHES_PER_SECOND, self)
        self._depth_texts = [["", "", ""] for _ in range(2 * LEVELS)]
        for row in range(2 * LEVELS):
            ask = row < LEVELS
            level = LEVELS - row if ask else row - LEVELS + 1
            color = DOWN if ask else UP
            for column in range(3):
                item = QTableWidgetItem(f"{'Ask' if ask else 'Bid'} {level}" if column == 0 else "")
                item.setForeground(color)
                if column:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.depth.setItem(row, column, item)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.error_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.depth)

    @staticmethod
    def _combo(labels: dict, values) -> QComboBox:
        box = QComboBox()
        for value in values:
            box.addItem(labels[value], value)
        return box

    # ------------------------------------------------------------------ public actions
    @property
    def vt_symbol(self) -> str:
        return self.symbol_box.currentText().strip()

    def load_symbol(self, vt_symbol: str) -> None:
        """Point the ticket at a symbol (market watch double-click) and price it at the last."""
        self.symbol_box.setCurrentText(vt_symbol)
        self._symbol_edited()

    def link_symbol(self, vt_symbol: str) -> None:
        """Show `vt_symbol`, chosen in another window of the ticket's link group."""
        if vt_symbol != self.vt_symbol:
            self.load_symbol(vt_symbol)

    def set_symbols(self, symbols: list[str]) -> None:
        current = self.vt_symbol
        self.symbol_box.blockSignals(True)
        self.symbol_box.clear()
        self.symbol_box.addItems(symbols)
        self.symbol_box.setCurrentText(current)
        self.symbol_box.blockSignals(False)

    def buy(self) -> str | None:
        self.direction_box.setCurrentIndex(self.direction_box.findData(Direction.LONG))
        return self.send()

    def sell(self) -> str | None:
        self.direction_box.setCurrentIndex(self.direction_box.findData(Direction.SHORT))
        return self.send()

    def ticket(self) -> Ticket:
        return Ticket(
            vt_symbol=self.vt_symbol,
            direction=self.direction_box.currentData(),
            offset=self.offset_box.currentData(),
            order_type=self.type_box.currentData(),
            price=self.price_edit.text(),
            volume=self.volume_edit.text(),
        )

    def _managed_send(self, ticket: Ticket) -> str | None:
        """A bracket or a local stop; None when the ticket is for the gateway as it is."""
        template = self.template_box.chosen()
        contract = self.trading.contract(ticket.vt_symbol)
        local_stop = ticket.order_type == OrderType.STOP and contract is not None \
            and not contract.stop_supported
        if self.managed is None or not (template or local_stop):
            return None
        req = to_request(ticket, contract)            # field errors first (TicketError)
        managed = self.managed
        if template and req.offset != Offset.OPEN:
            raise TicketError({"offset": "a bracket opens a position: choose Open"})
        if req.type == OrderType.STOP:
            return managed.place_stop(req.vt_symbol, req.direction, req.volume, req.price,
                                      close_only=req.offset != Offset.OPEN,
                                      template=template, source="ticket")
        if req.type not in (OrderType.LIMIT, OrderType.MARKET):
            raise TicketError({"type": "a bracket's entry is a limit, market or stop order"})
        return managed.place_bracket(req.vt_symbol, req.direction, req.volume,
                                     req.price if req.type == OrderType.LIMIT else None,
                                     template, source="ticket")

    def send(self) -> str | None:
        self._show_errors({})
        try:
            ticket = self.ticket()
            placed = self._managed_send(ticket)
            vt_orderid = placed or self.trading.send_ticket(ticket)
        except TicketError as exc:
            self._show_errors(exc.errors)
            return None
        except (TradingError, ManagedOrderError) as exc:
            self.error_label.setText(str(exc))
            return None
        self.status_label.setText(f"Placed {placed}: see Stops and brackets" if placed
                                  else f"Sent {vt_orderid}")
        return vt_orderid

    def cancel_all(self) -> int:
        count = self.trading.cancel_all()
        self.status_label.setText(f"Cancel requested for {count} working order(s)")
        return count

    def flatten(self) -> None:
        symbol = self.vt_symbol
        if not symbol:
            self._show_errors({"symbol": "choose the symbol to flatten"})
            return
        try:
            cancelled, sent = self.trading.flatten(symbol)
        except TradingError as exc:
            self.error_label.setText(str(exc))
            return
        self.status_label.setText(
            f"Flatten {symbol}: {cancelled} cancel(s), {len(sent)} closing order(s)"
        )

    def show_keys(self, buy: str, sell: str, cancel_all: str) -> None:
        """Name the trader's keys on the buttons ("" for an action with no key)."""
        for button, title, key in ((self.buy_button, "Buy", buy),
                                   (self.sell_button, "Sell", sell),
                                   (self.cancel_all_button, "Cancel all", cancel_all)):
            button.setText(f"{title} ({key})" if key else title)

    # ------------------------------------------------------------------ live data
    def apply(self, batch: Batch) -> None:
        if batch.contracts:
            known = {self.symbol_box.itemText(i) for i in range(self.symbol_box.count())}
            if not set(batch.contracts) <= known:
                self.set_symbols(sorted(known | set(batch.contracts)))
        tick = batch.ticks.get(self.vt_symbol)
        if tick is not None:
            self._show_tick(tick)

    def _show_tick(self, tick: TickData) -> None:
        self._tick = tick
        if not self.price_edit.text():
            self.price_edit.setText(self._format(tick.last_price))
        self._depth_shows.request()

    def _show_depth(self) -> None:
        """The book of the latest tick (none: empty levels)."""
        tick = self._tick
        for level in range(1, LEVELS + 1):
            ask_row, bid_row = LEVELS - level, LEVELS + level - 1
            if tick is None:
                self._set_level(ask_row, 0, 0)
                self._set_level(bid_row, 0, 0)
                continue
            self._set_level(ask_row, getattr(tick, f"ask_price_{level}"),
                            getattr(tick, f"ask_volume_{level}"))
            self._set_level(bid_row, getattr(tick, f"bid_price_{level}"),
                            getattr(tick, f"bid_volume_{level}"))

    def _set_level(self, row: int, price: float, volume: float) -> None:
        self._set_cell(row, 1, self._format(price) if price else "")
        self._set_cell(row, 2, f"{volume:,.0f}" if price else "")

    def _set_cell(self, row: int, column: int, text: str) -> None:
        """Only a changed text is written: each write repaints its cell."""
        if self._depth_texts[row][column] != text:
            self._depth_texts[row][column] = text
            self.depth.item(row, column).setText(text)

    def _format(self, price: float) -> str:
        return f"{price:.{self._decimals}f}"

    # ------------------------------------------------------------------ internals
    def _symbol_edited(self) -> None:
        contract = self.trading.contract(self.vt_symbol)
        if contract is None:
            return
        self._decimals = decimals_for(contract.pricetick)
        tick = self.trading.main_engine.get_tick(contract.vt_symbol)
        self._tick = None
        self.price_edit.clear()
        if tick is not None:
            self._show_tick(tick)
        self._depth_shows.cancel()
        self._show_depth()                      # at once: the old symbol's book must go
        self._show_errors({})
        self.symbol_chosen.emit(contract.vt_symbol)

    def _depth_clicked(self, row: int, column: int) -> None:
        text = self.depth.item(row, 1).text()
        if text:
            self.price_edit.setText(text.replace(",", ""))

    def _type_changed(self) -> None:
        self.price_edit.setEnabled(self.type_box.currentData() in PRICED_TYPES)

    def _show_errors(self, errors: dict[str, str]) -> None:
        """Mark the fields in error; only fields whose message changed are touched (a style
        sheet set, even unchanged, re-polishes the widget: too dear on every order sent)."""
        for name, widget in self.fields.items():
            message = errors.get(name, "")
            if message != self._field_errors.get(name, ""):
                widget.setStyleSheet(ERROR_FIELD_STYLE if message else "")
                widget.setToolTip(message)
        self._field_errors = dict(errors)
        text = "\n".join(f"{k.capitalize()}: {v}" for k, v in errors.items())
        if text != self.error_label.text():
            self.error_label.setText(text)
        if errors:
            self.status_label.clear()
