"""Price alerts: every alert the trader set, on levels and on lines drawn on charts; edit,
enable or disable, delete. A row shows what the alert watches and where that is now, how it
fires, its state (armed, waiting for its re-arm, fired, disabled and why) and when it last
fired. Alerts that fire also reach the Alerts dock (with a sound and a tray message)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QMessageBox, QPushButton, QWidget

from terminal.core.timezone import CHINA_TZ
from terminal.core.bridge import Batch
from terminal.market.alert_book import PriceAlerts
from terminal.market.price_alerts import (CONDITION_LABELS, EVENT_PRICE_ALERTS, FIRED, KIND_LABELS,
                                          LINE_DELETED,
                                          PriceAlert)
from terminal.market.prices import price_decimals
from terminal.ui.colours import MUTED_BRUSH, RUNNING_BRUSH, WARNING_BRUSH
from terminal.ui.dialogs.confirm import delete_on_yes
from terminal.ui.dialogs.price_alert import PriceAlertDialog
from terminal.ui.docks.common import STRETCH, lay_out_table, make_table, selected_records
from terminal.ui.models.table import Column, RecordTableModel

REFRESH_MS = 5_000        # "now at" of sloping lines moves each minute: shown again this often


def state(alerts: PriceAlerts, alert: PriceAlert) -> str:
    if not alert.enabled:
        return alert.reason or "disabled"
    if not alert.armed:
        return "waiting for its re-arm"
    if alert.drawing is not None and alert.timed and alerts.line_now(alert.id) is None:
        return "off its line now" if alerts.last_price(alert.vt_symbol) is not None \
            else "armed (line priced at the next tick)"
    return "armed"


def _state_color(alerts: PriceAlerts):
    def color(alert: PriceAlert):
        if alert.reason == LINE_DELETED:
            return WARNING_BRUSH
        if not alert.enabled:
            return MUTED_BRUSH
        return RUNNING_BRUSH if alert.armed else None
    return color


class PriceAlertsModel(RecordTableModel):
    def __init__(self, alerts: PriceAlerts, parent=None) -> None:
        def price(value: float | None, alert: PriceAlert) -> str:
            if value is None:
                return ""
            tick = alerts.pricetick(alert.vt_symbol)
            return f"{value:,.{price_decimals(tick)}f}"

        def fired_at(alert: PriceAlert) -> str:
            if not alert.fired_ns:
                return ""
            moment = datetime.fromtimestamp(alert.fired_ns / 1e9, CHINA_TZ)
            return f"{moment:%Y-%m-%d %H:%M:%S} at {price(alert.fired_price, alert)}"

        super().__init__(
            [
                Column("Symbol", lambda a: a.vt_symbol, width=110),
                Column("Watches", lambda a: KIND_LABELS[a.kind], width=110),
                Column("Condition", lambda a: CONDITION_LABELS[a.condition], width=100),
                Column("Price now", lambda a: price(
                    a.level if a.drawing is None else alerts.line_now(a.id), a), numeric=True,
                    tooltip="The level, or where the line is at the last tick's minute"),
                Column("Fires", lambda a: "once" if a.once else
                       f"every time, re-arm {price(a.rearm, a)}", width=150),
                Column("State", lambda a: state(alerts, a), color=_state_color(alerts),
                       width=160),
                Column("Last fired", fired_at, width=190),
                Column("Times", lambda a: a.fired_count, numeric=True, width=50),
                Column("Note", lambda a: a.note, width=240),
            ],
            key=lambda a: a.id, accept=lambda a: alerts.get(a.id) is not None,
            snapshots=False, parent=parent,
        )


class PriceAlertsDock(QWidget):
    def __init__(self, alerts: PriceAlerts, parent=None) -> None:
        super().__init__(parent)
        self.alerts = alerts
        self.model = PriceAlertsModel(alerts, self)
        self.view = make_table(self.model)
        self.view.doubleClicked.connect(lambda index: self.edit(self.model.record(index.row())))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(lambda: self._first_selected(self.edit))
        self.toggle_button = QPushButton("Enable / disable")
        self.toggle_button.clicked.connect(self.toggle_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self.delete_selected)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.view, self.delete_selected)
        lay_out_table(self, self.view, STRETCH, self.edit_button, self.toggle_button,
                      self.delete_button)
        self.dialog: PriceAlertDialog | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)
        self.refresh()

    def apply(self, batch: Batch) -> None:
        """Alerts changed (fired, or edited anywhere): the rows again."""
        if batch.routed.get(EVENT_PRICE_ALERTS):
            self.refresh()

    def refresh(self) -> None:
        """The rows as the alerts are now (a deleted one leaves)."""
        alerts = self.alerts.alerts()
        gone = [a for a in self.model.records() if self.alerts.get(a.id) is None]
        self.model.upsert([*alerts, *gone])

    def _first_selected(self, action) -> None:
        chosen = selected_records(self.view)
        if chosen:
            action(chosen[0])

    def edit(self, alert: PriceAlert | None) -> PriceAlertDialog | None:
        if alert is None or self.alerts.get(alert.id) is None:
            return None
        self.dialog = PriceAlertDialog(self.alerts, alert.vt_symbol,
                                       existing=self.alerts.get(alert.id), parent=self)
        self.dialog.open()
        return self.dialog

    def toggle_selected(self) -> list[str]:
        """Each selected alert enabled if it was disabled, else disabled; what could not be
        changed (a deleted line's alert) is said in the tooltip of the button."""
        refused = []
        for alert in selected_records(self.view):
            current = self.alerts.get(alert.id)
            if current is None:
                continue
            try:
                self.alerts.set_enabled(current.id, not current.enabled)
            except ValueError as exc:
                refused.append(f"{current.vt_symbol}: {exc}")
        self.toggle_button.setToolTip("\n".join(refused))
        return refused

    def delete_selected(self) -> None:
        chosen = [a for a in selected_records(self.view) if self.alerts.get(a.id)]
        if not chosen:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Delete price alerts",
                          f"Delete {len(chosen)} price alert{'s' * (len(chosen) > 1)}?",
                          parent=self)
        delete_on_yes(box, lambda: self.delete([a.id for a in chosen]))
        box.open()
        self.confirm_box = box

    def delete(self, ids: list[str]) -> None:
        for alert_id in ids:
            if self.alerts.get(alert_id) is not None:
                self.alerts.remove(alert_id)

    def _menu(self, pos) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        alert = self.model.record(index.row())
        menu = QMenu(self)
        menu.addAction("Edit…", lambda: self.edit(alert))
        menu.addAction("Disable" if alert.enabled else "Enable", self.toggle_selected)
        if alert.reason == FIRED:
            menu.actions()[-1].setText("Enable again")
        menu.addAction("Delete…", self.delete_selected)
        menu.exec(self.view.viewport().mapToGlobal(pos))
