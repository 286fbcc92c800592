"""A table view that paints its visible cells with a handful of Qt calls.

QTableView paints each cell through its delegate, which asks the model for seven roles per
cell; with a Python model each is a call across the binding, so a repaint costs a Python call
per role per cell. Worse, PySide6 lets go of the GIL inside each painting call, so while the
gateway and engine threads are busy every `drawText` also waits for the GIL to come back.

- Each column is drawn as one multi-line text per colour (rows are exactly one line high):
  a paint is a few dozen calls whatever the number of rows.
- Data repaints are requested at most `MAX_REPAINTS_PER_SECOND` times a second: the models
  take every batch at once (what the ticket and positions read); the eye needs no more.

Scrolling, headers, selection and sorting are QTableView's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QLine, QRect, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QHeaderView, QTableView

from terminal.ui.models.table import RecordTableModel
from terminal.ui.pacing import Pacer

_TOP_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
_TOP_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
_PADDING = 4
MAX_REPAINTS_PER_SECOND = 10


@dataclass
class Frame:
    """Everything needed to draw some rows, read off the widgets once per paint."""

    area: QRect                  # viewport region to fill
    top: int                     # y of the first row drawn
    first: int                   # its row number
    row_height: int
    columns: list[tuple[int, int, int, bool]]   # x, width, column number, numeric
    records: list
    selected: set[int]           # offsets (from `first`) of selected rows
    text: int                    # rgba colours
    highlighted_text: int
    base: QColor
    alternate: QColor | None     # None: no stripes
    highlight: QColor
    grid: QColor | None          # None: no column rules
    font: QFont


_STRIPES: dict[tuple, QBrush] = {}


def _stripes(height: int, base: QColor, alternate: QColor) -> QBrush:
    key = (height, base.rgba(), alternate.rgba())
    brush = _STRIPES.get(key)
    if brush is None:
        tile = QImage(8, 2 * height, QImage.Format.Format_ARGB32_Premultiplied)
        tile.fill(base)
        painter = QPainter(tile)
        painter.fillRect(0, height, 8, height, alternate)
        painter.end()
        brush = _STRIPES[key] = QBrush(tile)
    return brush


def draw(painter: QPainter, frame: Frame, model: RecordTableModel) -> None:
    cells = [model.cells(record) for record in frame.records]
    area, top, height = frame.area, frame.top, frame.row_height
    bottom = top + len(cells) * height
    painter.setFont(frame.font)
    if frame.alternate is None:
        painter.fillRect(area, frame.base)
    else:  # all stripes in one call: a two-row tile, aligned on the first row
        painter.setBrushOrigin(0, top - (frame.first % 2) * height)
        painter.fillRect(area, _stripes(height, frame.base, frame.alternate))
    for offset in frame.selected:
        if 0 <= offset < len(cells):
            painter.fillRect(area.left(), top + offset * height, area.width(), height,
                             frame.highlight)
    text, highlighted, selected = frame.text, frame.highlighted_text, frame.selected
    for x, width, column, numeric in frame.columns:
        lines = [texts[column] for texts, _ in cells]
        colors = [
            highlighted if offset in selected else (colours[column] or text)
            for offset, (_, colours) in enumerate(cells)
        ]
        runs: dict[int, list[str]] = {}
        if len(set(colors)) == 1:
            runs[colors[0]] = lines
        else:
            blank = [""] * len(lines)
            for offset, color in enumerate(colors):
                runs.setdefault(color, list(blank))[offset] = lines[offset]
        align = _TOP_RIGHT if numeric else _TOP_LEFT
        for color, run in runs.items():
            painter.setPen(QColor.fromRgba(color))
            painter.drawText(x + _PADDING, top, width - 2 * _PADDING, bottom - top, align,
                             "\n".join(run))
    if frame.grid is not None:
        painter.setPen(frame.grid)
        painter.drawLines(
            [QLine(x + width - 1, top, x + width - 1, bottom - 1)
             for x, width, _, _ in frame.columns]
        )


class FastTableView(QTableView):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self._fit_rows()
        self._repaints = Pacer(self._repaint_data, MAX_REPAINTS_PER_SECOND, self)

    # ------------------------------------------------------------------ rows
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

    # ------------------------------------------------------------------ data repaints
    def dataChanged(self, top_left, bottom_right, roles=()) -> None:
        self._repaints.request()     # the whole viewport, with the next paced repaint

    def _repaint_data(self) -> None:
        self.viewport().update()

    # ------------------------------------------------------------------ painting
    def _frame(self, area: QRect) -> Frame | None:
        model = self.model()
        if not isinstance(model, RecordTableModel) or model.rowCount() == 0:
            return None
        first = self.rowAt(area.top())
        if first < 0:
            return None
        last = self.rowAt(area.bottom())
        if last < 0:
            last = model.rowCount() - 1
        rows_header = self.verticalHeader()
        row_height = rows_header.sectionSize(first)
        if row_height != self.fontMetrics().lineSpacing():
            return None  # rows resized by hand: Qt paints cell by cell
        header = self.horizontalHeader()
        columns = []
        for column in range(model.columnCount()):
            if header.isSectionHidden(column):
                continue
            x, width = header.sectionViewportPosition(column), header.sectionSize(column)
            if x + width >= area.left() and x <= area.right():
                columns.append((x, width, column, model.columns[column].numeric))
        palette = self.palette()
        selection = self.selectionModel()
        selected = (
            {index.row() - first for index in selection.selectedRows()}
            if selection is not None and selection.hasSelection() else set()
        )
        return Frame(
            area=QRect(area),
            top=rows_header.sectionViewportPosition(first),
            first=first,
            row_height=row_height,
            columns=columns,
            records=model.records_between(first, last),
            selected=selected,
            text=palette.text().color().rgba(),
            highlighted_text=palette.highlightedText().color().rgba(),
            base=palette.base().color(),
            alternate=palette.alternateBase().color() if self.alternatingRowColors() else None,
            highlight=palette.highlight().color(),
            grid=QColor(palette.mid().color()).lighter(130) if self.showGrid() else None,
            font=QFont(self.font()),
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        frame = self._frame(event.rect())
        if frame is None:
            super().paintEvent(event)
            return
        painter = QPainter(self.viewport())
        draw(painter, frame, self.model())
        painter.end()
