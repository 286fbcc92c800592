"""Live strategies in the terminal: add a plugin strategy from the dock, init, start, edit,
stop; a strategy that raises is stopped and reported while the terminal keeps running; plugin
files that exit, hang or crash while importing are listed with the reason, never imported,
and refused when a strategy of theirs is added or restored."""

from __future__ import annotations

import json

from tests.helpers.gui import RB, WAIT
from terminal.plugins.modules import module_name_for
from tests.helpers.parameters import REFUSED
from tests.helpers.plugin_files import HOSTILE, LIMIT, imported_here, strategy

CHECKED = 120_000   # ms: a check process starts an interpreter and imports vn.py

RAISING = '''
from vnpy_ctastrategy import CtaTemplate


class BrokenOnTick(CtaTemplate):
    """Raises on its first tick."""
    author = "tests"
    threshold = 1
    parameters = ["threshold"]

    def on_init(self):
        pass

    def on_tick(self, tick):
        raise ZeroDivisionError("broken on purpose")

    def on_bar(self, bar):
        pass
'''


def start_with_plugins(qtbot, data_dir, tmp_path, files=None, restore=None):
    """The terminal with a plugin folder (RAISING and a file that is not Python, or `files`)
    and, with `restore`, strategies vn.py brings back at the start."""
    from terminal.app.main import start

    folder = tmp_path / "my_strategies"
    folder.mkdir()
    for name, text in (files or {"broken.py": RAISING,
                                 "not_python.py": "this is not python ("}).items():
        (folder / name).write_text(text)
    data_dir.mkdir(parents=True)
    (data_dir / "settings.json").write_text(json.dumps(
        {"plugin_folder": str(folder), "plugin_check_seconds": LIMIT}))
    if restore:
        (data_dir / ".vntrader").mkdir()
        (data_dir / ".vntrader" / "cta_strategy_setting.json").write_text(json.dumps(restore))
    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    return runtime, window, folder


def test_add_init_start_edit_stop_a_plugin_strategy(qtbot, terminal):
    runtime, window = terminal
    dock = window.widget("strategies")
    qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick(RB) is not None, timeout=WAIT)
    assert runtime.cta.classes == {}                 # nothing imported until it is used
    dialog = dock.add()
    listed = [dialog.class_box.itemData(i) for i in range(dialog.class_box.count())]
    assert {"MacdTrendStrategy", "RsiReversionStrategy", "ChannelBreakoutStrategy",
            "DoubleMaStrategy"} <= set(listed)
    assert dialog.select_class("RsiReversionStrategy")
    dialog.symbol_box.setEditText(RB)
    first = next(k for k, v in dialog.defaults().items() if type(v) is int)
    dialog.fields.set_text(first, "ten")
    dialog.accept()
    assert f"{first}: 'ten' is not a whole number" in dialog.error.text() and dialog.isVisible()
    dialog.fields.set_text(first, str(dialog.defaults()[first]))
    dialog.accept()
    assert not dialog.isVisible()
    assert list(runtime.cta.classes) == ["RsiReversionStrategy"]
    name = "RsiReversionStrategy_1"
    qtbot.waitUntil(lambda: dock.model.find(name) is not None, timeout=WAIT)

    dock.view.selectRow(dock.model.row_of(name))
    dock.init_selected()
    qtbot.waitUntil(lambda: dock.model.find(name)["variables"]["inited"], timeout=WAIT)
    dock.start_selected()
    qtbot.waitUntil(lambda: dock.model.find(name)["variables"]["trading"], timeout=WAIT)
    assert dock.edit_selected() is None                      # running: stop it first
    dock.stop_selected()
    qtbot.waitUntil(lambda: not dock.model.find(name)["variables"]["trading"], timeout=WAIT)
    editor = dock.edit_selected()
    editor.fields.set_text(first, str(dock.model.find(name)["parameters"][first] + 1))
    editor.accept()
    qtbot.waitUntil(lambda: dock.model.find(name)["parameters"][first]
                    == editor.defaults()[first] + 1, timeout=WAIT)
    dock.remove_selected()
    assert name not in runtime.cta.strategies and dock.model.rowCount() == 0
    assert "RsiReversionStrategy_1" in dock.log.toPlainText()



def test_a_parameter_that_does_not_fit_its_type_is_refused_beside_its_field(qtbot, terminal):
    """The same words as the command line's --param and the workbench's form: one parser."""
    runtime, window = terminal
    dock = window.widget("strategies")
    dialog = dock.add()
    assert dialog.select_class("MacdTrendStrategy")
    dialog.symbol_box.setEditText(RB)
    fields = dialog.fields
    assert fields.texts()["trailing_stop"] == "true" and fields.texts()["bar_minutes"] == "5"
    for name, text, message in REFUSED:
        fields.set_text(name, text)
        dialog.accept()
        assert dialog.error.text() == message and dialog.isVisible()
        assert fields.errors[name].text() == message and not fields.errors[name].isHidden()
        assert runtime.cta.strategies == {} and runtime.cta.classes == {}
        fields.set_text(name, {"bar_minutes": "5", "trailing_stop": "TRUE"}[name])
    fields.set_text("trailing_stop", "off")
    dialog.accept()
    assert not dialog.isVisible() and all(label.isHidden() for label in fields.errors.values())
    assert runtime.cta.strategies["MacdTrendStrategy_1"].trailing_stop is False


def test_a_raising_strategy_is_stopped_and_reported(qtbot, data_dir, tmp_path):
    runtime, window, _ = start_with_plugins(qtbot, data_dir, tmp_path)
    try:
        assert "BrokenOnTick" not in runtime.cta.classes
        qtbot.waitUntil(lambda: any("not_python.py" in path for path in runtime.catalog.errors),
                        timeout=CHECKED)
        cta = runtime.cta
        cta.add_strategy("BrokenOnTick", "broken", RB, {})
        cta.init_strategy("broken")
        # Once initialised it gets ticks (vn.py feeds inited strategies), and the first raises.
        qtbot.waitUntil(lambda: cta.failures == 1, timeout=WAIT)
        strategy = cta.strategies["broken"]
        assert not strategy.trading and not strategy.inited
        qtbot.waitUntil(lambda: any(a.rule == "strategy_error" and "broken on purpose"
                                    in a.message for a in window.alerts.model.records()),
                        timeout=WAIT)
        dock = window.widget("strategies")
        qtbot.waitUntil(lambda: "ZeroDivisionError" in dock.log.toPlainText(), timeout=WAIT)
        state = dock.model.find("broken")
        assert state is not None and not state["variables"]["trading"]
        # The terminal goes on: quotes still arrive.
        before = runtime.kernel.main_engine.get_tick("cu2701.SHFE").datetime
        qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick("cu2701.SHFE").datetime
                        > before, timeout=WAIT)
    finally:
        window.close()
        runtime.close()


def test_hostile_plugins_are_listed_with_the_reason_and_refused_while_the_rest_works(
        qtbot, data_dir, tmp_path):
    from terminal.ui.strategy_choices import ERROR_ROLE

    files = {name: text for name, (text, _) in HOSTILE.items()}
    files["fine.py"] = strategy("FineStrategy", fast=3)
    restore = {"exits_1": {"class_name": "ExitsStrategy", "vt_symbol": RB, "setting": {}},
               "macd_1": {"class_name": "MacdTrendStrategy", "vt_symbol": RB, "setting": {}}}
    runtime, window, folder = start_with_plugins(qtbot, data_dir, tmp_path, files, restore)
    try:
        cta, dock = runtime.cta, window.widget("strategies")
        # restored at the start: the shipped strategy is back, the one whose file exits is not
        assert "macd_1" in cta.strategies and "exits_1" not in cta.strategies
        qtbot.waitUntil(lambda: any(
            a.rule == "strategy_not_loaded" and "exits_1" in a.message
            and "exited with code 1 while importing" in a.message
            for a in window.alerts.model.records()), timeout=WAIT)

        expected = {name: reason for name, (_, reason) in HOSTILE.items()}
        qtbot.waitUntil(lambda: len(runtime.catalog.errors) == len(expected), timeout=CHECKED)
        qtbot.waitUntil(lambda: all(f"{name}: {reason}" in dock.plugins_label.text()
                                    for name, reason in expected.items()), timeout=WAIT)
        assert not dock.plugins_label.isHidden()

        dialog = dock.add()
        box = dialog.class_box
        greyed = {box.itemText(i).split(":")[0].split()[-1]: box.itemData(i, ERROR_ROLE)
                  for i in range(box.count()) if box.itemData(i, ERROR_ROLE)}
        assert greyed == expected
        assert all(not box.model().item(i).isEnabled() for i in range(box.count())
                   if box.itemData(i, ERROR_ROLE))
        assert dialog.select_class("FineStrategy") and dialog.defaults() == {"fast": 3}
        dialog.symbol_box.setEditText(RB)
        dialog.accept()
        assert "FineStrategy_1" in cta.strategies and not dialog.isVisible()

        cta.add_strategy("LoopsStrategy", "loops_1", RB, {})     # as a script would
        assert "loops_1" not in cta.strategies
        qtbot.waitUntil(lambda: "did not finish importing" in dock.log.toPlainText(),
                        timeout=WAIT)
        assert imported_here(folder) == [module_name_for(folder / "fine.py")]   # used: only it
        before = runtime.kernel.main_engine.get_tick(RB).datetime
        qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick(RB).datetime > before,
                        timeout=WAIT)
    finally:
        window.close()
        runtime.close()
