"""Files the terminal ships beside its code: `resources/` and the strategy `plugins/`.

They sit at the top of the source checkout, and at the top of the bundle folder in a
PyInstaller build (`sys._MEIPASS`), so every lookup goes through `install_root`.
"""

from __future__ import annotations

import sys
from pathlib import Path


def install_root() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    return Path(__file__).resolve().parents[2]


def resource(name: str) -> Path:
    """A file under `resources/` (icons, themes)."""
    return install_root() / "resources" / name


def shipped_plugins() -> Path:
    return install_root() / "plugins"
