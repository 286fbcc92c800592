"""Keep a file the terminal cannot use, for the user, instead of deleting or overwriting it.

The file is renamed to `<name>.broken-<time>` beside itself (`-2`, `-3`, ... when one of that
second is there already); a SQLite database takes its `-wal` and `-shm` companions along under
the new name, so the kept copy still opens with everything that was committed to it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def aside_path(path: Path, companions: tuple[str, ...] = ()) -> Path:
    """A free `<name>.broken-<time>` beside `path` (and free for each companion suffix)."""
    path = Path(path)
    name = f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}"
    aside, number = path.with_name(name), 1
    while aside.exists() or any(Path(f"{aside}{s}").exists() for s in companions):
        number += 1
        aside = path.with_name(f"{name}-{number}")
    return aside


def set_aside(path: Path, companions: tuple[str, ...] = ()) -> Path:
    """Move `path` (a file or a directory) and `path + suffix` for each companion that exists
    to a `.broken-<time>` name; returns the new path. Raises OSError when it cannot move."""
    path = Path(path)
    aside = aside_path(path, companions)
    os.replace(path, aside)
    for suffix in companions:
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            os.replace(companion, Path(f"{aside}{suffix}"))
    return aside
