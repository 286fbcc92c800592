"""The main window's status bar: the trading state and the alerts to acknowledge, the
gateways' connections, the health in one line (details: View → Health) and the count of
handler errors. Refreshed every second; errors counted as the bridge pump reports them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from terminal.core.bridge import Batch
from terminal.core.health import HealthSampler
from terminal.risk.limits import TradingState
from terminal.ui.colours import ERROR_HEX, ERROR_TEXT_STYLE, WARNING_HEX
from terminal.ui.dialogs.connect import ConnectionStatusLabel
from terminal.ui.docks.health import HealthDock, HealthStatusLabel

if TYPE_CHECKING:
    from terminal.system.runtime import Runtime

REFRESH_MS = 1000


class TerminalStatusBar(QStatusBar):
    def __init__(self, runtime: Runtime, health: HealthSampler,
                 alerts_to_acknowledge: Callable[[], int], parent: QWidget | None = None) -> None:
        """`alerts_to_acknowledge`: how many the Alerts dock holds unacknowledged, asked when
        the line is drawn (the bar is made before the docks, so their factories may use it)."""
        super().__init__(parent)
        self.runtime = runtime
        self.health = health
        self.alerts_to_acknowledge = alerts_to_acknowledge
        self.risk_label = QLabel()
        self.connection_label = ConnectionStatusLabel(runtime.kernel, runtime.connections)
        self.health_label = HealthStatusLabel()
        self.errors_label = QLabel()
        self.errors_label.setStyleSheet(ERROR_TEXT_STYLE)
        for widget in (self.risk_label, self.connection_label, self.health_label,
                       self.errors_label):
            self.addPermanentWidget(widget)
        self._errors = 0
        self._health_dock: HealthDock | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)

    def follow(self, dock: HealthDock) -> None:
        """The Health dock samples from now on: show its samples, take none here."""
        self._health_dock = dock
        dock.sampled.connect(self.health_label.show_sample)

    def refresh(self) -> None:
        self.show_risk_state()
        if self._health_dock is None:
            self.health_label.show_sample(self.health.sample(), self.health.levels())

    def show_risk_state(self) -> None:
        unacknowledged = self.alerts_to_acknowledge()
        alerts = f", {unacknowledged} alert(s) to acknowledge" if unacknowledged else ""
        state = self.runtime.risk.config.state
        color = {TradingState.HALTED: ERROR_HEX, TradingState.REDUCE_ONLY: WARNING_HEX}.get(
            state, "")
        self.risk_label.setStyleSheet(f"color: {color}" if color else "")
        self.risk_label.setText(f"Risk: {state.value.replace('_', '-')}{alerts}")

    def count_errors_in(self, batch: Batch) -> None:
        """A pump consumer: the handler errors the batch carries."""
        if batch.errors:
            self.count_errors(len(batch.errors))

    def count_errors(self, count: int) -> None:
        self._errors += count
        self.errors_label.setText(f"{self._errors} handler error(s), see Log")

    def stop(self) -> None:
        self.timer.stop()
