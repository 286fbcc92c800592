"""Where the terminal keeps its files, and getting vn.py to keep its own there too.

vn.py picks its folder when `vnpy.trader.utility` is first imported: `./.vntrader` if that
exists in the working directory, otherwise `~/.vntrader`, which it creates. So the data
directory must be prepared, and the process moved into it, before anything imports vn.py.

Preparing it also makes it private to its user (`core.privacy`): from then on everything the
process writes is 0600 in 0700 folders.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from terminal.core import privacy
from terminal.core.jsonfile import write_json

APP_NAME = "TradingTerminal"
HOME_ENV = "TERMINAL_HOME"
VNPY_FOLDER = ".vntrader"

# vn.py's global settings, forced on every start: its console logger would mix with our own
# output (the smoke summary line), and its file log belongs inside our data directory.
VNPY_FORCED_SETTINGS = {"log.console": False, "log.file": True}


class DataDirError(RuntimeError):
    """The data directory cannot be created or written."""


@dataclass(frozen=True)
class DataPaths:
    """The files of one data directory; every path the terminal writes comes from here."""

    root: Path
    # What preparing the folder changed or could not change about who may read it (said
    # once, in the log, by whoever configures logging).
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def vnpy_dir(self) -> Path:
        return self.root / VNPY_FOLDER

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def layout_file(self) -> Path:
        return self.root / "layout.ini"

    @property
    def workspaces_dir(self) -> Path:
        return self.root / "workspaces"

    @property
    def chart_templates_file(self) -> Path:
        return self.root / "chart_templates.json"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def market_dir(self) -> Path:
        return self.root / "market"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def drawings_dir(self) -> Path:
        return self.root / "drawings"

    @property
    def price_alerts_file(self) -> Path:
        return self.root / "price_alerts.json"

    @property
    def order_templates_file(self) -> Path:
        return self.root / "order_templates.json"

    @property
    def managed_orders_file(self) -> Path:
        return self.root / "managed_orders.db"


def default_root() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False, roaming=True))


def resolve_root(cli_home: str | os.PathLike | None = None) -> Path:
    """`--home` wins over `TERMINAL_HOME`, which wins over the per-user platform folder."""
    if cli_home:
        return _real(cli_home)
    env = os.environ.get(HOME_ENV)
    if env:
        return _real(env)
    return default_root()


def _real(path: str | os.PathLike) -> Path:
    """The path with links resolved; a link loop stays as written (`prepare` names it), where
    `Path.resolve` raises a bare RuntimeError."""
    return Path(os.path.realpath(os.path.expanduser(path)))


# What `prepare` found and changed, per folder, for every later `prepare` of this process (the
# GUI prepares twice: the command line, then the runtime).
_notes: dict[Path, tuple[str, ...]] = {}


def prepare(root: Path) -> DataPaths:
    """Create the data directory and make vn.py use the folder inside it.

    Changes the working directory (vn.py's `MainEngine` does the same later), so callers must
    have made their own paths absolute first. Sets the process umask to 0o077 (see
    `core.privacy`); raises `DataDirError` for a folder that cannot be made or made private.
    """
    root = _real(root)
    try:
        created = not root.exists()
        root.mkdir(mode=privacy.DIR_MODE, parents=True, exist_ok=True)  # parents: user's umask
        privacy.restrict_umask()
        _notes[root] = _notes.get(root, ()) + tuple(privacy.secure(root, created))
        paths = DataPaths(root, _notes[root])
        for folder in (paths.vnpy_dir, paths.log_dir, paths.cache_dir):
            folder.mkdir(exist_ok=True)
    except privacy.NotPrivate as exc:
        raise DataDirError(str(exc)) from None
    except OSError as exc:
        raise DataDirError(f"cannot create data directory {root}: {exc}") from exc
    _write_vnpy_settings(paths.vnpy_dir / "vt_setting.json")
    _redirect_user_caches(paths)
    os.chdir(paths.root)
    _rebind_vnpy(paths)
    return paths


def _rebind_vnpy(paths: DataPaths) -> None:
    """Point an already imported vn.py at this data directory.

    Only tests and benchmarks open several data directories in one process; the terminal
    prepares its directory before vn.py is imported, so this finds nothing to do there.
    vn.py's own log file stays where it was first opened.
    """
    utility = sys.modules.get("vnpy.trader.utility")
    if utility is None or Path(utility.TEMP_DIR).resolve() == paths.vnpy_dir:
        return
    utility.TRADER_DIR, utility.TEMP_DIR = paths.root, paths.vnpy_dir
    engine = sys.modules.get("vnpy.trader.engine")
    if engine is not None:
        engine.TRADER_DIR = paths.root


def _write_vnpy_settings(path: Path) -> None:
    current: dict = {}
    if path.exists():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            current = {}
        if not isinstance(current, dict):
            current = {}
    wanted = {**current, **VNPY_FORCED_SETTINGS}
    if wanted != current:
        write_json(path, wanted, indent=4)


def _redirect_user_caches(paths: DataPaths) -> None:
    """Keep Qt, fontconfig and Python from writing caches into the user's home."""
    cache = paths.cache_dir
    os.environ["XDG_CACHE_HOME"] = str(cache)
    os.environ["XDG_CONFIG_HOME"] = str(cache / "config")
    os.environ["XDG_DATA_HOME"] = str(cache / "data")
    os.environ.setdefault("XDG_RUNTIME_DIR", str(cache / "runtime"))
    os.environ["MPLCONFIGDIR"] = str(cache / "matplotlib")
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    if runtime.is_relative_to(cache):
        runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
