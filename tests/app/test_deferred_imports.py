"""Modules deferred at start-up load on first use, once, from any thread; the terminal paints
its window without pandas, TA-Lib or sqlite-utils, and loads them after."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from terminal.core import deferred_imports
from tests.helpers import PROJECT

ROOT = PROJECT


@pytest.fixture
def slow_module(tmp_path, monkeypatch):
    """A package `deferme` that counts its executions and takes a while to import."""
    package = tmp_path / "deferme"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent("""
        import time
        import builtins
        builtins.deferme_runs = getattr(builtins, "deferme_runs", 0) + 1
        time.sleep(0.05)
        VALUE = 42
        __all__ = ["VALUE", "double"]

        def double(x):
            return 2 * x
    """))
    (package / "extra.py").write_text("from deferme import VALUE\nTRIPLE = 3 * VALUE\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import builtins
    builtins.deferme_runs = 0
    yield "deferme"
    for name in [n for n in sys.modules if n == "deferme" or n.startswith("deferme.")]:
        del sys.modules[name]


def test_a_deferred_module_loads_on_first_use_only(slow_module):
    import builtins

    assert deferred_imports.defer(slow_module)
    assert not deferred_imports.defer(slow_module)       # already there: nothing changes
    import deferme                                       # cheap: the stand-in
    assert builtins.deferme_runs == 0 and deferred_imports.is_deferred("deferme")
    assert slow_module in deferred_imports.deferred()
    assert deferme.double(4) == 8                        # first use loads it
    assert builtins.deferme_runs == 1 and not deferred_imports.is_deferred("deferme")
    assert deferme.VALUE == 42 and sys.modules["deferme"].VALUE == 42
    from deferme import extra                           # submodules import as usual
    assert extra.TRIPLE == 126 and deferme.extra is extra
    namespace: dict = {}
    exec("from deferme import *", namespace)  # noqa: S102  a star import needs a namespace
    assert namespace["VALUE"] == 42 and "double" in namespace
    assert builtins.deferme_runs == 1


def test_threads_touching_it_at_once_load_it_once(slow_module):
    import builtins

    deferred_imports.defer(slow_module)
    import deferme

    results, start = [], threading.Barrier(8)

    def use() -> None:
        start.wait()
        results.append(deferme.double(deferme.VALUE))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert results == [84] * 8 and builtins.deferme_runs == 1


def test_warm_loads_everything_deferred_and_what_it_is_also_given(slow_module):
    deferred_imports.defer(slow_module)
    thread = deferred_imports.warm(also=("colorsys",))
    thread.join(5)
    assert not thread.is_alive() and not deferred_imports.is_deferred(slow_module)
    assert "colorsys" in sys.modules


def test_a_module_that_fails_to_load_raises_on_use_and_warm_only_logs(tmp_path, monkeypatch,
                                                                      caplog):
    (tmp_path / "brokenmod.py").write_text("raise ImportError('no native library')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert deferred_imports.defer("brokenmod")
        import brokenmod
        with pytest.raises(ImportError, match="no native library"):
            brokenmod.anything  # noqa: B018  reading an attribute is what loads it
        assert deferred_imports.is_deferred("brokenmod")     # still deferred: can retry
        thread = deferred_imports.warm()
        thread.join(5)
        assert not thread.is_alive() and "loading the module brokenmod failed" in caplog.text
    finally:
        sys.modules.pop("brokenmod", None)


def test_the_window_paints_before_pandas_talib_and_sqlite_utils_load(tmp_path):
    """The cold-start gain: none of them is imported when the first paint happens; all are
    loaded soon after, and the docks list the (empty) store."""
    script = textwrap.dedent("""
        import sys
        from terminal.ui import startup_probe

        seen = {}
        original = startup_probe.install

        def install(window):
            from PySide6.QtCore import QEvent, QObject, QTimer
            from terminal.core import deferred_imports

            class Watch(QObject):
                def eventFilter(self, watched, event):
                    if event.type() == QEvent.Type.Paint and "paint" not in seen:
                        seen["paint"] = sorted(n for n in ("pandas", "sqlite_utils", "qasync",
                                                          "pyqtgraph") if n in sys.modules)
                        seen["talib deferred"] = deferred_imports.is_deferred("talib")
                    return False

            watch = Watch(window)
            window.installEventFilter(watch)
            window.first_start = False    # no chart imports pyqtgraph itself: only the warming

            def settled():
                seen["settled"] = (sorted(n for n in ("pandas", "sqlite_utils", "pyqtgraph")
                                          if n in sys.modules),
                                   deferred_imports.is_deferred("talib"),
                                   "import some" in window.widget("replay").message.text())
                print("SEEN", seen, flush=True)
                QTimer.singleShot(0, window.close)

            window.settled.connect(settled)
            return watch

        startup_probe.install = install
        from terminal.app.main import main
        sys.exit(main(["--home", sys.argv[1]]))
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "data")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    line = next((out for out in done.stdout.splitlines() if out.startswith("SEEN")), None)
    assert line is not None, done.stdout[-2000:] + done.stderr[-3000:]
    seen = ast.literal_eval(line[5:])                    # a dict printed by the child
    assert seen["paint"] == [] and seen["talib deferred"] is True
    # pyqtgraph too: the first start's chart opens once settled, and importing it on the GUI
    # thread then stalled the window for 0.4 s.
    assert seen["settled"] == (["pandas", "pyqtgraph", "sqlite_utils"], False, True)
