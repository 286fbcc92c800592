"""A chart's drawing toolbar: the cursor, the common tools, the magnet and "stay in tool" as
buttons, and a Drawings menu with every tool and the editing commands (undo, redo, copy,
paste, remove all). Tooltips name each key as the trader has set it (Settings → Keyboard).

The icons are painted here (a few lines each) rather than shipped as image files, in one
colour that reads on the dark and the light theme.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (QAction, QActionGroup, QColor, QFont, QIcon, QKeySequence, QPainter,
                           QPen, QPixmap, QPolygonF)
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton

from terminal.ui import shortcuts
from terminal.ui.chart.drawing_tools import DrawingTools
from terminal.ui.chart.tool_table import FIXED_KEYS, MAGNET_KEY, TOOLS

ICON = 32                       # painted at this size, shown at 18 px
INK = QColor("#8a9bb0")         # lines: grey-blue, readable on both themes
ACCENT = QColor("#2f80ed")      # anchors and fills


def _points(*xy: float) -> list[QPointF]:
    return [QPointF(xy[i], xy[i + 1]) for i in range(0, len(xy), 2)]


def _paint(name: str, painter: QPainter) -> None:
    pen = QPen(INK, 2.4)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    dots: list[QPointF] = []
    if name == "cursor":
        painter.setBrush(INK)
        painter.drawPolygon(QPolygonF(_points(9, 4, 9, 26, 14, 21, 18, 29, 21, 27, 17, 19,
                                              24, 19)))
    elif name == "trend":
        painter.drawLine(QPointF(6, 26), QPointF(26, 6))
        dots = _points(6, 26, 26, 6)
    elif name == "ray":
        painter.drawLine(QPointF(6, 26), QPointF(31, 1))
        dots = _points(6, 26, 17, 15)
    elif name == "extended":
        painter.drawLine(QPointF(1, 31), QPointF(31, 1))
        dots = _points(11, 21, 21, 11)
    elif name == "hline":
        painter.drawLine(QPointF(1, 16), QPointF(31, 16))
        dots = _points(16, 16)
    elif name == "hray":
        painter.drawLine(QPointF(7, 16), QPointF(31, 16))
        dots = _points(7, 16)
    elif name == "vline":
        painter.drawLine(QPointF(16, 1), QPointF(16, 31))
        dots = _points(16, 16)
    elif name == "rectangle":
        fill = QColor(ACCENT)
        fill.setAlpha(60)
        painter.setBrush(fill)
        painter.drawRect(QRectF(5, 9, 22, 14))
        dots = _points(5, 9, 27, 23)
    elif name == "channel":
        painter.drawLine(QPointF(3, 20), QPointF(22, 4))
        painter.drawLine(QPointF(10, 28), QPointF(29, 12))
        dots = _points(3, 20, 22, 4, 10, 28)
    elif name == "fib":
        for y, start in ((5, 4), (12, 4), (19, 4), (27, 4)):
            painter.drawLine(QPointF(start, y), QPointF(28, y))
        dots = _points(4, 27, 28, 5)
    elif name == "text":
        font = QFont()
        font.setPixelSize(26)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(0, 0, ICON, ICON), Qt.AlignmentFlag.AlignCenter, "T")
    elif name == "measure":
        painter.drawLine(QPointF(16, 5), QPointF(16, 27))
        painter.drawLine(QPointF(8, 4), QPointF(24, 4))
        painter.drawLine(QPointF(8, 28), QPointF(24, 28))
        painter.drawPolyline(QPolygonF(_points(11, 10, 16, 5, 21, 10)))
        painter.drawPolyline(QPolygonF(_points(11, 22, 16, 27, 21, 22)))
    elif name == "magnet":
        magnet = QPen(INK, 6)
        magnet.setCapStyle(Qt.PenCapStyle.FlatCap)
        painter.setPen(magnet)
        painter.drawArc(QRectF(7, 8, 18, 18), 180 * 16, 180 * 16)
        painter.drawLine(QPointF(7, 17), QPointF(7, 8))
        painter.drawLine(QPointF(25, 17), QPointF(25, 8))
        painter.setPen(QPen(ACCENT, 6))
        painter.drawLine(QPointF(7, 7), QPointF(7, 3))
        painter.drawLine(QPointF(25, 7), QPointF(25, 3))
    elif name == "stay":
        painter.drawEllipse(QRectF(10, 3, 12, 12))
        painter.drawLine(QPointF(16, 15), QPointF(16, 29))
        dots = _points(16, 9)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(ACCENT)
    for dot in dots:
        painter.drawEllipse(dot, 3.2, 3.2)


def tool_icon(name: str) -> QIcon:
    """The painted icon of a tool ("cursor", a drawing kind, "measure", "magnet", "stay")."""
    pixmap = QPixmap(ICON, ICON)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    try:
        _paint(name, painter)
    finally:
        painter.end()
    return QIcon(pixmap)


class DrawingToolbar(QToolBar):
    """The row of drawing buttons above one chart, over its `DrawingTools`."""

    def __init__(self, tools: DrawingTools, parent=None) -> None:
        super().__init__("Drawing tools", parent)
        self.tools = tools
        self.setIconSize(QSize(18, 18))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.group = QActionGroup(self)
        self.group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        self.cursor_action = self._checkable("Cursor", "cursor", lambda _: tools.set_tool(""))
        self.group.addAction(self.cursor_action)
        self.addAction(self.cursor_action)
        self.tool_actions: dict[str, QAction] = {}
        for tool in TOOLS:
            action = self._checkable(tool.title, tool.name,
                                     lambda _=False, name=tool.name: tools.set_tool(name))
            self.group.addAction(action)
            self.tool_actions[tool.name] = action
            if tool.main:
                self.addAction(action)
        self.addSeparator()
        self.magnet_action = self._checkable("Magnet", "magnet", tools.set_magnet)
        self.stay_action = self._checkable("Stay in the tool after drawing", "stay",
                                           lambda on: setattr(tools, "stay", on))
        self.addAction(self.magnet_action)
        self.addAction(self.stay_action)
        self.addSeparator()

        self.menu = QMenu("Drawings", self)
        self.menu.aboutToShow.connect(self._fill_menu)
        self.menu_button = QToolButton(self)
        self.menu_button.setText("Drawings")
        self.menu_button.setToolTip(
            "Every tool, undo and redo, copy and paste, remove all.<br>Keys in the chart: "
            + ", ".join(f"<b>{keys}</b> {what}" for keys, what in FIXED_KEYS))
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setMenu(self.menu)
        self.addWidget(self.menu_button)

        tools.tool_changed.connect(self._show_tool)
        tools.magnet_changed.connect(self.magnet_action.setChecked)
        self._show_tool(tools.tool)
        self.refresh_keys()

    def _checkable(self, title: str, icon: str, slot) -> QAction:
        action = QAction(tool_icon(icon), title, self)
        action.setCheckable(True)
        action.setData(title)
        action.triggered.connect(slot)
        return action

    def _show_tool(self, tool: str) -> None:
        action = self.tool_actions.get(tool, self.cursor_action)
        action.setChecked(True)

    def keys(self) -> dict[str, str]:
        """The tools' keys as shown to the trader (native text), "" where there is none."""
        keys, _ = shortcuts.effective(self.tools.overrides())
        native = QKeySequence.SequenceFormat.NativeText
        return {tool.name: QKeySequence.fromString(keys.get(tool.shortcut_id, ""),
                                                   shortcuts.PORTABLE).toString(native)
                for tool in TOOLS}

    def refresh_keys(self) -> None:
        """Tooltips with the keys as set now (called again whenever the mouse comes to the
        toolbar, so a key changed in Settings shows without reopening the chart)."""
        keys = self.keys()
        for name, action in self.tool_actions.items():
            key = keys[name]
            action.setToolTip(f"{action.data()} ({key})" if key else action.data())
        self.cursor_action.setToolTip("Cursor: select and move drawings (Esc)")
        self.magnet_action.setToolTip(
            f"Magnet: anchors snap to the open, high, low or close of the bar ({MAGNET_KEY})")
        self.stay_action.setToolTip("Stay in the tool after drawing (otherwise back to the "
                                    "cursor)")

    def enterEvent(self, event) -> None:
        self.refresh_keys()
        super().enterEvent(event)

    def _fill_menu(self) -> None:
        """Every tool (with its key), then the commands, enabled as they apply now."""
        tools, menu = self.tools, self.menu
        menu.clear()
        self.refresh_keys()
        keys = self.keys()
        for tool in TOOLS:
            action = self.tool_actions[tool.name]
            action.setText(f"{tool.title}\t{keys[tool.name]}" if keys[tool.name] else tool.title)
            menu.addAction(action)
        menu.addSeparator()
        book = tools.book
        undo = menu.addAction("Undo\tCtrl+Z", tools.undo)
        undo.setEnabled(book is not None and book.can_undo)
        redo = menu.addAction("Redo\tCtrl+Y", tools.redo)
        redo.setEnabled(book is not None and book.can_redo)
        copy = menu.addAction("Copy the selected drawing\tCtrl+C", tools.copy)
        copy.setEnabled(tools.selected_drawing() is not None)
        paste = menu.addAction("Paste the drawing (same times and prices)\tCtrl+V", tools.paste)
        paste.setEnabled(book is not None and tools.can_paste())
        menu.addSeparator()
        symbol = book.vt_symbol if book is not None else "this symbol"
        remove = menu.addAction(f"Remove all drawings of {symbol}…", tools.remove_all)
        remove.setEnabled(book is not None and len(book) > 0)
