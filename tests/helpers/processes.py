"""The real program in a subprocess, started as a user starts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import PROJECT


def run_terminal(args, home: Path, cwd: Path, timeout=120, umask: int = 0o022):
    """The program as a user starts it: from a shell whose umask is the usual 022."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "TERMINAL_"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(PROJECT))
    return subprocess.run(
        [sys.executable, "-m", "terminal", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout, umask=umask if os.name == "posix" else -1, check=False,
    )
