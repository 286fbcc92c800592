"""The order templates dialog: named brackets (stop distance, one to three targets with their
lots, breakeven, trailing, stop-limit) to create, edit and delete. The chart's order menu, the
ticket and the ladder place orders with them (`terminal.orders.OrderTemplates`, kept in
`<data>/order_templates.json`).

Save builds the template from the form with the template's own checks
(`terminal.orders.templates.check`): a value it refuses is named under the form, its field is
marked and nothing is saved; the store's refusal (a file that cannot be written) is shown the
same way. Names ignore case: saving "Scalp" over "scalp" replaces it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QGridLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from terminal.orders import BracketTemplate, OrderTemplates, Target, TemplateError
from terminal.ui.colours import ERROR_FIELD_STYLE, ERROR_TEXT_STYLE

MAX_TARGETS = 3
MAX_TICKS = 100_000
MAX_LOTS = 10_000
NEW = BracketTemplate(name="new", stop_ticks=10, targets=(Target(ticks=20, volume=1),))
TRAIL_OFF, TRAIL_TICKS, TRAIL_ATR = "Off", "By ticks", "By ATR multiple"


class TemplateFormError(ValueError):
    """A value of the form the template does not take; `field` is the widget to mark."""

    def __init__(self, message: str, field: QWidget | None = None) -> None:
        super().__init__(message)
        self.field = field


def _ticks_box(low: int = 0) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, MAX_TICKS)
    box.setSuffix(" ticks")
    return box


class OrderTemplatesDialog(QDialog):
    def __init__(self, templates: OrderTemplates, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.templates = templates
        self.setWindowTitle("Order templates")
        self.names = QListWidget()
        self.names.currentTextChanged.connect(self._show)
        new_button = QPushButton("New")
        new_button.clicked.connect(self.new)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete)
        left = QVBoxLayout()
        left.addWidget(self.names, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(new_button)
        buttons.addWidget(self.delete_button)
        left.addLayout(buttons)

        self.name_edit = QLineEdit()
        self.stop_box = _ticks_box(1)
        self.stop_limit_check = QCheckBox("Stop-limit, the limit this far through:")
        self.stop_limit_box = _ticks_box()
        self.stop_limit_check.toggled.connect(self.stop_limit_box.setEnabled)
        self.target_boxes: list[tuple[QSpinBox, QSpinBox]] = []
        targets = QGridLayout()
        targets.addWidget(QLabel("Distance (0: none)"), 0, 1)
        targets.addWidget(QLabel("Lots"), 0, 2)
        for number in range(1, MAX_TARGETS + 1):
            ticks, lots = _ticks_box(), QSpinBox()
            lots.setRange(0, MAX_LOTS)
            targets.addWidget(QLabel(f"Target {number}"), number, 0)
            targets.addWidget(ticks, number, 1)
            targets.addWidget(lots, number, 2)
            self.target_boxes.append((ticks, lots))
        self.breakeven_after_box = _ticks_box()
        self.breakeven_offset_box = _ticks_box()
        self.trail_kind = QComboBox()
        self.trail_kind.addItems([TRAIL_OFF, TRAIL_TICKS, TRAIL_ATR])
        self.trail_ticks_box = _ticks_box()
        self.trail_atr_box = QDoubleSpinBox()
        self.trail_atr_box.setRange(0.0, 100.0)
        self.trail_atr_box.setSingleStep(0.5)
        self.trail_atr_box.setSuffix(" × ATR")
        self.atr_period_box = QSpinBox()
        self.atr_period_box.setRange(2, 1000)
        self.atr_period_box.setPrefix("ATR of ")
        self.atr_period_box.setSuffix(" one-minute bars")
        self.trail_kind.currentTextChanged.connect(self._trail_shown)
        self.default_check = QCheckBox("Chosen for new charts and tickets")
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Stop distance", self.stop_box)
        stop_limit = QHBoxLayout()
        stop_limit.addWidget(self.stop_limit_check)
        stop_limit.addWidget(self.stop_limit_box)
        form.addRow("", stop_limit)
        form.addRow("Targets", targets)
        form.addRow("Breakeven after (0: off)", self.breakeven_after_box)
        form.addRow("Breakeven offset", self.breakeven_offset_box)
        trail = QHBoxLayout()
        trail.addWidget(self.trail_kind)
        trail.addWidget(self.trail_ticks_box)
        trail.addWidget(self.trail_atr_box)
        trail.addWidget(self.atr_period_box)
        form.addRow("Trailing stop", trail)
        form.addRow("", self.default_check)
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_TEXT_STYLE)
        self.error.setWordWrap(True)
        form.addRow(self.error)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        right = QVBoxLayout()
        right.addLayout(form)
        bottom = QHBoxLayout()
        bottom.addWidget(self.save_button)
        bottom.addStretch(1)
        bottom.addWidget(close)
        right.addLayout(bottom)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addLayout(right, 3)
        self._fill_names()
        if not self.names.count():
            self.new()

    # ------------------------------------------------------------------ showing
    def _fill_names(self, current: str = "") -> None:
        self.names.blockSignals(True)
        self.names.clear()
        self.names.addItems(self.templates.names())
        self.names.blockSignals(False)
        matches = self.names.findItems(current, Qt.MatchFlag.MatchExactly) if current else []
        self.names.setCurrentItem(matches[0] if matches else self.names.item(0))
        self.delete_button.setEnabled(self.names.count() > 0)

    def _show(self, name: str) -> None:
        if name:
            self.show_template(self.templates.get(name))

    def show_template(self, template: BracketTemplate) -> None:
        self._clear_error()
        self.name_edit.setText(template.name)
        self.stop_box.setValue(template.stop_ticks)
        self.stop_limit_check.setChecked(template.stop_limit_ticks is not None)
        self.stop_limit_box.setValue(template.stop_limit_ticks or 0)
        self.stop_limit_box.setEnabled(template.stop_limit_ticks is not None)
        for index, (ticks, lots) in enumerate(self.target_boxes):
            target = template.targets[index] if index < len(template.targets) else None
            ticks.setValue(target.ticks if target else 0)
            lots.setValue(target.volume if target else 0)
        self.breakeven_after_box.setValue(template.breakeven_after)
        self.breakeven_offset_box.setValue(template.breakeven_offset)
        self.trail_kind.setCurrentText(TRAIL_TICKS if template.trail_ticks
                                       else TRAIL_ATR if template.trail_atr else TRAIL_OFF)
        self.trail_ticks_box.setValue(template.trail_ticks)
        self.trail_atr_box.setValue(template.trail_atr)
        self.atr_period_box.setValue(template.atr_period)
        self._trail_shown(self.trail_kind.currentText())
        self.default_check.setChecked(self.templates.default == template.name)

    def _trail_shown(self, kind: str) -> None:
        self.trail_ticks_box.setVisible(kind == TRAIL_TICKS)
        self.trail_atr_box.setVisible(kind == TRAIL_ATR)
        self.atr_period_box.setVisible(kind == TRAIL_ATR)

    def new(self) -> None:
        """A fresh form to name: a 10-tick stop and one target of 20 ticks for one lot."""
        self.names.clearSelection()
        self.names.setCurrentItem(None)
        self.show_template(NEW)
        self.name_edit.clear()
        self.default_check.setChecked(False)
        self.name_edit.setFocus()

    # ------------------------------------------------------------------ reading
    def template(self) -> BracketTemplate:
        """The form as a template; `TemplateFormError` names the first value refused, by the
        form (a target's lots without its distance, a gap between targets) or by the
        template's own checks."""
        targets = []
        for number, (ticks, lots) in enumerate(self.target_boxes, start=1):
            if not ticks.value():
                if lots.value():
                    raise TemplateFormError(f"Target {number}: {lots.value()} lots need a "
                                            f"distance above 0 ticks", ticks)
                continue
            if len(targets) != number - 1:
                raise TemplateFormError(f"Target {number}: fill target {len(targets) + 1} "
                                        f"first", ticks)
            targets.append(Target(ticks=ticks.value(), volume=lots.value()))
        kind = self.trail_kind.currentText()
        trail_ticks = self.trail_ticks_box.value() if kind == TRAIL_TICKS else 0
        trail_atr = self.trail_atr_box.value() if kind == TRAIL_ATR else 0.0
        if kind == TRAIL_TICKS and not trail_ticks:
            raise TemplateFormError("Trailing stop: a distance above 0 ticks, or Off",
                                    self.trail_ticks_box)
        if kind == TRAIL_ATR and not trail_atr > 0:
            raise TemplateFormError("Trailing stop: an ATR multiple above 0, or Off",
                                    self.trail_atr_box)
        try:
            return BracketTemplate(
                name=self.name_edit.text().strip(), stop_ticks=self.stop_box.value(),
                targets=tuple(targets), breakeven_after=self.breakeven_after_box.value(),
                breakeven_offset=self.breakeven_offset_box.value(), trail_ticks=trail_ticks,
                trail_atr=trail_atr, atr_period=self.atr_period_box.value(),
                stop_limit_ticks=self.stop_limit_box.value()
                if self.stop_limit_check.isChecked() else None)
        except TemplateError as exc:
            raise TemplateFormError(str(exc), self._field_of(str(exc))) from exc

    def _field_of(self, message: str) -> QWidget | None:
        """The widget a template error is about: it starts with the field's id, or is about
        the name or the targets' order."""
        fields: list[tuple[str, QWidget]] = [
            ("stop_ticks", self.stop_box), ("breakeven_offset", self.breakeven_offset_box),
            ("breakeven_after", self.breakeven_after_box),
            ("trail_ticks", self.trail_ticks_box), ("trail_atr", self.trail_atr_box),
            ("atr_period", self.atr_period_box), ("stop_limit_ticks", self.stop_limit_box),
            ("targets must be further", self.target_boxes[1][0])]
        for number, (ticks, lots) in enumerate(self.target_boxes, start=1):
            fields += [(f"target {number} ticks", ticks), (f"target {number} lots", lots)]
        lowered = message.lower()
        found = next((widget for name, widget in fields if lowered.startswith(name)), None)
        return found or (self.name_edit if "name" in lowered else None)

    # ------------------------------------------------------------------ saving
    def save(self) -> bool:
        """The form saved as its name (replacing one of that name, and renaming the one
        shown when the name changed); False with the reason shown when refused."""
        self._clear_error()
        try:
            template = self.template()
        except TemplateFormError as exc:
            return self._error(str(exc), exc.field)
        shown = self.names.currentItem().text() if self.names.currentItem() else ""
        try:
            self.templates.put(template, replaces=shown,        # one write, rename and all
                               default=self.default_check.isChecked())
        except (ValueError, OSError) as exc:
            return self._error(f"not saved: {exc}")
        self._fill_names(template.name)
        return True

    def delete(self) -> None:
        item = self.names.currentItem()
        if item is None:
            return
        try:
            self.templates.delete(item.text())
        except (ValueError, OSError) as exc:
            self._error(f"not deleted: {exc}")
            return
        self._fill_names()
        if not self.names.count():
            self.new()

    def _error(self, message: str, field: QWidget | None = None) -> bool:
        self.error.setText(message)
        if field is not None:
            field.setStyleSheet(ERROR_FIELD_STYLE)
            field.setFocus()
        return False

    def _clear_error(self) -> None:
        self.error.clear()
        for box in (self.name_edit, self.stop_box, self.stop_limit_box,
                    self.breakeven_after_box, self.breakeven_offset_box,
                    self.trail_ticks_box, self.trail_atr_box, self.atr_period_box,
                    *(box for pair in self.target_boxes for box in pair)):
            box.setStyleSheet("")


def open_order_templates(window) -> OrderTemplatesDialog:
    """From the main window's Trading menu: the runtime's templates, the dialog kept on the
    window while it is open."""
    dialog = OrderTemplatesDialog(window.runtime.order_templates, window)
    dialog.open()
    window.order_templates_dialog = dialog
    return dialog
