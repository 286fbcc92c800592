"""GUI loop lag: how late a short asyncio sleep wakes up on the (qasync) Qt loop.

A lag above one frame (16 ms) is a stutter the trader sees.
"""

from __future__ import annotations

import asyncio
import time


class LoopLagMonitor:
    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.worst = 0.0
        self.last = 0.0
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

    def record(self, lag: float) -> None:
        self.last = lag
        if lag > self.worst:
            self.worst = lag
