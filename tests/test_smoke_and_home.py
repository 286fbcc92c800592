"""The real program in a subprocess: smoke mode works, and nothing is written outside the data
directory (not the home folder, not the working directory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run_terminal(args, home: Path, cwd: Path, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "TERMINAL_"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(Path(__file__).parents[1]))
    return subprocess.run(
        [sys.executable, "-m", "terminal", *args], cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout,
    )


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_smoke_mode_trades_and_writes_only_inside_the_data_directory(tmp_path):
    home, cwd, data = tmp_path / "home", tmp_path / "cwd", tmp_path / "data"
    home.mkdir()
    cwd.mkdir()
    result = run_terminal(["--home", str(data), "--smoke", "2"], home, cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith("smoke: ok") and "fills 1" in lines[0] and "orders 1" in lines[0]
    assert files_under(home) == []
    assert files_under(cwd) == []
    assert (data / ".vntrader" / "vt_setting.json").exists()
    assert (data / "logs" / "terminal.log").exists()
    assert not (home / ".vntrader").exists()


def test_terminal_home_environment_variable_is_used(tmp_path):
    home, data = tmp_path / "home", tmp_path / "env-data"
    home.mkdir()
    env_args = ["--smoke", "1"]
    os.environ["TERMINAL_HOME"] = str(data)
    try:
        env = {**os.environ}
        result = subprocess.run(
            [sys.executable, "-m", "terminal", *env_args], cwd=tmp_path, capture_output=True,
            text=True, timeout=120,
            env={**env, "HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
                 "PYTHONPATH": str(Path(__file__).parents[1])},
        )
    finally:
        del os.environ["TERMINAL_HOME"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert (data / ".vntrader").is_dir()
    assert files_under(home) == []


def test_smoke_fails_with_a_reason_when_no_quotes_arrive(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text('{"watchlist": ["nosuch.SHFE"]}')
    home = tmp_path / "home"
    home.mkdir()
    result = run_terminal(["--home", str(data), "--smoke", "0.5"], home, tmp_path, timeout=120)
    assert result.returncode != 0
    assert "smoke: FAILED: no quotes reached the market watch" in result.stdout
