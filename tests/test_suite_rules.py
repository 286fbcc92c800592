"""Rules the test suite keeps (tests/conftest.py): test modules share code only through
tests.helpers, a test that leaves a window open fails naming it, and a run leaves no session
folder behind."""

from __future__ import annotations

import ast
import os
import time
from pathlib import Path

from tests.helpers import PROJECT

TESTS = PROJECT / "tests"


def imported_modules(path: Path, root: Path = PROJECT) -> list[str]:
    """The absolute names of the modules `path` (in the project at `root`) imports, relative
    imports resolved."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def reaches_into_tests(name: str) -> bool:
    """A test module or a conftest: what no test module imports."""
    parts = name.split(".")
    return parts[0] == "tests" and any(part == "conftest" or part.startswith("test_")
                                       for part in parts[1:])


def test_test_modules_share_code_only_through_helpers():
    offences = [f"{path.relative_to(PROJECT)} imports {name}"
                for path in sorted(TESTS.rglob("*.py"))
                for name in imported_modules(path) if reaches_into_tests(name)]
    assert offences == []


def test_the_import_rule_sees_relative_and_absolute_imports(tmp_path):
    module = tmp_path / "tests" / "ui" / "test_example.py"
    module.parent.mkdir(parents=True)
    module.write_text("from . import test_chart\nfrom ..conftest import qtbot\n"
                      "import tests.market.test_ticket\nfrom tests.helpers.gui import RB\n",
                      encoding="utf-8")
    names = [name for name in imported_modules(module, tmp_path) if reaches_into_tests(name)]
    assert names == ["tests.ui.test_chart", "tests.conftest", "tests.conftest.qtbot",
                     "tests.market.test_ticket"]


LEAKING_SUITE = '''
import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

OK = QMessageBox.StandardButton.Ok
KEPT = []      # what holds a window past its test (a fixture, a cache) in the real suite


def main_window(qtbot):
    window = QWidget()
    window.setWindowTitle("Trading terminal")
    qtbot.addWidget(window)
    window.show()
    KEPT.append(window)
    return window


def test_forgets_a_message_box(qtbot):
    window = main_window(qtbot)
    QMessageBox(QMessageBox.Icon.Warning, "Order not sent", "price outside the limits", OK,
                window).show()


def test_after_a_leak_the_screen_is_clear(qtbot):
    assert [w for w in QApplication.topLevelWidgets() if w.isVisible()] == []


def test_hands_its_window_to_qtbot(qtbot):
    main_window(qtbot)


def test_closes_its_message_box(qtbot):
    window = main_window(qtbot)
    box = QMessageBox(QMessageBox.Icon.Warning, "Order not sent", "no contract", OK, window)
    box.show()
    box.close()


def test_fails_on_its_own_and_leaks(qtbot):
    window = main_window(qtbot)
    QMessageBox(QMessageBox.Icon.Critical, "Problems at start", "journal damaged", OK,
                window).show()
    assert False, "the test's own failure"


@pytest.fixture
def open_dialog(qtbot):
    dialog = QWidget()
    dialog.setWindowTitle("Connect CTP")
    dialog.show()
    KEPT.append(dialog)


def test_with_a_fixture_that_leaks(open_dialog):
    pass


@pytest.fixture
def box_on_the_way_out(qtbot):
    yield
    box = QMessageBox(QMessageBox.Icon.Question, "Save workspace?", "unsaved layout")
    box.show()
    KEPT.append(box)


def test_with_a_fixture_that_leaks_in_its_teardown(box_on_the_way_out):
    pass
'''


def test_a_test_that_leaves_a_window_open_fails_naming_it(pytester):
    pytester.makeconftest((TESTS / "conftest.py").read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nqt_api = pyside6\n")
    pytester.makepyfile(test_leaks=LEAKING_SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # a test's own failure stays its failure; a window from a fixture's teardown errors there
    result.assert_outcomes(passed=4, failed=3, errors=1)
    left_open = "left open (close it, or hand it to qtbot.addWidget): "
    result.stdout.fnmatch_lines([
        "*_ ERROR at teardown of test_with_a_fixture_that_leaks_in_its_teardown _*",
        f"fixtures {left_open}QMessageBox 'Save workspace?' saying 'unsaved layout'",
        "*_ test_forgets_a_message_box _*",
        f"{left_open}QMessageBox 'Order not sent' saying 'price outside the limits'",
        "*_ test_fails_on_its_own_and_leaks _*",
        "E       AssertionError: the test's own failure",
        "*_ test_with_a_fixture_that_leaks _*",
        f"{left_open}QWidget 'Connect CTP'",
    ])
    result.stdout.no_fnmatch_line("*left open*Problems at start*")


def test_a_run_leaves_no_session_folder_and_removes_those_of_killed_runs(pytester, monkeypatch):
    from terminal.core.instance import LOCK_NAME, InstanceLock

    temp = pytester.mkdir("temp")
    monkeypatch.setenv("TMPDIR", str(temp))            # where the run makes its session folder
    killed, running, foreign = (temp / f"terminal-tests-{name}"
                                for name in ("killed", "running", "foreign"))
    for folder in (killed, running, foreign):
        (folder / "home").mkdir(parents=True)
    (killed / LOCK_NAME).write_text("")                # its run ended without removing it
    os.utime(killed / LOCK_NAME, (time.time() - 3600, time.time() - 3600))
    held = InstanceLock(running)                       # a run still going
    held.acquire()
    os.utime(running / LOCK_NAME, (time.time() - 3600, time.time() - 3600))
    pytester.makeconftest((TESTS / "conftest.py").read_text(encoding="utf-8"))
    pytester.makeini("[pytest]\nqt_api = pyside6\n")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    try:
        pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    finally:
        held.release()
    # foreign: no lock, so not known to be a session folder of a dead run
    assert sorted(path.name for path in temp.iterdir()) == ["terminal-tests-foreign",
                                                            "terminal-tests-running"]
