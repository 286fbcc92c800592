"""The real program in a subprocess: smoke mode works, and nothing is written outside the data
directory (not the home folder, not the working directory)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import PROJECT
from tests.helpers.processes import run_terminal

pytestmark = pytest.mark.slow


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
            text=True, timeout=120, check=False,
            env={**env, "HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
                 "PYTHONPATH": str(PROJECT)},
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


# ---------------------------------------------------------------------------- private files
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX's (Windows "
                                "keeps a profile's folders to its user by ACL)")


def modes(root: Path) -> dict[str, int]:
    """Every entry under `root` (itself included) -> its permission bits."""
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode)
            for p in [root, *root.rglob("*")]}


def not_private(root: Path) -> dict[str, str]:
    """Entries that are not a 0700 folder or a 0600 file."""
    found = {}
    for name, mode in modes(root).items():
        wanted = 0o700 if (root / name).is_dir() else 0o600
        if mode != wanted or (root / name).is_symlink():
            found[name] = f"{mode:04o}"
    return found


@posix_only
def test_smoke_run_leaves_the_data_directory_and_its_files_private(tmp_path):
    """Started from a shell with umask 022, the terminal still keeps everything it writes to
    its user: the journal and SQLite's -wal/-shm, logs, layout, the market store, vn.py's own
    settings and log folder, Qt's caches. A data directory an older version left open is
    made private at the next start, which says so once."""
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    result = run_terminal(["--home", str(data), "--smoke", "2"], home, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    written = set(modes(data))
    for name in ("journal.db", "logs/terminal.log", "layout.ini", ".vntrader/vt_setting.json",
                 ".vntrader/log", "market", "cache"):
        assert name in written, sorted(written)
    assert any(name.startswith(".vntrader/log/") for name in written), sorted(written)
    assert not_private(data) == {}
    assert "data directory" not in result.stderr

    for path in [data, *data.rglob("*")]:  # as the versions before this one left it
        path.chmod(0o755 if path.is_dir() else 0o644)
    result = run_terminal(["--home", str(data), "--smoke", "1"], home, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (f"data directory: {data} was open to other users of this machine (mode 0755); "
            "made private: folders 0700, files 0600") in result.stderr
    assert not_private(data) == {}
    log_text = (data / "logs" / "terminal.log").read_text(encoding="utf-8")
    assert log_text.count("made private") == 1
    result = run_terminal(["--home", str(data), "--smoke", "1"], home, tmp_path)
    assert result.returncode == 0 and "data directory" not in result.stderr


@posix_only
def test_an_export_is_an_ordinary_file_and_the_store_stays_private(tmp_path):
    """What the trader asks to be written outside the data directory gets the modes the
    user's umask gives (0644 here), not the store's 0600."""
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    (tmp_path / "cn_fut_SHFE_rb2401_1min.csv").write_text(
        "datetime,open,high,low,close,volume\n"
        "2024-01-02 09:00:00,3900,3910,3890,3905,12\n")
    result = run_terminal(["--home", str(data), "data", "import", "cn_fut_SHFE_rb2401_1min.csv"],
                          home, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_terminal(["--home", str(data), "data", "export", "rb2401.SHFE", "1m",
                           "out.csv"], home, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == 0o644
    assert any(name.endswith(".parquet") for name in modes(data))
    assert not_private(data) == {}
