"""Data directory choice and the settings file's fallbacks."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from terminal.core import paths, privacy, settings


def test_home_flag_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "env"))
    assert paths.resolve_root(str(tmp_path / "flag")) == (tmp_path / "flag").resolve()
    assert paths.resolve_root(None) == (tmp_path / "env").resolve()
    monkeypatch.delenv(paths.HOME_ENV)
    assert paths.resolve_root(None) == paths.default_root()


def test_prepare_keeps_vnpy_inside_the_data_directory(tmp_path):
    data = paths.prepare(tmp_path / "d")
    from vnpy.trader import utility

    assert data.vnpy_dir == utility.TEMP_DIR
    saved = json.loads((data.vnpy_dir / "vt_setting.json").read_text())
    assert saved["log.console"] is False


def test_bad_values_are_named_and_replaced_by_defaults(tmp_path):
    file = tmp_path / "settings.json"
    file.write_text(json.dumps({"sim_quote_rate": -3, "frame_ms": "x", "watchlist": ["a.SHFE"],
                                "bogus": 1}))
    loaded, warnings = settings.load(file)
    assert loaded.sim_quote_rate == 2.0 and loaded.frame_ms == 16
    assert loaded.watchlist == ["a.SHFE"]
    text = "\n".join(warnings)
    assert "sim_quote_rate: -3" in text and "frame_ms: expected a number" in text
    assert "bogus: unknown setting" in text


def test_switches_take_only_true_or_false(tmp_path):
    file = tmp_path / "settings.json"
    file.write_text(json.dumps({"record_market_data": 0, "record_simulator": True}))
    loaded, warnings = settings.load(file)
    assert loaded.record_market_data is True and loaded.record_simulator is True
    assert len(warnings) == 1 and "record_market_data: expected true or false, got 0" in warnings[0]


def test_corrupt_file_is_kept_aside_and_defaults_used(tmp_path):
    file = tmp_path / "settings.json"
    file.write_text("{not json")
    loaded, warnings = settings.load(file)
    assert loaded == settings.Settings()
    assert not file.exists()
    aside = list(tmp_path.glob("settings.json.broken-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert "unreadable" in warnings[0]


# ---------------------------------------------------------------------------- private files
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX's (Windows "
                                "keeps a profile's folders to its user by ACL)")


def modes(root: Path) -> dict[str, int]:
    """Every entry under `root` (not followed through links) -> its permission bits."""
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode)
            for p in [root, *root.rglob("*")] if not p.is_symlink()}


def open_to_others(root: Path) -> dict[str, int]:
    return {name: mode for name, mode in modes(root).items() if mode & 0o077}


def old_data_directory(root: Path) -> None:
    """A data directory as the versions before this one left it: 0755 folders, 0644 files."""
    for folder in (".vntrader/log", "logs", "cache", "market/bars/SHFE/rb2401/1m"):
        (root / folder).mkdir(parents=True)
    for name in ("journal.db", "journal.db-wal", "connections.json", "logs/terminal.log",
                 ".vntrader/vt_setting.json", "market/bars/SHFE/rb2401/1m/part-1.parquet"):
        (root / name).write_text("x")
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@posix_only
def test_an_older_data_directory_is_made_private_once(tmp_path):
    root = tmp_path / "data"
    old_data_directory(root)
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("x")
    outside.chmod(0o644)
    (root / "link.csv").symlink_to(outside)  # a link is not followed out of the folder
    notes = privacy.secure(root, created=False)
    assert notes == [(f"{root} was open to other users of this machine (mode 0755); made "
                      "private: folders 0700, files 0600 (16 changed)")]  # 10 folders, 6 files
    assert open_to_others(root) == {}
    assert {mode for name, mode in modes(root).items() if (root / name).is_dir()} == {0o700}
    assert {mode for name, mode in modes(root).items() if (root / name).is_file()} == {0o600}
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
    assert privacy.secure(root, created=False) == []  # private now: not walked again


@posix_only
def test_a_shared_folder_of_other_files_is_refused_and_left_as_it_was(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "notes.txt").write_text("mine")
    (shared / "notes.txt").chmod(0o644)
    shared.chmod(0o755)
    before = modes(shared)
    with pytest.raises(paths.DataDirError) as refused:
        paths.prepare(shared)
    assert str(refused.value) == (
        f"{shared} is open to other users of this machine (mode 0755) and holds files that "
        "are not the terminal's; the data directory must be private. Choose a new or empty "
        f"folder (e.g. {shared / 'trading-terminal'}), or make this one private yourself "
        f"(chmod 700 {shared})")
    assert modes(shared) == before and sorted(p.name for p in shared.iterdir()) == ["notes.txt"]
    # the same folder made private by its owner is used as it is, its files untouched
    shared.chmod(0o700)
    assert privacy.secure(shared, created=False) == []
    assert stat.S_IMODE((shared / "notes.txt").stat().st_mode) == 0o644


def write_in(report, folder: str) -> int:
    """A worker's job: write a file into `folder`, return its mode."""
    path = Path(folder) / "from-a-worker.txt"
    path.write_text("x")
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
def test_what_the_process_and_its_spawned_workers_write_is_private(tmp_path):
    """The test session prepared its data directory (conftest), as the terminal does: from
    then on the process's files are 0600 and its folders 0700, SQLite's and spawned
    workers' included; an export is handed back with the user's usual modes."""
    import sqlite3

    from terminal.backtest.pool import BacktestPool

    folder = tmp_path / "made"
    folder.mkdir()
    (folder / "plain.txt").write_text("x")
    with sqlite3.connect(folder / "journal.db") as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        assert (folder / "journal.db-wal").exists()
        pool = BacktestPool(max_workers=1, context="spawn")
        try:
            handle = pool.submit((__name__, "write_in", {"folder": str(folder)}))
            assert handle.result(timeout=60) == 0o600
        finally:
            pool.close()
        assert open_to_others(folder) == {}
    export = tmp_path / "rb2401.csv"
    export.write_text("x")
    privacy.hand_to_user(export)
    assert stat.S_IMODE(export.stat().st_mode) == 0o666 & ~privacy.user_umask()


@posix_only
def test_a_folder_whose_modes_cannot_change_is_said_to_be_open(tmp_path, monkeypatch):
    """A FAT stick or a share that ignores chmod, or entries owned by someone else: the
    terminal says it could not make the folder private, instead of claiming it did."""
    root = tmp_path / "data"
    old_data_directory(root)

    def refused(path, mode, **_):
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(privacy.os, "chmod", refused)
    assert privacy.secure(root, created=False) == [
        (f"{root} was open to other users of this machine (mode 0755) and could not be made "
         "private (its file system or its owner does not let its mode change): they may read "
         "the journal, the logs and the connection profiles; move the data directory (--home) "
         "to a private folder"),
        f"could not make 16 entries private, e.g. {root}: Operation not permitted"]
