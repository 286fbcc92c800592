"""Strategy plugins: vn.py `CtaTemplate` subclasses found in folders of Python files.

Where strategies come from, in order (the first definition of a class name wins):

1. the folders given, in order: the top-level `plugins/` folder the project ships, then the
   user's plugin folder from the settings;
2. vnpy_ctastrategy's bundled strategies (`vnpy_ctastrategy/strategies/*.py`), imported as
   the package's own modules, so their classes are the very classes vn.py itself uses.

How a plugin file is imported:

- Each file becomes its own module with a unique name (`_terminal_plugin_<stem>_<hash of
  its path>`), made with `importlib.util.spec_from_file_location`. Nothing is added to
  `sys.path`, so a plugin cannot shadow an installed package or another plugin. The module is
  registered in `sys.modules` under that name (dataclasses, pickling within the process and
  `inspect` need it), and replaced there when the file is re-imported.
- The source is read and compiled here, not through the import system's bytecode cache: no
  `__pycache__` appears in plugin folders, and a file edited twice within the same second
  (same size, same mtime in whole seconds) is never run from a stale cache.
- Every exception raised while importing a file (a syntax error, a missing import, an
  exception raised by module code, even `SystemExit`) is caught; the file is listed in
  `errors` with the exception type, message and line number, and every other file loads.
- A file with no `CtaTemplate` subclass of its own is ignored (helpers); files whose names
  start with `_` or `.` are not read. Classes a file only imports from elsewhere are not its
  strategies. A class vn.py could not create (it leaves out `on_init`, or a
  parameter has no default value) is reported as the file's error and the file's other
  classes load; an abstract base class that other classes of the file extend is skipped.
- Nothing is imported when the catalog is built: `refresh()` (or the first `get`) does it,
  so the terminal starts without running plugin code.

Changed files are picked up without restarting: `get(name)` checks the file the class came
from (modification time, size and content) and re-imports it when it changed, so the next
backtest runs the new code; `refresh()` does the same for every file and finds new and
deleted ones.

A worker process cannot import a class by its generated module name; it imports it from the
file instead with `load_class(module_path(name), name)`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import logging
import re
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from terminal.core.resources import shipped_plugins

log = logging.getLogger(__name__)

BUNDLED = "vnpy_ctastrategy"
BUNDLED_PACKAGE = "vnpy_ctastrategy.strategies"
MODULE_PREFIX = "_terminal_plugin_"
# The project's own strategies: the top-level `plugins/` folder (source checkout or bundle).
SHIPPED_FOLDER = shipped_plugins()


class PluginError(RuntimeError):
    """A strategy cannot be had: its file failed to import, or it is not there any more."""


@dataclass(frozen=True)
class StrategyEntry:
    """One strategy class of the catalog."""

    name: str                       # the class name, which vn.py uses as the strategy's key
    cls: type
    source: Path | str              # the plugin file, or "vnpy_ctastrategy" for a bundled one
    path: Path                      # the file the class is defined in (bundled ones too)
    module: str                     # the name of the module the class lives in
    author: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)   # name -> default value
    variables: list[str] = field(default_factory=list)
    doc: str = ""                   # the class docstring, dedented

    @property
    def bundled(self) -> bool:
        return self.source == BUNDLED

    @property
    def summary(self) -> str:
        """The first paragraph of the docstring, on one line."""
        first = self.doc.strip().split("\n\n", 1)[0]
        return " ".join(first.split())


@dataclass
class _FileState:
    """What importing one file gave: its signature when read, and classes or an error."""

    path: Path
    signature: tuple[int, int, str]          # mtime_ns, size, content digest
    module: ModuleType | None = None
    classes: list[type] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # classes that cannot be used
    error: str = ""
    details: str = ""                        # the full traceback, for a details view


# --------------------------------------------------------------------------- module helpers
def _signature(path: Path) -> tuple[int, int, str] | None:
    """mtime_ns, size and digest of a file, or None when it cannot be read."""
    try:
        stat = path.stat()
        digest = hashlib.sha1(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, digest


def module_name_for(path: Path) -> str:
    """The unique module name a plugin file is imported under: its stem (made an identifier)
    and a hash of its resolved path, so two folders' `macd.py` never collide."""
    resolved = str(Path(path).resolve())
    stem = re.sub(r"\W", "_", Path(path).stem)
    return f"{MODULE_PREFIX}{stem}_{hashlib.sha1(resolved.encode()).hexdigest()[:12]}"


def _import_file(path: Path, module_name: str) -> ModuleType:
    """Execute a file as a fresh module registered under `module_name`; on failure the old
    registration (if any) is kept and the exception propagates."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None:
        raise ImportError(f"cannot make a module of {path}")
    module = importlib.util.module_from_spec(spec)
    source = path.read_bytes()
    code = compile(source, str(path), "exec", dont_inherit=True)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module          # visible while it runs, as an import does
    try:
        exec(code, module.__dict__)  # noqa: S102 - running plugin code is the point
    except BaseException:
        if previous is not None:
            sys.modules[module_name] = previous
        else:
            sys.modules.pop(module_name, None)
        raise
    return module


def _describe(exc: BaseException, path: Path) -> str:
    """`Type: message (line N)`, the line being where in `path` it went wrong."""
    line = None
    if isinstance(exc, SyntaxError) and exc.lineno:
        same_file = not exc.filename or Path(exc.filename).resolve() == path.resolve()
        line = exc.lineno if same_file else None
        message = exc.msg
    else:
        message = str(exc)
    if line is None:
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if Path(frame.f_code.co_filename).resolve() == path.resolve():
                line = lineno
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"{text} (line {line})" if line else text


def _cta_template() -> tuple[type, tuple[type, ...]]:
    from vnpy_ctastrategy.template import CtaTemplate, TargetPosTemplate

    return CtaTemplate, (CtaTemplate, TargetPosTemplate)


def strategy_classes(module: ModuleType) -> list[type]:
    """The CtaTemplate subclasses a module defines itself (not the ones it imports), in the
    order they appear, the templates left out."""
    base, templates = _cta_template()
    return [value for value in list(vars(module).values())
            if isinstance(value, type) and issubclass(value, base) and value not in templates
            and value.__module__ == module.__name__]


def _usable(classes: list[type], path: Path) -> tuple[list[type], list[str]]:
    """The classes vn.py can use, and a message for each it cannot: one that leaves out an
    abstract method (`on_init`) and is no base of another class of the file, or
    whose parameters lack default values. An abstract base class of the file is skipped."""
    usable, problems = [], []
    for cls in classes:
        if inspect.isabstract(cls):
            if any(other is not cls and issubclass(other, cls) for other in classes):
                continue
            missing = ", ".join(sorted(cls.__abstractmethods__))
            line = _class_line(cls)
            problems.append(f"TypeError: {cls.__name__} cannot be created: it does not define "
                            f"{missing}" + (f" (line {line})" if line else ""))
            continue
        try:
            _defaults(cls)
        except AttributeError as exc:
            line = _class_line(cls)
            problems.append(f"AttributeError: {exc}" + (f" (line {line})" if line else ""))
            continue
        usable.append(cls)
    return usable, problems


def _class_line(cls: type) -> int | None:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None


def _defaults(cls: type) -> dict[str, Any]:
    """The class's parameters with their default values; raises naming a parameter the
    class does not define (vn.py's own `get_class_parameters` would raise later)."""
    values = {}
    for name in getattr(cls, "parameters", []) or []:
        if not hasattr(cls, name):
            raise AttributeError(f"{cls.__name__}: parameter {name!r} has no default value "
                                 "in the class")
        values[name] = getattr(cls, name)
    return values


def _entry(cls: type, source: Path | str, path: Path) -> StrategyEntry:
    return StrategyEntry(
        name=cls.__name__, cls=cls, source=source, path=path, module=cls.__module__,
        author=str(getattr(cls, "author", "") or ""), parameters=_defaults(cls),
        variables=list(getattr(cls, "variables", []) or []),
        doc=inspect.cleandoc(cls.__doc__ or ""),
    )


def bundled_folder() -> Path | None:
    """vnpy_ctastrategy's strategies folder (found without importing any strategy), or None
    when vnpy_ctastrategy is not installed."""
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except ModuleNotFoundError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def plugin_folders(user_folder: str | Path | None = None) -> list[Path]:
    """The folders a catalog scans: the shipped `plugins/`, then the user's folder from the
    settings (none when empty)."""
    folders = [SHIPPED_FOLDER]
    if user_folder and str(user_folder).strip():
        folders.append(Path(user_folder).expanduser())
    return folders


def load_class(source_path: str | Path, class_name: str) -> type:
    """A strategy class imported from its file, for a worker process (which cannot import
    the generated module name the GUI process used). A file of vnpy_ctastrategy's bundled
    strategies is imported as the package's module, as vn.py does. Raises `PluginError`
    naming the file and what went wrong."""
    path = Path(source_path)
    folder = bundled_folder()
    try:
        if folder is not None and path.resolve().parent == folder.resolve():
            module = importlib.import_module(f"{BUNDLED_PACKAGE}.{path.stem}")
        else:
            name = module_name_for(path)
            module = sys.modules.get(name)
            signature = _signature(path)
            if module is None or getattr(module, "__plugin_signature__", None) != signature:
                module = _import_file(path, name)
                module.__plugin_signature__ = signature
    except (Exception, SystemExit) as exc:
        raise PluginError(f"{path}: {_describe(exc, path)}") from exc
    cls = getattr(module, class_name, None)
    base, _ = _cta_template()
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{path}: no strategy class {class_name!r}")
    return cls


# --------------------------------------------------------------------------- the catalog
class StrategyCatalog:
    """The strategy classes of some plugin folders and (optionally) vn.py's bundled ones.

    `entries` (class name -> StrategyEntry) and `errors` (file -> "Type: message (line N)")
    are filled by `refresh()`; a class name defined twice keeps the first definition (folders
    in the order given, bundled last) and the later file gets an error naming the clash.
    Safe to use from several threads.
    """

    def __init__(self, folders: list[Path] | tuple[Path, ...] = (), bundled: bool = True) -> None:
        self.folders = [Path(f) for f in folders]
        self.bundled = bundled
        self.entries: dict[str, StrategyEntry] = {}
        self.errors: dict[str, str] = {}
        self.details: dict[str, str] = {}          # file -> full traceback of its error
        self._files: dict[Path, _FileState] = {}
        self._bundled: list[StrategyEntry] | None = None
        self._bundled_errors: dict[str, tuple[str, str]] = {}
        self._lock = threading.RLock()
        self._refreshed = False

    # ------------------------------------------------------------------ public
    def refresh(self, force: bool = False) -> dict[str, StrategyEntry]:
        """Scan the folders: import new and changed files (all of them with `force`), drop
        deleted ones, and rebuild `entries` and `errors`. Returns `entries`."""
        with self._lock:
            seen: set[Path] = set()
            for path in self._scan():
                seen.add(path)
                state = self._files.get(path)
                signature = _signature(path)
                if force or state is None or signature is None or state.signature != signature:
                    self._files[path] = self._load(path, signature)
            for path in list(self._files):
                if path not in seen:
                    del self._files[path]
            if self.bundled and (self._bundled is None or force):
                self._load_bundled()
            self._rebuild()
            self._refreshed = True
            return self.entries

    def get(self, name: str) -> StrategyEntry:
        """The entry of a class, its file re-imported first if it changed since it was
        loaded (so the next backtest runs the new code). Raises `PluginError` when the class
        is unknown, or its file was deleted or now fails to import (with that error)."""
        with self._lock:
            if not self._refreshed:
                self.refresh()
            entry = self.entries.get(name)
            if entry is None:
                self.refresh()                   # a file added or fixed since the last scan
                entry = self.entries.get(name)
                if entry is None:
                    raise PluginError(self._missing(name))
                return entry
            if entry.bundled:
                return entry
            path = Path(entry.source)
            signature = _signature(path)
            state = self._files.get(path)
            if state is not None and signature is not None and state.signature == signature:
                return entry
            if signature is None:
                self._files.pop(path, None)
            else:
                self._files[path] = self._load(path, signature)
            self._rebuild()
            entry = self.entries.get(name)
            if entry is None:
                raise PluginError(self._missing(name, path))
            return entry

    def classes(self) -> dict[str, type]:
        """Class name -> class after a refresh (what vn.py's CtaEngine keeps in `classes`)."""
        with self._lock:
            return {name: entry.cls for name, entry in self.refresh().items()}

    def module_path(self, name: str) -> Path:
        """The file a class is defined in, for `load_class` in a worker process."""
        return self.get(name).path

    def names(self) -> list[str]:
        with self._lock:
            if not self._refreshed:
                self.refresh()
            return sorted(self.entries)

    # ------------------------------------------------------------------ internals
    def _scan(self) -> list[Path]:
        files: list[Path] = []
        for folder in self.folders:
            try:
                found = sorted(p for p in folder.glob("*.py")
                               if p.is_file() and not p.name.startswith((".", "_")))
            except OSError as exc:
                log.warning("plugin folder %s cannot be read: %s", folder, exc)
                continue
            files += [p.resolve() for p in found]
        unique = []
        for path in files:          # the same folder given twice: each file once
            if path not in unique:
                unique.append(path)
        return unique

    def _load(self, path: Path, signature: tuple[int, int, str] | None) -> _FileState:
        state = _FileState(path, signature or (0, 0, ""))
        if signature is None:
            state.error = "OSError: the file cannot be read"
            return state
        try:
            module = _import_file(path, module_name_for(path))
            module.__plugin_signature__ = signature
            classes, problems = _usable(strategy_classes(module), path)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - it is the file's error
            state.error = _describe(exc, path)
            state.details = "".join(traceback.format_exception(exc))
            log.warning("strategy plugin %s failed to load: %s", path, state.error)
            return state
        state.module, state.classes, state.problems = module, classes, problems
        return state

    def _load_bundled(self) -> None:
        self._bundled, self._bundled_errors = [], {}
        folder = bundled_folder()
        if folder is None:
            self._bundled_errors[BUNDLED] = (
                "ModuleNotFoundError: vnpy_ctastrategy is not installed", "")
            return
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            try:
                module = importlib.import_module(f"{BUNDLED_PACKAGE}.{path.stem}")
                classes, problems = _usable(strategy_classes(module), path)
                if problems:
                    raise TypeError("; ".join(problems))
                entries = [_entry(cls, BUNDLED, path) for cls in classes]
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - it is the file's error
                self._bundled_errors[str(path)] = (_describe(exc, path),
                                                   "".join(traceback.format_exception(exc)))
                continue
            self._bundled += entries

    def _rebuild(self) -> None:
        entries: dict[str, StrategyEntry] = {}
        errors: dict[str, str] = {}
        details: dict[str, str] = {}
        clashes: dict[str, list[str]] = {}

        def add(entry: StrategyEntry, where: str) -> None:
            held = entries.get(entry.name)
            if held is None:
                entries[entry.name] = entry
            else:
                clashes.setdefault(where, []).append(
                    f"NameClash: class {entry.name} is already defined in {held.path}; "
                    "this one is ignored")

        for path in self._scan_order():
            state = self._files[path]
            if state.error:
                errors[str(path)] = state.error
                details[str(path)] = state.details
                continue
            if state.problems:
                clashes.setdefault(str(path), []).extend(state.problems)
            for cls in state.classes:
                add(_entry(cls, path, path), str(path))
        for entry in self._bundled or []:
            add(entry, str(entry.path))
        for key, (error, detail) in self._bundled_errors.items():
            errors[key], details[key] = error, detail
        for key, messages in clashes.items():
            errors[key] = "; ".join(([errors[key]] if key in errors else []) + messages)
        self.entries, self.errors, self.details = entries, errors, details

    def _scan_order(self) -> list[Path]:
        order = {path: i for i, path in enumerate(self._scan())}
        return sorted((p for p in self._files if p in order), key=order.__getitem__)

    def _missing(self, name: str, path: Path | None = None) -> str:
        if path is not None and str(path) in self.errors:
            return f"strategy {name}: {path}: {self.errors[str(path)]}"
        if path is not None:
            return f"strategy {name}: {path} no longer defines it"
        return f"no strategy class {name!r}"
