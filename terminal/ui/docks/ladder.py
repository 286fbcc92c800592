"""The price ladder (DOM) dock: click a price to trade it, drag an order to move it.

- Left-click in the bid (or own buys) column: a buy limit at that price; in the ask (or own
  sells) column: a sell limit. With a template chosen the order is a bracket's entry.
- Right-click in the ask column above the market: a buy stop; in the bid column below it: a
  sell stop (protective, `close_only`, when the opposite position holds the lots).
- Click an own order: cancel it (every order of that cell). Drag it to another row: modify
  it to that price (cancel-then-replace at the exchange, a local stop just moves). A refused
  drag snaps back and the cell says why.
- Space or Home recentres on the last price (the ladder recentres by itself when the last
  price leaves the middle band); the wheel and Page Up / Down scroll.

Every order goes through the managed orders (`terminal.orders.ManagedOrders`), which check
it with the risk gate before anything is sent: a refused one raises with the reason, shown
here, and nothing is sent. Cancel all and Flatten act at once, as the ticket's do: on a
ladder a confirmation would cost the trader the price.

The rows are drawn by `ui.ladder_view` from the Qt-free `market.ladder.LadderBook`; the
dock feeds it every batch and asks for a paint at the paced rate (`ui.pacing`), never per
tick. Today's volume at each price is seeded from the store's 1-minute bars on a worker
thread (`ThreadJob`) and then counted from the ticks.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import numpy as np
from PySide6.QtCore import QThreadPool, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QHBoxLayout, QLabel, QPushButton,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)
from vnpy.trader.constant import Direction, Exchange, Status
from vnpy.trader.object import TickData

from terminal.core.bridge import Batch
from terminal.core.symbols import BadSymbol, split_vt_symbol
from terminal.core.trading_day import current_trading_day, trading_day
from terminal.market.ladder import (LadderBook, LadderError, PositionSummary, closes_position,
                                    minutes_of_day, position_summary, stop_direction)
from terminal.market.prices import decimals_for, round_to_tick
from terminal.market.trading import Trading, TradingError
from terminal.orders import EVENT_MANAGED, ManagedOrderError, ManagedOrders, OrderTemplates
from terminal.storage.market_store import MarketStore
from terminal.ui.colours import ERROR_TEXT_STYLE
from terminal.ui.formats import pnl_text
from terminal.ui.ladder_view import BUY_COLUMNS, SELL_COLUMNS, LadderView
from terminal.ui.links import LinkButton
from terminal.ui.pacing import Pacer
from terminal.ui.status_line import StatusLine
from terminal.ui.template_box import TemplateBox
from terminal.ui.thread_jobs import ThreadJob

log = logging.getLogger(__name__)

DRAWS_PER_SECOND = 10          # as the tables, the ticket's book and the charts (ui.pacing)
QUANTITIES = (1, 2, 5, 10)
MAX_QUANTITY = 10_000
SOURCE = "ladder"              # who placed a managed order (the manager keeps it)
SEED_DAYS_BACK = 5             # a trading day's bars start at most this many days before it


def today_minutes(store: MarketStore, vt_symbol: str, day: date) -> dict:
    """The stored 1-minute bars of trading day `day` (columns as arrays). Worker thread."""
    symbol, exchange = split_vt_symbol(vt_symbol)
    start = datetime(day.year, day.month, day.day, tzinfo=store.tz) - timedelta(
        days=SEED_DAYS_BACK)
    table = store.load_table(symbol, Exchange(exchange), "1m", start=start)
    if not table.num_rows:
        empty = np.zeros(0)
        return {"datetime": empty.astype(np.int64), "high": empty, "low": empty,
                "volume": empty}
    times = table.column("datetime").to_numpy()
    keep = minutes_of_day(times, day, store.tz)
    return {"datetime": times[keep],
            **{name: table.column(column).to_numpy()[keep]
               for name, column in (("high", "high_price"), ("low", "low_price"),
                                    ("volume", "volume"))}}


class LadderDock(QWidget):
    symbol_chosen = Signal(str)     # a tradable symbol the trader chose here: its link group

    def __init__(self, trading: Trading, managed: ManagedOrders,
                 templates: OrderTemplates | None = None, store: MarketStore | None = None,
                 parent=None) -> None:
        """`templates`: the bracket templates (None: no template choice); `store`: where
        today's bars seed the volume column (None: counted from ticks only)."""
        super().__init__(parent)
        self.trading = trading
        self.managed = managed
        self.templates = templates
        self._pending_symbol = ""         # a restored symbol whose gateway has not connected
        self._positions: dict = {}        # the symbol's positions as last reported
        self.store = store
        self.book = LadderBook(managed_child=self._is_managed_child)
        self.summary = PositionSummary()
        self.shows = 0                   # paced paints asked for (tests count them)
        self._sent: set[str] = set()     # orders sent from here: their rejections are shown
        self._seed_requests = 0
        self._seed_job: ThreadJob | None = None

        self.link_button = LinkButton(self)
        self.symbol_box = QComboBox()
        self.symbol_box.setEditable(True)
        self.symbol_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.symbol_box.setMinimumContentsLength(12)
        self.symbol_box.lineEdit().returnPressed.connect(self._symbol_edited)
        self.symbol_box.activated.connect(lambda _: self._symbol_edited())
        self.template_box = TemplateBox(templates)
        self.template_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.template_box.setToolTip("Bracket template for the orders placed here (stop and "
                                     "targets attached to the entry)")
        self.position_line = StatusLine()       # changes with every tick: paced, no layout

        self.quantity = QSpinBox()
        self.quantity.setRange(1, MAX_QUANTITY)
        self.quantity.setToolTip("Lots of each order placed from the ladder")
        self.quantity_buttons = QButtonGroup(self)
        self.quantity_buttons.setExclusive(True)
        quantities = QHBoxLayout()
        quantities.addWidget(QLabel("Qty"))
        for lots in QUANTITIES:
            button = QToolButton()
            button.setText(str(lots))
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.quantity_buttons.addButton(button, lots)
            quantities.addWidget(button)
        self.quantity_buttons.idClicked.connect(self.quantity.setValue)
        self.quantity.valueChanged.connect(self._quantity_changed)
        quantities.addWidget(self.quantity)
        quantities.addStretch(1)
        quantities.addWidget(QLabel("Template"))
        quantities.addWidget(self.template_box)

        self.view = LadderView(self.book, self)
        self.view.cell_clicked.connect(self._cell_clicked)
        self.view.order_dropped.connect(self._order_dropped)
        self.view.rows_changed.connect(self._rows_changed)
        self.view.recentre_requested.connect(self.recentre)
        self.view.scrolled.connect(self._scroll)
        # Ticks are drawn at a reading pace, on the ladder's own clock (ui.pacing).
        self.paints = Pacer(self._show, DRAWS_PER_SECOND, self)

        self.centre_button = QPushButton("Centre")
        self.centre_button.setToolTip("Centre on the last price (Space or Home)")
        self.cancel_all_button = QPushButton("Cancel all")
        self.cancel_all_button.setToolTip("Cancel every order of this symbol: working orders "
                                          "and the terminal's stops")
        self.flatten_button = QPushButton("Flatten")
        self.flatten_button.setToolTip("Cancel this symbol's orders and close its position")
        for button in (self.centre_button, self.cancel_all_button, self.flatten_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)     # Space never presses one
        self.centre_button.clicked.connect(self.recentre)
        self.cancel_all_button.clicked.connect(self.cancel_all)
        self.flatten_button.clicked.connect(self.flatten)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_TEXT_STYLE)
        self.status_line = StatusLine()

        top = QHBoxLayout()
        top.addWidget(self.link_button)
        top.addWidget(self.symbol_box, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.centre_button)
        actions.addStretch(1)
        actions.addWidget(self.cancel_all_button)
        actions.addWidget(self.flatten_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.position_line)
        layout.addLayout(quantities)
        layout.addWidget(self.view, 1)
        layout.addLayout(actions)
        layout.addWidget(self.error_label)
        layout.addWidget(self.status_line)
        self.quantity.setValue(1)
        self._quantity_changed(1)

    # ------------------------------------------------------------------ symbol
    @property
    def vt_symbol(self) -> str:
        return self.book.vt_symbol

    def set_symbols(self, symbols: list[str]) -> None:
        current = self.symbol_box.currentText()
        self.symbol_box.blockSignals(True)
        self.symbol_box.clear()
        self.symbol_box.addItems(symbols)
        self.symbol_box.setCurrentText(current)
        self.symbol_box.blockSignals(False)

    def load_symbol(self, vt_symbol: str) -> bool:
        """Show `vt_symbol` (a contract a gateway reported); False, said, when it is not."""
        contract = self.trading.contract(vt_symbol)
        if contract is None or not contract.pricetick > 0:
            self._error(f"{vt_symbol.strip() or 'no symbol'}: not a contract of a connected "
                        f"gateway")
            return False
        vt_symbol = contract.vt_symbol
        self.symbol_box.setCurrentText(vt_symbol)
        if vt_symbol == self.vt_symbol:
            return True
        views = self.managed.views(vt_symbol)
        self.book.reset(vt_symbol, contract.pricetick, contract.size,
                        self.trading.working_orders(vt_symbol), views)
        self._error("")
        self.status_line.clear()
        tick = self.trading.main_engine.get_tick(vt_symbol)
        if tick is not None:
            self.book.on_tick(tick)
        self._seed_volume(tick)
        self._positions = {p.vt_positionid: p
                           for p in self.trading.main_engine.get_all_positions()
                           if p.vt_symbol == vt_symbol}
        self._show_position()
        self.paints.cancel()
        self._show()                      # at once: the old symbol's rows must go
        return True

    def link_symbol(self, vt_symbol: str) -> None:
        """Show `vt_symbol`, chosen in another window of the ladder's link group."""
        if vt_symbol != self.vt_symbol:
            self.load_symbol(vt_symbol)

    def _symbol_edited(self) -> None:
        text = self.symbol_box.currentText().strip()
        if text and text != self.vt_symbol and self.load_symbol(text):
            self.symbol_chosen.emit(self.vt_symbol)

    def _seed_volume(self, tick: TickData | None) -> None:
        """Today's stored 1-minute bars into the volume column, read on a worker thread."""
        self._seed_requests += 1
        if self.store is None:
            return
        request, vt_symbol, store = self._seed_requests, self.vt_symbol, self.store
        day = trading_day(tick.datetime) if tick is not None and tick.datetime else \
            current_trading_day()
        job = ThreadJob(lambda job: (request, day, today_minutes(store, vt_symbol, day)),
                        name=f"ladder volume {vt_symbol}")
        # Bound methods: Qt drops the connection when the dock is gone before the result.
        job.succeeded.connect(self._seeded)
        job.failed.connect(self._seed_failed)
        self._seed_job = job
        job.start(QThreadPool.globalInstance())

    def _seeded(self, result: tuple[int, date, dict]) -> None:
        request, day, bars = result
        volume = self.book.volume
        if request != self._seed_requests or volume is None:
            return                           # another symbol (or day) asked for since
        if volume.seed(day, bars["datetime"], bars["high"], bars["low"], bars["volume"]):
            self.view.update()

    def _seed_failed(self, exc: Exception) -> None:
        if self._seed_job is not None and self._seed_job.done is False \
                and self.sender() is self._seed_job:
            log.warning("ladder: today's bars of %s could not be read: %s", self.vt_symbol,
                        exc)
            self.status_line.setText(f"Volume from live ticks only: the stored bars of "
                                     f"{self.vt_symbol} could not be read ({exc})")

    # ------------------------------------------------------------------ live data
    def _quiet_load(self, vt_symbol: str) -> bool:
        """Load a restored symbol without an error line when it is not (yet) a contract."""
        if self.trading.contract(vt_symbol) is None:
            return False
        return self.load_symbol(vt_symbol)

    def apply(self, batch: Batch) -> None:
        if batch.contracts:
            known = {self.symbol_box.itemText(i) for i in range(self.symbol_box.count())}
            if not set(batch.contracts) <= known:
                self.set_symbols(sorted(known | set(batch.contracts)))
            pending = self._pending_symbol
            if pending and not self.vt_symbol and pending in batch.contracts:
                self._pending_symbol = ""
                self.load_symbol(pending)
        symbol = self.vt_symbol
        if not symbol:
            return
        own_changed = False
        for order in batch.orders.values():
            if order.vt_symbol == symbol:
                own_changed |= self.book.own.update_order(order)
                if order.vt_orderid in self._sent and order.status == Status.REJECTED:
                    self._sent.discard(order.vt_orderid)
                    reason = (order.extra or {}).get("reason") or "rejected"
                    self._error(f"{order.vt_orderid}: {reason}")
        for view in _managed_views(batch):
            own_changed |= self.book.own.update_view(view)
        tick = batch.ticks.get(symbol)
        if tick is not None:
            self.book.on_tick(tick)
            volume = self.book.volume
            if volume is not None and volume.new_day:
                volume.new_day = False
                self._seed_volume(tick)
        reported = [p for p in batch.positions.values() if p.vt_symbol == symbol]
        for position in reported:
            self._positions[position.vt_positionid] = position
        if tick is not None or reported:
            self._show_position()
        if own_changed:
            self.paints.cancel()
            self._show()                 # the trader's own orders show at once
        elif tick is not None:
            self.paints.request()

    def _show(self) -> None:
        """Repaint what changed (the view compares each row with what it painted)."""
        self.shows += 1
        self.view.refresh()

    def _show_position(self) -> None:
        """The header from the symbol's positions as last reported (read from the engine
        once per symbol, then kept from the batches: no scan of every position per tick)."""
        book = self.book
        self.summary = summary = position_summary(self._positions.values(), book.last,
                                                  book.size, book.pricetick)
        entry = book.entry
        book.set_position(summary)
        if book.entry != entry:
            self.paints.request()
        if not summary.net:
            hedged = f" (long {summary.long:g}, short {summary.short:g})" \
                if summary.long else ""
            self.position_line.setText(f"Flat{hedged}")
            return
        side = "Long" if summary.net > 0 else "Short"
        digits = decimals_for(book.pricetick)
        self.position_line.setText(
            f"{side} {abs(summary.net):g} @ {summary.average:,.{digits}f} · open P&L "
            f"{pnl_text(summary.pnl, summary.pnl_ticks)}")

    # ------------------------------------------------------------------ the rows
    def recentre(self) -> None:
        if self.book.recentre():
            self._show()

    def _scroll(self, rows: int) -> None:
        self.book.ladder.scroll(rows)
        self._show()

    def _rows_changed(self, rows: int) -> None:
        self.book.ladder.resize(rows)
        self._show()

    # ------------------------------------------------------------------ orders
    @property
    def lots(self) -> int:
        return self.quantity.value()

    @property
    def template(self) -> str | None:
        return self.template_box.chosen()

    def _cell_clicked(self, row: int, column: str, button) -> None:
        price = self.book.price_at(row)
        if price is None:
            return
        shown = self.book.row(row)
        if button == Qt.MouseButton.LeftButton:
            own = shown.buys if column == "buys" else shown.sells if column == "sells" else ()
            if own:
                self.cancel_orders(row, column)
            elif column in BUY_COLUMNS:
                self.place_limit(Direction.LONG, price, row, column)
            elif column in SELL_COLUMNS:
                self.place_limit(Direction.SHORT, price, row, column)
        elif button == Qt.MouseButton.RightButton and column in ("bid", "ask"):
            self.place_stop(column == "ask", price, row, column)

    def place_limit(self, direction: Direction, price: float, row: int = -1,
                    column: str = "") -> str | None:
        """A limit order at `price` (a bracket's entry with a template); None when refused,
        with the reason shown."""
        template = self.template
        try:
            key = self.managed.place_limit(self.vt_symbol, direction, self.lots, price,
                                           template=template, source=SOURCE)
        except (ManagedOrderError, TradingError) as exc:
            return self._refused(exc, row, column)
        self._sent.add(key)
        side = "Buy" if direction == Direction.LONG else "Sell"
        self._done(f"{side} {self.lots} @ {self._price_text(price)}"
                   + (f" · {template}" if template else "") + f" · {key}")
        return key

    def place_stop(self, ask_side: bool, price: float, row: int = -1,
                   column: str = "") -> str | None:
        """A stop at `price`: a buy stop above the market (ask side), a sell stop below
        (bid side); protective when the opposite position holds the lots."""
        try:
            direction = stop_direction(ask_side, price, self.book.last)
            close_only = closes_position(direction, self.lots, self.summary)
            template = None if close_only else self.template
            key = self.managed.place_stop(self.vt_symbol, direction, self.lots, price,
                                          close_only=close_only, template=template,
                                          source=SOURCE)
        except (LadderError, ManagedOrderError, TradingError) as exc:
            return self._refused(exc, row, column)
        side = "Buy" if direction == Direction.LONG else "Sell"
        self._done(f"{side} stop {self.lots} @ {self._price_text(price)}"
                   + (" · protective" if close_only else "") + " · local")
        return key

    def cancel_orders(self, row: int, column: str) -> int:
        """Cancel the own orders of one cell."""
        shown = self.book.row(row)
        orders = shown.buys if column == "buys" else shown.sells
        cancelled = sum(bool(self.managed.cancel(order.key)) for order in orders)
        self._done(f"Cancel requested for {cancelled} order(s) @ "
                   f"{self._price_text(shown.price)}")
        return cancelled

    def _order_dropped(self, from_row: int, to_row: int) -> None:
        """Own orders dragged from one row to another: modified to the new price, each
        through the gate. A refused one stays where it was, and the cell says why."""
        column = self.view.drag_side
        shown = self.book.row(from_row)
        price = self.book.price_at(to_row)
        if shown is None or price is None:
            return
        price = round_to_tick(price, self.book.pricetick)
        orders = shown.buys if column == "buys" else shown.sells
        refused = []
        for order in orders:
            try:
                decision = self.managed.modify(order.key, price)
            except (ManagedOrderError, TradingError) as exc:
                refused.append(str(exc))
                continue
            if not decision:
                refused.append(decision.message)
        if refused:
            message = f"Not moved to {self._price_text(price)}: " + "; ".join(refused)
            self._error(message)
            self.view.flash(from_row, column, message)
        else:
            self._done(f"Moving {len(orders)} order(s) to {self._price_text(price)}")
        self._show()

    def cancel_all(self) -> int:
        if not self.vt_symbol:
            self._error("choose the symbol whose orders to cancel")
            return 0
        count = self.managed.cancel_all(self.vt_symbol)
        self._done(f"Cancel all {self.vt_symbol}: {count} order(s)")
        return count

    def flatten(self) -> None:
        symbol = self.vt_symbol
        if not symbol:
            self._error("choose the symbol to flatten")
            return
        try:     # Flatten ends the symbol's managed orders too (EVENT_TRADER_CANCEL)
            cancelled, sent = self.trading.flatten(symbol)
        except TradingError as exc:
            self._error(str(exc))
            return
        self._done(f"Flatten {symbol}: {cancelled} cancel(s), {len(sent)} closing order(s)")

    # ------------------------------------------------------------------ messages
    def _refused(self, exc: Exception, row: int, column: str) -> None:
        """Nothing was sent: the reason in the error line and on the cell clicked."""
        message = str(exc)
        self._error(message)
        if row >= 0 and column:
            self.view.flash(row, column, message)

    def _error(self, message: str) -> None:
        if message:
            self.status_line.clear()
        if message != self.error_label.text():
            self.error_label.setText(message)

    def _done(self, message: str) -> None:
        self._error("")
        self.status_line.setText(message)

    def _price_text(self, price: float) -> str:
        return f"{price:,.{decimals_for(self.book.pricetick)}f}"

    def _quantity_changed(self, value: int) -> None:
        button = self.quantity_buttons.button(value)
        if button is not None:
            button.setChecked(True)
        else:
            checked = self.quantity_buttons.checkedButton()
            if checked is not None:
                self.quantity_buttons.setExclusive(False)
                checked.setChecked(False)
                self.quantity_buttons.setExclusive(True)

    def _is_managed_child(self, vt_orderid: str) -> bool:
        return self.managed.view_of_order(vt_orderid) is not None

    # ------------------------------------------------------------------ the layout's part
    def state(self) -> dict:
        return {"symbol": self.vt_symbol, "quantity": self.lots,
                "template": self.template or ""}

    def restore(self, state: dict) -> None:
        """What `state` gave; a value that does not fit is named and left as it is."""
        if not isinstance(state, dict):
            log.warning("ladder: saved state %r is not a mapping; not restored", state)
            return
        quantity = state.get("quantity", 1)
        if isinstance(quantity, int) and not isinstance(quantity, bool) \
                and 1 <= quantity <= MAX_QUANTITY:
            self.quantity.setValue(quantity)
        else:
            log.warning("ladder: saved quantity %r is not 1 to %d lots; kept %d", quantity,
                        MAX_QUANTITY, self.lots)
        template = state.get("template") or ""
        if not self.template_box.choose(template):
            log.warning("ladder: saved template %r is not one of the templates now; none "
                        "chosen", template)
        symbol = state.get("symbol") or ""
        if isinstance(symbol, str) and symbol:
            try:
                split_vt_symbol(symbol)
            except BadSymbol as exc:
                log.warning("ladder: saved symbol left out: %s", exc)
                return
            if not self._quiet_load(symbol):
                self._pending_symbol = symbol      # loaded when its gateway reports it
                self.symbol_box.setCurrentText(symbol)


def _managed_views(batch: Batch) -> list:
    return list(batch.routed.get(EVENT_MANAGED, {}).values()) if batch.routed else []
