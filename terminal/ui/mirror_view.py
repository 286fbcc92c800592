"""A table whose cells Qt paints from C++: the market watch's view.

A repaint of a Python model, however lean, runs Python and gives up and retakes the GIL at
every painting call, so it waits on the gateway and engine threads; Qt's own item model
paints without touching Python or the GIL. So the market watch shows a `QStandardItemModel`
mirror of its `RecordTableModel`: only the rows on screen are written (a `setText` keeps the
GIL), at most
`MAX_REFRESHES_PER_SECOND` times a second on its own clock (`ui.pacing`), and rows scrolled
into view are written then.
The record model stays the one source of truth: sorting is forwarded to it and rows keep
the same numbers, so selections and clicks map straight back to records. Rows are empty until
they are first shown (a million-order day costs a pointer per cell, not an item), which is
what lets the Orders dock use a mirror too: its Python repaints would hold up the engine
threads for the GIL at every order.

Rows removed, inserted among the shown ones or re-sorted change the mirror's row count or move
every row, which repaints the whole table while order acks wait: those join at most
`MAX_RESHAPES_PER_SECOND` times a second, never one by one. Between reshapes the mirror's rows
keep what they showed, and actions read the record a row shows (`record_at`), and the selection
follows its records across a reshape, so "Cancel selected" cancels what the trader sees
highlighted.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView

from terminal.ui.models.table import RecordTableModel, adjacent_runs
from terminal.ui.pacing import Pacer

MAX_REFRESHES_PER_SECOND = 10
# Rows removed or inserted among the shown ones, or a new sort order: whole-table repaints.
MAX_RESHAPES_PER_SECOND = 10
# A change of the row count re-lays out and repaints the whole table while acks wait; rows
# added below the visible ones only lengthen the scroll bar, so they join at most this often.
MAX_GROWTHS_PER_SECOND = 2
# A larger selection is not carried across reshapes (finding its records would cost more
# than the repaint it rides on); it stays on its row numbers.
MAX_FOLLOWED_SELECTION = 1000
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RESELECT = (QItemSelectionModel.SelectionFlag.ClearAndSelect
             | QItemSelectionModel.SelectionFlag.Rows)


class MirrorModel(QStandardItemModel):
    def __init__(self, source: RecordTableModel, parent=None) -> None:
        super().__init__(0, len(source.columns), parent)
        self.source = source
        self.setHorizontalHeaderLabels([column.title for column in source.columns])
        for number, column in enumerate(source.columns):
            if column.tooltip:
                self.setHeaderData(number, Qt.Orientation.Horizontal, column.tooltip,
                                   Qt.ItemDataRole.ToolTipRole)
        self._written: dict[int, tuple] = {}   # row -> (texts, colours, record) on screen
        # The items made so far (asking the model for one is a call across the binding);
        # rows only ever go from the end, in `match_rows`, which drops theirs.
        self._items: dict[tuple[int, int], QStandardItem] = {}
        self._aligns = [_RIGHT if c.numeric else _LEFT for c in source.columns]
        self._brushes: dict[int | None, QBrush] = {}

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self.source.sort(column, order)

    def match_rows(self) -> None:
        """Same number of rows as the source; rows keep what they show until written again."""
        wanted, count = self.source.rowCount(), self.rowCount()
        if wanted != count:
            self.setRowCount(wanted)         # new rows hold no items until written
            if wanted < count:               # the rows past `wanted` and their items are gone
                self._written = {r: shown for r, shown in self._written.items() if r < wanted}
                self._items = {at: item for at, item in self._items.items() if at[0] < wanted}

    def record_at(self, row: int):
        """The record row `row` shows (the source's, for a row not written yet)."""
        shown = self._written.get(row)
        if shown is not None:
            return shown[2]
        return self.source.record(row) if 0 <= row < self.source.rowCount() else None

    def _cell(self, row: int, column: int) -> QStandardItem:
        item = self._items.get((row, column))
        if item is None:
            item = QStandardItem()
            item.setEditable(False)
            item.setTextAlignment(self._aligns[column])
            self.setItem(row, column, item)
            self._items[row, column] = item
        return item

    def write(self, first: int, last: int) -> None:
        """Copy rows first..last from the source where they differ from what is shown."""
        source, written, item = self.source, self._written, self._cell
        unchanged_if_same = source.snapshots
        for row in range(first, min(last, source.rowCount() - 1, self.rowCount() - 1) + 1):
            record = source.record(row)
            shown = written.get(row)
            if unchanged_if_same and shown is not None and shown[2] is record:
                continue
            texts, colours = source.cells(record)
            for column, text in enumerate(texts):
                if shown is None or shown[0][column] != text:
                    item(row, column).setText(text)
                colour = colours[column]
                if shown is None or shown[1][column] != colour:
                    if colour is None:      # the palette's text colour (an empty brush is black)
                        item(row, column).setData(None, Qt.ItemDataRole.ForegroundRole)
                    else:
                        item(row, column).setForeground(self._brush(colour))
            written[row] = (texts, colours, record)

    def _brush(self, colour: int | None) -> QBrush:
        brush = self._brushes.get(colour)
        if brush is None:
            brush = QBrush() if colour is None else QBrush(QColor.fromRgba(colour))
            self._brushes[colour] = brush
        return brush


class MirrorTableView(QTableView):
    def __init__(self, source: RecordTableModel, parent=None) -> None:
        super().__init__(parent)
        self.source = source
        self.mirror = MirrorModel(source, self)
        self.setModel(self.mirror)
        # Refreshes in turn with other views (ui.pacing).
        self._refreshes = Pacer(self.refresh, MAX_REFRESHES_PER_SECOND, self)
        self._reshape_gap = 1.0 / MAX_RESHAPES_PER_SECOND
        self._last_reshape = 0.0
        self._restructure = False            # rows moved, came or went since the last write
        self._growth_timer = QTimer(self)
        self._growth_timer.setSingleShot(True)
        self._growth_timer.timeout.connect(self._restructure_now)
        source.dataChanged.connect(self._schedule)
        source.rowsInserted.connect(self._source_grew)
        for signal in (source.rowsRemoved, source.rowsMoved, source.layoutChanged,
                       source.modelReset):
            signal.connect(self._source_reshaped)
        source.rearranged.connect(self._restructure_now)      # the trader's doing: now
        self.verticalScrollBar().valueChanged.connect(lambda _: self.refresh())
        self.mirror.match_rows()

    def record_at(self, row: int):
        return self.mirror.record_at(row)

    def _schedule(self, *args) -> None:
        self._refreshes.request(after=self._due())

    def _due(self) -> float:
        """The earliest time the next write may come: at once, but a reshape that changes
        the row count waits out its own gap."""
        if self._restructure and self.source.rowCount() != self.mirror.rowCount():
            return self._last_reshape + self._reshape_gap
        return 0.0

    def _source_grew(self, _parent, first: int, _last: int) -> None:
        """Rows appended below a full view join with the next growth; others as a reshape."""
        if not self._restructure and first >= self.mirror.rowCount() and self.isVisible():
            last_shown = self.rowAt(self.viewport().height() - 1)
            if last_shown >= 0 and first > last_shown + 1:
                if not self._growth_timer.isActive():
                    self._growth_timer.start(int(1000 / MAX_GROWTHS_PER_SECOND))
                return
        self._source_reshaped()

    def _source_reshaped(self, *args) -> None:
        self._restructure = True
        self._schedule()

    def _restructure_now(self) -> None:
        """Match the source now, whatever the pacing (the trader's own request, or a paced
        growth that is due)."""
        self._refreshes.cancel()
        self._apply_structure()
        self._write_shown()

    def refresh(self) -> None:
        """Write the rows on screen (after any reshape that is due); scrolling writes the rows
        it brings into view."""
        if self._restructure:
            if self._due() > time.perf_counter() and \
                    self.source.rowCount() != self.mirror.rowCount():
                self._schedule()                        # not due: rows keep what they show
                return
            self._apply_structure()
        self._write_shown()

    def _apply_structure(self) -> None:
        self._restructure = False
        self._growth_timer.stop()
        held = self._held_selection()
        if self.source.rowCount() != self.mirror.rowCount():
            self._last_reshape = time.perf_counter()
        self.mirror.match_rows()
        if held is not None:
            self._follow(*held)

    def _held_selection(self) -> tuple[list, object] | None:
        """The records selected and current, while rows still show them."""
        selection = self.selectionModel()
        current = self.currentIndex()
        if not selection.hasSelection() and not current.isValid():
            return None
        rows = selection.selectedRows()
        if len(rows) > MAX_FOLLOWED_SELECTION:
            return None
        record_at = self.mirror.record_at
        current_record = record_at(current.row()) if current.isValid() else None
        return [record_at(index.row()) for index in rows], (current_record, current.column())

    def _follow(self, records: list, current: tuple) -> None:
        """Select the rows that now show `records`; keep the current cell on its record."""
        row_of, count = self.source.row_of_record, self.mirror.rowCount()
        rows = sorted({row for row in map(row_of, filter(None, records))
                       if row is not None and row < count})
        selection = self.selectionModel()
        if rows != sorted({index.row() for index in selection.selectedRows()}):
            ranges, last_column = QItemSelection(), self.mirror.columnCount() - 1
            for first, last in adjacent_runs(rows):
                ranges.select(self.mirror.index(first, 0), self.mirror.index(last, last_column))
            selection.select(ranges, _RESELECT)
        record, column = current
        row = row_of(record) if record is not None else None
        if row is not None and row < count and row != self.currentIndex().row():
            selection.setCurrentIndex(self.mirror.index(row, max(0, column)),
                                      QItemSelectionModel.SelectionFlag.NoUpdate)

    def _write_shown(self) -> None:
        count = min(self.source.rowCount(), self.mirror.rowCount())
        if not count:
            return
        first = max(0, self.rowAt(0))
        last = self.rowAt(self.viewport().height() - 1)
        if last < 0:
            last = count - 1
        self.mirror.write(first, min(count - 1, last + 1))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
