"""Thread jobs for the GUI: a function run on a worker thread of a QThreadPool (short I/O:
reading a file, a Parquet query), its progress, result or error delivered to the GUI thread
as Qt signals. CPU-heavy work goes to worker processes instead (terminal.backtest.pool).

    job = ThreadJob(lambda job: slow_work(progress=job.report))
    job.progress.connect(bar.setValue)
    job.succeeded.connect(show)
    job.start(pool)

`job.cancel()` asks the work to stop: its next `job.report(...)` raises `ThreadJobCancelled`,
and `cancelled` is emitted instead of `failed`. Signals are emitted from the worker thread on an
object that lives in the GUI thread, so Qt queues them to the GUI thread's receivers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class ThreadJobCancelled(Exception):
    """Raised inside the work when the job was cancelled."""


class ThreadJob(QObject):
    """Kept alive from `start` until its result has been delivered (`_LIVE`): a job its owner
    dropped while the work ran would be deleted before its queued signals arrive, so owners
    need not keep lists of their running jobs."""

    progress = Signal(int, str)       # percent, what is being done
    succeeded = Signal(object)        # the work's result
    failed = Signal(object)           # the exception it raised
    cancelled = Signal()
    finished = Signal()               # after any of the three above

    def __init__(self, work: Callable[[ThreadJob], Any], name: str = "job", parent=None) -> None:
        super().__init__(parent)
        self.name = name
        self._work = work
        self._cancel = threading.Event()
        self.running = False
        self.done = False   # set in the GUI thread once the result has been handed out
        self.finished.connect(self._mark_done)

    def start(self, pool: QThreadPool) -> None:
        self.running = True
        _LIVE.add(self)
        pool.start(_Runner(self))

    @staticmethod
    def live() -> int:
        """Jobs started whose result has not been delivered yet."""
        return len(_LIVE)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def report(self, percent: int, text: str = "") -> None:
        """Called by the work as it goes; raises `ThreadJobCancelled` once cancelled."""
        if self._cancel.is_set():
            raise ThreadJobCancelled(self.name)
        self.progress.emit(int(percent), text)

    def _run(self) -> None:
        try:
            result = self._work(self)
        except ThreadJobCancelled:
            self._finish(self.cancelled.emit)
        except Exception as exc:  # noqa: BLE001 - handed to the GUI, which shows and logs it
            error = exc
            self._finish(lambda: self.failed.emit(error))
        else:
            self._finish(lambda: self.succeeded.emit(result))

    def _finish(self, emit: Callable[[], None]) -> None:
        emit()
        self.finished.emit()

    def _mark_done(self) -> None:
        self.running = False
        self.done = True
        _LIVE.discard(self)


_LIVE: set[ThreadJob] = set()     # GUI thread only: added by start, removed once delivered


class _Runner(QRunnable):
    def __init__(self, job: ThreadJob) -> None:
        super().__init__()
        self.job = job  # holds the job (and its signals) until the work is over

    def run(self) -> None:
        self.job._run()
