"""The order templates dialog from the Trading menu and the chart's order menu: a template is
made, edited, renamed, marked as the default and deleted; a value it refuses is named, its
field marked, and nothing is saved."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu

from terminal.orders import BracketTemplate, Target
from terminal.ui.colours import ERROR_FIELD_STYLE
from terminal.ui.dialogs.order_templates import TRAIL_ATR, TRAIL_TICKS, OrderTemplatesDialog
from tests.helpers.gui import WAIT


def trading_menu_action(window, text: str):
    bar_actions = window.menuBar().actions()      # held: the menus' wrappers go with them
    trading = next(a for a in bar_actions if a.text() == "&Trading").menu()
    return next(a for a in trading.actions() if a.text().replace("&", "") == text)


def fill(dialog: OrderTemplatesDialog, name: str, stop: int,
         targets: list[tuple[int, int]]) -> None:
    dialog.new()
    dialog.name_edit.setText(name)
    dialog.stop_box.setValue(stop)
    for index, (ticks, lots) in enumerate(dialog.target_boxes):
        ticks.setValue(targets[index][0] if index < len(targets) else 0)
        lots.setValue(targets[index][1] if index < len(targets) else 0)


def test_templates_are_made_edited_and_deleted_from_the_trading_menu(qtbot, terminal):
    runtime, window = terminal
    templates = runtime.order_templates
    trading_menu_action(window, "Order templates…").trigger()
    dialog = window.order_templates_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT)
    assert dialog.templates is templates

    fill(dialog, "Scalp", 8, [(10, 1), (20, 1)])
    dialog.breakeven_after_box.setValue(6)
    dialog.breakeven_offset_box.setValue(1)
    dialog.trail_kind.setCurrentText(TRAIL_TICKS)
    dialog.trail_ticks_box.setValue(12)
    dialog.stop_limit_check.setChecked(True)
    dialog.stop_limit_box.setValue(2)
    dialog.default_check.setChecked(True)
    assert dialog.save(), dialog.error.text()
    assert templates.get("scalp") == BracketTemplate(
        name="Scalp", stop_ticks=8, targets=(Target(10, 1), Target(20, 1)), breakeven_after=6,
        breakeven_offset=1, trail_ticks=12, stop_limit_ticks=2)
    assert templates.default == "Scalp"
    saved = json.loads(templates.path.read_text())
    assert [t["name"] for t in saved["templates"]] == ["Scalp"]

    # A second one trailing by ATR; then the first renamed, keeping its settings.
    fill(dialog, "Swing", 30, [(60, 1)])
    dialog.trail_kind.setCurrentText(TRAIL_ATR)
    dialog.trail_atr_box.setValue(2.5)
    dialog.atr_period_box.setValue(20)
    assert dialog.save(), dialog.error.text()
    assert templates.get("Swing").trail_atr == 2.5 and templates.get("Swing").atr_period == 20
    assert templates.default == "Scalp"                    # not ticked for Swing
    dialog.names.setCurrentItem(dialog.names.findItems("Scalp", Qt.MatchFlag.MatchExactly)[0])
    assert dialog.stop_box.value() == 8 and dialog.trail_ticks_box.value() == 12
    dialog.name_edit.setText("Scalp 2")
    assert dialog.save()
    assert sorted(templates.names()) == ["Scalp 2", "Swing"]
    assert templates.get("Scalp 2").targets == (Target(10, 1), Target(20, 1))

    dialog.names.setCurrentItem(dialog.names.findItems("Swing", Qt.MatchFlag.MatchExactly)[0])
    dialog.delete()
    assert templates.names() == ["Scalp 2"]
    dialog.close()


def test_a_refused_value_is_named_and_nothing_is_saved(qtbot, terminal):
    runtime, window = terminal
    templates = runtime.order_templates
    dialog = OrderTemplatesDialog(templates, window)
    qtbot.addWidget(dialog)

    cases = [
        (lambda: fill(dialog, "", 8, [(10, 1)]), "needs a name", dialog.name_edit),
        (lambda: fill(dialog, "a/b", 8, [(10, 1)]), "may not contain", dialog.name_edit),
        (lambda: fill(dialog, "T", 8, [(20, 1), (10, 1)]), "further and further",
         dialog.target_boxes[1][0]),
        (lambda: fill(dialog, "T", 8, [(10, 0)]), "target 1 lots", dialog.target_boxes[0][1]),
        (lambda: fill(dialog, "T", 8, [(0, 2)]), "Target 1: 2 lots need a distance",
         dialog.target_boxes[0][0]),
        (lambda: fill(dialog, "T", 8, [(10, 1), (0, 0), (30, 1)]), "fill target 2 first",
         dialog.target_boxes[2][0]),
    ]
    for make, words, field in cases:
        make()
        assert not dialog.save()
        assert words in dialog.error.text(), (words, dialog.error.text())
        assert field.styleSheet() == ERROR_FIELD_STYLE, words
        assert templates.names() == []

    fill(dialog, "T", 8, [(10, 1)])
    dialog.breakeven_after_box.setValue(3)
    dialog.breakeven_offset_box.setValue(3)
    assert not dialog.save() and "breakeven_offset" in dialog.error.text()
    assert dialog.breakeven_offset_box.styleSheet() == ERROR_FIELD_STYLE
    dialog.breakeven_offset_box.setValue(1)
    dialog.trail_kind.setCurrentText(TRAIL_TICKS)
    assert not dialog.save() and "Trailing stop" in dialog.error.text()
    assert templates.names() == []
    dialog.trail_ticks_box.setValue(5)
    assert dialog.save() and dialog.error.text() == "" and templates.names() == ["T"]
    assert dialog.breakeven_offset_box.styleSheet() == ""         # the mark is cleared


def test_the_chart_menu_offers_the_templates_and_opens_the_dialog(qtbot, terminal):
    runtime, window = terminal
    runtime.order_templates.save(BracketTemplate(name="Scalp", stop_ticks=8,
                                                 targets=(Target(10, 2), Target(20, 1))))
    runtime.order_templates.default = "Scalp"
    qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick("rb2701.SHFE") is not None,
                    timeout=WAIT)
    dock = window.open_chart("rb2701.SHFE", "1m")
    qtbot.waitUntil(lambda: not dock.loading, timeout=WAIT)
    entry = dock.orders.entry
    assert entry.template == "Scalp" and entry.volume == 3      # the default, its lots
    menu = entry.menu(3000.0)
    subs = {a.text(): a.menu() for a in menu.actions() if isinstance(a.menu(), QMenu)}
    assert set(subs) == {"Lots: 3", "Template: Scalp"}
    choices = [a.text() for a in subs["Template: Scalp"].actions() if a.text()]
    assert choices == ["none", "Scalp", "Order templates…"]
    next(a for a in subs["Template: Scalp"].actions() if a.text() == "none").trigger()
    assert entry.template is None
    next(a for a in subs["Lots: 3"].actions() if a.text() == "5").trigger()
    assert entry.volume == 5
    assert next(a.text() for a in entry.menu(3000.0).actions()) == "Buy limit 5 @ 3000"
    next(a for a in subs["Template: Scalp"].actions()
         if a.text() == "Order templates…").trigger()
    qtbot.waitUntil(lambda: entry.dialog is not None and entry.dialog.isVisible(),
                    timeout=WAIT)
    assert entry.dialog.names.count() == 1
    entry.dialog.close()
