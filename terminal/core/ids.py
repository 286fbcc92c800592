"""Stamps that make ids unique across runs: the simulated exchange's order ids, the risk
gate's rejection ids and the managed orders' ids are `<stamp>_<n>`, and the journal and the
managed-order book key records by them. A stamp to the second repeated when the terminal was
started twice within one second (a crash and a restart, or the tests), and the second run's
order 1 overwrote the first run's in the journal."""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_last = [0]          # the last stamp's milliseconds


def session_stamp() -> str:
    """yymmddHHMMSS and milliseconds of now, never the same twice in this process (one
    terminal per data folder at a time, and a start takes longer than a millisecond)."""
    with _lock:
        now = _last[0] = max(time.time_ns() // 1_000_000, _last[0] + 1)
    seconds, millis = divmod(now, 1000)
    return time.strftime("%y%m%d%H%M%S", time.localtime(seconds)) + f"{millis:03d}"
