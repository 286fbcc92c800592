"""Strategy plugin files written by tests: a small good strategy, and files that exit, hang or
crash the process that imports them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from terminal.plugins.modules import module_name_for

# What a hostile file may take before its check gives up on it. A good file imports in
# milliseconds once vn.py is loaded in the check process; the hostile ones never finish.
LIMIT = 2.0


def strategy(name: str, fast: int = 10, extra: str = "", after: str = "") -> str:
    """The source of a small strategy file; `extra` goes after the import line, `after` at
    the end (module code run once the class is defined)."""
    body = textwrap.dedent('''\
        class NAME(CtaTemplate):
            """A test strategy."""
            author = "tests"
            fast = FAST
            parameters = ["fast"]
            variables = []

            def on_init(self):
                pass

            def on_bar(self, bar):
                pass
        ''').replace("NAME", name).replace("FAST", str(fast))
    return f"from vnpy_ctastrategy import CtaTemplate\n{extra}\n\n{body}\n{after}\n"


# Files that end or hang the process that imports them, each defining a strategy first.
HOSTILE = {
    "exits.py": (strategy("ExitsStrategy", extra="import os", after="os._exit(1)"),
                 "exited with code 1 while importing"),
    "loops.py": (strategy("LoopsStrategy", after="while True:\n    pass"),
                 f"did not finish importing within {LIMIT:g} s"),
    "sleeps.py": (strategy("SleepsStrategy", extra="import time", after="time.sleep(3600)"),
                  f"did not finish importing within {LIMIT:g} s"),
    "crashes.py": (strategy("CrashesStrategy", extra="import ctypes",
                            after="ctypes.string_at(0)"),
                   "was killed by SIGSEGV while importing"),
}


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def write_hostile(folder: Path) -> dict[str, str]:
    """The hostile files in `folder`; file name -> the reason it is expected to be listed
    with."""
    for name, (text, _) in HOSTILE.items():
        write(folder, name, text)
    return {name: reason for name, (_, reason) in HOSTILE.items()}


def imported_here(folder: Path) -> list[str]:
    """The modules of files of `folder` in this process."""
    prefixes = {module_name_for(p) for p in folder.glob("*.py")}
    return [name for name in sys.modules if name in prefixes]
