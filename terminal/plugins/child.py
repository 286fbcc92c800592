"""The check process itself: how it is started, what it does, and how its messages are read
(no Qt). `plugins.check` drives it.

The child imports vn.py's CtaTemplate once, then each file in turn, and says so in JSON
messages, one a line: {"ready"}, then {"start": path} and {"result": FileCheck} for each
file, then {"done"} (or {"fatal": why} when it cannot start). Its own output and the
plugins' go nowhere; it runs in its own process group at a lower priority, in the folder vn.py
is bound to in the parent (so importing vn.py writes nothing anywhere else), and Linux kills
it when the thread that started it goes.

How it is started, by `context`:
- "spawn": a fresh interpreter, `python -c` importing this module, told what to check on its
  standard input and answering on its standard output. Unlike multiprocessing's spawn it
  never runs the parent's `__main__` again (a launcher script without an
  `if __name__ == "__main__"` guard would start a second terminal in the child). In a frozen
  build, where `python -c` does not exist, multiprocessing's spawn (the executable itself,
  through `multiprocessing.freeze_support`).
- "fork": a fork of this process, answering through a multiprocessing pipe (a backtest
  worker, which has vn.py imported already and no threads of its own).
"""

from __future__ import annotations

import faulthandler
import json
import multiprocessing as mp
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from multiprocessing.connection import wait as wait_ready
from pathlib import Path

from terminal.core import deferred_imports
from terminal.core.processes import isolate_worker, kill_now, own_group, signal_group
from terminal.plugins.modules import cta_template, inspect_file

NICENESS = 10               # the check yields the CPU to the terminal's own threads
BOOTSTRAP = ("import json, sys; setup = json.loads(sys.stdin.readline()); "
             "sys.path[:] = setup['sys_path']; "
             "from terminal.plugins.child import main_from_stdin; main_from_stdin(setup)")


class Child:
    """A started check process, as the parent sees it."""

    pid: int | None

    def receive(self, timeout: float) -> dict | None:
        """The next message, or None when none came within `timeout` seconds (or the child
        has ended); a message that is not JSON raises ValueError."""
        raise NotImplementedError

    def ended(self) -> int | None:
        """The child's exit code once it has ended and every message it sent was read;
        None while it runs (or messages are still to be read)."""
        raise NotImplementedError

    def kill(self) -> None:
        """SIGKILL the child and its group (no grace: it is hung or has done its part), and
        reap it."""
        raise NotImplementedError


def start(context: str, paths: list[str], home: str) -> Child:
    if context == "spawn" and not getattr(sys, "frozen", False):
        return _Interpreter(paths, home)
    return _Multiprocess(mp.get_context(context), paths, home)


class _Interpreter(Child):
    """`python -c`: the setup on its standard input, the messages on its standard output,
    read by a thread (so waiting with a timeout works on every platform)."""

    def __init__(self, paths: list[str], home: str) -> None:
        flags = subprocess.CREATE_NEW_PROCESS_GROUP if sys.platform == "win32" else 0
        self._process = subprocess.Popen(
            [sys.executable, "-c", BOOTSTRAP], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, start_new_session=sys.platform != "win32",
            creationflags=flags)
        self.pid = self._process.pid
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="plugin-check-reader",
                                        daemon=True)
        self._reader.start()
        try:
            self._process.stdin.write(json.dumps(
                {"paths": paths, "home": home, "sys_path": sys.path}).encode() + b"\n")
            self._process.stdin.close()
        except OSError:           # it is gone already: `ended` says how
            pass

    def _read(self) -> None:
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def receive(self, timeout: float) -> dict | None:
        try:
            line = self._lines.get(timeout=timeout) if timeout > 0 else \
                self._lines.get_nowait()
        except queue.Empty:
            return None
        if line is None:                       # the end of its output: wait for its end
            self._lines.put(None)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
            return None
        return json.loads(line)

    def ended(self) -> int | None:
        code = self._process.poll()
        if code is None:
            return None
        self._reader.join(0.5)         # the last lines (a child of its own may hold the pipe)
        if not self._lines.empty() and self._lines.queue[0] is not None:
            return None
        return code

    def kill(self) -> None:
        if not signal_group(self._process.pid, getattr(signal, "SIGKILL", 9)):
            self._process.kill()
        self._process.wait()
        self._process.stdout.close()


class _Multiprocess(Child):
    """A multiprocessing child (fork, or spawn in a frozen build) and a pipe."""

    def __init__(self, ctx, paths: list[str], home: str) -> None:
        self._reader, writer = ctx.Pipe(duplex=False)
        self._process = ctx.Process(target=_main_from_pipe, args=(writer, paths, home),
                                    name="plugin-check", daemon=True)
        self._process.start()
        writer.close()
        own_group(self._process.pid)
        self.pid = self._process.pid

    def receive(self, timeout: float) -> dict | None:
        waitables = [self._process.sentinel] + ([] if self._reader.closed else [self._reader])
        if self._reader not in wait_ready(waitables, timeout):
            return None
        try:
            return json.loads(self._reader.recv_bytes())
        except (EOFError, OSError):
            self._reader.close()
            return None

    def ended(self) -> int | None:
        if self._process.exitcode is None:
            return None
        if not self._reader.closed and self._reader.poll():
            return None
        return self._process.exitcode

    def kill(self) -> None:
        kill_now(self._process)
        self._reader.close()


# --------------------------------------------------------------------------- the child side
def main_from_stdin(setup: dict) -> None:
    """`python -c` child: answer on a copy of the standard output, which itself goes nowhere."""
    answers = os.fdopen(os.dup(1), "wb", buffering=0)

    def send(message: dict) -> None:
        answers.write(json.dumps(message).encode() + b"\n")

    run(send, setup["paths"], setup["home"])


def _main_from_pipe(conn, paths: list[str], home: str) -> None:
    run(lambda message: conn.send_bytes(json.dumps(message).encode()), paths, home)


def run(send: Callable[[dict], None], paths: list[str], home: str) -> None:
    isolate_worker()
    faulthandler.disable()               # a parent's crash report would still reach its stderr
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):
        pass
    try:
        if not home:
            home = tempfile.mkdtemp(prefix="plugin-check-")
            os.mkdir(os.path.join(home, ".vntrader"))
        os.chdir(home)
        deferred_imports.defer("talib")      # what a strategy's indicators load on first use
        cta_template()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        send({"fatal": f"{type(exc).__name__}: {exc}"})
        os._exit(0)
    send({"ready": True})
    for text in paths:
        send({"start": text})
        check, _, _ = inspect_file(Path(text))
        send({"result": check.to_json()})
    send({"done": True})
    os._exit(0)           # threads or exit handlers a plugin left never hold the check open
