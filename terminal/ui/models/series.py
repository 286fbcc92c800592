"""A read-only table over the columns of a stored series (or an import preview).

The model keeps one numpy array per column and nothing per row: `rowCount` is the length of
the arrays, and a cell's text is made when a view asks for it (only the rows on screen). A
million bars cost their arrays and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from terminal.storage.market_store import TICK_INTERVAL
from terminal.ui.colours import ERROR_BRUSH

_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_DECIMALS_SAMPLE = 20_000
MAX_DECIMALS = 6

TITLES = {
    "datetime": "Time", "open_price": "Open", "high_price": "High", "low_price": "Low",
    "close_price": "Close", "volume": "Volume", "turnover": "Turnover",
    "open_interest": "Open interest", "last_price": "Last", "last_volume": "Last volume",
    "limit_up": "Limit up", "limit_down": "Limit down", "pre_close": "Pre close",
    **{f"{side}_{kind}_{n}": f"{side.capitalize()} {'price' if kind == 'price' else 'vol'} {n}"
       for side in ("bid", "ask") for kind in ("price", "volume") for n in range(1, 6)},
}
BAR_COLUMNS = ("open_price", "high_price", "low_price", "close_price", "volume", "turnover",
               "open_interest")
TICK_COLUMNS = ("last_price", "last_volume", "volume", "turnover", "open_interest",
                "bid_price_1", "bid_volume_1", "ask_price_1", "ask_volume_1")


def title(field: str) -> str:
    return TITLES.get(field, field.replace("_", " ").capitalize())


def decimals(values: np.ndarray) -> int:
    """The fewest decimals that show every value of a sample of the column exactly."""
    sample = values[:_DECIMALS_SAMPLE]
    sample = sample[np.isfinite(sample)]
    for places in range(MAX_DECIMALS + 1):
        scaled = sample * 10 ** places
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return places
    return MAX_DECIMALS


@dataclass(frozen=True)
class _Column:
    title: str
    values: np.ndarray
    kind: str        # "time", "number" or "line"
    places: int = 0


class SeriesTableModel(QAbstractTableModel):
    """Rows of one series: a time column and number columns, straight from arrays."""

    def __init__(self, tz: tzinfo, parent=None) -> None:
        super().__init__(parent)
        self.tz = tz
        self._columns: list[_Column] = []
        self._rows = 0
        self._valid: np.ndarray | None = None   # times that parsed (previews), None: all
        self._seconds = True                     # times to the second, else the day
        self._millis = False                     # times to the millisecond (ticks)

    # ------------------------------------------------------------------ filling
    def set_table(self, table: pa.Table, interval: str, fields: list[str] | None = None) -> None:
        """A stored series (as `MarketStore.load_table` gives it); `fields` picks columns,
        by default the ones a trader reads: OHLCV and open interest for bars, last, volume and
        the best bid/ask for ticks (plus deeper levels that hold anything)."""
        if fields is None:
            fields = default_fields(interval, table)
        names = set(table.column_names)
        columns = {"datetime": _numpy(table.column("datetime")).astype(np.int64, copy=False)}
        columns.update({name: _numpy(table.column(name)) for name in fields if name in names})
        self.set_columns(columns, interval)

    def set_columns(self, columns: dict[str, np.ndarray], interval: str,
                    lines: np.ndarray | None = None, valid: np.ndarray | None = None) -> None:
        """Columns in the store's form: "datetime" as int64 ns UTC, then floats; `lines`
        adds a line-number column (previews), `valid` marks the times that parsed."""
        self.beginResetModel()
        self._columns = []
        if lines is not None:
            self._columns.append(_Column("Line", np.asarray(lines), "line"))
        for name, column in columns.items():
            if name == "datetime":
                self._columns.append(_Column("Time", np.asarray(column, np.int64), "time"))
            else:
                values = np.asarray(column, np.float64)
                self._columns.append(_Column(title(name), values, "number", decimals(values)))
        self._rows = len(next(iter(columns.values()))) if columns else 0
        self._valid = None if valid is None else np.asarray(valid, bool)
        self._seconds = interval not in ("d", "w")
        self._millis = interval == TICK_INTERVAL
        self.endResetModel()

    def clear(self) -> None:
        self.set_columns({}, "")

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation, role=_DISPLAY):
        if role == _DISPLAY and orientation == Qt.Orientation.Horizontal:
            return self._columns[section].title
        return None

    def data(self, index: QModelIndex, role=_DISPLAY):
        if not index.isValid():
            return None
        column = self._columns[index.column()]
        if role == _DISPLAY:
            return self.text(index.row(), index.column())
        if role == _ALIGN:
            return _ALIGN_LEFT if column.kind == "time" else _ALIGN_RIGHT
        if role == _FOREGROUND and column.kind == "time" and self._valid is not None \
                and not self._valid[index.row()]:
            return ERROR_BRUSH
        return None

    def flags(self, index: QModelIndex):
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # ------------------------------------------------------------------ cells
    @property
    def titles(self) -> list[str]:
        return [column.title for column in self._columns]

    def text(self, row: int, column_number: int) -> str:
        column = self._columns[column_number]
        value = column.values[row]
        if column.kind == "line":
            return str(int(value))
        if column.kind == "time":
            if self._valid is not None and not self._valid[row]:
                return "(not a date/time)"
            return self._time_text(int(value))
        if not np.isfinite(value):
            return ""
        text = f"{value:,.{column.places}f}"
        return text[1:] if text[0] == "-" and not text.strip("-0.,") else text

    def _time_text(self, ns: int) -> str:
        seconds, rest = divmod(ns, 1_000_000_000)
        m = datetime.fromtimestamp(seconds, self.tz)
        day = f"{m.year:04}-{m.month:02}-{m.day:02}"
        if not self._seconds:
            return day
        clock = f"{day} {m.hour:02}:{m.minute:02}:{m.second:02}"
        return f"{clock}.{rest // 1_000_000:03}" if self._millis else clock


def fit_columns(view, model: SeriesTableModel, rows: int = 40, padding: int = 14) -> None:
    """Columns as wide as their header and first rows need (QTableView's own
    `resizeColumnsToContents` asks for every role of every cell)."""
    metrics = view.fontMetrics()
    header = view.horizontalHeader().fontMetrics()
    for number, name in enumerate(model.titles):
        texts = [model.text(row, number) for row in range(min(rows, model.rowCount()))]
        width = max([header.horizontalAdvance(name)]
                    + [metrics.horizontalAdvance(text) for text in texts])
        view.setColumnWidth(number, width + padding)


def default_fields(interval: str, table: pa.Table) -> list[str]:
    """The columns shown for a series: the usual ones, then any other that holds a value."""
    usual = TICK_COLUMNS if interval == TICK_INTERVAL else BAR_COLUMNS
    names = [name for name in table.column_names if name != "datetime"]
    shown = [name for name in usual if name in names]
    for name in names:
        column = table.column(name)
        if name not in usual and table.num_rows and pc.any(pc.not_equal(column, 0)).as_py():
            shown.append(name)
    return shown


def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    """One array for the column (a copy only when it comes in several chunks)."""
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.int64())
    return column.to_numpy()
