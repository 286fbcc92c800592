"""Small read-only table models for the workbench: rows of values with their texts.

A row is a tuple of values; a column says how a value is written and whether it is a number
(right-aligned). Sorting orders by the values (numbers as numbers, NaN and empty last), never
by the texts. The tables are a few hundred rows at most (runs, statistics, settings of an
optimisation) or a few thousand (fills): replaced as a whole when their data changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QFont

from terminal.ui.colours import up_or_down
from terminal.ui.models.headers import ColumnHeaders


_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_FONT = Qt.ItemDataRole.FontRole
VALUE_ROLE = Qt.ItemDataRole.UserRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.6g}"
    return str(value)


@dataclass(frozen=True)
class Col:
    title: str
    text: Callable[[Any], str] = plain
    numeric: bool = False
    color: Callable[[Any], QBrush | None] | None = None
    tooltip: str = ""


def _key(value: Any) -> tuple:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return (2, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


class RowsModel(ColumnHeaders, QAbstractTableModel):
    def __init__(self, columns: Sequence[Col] = (), parent=None) -> None:
        super().__init__(parent)
        self.columns: list[Col] = list(columns)
        self.rows: list[tuple] = []
        self.tooltips: list[str] = []        # per row, optional
        self.bold: set[int] = set()          # rows drawn in bold (section titles)

    # ------------------------------------------------------------------ content
    def set_rows(self, rows: Sequence[Sequence[Any]], columns: Sequence[Col] | None = None,
                 tooltips: Sequence[str] = (), bold: Sequence[int] = ()) -> None:
        self.beginResetModel()
        if columns is not None:
            self.columns = list(columns)
        self.rows = [tuple(row) for row in rows]
        self.tooltips = list(tooltips)
        self.bold = set(bold)
        self.endResetModel()

    def value(self, row: int, column: int) -> Any:
        return self.rows[row][column]

    def text(self, row: int, column: int) -> str:
        return self.columns[column].text(self.rows[row][column])

    def texts(self) -> list[list[str]]:
        """Every row as shown, for tests and copying."""
        return [[self.text(r, c) for c in range(len(self.columns))]
                for r in range(len(self.rows))]

    def column_values(self, column: int) -> list[Any]:
        return [row[column] for row in self.rows]

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role=_DISPLAY):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == _DISPLAY:
            return self.text(row, column)
        if role == VALUE_ROLE:
            return self.rows[row][column]
        if role == _ALIGN:
            return _RIGHT if self.columns[column].numeric else _LEFT
        if role == _FOREGROUND:
            color = self.columns[column].color
            return color(self.rows[row][column]) if color is not None else None
        if role == _TOOLTIP and row < len(self.tooltips) and self.tooltips[row]:
            return self.tooltips[row]
        if role == _FONT and row in self.bold:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns) or self.bold:
            return
        self.layoutAboutToBeChanged.emit()
        pairs = list(zip(self.rows, self.tooltips or [""] * len(self.rows), strict=True))
        descending = order == Qt.SortOrder.DescendingOrder
        present = [p for p in pairs if _key(p[0][column])[0] < 2]
        missing = [p for p in pairs if _key(p[0][column])[0] == 2]
        present.sort(key=lambda p: _key(p[0][column]), reverse=descending)
        pairs = present + missing                 # empty and NaN last either way
        self.rows = [p[0] for p in pairs]
        if self.tooltips:
            self.tooltips = [p[1] for p in pairs]
        self.layoutChanged.emit()


def signed_color(value: Any) -> QBrush | None:
    """Red for a gain, green for a loss (China convention)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and not (isinstance(value, float) and math.isnan(value)):
        return up_or_down(value)
    return None
