"""The settings and risk dialogs build their labels, choices and tooltips (help, range,
default) from the settings files' one description, and check values with it: a range changed
there is the range the dialog shows and enforces."""

from __future__ import annotations

import dataclasses

from terminal.core import settings as settings_file
from terminal.core.settings import Settings
from terminal.risk import limits


def settings_dialog(qtbot, tmp_path):
    from terminal.ui.dialogs.settings import SettingsDialog

    dialog = SettingsDialog(Settings(), tmp_path / "settings.json")
    qtbot.addWidget(dialog)
    return dialog


def test_the_settings_dialog_shows_each_fields_description(qtbot, tmp_path):
    from PySide6.QtWidgets import QComboBox, QLabel

    dialog = settings_dialog(qtbot, tmp_path)
    labels = {label.text() for label in dialog.findChildren(QLabel)}
    for name, editor in dialog.editors.items():
        spec = settings_file.SPECS[name]
        assert editor.toolTip() == spec.tooltip(), name
        if spec.numeric:
            assert editor.placeholderText() == (f"{spec.range_text()}, default "
                                                f"{spec.default_text()}"), name
        assert (f"{spec.label} ({spec.unit})" if spec.unit else spec.label) in labels, name
        assert any(text.startswith(spec.help) for text in labels), name
    theme = dialog.editors["theme"]
    assert isinstance(theme, QComboBox)
    assert [theme.itemData(i) for i in range(theme.count())] == \
        list(settings_file.SPECS["theme"].choices)


def test_a_range_changed_in_the_description_is_the_one_the_settings_dialog_enforces(
        qtbot, tmp_path, monkeypatch):
    frame = settings_file.SPECS["frame_ms"]
    monkeypatch.setitem(settings_file.SPECS, "frame_ms", dataclasses.replace(frame, high=500))
    monkeypatch.setitem(settings_file.SPECS, "theme", dataclasses.replace(
        settings_file.SPECS["theme"], choices=("light", "dark"), default="light"))
    dialog = settings_dialog(qtbot, tmp_path)
    assert "1..500" in dialog.editors["frame_ms"].toolTip()
    assert "1..500" in dialog.editors["frame_ms"].placeholderText()
    assert dialog.editors["theme"].itemData(0) == "light"
    dialog.set_text("frame_ms", "600")
    parsed, problems = dialog.problems()
    assert parsed is None and problems["frame_ms"] == \
        "GUI frame (frame_ms): 600 is outside 1..500"
    dialog.set_text("frame_ms", "400")
    parsed, problems = dialog.problems()
    assert problems == {} and parsed.frame_ms == 400


def test_the_risk_dialog_shows_each_limits_and_monitors_description(qtbot, terminal):
    _, window = terminal
    dialog = window.open_risk_settings()
    dialog.add_symbol("rb2701.SHFE")
    for row, name in enumerate(limits.LIMIT_NAMES):
        spec = limits.LIMIT_SPECS[name]
        header = dialog.table.verticalHeaderItem(row)
        assert header.text() == f"{spec.label} ({spec.unit})"
        assert header.toolTip() == spec.tooltip()
        assert dialog.cell(name, 0).toolTip() == dialog.cell(name, 1).toolTip() == spec.tooltip()
    assert list(dialog.monitor_edits) == list(limits.MONITOR_SPECS)
    for name, edit in dialog.monitor_edits.items():
        assert edit.toolTip() == limits.MONITOR_SPECS[name].tooltip()
    dialog.reject()


def test_a_range_changed_in_the_description_is_the_one_the_risk_dialog_enforces(
        qtbot, terminal, monkeypatch):
    runtime, window = terminal
    volume = limits.LIMIT_SPECS["max_order_volume"]
    monkeypatch.setitem(limits.LIMIT_SPECS, "max_order_volume",
                        dataclasses.replace(volume, high=60))
    dialog = window.open_risk_settings()
    assert "0..60" in dialog.cell("max_order_volume").toolTip()
    dialog.cell("max_order_volume").setText("61")
    dialog.accept()
    assert dialog.isVisible() and "global.max_order_volume: 61 is outside 0..60 (0 is off)" \
        in dialog.errors.text()
    assert runtime.risk.config.global_limits.max_order_volume == 50         # nothing applied
    dialog.cell("max_order_volume").setText("60")
    dialog.accept()
    assert not dialog.isVisible()
    assert runtime.risk.config.global_limits.max_order_volume == 60


def test_the_risk_dialog_saves_back_exactly_the_limits_it_was_shown(qtbot, terminal):
    """OK on an untouched dialog changes nothing: a limit shown rounded (1.23457e+06 for
    1,234,567) would be saved back rounded, a looser limit the trader never asked for."""
    runtime, window = terminal
    config = runtime.risk.config
    precise = dataclasses.replace(
        config,
        global_limits=dataclasses.replace(config.global_limits, max_order_notional=1234567.0,
                                          max_funds_share=0.123456789, price_band=0.0123456),
        monitors=dataclasses.replace(config.monitors, daily_loss=98765.4321))
    runtime.risk.apply(precise, reviewed="")
    dialog = window.open_risk_settings()
    dialog.accept()
    assert not dialog.isVisible()
    assert runtime.risk.config.global_limits == precise.global_limits
    assert runtime.risk.config.monitors == precise.monitors
