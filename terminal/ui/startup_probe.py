"""Reports when the main window is first painted: the cold-start figure of
`benchmarks/cold_start.py`.

Off unless the environment asks for it:

- `TERMINAL_REPORT_FIRST_PAINT=1`: on the main window's first Paint event, print one line
  `first-paint: seconds=<s> pid=<pid>` to stdout, `<s>` being the time since the process
  started (read from /proc, so the interpreter's own start-up and all imports count);
- `TERMINAL_QUIT_AFTER_FIRST_PAINT=1` as well: then quit the application.

Nothing else changes: without the variables `install` does nothing.
"""

from __future__ import annotations

import os
import sys
import time

REPORT_ENV = "TERMINAL_REPORT_FIRST_PAINT"
QUIT_ENV = "TERMINAL_QUIT_AFTER_FIRST_PAINT"
LINE_PREFIX = "first-paint:"


def _enabled(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def seconds_since_process_start() -> float:
    """Seconds since this process was created (the kernel's start time of the process, in
    clock ticks since boot, against the boot-time clock; 10 ms resolution). Falls back to
    psutil, then to the time since this module was imported."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")     # field 22 of proc(5)
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return time.time() - psutil.Process().create_time()
    except Exception:  # noqa: BLE001 - psutil missing or refused: last resort below
        return time.perf_counter() - _IMPORTED


_IMPORTED = time.perf_counter()
_quit_wanted = False


def quit_wanted() -> bool:
    """Whether the probe has reported and asked the application to quit (the caller asks
    again once its event loop runs, if the probe's request came before)."""
    return _quit_wanted


def install(window) -> object | None:
    """Watch `window` for its first paint when `TERMINAL_REPORT_FIRST_PAINT` is set; returns
    the event filter (kept alive by the window) or None."""
    if not _enabled(REPORT_ENV):
        return None
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    quit_after = _enabled(QUIT_ENV)

    class FirstPaint(QObject):
        def __init__(self) -> None:
            super().__init__(window)
            self.reported = False

        def eventFilter(self, watched, event) -> bool:
            if not self.reported and event.type() == QEvent.Type.Paint:
                self.reported = True
                seconds = seconds_since_process_start()
                sys.stdout.write(f"{LINE_PREFIX} seconds={seconds:.3f} pid={os.getpid()}\n")
                sys.stdout.flush()
                window.removeEventFilter(self)
                if quit_after:
                    global _quit_wanted  # noqa: PLW0603 - read once the event loop ends
                    _quit_wanted = True
                    QTimer.singleShot(0, QApplication.quit)
            return False

    probe = FirstPaint()
    window.installEventFilter(probe)
    return probe
