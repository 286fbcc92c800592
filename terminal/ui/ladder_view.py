"""The price ladder's grid, painted: one row per price of a `market.ladder.LadderBook`, its
columns own buys, bid size, price, ask size, own sells and today's volume.

One paint draws every row from the book (about forty rows of six cells: well under a
millisecond), so the dock asks for a paint at its paced rate (`ui.pacing`) rather than
keeping a table model in step with every tick. The view turns the mouse into intentions
(a cell clicked, an own order dragged to another row) and leaves what they mean to the dock.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPalette, QPen, QRegion
from PySide6.QtWidgets import QApplication, QSizePolicy, QToolTip, QWidget

from terminal.market.ladder import LadderBook, LadderRow, OwnOrder
from terminal.market.prices import decimals_for
from terminal.ui.colours import DOWN_HEX, ERROR_HEX, UP_HEX, WARNING_HEX

COLUMNS = ("buys", "bid", "price", "ask", "sells", "volume")
TITLES = {"buys": "Buys", "bid": "Bid", "price": "Price", "ask": "Ask", "sells": "Sells",
          "volume": "Volume"}
WIDTHS = {"buys": 58, "bid": 56, "price": 76, "ask": 56, "sells": 58, "volume": 72}
BUY_COLUMNS = ("buys", "bid")           # a left-click there buys
SELL_COLUMNS = ("ask", "sells")
FLASH_MS = 1500
OWN_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Home, Qt.Key.Key_Escape, Qt.Key.Key_PageUp,
            Qt.Key.Key_PageDown)


_TINTS: dict[tuple[str, int], QColor] = {}


def _tint(hex_colour: str, alpha: int) -> QColor:
    colour = _TINTS.get((hex_colour, alpha))
    if colour is None:
        colour = _TINTS[hex_colour, alpha] = QColor(hex_colour)
        colour.setAlpha(alpha)
    return colour


def lots(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,g}"


def volume_text(value: float) -> str:
    """A day's volume at a price in few characters: whole lots, thousands as k from 10,000
    (a spread bar's volume is fractional: shown rounded)."""
    if value >= 9_999_500:
        return f"{value / 1e6:.1f}M"
    if value >= 99_950:
        return f"{value / 1e3:.0f}k"
    if value >= 9_999.5:
        return f"{value / 1e3:.1f}k"
    return f"{value:,.0f}"


def own_text(orders: tuple[OwnOrder, ...]) -> str:
    """A cell's own orders: working lots, then stops marked STP (L: local, dies with the
    terminal)."""
    limits = sum(order.volume for order in orders if not order.is_stop)
    stops = [order for order in orders if order.is_stop]
    parts = [lots(limits)] if limits else []
    if stops:
        local = any(order.is_local for order in stops)
        parts.append(f"STP{' L' if local else ''} {lots(sum(o.volume for o in stops))}")
    return " + ".join(parts)



def bar_scale(largest: float) -> float:
    """The volume bars' full width: the day's largest volume rounded up to 1, 2 or 5 times a
    power of ten, so the whole column is redrawn when it crosses one of those, not at every
    tick that adds to the largest row."""
    if largest <= 0:
        return 0.0
    power = 10.0 ** math.floor(math.log10(largest))
    for step in (1.0, 2.0, 5.0, 10.0):
        if largest <= step * power * (1 + 1e-12):
            return step * power
    return 10.0 * power

class LadderView(QWidget):
    cell_clicked = Signal(int, str, object)       # row, column, Qt.MouseButton
    order_dropped = Signal(int, int)              # from row (the orders' cell), to row
    rows_changed = Signal(int)                    # how many rows fit now
    recentre_requested = Signal()
    scrolled = Signal(int)                        # rows (positive: higher prices)

    def __init__(self, book: LadderBook, parent=None) -> None:
        super().__init__(parent)
        self.book = book
        self.paints = 0                           # paint events so far (tests, benchmarks)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._press: tuple[int, str, Qt.MouseButton, QPoint] | None = None
        self._drag_to: int | None = None          # row the dragged orders hover over
        self.drag_side = ""                       # "buys" / "sells" of the drag under way
        self._flash: tuple[int, str, str] | None = None
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._end_flash)
        self._bold = QFont(self.font())
        self._bold.setBold(True)
        self._lefts: dict[str, int] = {}
        self._row_height = max(16, self.fontMetrics().height() + 4)
        self._painted: list[LadderRow | None] = []     # what each row showed when painted
        self._painted_largest = 0.0
        self._layout_columns()

    # ------------------------------------------------------------------ geometry
    @property
    def row_height(self) -> int:
        """From the font, measured when it changes (asked hundreds of times a paint)."""
        return self._row_height

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.FontChange:
            self._row_height = max(16, self.fontMetrics().height() + 4)
            self.update()
        super().changeEvent(event)

    @property
    def header_height(self) -> int:
        return self.row_height + 2

    def _layout_columns(self) -> None:
        left = 0
        fixed = sum(WIDTHS[c] for c in COLUMNS[:-1])
        for column in COLUMNS:
            self._lefts[column] = left
            left += WIDTHS[column]
        self._volume_width = max(WIDTHS["volume"], self.width() - fixed)

    def column_width(self, column: str) -> int:
        return self._volume_width if column == "volume" else WIDTHS[column]

    def cell_rect(self, row: int, column: str) -> QRect:
        return QRect(self._lefts[column], self.header_height + row * self.row_height,
                     self.column_width(column), self.row_height)

    def cell_at(self, point: QPoint) -> tuple[int, str] | None:
        if point.y() < self.header_height:
            return None
        row = (point.y() - self.header_height) // self.row_height
        if not 0 <= row < self.book.ladder.rows:
            return None
        for column in COLUMNS:
            left = self._lefts[column]
            if left <= point.x() < left + self.column_width(column):
                return row, column
        return None

    def rows_fitting(self) -> int:
        return max(3, (self.height() - self.header_height) // self.row_height)

    def sizeHint(self) -> QSize:
        return QSize(sum(WIDTHS.values()), self.header_height + 30 * self.row_height)

    def minimumSizeHint(self) -> QSize:
        return QSize(sum(WIDTHS[c] for c in COLUMNS[:-1]) + 40,
                     self.header_height + 5 * self.row_height)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._layout_columns()
        rows = self.rows_fitting()
        if rows != self.book.ladder.rows:
            self.rows_changed.emit(rows)

    # ------------------------------------------------------------------ flash
    def flash(self, row: int, column: str, message: str = "") -> None:
        """Outline a cell in the error colour for a moment, with `message` painted beside it
        (a refused click or drag: the trader is looking there, not at the status line)."""
        self._flash = (row, column, message)
        self._flash_timer.start(FLASH_MS)
        self.update()

    @property
    def flashing(self) -> tuple[int, str, str] | None:
        return self._flash

    def _end_flash(self) -> None:
        self._flash = None
        self.update()

    # ------------------------------------------------------------------ mouse and keys
    def mousePressEvent(self, event) -> None:
        cell = self.cell_at(event.position().toPoint())
        self._drag_to = None
        if cell is None:
            self._press = None
            return
        self._press = (cell[0], cell[1], event.button(), event.position().toPoint())
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        press = self._press
        point = event.position().toPoint()
        if press is None or press[2] != Qt.MouseButton.LeftButton:
            self._hover_tip(point)
            return
        row, column, _, start = press
        if column not in ("buys", "sells") or not self._own_at(row, column):
            return
        if self._drag_to is None and \
                (point - start).manhattanLength() < QApplication.startDragDistance():
            return
        over = (point.y() - self.header_height) // self.row_height
        self._drag_to = min(max(over, 0), self.book.ladder.rows - 1)
        self.drag_side = column
        self.update()

    def mouseReleaseEvent(self, event) -> None:
        press, self._press = self._press, None
        dragged_to, self._drag_to = self._drag_to, None
        if press is None:
            return
        row, column, button, _ = press
        if dragged_to is not None:       # a drag is never a click, even back on its row
            self.update()
            if dragged_to != row:
                self.order_dropped.emit(row, dragged_to)
            return
        cell = self.cell_at(event.position().toPoint())
        if cell == (row, column) and event.button() == button:
            self.cell_clicked.emit(row, column, button)

    def contextMenuEvent(self, event) -> None:
        event.accept()                 # right-click places a stop (the press and release)

    def event(self, event) -> bool:
        # The ladder's own keys win over window shortcuts while it has the focus (the
        # alerts dock acknowledges on Space anywhere in the window).
        if event.type() == QEvent.Type.ShortcutOverride and event.key() in OWN_KEYS \
                and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Escape and self._drag_to is not None:
            self._press = self._drag_to = None       # the drag is dropped, nothing sent
            self.update()
        elif key in (Qt.Key.Key_Space, Qt.Key.Key_Home):
            self.recentre_requested.emit()
        elif key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            step = self.book.ladder.rows // 2
            self.scrolled.emit(step if key == Qt.Key.Key_PageUp else -step)
        else:
            super().keyPressEvent(event)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() // 120
        if steps:
            self.scrolled.emit(int(steps) * 3)
        event.accept()

    @property
    def dragging(self) -> bool:
        return self._drag_to is not None

    def _own_at(self, row: int, column: str) -> tuple[OwnOrder, ...]:
        shown = self.book.row(row)
        if shown is None:
            return ()
        return shown.buys if column == "buys" else shown.sells if column == "sells" else ()

    def _hover_tip(self, point: QPoint) -> None:
        cell = self.cell_at(point)
        if cell is None or cell[1] not in ("buys", "sells"):
            return
        orders = self._own_at(*cell)
        if orders:
            QToolTip.showText(self.mapToGlobal(point),
                              "\n".join(order.text for order in orders)
                              + "\nClick: cancel · drag: move", self,
                              self.cell_rect(*cell))

    # ------------------------------------------------------------------ paint
    def refresh(self) -> int:
        """Repaint the rows whose content changed since they were last painted (the
        volume column whole when the day's largest volume, its bars' scale, changed);
        returns how many rows that is. The price column of a quiet market does not change
        between ticks, nor most of the book: a tick repaints a few rows, not forty."""
        book = self.book
        rows = [book.row(row) for row in range(book.ladder.rows)] if book.ready else []
        largest = bar_scale(book.largest_volume())
        if len(rows) != len(self._painted):
            self._painted = rows
            self._painted_largest = largest
            self.update()
            return len(rows)
        region = QRegion()
        changed = 0
        for row, shown in enumerate(rows):
            if shown != self._painted[row]:
                region += QRect(0, self.header_height + row * self.row_height, self.width(),
                                self.row_height)
                changed += 1
        if largest != self._painted_largest:
            left = self._lefts["volume"]
            region += QRect(left, self.header_height, self.width() - left,
                            len(rows) * self.row_height)
        self._painted, self._painted_largest = rows, largest
        if not region.isEmpty():
            self.update(region)
        return changed

    def paintEvent(self, event) -> None:
        self.paints += 1
        painter = QPainter(self)
        palette = self.palette()
        area = event.rect()
        painter.fillRect(area, palette.color(QPalette.ColorRole.Base))
        if area.top() < self.header_height:
            self._paint_header(painter, palette)
        book = self.book
        if not book.ready or book.ladder.centre is None:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect().adjusted(0, self.header_height, 0, 0),
                             Qt.AlignmentFlag.AlignCenter,
                             "Choose a symbol" if not book.ready else "Waiting for a quote…")
            return
        digits = decimals_for(book.pricetick)
        largest = bar_scale(book.largest_volume())
        grid = QPen(palette.color(QPalette.ColorRole.Mid))
        grid.setWidth(0)
        painted = self._painted if len(self._painted) == book.ladder.rows else None
        # Only the rows the update asked for: a tick changes a dozen rows around the
        # market, not the forty (the region's parts, not their bounding box).
        rows: set[int] = set()
        for part in event.region():
            first = max(0, (part.top() - self.header_height) // self.row_height)
            last = min(book.ladder.rows - 1,
                       (part.bottom() - self.header_height) // self.row_height)
            rows.update(range(first, last + 1))
        painter.setClipRegion(event.region())
        for row in sorted(rows):
            # what `refresh` just read for the row (read again only when it has not run)
            shown = painted[row] if painted is not None else book.row(row)
            if shown is not None:
                self._paint_row(painter, palette, row, shown, digits, largest)
        painter.setPen(grid)
        bottom = self.header_height + book.ladder.rows * self.row_height
        for column in COLUMNS[1:]:
            x = self._lefts[column]
            painter.drawLine(x, area.top(), x, min(bottom, area.bottom()))
        if self._drag_to is not None and self._press is not None:
            self._paint_drag(painter, palette)
        if self._flash is not None:
            self._paint_flash(painter)

    def _paint_flash(self, painter: QPainter) -> None:
        row, column, message = self._flash
        cell = self.cell_rect(row, column)
        painter.setPen(QPen(QColor(ERROR_HEX), 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(cell.adjusted(1, 1, -1, -1))
        if not message:
            return
        # The reason on a band below the cell's row (above it near the bottom), two lines.
        metrics = self.fontMetrics()
        height = 2 * metrics.lineSpacing() + 6
        top = cell.bottom() + 2
        if top + height > self.height():
            top = cell.top() - 2 - height
        band = QRect(2, top, self.width() - 4, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(ERROR_HEX))
        painter.drawRoundedRect(band, 4, 4)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(band.adjusted(6, 3, -6, -3),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
                         | Qt.TextFlag.TextWordWrap, message)
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_header(self, painter: QPainter, palette: QPalette) -> None:
        painter.fillRect(0, 0, self.width(), self.header_height,
                         palette.color(QPalette.ColorRole.Button))
        painter.setPen(palette.color(QPalette.ColorRole.ButtonText))
        painter.setFont(self._bold)
        for column in COLUMNS:
            rect = QRect(self._lefts[column], 0, self.column_width(column), self.header_height)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, TITLES[column])
        painter.setFont(self.font())

    def _paint_row(self, painter: QPainter, palette: QPalette, row: int, shown: LadderRow,
                   digits: int, largest: float) -> None:
        text_colour = palette.color(QPalette.ColorRole.Text)
        if row % 2:
            painter.fillRect(0, self.header_height + row * self.row_height, self.width(),
                             self.row_height, palette.color(QPalette.ColorRole.AlternateBase))
        # Bid and ask columns tinted by side (China colours: buyers red, sellers green).
        bid_rect, ask_rect = self.cell_rect(row, "bid"), self.cell_rect(row, "ask")
        painter.fillRect(bid_rect, _tint(UP_HEX, 70 if shown.bid else 22))
        painter.fillRect(ask_rect, _tint(DOWN_HEX, 70 if shown.ask else 22))
        centre = Qt.AlignmentFlag.AlignCenter
        painter.setPen(text_colour)
        if shown.bid:
            painter.setFont(self._bold if shown.best_bid else self.font())
            painter.drawText(bid_rect, centre, lots(shown.bid))
        if shown.ask:
            painter.setFont(self._bold if shown.best_ask else self.font())
            painter.drawText(ask_rect, centre, lots(shown.ask))
        painter.setFont(self.font())
        # The price; the last trade's in the highlight, bold.
        price_rect = self.cell_rect(row, "price")
        if shown.last:
            painter.fillRect(price_rect, QColor(WARNING_HEX))
            painter.setPen(QColor("#000000"))
            painter.setFont(self._bold)
        painter.drawText(price_rect, centre, f"{shown.price:,.{digits}f}")
        painter.setFont(self.font())
        if shown.entry:          # the position's average price, in its side's colour
            painter.setPen(QPen(QColor(UP_HEX if shown.entry > 0 else DOWN_HEX), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(price_rect.adjusted(1, 1, -1, -1))
        # Own orders.
        for column, orders, hex_colour in (("buys", shown.buys, UP_HEX),
                                           ("sells", shown.sells, DOWN_HEX)):
            if orders:
                self._paint_own(painter, self.cell_rect(row, column), orders, hex_colour)
        # Volume at price: a bar scaled to the day's largest, and the number.
        if shown.volume > 0:
            rect = self.cell_rect(row, "volume").adjusted(2, 2, -2, -2)
            if largest > 0:
                width = max(1, round(rect.width() * shown.volume / largest))
                painter.fillRect(QRect(rect.left(), rect.top(), width, rect.height()),
                                 palette.color(QPalette.ColorRole.Mid))
            painter.setPen(text_colour)
            painter.drawText(rect.adjusted(3, 0, 0, 0),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             volume_text(shown.volume))

    def _paint_own(self, painter: QPainter, rect: QRect, orders: tuple[OwnOrder, ...],
                   hex_colour: str) -> None:
        box = rect.adjusted(3, 2, -3, -2)
        stops_only = all(order.is_stop for order in orders)
        if stops_only:           # a stop waits in the terminal: outlined, dashed if local
            pen = QPen(QColor(hex_colour), 1.5)
            if any(order.is_local for order in orders):
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(box, 3, 3)
            painter.setPen(QColor(hex_colour))
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(QColor(hex_colour)))
            painter.drawRoundedRect(box, 3, 3)
            painter.setPen(QColor("#ffffff"))
        painter.setFont(self._bold)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, own_text(orders))
        painter.setFont(self.font())
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _paint_drag(self, painter: QPainter, palette: QPalette) -> None:
        row, column, _, _ = self._press
        orders = self._own_at(row, column)
        if not orders or self._drag_to is None:
            return
        rect = self.cell_rect(self._drag_to, column).adjusted(3, 2, -3, -2)
        pen = QPen(palette.color(QPalette.ColorRole.Highlight), 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, 3, 3)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, own_text(orders))
