"""Live strategies in the terminal: add a plugin strategy from the dock, init, start, edit,
stop; a strategy that raises is stopped and reported while the terminal keeps running."""

from __future__ import annotations

import json

from tests.test_app_e2e import RB, WAIT

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


def start_with_plugins(qtbot, data_dir, tmp_path):
    from terminal.app import start

    folder = tmp_path / "my_strategies"
    folder.mkdir()
    (folder / "broken.py").write_text(RAISING)
    (folder / "not_python.py").write_text("this is not python (")
    data_dir.mkdir(parents=True)
    (data_dir / "settings.json").write_text(json.dumps({"plugin_folder": str(folder)}))
    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    return runtime, window


def test_add_init_start_edit_stop_a_plugin_strategy(qtbot, terminal):
    runtime, window = terminal
    dock = window.strategies
    qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick(RB) is not None, timeout=WAIT)
    assert {"MacdTrendStrategy", "RsiReversionStrategy", "ChannelBreakoutStrategy",
            "DoubleMaStrategy"} <= set(runtime.cta.classes)
    dialog = dock.add()
    dialog.class_box.setCurrentText("RsiReversionStrategy")
    dialog.symbol_box.setEditText(RB)
    first = next(k for k, v in dialog.defaults().items() if type(v) is int)
    dialog.param_edits[first].setText("ten")
    dialog.accept()
    assert f"{first}: 'ten' is not a whole number" in dialog.error.text() and dialog.isVisible()
    dialog.param_edits[first].setText(str(dialog.defaults()[first]))
    dialog.accept()
    assert not dialog.isVisible()
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
    editor.param_edits[first].setText(str(dock.model.find(name)["parameters"][first] + 1))
    editor.accept()
    qtbot.waitUntil(lambda: dock.model.find(name)["parameters"][first]
                    == editor.defaults()[first] + 1, timeout=WAIT)
    dock.remove_selected()
    assert name not in runtime.cta.strategies and dock.model.rowCount() == 0
    assert "RsiReversionStrategy_1" in dock.log.toPlainText()


def test_a_raising_strategy_is_stopped_and_reported(qtbot, data_dir, tmp_path):
    runtime, window = start_with_plugins(qtbot, data_dir, tmp_path)
    try:
        assert "BrokenOnTick" in runtime.cta.classes
        assert any("not_python.py" in path for path in runtime.catalog.errors)
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
        qtbot.waitUntil(lambda: "ZeroDivisionError" in window.strategies.log.toPlainText(),
                        timeout=WAIT)
        state = window.strategies.model.find("broken")
        assert state is not None and not state["variables"]["trading"]
        # The terminal goes on: quotes still arrive.
        before = runtime.kernel.main_engine.get_tick("cu2701.SHFE").datetime
        qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick("cu2701.SHFE").datetime
                        > before, timeout=WAIT)
    finally:
        window.close()
        runtime.close()
