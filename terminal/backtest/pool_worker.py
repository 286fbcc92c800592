"""The worker side of `BacktestPool`: what runs in the process a job was given.

The job is called as `job(report, *args, **kwargs)`. `report(percent, text)` sends its
progress; a job submitted with `inbox=True` also talks with the parent while it runs:
`report.receive()` waits for the next message the parent sent with `handle.send(message)`,
and `report.send(message)` hands a message to the parent's `on_message` (the optimiser's
workers take their settings and give back statistics this way, one job serving many
settings). Everything goes through the job's own pipes, never a shared queue (see pool.py).
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable
from typing import Any

from terminal.core.processes import isolate_worker

REPORT_INTERVAL = 0.05         # progress messages from a worker at most this often...
REPORT_STEP = 10.0             # ...unless the percent moved this far since the last one sent


class Reporter:
    """The `report(percent, text)` a job gets: sends at most every REPORT_INTERVAL seconds,
    or at once when the percent moved REPORT_STEP since the last one sent (so a run shorter
    than the interval still shows its stages), and the last report before the result."""

    def __init__(self, conn, inbox=None) -> None:
        self._conn = conn
        self._inbox = inbox
        self._last = 0.0
        self._last_percent = -REPORT_STEP
        self._pending: tuple | None = None

    def __call__(self, percent: float, text: str = "") -> None:
        percent = min(100.0, max(0.0, float(percent)))
        self._pending = ("progress", percent, str(text))
        now = time.monotonic()
        if (now - self._last >= REPORT_INTERVAL
                or abs(percent - self._last_percent) >= REPORT_STEP):
            self.flush()
            self._last = now
            self._last_percent = percent

    def flush(self) -> None:
        if self._pending is not None:
            self._conn.send(self._pending)
            self._pending = None

    def send(self, message: Any) -> None:
        """A message for the parent's `on_message` (never throttled, never dropped)."""
        self.flush()
        self._conn.send(("message", message))

    def receive(self) -> Any:
        """The next message the parent sent to this job; EOFError once the parent is gone."""
        if self._inbox is None:
            raise RuntimeError("this job was submitted without an inbox (inbox=True)")
        return self._inbox.recv()


def resolve(target) -> Callable:
    """The job's function: itself, or ("module", "function") imported here."""
    if isinstance(target, tuple):
        module, function = target
        return getattr(importlib.import_module(module), function)
    return target


def worker_main(conn, inbox, own_group: bool, target, args: tuple, kwargs: dict) -> None:
    """The worker process: run the job, send its result or its traceback, and end."""
    isolate_worker(new_group=own_group)
    report = Reporter(conn, inbox)
    try:
        result = resolve(target)(report, *args, **kwargs)
        report.flush()
    except BaseException:  # noqa: BLE001 - even SystemExit: the parent gets why the job ended
        conn.send(("error", traceback.format_exc()))
        conn.close()
        return
    try:
        conn.send(("result", result))
    except Exception:  # noqa: BLE001 - a result that does not pickle fails the job, said so
        conn.send(("error", "the job's result could not be sent back:\n"
                   + traceback.format_exc()))
    conn.close()
