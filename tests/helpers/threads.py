"""Threads in tests without sleeping: a lock that says when a second thread waits for it, and
a thread that keeps what its call returned or raised."""

from __future__ import annotations

import threading
from collections.abc import Callable


class WatchedLock:
    """A lock that calls `on_wait` when a thread finds it held and starts to wait, so that a
    test knows the second caller has got as far as it can go (rather than sleeping)."""

    def __init__(self, on_wait: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._on_wait = on_wait

    def __enter__(self) -> WatchedLock:
        if not self._lock.acquire(blocking=False):
            self._on_wait()
            self._lock.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()


class Call(threading.Thread):
    """`function()` on its own thread; `result` or `error` once joined."""

    def __init__(self, function: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._function = function
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._function()
        except BaseException as exc:  # noqa: BLE001 - kept for the test to look at
            self.error = exc

    def finish(self, timeout: float = 30.0) -> object:
        """Joined (the timeout only stops a broken test from hanging); raises what it raised."""
        self.join(timeout)
        assert not self.is_alive(), "the thread did not finish"
        if self.error is not None:
            raise self.error
        return self.result
