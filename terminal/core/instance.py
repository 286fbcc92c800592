"""One trading terminal per data directory.

Two terminals on one data directory would each run their own risk gate (every limit counted
twice), restore their simulators from one journal and write it at once. The terminal holds an
exclusive lock on `terminal.lock` in the data directory while it runs; the operating system
drops it when the process ends, however it ends, so a hard kill leaves nothing to clean up.
The command-line verbs (data, backtest) do not trade and do not take it.
"""

from __future__ import annotations

import os
import sys
import weakref
from pathlib import Path

LOCK_NAME = "terminal.lock"


class AlreadyRunning(RuntimeError):
    """Another terminal holds the data directory."""


class InstanceLock:
    def __init__(self, root: Path) -> None:
        self.path = Path(root) / LOCK_NAME
        self._file = None

    def acquire(self) -> None:
        """Hold the lock, or raise `AlreadyRunning` naming the process that does."""
        handle = open(self.path, "a+b")  # noqa: SIM115 - held open: the open file is the lock
        try:
            _lock(handle)
        except OSError:
            handle.seek(_PID_AT)          # past the locked byte (Windows locks a range)
            holder = handle.read(32).decode("ascii", "replace").strip() or "another process"
            handle.close()
            raise AlreadyRunning(
                f"another trading terminal (process {holder}) is running on the data "
                f"directory {self.path.parent}; close it first, or start this one with "
                "--home on another directory") from None
        handle.truncate(_PID_AT)
        handle.seek(_PID_AT)
        handle.write(str(os.getpid()).encode("ascii"))
        handle.flush()
        self._file = handle
        _held.add(self)

    def _forget_in_child(self) -> None:
        """A forked child (a backtest worker) must not keep the lock alive after the
        terminal ends: its copy of the file is closed (the parent's still holds it)."""
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None

    def release(self) -> None:
        _held.discard(self)
        if self._file is not None:
            self._file.close()              # closing the file drops the lock
            self._file = None


_PID_AT = 8                                 # the holder's pid is written from this offset
_held: weakref.WeakSet[InstanceLock] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for lock in list(_held):
        lock._forget_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


if sys.platform == "win32":
    import msvcrt

    def _lock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _lock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
