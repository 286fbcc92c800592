"""A table whose cells Qt paints from C++: the market watch's view.

A repaint of a Python model, however lean, runs Python and gives up and retakes the GIL at
every painting call; with the gateway and engine threads busy it took 12-14 ms, against
5-9 ms for Qt's own item model, which paints without touching Python or the GIL. So the
market watch shows a `QStandardItemModel` mirror of its `RecordTableModel`: only the rows on
screen are written (a `setText` keeps the GIL and costs about 2 us), at most
`MAX_REFRESHES_PER_SECOND` times a second, and rows scrolled into view are written then.
The record model stays the one source of truth: sorting is forwarded to it and rows keep
the same numbers, so selections and clicks map straight back to records. Rows are empty until
they are first shown (a million-order day costs a pointer per cell, not an item), which is
what lets the Orders dock use a mirror too: at 500 orders a second its Python repaints were
a third of the GUI thread, and each one held up the engine threads for the GIL.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView

from terminal.ui.models.table import RecordTableModel

MAX_REFRESHES_PER_SECOND = 30
# A change of the row count repaints the whole table (Qt lays the view out again); rows added
# below the visible ones only lengthen the scroll bar, so they join at most this often.
MAX_GROWTHS_PER_SECOND = 8
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


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
        self._aligns = [_RIGHT if c.numeric else _LEFT for c in source.columns]
        self._brushes: dict[int | None, QBrush] = {}

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self.source.sort(column, order)

    def match_rows(self) -> None:
        """Same number of rows as the source; every row to be written again."""
        wanted = self.source.rowCount()
        if wanted != self.rowCount():
            self.setRowCount(wanted)         # new rows hold no items until written
        self._written.clear()

    def _cell(self, row: int, column: int) -> QStandardItem:
        item = self.item(row, column)
        if item is None:
            item = QStandardItem()
            item.setEditable(False)
            item.setTextAlignment(self._aligns[column])
            self.setItem(row, column, item)
        return item

    def write(self, first: int, last: int) -> None:
        """Copy rows first..last from the source where they differ from what is shown."""
        source, written, item = self.source, self._written, self._cell
        unchanged_if_same = source.snapshots
        for row in range(first, min(last, source.rowCount() - 1) + 1):
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
        self._gap = 1.0 / MAX_REFRESHES_PER_SECOND
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.refresh)
        self._growth_timer = QTimer(self)
        self._growth_timer.setSingleShot(True)
        self._growth_timer.timeout.connect(self._source_reshaped)
        source.dataChanged.connect(self._source_changed)
        source.rowsInserted.connect(self._source_grew)
        for signal in (source.rowsRemoved, source.layoutChanged, source.modelReset):
            signal.connect(self._source_reshaped)
        self.verticalScrollBar().valueChanged.connect(lambda _: self.refresh())
        self.mirror.match_rows()

    def _source_changed(self, *args) -> None:
        if not self._timer.isActive():
            wait = self._last + self._gap - time.perf_counter()
            self._timer.start(max(0, int(wait * 1000)))

    def _source_grew(self, _parent, first: int, _last: int) -> None:
        """Rows inserted: at once when they are on screen, else with the next growth."""
        if self._growth_timer.isActive():
            if first < self.mirror.rowCount():   # inserted above rows not yet grown
                self._source_reshaped()
            return
        last_shown = self.rowAt(self.viewport().height() - 1)
        if last_shown < 0 or first <= last_shown + 1 or not self.isVisible():
            self._source_reshaped()
        else:
            self._growth_timer.start(int(1000 / MAX_GROWTHS_PER_SECOND))

    def _source_reshaped(self, *args) -> None:
        self._growth_timer.stop()
        self.mirror.match_rows()
        self.refresh()

    def refresh(self) -> None:
        """Write the rows on screen; scrolling writes the rows it brings into view."""
        self._last = time.perf_counter()
        count = self.source.rowCount()
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
