"""The first-paint probe of the cold-start benchmark: silent unless asked, one line on the
first paint, and the application quits when asked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from terminal.ui import startup_probe
from tests.helpers import PROJECT

LINE = re.compile(r"^first-paint: seconds=(\d+\.\d{3}) pid=(\d+)$", re.MULTILINE)


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "TERMINAL_"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(PROJECT))
    return env


def test_process_age_is_counted_from_the_process_start():
    psutil = pytest.importorskip("psutil")
    age = startup_probe.seconds_since_process_start()
    by_psutil = time.time() - psutil.Process().create_time()
    assert age > 0
    assert abs(age - by_psutil) < 1.5      # psutil's boot time is rounded to the second


def test_does_nothing_unless_the_environment_asks(qtbot, monkeypatch, capsys):
    from PySide6.QtWidgets import QWidget

    monkeypatch.delenv(startup_probe.REPORT_ENV, raising=False)
    window = QWidget()
    qtbot.addWidget(window)
    assert startup_probe.install(window) is None
    window.show()
    qtbot.waitExposed(window)
    window.repaint()
    assert startup_probe.LINE_PREFIX not in capsys.readouterr().out


def test_reports_the_first_paint_once(qtbot, monkeypatch, capsys):
    from PySide6.QtWidgets import QWidget

    monkeypatch.setenv(startup_probe.REPORT_ENV, "1")
    monkeypatch.delenv(startup_probe.QUIT_ENV, raising=False)
    window = QWidget()
    qtbot.addWidget(window)
    probe = startup_probe.install(window)
    assert probe is not None
    window.show()
    qtbot.waitUntil(lambda: probe.reported, timeout=5000)
    window.repaint()
    lines = LINE.findall(capsys.readouterr().out)
    assert len(lines) == 1
    seconds, pid = lines[0]
    assert float(seconds) > 0 and int(pid) == os.getpid()


def test_prints_its_line_and_quits_the_application(tmp_path):
    script = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMainWindow
        from terminal.ui import startup_probe

        app = QApplication(sys.argv[:1])
        window = QMainWindow()
        startup_probe.install(window)
        window.show()
        QTimer.singleShot(10_000, lambda: app.exit(3))     # not quit by the probe
        sys.exit(app.exec())
    """)
    env = clean_env(tmp_path)
    env.update({startup_probe.REPORT_ENV: "1", startup_probe.QUIT_ENV: "1"})
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    found = LINE.findall(result.stdout)
    assert len(found) == 1, result.stdout
    assert 0 < float(found[0][0]) < 30


@pytest.mark.slow
def test_the_terminal_reports_its_first_paint_and_quits(tmp_path):
    env = clean_env(tmp_path / "home")
    (tmp_path / "home").mkdir()
    env.update({startup_probe.REPORT_ENV: "1", startup_probe.QUIT_ENV: "1"})
    result = subprocess.run([sys.executable, "-m", "terminal", "--home", str(tmp_path / "data")],
                            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(LINE.findall(result.stdout)) == 1, result.stdout
    assert list((tmp_path / "home").iterdir()) == []
