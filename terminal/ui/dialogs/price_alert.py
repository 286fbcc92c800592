"""The price alert dialog: a new alert at a level (the market watch's "Alert at price…"), on a
line drawing (the chart's "Add alert…"), or an alert edited from the Price alerts dock.

The dialog shows the level (or the line it watches and its price now), the condition, once or
every time with its re-arm distance, a note and, when editing, whether it is enabled. OK builds
the alert through the model's own checks: a value it refuses is named under the fields and the
dialog stays open, so nothing half-made is kept. An alert that fired (or was changed) while its
dialog was open is not overwritten: the dialog says so and shows it as it is now.
"""

from __future__ import annotations

import time

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QLabel, QLineEdit, QWidget)

from terminal.market.alert_book import ChangedMeanwhile, PriceAlerts
from terminal.market.drawings import Drawing
from terminal.market.price_alerts import (CONDITION_LABELS, CROSS_DOWN, CROSS_UP, KIND_LABELS,
                                          LINE_KINDS, MAX_NOTE, TOUCH, PriceAlert,
                                          PriceAlertError, new_alert)
from terminal.market.prices import price_decimals, round_to_tick
from terminal.ui.colours import ERROR_TEXT_STYLE

ONCE, EVERY = "Once", "Every time"
REARM_TICKS = 10                  # the re-arm distance offered, in ticks


def price_box(tick: float, value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(price_decimals(tick))
    box.setRange(0.0, 1e9)
    box.setSingleStep(tick)
    box.setGroupSeparatorShown(True)
    box.setValue(value)
    return box


class PriceAlertDialog(QDialog):
    """New (`existing` None) or edited alert on `vt_symbol`: a level, or `drawing`."""

    def __init__(self, alerts: PriceAlerts, vt_symbol: str, *, level: float = 0.0,
                 drawing: Drawing | None = None, existing: PriceAlert | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.alerts = alerts
        self.vt_symbol = vt_symbol
        self.existing = existing
        self.drawing = existing.drawing if existing is not None else drawing
        self.tick = alerts.pricetick(vt_symbol)
        self.result_alert: PriceAlert | None = None
        last = alerts.last_price(vt_symbol)
        what = KIND_LABELS["level" if self.drawing is None else self.drawing.kind]
        self.setWindowTitle(f"{'Edit' if existing else 'New'} price alert: {vt_symbol}")

        form = QFormLayout(self)
        form.addRow("Symbol", QLabel(vt_symbol))
        self.level_box = None
        if self.drawing is None:
            start = existing.level if existing is not None else round_to_tick(level, self.tick)
            self.level_box = price_box(self.tick, start)
            form.addRow("Level", self.level_box)
        else:
            now = alerts.line_now(existing.id) if existing is not None else None
            form.addRow("Watches", QLabel(f"the {what} drawn on the chart"
                                          + (f", now at {now:,.{self._digits}f}"
                                             if now is not None else "")))
        self.condition_box = QComboBox()
        for condition, label in CONDITION_LABELS.items():
            self.condition_box.addItem(label, condition)
        self.condition_box.setCurrentIndex(self.condition_box.findData(
            existing.condition if existing is not None else self._likely(level, last)))
        form.addRow("Condition", self.condition_box)
        self.frequency_box = QComboBox()
        self.frequency_box.addItems([ONCE, EVERY])
        self.rearm_box = price_box(self.tick, REARM_TICKS * self.tick)
        self.rearm_box.setToolTip("After firing, the price must move this far from the line "
                                  "(either side) before the alert can fire again")
        if existing is not None:
            self.frequency_box.setCurrentText(ONCE if existing.once else EVERY)
            if not existing.once:
                self.rearm_box.setValue(existing.rearm)
        self.frequency_box.currentTextChanged.connect(
            lambda text: self.rearm_box.setEnabled(text == EVERY))
        self.rearm_box.setEnabled(self.frequency_box.currentText() == EVERY)
        form.addRow("Fires", self.frequency_box)
        form.addRow("Re-arm distance", self.rearm_box)
        self.note_edit = QLineEdit(existing.note if existing is not None else "")
        self.note_edit.setMaxLength(MAX_NOTE)
        self.note_edit.setPlaceholderText("shown with the alert when it fires")
        form.addRow("Note", self.note_edit)
        self.enabled_box = QCheckBox("Enabled")
        self.enabled_box.setChecked(existing.enabled if existing is not None else True)
        if existing is not None:
            form.addRow("", self.enabled_box)
        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_TEXT_STYLE)
        self.error_label.setWordWrap(True)
        form.addRow(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.buttons = buttons

    def reload(self, current: PriceAlert) -> None:
        """The fields as the alert is now (it changed since the dialog opened)."""
        self.existing = current
        if self.level_box is not None:
            self.level_box.setValue(current.level)
        self.condition_box.setCurrentIndex(self.condition_box.findData(current.condition))
        self.frequency_box.setCurrentText(ONCE if current.once else EVERY)
        if not current.once:
            self.rearm_box.setValue(current.rearm)
        self.note_edit.setText(current.note)
        self.enabled_box.setChecked(current.enabled)

    @property
    def _digits(self) -> int:
        return price_decimals(self.tick)

    def _likely(self, level: float, last: float | None) -> str:
        """Up to a level above the last price, down to one below; touching (either way)
        when that cannot be told."""
        if self.drawing is not None or last is None or not level or level == last:
            return TOUCH
        return CROSS_UP if level > last else CROSS_DOWN

    def accept(self) -> None:
        """Make (or change) the alert and keep it; a refusal is said and the dialog stays."""
        once = self.frequency_box.currentText() == ONCE
        fields = {"condition": self.condition_box.currentData(), "once": once,
                  "rearm": 0.0 if once else self.rearm_box.value(),
                  "note": self.note_edit.text().strip()}
        try:
            if self.existing is not None:
                if self.level_box is not None:
                    fields["level"] = self.level_box.value()
                alert = self.existing.edited(**fields, enabled=self.enabled_box.isChecked())
                self.alerts.replace(alert, based_on=self.existing)
            else:
                level = self.level_box.value() if self.level_box is not None else 0.0
                alert = new_alert(self.vt_symbol, level=level, drawing=self.drawing,
                                  created_ns=time.time_ns(), **fields)
                self.alerts.add(alert)
        except ChangedMeanwhile as exc:       # it fired while the dialog was open
            self.reload(exc.current)
            self.error_label.setText(str(exc))
            return
        except (PriceAlertError, ValueError) as exc:
            self.error_label.setText(str(exc))
            return
        self.result_alert = alert
        super().accept()


def open_alert_dialog(alerts: PriceAlerts, vt_symbol: str, parent: QWidget | None = None,
                      **kwargs) -> PriceAlertDialog:
    """The dialog, opened window-modal (not blocking the caller), deleted when closed."""
    dialog = PriceAlertDialog(alerts, vt_symbol, parent=parent, **kwargs)
    dialog.open()
    return dialog


def add_drawing_alert(alerts: PriceAlerts, vt_symbol: str, drawing: Drawing,
                      parent: QWidget | None = None) -> PriceAlertDialog | None:
    """"Add alert…" on a drawing's context menu: the dialog for a line drawing; None (nothing
    opened) for a drawing that cannot carry an alert."""
    if drawing.kind not in LINE_KINDS:
        return None
    return open_alert_dialog(alerts, vt_symbol, parent, drawing=drawing)
