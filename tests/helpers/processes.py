"""The real program as a user runs it (in a subprocess, or one command in this process), and
the worker processes a test must see gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from tests.helpers import PROJECT


def run_terminal(args, home: Path, cwd: Path, timeout=120, umask: int = 0o022):
    """The program as a user starts it: from a shell whose umask is the usual 022."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "TERMINAL_"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(PROJECT))
    return subprocess.run(
        [sys.executable, "-m", "terminal", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout, umask=umask if os.name == "posix" else -1, check=False,
    )


def command(argv: list[str]) -> int:
    """One command, as from a shell: the process moves into the data directory, so come back."""
    from terminal.app.main import main

    here = os.getcwd()
    try:
        return main(argv)
    finally:
        os.chdir(here)


def dead(pid: int) -> bool:
    """Gone, or a zombie waiting for whoever it was reparented to (init) to reap it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def no_children_left() -> bool:
    """No child process of ours, alive or zombie (multiprocessing's resource tracker, started
    once for the session by a spawn test, aside)."""
    return not [child for child in psutil.Process().children(recursive=True)
                if not _is_resource_tracker(child)]


def _is_resource_tracker(process: psutil.Process) -> bool:
    try:
        return "resource_tracker" in " ".join(process.cmdline())
    except psutil.Error:         # a zombie has no command line
        return False
