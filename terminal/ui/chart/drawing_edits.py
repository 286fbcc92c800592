"""What a trader does to drawings once they are there: the context menu (style, text, fib
levels, lock, copy, delete, and entries other parts add), undo and redo, the clipboard, and
"Remove all drawings". A mixin of `DrawingTools` (`ui.chart.drawing_tools`), which brings the
chart, its drawing layer (and through it the symbol's book), `notice` and the gesture state.

Every change is one change of the book, so one Ctrl+Z undoes it, and an edit made from a menu
or dialog applies to the book's current version of the drawing (it may have moved since).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox

from terminal.market.drawings import MAX_TEXT, Drawing, DrawingBook, DrawingError, new_drawing
from terminal.ui.chart.tool_table import TOOLS
from terminal.ui.dialogs.confirm import delete_on_yes

log = logging.getLogger(__name__)

MIME = "application/x-trading-terminal-drawing"
KIND_TITLES = {tool.name: tool.title for tool in TOOLS}


def drawing_summary(drawing: Drawing) -> str:
    """A drawing as a menu header names it: kind and first price."""
    title = KIND_TITLES.get(drawing.kind, drawing.kind)
    if drawing.kind == "text":
        note = drawing.text.splitlines()[0] if drawing.text else ""
        return f"{title}: {note[:30]}"
    return f"{title} at {drawing.anchors[0].price:g}"



def forget_copied_drawing() -> None:
    """Clears the clipboard when it holds a drawing this process copied. Called at exit: Qt's
    own clipboard (the offscreen platform's) deletes the Python-made data after Python has
    ended, which crashes the exit."""
    app = QGuiApplication.instance()
    if app is None:
        return
    data = app.clipboard().mimeData()
    if data is not None and data.hasFormat(MIME):
        app.clipboard().clear()

class DrawingEdits:
    """The editing commands of `DrawingTools` (see the module's docstring)."""

    # ------------------------------------------------------------------ book changes
    def _book_change(self, change: Callable[[DrawingBook], None]) -> bool:
        """Apply one change to the shown symbol's book; a refusal is shown, not raised."""
        book = self.book
        if book is None:
            self.notice.emit("open a symbol first: drawings belong to a symbol")
            return False
        try:
            change(book)
        except DrawingError as exc:
            self.notice.emit(f"drawing not changed: {exc}")
            return False
        return True

    def undo(self) -> bool:
        self._cancel_gesture()
        book = self.book
        return book is not None and book.undo()

    def redo(self) -> bool:
        self._cancel_gesture()
        book = self.book
        return book is not None and book.redo()

    def delete_selected(self) -> bool:
        drawing = self.selected_drawing()
        if drawing is None:
            return False
        if drawing.locked:
            self.notice.emit(f"{drawing_summary(drawing)} is locked: unlock it to delete it")
            return False
        self.layer.select(None)
        return self._book_change(lambda book: book.remove(drawing.id))

    def set_locked(self, drawing: Drawing, locked: bool) -> bool:
        return self._book_change(lambda book: book.replace(
            _replaced(book, drawing, locked=locked)))

    def set_style(self, drawing: Drawing, style) -> bool:
        return self._book_change(lambda book: book.replace(_replaced(book, drawing, style=style)))

    def set_text(self, drawing: Drawing, text: str) -> bool:
        if not text.strip():
            self.notice.emit("an empty note is not kept: delete the note instead")
            return False
        return self._book_change(lambda book: book.replace(
            _replaced(book, drawing, text=text[:MAX_TEXT])))

    def set_levels(self, drawing: Drawing, levels: tuple[float, ...]) -> bool:
        return self._book_change(lambda book: book.replace(
            _replaced(book, drawing, levels=tuple(levels))))

    # ------------------------------------------------------------------ copy, paste, remove all
    def copy(self, drawing: Drawing | None = None) -> bool:
        """The selected drawing (or `drawing`) to the clipboard, for any chart to paste."""
        drawing = drawing or self.selected_drawing()
        if drawing is None:
            return False
        data = QMimeData()
        payload = {"vt_symbol": self.book.vt_symbol if self.book else "",
                   "drawing": drawing.to_dict()}
        data.setData(MIME, json.dumps(payload).encode())
        QGuiApplication.clipboard().setMimeData(data)
        self.notice.emit(f"copied {drawing_summary(drawing)}")
        return True

    def can_paste(self) -> bool:
        data = QGuiApplication.clipboard().mimeData()
        return data is not None and data.hasFormat(MIME)

    def paste(self) -> Drawing | None:
        """A copy of the drawing on the clipboard, at the same times and prices (on any symbol:
        it may lie off screen when the prices differ), unlocked, selected."""
        data = QGuiApplication.clipboard().mimeData()
        if data is None or not data.hasFormat(MIME):
            self.notice.emit("no drawing on the clipboard: copy one with Ctrl+C")
            return None
        try:
            raw = json.loads(bytes(data.data(MIME)).decode())
            source = Drawing.from_dict(raw["drawing"])
            drawing = new_drawing(source.kind, source.anchors, style=source.style,
                                  text=source.text, levels=source.levels)
        except (ValueError, KeyError, TypeError) as exc:
            self.notice.emit(f"the clipboard's drawing cannot be pasted: {exc}")
            return None
        self._cancel_gesture()
        if not self._book_change(lambda book: book.add(drawing)):
            return None
        self.layer.select(drawing.id)
        origin = raw.get("vt_symbol", "")
        if origin and self.book is not None and origin != self.book.vt_symbol:
            self.notice.emit(f"pasted from {origin} at the same times and prices")
        return drawing

    def remove_all(self) -> QMessageBox | None:
        """Ask, then remove every drawing of the shown symbol (locked ones too) as one undo
        step where the book can (Ctrl+Z puts them back)."""
        book = self.book
        if book is None or not len(book):
            self.notice.emit("no drawings to remove")
            return None
        drawings = book.drawings()
        locked = sum(d.locked for d in drawings)
        text = (f"Remove all {len(drawings)} drawings of {book.vt_symbol}, on every chart and "
                "timeframe" + (f", the {locked} locked ones too" if locked else "") + "?")
        box = QMessageBox(QMessageBox.Icon.Question, "Remove all drawings", text,
                          parent=self.chart)
        box.setInformativeText("Ctrl+Z on a chart of the symbol puts them back.")
        delete_on_yes(box, lambda: self._remove_all(book, [d.id for d in drawings]))
        box.button(QMessageBox.StandardButton.Yes).setText("Remove all")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = box
        box.open()
        return box

    def _remove_all(self, book: DrawingBook, ids: list[str]) -> None:
        self._cancel_gesture()
        self.layer.select(None)
        present = [i for i in ids if i in book]
        many = getattr(book, "remove_many", None)
        try:
            if many is not None:
                many(present)
            else:
                for drawing_id in present:
                    book.remove(drawing_id)
        except DrawingError as exc:
            self.notice.emit(f"drawings not removed: {exc}")

    def _text_dialog(self, title: str, text: str) -> QInputDialog:
        dialog = QInputDialog(self.chart)
        dialog.setWindowTitle(title)
        dialog.setLabelText(f"Note (up to {MAX_TEXT} characters)")
        dialog.setOption(QInputDialog.InputDialogOption.UsePlainTextEditForTextInput)
        dialog.setTextValue(text)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        return dialog

    def context_menu(self, drawing: Drawing) -> QMenu:
        """The menu of one drawing: edit, lock, copy, delete, and what other parts add
        (`menu_entries`, e.g. the price alerts' "Add alert…")."""
        book = self.book
        menu = QMenu(self.chart)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction(drawing_summary(drawing)).setEnabled(False)
        menu.addSeparator()
        menu.addAction("Style…", lambda: self.edit_style(drawing))
        if drawing.kind == "text":
            menu.addAction("Edit text…", lambda: self.edit_text(drawing))
        if drawing.kind == "fib":
            menu.addAction("Fib levels…", lambda: self.edit_levels(drawing))
        menu.addAction("Unlock" if drawing.locked else "Lock",
                       lambda: self.set_locked(drawing, not drawing.locked))
        menu.addAction("Copy\tCtrl+C", lambda: self.copy(drawing))
        delete = menu.addAction("Delete\tDel", lambda: self._delete(drawing))
        delete.setEnabled(not drawing.locked)
        for entry in self.menu_entries:
            try:
                entry(menu, drawing, book)
            except Exception:  # another part's entry never breaks the menu
                log.exception("a drawing menu entry failed")
        self.menu = menu
        return menu

    def _delete(self, drawing: Drawing) -> None:
        self.layer.select(drawing.id)
        self.delete_selected()

    def edit_style(self, drawing: Drawing):
        from terminal.ui.dialogs.drawing_style import StyleDialog

        dialog = StyleDialog(drawing.style, f"Style of the {KIND_TITLES[drawing.kind].lower()}",
                             self.chart)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(lambda style: self.set_style(drawing, style))
        self.dialog = dialog
        dialog.open()
        return dialog

    def edit_levels(self, drawing: Drawing):
        from terminal.ui.dialogs.drawing_style import FibLevelsDialog

        dialog = FibLevelsDialog(drawing.fib_levels, self.chart)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(lambda levels: self.set_levels(drawing, levels))
        self.dialog = dialog
        dialog.open()
        return dialog

    def edit_text(self, drawing: Drawing) -> QInputDialog:
        dialog = self._text_dialog("Edit note", drawing.text)
        dialog.textValueSelected.connect(lambda text: self.set_text(drawing, text))
        return dialog


def _replaced(book: DrawingBook, drawing: Drawing, **fields) -> Drawing:
    """The book's current version of `drawing` (it may have changed since a menu or dialog
    opened) with `fields` changed."""
    current = book.get(drawing.id)
    if current is None:
        raise DrawingError(f"the {KIND_TITLES.get(drawing.kind, drawing.kind).lower()} is "
                           "gone (deleted or undone)")
    return replace(current, **fields)
