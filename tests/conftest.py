"""Test set-up: offscreen Qt, a throw-away home, and vn.py bound to a temporary folder.

vn.py chooses its data folder when first imported, so it is prepared here, before any test
module imports it. Each test that starts the terminal gets its own data directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_SESSION_ROOT = Path(tempfile.mkdtemp(prefix="terminal-tests-"))
# Anything that still looks for the user's home finds an empty folder of ours instead.
os.environ["HOME"] = str(_SESSION_ROOT / "home")
(_SESSION_ROOT / "home").mkdir()

from terminal.core import paths  # noqa: E402

_INVOKED_FROM = Path.cwd()
VNPY_SESSION_PATHS = paths.prepare(_SESSION_ROOT / "vnpy-session")
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
    shutil.rmtree(_SESSION_ROOT, ignore_errors=True)


@pytest.fixture(autouse=True)
def _qt_leftovers(request):
    """What a Qt test leaves behind goes at the end of that test, not in a later one: windows
    still on screen (a message box, a wizard, a dialog) are closed, deferred deletions are
    carried out and cyclic garbage is collected here, while nothing paints. Left to chance,
    a collection or a leftover view could strike during pytest-qt's event processing after a
    later test, and a pyqtgraph view painting then has crashed the run once (a segfault in
    QGraphicsView::paintEvent, as other projects' suites saw: erlabpy#431)."""
    yield
    if "qtbot" not in request.fixturenames:
        return
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    for widget in app.topLevelWidgets():
        if widget.isVisible():
            widget.close()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def terminal(qtbot, data_dir):
    """The full terminal (engines, simulator, main window) on a temporary data directory.

    The simulated market stands still (a `ManualClock`): each subscribed contract has the
    book it was connected with, and moves only when the test says (`helpers.next_quotes`),
    so no live quote can race what a test does or checks."""
    from terminal.app.main import start
    from terminal.gateways.sim.clock import ManualClock

    runtime, window = start(data_dir, show=True, sim_clock=ManualClock())
    qtbot.addWidget(window)
    yield runtime, window
    window.close()
    runtime.close()
