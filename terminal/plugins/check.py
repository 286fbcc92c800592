"""Checking plugin files in a child process, each with a time limit, before the terminal
imports any of them (no Qt).

    verdicts = check_files([path, ...], time_limit=10.0)       # {path: FileCheck}

One child process imports vn.py's CtaTemplate once, then each file in turn, and sends back,
for each, its strategy classes described as plain data (name, author, parameters with their
defaults, variables, docstring) or the exception it raised. The parent reads JSON only (it
unpickles nothing the plugin could have shaped) and watches the child:

- the child ends while importing a file (`os._exit`, a crash, a signal): that file's verdict
  is "exited with code 1 while importing" (or "was killed by SIGSEGV ..."), and a new child
  checks the files after it;
- a file still importing after `time_limit` seconds (a loop, a sleep, a wait on the network):
  the child and anything it started are killed, the verdict is "did not finish importing
  within N s", and a new child goes on with the rest.

The child (`plugins.child`) runs in its own process group at a lower priority, its output
thrown away (a plugin that prints must not write into the terminal's console), and is killed
when the thread that started it goes. It works in the folder vn.py is bound to in the parent
(its `.vntrader`), so importing vn.py there writes nothing anywhere else.

Contexts: the terminal and the command line check with "spawn", a fresh interpreter that
shares nothing with their threads (about half a second to import vn.py, in the background);
a backtest worker, which has vn.py imported already and no threads of its own, checks with
"fork" where there is one (`worker_context`).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from terminal.core.processes import exit_text
from terminal.plugins import child
from terminal.plugins.modules import FileCheck, defined_names, read_source

log = logging.getLogger(__name__)

CHECK_SECONDS = 10.0        # the default time a file may take to import in a check
START_SECONDS = 120.0       # the check process's own start (an interpreter importing vn.py)
POLL_SECONDS = 0.2          # how often a waiting check looks at `cancel`


def worker_context() -> str:
    """The start method a worker process checks with: "fork" (vn.py is imported already, a
    check costs milliseconds) where there is one, else "spawn"."""
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def check_files(paths: Iterable[Path | str], time_limit: float = CHECK_SECONDS, *,
                context: str = "spawn",
                on_result: Callable[[FileCheck], None] | None = None,
                cancel: threading.Event | None = None) -> dict[Path, FileCheck]:
    """Import each file in a child process, at most `time_limit` seconds each, and return
    their verdicts (`on_result` gets each one as it comes, on this thread). With `cancel`
    set the child is killed and the files not yet checked get no verdict."""
    if time_limit <= 0:
        raise ValueError(f"time_limit must be positive seconds, not {time_limit}")
    todo = [Path(p) for p in dict.fromkeys(Path(p) for p in paths)]
    results: dict[Path, FileCheck] = {}

    def record(check: FileCheck) -> None:
        results[Path(check.path)] = check
        if on_result is not None:
            on_result(check)

    idle_restarts = 0
    while todo and not (cancel is not None and cancel.is_set()):
        before = len(todo)
        ended = _Session(context, todo, time_limit, record, cancel).run()
        todo = [p for p in todo if p not in results]
        if ended and len(todo) == before:       # died between files, twice: give up on them
            idle_restarts += 1
            if idle_restarts >= 2:
                for path in todo:
                    record(failure(path, f"was not checked: the check process {ended}"))
                todo = []
        else:
            idle_restarts = 0
    return results


def failure(path: Path, reason: str) -> FileCheck:
    """The verdict on a file whose check ended without a word from it."""
    try:
        source, signature = read_source(path)
    except OSError:
        source, signature = b"", (0, 0, "")
    return FileCheck(str(path), signature, error=reason, names=defined_names(source))


class _Session:
    """One child process checking `todo` in order, until it finishes, dies or hangs."""

    def __init__(self, context: str, todo: list[Path], time_limit: float,
                 record: Callable[[FileCheck], None], cancel: threading.Event | None) -> None:
        self.context, self.todo, self.limit = context, todo, time_limit
        self.record, self.cancel = record, cancel
        self.current: Path | None = None
        self.started = False

    def run(self) -> str:
        """Check until done (""), or return how the child ended when it ended between two
        files (the caller starts another for the rest)."""
        process = child.start(self.context, [str(p) for p in self.todo], _vnpy_home())
        deadline = time.monotonic() + START_SECONDS
        try:
            while True:
                if self.cancel is not None and self.cancel.is_set():
                    return ""
                try:
                    message = process.receive(max(0.0, min(POLL_SECONDS,
                                                           deadline - time.monotonic())))
                except ValueError:
                    message = {"fatal": "a message from the check process could not be read"}
                if message is not None:
                    if self._take(message):
                        return ""
                    deadline = time.monotonic() + (self.limit if self.started
                                                   else START_SECONDS)
                    continue
                code = process.ended()
                if code is not None:
                    return self._ended(exit_text(code))
                if time.monotonic() >= deadline:
                    if not self.started:
                        self._fail_all(f"the check process did not start within "
                                       f"{START_SECONDS:g} s")
                        return ""
                    if self.current is None:     # stuck between two files
                        return f"did not go on within {self.limit:g} s"
                    self._fail_current(f"did not finish importing within {self.limit:g} s")
                    return ""
        finally:
            process.kill()

    def _take(self, message: dict) -> bool:
        """Act on one message; True when the session is over."""
        if "ready" in message:
            self.started = True
        elif "start" in message:
            self.current = Path(message["start"])
        elif "result" in message:
            self.record(FileCheck.from_json(message["result"]))
            self.current = None
        elif "fatal" in message:
            self._fail_all(f"the check could not run: {message['fatal']}")
            return True
        return "done" in message

    def _ended(self, how: str) -> str:
        if self.current is not None:
            self._fail_current(f"{how} while importing")
            return ""
        if not self.started:
            self._fail_all(f"the check could not run: the check process {how} as it started")
            return ""
        return how

    def _fail_current(self, reason: str) -> None:
        log.info("strategy plugin %s: %s", self.current, reason)
        self.record(failure(self.current, reason))
        self.current = None

    def _fail_all(self, reason: str) -> None:
        log.info("strategy plugins not checked: %s", reason)
        for path in self.todo:
            self.record(failure(path, reason))


def _vnpy_home() -> str:
    """The folder vn.py is bound to here (the one holding its `.vntrader`), for the child to
    work in: the working directory when vn.py is not imported yet; "" when neither holds a
    `.vntrader` (the child then makes a temporary one, so vn.py writes nothing in the home)."""
    utility = sys.modules.get("vnpy.trader.utility")
    candidates = [getattr(utility, "TRADER_DIR", None)]
    try:
        candidates.append(Path.cwd())
    except OSError:                          # the working directory was deleted
        pass
    for folder in candidates:
        if folder is not None and (Path(folder) / ".vntrader").is_dir():
            return str(folder)
    return ""
