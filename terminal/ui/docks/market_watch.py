"""Market watch: one row per watched symbol, live; double-click loads the order ticket."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCompleter, QLabel, QLineEdit, QMenu, QWidget
from vnpy.trader.object import ContractData, TickData

from terminal.core.bridge import Batch
from terminal.market.watchlist import Watchlist
from terminal.ui.docks.common import lay_out_table, make_table, record_at
from terminal.ui.formats import PRICE_DIGITS
from terminal.ui.links import LinkButton
from terminal.ui.models.table import Column, RecordTableModel, clock, number
from terminal.ui.colours import DOWN_BRUSH, ERROR_TEXT_STYLE, UP_BRUSH


def _change(tick: TickData) -> float | None:
    return (tick.last_price / tick.pre_close - 1) * 100 if tick.pre_close else None


def _trend(tick: TickData):
    if not tick.pre_close or tick.last_price == tick.pre_close:
        return None
    return UP_BRUSH if tick.last_price > tick.pre_close else DOWN_BRUSH


class MarketWatchModel(RecordTableModel):
    def __init__(self, watchlist: Watchlist, parent=None) -> None:
        columns = [
            Column("Symbol", lambda t: t.vt_symbol, width=118),
            Column("Name", lambda t: t.name, width=120),
            Column("Last", lambda t: (t.last_price, t.vt_symbol), PRICE_DIGITS.text, True, _trend),
            Column("Chg %", _change, number(2), True, _trend),
            Column("Bid", lambda t: (t.bid_price_1, t.vt_symbol), PRICE_DIGITS.text, True),
            Column("Bid vol", lambda t: t.bid_volume_1, number(0), True),
            Column("Ask", lambda t: (t.ask_price_1, t.vt_symbol), PRICE_DIGITS.text, True),
            Column("Ask vol", lambda t: t.ask_volume_1, number(0), True),
            Column("Volume", lambda t: t.volume, number(0), True),
            Column("Open int", lambda t: t.open_interest, number(0), True),
            Column("High", lambda t: (t.high_price, t.vt_symbol), PRICE_DIGITS.text, True),
            Column("Low", lambda t: (t.low_price, t.vt_symbol), PRICE_DIGITS.text, True),
            Column("Time", lambda t: t.datetime, clock, width=96),
        ]
        super().__init__(
            columns, key=lambda t: t.vt_symbol, accept=lambda t: t.vt_symbol in watchlist,
            parent=parent,
        )

    def _price(self, value) -> str:
        price, vt_symbol = value
        return f"{price:,.{self.decimals.get(vt_symbol, 2)}f}" if price else ""


class MarketWatchDock(QWidget):
    symbol_activated = Signal(str)
    chart_requested = Signal(str)
    alert_requested = Signal(str, float)        # "Alert at price…": the symbol, its last price
    symbol_chosen = Signal(str)       # the row the trader made current: for its link group

    def __init__(self, watchlist: Watchlist, parent=None) -> None:
        super().__init__(parent)
        self.watchlist = watchlist
        self.model = MarketWatchModel(watchlist, self)
        self.view = make_table(self.model, mirror=True)
        self.view.doubleClicked.connect(self._activated)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.link_button = LinkButton(self)

        self.add_edit = QLineEdit()
        self.add_edit.setPlaceholderText("Add symbol, e.g. rb2701.SHFE, and press Enter")
        self.add_edit.returnPressed.connect(self._add)
        self.completer = QCompleter([], self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.add_edit.setCompleter(self.completer)
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_TEXT_STYLE)

        lay_out_table(self, self.view, self.link_button, self.add_edit, self.message)
        self._known: set[str] = set()

    def apply(self, batch: Batch) -> None:
        if batch.contracts:
            self._contracts_arrived(list(batch.contracts.values()))
        if batch.ticks:
            self.model.replace_latest(batch.ticks)

    def _contracts_arrived(self, contracts: list[ContractData]) -> None:
        for contract in contracts:
            self._known.add(contract.vt_symbol)
        self.completer.model().setStringList(sorted(self._known))  # type: ignore[attr-defined]
        self.watchlist.contracts_arrived(contracts)

    def _add(self) -> None:
        error = self.watchlist.add(self.add_edit.text())
        self.message.setText(error)
        if not error:
            self.add_edit.clear()

    def _activated(self, index) -> None:
        tick = record_at(self.view, index.row())
        if tick is not None:
            self.symbol_activated.emit(tick.vt_symbol)

    def _current_changed(self, current, _previous) -> None:
        tick = record_at(self.view, current.row()) if current.isValid() else None
        if tick is not None:
            self.symbol_chosen.emit(tick.vt_symbol)

    def link_symbol(self, vt_symbol: str) -> None:
        """Make the row of `vt_symbol` current, when it is watched (its link group chose it)."""
        row = self.model.row_of(vt_symbol)
        if row is not None and row < self.view.model().rowCount():
            self.view.selectRow(row)
            self.view.scrollTo(self.view.model().index(row, 0))

    def _menu(self, pos) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        tick = record_at(self.view, index.row())
        if tick is None:
            return
        menu = QMenu(self)
        menu.addAction("Load in order ticket", lambda: self.symbol_activated.emit(tick.vt_symbol))
        menu.addAction("Open chart", lambda: self.chart_requested.emit(tick.vt_symbol))
        menu.addAction("Alert at price…",
                       lambda: self.alert_requested.emit(tick.vt_symbol, tick.last_price))
        menu.addAction("Remove from watch", lambda: self._remove(tick.vt_symbol))
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def _remove(self, vt_symbol: str) -> None:
        self.watchlist.remove(vt_symbol)
        self.model.set_filter(lambda t: t.vt_symbol in self.watchlist)
