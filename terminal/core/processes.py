"""Child processes that run code the terminal must not wait on or trust (backtest workers,
plugin checks): each in its own process group, killed when its parent goes, and killed as a
group so that whatever it started goes with it (no Qt)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys


def isolate_worker(new_group: bool = True) -> None:
    """In a worker: its own process group (unless `new_group` is false), killed when the
    parent goes (Linux), and none of the parent's signal set-up (a GUI's SIGTERM handler, or
    its wakeup fd, which would write the child's signals into the parent's event loop). The
    optimiser's workers call it with new_group=False: they stay in the group of the job that
    started them, so cancelling the job takes them along."""
    if new_group:
        try:
            os.setpgid(0, 0)
        except (AttributeError, OSError):
            pass
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):     # not the main thread (not in a worker process)
        pass
    set_parent_death_signal()


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send `sig` to this process when the thread that started it exits, so a
    terminal that dies hard leaves no worker running."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(sig), 0, 0, 0)          # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:                    # the parent died before prctl took effect
        os._exit(1)


def own_group(pid: int) -> None:
    """Make a just-started child the leader of its own process group (the child does the same
    itself; whoever is first), so `signal_group` reaches what it starts."""
    try:
        os.setpgid(pid, pid)
    except (AttributeError, OSError):
        pass


def signal_group(pid: int, sig: int) -> bool:
    """Send `sig` to the process group led by `pid`; False when `pid` leads no group of its
    own (then nothing was sent) or the system has no process groups."""
    if not hasattr(os, "killpg"):
        return False
    try:
        if os.getpgid(pid) != pid:
            return False
        os.killpg(pid, sig)
        return True
    except (ProcessLookupError, PermissionError, OSError):
        return False


def exit_text(code: int | None) -> str:
    """How a process ended, in words: "exited with code 1", "was killed by SIGKILL"."""
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def kill_now(process) -> None:
    """SIGKILL a multiprocessing child and its group at once (no grace: it is hung or has
    done its part), then reap it."""
    if process.pid is not None and not signal_group(process.pid, signal.SIGKILL):
        process.kill()
    process.join()
