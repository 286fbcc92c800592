"""Modules imported at start-up but used only later: loaded on first use, not at import.

vn.py's `vnpy.trader.utility` (which `MainEngine` needs) does `import talib`, and TA-Lib's
package imports pandas to accept Series: a quarter of a second before the first window
paints, for indicators nothing uses until a strategy computes one. `defer("talib")` puts a
stand-in in `sys.modules`; `import talib` anywhere returns it, and the first attribute read
(`talib.SMA`) imports the real module, under a lock (the stdlib's `LazyLoader` has none on
Python 3.11, and also loads on the `__spec__` read every later `import` does). The
stand-in then holds the real module's names, so later reads cost what a module's do; code
that compares module objects should use `sys.modules[name]` after `load(name)`.

`warm()` loads them on a background thread once the window is up, so the first indicator
a strategy computes does not wait for pandas.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading
import types
from collections.abc import Iterable

log = logging.getLogger(__name__)

_lock = threading.RLock()
_LOADING_DUNDERS = frozenset({"__all__", "__version__"})    # `from m import *`, versions


class DeferredModule(types.ModuleType):
    """Stands in for a module until one of its attributes is read."""

    def __init__(self, name: str, spec) -> None:
        super().__init__(name)
        self.__spec__ = spec             # what `import` reads of a module it already holds
        self.__loader__ = spec.loader
        self.__file__ = getattr(spec, "origin", None)
        if spec.submodule_search_locations is not None:
            self.__path__ = list(spec.submodule_search_locations)
        self.__real__: types.ModuleType | None = None

    def __getattr__(self, attribute: str):
        # Only for names the stand-in lacks: the first read loads the module; after that,
        # names the module gains later (a submodule imported afterwards) are read from it.
        # Probes of other dunders do not load it: PySide6's import hook inspects every module
        # imported after it (`hasattr(module, "__wrapped__")`, for one).
        real = self.__real__
        if real is None:
            if attribute.startswith("__") and attribute not in _LOADING_DUNDERS:
                raise AttributeError(attribute)
            real = _load(self)
        return getattr(real, attribute)


def _load(stand_in: DeferredModule) -> types.ModuleType:
    name = stand_in.__name__
    with _lock:
        if stand_in.__real__ is not None:
            return stand_in.__real__
        del sys.modules[name]
        try:
            real = importlib.import_module(name)
        except BaseException:
            sys.modules[name] = stand_in
            raise
        # The stand-in takes the real module's names (reads through it cost what a module's
        # do); the real one stays in sys.modules for its submodules and later imports.
        names = {k: v for k, v in real.__dict__.items() if k not in ("__spec__", "__loader__")}
        stand_in.__dict__.update(names)
        stand_in.__real__ = real
        log.debug("deferred module %s loaded", name)
        return real


def defer(name: str) -> bool:
    """Make `import name` cheap until it is used; False when it is already imported or
    cannot be found (then nothing changes)."""
    with _lock:
        if name in sys.modules or "." in name:
            return False
        spec = importlib.util.find_spec(name)
        if spec is None:
            return False
        sys.modules[name] = DeferredModule(name, spec)
        return True


def is_deferred(name: str) -> bool:
    module = sys.modules.get(name)
    return isinstance(module, DeferredModule) and module.__real__ is None


def load(name: str) -> types.ModuleType:
    """The real module, loading it now if it was deferred."""
    module = sys.modules.get(name)
    if isinstance(module, DeferredModule):
        return _load(module)
    return importlib.import_module(name)


def deferred() -> list[str]:
    """Names of the modules still waiting for their first use."""
    return [name for name, module in list(sys.modules.items())
            if isinstance(module, DeferredModule) and module.__real__ is None]


def warm(also: Iterable[str] = ()) -> threading.Thread:
    """On a daemon thread: load every deferred module, then import `also`. Failures are
    logged, never raised; the caller may watch the thread end."""
    names = deferred() + [name for name in also if name not in sys.modules]

    def run() -> None:
        for name in names:
            try:
                load(name)
            except Exception:            # reported, the terminal goes on
                log.exception("loading the module %s failed", name)

    thread = threading.Thread(target=run, name="warm-imports", daemon=True)
    thread.start()
    return thread
