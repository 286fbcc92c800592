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
        handle = open(self.path, "a+b")
        try:
            _lock(handle)
        except OSError:
            handle.seek(0)
            holder = handle.read(32).decode("ascii", "replace").strip() or "another process"
            handle.close()
            raise AlreadyRunning(
                f"another trading terminal (process {holder}) is running on the data "
                f"directory {self.path.parent}; close it first, or start this one with "
                "--home on another directory") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode("ascii"))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()              # closing the file drops the lock
            self._file = None


if sys.platform == "win32":
    import msvcrt

    def _lock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _lock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
