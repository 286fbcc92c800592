"""The simulated exchange's time: the machine's in the terminal, a hand-moved one in tests.

What the simulator does by itself is timed: quotes fall due at the quote rate, a replay's
ticks at its speed, an account report held back is let out after a while. On `RealClock` that
is the machine's time, so what a test sees of it depends on how fast the machine is and what
else it runs. On `ManualClock` no time passes until `SimGateway.advance` moves it: the quotes
and replay ticks of that span are then made at once, with the stamps and in the order they
would have had on an idle machine.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import partial

from terminal.core.timezone import CHINA_TZ


class RealClock:
    """The machine's time: what the terminal runs on."""

    manual = False
    monotonic = staticmethod(time.monotonic)
    now = staticmethod(partial(datetime.now, CHINA_TZ))    # (no Python frame a quote)


class ManualClock:
    """Time that stands still until the simulator is told to move it (`SimGateway.advance`).

    Starts at `start`, by default the current minute (China time, seconds cut off): the
    trading day is today's, as the journal's is, and a test that moves less than a minute
    never sees a bar end.
    """

    manual = True

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(CHINA_TZ).replace(second=0, microsecond=0)
        self.seconds = 0.0          # moved only by the exchange thread (SimGateway._advance)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)
