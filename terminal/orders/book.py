"""The durable copy of the managed orders: one SQLite row per group, written (and committed)
before each order it sends and after each change, so a hard kill at any moment leaves the
last state on disk and a restart re-arms each group once.

Its own file (`managed_orders.db`, WAL, synchronous=NORMAL: a committed row survives the
process being killed), not the journal: the journal commits in batches every 50 ms, and a
stop that has sent its order must be known to have done so before the order leaves. A commit
here is one small transaction, tens of microseconds.

A file that cannot be used is kept aside (never deleted) and a new one started; the caller
raises a severe alert, since armed stops may then be missing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from vnpy.trader.constant import Direction

from terminal.core.aside import set_aside
from terminal.orders.model import Child, Group, GroupKind, Kind, Leg, State

FORMAT = 1


class BookError(RuntimeError):
    pass


def group_to_json(group: Group) -> str:
    """The group as one JSON text (enums by name). Written field by field from the objects'
    own dictionaries: `dataclasses.asdict` took 0.3 ms a group, most of a stop's time from
    the crossing tick to its order."""
    data = dict(vars(group))
    data["format"] = FORMAT
    data["kind"] = group.kind.value
    data["legs"] = [_leg_data(leg) for leg in group.legs]
    return json.dumps(data, separators=(",", ":"))


def _leg_data(leg: Leg) -> dict:
    raw = dict(vars(leg))
    raw["direction"] = leg.direction.name
    raw["kind"] = leg.kind.name
    raw["state"] = leg.state.name
    raw["children"] = [dict(vars(child)) for child in leg.children]
    return raw


def group_from_json(text: str) -> Group:
    data = json.loads(text)
    if data.pop("format", None) != FORMAT:
        raise BookError("a managed order row of another format")
    legs = []
    for raw in data.pop("legs"):
        raw["direction"] = Direction[raw["direction"]]
        raw["kind"] = Kind[raw["kind"]]
        raw["state"] = State[raw["state"]]
        raw["children"] = [Child(**child) for child in raw["children"]]
        legs.append(Leg(**raw))
    data["kind"] = GroupKind(data["kind"])
    data["targets_planned"] = tuple(tuple(pair) for pair in data["targets_planned"])
    return Group(legs=legs, **data)


class ManagedBook:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.kept_aside: Path | None = None
        self.why = ""
        self._lock = threading.Lock()
        try:
            self.db = self._open()
        except (sqlite3.Error, BookError) as exc:
            self.why = str(exc)
            self.kept_aside = set_aside(self.path, companions=("-wal", "-shm", "-journal"))
            self.db = self._open()
        self.writes = 0

    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise BookError(f"{self.path} is a directory")
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            rows = db.execute("PRAGMA quick_check").fetchall()
            if rows != [("ok",)]:
                raise BookError(f"it failed SQLite's check: {rows[0][0]}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS groups (id TEXT PRIMARY KEY, "
                       "active INTEGER, updated REAL, data TEXT)")
        except BaseException:
            db.close()
            raise
        return db

    def save(self, group: Group) -> None:
        """Commit `group` as it is now (raises sqlite3.Error when it cannot: the caller must
        then not send)."""
        row = (group.id, int(group.active), time.time(), group_to_json(group))
        with self._lock:
            self.db.execute("INSERT INTO groups (id, active, updated, data) VALUES (?,?,?,?) "
                            "ON CONFLICT(id) DO UPDATE SET active = excluded.active, "
                            "updated = excluded.updated, data = excluded.data", row)
            self.writes += 1

    def load_active(self) -> tuple[list[Group], list[str]]:
        """The groups still active, oldest first, and a message per row that cannot be read
        (left in the file)."""
        groups, bad = [], []
        with self._lock:
            rows = self.db.execute("SELECT id, data FROM groups WHERE active = 1 "
                                   "ORDER BY rowid").fetchall()
        for key, text in rows:
            try:
                groups.append(group_from_json(text))
            except (ValueError, KeyError, TypeError, BookError) as exc:
                bad.append(f"managed order {key}: {exc}")
        return groups, bad

    def close(self) -> None:
        with self._lock:
            self.db.close()
