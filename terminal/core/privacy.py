"""The data directory is private to its user: folders 0700, files 0600 (POSIX; Windows keeps
its own ACLs, which already give a user's profile folder to that user alone).

Everything in the data directory is written by someone else's code as much as ours: SQLite
(the journal and its -wal/-shm), pyarrow (the market store), vn.py (its settings and log
folder), loguru, Qt's caches, worker processes. Rather than chase each of them, the process
umask becomes 0o077 when the data directory is prepared, so whatever the process and the
processes it starts (the umask is inherited through fork and exec, so spawned backtest and
optimisation workers too) create is private. What the trader asks for outside the data
directory (an export) is handed back with the modes the user's own umask would have given it
(`hand_to_user`): a CSV written for a spreadsheet or a colleague stays an ordinary file.

A data directory made by an older version (0755 folders, 0644 files) is made private once,
at the first start that finds its folder open to others; after that the folder's own mode
keeps everyone else out. A folder that holds other things than the terminal's files and is
open to others is refused rather than changed: the terminal never changes the modes of files
that are not its own.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE, FILE_MODE = 0o700, 0o600
# What every data directory has had at its top since the first version (`paths.prepare`
# makes them): a folder holding all three is the terminal's.
TERMINAL_FOLDERS = (".vntrader", "logs", "cache")

_user_umask: int | None = None  # as the process started, before `restrict_umask`


class NotPrivate(Exception):
    """The folder is open to other users and holds files that are not the terminal's."""


def applies() -> bool:
    return os.name == "posix"


def restrict_umask() -> None:
    """From now on files and folders this process (and what it starts) creates are its
    user's alone. The user's own umask is kept for `hand_to_user`."""
    global _user_umask  # noqa: PLW0603 - a umask belongs to the process, kept once
    if not applies():
        return
    current = os.umask(PRIVATE_UMASK)
    if _user_umask is None:
        _user_umask = current
    os.umask(current | PRIVATE_UMASK)  # a stricter umask of the user's stays as strict


def user_umask() -> int:
    """The umask the user started the terminal with."""
    if _user_umask is not None:
        return _user_umask
    current = os.umask(0o022)
    os.umask(current)
    return current


def hand_to_user(path: Path) -> None:
    """Give a file the trader asked for (an export) the mode the user's umask gives files,
    as if the trader's own tools had written it (0644 with the usual umask 022)."""
    if applies():
        os.chmod(path, 0o666 & ~user_umask())


def is_open(mode: int) -> bool:
    """Group or others may read, write or enter."""
    return bool(stat.S_IMODE(mode) & 0o077)


def secure(root: Path, created: bool) -> list[str]:
    """Make `root` private if it is not; returns what was done or could not be done, for the
    log ([] when nothing needed doing). `created`: this start made the folder (it is then
    private already, mkdir gave it 0700). Raises `NotPrivate` for a folder open to others that
    holds files of someone else's."""
    if not applies() or created:
        return []
    mode = root.stat().st_mode
    if not is_open(mode):
        return []
    if not _is_terminal_folder(root):
        raise NotPrivate(
            f"{root} is open to other users of this machine (mode {stat.S_IMODE(mode):04o}) "
            "and holds files that are not the terminal's; the data directory must be private. "
            f"Choose a new or empty folder (e.g. {root / 'trading-terminal'}), or make this one "
            f"private yourself (chmod 700 {root})")
    changed, failed = make_tree_private(root)
    was = f"{root} was open to other users of this machine (mode {stat.S_IMODE(mode):04o})"
    if is_open(root.stat().st_mode):
        notes = [(f"{was} and could not be made private (its file system or its owner does "
                  "not let its mode change): they may read the journal, the logs and the "
                  "connection profiles; move the data directory (--home) to a private folder")]
    else:
        notes = [f"{was}; made private: folders 0700, files 0600 ({changed} changed)"]
    if failed:
        notes.append(f"could not make {len(failed)} entries private, e.g. {failed[0]}")
    return notes


def make_tree_private(root: Path) -> tuple[int, list[str]]:
    """chmod every folder under `root` (itself included) to 0700 and every file to 0600, not
    following symbolic links. Returns (entries changed, entries that refused)."""
    changed, failed = 0, []

    def fix(path: str, wanted: int, mode: int) -> None:
        nonlocal changed
        if stat.S_IMODE(mode) == wanted:
            return
        try:
            os.chmod(path, wanted)
            changed += 1
        except OSError as exc:
            failed.append(f"{path}: {exc.strerror}")

    fix(str(root), DIR_MODE, root.stat().st_mode)
    for folder, dirs, files in os.walk(root, onerror=lambda exc: failed.append(
            f"{exc.filename}: {exc.strerror}")):
        for name in dirs + files:
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError as exc:
                failed.append(f"{path}: {exc.strerror}")
                continue
            if stat.S_ISDIR(mode):
                fix(path, DIR_MODE, mode)
            elif stat.S_ISREG(mode):
                fix(path, FILE_MODE, mode)
    return changed, failed


def _is_terminal_folder(root: Path) -> bool:
    """Empty, or the terminal's data directory (the folders every version made)."""
    try:
        entries = {entry.name: entry.is_dir(follow_symlinks=False) for entry in os.scandir(root)}
    except OSError:
        return False
    return not entries or all(entries.get(name) for name in TERMINAL_FOLDERS)
