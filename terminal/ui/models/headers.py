"""The header of a table model whose columns carry a title and a tooltip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt

_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole


class ColumnHeaders:
    """`headerData` for a Qt table model (listed before it in the bases) with `columns`:
    a column's title, and its tooltip when it has one."""

    columns: Sequence[Any]

    def headerData(self, section: int, orientation, role=_DISPLAY):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == _DISPLAY:
                return self.columns[section].title
            if role == _TOOLTIP and self.columns[section].tooltip:
                return self.columns[section].tooltip
        return None
