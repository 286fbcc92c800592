"""Hypervisor steal beside the GUI loop lag: which late wakes the host caused.

On a virtual machine the host may hand a vCPU to another guest while this one wants it; the
guest counts that time as "steal" (read here as the health view reads it,
`terminal.core.health.host_steal_seconds`). On the 2-vCPU machine these benchmarks were
measured on, the host took a vCPU for 10-30 ms at a time: an empty asyncio loop woke late
by 20 ms with nothing else running, and 92% of its late wakes
(8 ms or more) had steal in their window against 5% of the others. No code in the process can
win that time back, so the soak reports beside every lag figure how much the host took and
the lag over the wakes it took nothing from: the estimate of the same load on a machine of
one's own. The targets stay judged on all wakes.

/proc/stat counts in USER_HZ ticks (10 ms): a wake whose window saw less than a tick of steal
may read as clean. Off Linux there is no steal to read and every figure here is None. The
read (about 25 us) runs on the GUI thread at every wake: 50 a second, about 0.1% of a core.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable

from terminal.core.health import host_steal_seconds
from terminal.core.looplag import LoopLagMonitor, percentile


class StealTaggedLag(LoopLagMonitor):
    """A LoopLagMonitor that notes with each wake the steal since the wake before: the
    window of the sleep that woke (each wait starts as the previous record returns)."""

    def __init__(self, *args, read: Callable[[], float | None] = host_steal_seconds,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._read = read
        self._steal_mark = read()
        # (monotonic time, lag, seconds stolen in the wake's window or None), as `_recent`.
        self.tagged: deque[tuple[float, float, float | None]] = deque(maxlen=self._recent.maxlen)

    def record(self, lag: float, now: float | None = None) -> None:
        super().record(lag, now)
        steal = self._read()
        stolen = None if steal is None or self._steal_mark is None else steal - self._steal_mark
        self._steal_mark = steal
        self.tagged.append((self._recent[-1][0], lag, stolen))

    def recent_tagged(self, seconds: float, now: float) -> list[tuple[float, float | None]]:
        """(lag, stolen) of the wakes of the last `seconds` before `now` (monotonic)."""
        return [(lag, stolen) for moment, lag, stolen in list(self.tagged)
                if moment >= now - seconds]


def steal_figures(tagged: list[tuple[float, float | None]], span: float,
                  cpus: int | None = None) -> dict:
    """Per soak row: the host's share of the machine's CPU time over `span` seconds
    (`steal_pct`, summed over the wakes' windows) and the lag p99 over the wakes whose
    window had no steal (`lag_p99_unstolen_ms`, with how many wakes that leaves)."""
    if not tagged or any(stolen is None for _, stolen in tagged):
        return {"steal_pct": None, "lag_p99_unstolen_ms": None, "unstolen_samples": None}
    cpus = cpus or os.cpu_count() or 1
    stolen = sum(s for _, s in tagged)
    clean = [lag for lag, s in tagged if s <= 0]
    p99 = percentile(clean, 99)
    return {"steal_pct": round(stolen / (span * cpus) * 100, 2),
            "lag_p99_unstolen_ms": None if p99 is None else round(p99 * 1000, 2),
            "unstolen_samples": len(clean)}
