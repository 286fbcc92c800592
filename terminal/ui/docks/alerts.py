"""Risk alerts: time, severity, rule, symbol and message, newest first; acknowledge, filter.

A severe alert also beeps and shows a system-tray notification (where the desktop has a tray),
so it reaches a trader looking at another window; so does a price alert firing (rule
`price_alert`, severity info: the trader asked for it, nothing is wrong). Acknowledging
publishes the alert again, so the journal keeps the acknowledgement and a restart shows it.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QComboBox, QPushButton, QStyle, QSystemTrayIcon,
                               QWidget)
from vnpy.event import Event, EventEngine

from terminal.core.alerts import EVENT_ALERT, SEVERE, WARNING, Alert
from terminal.market.price_alerts import ALERT_RULE as PRICE_ALERT
from terminal.core.bridge import Batch
from terminal.ui.docks.common import STRETCH, lay_out_table, make_table, selected_records
from terminal.ui.models.table import Column, RecordTableModel, clock
from terminal.ui.colours import ERROR_BRUSH, WARNING_BRUSH

FILTERS = {
    "All alerts": None,
    "Not acknowledged": lambda a: not a.acknowledged,
    "Severe": lambda a: a.severity == SEVERE,
}


def _severity_color(alert: Alert):
    if alert.severity == SEVERE:
        return ERROR_BRUSH
    return WARNING_BRUSH if alert.severity == WARNING else None


class AlertsModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            [
                Column("Time", lambda a: a.time, clock, width=96),
                Column("Severity", lambda a: a.severity, color=_severity_color),
                Column("Rule", lambda a: a.rule, width=150),
                Column("Symbol", lambda a: a.symbol, width=118),
                Column("Message", lambda a: a.message, width=520),
                Column("Ack", lambda a: "yes" if a.acknowledged else ""),
            ],
            key=lambda a: a.id,
            parent=parent,
        )


class AlertsDock(QWidget):
    severe_alert = Signal(object)            # an unacknowledged severe alert arrived

    def __init__(self, event_engine: EventEngine, parent=None) -> None:
        super().__init__(parent)
        self.event_engine = event_engine
        self.model = AlertsModel(self)
        self.view = make_table(self.model)
        self.filter_box = QComboBox()
        self.filter_box.addItems(list(FILTERS))
        self.filter_box.currentTextChanged.connect(
            lambda text: self.model.set_filter(FILTERS[text]))
        self.ack_button = QPushButton("Acknowledge selected")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.ack_all_button = QPushButton("Acknowledge all")
        self.ack_all_button.clicked.connect(self.acknowledge_all)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self.view, self.acknowledge_selected)
        lay_out_table(self, self.view,
                      self.filter_box, STRETCH, self.ack_button, self.ack_all_button)
        self.tray: QSystemTrayIcon | None = None
        self.notified = 0

    def apply(self, batch: Batch) -> None:
        if not batch.alerts:
            return
        known = {a.id for a in self.model.records()}
        self.model.upsert(batch.alerts)
        for alert in batch.alerts:
            if alert.acknowledged or alert.id in known:
                continue
            if alert.severity == SEVERE:
                self._notify(alert)
            elif alert.rule == PRICE_ALERT:         # asked for by the trader: heard too
                self._notify(alert, "Price alert", QSystemTrayIcon.MessageIcon.Information)

    def unacknowledged(self) -> list[Alert]:
        return [a for a in self.model.records() if not a.acknowledged]

    def acknowledge_selected(self) -> int:
        return self._acknowledge(selected_records(self.view))

    def acknowledge_all(self) -> int:
        return self._acknowledge(self.unacknowledged())

    def _acknowledge(self, alerts: list[Alert]) -> int:
        count = 0
        for alert in alerts:
            if not alert.acknowledged:
                self.event_engine.put(Event(EVENT_ALERT,
                                            dataclasses.replace(alert, acknowledged=True)))
                count += 1
        return count

    def _notify(self, alert: Alert, title: str = "",
                icon=QSystemTrayIcon.MessageIcon.Critical) -> None:
        """Sound and tray message for a severe alert (or a price alert firing)."""
        self.notified += 1
        QApplication.beep()
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self.tray is None:
                icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
                self.tray = QSystemTrayIcon(icon, self)
                self.tray.show()
            self.tray.showMessage(title or f"Risk: {alert.rule}", alert.message, icon, 10_000)
        if alert.severity == SEVERE:
            self.severe_alert.emit(alert)
