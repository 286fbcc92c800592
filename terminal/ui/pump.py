"""The GUI end of the bridge: drains it at most once per frame and hands the batch to the docks.

The bridge calls `wake` from vn.py's event thread when the first event of a batch arrives; a
queued signal brings that to the GUI thread, which drains at once if the last drain is a frame
old and otherwise when the frame is up. Orders and trades wake it urgently: those batches are
drained once the last drain is `URGENT_GAP_MS` old, so an acknowledgement does not wait out a
frame (quotes stay paced by the frame; a burst of orders still drains in a few batches, not one
per order). Every consumer is isolated: one that raises is logged and reported, the others still
get the batch.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from terminal.core.bridge import Batch, EventBridge
from terminal.core.events import HandlerError

log = logging.getLogger(__name__)

Consumer = Callable[[Batch], None]
URGENT_GAP_MS = 2


class BridgePump(QObject):
    woken = Signal(bool)
    consumer_failed = Signal(object)  # HandlerError

    def __init__(self, bridge: EventBridge, frame_ms: int = 16, parent: QObject | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.frame = frame_ms / 1000.0
        self.urgent_gap = min(frame_ms, URGENT_GAP_MS) / 1000.0
        self._consumers: list[Consumer] = []
        self._last_drain = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.drain)
        self.woken.connect(self._schedule, Qt.ConnectionType.QueuedConnection)
        bridge.set_wake(self.woken.emit)
        # Figures for the status bar and the smoke summary.
        self.tick_events = 0
        self.consumer_errors = 0

    def subscribe(self, consumer: Consumer) -> None:
        self._consumers.append(consumer)

    def stop(self) -> None:
        """No more drains: the window whose docks consume the batches is closing."""
        self._timer.stop()
        self._consumers.clear()
        self.bridge.set_wake(lambda urgent: None)

    def _schedule(self, urgent: bool) -> None:
        wait = self._last_drain + (self.urgent_gap if urgent else self.frame) \
            - time.perf_counter()
        if wait <= 0:
            self._timer.stop()
            self.drain()
        elif not self._timer.isActive() or (urgent and self._timer.remainingTime() > wait * 1000):
            self._timer.start(max(1, round(wait * 1000)))

    def drain(self) -> None:
        self._last_drain = time.perf_counter()
        batch = self.bridge.drain()
        if not batch:
            return
        self.tick_events += batch.tick_events
        for consumer in self._consumers:
            try:
                consumer(batch)
            except Exception as exc:  # noqa: BLE001 - one broken view must not stop the others
                self.consumer_errors += 1
                name = getattr(consumer, "__qualname__", repr(consumer))
                text = traceback.format_exc()
                log.error("GUI consumer %s failed: %r\n%s", name, exc, text)
                self.consumer_failed.emit(
                    HandlerError(name, "gui-batch", f"{type(exc).__name__}: {exc}", text)
                )
