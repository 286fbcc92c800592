"""Settings-like JSON files: read, or when unreadable kept aside for the user with a message,
so a bad file never stops the terminal and is never silently overwritten; written atomically
(a temporary file beside it, flushed to disk, then renamed over it), so a crash mid-write
leaves the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from terminal.core.aside import set_aside

MISSING = object()


def read_or_set_aside(path: Path) -> tuple[Any, str]:
    """(decoded JSON, "") ; (MISSING, "") when there is no file; (MISSING, why) when it was
    unreadable and has been moved to `<name>.broken-<time>`."""
    path = Path(path)
    if not path.exists():
        return MISSING, ""
    try:  # "utf-8-sig": a byte-order mark (as some Windows editors write) is no error
        return json.loads(path.read_text(encoding="utf-8-sig")), ""
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # RecursionError: arrays or objects nested thousands deep
        try:
            kept = f"kept as {set_aside(path).name}"
        except OSError:
            kept = "could not be moved aside"
        return MISSING, f"{path.name} is unreadable ({exc}); the file {kept}"


def write_json(path: Path, data: Any, indent: int = 2) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # its own temporary file: two threads (or processes) saving at once never share one
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=indent, ensure_ascii=False)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
