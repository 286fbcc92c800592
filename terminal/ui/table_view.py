"""A table view that paints its visible cells with a handful of Qt calls.

QTableView paints each cell through its delegate, which asks the model for seven roles per
cell; with a Python model each is a call across the binding, and a 24 x 13 market watch took
24 ms to repaint. Worse, PySide6 lets go of the GIL inside each painting call, so while the
engine and gateway threads are busy every call also waits for the GIL to come back: 300
`drawText` calls took 60 ms under load. Here each column is drawn as one multi-line text per
colour (rows are exactly one line high), so a paint is a few dozen calls whatever the number
of rows. Scrolling, headers, selection and sorting are still QTableView's own.

Changed rows are repainted at most `MAX_REPAINTS_PER_SECOND` times a second: the models take
every batch at once (what the order ticket and positions read), the eye does not need a
busy grid redrawn at 60 Hz, and each repaint holds the GUI thread for several milliseconds.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QLine, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QHeaderView, QTableView

from terminal.ui.models.table import RecordTableModel

_TOP_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
_TOP_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
_PADDING = 4
MAX_REPAINTS_PER_SECOND = 30


class FastTableView(QTableView):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._stripes: QBrush | None = None
        self._stripes_key: tuple = ()
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self._fit_rows()
        self._repaint_gap = 1.0 / MAX_REPAINTS_PER_SECOND
        self._last_repaint = 0.0
        self._repaint_timer = QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.timeout.connect(self._deferred_repaint)

    def dataChanged(self, top_left, bottom_right, roles=()) -> None:
        if self._repaint_timer.isActive():
            return  # a repaint of the whole viewport is already due
        wait = self._last_repaint + self._repaint_gap - time.perf_counter()
        if wait <= 0:
            self._last_repaint = time.perf_counter()
            super().dataChanged(top_left, bottom_right, roles)
        else:
            self._repaint_timer.start(max(1, int(wait * 1000)))

    def _deferred_repaint(self) -> None:
        self._last_repaint = time.perf_counter()
        self.viewport().update()

    def _fit_rows(self) -> None:
        """One text line per row, so a column's lines land exactly on its rows."""
        rows, line = self.verticalHeader(), self.fontMetrics().lineSpacing()
        rows.setMinimumSectionSize(min(rows.minimumSectionSize(), line))
        rows.setDefaultSectionSize(line)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (event.Type.FontChange, event.Type.StyleChange):
            self._fit_rows()

    def showEvent(self, event) -> None:
        self._fit_rows()
        super().showEvent(event)

    def _stripe_brush(self, height: int, base: QColor, alternate: QColor) -> QBrush:
        key = (height, base.rgba(), alternate.rgba())
        if self._stripes is None or key != self._stripes_key:
            tile = QPixmap(8, 2 * height)
            tile.fill(base)
            painter = QPainter(tile)
            painter.fillRect(0, height, 8, height, alternate)
            painter.end()
            self._stripes, self._stripes_key = QBrush(tile), key
        return self._stripes

    def paintEvent(self, event: QPaintEvent) -> None:
        model = self.model()
        if not isinstance(model, RecordTableModel) or model.rowCount() == 0:
            super().paintEvent(event)
            return
        area = event.rect()
        first = self.rowAt(area.top())
        if first < 0:
            return
        last = self.rowAt(area.bottom())
        if last < 0:
            last = model.rowCount() - 1
        rows_header = self.verticalHeader()
        row_height = rows_header.sectionSize(first)
        if row_height != self.fontMetrics().lineSpacing():
            super().paintEvent(event)  # rows resized by hand: paint cell by cell
            return
        top = rows_header.sectionViewportPosition(first)
        bottom = top + (last - first + 1) * row_height

        header = self.horizontalHeader()
        left, right = area.left(), area.right()
        columns = []
        for column in range(model.columnCount()):
            if header.isSectionHidden(column):
                continue
            x, width = header.sectionViewportPosition(column), header.sectionSize(column)
            if x + width >= left and x <= right:
                columns.append((x, width, model.columns[column]))

        palette = self.palette()
        text = palette.text().color()
        highlighted_text = palette.highlightedText().color()
        selection = self.selectionModel()
        selected = (
            {index.row() for index in selection.selectedRows()}
            if selection is not None and selection.hasSelection() else set()
        )
        records = model.records_view()[first:last + 1]

        painter = QPainter(self.viewport())
        span = (area.left(), top, area.width(), bottom - top)
        if self.alternatingRowColors():
            painter.setBrushOrigin(0, top - (first % 2) * row_height)
            painter.fillRect(*span, self._stripe_brush(row_height, palette.base().color(),
                                                       palette.alternateBase().color()))
        else:
            painter.fillRect(*span, palette.base())
        for row in selected:
            if first <= row <= last:
                painter.fillRect(area.left(), top + (row - first) * row_height, area.width(),
                                 row_height, palette.highlight())

        height = bottom - top
        for x, width, column in columns:
            value, to_text, color_of = column.value, column.text, column.color
            lines = [to_text(value(record)) for record in records]
            runs: dict[object, list[str]] = {}
            if color_of is not None or selected:
                blank = [""] * len(lines)
                for offset, record in enumerate(records):
                    if first + offset in selected:
                        key = "selected"
                    else:
                        brush = color_of(record) if color_of is not None else None
                        key = brush.color().rgba() if brush is not None else None
                    runs.setdefault(key, list(blank))[offset] = lines[offset]
            else:
                runs[None] = lines
            align = _TOP_RIGHT if column.numeric else _TOP_LEFT
            for key, run in runs.items():
                if key is None:
                    painter.setPen(text)
                elif key == "selected":
                    painter.setPen(highlighted_text)
                else:
                    painter.setPen(QColor.fromRgba(key))
                painter.drawText(x + _PADDING, top, width - 2 * _PADDING, height, align,
                                 "\n".join(run))

        if self.showGrid():
            painter.setPen(QColor(palette.mid().color()).lighter(130))
            # Column rules only: rows are told apart by their stripes, and text fills the row.
            painter.drawLines(
                [QLine(x + width - 1, top, x + width - 1, bottom - 1) for x, width, _ in columns]
            )
        painter.end()
