"""The backtest pool's callbacks as Qt signals.

`BacktestPool` calls `on_progress`, `on_finished` and `on_change` on its scheduler thread. This
object lives in the GUI thread; emitting its signals from the scheduler thread makes Qt queue
them to the GUI thread's slots, so the GUI never waits on a worker and never touches a widget
from another thread. `close()` shuts the pool down (cancelling what runs) before the object
goes, so no callback reaches a deleted object.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from terminal.backtest.pool import BacktestPool, JobHandle

log = logging.getLogger(__name__)


class PoolSignals(QObject):
    progress = Signal(object, float, str)     # handle, percent, text
    changed = Signal(object)                  # handle: started, progressed or finished
    finished = Signal(object)                 # handle, in its final state

    def __init__(self, max_workers: int = 2, time_limit: float | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.pool = BacktestPool(max_workers=max_workers, time_limit=time_limit,
                                 on_change=self._changed)
        self._closed = False

    def submit(self, job: Callable | tuple, kwargs: dict, name: str,
               time_limit: float | None) -> JobHandle:
        return self.pool.submit(job, kwargs=kwargs, name=name, time_limit=time_limit,
                                on_progress=self._progress, on_finished=self._finished)

    # ------------------------------------------------------------------ scheduler thread
    def _emit(self, signal, *args) -> None:
        if self._closed:
            return
        try:
            signal.emit(*args)
        except RuntimeError:          # the Qt object is gone (shutting down)
            log.debug("backtest pool signal after close", exc_info=True)

    def _progress(self, handle: JobHandle, percent: float, text: str) -> None:
        self._emit(self.progress, handle, float(percent), text)

    def _finished(self, handle: JobHandle) -> None:
        self._emit(self.finished, handle)

    def _changed(self, handle: JobHandle) -> None:
        self._emit(self.changed, handle)

    # ------------------------------------------------------------------ life cycle
    def close(self, timeout: float | None = 10.0) -> None:
        """Cancel every job and wait (briefly) for the workers to be reaped."""
        if self._closed:
            return
        self._closed = True
        self.pool.close(cancel=True, timeout=timeout)
