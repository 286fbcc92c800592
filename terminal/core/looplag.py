"""GUI loop lag: how late a short asyncio sleep wakes up on the (qasync) Qt loop.

A lag above one frame (16 ms) is a stutter the trader sees. The lags of the last `window`
seconds are kept (one every `interval` at most, so the memory is bounded) for percentiles:
the health view shows the p99 of the last minute.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import time
from collections import deque
from operator import itemgetter

_LAG = itemgetter(1)


def percentile(values: list[float], q: float) -> float | None:
    """The `q`th percentile of `values` by nearest rank; None when there are none.

    The one definition the product and every benchmark use: the smallest value that at least
    `q`% of the values are at or under (sorted, index ceil(q/100 * n) - 1; q = 0 gives the
    least). Always one of the values, never between two, so a p99 is a lag that happened.
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


class LoopLagMonitor:
    def __init__(self, interval: float = 0.02, window: float = 60.0) -> None:
        self.interval = interval
        self.window = window
        self.worst = 0.0
        self.last = 0.0
        self.count = 0
        # (monotonic time, lag): each wait lasts at least `interval`, so a window holds at
        # most window / interval of them.
        self._recent: deque[tuple[float, float]] = deque(maxlen=math.ceil(window / interval) + 1)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_event_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            lag = max(0.0, time.perf_counter() - before - self.interval)
            self.record(lag)

    def record(self, lag: float, now: float | None = None) -> None:
        self.last = lag
        self.count += 1
        self.worst = max(self.worst, lag)
        self._recent.append((time.monotonic() if now is None else now, lag))

    def recent(self, seconds: float | None = None, now: float | None = None) -> list[float]:
        """The lags recorded in the last `seconds` (at most `window`), oldest first."""
        now = time.monotonic() if now is None else now
        since = now - min(self.window, self.window if seconds is None else seconds)
        # In time order: find the first by bisection, copy the rest at C speed (the health
        # view asks for the whole minute, 3,000 lags, every second on the GUI thread).
        first = bisect.bisect_left(self._recent, (since,))
        return list(map(_LAG, itertools.islice(self._recent, first, None)))

    def percentile(self, q: float, seconds: float | None = None,
                   now: float | None = None) -> float | None:
        """The `q`th percentile of the lags of the last `seconds` (the whole window if None);
        None when none was recorded."""
        return percentile(self.recent(seconds, now), q)
