"""Settings-like JSON files: read, or when unreadable kept aside for the user with a message,
so a bad file never stops the terminal and is never silently overwritten."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

MISSING = object()


def read_or_set_aside(path: Path) -> tuple[Any, str]:
    """(decoded JSON, "") ; (MISSING, "") when there is no file; (MISSING, why) when it was
    unreadable and has been moved to `<name>.broken-<time>`."""
    path = Path(path)
    if not path.exists():
        return MISSING, ""
    try:
        return json.loads(path.read_text(encoding="utf-8")), ""
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        aside = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, aside)
            kept = f"kept as {aside.name}"
        except OSError:
            kept = "could not be moved aside"
        return MISSING, f"{path.name} is unreadable ({exc}); the file {kept}"
