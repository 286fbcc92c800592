"""The two small editors of a drawing's context menu: its style (colour, width, dash) and a
Fibonacci retracement's levels.

Neither changes anything until OK, and OK refuses what the drawing model would refuse, naming
the field or row, so the trader fixes it in place instead of losing what was typed. Both are
opened with `open()` (window-modal, not a nested event loop) and hand back the result through
a signal.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QColorDialog, QComboBox, QDialog, QDialogButtonBox,
                               QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QVBoxLayout)

from terminal.market.drawings import DASHES, FIB_LEVELS, WIDTHS, Style
from terminal.ui.colours import ERROR_FIELD_STYLE, ERROR_TEXT_STYLE

FIB_RANGE = (-1.0, 3.0)       # what the levels dialog takes: extensions to 261.8% and beyond
DASH_LABELS = {"solid": "Solid", "dash": "Dashed", "dot": "Dotted"}
_HEX = re.compile(r"^#?[0-9a-fA-F]{6}$")


class StyleDialog(QDialog):
    """Colour (a #rrggbb field and a picker), width and dash of one drawing."""

    chosen = Signal(object)          # the new Style, after OK

    def __init__(self, style: Style, title: str = "Drawing style", parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.color_edit = QLineEdit(style.color)
        self.color_edit.setToolTip("A colour as #rrggbb, or pick one")
        self.color_edit.textChanged.connect(self._show_swatch)
        self.pick_button = QPushButton("Pick…")
        self.pick_button.clicked.connect(self.pick_color)
        self.swatch = QLabel()
        self.swatch.setFixedSize(22, 22)
        self.width_box = QDoubleSpinBox()
        self.width_box.setRange(*WIDTHS)
        self.width_box.setSingleStep(0.5)
        self.width_box.setDecimals(1)
        self.width_box.setSuffix(" px")
        self.width_box.setValue(style.width)
        self.dash_box = QComboBox()
        for dash in DASHES:
            self.dash_box.addItem(DASH_LABELS.get(dash, dash), dash)
        self.dash_box.setCurrentIndex(self.dash_box.findData(style.dash))
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_TEXT_STYLE)
        self.error.setWordWrap(True)

        color_row = QHBoxLayout()
        color_row.addWidget(self.swatch)
        color_row.addWidget(self.color_edit, 1)
        color_row.addWidget(self.pick_button)
        form = QFormLayout()
        form.addRow("Colour", color_row)
        form.addRow("Width", self.width_box)
        form.addRow("Line", self.dash_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.picker: QColorDialog | None = None
        self._show_swatch()

    def style(self) -> Style:
        """The style as entered; ValueError (naming the field) when it cannot be one."""
        text = self.color_edit.text().strip()
        if not _HEX.match(text):
            raise ValueError(f"Colour: {text!r} is not a colour like #2f80ed")
        return Style(color=("#" + text.lstrip("#")).lower(), width=self.width_box.value(),
                     dash=self.dash_box.currentData())

    def pick_color(self) -> QColorDialog:
        picker = QColorDialog(QColor(self.color_edit.text().strip()), self)
        picker.colorSelected.connect(lambda color: self.color_edit.setText(color.name()))
        picker.open()
        self.picker = picker
        return picker

    def _show_swatch(self) -> None:
        text = self.color_edit.text().strip()
        valid = bool(_HEX.match(text))
        self.color_edit.setStyleSheet("" if valid else ERROR_FIELD_STYLE)
        color = "#" + text.lstrip("#") if valid else "transparent"
        self.swatch.setStyleSheet(f"background: {color}; border: 1px solid #888")

    def accept(self) -> None:
        try:
            style = self.style()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.chosen.emit(style)
        super().accept()


def parse_levels(texts: list[str]) -> tuple[float, ...]:
    """Fibonacci levels from the rows as typed (a percent sign is allowed: "61.8%" is 0.618);
    ValueError naming the first bad row. Empty rows are skipped; at least one level, each in
    FIB_RANGE, none twice. In ascending order."""
    levels: list[float] = []
    for row, raw in enumerate(texts, start=1):
        text = raw.strip().replace(",", ".")
        if not text:
            continue
        percent = text.endswith("%")
        try:
            value = float(text.rstrip("%").strip())
        except ValueError:
            raise ValueError(f"row {row}: {raw.strip()!r} is not a number") from None
        if percent:
            value = round(value / 100.0, 10)
        if not (FIB_RANGE[0] <= value <= FIB_RANGE[1]):
            raise ValueError(f"row {row}: {value:g} is outside {FIB_RANGE[0]:g}..{FIB_RANGE[1]:g}"
                             " (1 is the whole move, 0.618 is 61.8%)")
        if value in levels:
            raise ValueError(f"row {row}: {value:g} is there twice")
        levels.append(value)
    if not levels:
        raise ValueError("at least one level is needed")
    return tuple(sorted(levels))


class FibLevelsDialog(QDialog):
    """An editable list of a retracement's levels (fractions of the move: 0.618 = 61.8%)."""

    chosen = Signal(object)          # tuple[float, ...], after OK

    def __init__(self, levels: tuple[float, ...], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fibonacci levels")
        self.list = QListWidget()
        for level in levels or FIB_LEVELS:
            self._add_row(f"{level:g}")
        add = QPushButton("Add")
        add.clicked.connect(lambda: self.list.editItem(self._add_row("")))
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_selected)
        standard = QPushButton("Standard levels")
        standard.setToolTip(", ".join(f"{level:g}" for level in FIB_LEVELS))
        standard.clicked.connect(self.set_standard)
        self.add_button, self.remove_button, self.standard_button = add, remove, standard
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_TEXT_STYLE)
        self.error.setWordWrap(True)
        hint = QLabel(f"Fractions of the move from {FIB_RANGE[0]:g} to {FIB_RANGE[1]:g} "
                      "(0.618 or 61.8%); double-click a level to edit it.")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        side = QVBoxLayout()
        for button in (add, remove, standard):
            side.addWidget(button)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.list, 1)
        row.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _add_row(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        self.list.addItem(item)
        return item

    def texts(self) -> list[str]:
        return [self.list.item(row).text() for row in range(self.list.count())]

    def set_texts(self, texts: list[str]) -> None:
        self.list.clear()
        for text in texts:
            self._add_row(text)

    def set_standard(self) -> None:
        self.set_texts([f"{level:g}" for level in FIB_LEVELS])

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))

    def levels(self) -> tuple[float, ...]:
        return parse_levels(self.texts())

    def accept(self) -> None:
        try:
            levels = self.levels()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.chosen.emit(levels)
        super().accept()
