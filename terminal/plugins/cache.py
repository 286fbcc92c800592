"""The verdicts of plugin checks kept between runs, so that a start with unchanged plugin files
runs no check at all (no Qt).

One JSON file (`cache/plugin_checks.json` in the data directory) maps each checked file's path
to its verdict, which carries the file's signature (modification time, size and SHA-1 of its
content): a verdict counts only while the file still has that signature. The whole file is
set aside when the interpreter or vn.py changed (a plugin that failed for a missing package
may import now), and when it cannot be read. It is written atomically, readable by its user
only.
"""

from __future__ import annotations

import json
import logging
import sys
from importlib import metadata
from pathlib import Path

from terminal.core.jsonfile import write_json
from terminal.plugins.modules import FileCheck

log = logging.getLogger(__name__)

VERSION = 1


def environment() -> str:
    """What a verdict depends on besides the file: the interpreter and vn.py's packages."""
    versions = []
    for package in ("vnpy", "vnpy_ctastrategy"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} -")
    return "; ".join([f"cache {VERSION}", sys.executable, sys.version.split()[0], *versions])


class CheckCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._environment = ""
        self._verdicts: dict[str, FileCheck] | None = None

    def get(self, path: Path) -> FileCheck | None:
        return self._load().get(str(path))

    def put(self, checks: list[FileCheck]) -> None:
        """Keep these verdicts and write the file (a write that fails is logged)."""
        verdicts = self._load()
        for check in checks:
            verdicts[check.path] = check
        if self.path is None:
            return
        data = {"environment": self._environment,
                "files": {key: check.to_json() for key, check in sorted(verdicts.items())}}
        try:
            write_json(self.path, data)
        except OSError as exc:
            log.warning("the plugin check cache %s cannot be written: %s", self.path, exc)

    def forget(self, keep: set[str]) -> None:
        """Drop the verdicts of files not in `keep` (deleted ones) from memory; they leave
        the file with its next write."""
        verdicts = self._load()
        for key in [k for k in verdicts if k not in keep]:
            del verdicts[key]

    def _load(self) -> dict[str, FileCheck]:
        if self._verdicts is not None:
            return self._verdicts
        self._environment = environment()
        self._verdicts = {}
        if self.path is None or not self.path.exists():
            return self._verdicts
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("environment") != self._environment:
                log.info("plugin check cache %s is from another environment: every plugin "
                         "file is checked again", self.path)
                return self._verdicts
            self._verdicts = {key: FileCheck.from_json(value)
                              for key, value in data["files"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("the plugin check cache %s cannot be read (%s): every plugin file is "
                        "checked again", self.path, exc)
            self._verdicts = {}
        return self._verdicts
