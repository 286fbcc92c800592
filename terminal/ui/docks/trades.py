"""Trades: every fill, newest kept, never coalesced away."""

from __future__ import annotations

from vnpy.trader.constant import Direction

from terminal.core.bridge import Batch
from terminal.ui.formats import PRICE_DIGITS
from terminal.ui.docks.common import TableDock
from terminal.ui.labels import DIRECTION, OFFSET, label
from terminal.ui.models.table import Column, RecordTableModel, clock, number
from terminal.ui.colours import DOWN_BRUSH, UP_BRUSH

MAX_TRADES = 100_000


class TradesModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            [
                Column("Time", lambda t: t.datetime, clock, width=96),
                Column("Trade id", lambda t: t.vt_tradeid, width=140),
                Column("Order id", lambda t: t.vt_orderid, width=130),
                Column("Symbol", lambda t: t.vt_symbol, width=118),
                Column(
                    "Direction", lambda t: label(DIRECTION, t.direction),
                    color=lambda t: UP_BRUSH if t.direction == Direction.LONG else DOWN_BRUSH,
                ),
                Column("Offset", lambda t: label(OFFSET, t.offset)),
                Column("Price", lambda t: (t.price, t.vt_symbol), PRICE_DIGITS.text, True),
                Column("Volume", lambda t: t.volume, number(0), True),
            ],
            key=lambda t: t.vt_tradeid,
            max_rows=MAX_TRADES,
            parent=parent,
        )


class TradesDock(TableDock):
    def __init__(self, parent=None) -> None:
        super().__init__(TradesModel(), parent=parent)

    def apply(self, batch: Batch) -> None:
        if batch.trades:
            self.model.upsert(batch.trades)
