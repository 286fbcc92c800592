"""Before Qt opens a window on Linux: the system libraries its xcb platform plugin loads.

Without them Qt ends the process with its own message ("no Qt platform plugin could be
initialized"), which names neither the library nor the package. So the plugin is loaded
first, as Qt is about to load it (the libraries it brings are Qt's own, loaded a moment
later anyway); when that fails, `ldd` names every library it cannot find, and the trader
gets the README's install line.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

# The README's line (tests/app/test_qt_libraries.py checks the README still says it).
INSTALL_LINE = (
    "sudo apt-get install python3-venv python3-dev build-essential \\\n"
    "  libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 "
    "libxkbcommon-x11-0 \\\n"
    "  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 "
    "libxcb-randr0 \\\n"
    "  libxcb-render-util0 libxcb-image0 fonts-dejavu-core")

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def missing_in(ldd_output: str) -> list[str]:
    """The libraries `ldd` could not find, in its order, each once."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def run_ldd(library: Path) -> str | None:
    """`ldd`'s report on `library`, or None when it cannot be had (no ldd, a static build)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        return subprocess.run([ldd, str(library)], capture_output=True, text=True,
                              timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def xcb_plugin() -> Path | None:
    """PySide6's xcb platform plugin, without importing Qt (that is what may fail)."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "plugins" / \
        "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def wants_xcb(env: Mapping[str, str]) -> bool:
    """Whether Qt will open its windows through xcb: asked for, or the default on Linux
    outside a Wayland session."""
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(":")[0].split(";")[0] == "xcb"
    return not env.get("WAYLAND_DISPLAY")


def loads(library: Path) -> bool:
    """Whether the system can load `library` with everything it links to."""
    import ctypes

    try:
        ctypes.CDLL(str(library))
    except OSError:
        return False
    return True


def problem(env: Mapping[str, str] | None = None, platform: str = sys.platform,
            plugin: Path | None = None, load: Callable[[Path], bool] = loads,
            ldd: Callable[[Path], str | None] = run_ldd) -> str | None:
    """What stops Qt from opening a window here, in words with the fix; None when nothing
    does, or when it cannot be told (then Qt's own start says what it finds)."""
    env = os.environ if env is None else env
    if not platform.startswith("linux") or not wants_xcb(env):
        return None
    plugin = plugin or xcb_plugin()
    if plugin is None or load(plugin):
        return None
    report = ldd(plugin)
    missing = missing_in(report) if report else []
    if not missing:
        return None
    return (f"Qt cannot open a window: its xcb platform needs system libraries that are not "
            f"installed: {', '.join(missing)}.\nOn Debian or Ubuntu, install what the "
            f"terminal needs (the README's line):\n\n{INSTALL_LINE}\n")
