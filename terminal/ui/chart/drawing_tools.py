"""The mouse and the keys that draw on a chart: placing drawings, selecting, moving, editing,
undo and redo, copy and paste, and the measure tool.

One `DrawingTools` per chart. It watches the chart's scene (an event filter, ahead of
pyqtgraph's own mouse handling) and takes only the gestures that are its own: every press
while a tool is active (so the chart does not pan), and a press on a drawing; anything else
goes on to pyqtgraph (pan, zoom) and to the chart dock (the order menu). Mouse moves always go
on too, so the crosshair follows while drawing.

- A tool places its anchors by clicks, or by press-drag-release for the two-point tools (both
  styles; a channel's third point is a click). After placing, the tool returns to the cursor
  unless "stay in tool" is on. Esc cancels.
- The magnet, when on, snaps an anchor to the nearest open, high, low or close of the bar
  under the cursor if it is within `MAGNET_PIXELS` on screen.
- A move (by the body or a handle) is previewed while the mouse drags and becomes ONE change
  of the book on release, so one Ctrl+Z undoes it. Moves go by whole bars, so a line across
  a night keeps its shape. A locked drawing is selected but never moved or deleted.
- Keys are read while the chart has the focus: the tools' keys (configurable, ids in
  `tool_table`), M (magnet), Esc, Delete, Ctrl+Z/Y (Ctrl+Shift+Z), Ctrl+C/V. They take
  precedence over the menu bar's Alt+letter mnemonics only there.

The painting, hit testing and time <-> X mapping are the drawing layer's
(`ui.chart.drawing_layer`); this module only decides what a gesture means. The editing
commands (context menu, dialogs, clipboard, remove all) are in `ui.chart.drawing_edits`, the
measure's figures and mark in `ui.chart.measure`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QKeyCombination, QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from terminal.core.symbols import BadSymbol, split_vt_symbol
from terminal.market import contracts
from terminal.market.drawings import (ANCHORS, MAX_TEXT, Anchor, Drawing, DrawingBook,
                                      DrawingError, new_drawing)
from terminal.market.prices import round_to_tick
from terminal.ui import shortcuts
from terminal.ui.chart.drawing_edits import DrawingEdits, drawing_summary
from terminal.ui.chart.measure import MeasureItem, measure
from terminal.ui.chart.tool_table import BY_NAME, MAGNET_KEY, TOOLS

log = logging.getLogger(__name__)

MAGNET_PIXELS = 20.0       # an anchor snaps to an O/H/L/C this close on screen
HIT_PIXELS = 6.0           # a press this close to a line takes it
DRAG_PIXELS = 4.0          # a press that moves further is a drag, not a click
HOVER_MS = 30              # the cursor over a drawing is updated at most this often
PREVIEW_ID = "placing"

_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
              | Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.MetaModifier)
_PRESS = (QEvent.Type.GraphicsSceneMousePress, QEvent.Type.GraphicsSceneMouseDoubleClick)


def pricetick_of(trading, vt_symbol: str) -> float | None:
    """The symbol's price tick: the connected gateway's contract, else the product's listed
    specification (a past contract such as rb2401 trades like rb2701); None when unknown."""
    if not vt_symbol:
        return None
    contract = trading.contract(vt_symbol)
    if contract is not None and contract.pricetick:
        return float(contract.pricetick)
    try:
        symbol, exchange = split_vt_symbol(vt_symbol)
        return float(contracts.spec_for(symbol, exchange, 0.0).pricetick)
    except (BadSymbol, KeyError):
        return None


class DrawingTools(DrawingEdits, QObject):
    """The drawing interaction of one chart (`chart`: a ChartWidget; `layer`: its drawing
    layer, which holds the symbol's book while one is shown)."""

    tool_changed = Signal(str)          # "" for the cursor
    magnet_changed = Signal(bool)
    notice = Signal(str)                # a short message for the chart's message line

    def __init__(self, chart, layer, pricetick: Callable[[], float | None] = lambda: None,
                 parent: QObject | None = None,
                 overrides: Callable[[], dict[str, str]] = dict) -> None:
        super().__init__(parent)
        self.chart = chart
        self.layer = layer
        self.pricetick = pricetick
        self.overrides = overrides       # settings.json's shortcuts, as set when a key comes
        self.tool = ""
        self.magnet = False
        self.stay = False                # keep the tool after placing a drawing
        self.menu_entries: list[Callable[[QMenu, Drawing, DrawingBook], None]] = []
        self.menu: QMenu | None = None
        self.dialog: QWidget | None = None       # the text, style or levels editor open
        self._anchors: list[Anchor] = []         # placed so far by the active tool
        self._press: QPointF | None = None       # scene position of the press we own
        self._dragged = False
        self._owned: set[Qt.MouseButton] = set()  # buttons whose press we took
        self._moving: tuple[Drawing, int | None, QPointF] | None = None  # (before, handle, at)
        self._moved: Drawing | None = None
        self._measure_from: Anchor | None = None
        self._book = layer.book                   # the book the gesture began on
        self._hover_at: QPointF | None = None
        self._hover_timer = QTimer(self)
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(HOVER_MS)
        self._hover_timer.timeout.connect(self._hover)
        self.measure_item = MeasureItem()
        self.measure_item.hide()
        self.measure_item.label.hide()
        chart.price.addItem(self.measure_item, ignoreBounds=True)
        chart.price.addItem(self.measure_item.label, ignoreBounds=True)
        chart.graphics.scene().installEventFilter(self)
        for widget in (chart, chart.graphics):
            widget.installEventFilter(self)

    # ------------------------------------------------------------------ state
    @property
    def book(self) -> DrawingBook | None:
        return self.layer.book

    @property
    def measuring(self) -> bool:
        return self.measure_item.isVisible()

    def set_tool(self, tool: str) -> None:
        """Activate `tool` (a drawing kind or "measure"; "" for the cursor)."""
        if tool and tool not in BY_NAME:
            raise ValueError(f"no drawing tool {tool!r}")
        self._cancel_gesture()
        if tool and self.book is None:
            self.notice.emit("open a symbol first: drawings belong to a symbol")
            tool = ""
        self.tool = tool
        viewport = self.chart.graphics.viewport()
        if tool:
            viewport.setCursor(Qt.CursorShape.CrossCursor)
            self.layer.select(None)
        else:
            viewport.unsetCursor()
        self.tool_changed.emit(tool)

    def toggle_tool(self, tool: str) -> None:
        self.set_tool("" if self.tool == tool else tool)

    def set_magnet(self, on: bool) -> None:
        if on != self.magnet:
            self.magnet = on
            self.magnet_changed.emit(on)

    def cancel(self) -> bool:
        """Esc: the gesture or tool, else the measure, else the selection; False: nothing."""
        if self.tool or self._moving:
            self.set_tool("")
            return True
        if self.measuring:
            self.clear_measure()
            return True
        if self.layer.selected is not None:
            self.layer.select(None)
            return True
        return False

    def _cancel_gesture(self) -> None:
        self._anchors = []
        self._press = None
        self._dragged = False
        self._moving = None
        self._moved = None
        if self._measure_from is not None:
            self._measure_from = None
            self.clear_measure()
        self.layer.set_preview(None)

    def selected_drawing(self) -> Drawing | None:
        book, selected = self.book, self.layer.selected
        return book.get(selected) if book is not None and selected else None

    # ------------------------------------------------------------------ geometry
    def _view_box(self):
        return self.chart.price.getViewBox()

    def _view_point(self, scene_pos: QPointF) -> QPointF:
        return self._view_box().mapSceneToView(scene_pos)

    def _in_price_pane(self, scene_pos: QPointF) -> bool:
        return self._view_box().sceneBoundingRect().contains(scene_pos)

    def _snap(self, point: QPointF) -> QPointF:
        """The bar under `point` (a whole bar index), and with the magnet on the nearest of
        its open/high/low/close when it is within MAGNET_PIXELS on screen."""
        index = round(point.x())
        series = self.chart.series
        if not self.magnet or not 0 <= index < len(series):
            return QPointF(index, point.y())
        box = self._view_box()
        cursor_y = box.mapViewToScene(point).y()
        best, best_distance = point.y(), MAGNET_PIXELS
        for column in ("open_price", "high_price", "low_price", "close_price"):
            price = float(series.column(column)[index])
            distance = abs(box.mapViewToScene(QPointF(index, price)).y() - cursor_y)
            if distance <= best_distance:
                best, best_distance = price, distance
        return QPointF(index, best)

    def _anchor(self, point: QPointF, snapped: bool = True) -> Anchor:
        point = self._snap(point) if snapped else point
        anchor = self.layer.anchor_at(point.x(), point.y())
        return self._on_tick(anchor)

    def _on_tick(self, anchor: Anchor) -> Anchor:
        tick = self.pricetick()
        if tick and tick > 0:
            on_grid = round_to_tick(anchor.price, tick)
            if on_grid != anchor.price:
                return Anchor(anchor.time_ns, on_grid)
        return anchor

    # ------------------------------------------------------------------ events
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        try:
            if kind in _PRESS:
                return self._pressed(event, kind == QEvent.Type.GraphicsSceneMouseDoubleClick)
            if kind == QEvent.Type.GraphicsSceneMouseMove:
                self._mouse_moved(event)
                return False
            if kind == QEvent.Type.GraphicsSceneMouseRelease:
                return self._released(event)
            if kind == QEvent.Type.ShortcutOverride:
                if self._key_action(event) is not None:
                    event.accept()
                    return True
                return False
            if kind == QEvent.Type.KeyPress:
                action = self._key_action(event)
                if action is not None:
                    action()
                    return True
        except Exception:  # a drawing gesture never takes the chart down
            log.exception("drawing tools: %s failed", kind)
            self._cancel_gesture()
            self.notice.emit("the drawing action failed (see the log)")
            return True
        return False

    def _pressed(self, event, double: bool) -> bool:
        if self.book is not self._book:      # another symbol loaded since the last press
            self._cancel_gesture()
            self._book = self.book
        button = event.button()
        scene_pos = event.scenePos()
        inside = self._in_price_pane(scene_pos)
        if self.measuring and self._measure_from is None and self.tool != "measure":
            self.clear_measure()                 # the next click clears a measure
        if button == Qt.MouseButton.RightButton:
            if self.tool:
                self.set_tool("")                # right-click leaves the tool
                self._owned.add(button)
                return True
            return inside and self._context_menu(event)
        if button != Qt.MouseButton.LeftButton:
            return False
        if self.tool:
            if not inside and not self._anchors and self._measure_from is None:
                return False
            self._owned.add(button)
            self._place(self._view_point(scene_pos), scene_pos)
            return True
        if not inside:
            return False
        point = self._view_point(scene_pos)
        hit = self.layer.hit(point.x(), point.y(), HIT_PIXELS)
        if hit is None:
            self.layer.select(None)
            return False                         # pyqtgraph pans
        drawing_id, handle = hit
        self.layer.select(drawing_id)
        drawing = self.book.get(drawing_id) if self.book is not None else None
        if drawing is None:
            return False
        if double and drawing.kind == "text" and not drawing.locked:
            self._owned.add(button)
            self.edit_text(drawing)
            return True
        if drawing.locked:
            self.notice.emit(f"{drawing_summary(drawing)} is locked: unlock it to move it")
            return False                         # selected; the chart pans as usual
        self._owned.add(button)
        self._moving = (drawing, handle, point)
        self._press, self._dragged, self._moved = scene_pos, False, None
        return True

    def _place(self, point: QPointF, scene_pos: QPointF) -> None:
        if self.tool == "measure":
            if self._measure_from is None:
                self._measure_from = self._anchor(point)
                self._press, self._dragged = scene_pos, False
                self._show_measure(point)
            else:
                self._finish_measure(point)
            return
        anchor = self._anchor(point)
        if self._anchors and self._same_spot(anchor, self._anchors[-1]):
            return                               # a second click on the first point
        self._anchors.append(anchor)
        self._press, self._dragged = scene_pos, False
        if len(self._anchors) == ANCHORS[self.tool]:
            self._commit()
        else:
            self._preview(point)

    def _same_spot(self, first: Anchor, second: Anchor) -> bool:
        box = self._view_box()
        a = box.mapViewToScene(QPointF(self.layer.x_of(first.time_ns), first.price))
        b = box.mapViewToScene(QPointF(self.layer.x_of(second.time_ns), second.price))
        return (a - b).manhattanLength() < DRAG_PIXELS

    def _mouse_moved(self, event) -> None:
        scene_pos = event.scenePos()
        if self._moving is None and self._measure_from is None and not self._anchors:
            # no gesture of ours (a pan costs nothing more here): the hover cursor, paced
            if not self.tool and not event.buttons():
                self._hover_at = scene_pos
                if not self._hover_timer.isActive():
                    self._hover_timer.start()
            return
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton \
                and (scene_pos - self._press).manhattanLength() >= DRAG_PIXELS:
            self._dragged = True
        point = self._view_point(scene_pos)
        if self._moving is not None:
            if self._dragged:
                self._drag_to(point)
        elif self._measure_from is not None:
            self._show_measure(point)
        else:
            self._preview(point)

    def _released(self, event) -> bool:
        button = event.button()
        if button not in self._owned:
            return False
        self._owned.discard(button)
        if button != Qt.MouseButton.LeftButton:
            return True
        point = self._view_point(event.scenePos())
        if self._moving is not None:
            before = self._moving[0]
            moved, self._moved = self._moved, None
            self._moving, self._press = None, None
            self.layer.set_preview(None)
            if self._dragged and moved is not None and moved != before:
                self._book_change(lambda book: book.replace(moved))
        elif self._dragged and self._measure_from is not None:
            self._finish_measure(point)
        elif self._dragged and self._anchors and self.tool:
            # press-drag-release: the release places the next anchor
            self._place(point, event.scenePos())
        self._press, self._dragged = None, False
        return True

    def _hover(self) -> None:
        """The cursor shows what a press would take: a handle, a line, or nothing (tested at
        most once per HOVER_MS: a hit test of a thousand drawings takes a few ms)."""
        viewport = self.chart.graphics.viewport()
        scene_pos = self._hover_at
        if self.tool or self._moving is not None or scene_pos is None:
            return
        if self.book is None or not len(self.book) or not self._in_price_pane(scene_pos):
            viewport.unsetCursor()
            return
        point = self._view_point(scene_pos)
        hit = self.layer.hit(point.x(), point.y(), HIT_PIXELS)
        if hit is None:
            viewport.unsetCursor()
        elif hit[1] is not None:
            viewport.setCursor(Qt.CursorShape.SizeAllCursor)
        else:
            viewport.setCursor(Qt.CursorShape.PointingHandCursor)

    # ------------------------------------------------------------------ placing
    def _preview(self, point: QPointF) -> None:
        """The drawing being placed, with the cursor as its missing anchors."""
        if not self.tool or self.tool == "measure" or not self._anchors:
            return
        cursor = self._anchor(point)
        anchors = (self._anchors + [cursor] * ANCHORS[self.tool])[:ANCHORS[self.tool]]
        try:
            drawing = Drawing(id=PREVIEW_ID, kind=self.tool, anchors=tuple(anchors))
        except DrawingError:
            return
        self.layer.set_preview(drawing)

    def _commit(self) -> None:
        kind, anchors = self.tool, tuple(self._anchors)
        self._anchors = []
        self.layer.set_preview(None)
        if kind == "text":
            self._ask_text(anchors[0])
        else:
            self._add(new_drawing(kind, anchors))
        if not self.stay:
            self.set_tool("")

    def _add(self, drawing: Drawing) -> None:
        if self._book_change(lambda book: book.add(drawing)):
            self.layer.select(drawing.id)

    def _ask_text(self, anchor: Anchor) -> None:
        dialog = self._text_dialog("Text note", "")
        dialog.textValueSelected.connect(
            lambda text: self._add(new_drawing("text", (anchor,), text=text[:MAX_TEXT]))
            if text.strip() else self.notice.emit("an empty note is not kept"))

    # ------------------------------------------------------------------ moving
    def _drag_to(self, point: QPointF) -> None:
        before, handle, start = self._moving
        try:
            if handle is None:
                bars = round(point.x() - start.x())
                rise = point.y() - start.y()
                moved = before
                for index, anchor in enumerate(before.anchors):
                    x = self.layer.x_of(anchor.time_ns) + bars
                    moved = moved.with_anchor(
                        index, self._on_tick(self.layer.anchor_at(x, anchor.price + rise)))
            else:
                moved = before.with_anchor(handle, self._anchor(point))
        except DrawingError:
            return
        self._moved = moved
        self.layer.set_preview(moved)

    # ------------------------------------------------------------------ measure
    def _show_measure(self, point: QPointF) -> None:
        start = self._measure_from
        end_point = self._snap(point)
        end = self._anchor(point)
        start_x = self.layer.x_of(start.time_ns)
        result = measure(start, end, round(end_point.x() - start_x), self.pricetick())
        self.measure_item.set_points(QPointF(start_x, start.price), QPointF(end_point.x(),
                                                                            end.price),
                                     result.text())
        self.measure_item.show()
        self.measure_item.label.show()
        self.measurement = result

    def _finish_measure(self, point: QPointF) -> None:
        self._show_measure(point)
        self._measure_from = None
        if not self.stay:
            self.set_tool("")

    def clear_measure(self) -> None:
        self.measure_item.hide()
        self.measure_item.label.hide()

    # ------------------------------------------------------------------ keys
    def _key_action(self, event) -> Callable[[], object] | None:
        """What the key pressed does on this chart now; None: not ours."""
        modifiers = event.modifiers() & _MODIFIERS
        key = event.key()
        if key in (Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta):
            return None
        text = QKeySequence(QKeyCombination(modifiers, Qt.Key(key))).toString(
            shortcuts.PORTABLE)
        keys, _ = shortcuts.effective(self.overrides())
        for tool in TOOLS:
            if keys.get(tool.shortcut_id) == text:
                return lambda tool=tool.name: self.toggle_tool(tool)
        if text == MAGNET_KEY:
            return lambda: self.set_magnet(not self.magnet)
        if text == "Esc":
            return self.cancel if (self.tool or self._moving or self.measuring
                                   or self.layer.selected is not None) else None
        if text in ("Del", "Backspace"):
            return self.delete_selected if self.layer.selected is not None else None
        if text == "Ctrl+Z":
            return self.undo
        if text in ("Ctrl+Y", "Ctrl+Shift+Z"):
            return self.redo
        if text == "Ctrl+C":
            return self.copy if self.layer.selected is not None else None
        if text == "Ctrl+V":
            return self.paste
        return None

    # ------------------------------------------------------------------ context menu
    def _context_menu(self, event) -> bool:
        point = self._view_point(event.scenePos())
        hit = self.layer.hit(point.x(), point.y(), HIT_PIXELS)
        drawing = self.book.get(hit[0]) if hit is not None and self.book is not None else None
        if drawing is None:
            return False                         # the chart's own (order) menu
        self.layer.select(drawing.id)
        self._owned.add(event.button())
        menu = self.context_menu(drawing)
        menu.popup(event.screenPos())
        return True

    def close(self) -> None:
        """The chart is going: no dialog or menu of it stays open."""
        self._hover_timer.stop()
        for widget in (self.dialog, self.menu):
            if widget is not None:
                try:
                    widget.close()
                except RuntimeError:                 # already deleted by Qt
                    pass
        self.dialog = self.menu = None
