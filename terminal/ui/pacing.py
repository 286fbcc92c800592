"""Display pacing: show the latest state at most so many times a second, each view in its
own turn.

Models take every batch at once (orders, the ticket's last tick, what strategies and risk
read); only what is drawn is paced. A quote changing 200 times a second is unreadable above
about ten, and each repaint costs the GUI thread (and, through the GIL, the engine threads):
in the soak benchmark the GUI thread went from 0.49 to 0.22 cores when the tables, the
ticket's book and the charts went from 30, 60 and 20 draws a second to 10 each (with that
round's other changes).

Every paced view draws on its own clock: ticks every `1 / per_second` from one epoch, shifted
by a golden-ratio share of the period per clock made. Views asked to show by the same batch
then draw in turns spread over the period, each with its own short paint, rather than all at
once in one long stall of the GUI thread (which the trader feels as a stutter).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer

_EPOCH = time.perf_counter()
_GOLDEN = (math.sqrt(5) - 1) / 2
_clocks_made = itertools.count()


class Clock:
    """Ticks at origin + k * gap; `next_tick` is never the tick last given (a timer may
    fire a little early)."""

    def __init__(self, per_second: float) -> None:
        self.gap = 1.0 / per_second
        self.origin = _EPOCH + (next(_clocks_made) * _GOLDEN % 1.0) * self.gap
        self._last = -1

    def next_tick(self, after: float) -> float:
        """The time of the first tick at or after `after` not given before."""
        tick = max(math.ceil((after - self.origin) / self.gap), self._last + 1)
        self._last = tick
        return self.origin + tick * self.gap


class Pacer(QObject):
    """Runs `show` at the next tick of its clock after a `request`; the requests before that
    tick fold into one call.

    `now` reads the time (`perf_counter` seconds); tests give their own, and check when a
    show is due (`due`) rather than when the machine got round to it."""

    def __init__(self, show: Callable[[], None], per_second: float,
                 parent: QObject | None = None,
                 now: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(parent)
        self._show = show
        self.now = now
        self.due: float | None = None       # when the pending show is due, on `now`'s time
        self.clock = Clock(per_second)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._show)

    @property
    def gap(self) -> float:
        return self.clock.gap

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def request(self, after: float = 0.0) -> None:
        """Show at the next tick (not before `after`, a `perf_counter` time); nothing if a
        show is already pending."""
        if not self._timer.isActive():
            now = self.now()
            self.due = self.clock.next_tick(max(now, after))
            self._timer.start(max(0, round((self.due - now) * 1000)))

    def cancel(self) -> None:
        self._timer.stop()
