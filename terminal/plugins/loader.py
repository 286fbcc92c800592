"""Strategy plugins: vn.py `CtaTemplate` subclasses found in folders of Python files, listed
without running the user's plugin code in the terminal's process.

Where strategies come from, in order (the first definition of a class name wins):

1. the folders given, in order: the top-level `plugins/` folder the project ships, then the
   user's plugin folder from the settings;
2. vnpy_ctastrategy's bundled strategies (`vnpy_ctastrategy/strategies/*.py`), imported as
   the package's own modules, so their classes are the very classes vn.py itself uses.

What runs where:

- Trusted files, vnpy_ctastrategy's bundled strategies and the project's shipped `plugins/`
  (the terminal's own code, installed with it), are imported in this process when the
  strategies are first listed. An exception one raises is its error; the others load.
- Every other file (the user's folder) is checked first, in a child process with a time
  limit per file (`plugins.check`): the child imports it and reports its classes,
  parameters, variables, author and docstring as plain data, which is what the workbench
  and the Strategies dock show. A file that raises, exits (`os._exit`), crashes, or is still
  importing after `check_seconds` is listed with that reason and never imported here.
- A checked file is imported into this process only when the trader uses one of its
  strategies (`load(name)`: a live strategy added or restored, a command-line backtest) and
  only if it passed, and then exactly the bytes that passed (same SHA-1): a file changed
  since is checked again first.
- A backtest worker imports the class itself (`load_class`), after checking the file in a
  child of its own; a file that exits or hangs there fails that run with the reason.

Verdicts are kept by file signature (modification time, size, SHA-1) in memory and, with
`cache_file`, on disk (`plugins.cache`), so a start with unchanged files checks nothing.
`check_in_background()` (called once the terminal's window has settled) scans the folders and
checks new and changed files on a thread: the start does not wait, and the lists fill when
the checks end (`subscribe`). `refresh()` waits for them (the command line); `get(name)` waits
only for the files whose text defines a class of that name (a strategy restored at the start).

Files whose names start with `_` or `.` are not read. A plugin file becomes its own module
(`plugins.modules`): nothing is added to `sys.path`, no `__pycache__` is written.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import multiprocessing as mp
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from terminal.core.resources import shipped_plugins
from terminal.plugins.cache import CheckCache
from terminal.plugins.check import CHECK_SECONDS, check_files, failure, worker_context
from terminal.plugins.modules import (
    MODULE_PREFIX, FileCheck, Signature, cta_template, defined_names, describe_error,
    import_source, inspect_file, inspect_module, module_name_for, read_source, signature_of,
    usable_classes, strategy_classes, class_info)

log = logging.getLogger(__name__)

BUNDLED = "vnpy_ctastrategy"
BUNDLED_PACKAGE = "vnpy_ctastrategy.strategies"
# The project's own strategies: the top-level `plugins/` folder (source checkout or bundle).
SHIPPED_FOLDER = shipped_plugins()

__all__ = ["BUNDLED", "CHECK_SECONDS", "MODULE_PREFIX", "SHIPPED_FOLDER", "PluginError",
           "StrategyCatalog", "StrategyEntry", "bundled_folder", "load_class",
           "plugin_folders"]


class PluginError(RuntimeError):
    """A strategy cannot be had: its file failed its check or its import, or it is not there
    any more."""


@dataclass(frozen=True)
class StrategyEntry:
    """One strategy class of the catalog, described without importing it."""

    name: str                       # the class name, which vn.py uses as the strategy's key
    source: Path | str              # the plugin file, or "vnpy_ctastrategy" for a bundled one
    path: Path                      # the file the class is defined in (bundled ones too)
    module: str                     # the name of the module the class lives (or will live) in
    author: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)   # name -> default value
    variables: list[str] = field(default_factory=list)
    doc: str = ""                   # the class docstring, dedented
    trusted: bool = True            # imported here without a check (bundled, shipped)
    check_seconds: float | None = None      # a worker's check of the file; None: no check
    _load: Callable[[str], type] | None = field(default=None, repr=False, compare=False)

    @property
    def bundled(self) -> bool:
        return self.source == BUNDLED

    @property
    def summary(self) -> str:
        """The first paragraph of the docstring, on one line."""
        first = self.doc.strip().split("\n\n", 1)[0]
        return " ".join(first.split())

    @property
    def cls(self) -> type:
        """The class itself: this imports its file into this process (after its check
        passed); raises PluginError. Only for using the strategy, never for listing it."""
        if self._load is None:
            raise PluginError(f"strategy {self.name}: no way to load it")
        return self._load(self.name)

    def worker_loader(self) -> Callable[[], type]:
        """A picklable function a worker process calls to import the class from its file
        (checking it first unless it is trusted)."""
        return functools.partial(load_class, str(self.path), self.name, self.check_seconds)


@dataclass
class _File:
    """A plugin file as the catalog knows it: its verdict (None while it is being checked, or
    a trusted file not listed yet) and, once imported here, its module and classes."""

    path: Path
    trusted: bool
    check: FileCheck | None = None
    module: ModuleType | None = None
    classes: dict[str, type] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers
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


def load_class(source_path: str | Path, class_name: str,
               check_seconds: float | None = None) -> type:
    """A strategy class imported from its file, in a worker process (which cannot import the
    generated module name of the terminal's process). A file of vnpy_ctastrategy's bundled
    strategies is imported as the package's module, as vn.py does. With `check_seconds` the
    file is first checked in a child process (`plugins.check`, "fork" where there is one),
    so a file that exits or hangs while importing fails here with that reason instead of
    taking the worker with it. A process that already imported the same bytes (an
    optimiser's worker forked from its job) uses that module. Raises `PluginError` naming the
    file and what went wrong."""
    path = Path(source_path)
    folder = bundled_folder()
    module: ModuleType | None
    try:
        if folder is not None and path.resolve().parent == folder.resolve():
            module = importlib.import_module(f"{BUNDLED_PACKAGE}.{path.stem}")
        else:
            name = module_name_for(path)
            try:
                source, signature = read_source(path)
            except OSError as exc:
                raise PluginError(f"{path}: the file cannot be read: "
                                  f"{exc.strerror or exc}") from None
            module = sys.modules.get(name)
            if module is None or getattr(module, "__plugin_signature__", None) != signature:
                if check_seconds is not None and not mp.current_process().daemon:
                    _check_before_import(path, signature, check_seconds)
                module = import_source(path, source, name)
                module.__plugin_signature__ = signature
    except PluginError:
        raise
    except (Exception, SystemExit) as exc:
        raise PluginError(f"{path}: {describe_error(exc, path)}") from exc
    cls = getattr(module, class_name, None)
    base, _ = cta_template()
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{path}: no strategy class {class_name!r}")
    return cls


def _defined_names(path: Path) -> tuple[str, ...]:
    try:
        return defined_names(path.read_bytes())
    except OSError:
        return ()


def _check_before_import(path: Path, signature: Signature, check_seconds: float) -> None:
    verdict = check_files([path], check_seconds, context=worker_context()).get(path)
    if verdict is None:
        raise PluginError(f"{path}: the file could not be checked")
    if not verdict.ok:
        raise PluginError(f"{path}: {verdict.error}")
    if verdict.signature != signature:
        raise PluginError(f"{path}: the file changed while it was being checked; run again")


# --------------------------------------------------------------------------- the catalog
class StrategyCatalog:
    """The strategy classes of some plugin folders and (optionally) vn.py's bundled ones.

    `entries` (class name -> StrategyEntry), `errors` (file -> reason) and `pending` (files
    being checked) are what is known now; a class name defined twice keeps the first
    definition (folders in the order given, bundled last) and the later file gets an error
    naming the clash. `trusted` folders (by default the shipped `plugins/`) are imported here
    without a check. Safe to use from several threads; `subscribe` callbacks run on the
    thread that learnt something (a check's).
    """

    def __init__(self, folders: list[Path] | tuple[Path, ...] = (), bundled: bool = True, *,
                 check_seconds: float = CHECK_SECONDS, cache_file: Path | None = None,
                 trusted: list[Path] | tuple[Path, ...] | None = None,
                 context: str = "spawn") -> None:
        if check_seconds <= 0:
            raise ValueError(f"check_seconds must be positive, not {check_seconds}")
        self.folders = [Path(f) for f in folders]
        self.bundled = bundled
        self.check_seconds = float(check_seconds)
        self.context = context
        self.trusted = {self._resolved(f) for f in (trusted if trusted is not None
                                                    else [SHIPPED_FOLDER])}
        self.entries: dict[str, StrategyEntry] = {}
        self.errors: dict[str, str] = {}
        self.details: dict[str, str] = {}          # file -> full traceback of its error
        self.pending: list[str] = []               # files being checked
        self._cache = CheckCache(cache_file)
        self._files: dict[Path, _File] = {}
        self._order: list[Path] = []
        self._bundled: list[StrategyEntry] | None = None
        self._bundled_classes: dict[str, type] = {}
        self._bundled_errors: dict[str, tuple[str, str]] = {}
        self._inflight: dict[Path, threading.Event] = {}
        self._reported: set[tuple[str, str]] = set()
        self._listeners: list[Callable[[], None]] = []
        self._cancel = threading.Event()
        self._lock = threading.RLock()
        self._listed = False

    # ------------------------------------------------------------------ public
    def check_in_background(self) -> threading.Thread:
        """Scan the folders and check new and changed files on a thread; nothing is imported
        here (the terminal's start). Returns the thread."""
        def scan() -> None:
            try:
                self._refresh(import_trusted=False)
            except Exception:  # a scan that fails must not stop the terminal
                log.exception("the strategy plugin folders could not be scanned")

        thread = threading.Thread(target=scan, name="plugin-scan", daemon=True)
        thread.start()
        return thread

    def refresh(self, wait: bool = True, retry: bool = False) -> dict[str, StrategyEntry]:
        """Scan the folders: import new and changed trusted files, check new and changed
        others (and, with `retry`, those that failed, whose cause may have gone: a package
        installed since), drop deleted ones. With `wait` it returns when the checks have
        ended. Returns `entries`."""
        events = self._refresh(import_trusted=True, retry=retry)
        if wait:
            self._wait(events)
        return self.entries

    def names(self) -> list[str]:
        """The class names known now (the first call lists the trusted strategies and starts
        the checks of the others, without waiting for them)."""
        with self._lock:
            if not self._listed:
                self.refresh(wait=False)
            return sorted(self.entries)

    def get(self, name: str) -> StrategyEntry:
        """The entry of a class as its file is now: the folders scanned again, trusted files
        that changed imported again, and the checks of the files whose text defines `name`
        waited for. Raises `PluginError` with the reason when there is no such class or its
        file failed."""
        for _ in range(3):          # a file that changed during its check: once more
            events = self._refresh(import_trusted=True, only=name)
            if not events:
                break
            self._wait(events)
        with self._lock:
            entry = self.entries.get(name)
            if entry is None:
                raise PluginError(self._missing(name))
            return entry

    def load(self, name: str) -> type:
        """The class `name`, imported into this process: a bundled or trusted one as listed,
        a checked one only if its check passed on the bytes imported now. Raises
        `PluginError` with the reason."""
        entry = self.get(name)
        if entry.bundled:
            return self._bundled_classes[name]
        path = Path(entry.path)
        with self._lock:
            state = self._files.get(path)
            if state is None:
                raise PluginError(self._missing(name))
            if state.trusted:
                cls = state.classes.get(name)
                if cls is None:
                    raise PluginError(self._missing(name, path))
                return cls
        try:
            source, signature = read_source(path)
        except OSError as exc:
            raise PluginError(f"{path}: the file cannot be read: {exc.strerror or exc}") \
                from None
        with self._lock:
            if state.module is not None and \
                    getattr(state.module, "__plugin_signature__", None) == signature:
                return self._class_of(state, name)
            verdict = state.check
        if verdict is None or verdict.signature != signature:
            self._wait(self._start_checks([path]))
            with self._lock:
                verdict = self._files[path].check if path in self._files else None
            if verdict is None or verdict.signature != signature:
                raise PluginError(f"{path}: the file changed while it was being checked; "
                                  "try again")
        if not verdict.ok:
            raise PluginError(f"{path}: {verdict.error}")
        if name not in {info.name for info in verdict.classes}:
            raise PluginError(self._missing(name, path))
        with self._lock:
            try:
                module = import_source(path, source, module_name_for(path))
                module.__plugin_signature__ = signature
                classes, _, _ = inspect_module(module)
            except (Exception, SystemExit) as exc:  # passed its check, not now
                raise PluginError(f"{path}: {describe_error(exc, path)}") from exc
            state.module, state.classes = module, {cls.__name__: cls for cls in classes}
            log.info("strategy plugin %s imported for %s", path, name)
            return self._class_of(state, name)

    def why_missing(self, name: str) -> str:
        """Why `name` is not among the entries, as known now (no check is waited for)."""
        with self._lock:
            return self._missing(name)

    def module_path(self, name: str) -> Path:
        """The file a class is defined in, for `load_class` in a worker process."""
        return self.get(name).path

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` whenever entries, errors or pending change (from the thread
        that changed them); returns the function that unsubscribes it."""
        with self._lock:
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return unsubscribe

    def close(self) -> None:
        """Stop the checks under way (their processes are killed)."""
        self._cancel.set()

    # ------------------------------------------------------------------ scanning
    def _refresh(self, import_trusted: bool, retry: bool = False,
                 only: str | None = None) -> list[threading.Event]:
        """Scan under the lock; start the checks needed (all, or with `only` those of files
        whose text defines that class); return the events to wait on."""
        with self._lock:
            before = self._snapshot()
            needs: list[Path] = []
            later: list[Path] = []         # with `only`: checked, not waited for
            order = self._scan()
            for path in order:
                if self._scan_file(path, import_trusted, retry):
                    if only is None or only in _defined_names(path):
                        needs.append(path)
                    elif self._listed:
                        later.append(path)
            for path in [p for p in self._files if p not in order]:
                del self._files[path]
            self._cache.forget({str(p) for p in order})
            self._order = order
            if import_trusted:
                if self.bundled and self._bundled is None:
                    self._load_bundled()
                self._listed = self._listed or only is None
            self._rebuild()
        events = self._start_checks(needs)
        self._start_checks(later)
        if self._snapshot() != before:
            self._notify()
        return events

    def _scan_file(self, path: Path, import_trusted: bool, retry: bool) -> bool:
        """Bring one file's state up to date; True when it needs a check."""
        state = self._files.get(path)
        signature = signature_of(path)
        if path.parent in self.trusted:
            current = state is not None and state.check is not None and \
                state.check.signature == signature
            if import_trusted and not current:
                check, module, classes = inspect_file(path)
                self._files[path] = _File(path, True, check, module,
                                          {cls.__name__: cls for cls in classes})
                self._report(check)
            elif state is None:
                self._files[path] = _File(path, True)
            return False
        if state is None:
            state = self._files[path] = _File(path, False)
        if signature is None:
            state.check = FileCheck(str(path), (0, 0, ""),
                                    error="OSError: the file cannot be read")
            return False
        if state.check is None or state.check.signature != signature:
            cached = self._cache.get(path)
            if cached is not None and cached.signature == signature:
                state.check = cached
        # A verdict on an older version stays listed while the new one is checked (the
        # lists keep their places); `load` never imports on it, `get` waits for the new one.
        current = state.check is not None and state.check.signature == signature
        if current and not (retry and not state.check.ok):
            self._report(state.check)
            return False
        return True

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
        return list(dict.fromkeys(files))     # the same folder given twice: each file once

    @staticmethod
    def _resolved(folder: Path) -> Path:
        try:
            return Path(folder).expanduser().resolve()
        except OSError:
            return Path(folder)

    # ------------------------------------------------------------------ checking
    def _start_checks(self, paths: list[Path]) -> list[threading.Event]:
        """Check these files on a thread, each once however many ask; the events are set as
        their verdicts arrive."""
        with self._lock:
            events, todo = [], []
            for path in paths:
                event = self._inflight.get(path)
                if event is None:
                    event = self._inflight[path] = threading.Event()
                    todo.append(path)
                events.append(event)
            self.pending = sorted(str(p) for p in self._inflight)
        if todo:
            mine = {path: self._inflight[path] for path in todo}
            threading.Thread(target=self._check, args=(mine,), name="plugin-check",
                             daemon=True).start()
        return events

    def _check(self, mine: dict[Path, threading.Event]) -> None:
        """Check the files of `mine` (path -> the event that says its verdict is in)."""
        todo = list(mine)

        def release(path: Path) -> threading.Event | None:
            if self._inflight.get(path) is mine.get(path):
                del self._inflight[path]
                self.pending = sorted(str(p) for p in self._inflight)
                return mine[path]
            return None

        def record(check: FileCheck) -> None:
            path = Path(check.path)
            with self._lock:
                state = self._files.get(path)
                if state is not None and not state.trusted:
                    state.check = check
                self._cache.put([check])         # before anyone waiting is let go
                event = release(path)
                self._rebuild()
            self._report(check)
            if event is not None:
                event.set()
            self._notify()

        try:
            check_files(todo, self.check_seconds, context=self.context, on_result=record,
                        cancel=self._cancel)
        except Exception as exc:  # the files are listed with the reason
            log.exception("strategy plugins could not be checked")
            for path in todo:
                if self._inflight.get(path) is mine[path]:
                    record(failure(path, f"the check could not run: {exc}"))
        finally:
            with self._lock:
                left = [event for event in map(release, todo) if event is not None]
            for event in left:                   # cancelled: nobody waits for ever
                event.set()

    def _snapshot(self) -> tuple:
        return (tuple(self.entries), tuple(self.errors.items()), tuple(self.pending))

    def _wait(self, events: list[threading.Event]) -> None:
        for event in events:
            while not event.wait(0.2):
                if self._cancel.is_set():
                    return

    def _report(self, check: FileCheck) -> None:
        """A failed file goes to the log once per version of it."""
        key = (check.path, check.signature[2] + check.error)
        if check.error and key not in self._reported:
            self._reported.add(key)
            log.warning("strategy plugin %s not loaded: %s", check.path, check.error)

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback()
            except Exception:  # a listener's bug must not stop the checks
                log.exception("a strategy catalog listener raised")

    # ------------------------------------------------------------------ listing
    def _load_bundled(self) -> None:
        self._bundled, self._bundled_errors, self._bundled_classes = [], {}, {}
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
                classes, problems = usable_classes(strategy_classes(module))
                if problems:
                    raise TypeError("; ".join(problems))
                entries = [self._entry(class_info(cls), path, BUNDLED) for cls in classes]
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - it is the file's error
                self._bundled_errors[str(path)] = (describe_error(exc, path),
                                                   "".join(traceback.format_exception(exc)))
                continue
            self._bundled += entries
            self._bundled_classes.update({cls.__name__: cls for cls in classes})

    def _entry(self, info, path: Path, source: Path | str, trusted: bool = True,
               module: str | None = None) -> StrategyEntry:
        return StrategyEntry(
            name=info.name, source=source, path=path,
            module=module or f"{BUNDLED_PACKAGE}.{path.stem}", author=info.author,
            parameters=dict(info.parameters), variables=list(info.variables), doc=info.doc,
            trusted=trusted, check_seconds=None if trusted else self.check_seconds,
            _load=self.load)

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

        for path in self._order:
            state = self._files.get(path)
            if state is None or state.check is None:
                continue
            check = state.check
            if check.error:
                errors[str(path)] = check.error
                details[str(path)] = check.details
                continue
            if check.problems:
                clashes.setdefault(str(path), []).extend(check.problems)
            for info in check.classes:
                add(self._entry(info, path, path, state.trusted, module_name_for(path)),
                    str(path))
        for entry in self._bundled or []:
            add(entry, str(entry.path))
        for key, (error, detail) in self._bundled_errors.items():
            errors[key], details[key] = error, detail
        for key, messages in clashes.items():
            errors[key] = "; ".join(([errors[key]] if key in errors else []) + messages)
        self.entries, self.errors, self.details = entries, errors, details

    def _class_of(self, state: _File, name: str) -> type:
        cls = state.classes.get(name)
        if cls is None:
            raise PluginError(self._missing(name, state.path))
        return cls

    def _missing(self, name: str, path: Path | None = None) -> str:
        if path is None:        # a file that failed and whose text defines the class
            path = next((p for p in self._order if (s := self._files.get(p)) is not None
                         and s.check is not None and not s.check.ok
                         and name in s.check.names), None)
        if path is not None and str(path) in self.errors:
            return f"strategy {name}: {path}: {self.errors[str(path)]}"
        if path is not None:
            return f"strategy {name}: {path} no longer defines it"
        if any(Path(p).exists() for p in self.pending):
            return f"no strategy class {name!r} (files still being checked)"
        return f"no strategy class {name!r}"
