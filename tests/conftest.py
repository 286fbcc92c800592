"""Test set-up: offscreen Qt, a throw-away home, vn.py bound to a temporary folder, and Qt
tests held to closing what they open.

vn.py chooses its data folder when first imported, so it is prepared here, before any test
module imports it. Each test that starts the terminal gets its own data directory. Test modules
share code through `tests.helpers`, never by importing this file.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

pytest_plugins = ["pytester"]      # tests/test_suite_rules.py runs small suites of its own

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Everything a run writes outside its tests' tmp_path goes in one session folder, removed when
# the run ends; the folder of a run that could not remove it (killed, crashed) is removed by
# the next run, which knows it from the free lock inside.
_SESSION_PREFIX = "terminal-tests-"
_SESSION_ROOT = Path(tempfile.mkdtemp(prefix=_SESSION_PREFIX))
# Anything that still looks for the user's home finds an empty folder of ours instead.
os.environ["HOME"] = str(_SESSION_ROOT / "home")
(_SESSION_ROOT / "home").mkdir()
# The optimiser's Dask workers keep their scratch space there too.
os.environ["DASK_TEMPORARY_DIRECTORY"] = str(_SESSION_ROOT / "dask")

from terminal.core import paths  # noqa: E402
from terminal.core.instance import LOCK_NAME, AlreadyRunning, InstanceLock  # noqa: E402

_SESSION_LOCK = InstanceLock(_SESSION_ROOT)
_SESSION_LOCK.acquire()
_STARTING_SECONDS = 60    # a run's folder younger than this may not hold its lock yet


def _remove_dead_sessions() -> None:
    """Removes the session folders of earlier runs that ended without removing them: a live
    run holds the lock in its folder (the system drops it however the run ends)."""
    for folder in _SESSION_ROOT.parent.glob(_SESSION_PREFIX + "*"):
        try:
            if time.time() - (folder / LOCK_NAME).stat().st_mtime < _STARTING_SECONDS:
                continue
        except OSError:
            continue        # no lock: not a run of this file's making
        lock = InstanceLock(folder)
        try:
            lock.acquire()
        except (AlreadyRunning, OSError):
            continue        # a run still going
        lock.release()
        shutil.rmtree(folder, ignore_errors=True)


_remove_dead_sessions()

_INVOKED_FROM = Path.cwd()
paths.prepare(_SESSION_ROOT / "vnpy-session")
import vnpy.trader.utility  # noqa: E402,F401  binds vn.py to the session folder, then go back

os.chdir(_INVOKED_FROM)

# Property tests (hypothesis) keep no example database and put their caches in the session's
# temporary folder, so nothing lands in the repository or the home. The default profile keeps
# the property suite short on a 2-core machine; HYPOTHESIS_PROFILE=thorough for hand runs.
from hypothesis import settings as hypothesis_settings  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

set_hypothesis_home_dir(_SESSION_ROOT / "hypothesis")
hypothesis_settings.register_profile("quick", database=None, deadline=None, max_examples=40,
                                     print_blob=True)
hypothesis_settings.register_profile("thorough", database=None, deadline=None,
                                     max_examples=1000, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))


def pytest_sessionfinish(session, exitstatus):
    if "terminal.ui.chart.drawing_edits" in sys.modules:    # a drawing copied by a test
        from terminal.ui.chart.drawing_edits import forget_copied_drawing

        forget_copied_drawing()
    _SESSION_LOCK.release()
    shutil.rmtree(_SESSION_ROOT, ignore_errors=True)


# A widget the test handed to qtbot.addWidget carries this property: pytest-qt closes it after
# the test, so it is no leak.
_HANDED_TO_QTBOT = "handedToQtbot"


class _HandingQtBot(QtBot):
    """pytest-qt's bot, marking each widget handed to addWidget, so that the leak check below
    can tell a window the test looked after from one it forgot."""

    def addWidget(self, widget, *, before_close_func=None):
        super().addWidget(widget, before_close_func=before_close_func)
        widget.setProperty(_HANDED_TO_QTBOT, True)


@pytest.fixture
def qtbot(qapp, request):
    return _HandingQtBot(request)


def _windows_left_open() -> list:
    """The visible top-level widgets that nobody handed to qtbot.addWidget."""
    if "PySide6.QtWidgets" not in sys.modules:
        return []
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return []
    app.processEvents()          # a close the test queued (deleteLater, a 0 ms timer) lands first
    return [widget for widget in app.topLevelWidgets()
            if widget.isVisible() and not widget.property(_HANDED_TO_QTBOT)]


def _describe(widget) -> str:
    from PySide6.QtWidgets import QMessageBox

    text = f"{type(widget).__name__} {widget.windowTitle()!r}"
    if isinstance(widget, QMessageBox):
        text += f" saying {widget.text()[:80]!r}"
    return text


def _close_leaks() -> str:
    """Closes the windows left open and names them ('' when there were none)."""
    leaked = _windows_left_open()
    for widget in leaked:
        widget.close()
    if not leaked:
        return ""
    return ("left open (close it, or hand it to qtbot.addWidget): "
            + "; ".join(_describe(widget) for widget in leaked))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test that leaves a window on screen fails, naming it (the window belongs closed, or
    handed to qtbot.addWidget): a window open past its test can paint, or be collected, during
    a later test, far from the one that opened it. The window is closed either way, so one leak
    does not spill into the next test; a test that failed already keeps its own failure."""
    try:
        result = yield
    except BaseException:
        _close_leaks()
        raise
    leaks = _close_leaks()
    if leaks:
        pytest.fail(leaks, pytrace=False)
    return result


@pytest.fixture(autouse=True)
def _qt_leftovers(request):
    """What a Qt test leaves behind goes at the end of that test, not in a later one: deferred
    deletions are carried out and cyclic garbage is collected here, while nothing paints. Left
    to chance, a collection or a leftover view could strike during pytest-qt's event processing
    after a later test, and a pyqtgraph view painting then has crashed the run once (a segfault
    in QGraphicsView::paintEvent, as other projects' suites saw: erlabpy#431). The garbage the
    tests before a Qt test left (pure tests make cycles too) goes before it starts, for the
    same reason: left, a collection could fall in that test's first paint."""
    if "qtbot" in request.fixturenames or "qapp" in request.fixturenames:
        _collect_qt_garbage()
    yield
    # A window a fixture opened and did not close, or one opened while tearing down.
    leaks = _close_leaks()
    if "qtbot" in request.fixturenames or "qapp" in request.fixturenames:
        _collect_qt_garbage()
    if leaks:
        pytest.fail(f"fixtures {leaks}", pytrace=False)


def _collect_qt_garbage() -> None:
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir):
    """A market store in the test's data directory (a test module may define its own)."""
    from terminal.storage.market_store import MarketStore

    market = MarketStore(data_dir / "market")
    yield market
    market.close()


@pytest.fixture
def terminal(qtbot, data_dir):
    """The full terminal (engines, simulator, main window) on a temporary data directory.

    The simulated market stands still (a `ManualClock`): each subscribed contract has the
    book it was connected with, and moves only when the test says (`helpers.next_quotes`),
    so no live quote can race what a test does or checks."""
    from terminal.app.main import start
    from terminal.gateways.sim.clock import ManualClock

    runtime, window = start(data_dir, show=True, sim_clock=ManualClock())
    # Not a first start: its chart would open once the window settles, at a moment the
    # machine's speed sets (tests/ui/test_first_start.py covers it).
    window.first_start = False
    qtbot.addWidget(window)
    yield runtime, window
    window.close()
    runtime.close()
