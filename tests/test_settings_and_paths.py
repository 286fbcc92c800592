"""Data directory choice and the settings file's fallbacks."""

from __future__ import annotations

import json

from terminal.core import paths, settings


def test_home_flag_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "env"))
    assert paths.resolve_root(str(tmp_path / "flag")) == (tmp_path / "flag").resolve()
    assert paths.resolve_root(None) == (tmp_path / "env").resolve()
    monkeypatch.delenv(paths.HOME_ENV)
    assert paths.resolve_root(None) == paths.default_root()


def test_prepare_keeps_vnpy_inside_the_data_directory(tmp_path):
    data = paths.prepare(tmp_path / "d")
    import vnpy.trader.utility as utility

    assert utility.TEMP_DIR == data.vnpy_dir
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
