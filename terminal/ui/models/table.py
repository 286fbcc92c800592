"""A sortable table model over records keyed by id, updated in place.

Unlike vn.py's `BaseMonitor` (a QTableWidget that re-sorts on every event), a batch of
updates costs one `dataChanged` over the changed span and one `rowsInserted` for new rows;
views repaint what is visible. A sorted table keeps its rows in ascending order of the sort
column and shows them reversed for a descending sort, so the usual case, a table sorted by
time (newest first or last), takes its new rows at the end of the list, with no sort and no
row renumbered; a row whose sort value changed, or one that sorts elsewhere, is placed by
binary search. (Re-sorting every batch cost the Orders dock 40% of the GUI thread at 500
orders a second after 5,000 orders, and grew with the day.)
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush

from terminal.ui.models.headers import ColumnHeaders


_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
SORT_ROLE = Qt.ItemDataRole.UserRole
# Colours as rgba, by brush: asking a brush for its colour is two calls across the binding,
# once per coloured cell per repaint. Columns colour with a few module-level brushes; the
# cache keeps each brush it names alive, so an id is never reused while cached.
_RGBA: dict[int, tuple[QBrush, int]] = {}
_RGBA_LIMIT = 256


def rgba_of(brush: QBrush) -> int:
    hit = _RGBA.get(id(brush))
    if hit is not None and hit[0] is brush:
        return hit[1]
    if len(_RGBA) >= _RGBA_LIMIT:       # a column making brushes on the fly: stay bounded
        _RGBA.clear()
    rgba = brush.color().rgba()
    _RGBA[id(brush)] = (brush, rgba)
    return rgba


# Above this many changed rows, one dataChanged covers the whole table rather than looking up
# where each changed row is (views repaint only what is on screen either way).
_SPAN_LOOKUP_LIMIT = 32
# A sorted table places up to this many joining rows one by one (or an eighth of its rows, if
# more); a larger batch is appended and the table sorted again.
_PLACE_LIMIT = 64


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
    """HH:MM:SS.mmm, without strftime (called per row, per repaint)."""
    if value is None:
        return ""
    return f"{value.hour:02}:{value.minute:02}:{value.second:02}.{value.microsecond // 1000:03}"


def adjacent_runs(ordered: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers in an ascending list."""
    runs: list[tuple[int, int]] = []
    for number in ordered:
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs


def _sort_key(value: Any) -> tuple:
    if isinstance(value, tuple):  # (price, vt_symbol) pairs sort by price
        value = value[0]
    if value is None:
        return (1, 0)
    if hasattr(value, "value") and not isinstance(value, (int, float, str)):
        value = str(value.value)  # enums sort by their label
    return (0, value)


class RecordTableModel(ColumnHeaders, QAbstractTableModel):
    # The rows were rearranged at the trader's request (a sort, a filter, clearing), and the
    # model is done: views that pace their repaints show this one at once.
    rearranged = Signal()

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
        self._keys: list[str] = []          # keys of the rows shown, in storage order
        self._index: dict[str, int] = {}    # key -> position in _keys
        self._descending = False            # rows shown in reverse storage order
        self._all: dict[str, Any] = {}      # key -> latest record, including those filtered out
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

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
        if column < 0 and self._descending:      # unsorted: rows in arrival order again
            self.beginResetModel()
            self._keys = [k for k in self._all if k in self._index]
            self._descending = False
            self._reindex()
            self.endResetModel()
        self._resort()
        self.rearranged.emit()

    # ------------------------------------------------------------------ records
    @property
    def snapshots(self) -> bool:
        """Whether a changed record always arrives as a new object."""
        return self._snapshots

    def record(self, row: int) -> Any:
        return self._all[self._keys[self._flip(row)]]

    def records(self) -> list[Any]:
        records = self._all
        shown = [records[k] for k in self._keys]
        return shown[::-1] if self._descending else shown

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
            colors.append(rgba_of(brush) if brush is not None else None)
        cells = (texts, tuple(colors))
        if self._snapshots:
            self._cells[self._key(record)] = (record, cells)
        return cells

    def records_between(self, first: int, last: int) -> list[Any]:
        """Records of rows first..last, for painting."""
        records = self._all
        if not self._descending:
            return [records[k] for k in self._keys[first:last + 1]]
        end = len(self._keys) - 1
        first, last = max(0, end - last), end - first
        return [records[k] for k in reversed(self._keys[first:last + 1])]

    def find(self, key: str) -> Any | None:
        return self._all.get(key) if key in self._index else None

    def row_of(self, key: str) -> int | None:
        position = self._index.get(key)
        return None if position is None or position < 0 else self._flip(position)

    def row_of_record(self, record: Any) -> int | None:
        """The row showing `record`'s key now (it may have moved, or left: None)."""
        return self.row_of(self._key(record))

    def set_filter(self, accept: Callable[[Any], bool] | None) -> None:
        self.beginResetModel()
        self._accept = accept
        self._keys = [k for k, r in self._all.items() if accept is None or accept(r)]
        self._reindex()
        self.endResetModel()
        if self._sort_column >= 0:
            self._resort()
        self.rearranged.emit()

    def upsert(self, records: Iterable[Any]) -> None:
        """Insert new records and replace known ones, in one pass: one `dataChanged` over the
        changed rows, removals and insertions by runs (a sorted table places each row)."""
        key, accept, index, keys = self._key, self._accept, self._index, self._keys
        placed = self._sort_column >= 0 and self._snapshots
        sort_value = self.columns[self._sort_column].value if placed else None
        everything = self._all
        batch: dict[str, Any] = {}
        for record in records:              # a key twice in one batch: its last record counts
            batch[key(record)] = record
        new: list[str] = []
        leaving: list[str] = []
        moving: dict[str, Any] = {}         # key -> its record before this batch
        first = last = -1
        for k, record in batch.items():
            previous = everything.get(k)
            everything[k] = record
            position = index.get(k)
            wanted = accept is None or accept(record)
            if position is None:
                if wanted:
                    new.append(k)
            elif not wanted:
                leaving.append(k)
            elif placed and previous is not None and previous is not record and (
                    _sort_key(sort_value(previous)) != _sort_key(sort_value(record))):
                moving[k] = previous
            else:
                if first < 0 or position < first:
                    first = position
                last = max(last, position)
        if first >= 0:
            top, bottom = sorted((self._flip(first), self._flip(last)))
            self.dataChanged.emit(
                self.index(top, 0), self.index(bottom, len(self.columns) - 1), [_DISPLAY]
            )
        if leaving:
            self._remove_positions([index[k] for k in leaving])
        if len(moving) > max(_PLACE_LIMIT, len(keys) // 8):
            self._resort()
        elif moving:
            # Rows move one at a time, each through a list sorted by the values shown: the
            # others to move keep their old records until their turn.
            everything.update(moving)
            for k in moving:
                everything[k] = batch[k]
                self._move(k, sort_value)
        if new:
            joining = new
            if placed and len(joining) <= max(_PLACE_LIMIT, len(keys) // 8):
                self._place(joining, sort_value)
            else:
                self._append(joining)
                if self._sort_column >= 0:
                    self._resort()
        elif self._sort_column >= 0 and not self._snapshots and first >= 0:
            self._resort()        # records changed in place: their order may have too
        if self._max_rows is not None and len(keys) > self._max_rows:
            self._drop_oldest(len(keys) - self._max_rows)

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
            flip = self._flip
            changed = [flip(index[k]) for k in known]
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
        self.rearranged.emit()

    # ------------------------------------------------------------------ internals
    def _flip(self, position: int) -> int:
        """Row of a storage position, and position of a row (the mapping is its own inverse)."""
        return len(self._keys) - 1 - position if self._descending else position

    def _reindex(self, start: int = 0) -> None:
        # In place: `upsert` holds this dict while rows leave and new ones join in one batch.
        index, keys = self._index, self._keys
        if start == 0:
            index.clear()
        index.update((keys[p], p) for p in range(start, len(keys)))

    def _append(self, joining: list[str]) -> None:
        keys = self._keys
        start = len(keys)
        row = 0 if self._descending else start
        self.beginInsertRows(QModelIndex(), row, row + len(joining) - 1)
        keys.extend(joining[::-1] if self._descending else joining)
        self._reindex(start)
        self.endInsertRows()

    def _position_for(self, k: str, sort_value: Callable[[Any], Any]) -> int:
        """Where key `k` goes in the storage list (after its equals); `k` not in it."""
        records = self._all
        return bisect.bisect_right(self._keys, _sort_key(sort_value(records[k])),
                                   key=lambda other: _sort_key(sort_value(records[other])))

    def _place(self, joining: list[str], sort_value: Callable[[Any], Any]) -> None:
        """Insert each key where the sort puts it, one row at a time."""
        keys = self._keys
        for k in joining:
            position = self._position_for(k, sort_value)
            row = len(keys) - position if self._descending else position
            self.beginInsertRows(QModelIndex(), row, row)
            keys.insert(position, k)
            self._reindex(position)
            self.endInsertRows()

    def _move(self, k: str, sort_value: Callable[[Any], Any]) -> None:
        """A row whose sort value changed moves to its new place (a move keeps selections
        and the current row on it, as a re-sort does)."""
        keys, index = self._keys, self._index
        old = index[k]
        del keys[old]
        new = self._position_for(k, sort_value)
        keys.insert(old, k)
        if new == old:
            row = self._flip(old)
        else:
            source, final = self._flip(old), (len(keys) - 1 - new if self._descending else new)
            self.beginMoveRows(QModelIndex(), source, source, QModelIndex(),
                               final + 1 if final > source else final)
            del keys[old]
            keys.insert(new, k)
            low, high = min(old, new), max(old, new)
            index.update((keys[p], p) for p in range(low, high + 1))
            self.endMoveRows()
            row = final
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1),
                              [_DISPLAY])

    def _remove_positions(self, positions: list[int]) -> None:
        """Remove the rows at storage `positions` (their keys leave the index), one signal per
        run of adjacent rows, the highest positions first."""
        keys, index = self._keys, self._index
        for position in positions:
            index.pop(keys[position], None)
        ordered = sorted(set(positions))
        for low, high in reversed(adjacent_runs(ordered)):
            first, last = sorted((self._flip(low), self._flip(high)))
            self.beginRemoveRows(QModelIndex(), first, last)
            del keys[low:high + 1]
            self.endRemoveRows()
        if ordered:
            self._reindex(ordered[0])

    def _drop_oldest(self, count: int) -> None:
        """Forget the `count` records that arrived first (logs, trades kept within a cap)."""
        oldest = list(self._all)[:count]
        positions = [self._index[k] for k in oldest if k in self._index]
        for k in oldest:
            del self._all[k]
            self._cells.pop(k, None)
        if positions:
            self._remove_positions(positions)

    def _resort(self) -> None:
        """Sort every row again (a new sort column or order, a filter, a large batch)."""
        if not 0 <= self._sort_column < len(self.columns):
            return
        value = self.columns[self._sort_column].value
        records, keys = self._all, self._keys
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        held = [(keys[self._flip(p.row())], p.column()) for p in persistent]
        keys.sort(key=lambda k: _sort_key(value(records[k])))
        self._descending = self._sort_order == Qt.SortOrder.DescendingOrder
        self._reindex()
        self.changePersistentIndexList(
            persistent, [self.index(self._flip(self._index[k]), c) for k, c in held])
        self.layoutChanged.emit()
