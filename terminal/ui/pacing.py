"""Display pacing: show the latest state at most so many times a second.

Models take every batch at once (orders, the ticket's last tick, what strategies and risk
read); only what is drawn is paced. A quote changing 200 times a second is unreadable above
about ten, and each repaint costs the GUI thread (and, through the GIL, the engine threads):
the soak benchmark's loop lag halved when tables stopped repainting at the pump's 60 Hz.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class Pacer(QObject):
    """Runs `show` at most `per_second` times a second, always after the latest `request`:
    a request in a quiet spell shows on the next turn of the event loop, and the requests
    of a busy one fold into a single call at the end of the gap."""

    def __init__(self, show: Callable[[], None], per_second: float,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._show = show
        self.gap = 1.0 / per_second
        self.shown_at = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def request(self) -> None:
        if not self._timer.isActive():
            wait = self.shown_at + self.gap - time.perf_counter()
            self._timer.start(max(0, int(wait * 1000)))

    def cancel(self) -> None:
        self._timer.stop()

    def _fire(self) -> None:
        self.shown_at = time.perf_counter()
        self._show()
