"""A sortable table model over records keyed by id, updated in place.

Unlike vn.py's `BaseMonitor` (a QTableWidget that re-sorts on every event), a batch of
updates costs one `dataChanged` over the changed span, one `rowsInserted` for new rows and,
only when the table is sorted, one Python sort of the row list; views repaint what is visible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

RED = QBrush(QColor(220, 60, 60))     # China convention: red is up / long
GREEN = QBrush(QColor(40, 170, 90))   # green is down / short

_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
SORT_ROLE = Qt.ItemDataRole.UserRole
# Above this many changed rows, one dataChanged covers the whole table rather than looking up
# where each changed row is (views repaint only what is on screen either way).
_SPAN_LOOKUP_LIMIT = 32


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[Any], Any]
    text: Callable[[Any], str] = lambda v: "" if v is None else str(v)
    numeric: bool = False
    color: Callable[[Any], QBrush | None] | None = None
    tooltip: str = ""
    width: int = 86


def number(decimals: int = 2) -> Callable[[Any], str]:
    def text(value: Any) -> str:
        if value is None or value == "":
            return ""
        text = f"{value:,.{decimals}f}"
        if text[0] == "-" and not text.strip("-0.,"):
            return text[1:]  # no "-0.00"
        return text

    return text


def clock(value: Any) -> str:
    """HH:MM:SS.mmm, without strftime (which costs 20 us, per row, per repaint)."""
    if value is None:
        return ""
    return f"{value.hour:02}:{value.minute:02}:{value.second:02}.{value.microsecond // 1000:03}"


def _sort_key(value: Any) -> tuple:
    if isinstance(value, tuple):  # (price, vt_symbol) pairs sort by price
        value = value[0]
    if value is None:
        return (1, 0)
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        value = str(value.value)  # enums sort by their label
    return (0, value)


class RecordTableModel(QAbstractTableModel):
    def __init__(
        self,
        columns: list[Column],
        key: Callable[[Any], str],
        accept: Callable[[Any], bool] | None = None,
        max_rows: int | None = None,
        snapshots: bool = True,
        parent=None,
    ) -> None:
        super().__init__(parent)
        # Records are snapshots (a change arrives as a new object), so a record's cell texts
        # can be kept until its object is replaced. Models that re-show a record after
        # changing something it is drawn with (positions marked to the last price) say False.
        self._snapshots = snapshots
        self._cells: dict[str, tuple[Any, tuple]] = {}
        self.columns = columns
        self._key = key
        self._accept = accept
        self._max_rows = max_rows
        self._keys: list[str] = []          # keys of the rows shown, in display order
        self._index: dict[str, int] = {}    # key -> row
        self._all: dict[str, Any] = {}      # key -> latest record, including those filtered out
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation, role=_DISPLAY):
        if orientation == Qt.Orientation.Horizontal:
            if role == _DISPLAY:
                return self.columns[section].title
            if role == _TOOLTIP and self.columns[section].tooltip:
                return self.columns[section].tooltip
        return None

    def data(self, index: QModelIndex, role=_DISPLAY):
        if role == _DISPLAY:
            column = self.columns[index.column()]
            return column.text(column.value(self.record(index.row())))
        if role == _ALIGN:
            return _ALIGN_RIGHT if self.columns[index.column()].numeric else _ALIGN_LEFT
        if role == _FOREGROUND:
            column = self.columns[index.column()]
            return column.color(self.record(index.row())) if column.color else None
        if role == SORT_ROLE:
            return self.columns[index.column()].value(self.record(index.row()))
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        self._sort_column = column
        self._sort_order = order
        self._resort()

    # ------------------------------------------------------------------ records
    @property
    def snapshots(self) -> bool:
        """Whether a changed record always arrives as a new object."""
        return self._snapshots

    def record(self, row: int) -> Any:
        return self._all[self._keys[row]]

    def records(self) -> list[Any]:
        records = self._all
        return [records[k] for k in self._keys]

    def cells(self, record: Any) -> tuple[tuple[str, ...], tuple[int | None, ...]]:
        """Every column's text and colour (rgba, or None for the default) for one record."""
        if self._snapshots:
            hit = self._cells.get(self._key(record))
            if hit is not None and hit[0] is record:
                return hit[1]
        columns = self.columns
        texts = tuple([c.text(c.value(record)) for c in columns])
        colors = []
        for c in columns:
            brush = c.color(record) if c.color is not None else None
            colors.append(brush.color().rgba() if brush is not None else None)
        cells = (texts, tuple(colors))
        if self._snapshots:
            self._cells[self._key(record)] = (record, cells)
        return cells

    def records_between(self, first: int, last: int) -> list[Any]:
        """Records of rows first..last, for painting."""
        records = self._all
        return [records[k] for k in self._keys[first:last + 1]]

    def find(self, key: str) -> Any | None:
        return self._all.get(key) if key in self._index else None

    def row_of(self, key: str) -> int | None:
        return self._index.get(key)

    def row_of_record(self, record: Any) -> int | None:
        """The row showing `record`'s key now (it may have moved, or left: None)."""
        return self._index.get(self._key(record))

    def set_filter(self, accept: Callable[[Any], bool] | None) -> None:
        self.beginResetModel()
        self._accept = accept
        self._keys = [k for k, r in self._all.items() if accept is None or accept(r)]
        self._reindex()
        self.endResetModel()
        if self._sort_column >= 0:
            self._resort()

    def upsert(self, records: Iterable[Any]) -> None:
        """Insert new records and replace known ones, in one pass and one signal of each kind."""
        key, accept, index, keys = self._key, self._accept, self._index, self._keys
        new: list[Any] = []
        leaving: list[int] = []
        first = last = -1
        for record in records:
            k = key(record)
            self._all[k] = record
            row = index.get(k)
            wanted = accept is None or accept(record)
            if row is None:
                if wanted:
                    index[k] = -1  # placeholder so a record twice in one batch is not added twice
                    new.append(record)
            elif row < 0:
                new[[key(r) for r in new].index(k)] = record
            elif wanted:
                if first < 0 or row < first:
                    first = row
                if row > last:
                    last = row
            else:
                leaving.append(row)
        if first >= 0:
            self.dataChanged.emit(
                self.index(first, 0), self.index(last, len(self.columns) - 1), [_DISPLAY]
            )
        if leaving:
            self._remove_rows(sorted(set(leaving), reverse=True))
        if new:
            start = len(keys)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            for offset, record in enumerate(new):
                k = key(record)
                keys.append(k)
                index[k] = start + offset
            self.endInsertRows()
        if self._max_rows is not None and len(keys) > self._max_rows:
            self._drop_oldest(len(keys) - self._max_rows)
        if self._sort_column >= 0 and (new or first >= 0 or leaving):
            self._resort()

    def replace_latest(self, latest: dict[str, Any]) -> None:
        """Newest records by key, when whether a record is shown depends on its key only.

        The market watch's hot path (20,000 ticks a second arrive here): known keys are
        swapped in with one dict update and no per-record Python; new keys take `upsert`.
        """
        index = self._index
        known = latest.keys() & index.keys()
        if len(known) < len(latest):
            self.upsert([record for k, record in latest.items() if k not in index])
            if not known:
                return
        self._all.update(latest)
        if len(known) > _SPAN_LOOKUP_LIMIT:  # most rows changed: say so for all of them
            first, last = 0, len(self._keys) - 1
        else:
            changed = [index[k] for k in known]
            first, last = min(changed), max(changed)
        self.dataChanged.emit(
            self.index(first, 0), self.index(last, len(self.columns) - 1), [_DISPLAY]
        )
        if self._sort_column >= 0:
            self._resort()

    def clear(self) -> None:
        self.beginResetModel()
        self._cells.clear()
        self._keys.clear()
        self._index.clear()
        self._all.clear()
        self.endResetModel()

    # ------------------------------------------------------------------ internals
    def _reindex(self) -> None:
        # In place: `upsert` holds this dict while rows leave and new ones join in one batch.
        index = self._index
        index.clear()
        index.update((k, row) for row, k in enumerate(self._keys))

    def _remove_rows(self, rows_descending: list[int]) -> None:
        """One removal signal per run of adjacent rows, last run first."""
        keys, count = self._keys, len(rows_descending)
        end = 0
        while end < count:
            start = end
            while end + 1 < count and rows_descending[end + 1] == rows_descending[end] - 1:
                end += 1
            first, last = rows_descending[end], rows_descending[start]
            self.beginRemoveRows(QModelIndex(), first, last)
            del keys[first:last + 1]
            self.endRemoveRows()
            end += 1
        self._reindex()

    def _drop_oldest(self, count: int) -> None:
        """Forget the `count` records that arrived first (logs, trades kept within a cap)."""
        oldest = list(self._all)[:count]
        for k in oldest:
            del self._all[k]
            self._cells.pop(k, None)
        rows = sorted((self._index[k] for k in oldest if k in self._index), reverse=True)
        if rows:
            self._remove_rows(rows)

    def _resort(self) -> None:
        if not 0 <= self._sort_column < len(self.columns):
            return
        value = self.columns[self._sort_column].value
        records, keys = self._all, self._keys
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        held = [(p, keys[p.row()], p.column()) for p in persistent]
        keys.sort(
            key=lambda k: _sort_key(value(records[k])),
            reverse=self._sort_order == Qt.SortOrder.DescendingOrder,
        )
        self._reindex()
        self.changePersistentIndexList(
            persistent,
            [self.index(self._index[k], c) for _, k, c in held],
        )
        self.layoutChanged.emit()
