"""The terminal's health, sampled once a second: is it keeping up, and will it keep running?

`HealthSampler.sample()` (called once a second by the health view's timer, or by a benchmark)
reads what each part already counts, without stopping anything:

- the state of every gateway's connection (the ConnectionManager's snapshots);
- ticks per second reaching the bridge (from its running count);
- the event engine's queue, the bridge's items waiting for the GUI, the journal's records not
  yet committed and the recorder's ticks not yet written: a queue that keeps growing is work
  that is not keeping up, and ends in lost seconds or memory;
- the GUI loop lag (last, and p99 over the last minute, from the LoopLagMonitor);
- resident memory, threads and CPU of the process (psutil);
- on a Linux virtual machine, the host's steal: the share of the CPUs' time the hypervisor
  gave to other guests. The host can take a CPU away for tens of milliseconds; a loop lag
  then comes from the machine, not the terminal, and this is how the trader tells the two
  apart.

The last `history_seconds` (15 minutes) of samples are kept for the plots. `assess` turns a
history into a level per measure ("ok", "warn", "bad") for the colours; it lives here, without
Qt, so the thresholds are tested on their own.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np
import psutil

OK, WARN, BAD = "ok", "warn", "bad"
_RANK = {OK: 0, WARN: 1, BAD: 2}

FRAME = 0.016                 # one frame at 60 Hz: a loop lag above it is a visible stutter
SEVERE_LAG = 0.100
QUEUES = ("event_queue", "bridge_pending", "journal_queue", "recorder_queue")
# Above these a queue is "bad" whatever its trend (a second or more of work behind).
QUEUE_LIMITS = {"event_queue": 5_000, "bridge_pending": 5_000, "journal_queue": 5_000,
                "recorder_queue": 50_000}
# Below these a rising queue is noise, not a backlog.
QUEUE_FLOORS = {"event_queue": 100, "bridge_pending": 200, "journal_queue": 100,
                "recorder_queue": 10_000}
GROWTH_SAMPLES = 20           # a queue grows when its last 10 samples all top the 10 before
MEMORY_GROWTH = 0.10          # RSS up 10% over MEMORY_SPAN samples: warn
MEMORY_SPAN = 600
THREADS_WARN = 300
STEAL_WARN = 5.0              # percent of all CPUs' time taken by a virtual machine's host
# Connection states (terminal.gateways.connection.State values) and their level.
CONNECTION_LEVELS = {"connected": OK, "not connected": OK, "connecting": WARN,
                     "reconnecting": WARN, "failed": BAD, "disconnected": BAD}


def host_steal_seconds() -> float | None:
    """CPU time the hypervisor has given to other guests so far, all CPUs together (psutil
    has it on Linux only; None elsewhere, or when /proc cannot be read)."""
    try:
        return getattr(psutil.cpu_times(), "steal", None)
    except (OSError, psutil.Error):
        return None


@dataclass(frozen=True, slots=True)
class HealthSample:
    at: float                                  # wall clock (time.time())
    monotonic: float
    connections: tuple[tuple[str, str, str], ...] = ()   # (gateway, state, detail)
    ticks_per_second: float | None = None      # None on the first sample
    event_queue: int | None = None
    bridge_pending: int | None = None
    journal_queue: int | None = None
    recorder_queue: int | None = None
    lag_last: float | None = None              # seconds
    lag_p99: float | None = None               # seconds, over the last minute
    rss: int | None = None                     # bytes
    threads: int | None = None                 # of the process (native ones included)
    cpu: float | None = None                   # percent of one core since the last sample
    host_steal: float | None = None            # percent of all CPUs' time, since the last one


@dataclass
class HealthSampler:
    """Reads the health of a running terminal; every source is optional (None: not shown).

    `tick_count` returns a running count of tick events (default: the bridge's)."""

    event_engine: Any = None
    bridge: Any = None
    connections: Any = None
    journal: Any = None
    recorder: Any = None
    lag: Any = None
    tick_count: Callable[[], int] | None = None
    history_seconds: float = 900.0
    interval: float = 1.0
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    process: Any = None
    host_steal: Callable[[], float | None] = host_steal_seconds
    cpus: int = field(default_factory=lambda: psutil.cpu_count() or 1)
    history: deque[HealthSample] = field(init=False)

    def __post_init__(self) -> None:
        self.history = deque(maxlen=max(2, round(self.history_seconds / self.interval)))
        if self.process is None:
            self.process = psutil.Process()
            self.process.cpu_percent()            # the first call only starts the count
        if self.tick_count is None and self.bridge is not None:
            bridge = self.bridge
            self.tick_count = lambda: bridge.ticks_received
        self._last_ticks: tuple[float, int] | None = None
        self._last_steal: tuple[float, float] | None = None

    @classmethod
    def for_runtime(cls, runtime, lag=None, **options) -> HealthSampler:
        """The sampler of a `terminal.system.runtime.Runtime` (and the GUI's LoopLagMonitor)."""
        kernel = runtime.kernel
        return cls(event_engine=kernel.event_engine, bridge=kernel.bridge,
                   connections=runtime.connections, journal=runtime.journal,
                   recorder=runtime.recorder, lag=lag, **options)

    @property
    def latest(self) -> HealthSample | None:
        return self.history[-1] if self.history else None

    def sample(self) -> HealthSample:
        """Read every source once and keep the sample."""
        now = self.clock()
        rate = None
        if self.tick_count is not None:
            count = self.tick_count()
            if self._last_ticks is not None and now > self._last_ticks[0]:
                rate = (count - self._last_ticks[1]) / (now - self._last_ticks[0])
            self._last_ticks = (now, count)
        connections: tuple[tuple[str, str, str], ...] = ()
        if self.connections is not None:
            connections = tuple(
                (status.gateway, getattr(status.state, "value", str(status.state)),
                 status.detail) for status in self.connections.statuses())
        lag_last = lag_p99 = None
        if self.lag is not None and self.lag.count:
            lag_last = self.lag.last
            lag_p99 = self.lag.percentile(99, 60.0)
        steal = None
        stolen = self.host_steal()
        if stolen is not None:
            if self._last_steal is not None and now > self._last_steal[0]:
                steal = max(0.0, (stolen - self._last_steal[1])
                            / ((now - self._last_steal[0]) * self.cpus) * 100)
            self._last_steal = (now, stolen)
        rss = threads = cpu = None
        try:
            with self.process.oneshot():
                rss = self.process.memory_info().rss
                threads = self.process.num_threads()
                cpu = self.process.cpu_percent()
        except psutil.Error:
            pass
        sample = HealthSample(
            at=self.wall(), monotonic=now, connections=connections, ticks_per_second=rate,
            event_queue=_read(self.event_engine, "queue_depth"),
            bridge_pending=_read(self.bridge, "pending"),
            journal_queue=_read(self.journal, "queue_depth"),
            recorder_queue=_read(self.recorder, "queue_depth"),
            lag_last=lag_last, lag_p99=lag_p99, rss=rss, threads=threads, cpu=cpu,
            host_steal=steal,
        )
        self.history.append(sample)
        return sample

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(wall-clock times, values) of one measure over the history; None as NaN (numpy
        makes it so in C: the plots read 15 minutes of samples, on the GUI thread)."""
        samples = list(self.history)
        return (np.fromiter(map(_AT, samples), dtype=float, count=len(samples)),
                np.array(list(map(attrgetter(name), samples)), dtype=float))

    def levels(self) -> dict[str, str]:
        return assess(self.history)


_AT = attrgetter("at")


def _read(source, name: str) -> int | None:
    return None if source is None else int(getattr(source, name))


# ---------------------------------------------------------------------------------- levels
def growing(values: Sequence[float | None], floor: float,
            samples: int = GROWTH_SAMPLES) -> bool:
    """A steady rise: each of the last `samples // 2` values tops every one of the
    `samples // 2` before them, and the last is at least `floor`."""
    recent = [v for v in list(values)[-samples:] if v is not None]
    if len(recent) < samples:
        return False
    half = samples // 2
    return recent[-1] >= floor and min(recent[half:]) > max(recent[:half])


def assess(history: Iterable[HealthSample]) -> dict[str, str]:
    """A level per measure of the latest sample, with the trends of the history: "bad" for a
    failed or closed connection, a queue past its limit or a lag over 100 ms; "warn" for a
    connection being made, a queue that keeps growing, a lag p99 over one frame (16 ms) or
    memory up 10% in the last 10 minutes, a virtual machine's host taking over 5% of the CPUs'
    time. Connections are keyed "connection:<gateway>";
    "overall" is the worst of all."""
    samples = list(history)
    if not samples:
        return {"overall": OK}
    latest = samples[-1]
    tail = samples[-GROWTH_SAMPLES:]  # all `growing` reads: not 15 minutes a queue, every second
    levels: dict[str, str] = {}
    for gateway, state, _ in latest.connections:
        levels[f"connection:{gateway}"] = CONNECTION_LEVELS.get(state, WARN)
    for name in QUEUES:
        value = getattr(latest, name)
        if value is None:
            continue
        if value > QUEUE_LIMITS[name]:
            levels[name] = BAD
        elif growing([getattr(s, name) for s in tail], QUEUE_FLOORS[name]):
            levels[name] = WARN
        else:
            levels[name] = OK
    for name in ("lag_p99", "lag_last"):
        value = getattr(latest, name)
        if value is not None:
            levels[name] = BAD if value > SEVERE_LAG else WARN if value > FRAME else OK
    if latest.rss is not None:
        levels["rss"] = WARN if memory_growth(samples) > MEMORY_GROWTH else OK
    if latest.threads is not None:
        levels["threads"] = WARN if latest.threads > THREADS_WARN else OK
    if latest.host_steal is not None:
        levels["host_steal"] = WARN if latest.host_steal > STEAL_WARN else OK
    levels["overall"] = worst(levels.values())
    return levels


def memory_growth(samples: Sequence[HealthSample], span: int = MEMORY_SPAN) -> float:
    """Relative RSS growth from the smallest of the `span` samples before the latest to the
    latest (0 when there are fewer than a minute of them)."""
    recent = [s.rss for s in list(samples)[-span - 1:] if s.rss]
    if len(recent) < 60:
        return 0.0
    low = min(recent[:-1])
    return (recent[-1] - low) / low if low else 0.0


def worst(levels: Iterable[str]) -> str:
    return max(levels, key=_RANK.__getitem__, default=OK)


def status_text(sample: HealthSample | None) -> str:
    """One compact line for the status bar, e.g.
    "5,012 ticks/s · queues 0/24/0/0 · lag p99 3.1 ms · 312 MB"."""
    if sample is None:
        return "health: no sample yet"
    parts = []
    down = [f"{gateway} {state}" for gateway, state, _ in sample.connections
            if CONNECTION_LEVELS.get(state, WARN) != OK]
    parts += down
    if sample.ticks_per_second is not None:
        parts.append(f"{sample.ticks_per_second:,.0f} ticks/s")
    queues = [getattr(sample, name) for name in QUEUES]
    if any(q is not None for q in queues):
        parts.append("queues " + "/".join("-" if q is None else f"{q:,}" for q in queues))
    if sample.lag_p99 is not None:
        parts.append(f"lag p99 {sample.lag_p99 * 1000:.1f} ms")
    if sample.rss is not None:
        parts.append(f"{sample.rss / 2**20:,.0f} MB")
    if sample.host_steal is not None and sample.host_steal > STEAL_WARN:
        parts.append(f"host steal {sample.host_steal:.0f}%")   # what a lag then comes from
    return " · ".join(parts)
