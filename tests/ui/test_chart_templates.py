"""Chart templates in the whole terminal: saved from a chart's Indicators menu, applied to
another chart (replacing its indicators and setting its volume profile), the default put on
new charts but not on charts a layout brings back, and a damaged templates file reported in
the Alerts dock."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMenu

from tests.helpers.gui import RB, WAIT

CU = "cu2701.SHFE"
TREND = [{"kind": "MA", "params": {"n": 10}},
         {"kind": "MACD", "params": {"fast": 5, "slow": 30, "signal": 4}}]


def open_chart(qtbot, window, symbol=RB):
    chart = window.open_chart(symbol, "5m")
    qtbot.waitUntil(lambda: not chart.loading and chart.vt_symbol == symbol, timeout=WAIT)
    return chart


def shown(chart) -> list[dict]:
    return chart.state()["indicators"]


def texts(menu: QMenu) -> list[str]:
    return [action.text() for action in menu.actions() if action.text()]


def submenu(menu: QMenu, title: str) -> QMenu:
    return next(a.menu() for a in menu.actions() if a.text() == title and a.menu())


def test_a_template_is_saved_applied_and_opens_new_charts(qtbot, terminal, tmp_path):
    runtime, window = terminal
    first = open_chart(qtbot, window)
    assert shown(first) == []                     # no default template yet
    first.add_indicator("MA", {"n": 10})
    first.reconfigure(first.add_indicator("MACD"), {"fast": 5, "slow": 30, "signal": 4})
    first.indicator_menu.aboutToShow.emit()       # the menu as the trader opens it
    templates = submenu(first.indicator_menu, "&Templates")
    assert texts(templates) == ["&Save as…", "&Apply", "Set as &default", "&Delete"]
    assert templates is first.templates_menu
    assert not templates.apply_menu.isEnabled()
    assert templates.save("Trend")
    assert "Template 'Trend' saved" in window.statusBar().currentMessage()
    assert runtime.kernel.paths.chart_templates_file.exists()

    second = open_chart(qtbot, window, CU)
    second.add_indicator("RSI", {"n": 7})
    second.templates_menu.aboutToShow.emit()
    assert texts(second.templates_menu.apply_menu) == ["Trend"]
    second.templates_menu.apply_menu.actions()[0].trigger()        # Apply ▸ Trend
    assert shown(second) == TREND and len(second.chart.panes) == 3  # RSI's pane is gone
    assert second.vt_symbol == CU and shown(first) == TREND

    # Set as default ▸ Trend: a new chart opens with it; None ▸ again without.
    marks = second.templates_menu.default_menu
    assert [a.isChecked() for a in marks.actions()] == [True, False]
    marks.actions()[1].trigger()
    assert window.chart_docks.templates.default == "Trend"
    third = open_chart(qtbot, window)
    assert shown(third) == TREND
    third.chart.remove_indicator(third.chart.indicators[0])
    assert shown(third) == TREND[1:]

    # A restored layout keeps each chart's own indicators, whatever the default.
    saved = QSettings(str(tmp_path / "saved.ini"), QSettings.Format.IniFormat)
    first.chart.remove_indicator(first.chart.indicators[1])
    first.chart.remove_indicator(first.chart.indicators[0])
    window.save_layout(saved)
    window.restore_layout(saved, replace_charts=True)
    charts = window.chart_docks.charts
    assert [shown(charts[name]) for name in ("chart_1", "chart_2", "chart_3")] == [
        [], TREND, TREND[1:]]

    charts["chart_1"].templates_menu.aboutToShow.emit()
    charts["chart_1"].templates_menu.default_menu.actions()[0].trigger()   # None
    assert window.chart_docks.templates.default is None
    assert shown(open_chart(qtbot, window)) == []
    charts["chart_1"].templates_menu.delete("trend")
    assert window.chart_docks.templates.names() == []


def test_refusals_are_said_and_nothing_changes(qtbot, terminal):
    runtime, window = terminal
    chart = open_chart(qtbot, window)
    chart.add_indicator("EMA", {"n": 8})
    menu = chart.templates_menu
    assert not menu.save("a/b")
    assert menu.error_box.isVisible() and "may not contain /" in menu.error_box.text()
    menu.error_box.close()
    assert not menu.apply("Nothing") and "no chart template named" in menu.error_box.text()
    menu.error_box.close()
    assert shown(chart) == [{"kind": "EMA", "params": {"n": 8}}]
    assert not runtime.kernel.paths.chart_templates_file.exists()


def test_a_damaged_templates_file_is_kept_aside_and_reported(qtbot, data_dir):
    from terminal.app.main import start

    data_dir.mkdir(parents=True)
    (data_dir / "chart_templates.json").write_text('{"version": 1, "templates": '
                                                   '[{"name": "A", "indicators": "MA"}]}')
    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    try:
        problem = window.chart_docks.templates.problem
        assert "template 'A': the indicators must be a list" in problem
        assert list(data_dir.glob("chart_templates.json.broken-*"))
        qtbot.waitUntil(lambda: any(a.rule == "chart_templates" and a.message == problem
                                    for a in window.alerts.model.records()), timeout=WAIT)
        chart = open_chart(qtbot, window)
        assert shown(chart) == []
    finally:
        window.close()
        runtime.close()


@pytest.fixture
def first_format_file(data_dir):
    """A templates file written before templates kept the volume profile."""
    data_dir.mkdir(parents=True)
    (data_dir / "chart_templates.json").write_text(json.dumps(
        {"version": 1, "default": None,
         "templates": [{"name": "Old", "indicators": [{"kind": "MA", "params": {"n": 10}}]}]}))


def profile_of(chart) -> tuple:
    return chart.profile.mode, chart.profile.ticks_per_row, chart.profile.item.isVisible()


def test_a_template_keeps_the_volume_profile_and_applying_one_sets_it(
        qtbot, first_format_file, terminal):
    runtime, window = terminal
    first = open_chart(qtbot, window)
    first.add_indicator("EMA", {"n": 8})
    first.profile.set_row_ticks(4)
    first.profile.set_mode("session")
    assert first.templates_menu.save("Auction")

    second = open_chart(qtbot, window, CU)
    assert profile_of(second) == ("off", None, False)
    second.templates_menu.aboutToShow.emit()
    assert texts(second.templates_menu.apply_menu) == ["Auction", "Old"]
    second.templates_menu.apply_menu.actions()[0].trigger()          # Apply ▸ Auction
    assert profile_of(second) == ("session", 4, True)
    assert shown(second) == [{"kind": "EMA", "params": {"n": 8}}]
    assert second.state()["volume_profile"] == {"mode": "session", "ticks_per_row": 4}

    # A template of the first format holds no profile: applying it turns the profile off.
    second.templates_menu.apply_menu.actions()[1].trigger()          # Apply ▸ Old
    assert profile_of(second) == ("off", None, False)
    assert shown(second) == [{"kind": "MA", "params": {"n": 10}}]

    # The default template's profile is on every new chart.
    second.templates_menu.set_default("Auction")
    assert profile_of(open_chart(qtbot, window)) == ("session", 4, True)
    kept = json.loads(runtime.kernel.paths.chart_templates_file.read_text())
    assert kept["version"] == 2 and [t["volume_profile"] for t in kept["templates"]] == [
        {"mode": "session", "ticks_per_row": 4}, {"mode": "off", "ticks_per_row": None}]
