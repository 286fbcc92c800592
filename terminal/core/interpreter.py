"""Interpreter settings for a GUI that shares the GIL with busy engine and gateway threads.

- The GIL switch interval: a thread that wants the GIL waits up to this long for the one that
  holds it. The GUI thread takes and drops the GIL at every call into Qt, so with Python's
  default interval a paint of a few hundred calls waits behind the tick threads many times.
- Freezing what start-up built keeps it out of the collector's full passes, which otherwise
  stop every thread now and then for as long as it takes to walk everything start-up made.
"""

from __future__ import annotations

import gc
import sys

GUI_SWITCH_INTERVAL = 0.0005  # seconds


def tune_for_gui() -> None:
    """Call once the application is built, before the market starts flowing."""
    sys.setswitchinterval(GUI_SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()
