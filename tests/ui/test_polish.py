"""The polish a trader expects: the icon, About, dark and light themes, configurable shortcuts,
named workspaces, the settings dialog and the crash dialog."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImageReader, QKeySequence, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu
from vnpy.trader.constant import Offset, OrderType

from terminal.core import settings as settings_file
from terminal.core.resources import resource
from terminal.ui import shortcuts, theme
from tests.helpers import next_quotes, PROJECT

WAIT = 10_000
RB = "rb2701.SHFE"


def window_color(role=QPalette.ColorRole.Window) -> str:
    return QApplication.palette().color(role).name()


def chart_background(chart_dock) -> str:
    return chart_dock.chart.graphics.backgroundBrush().color().name()


def open_loaded_chart(qtbot, window, symbol=RB, timeframe="1m"):
    chart = window.open_chart(symbol, timeframe)
    qtbot.waitUntil(lambda: not chart.loading and chart.vt_symbol == symbol, timeout=WAIT)
    return chart


def press(window, key_text: str) -> None:
    """Press a key sequence with `window` active, as the trader would."""
    window.activateWindow()
    QTest.qWaitForWindowActive(window, 3000)
    combination = QKeySequence(key_text)[0]
    QTest.keyClick(window, combination.key(), combination.keyboardModifiers())
    QTest.qWait(20)


# ---------------------------------------------------------------------- icon
def test_icon_files_load_with_every_size(qapp):
    from terminal.ui.main_window import app_icon

    icon = app_icon()
    assert not icon.isNull()
    sizes = {size.width() for size in icon.availableSizes()}
    assert {16, 32, 48, 256} <= sizes
    reader = QImageReader(str(resource("icon.ico")))
    assert reader.imageCount() == 7
    png = QImageReader(str(resource("icon.png"))).read()
    assert not png.isNull() and png.width() == png.height() == 256
    assert png.pixelColor(128, 128).alpha() == 255        # the icon's face is opaque
    assert png.pixelColor(0, 0).alpha() == 0              # its corners are see-through


def test_make_icons_script_writes_a_valid_multi_size_ico(qapp, tmp_path):
    import importlib.util

    script = PROJECT / "scripts" / "make_icons.py"
    spec = importlib.util.spec_from_file_location("make_icons", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "icon.svg").write_bytes(resource("icon.svg").read_bytes())
    png, ico = module.make_icons(tmp_path)
    data = ico.read_bytes()
    assert data[:6] == b"\0\0\1\0\7\0"                   # reserved, icon type, 7 images
    reader = QImageReader(str(ico))
    found = []
    for index in range(reader.imageCount()):
        reader.jumpToImage(index)
        found.append(reader.read().width())
    assert found == list(module.ICO_SIZES)
    assert QImageReader(str(png)).read().width() == 256
    (tmp_path / "bad.svg").write_text("<svg")
    with pytest.raises(ValueError, match="not a valid SVG"):
        module.render(tmp_path / "bad.svg", 16)


# ---------------------------------------------------------------------- about
def test_about_text_lists_every_version_and_copies_it(qtbot, monkeypatch, tmp_path):
    from terminal import __version__
    from terminal.ui.dialogs import about

    monkeypatch.setattr(about, "LIBRARIES", (
        *about.LIBRARIES, ("nothing-here", "no-such-distribution-xyz", "no_such_module_xyz")))
    text = about.about_text(tmp_path / "data", tmp_path / "data" / "logs")
    import numpy as np
    import PySide6
    import vnpy

    assert f"Trading Terminal {__version__}" in text
    for line in ("vn.py:", "vnpy_ctp:", "vnpy_ctastrategy:", "pyqtgraph:", "numpy:",
                 "pandas:", "pyarrow:", "sqlite-utils:", "qasync:", "TA-Lib:", "Python:",
                 "Qt:", "PySide6:", "OS:", "Data directory:", "Log folder:"):
        assert line in text, line
    assert vnpy.__version__ in text and np.__version__ in text
    assert PySide6.__version__ in text
    assert "Log folder:" in text and str(tmp_path / "data" / "logs") in text
    missing = next(line for line in text.splitlines() if line.startswith("nothing-here"))
    assert missing.endswith("not installed")
    # the module's __version__ stands in for missing metadata
    monkeypatch.setattr(about.metadata, "version", lambda name: (_ for _ in ()).throw(
        about.metadata.PackageNotFoundError(name)))
    assert about.version_of("numpy-dist-missing", "numpy") == np.__version__

    dialog = about.AboutDialog(tmp_path / "data", tmp_path / "logs")
    qtbot.addWidget(dialog)
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == dialog.text
    assert "numpy:" in dialog.details.toPlainText()


# ---------------------------------------------------------------------- the whole terminal
def test_help_about_icon_and_menus(qtbot, terminal):
    runtime, window = terminal
    assert not window.windowIcon().isNull()
    window.menu_bar.shortcut_actions["help.about"].trigger()
    dialog = window.about_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT)
    assert str(runtime.kernel.paths.log_dir) in dialog.text
    dialog.close()
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles[0] == "&File" and titles[-1] == "&Help"
    menus = {menu.title(): menu for menu in window.menuBar().findChildren(QMenu)}
    assert "&Settings…" in [a.text() for a in menus["&File"].actions()]
    view = [a.text() for a in menus["&View"].actions()]
    assert "&Theme" in view and "&Workspaces" in view
    actions = window.menu_bar.shortcut_actions
    assert actions["file.settings"].shortcut() == QKeySequence("Ctrl+,")
    assert actions["trading.buy"].shortcut() == QKeySequence("F2")
    assert actions["view.backtest"].shortcut() == QKeySequence("Ctrl+Shift+B")


def test_backtest_workbench_and_charts_are_built_on_first_use(qtbot, terminal):
    """Neither the workbench nor a chart is built at start (a third of the cold start);
    the workbench appears when its dock is first shown, themed like the rest."""
    from terminal.ui.backtest import BacktestWorkbench

    _, window = terminal
    assert "backtest" not in window.widgets and not window.chart_docks.charts
    window.menu_bar.shortcut_actions["view.backtest"].trigger()
    qtbot.waitUntil(lambda: isinstance(window.docks["backtest"].widget(), BacktestWorkbench),
                    timeout=WAIT)
    assert window.widget("backtest") is window.docks["backtest"].widget()
    background = window.widget("backtest").results.equity_plots.backgroundBrush().color().name()
    assert background == theme.current().chart.background


def test_theme_switch_is_live_and_survives_a_restart(qtbot, data_dir):
    from terminal.app.main import start

    runtime, window = start(data_dir)
    qtbot.addWidget(window)
    try:
        assert window_color() == theme.DARK.window                     # dark by default
        chart = open_loaded_chart(qtbot, window)
        assert chart_background(chart) == theme.DARK.chart.background
        window.menu_bar.theme_actions["light"].trigger()
        assert window_color() == theme.LIGHT.window
        assert window_color(QPalette.ColorRole.Base) == theme.LIGHT.base
        assert chart_background(chart) == theme.LIGHT.chart.background
        axis = chart.chart.price.getAxis("right")
        assert axis.textPen().color().name() == theme.LIGHT.chart.axis
        assert window.widget("backtest").results.equity_plots.backgroundBrush().color().name() \
            == theme.LIGHT.chart.background
        assert QApplication.style().name().lower() == "fusion"
        saved = json.loads((data_dir / "settings.json").read_text())
        assert saved["theme"] == "light"
    finally:
        window.close()
        runtime.close()

    runtime, window = start(data_dir)
    qtbot.addWidget(window)
    try:
        assert window_color() == theme.LIGHT.window
        assert window.menu_bar.theme_actions["light"].isChecked()
        restored = next(iter(window.chart_docks.charts.values()))   # came back with the layout
        assert chart_background(restored) == theme.LIGHT.chart.background
        window.set_theme("dark")
        assert window_color() == theme.DARK.window
        assert chart_background(restored) == theme.DARK.chart.background
        assert json.loads((data_dir / "settings.json").read_text())["theme"] == "dark"
    finally:
        window.close()
        runtime.close()


def test_a_bad_theme_in_the_file_falls_back_to_dark(qtbot, data_dir):
    from terminal.app.main import start

    data_dir.mkdir(parents=True)
    (data_dir / "settings.json").write_text('{"theme": "purple"}')
    runtime, window = start(data_dir)
    qtbot.addWidget(window)
    try:
        assert runtime.settings.theme == "dark" and window_color() == theme.DARK.window
    finally:
        window.close()
        runtime.close()


def test_shortcut_changed_in_the_dialog_fires_and_conflicts_are_refused(qtbot, terminal):
    runtime, window = terminal
    settings_path = runtime.kernel.paths.settings_file
    press(window, "Ctrl+N")
    qtbot.waitUntil(lambda: len(window.chart_docks.charts) == 1, timeout=WAIT)

    dialog = window.open_settings()
    dialog.shortcut_edits["view.new_chart"].setKeySequence(QKeySequence("Ctrl+Alt+C"))
    dialog.accept()
    assert not dialog.isVisible()
    new_chart = window.menu_bar.shortcut_actions["view.new_chart"]
    assert new_chart.shortcut() == QKeySequence("Ctrl+Alt+C")
    assert json.loads(settings_path.read_text())["shortcuts"] == {"view.new_chart": "Ctrl+Alt+C"}
    press(window, "Ctrl+N")                          # the old keys do nothing now
    assert len(window.chart_docks.charts) == 1
    press(window, "Ctrl+Alt+C")
    qtbot.waitUntil(lambda: len(window.chart_docks.charts) == 2, timeout=WAIT)

    before = settings_path.read_bytes()
    dialog = window.open_settings()
    dialog.shortcut_edits["trading.buy"].setKeySequence(QKeySequence("Ctrl+Alt+C"))
    dialog.accept()
    assert dialog.isVisible()                         # refused, still open
    text = dialog.errors.text()
    assert "Not saved" in text and "“New chart”" in text and "“Buy”" in text
    assert settings_path.read_bytes() == before
    assert window.menu_bar.shortcut_actions["trading.buy"].shortcut() == QKeySequence("F2")
    dialog.shortcut_edits["trading.buy"].setKeySequence(QKeySequence("A"))
    dialog.accept()
    assert dialog.isVisible() and "typing" in dialog.errors.text()
    qtbot.mouseClick(dialog.reset_shortcuts_button, Qt.MouseButton.LeftButton)
    assert dialog.shortcut_edits["view.new_chart"].keySequence() == QKeySequence("Ctrl+N")
    assert dialog.shortcut_edits["trading.buy"].keySequence() == QKeySequence("F2")
    dialog.accept()
    assert not dialog.isVisible()
    assert json.loads(settings_path.read_text())["shortcuts"] == {}
    assert window.menu_bar.shortcut_actions["view.new_chart"].shortcut() == QKeySequence("Ctrl+N")

    # The ticket's buttons name the keys in force.
    assert window.ticket.buy_button.text() == "Buy (F2)"
    dialog = window.open_settings()
    dialog.shortcut_edits["trading.buy"].setKeySequence(QKeySequence("Ctrl+B"))
    dialog.shortcut_edits["trading.cancel_all"].setKeySequence(QKeySequence())
    dialog.accept()
    assert not dialog.isVisible(), dialog.errors.text()
    assert window.ticket.buy_button.text() == "Buy (Ctrl+B)"
    assert window.ticket.sell_button.text() == "Sell (F3)"
    assert window.ticket.cancel_all_button.text() == "Cancel all"


def test_shortcut_registry_rules(qapp):
    ids = [s.id for s in shortcuts.REGISTRY]
    assert len(ids) == len(set(ids))
    keys, warnings = shortcuts.effective({})
    assert warnings == [] and shortcuts.conflicts(keys) == []
    assert keys["trading.buy"] == "F2" and keys["view.new_chart"] == "Ctrl+N"
    keys, warnings = shortcuts.effective({"trading.buy": "Ctrl+N", "nope": "F9",
                                          "trading.sell": "not keys"})
    assert shortcuts.conflicts(keys) == [] and len(warnings) == 3
    assert keys["trading.buy"] == "F2" and keys["trading.sell"] == "F3"
    assert shortcuts.normalise("ctrl+shift+b") == "Ctrl+Shift+B"
    assert shortcuts.overrides({**keys, "trading.buy": "F9"}) == {"trading.buy": "F9"}


def test_workspaces_keep_docks_and_charts(qtbot, terminal):
    runtime, window = terminal
    chart = open_loaded_chart(qtbot, window, RB, "5m")
    assert chart.add_indicator("MA") is not None and chart.add_indicator("RSI") is not None
    kinds = [i.kind for i in chart.chart.indicators]
    params = [i.params for i in chart.chart.indicators]
    window.docks["trades"].close()
    window.menu_bar.workspaces_menu.save("Night session")
    assert (runtime.kernel.paths.root / "workspaces" / "Night session.ini").exists()

    window.docks["trades"].show()
    window.chart_docks.close_all()
    other = open_loaded_chart(qtbot, window, "m2705.DCE")
    assert other.vt_symbol == "m2705.DCE" and len(window.chart_docks.charts) == 1

    assert window.menu_bar.workspaces_menu.load("night SESSION")   # names ignore case
    assert window.docks["trades"].isHidden()
    assert len(window.chart_docks.charts) == 1
    (restored,) = window.chart_docks.charts.values()
    qtbot.waitUntil(lambda: restored.vt_symbol == RB and not restored.loading, timeout=WAIT)
    assert restored.timeframe == "5m"
    assert [i.kind for i in restored.chart.indicators] == kinds == ["MA", "RSI"]
    assert [i.params for i in restored.chart.indicators] == params
    assert window.workspaces.names() == ["Night session"]

    window.menu_bar.workspaces_menu.fill()
    load_menu = window.menu_bar.workspaces_menu.load_menu
    save = window.menu_bar.shortcut_actions["view.save_workspace"]
    assert save.shortcut() == QKeySequence("Ctrl+Shift+S")
    assert [a.text() for a in load_menu.actions() if a.text()] == ["Default layout",
                                                                   "Night session"]
    window.docks["log"].setFloating(True)
    next(a for a in load_menu.actions() if a.text() == "Default layout").trigger()
    assert not window.docks["trades"].isHidden() and not window.docks["log"].isFloating()

    window.menu_bar.workspaces_menu.delete("Night session")
    assert window.workspaces.names() == []


@pytest.mark.parametrize(("name", "reason"), [
    ("", "needs a name"), ("   ", "needs a name"), ("a/b", "may not contain /"),
    ("..\\up", "may not contain \\"), ("x:y", "may not contain :"), ("what?", "may not contain ?"),
    ("CON", "device name"), ("lpt1.ini", "device name"), (".hidden", "dot"),
    ("x" * 65, "at most 64"), ("Default layout", "built-in"), ("tab\there", "control"),
])
def test_bad_workspace_names_are_refused_with_the_reason(tmp_path, name, reason):
    from terminal.ui.workspaces import WorkspaceError, Workspaces, check_name

    with pytest.raises(WorkspaceError, match=reason.replace("?", r"\?").replace("\\", r"\\")):
        check_name(name)
    with pytest.raises(WorkspaceError):
        Workspaces(tmp_path / "ws").save(None, name)
    assert not (tmp_path / "ws").exists()


def test_good_workspace_names_are_kept_as_typed():
    from terminal.ui.workspaces import check_name

    assert check_name("  Day trading  ") == "Day trading"
    assert check_name("日盘 螺纹") == "日盘 螺纹"
    assert check_name("a.b-c_(2)") == "a.b-c_(2)"


def test_settings_dialog_names_a_bad_value_and_saves_good_ones(qtbot, terminal):
    runtime, window = terminal
    path = runtime.kernel.paths.settings_file
    before = path.read_bytes() if path.exists() else None
    dialog = window.open_settings()
    for item in settings_file.Settings.__dataclass_fields__:
        assert settings_file.SPECS[item].help, item          # every setting has its help text
    assert set(dialog.editors) == set(settings_file.Settings.__dataclass_fields__) - {"shortcuts"}

    dialog.set_text("frame_ms", "0")
    dialog.set_text("sim_seed", "seven")
    dialog.accept()
    assert dialog.isVisible()
    text = dialog.errors.text()
    assert "frame_ms" in text and "0 is outside 1..1000" in text
    assert "sim_seed" in text and "expected a number" in text
    assert "border" in dialog.editors["frame_ms"].styleSheet()
    assert (path.read_bytes() if path.exists() else None) == before
    assert runtime.settings.frame_ms == 16 and window.pump.frame == pytest.approx(0.016)

    dialog.set_text("frame_ms", "33")
    dialog.set_text("sim_seed", "7")
    dialog.set_text("watchlist", "rb2701.SHFE, nonsense")
    dialog.accept()
    assert dialog.isVisible() and "'nonsense' is not SYMBOL.EXCHANGE" in dialog.errors.text()
    dialog.set_text("plugin_folder", str(runtime.kernel.paths.root / "no-such-folder"))
    dialog.set_text("watchlist", "rb2701.SHFE\nm2705.DCE")
    dialog.accept()
    assert dialog.isVisible() and "is not a folder" in dialog.errors.text()
    dialog.set_text("plugin_folder", "")
    dialog.editors["theme"].setCurrentIndex(dialog.editors["theme"].findData("light"))
    dialog.accept()
    assert not dialog.isVisible()

    saved = json.loads(path.read_text())
    assert saved["frame_ms"] == 33 and saved["sim_seed"] == 7 and saved["theme"] == "light"
    assert saved["watchlist"] == ["rb2701.SHFE", "m2705.DCE"]
    assert not list(path.parent.glob("*.tmp"))
    assert runtime.settings.frame_ms == 33 and window.pump.frame == pytest.approx(0.033)
    assert window_color() == theme.LIGHT.window
    assert runtime.watchlist.symbols == ["rb2701.SHFE", "m2705.DCE"]
    assert "restart" in dialog.message and "Simulator price seed" in dialog.message
    assert "GUI frame" not in dialog.message
    loaded, warnings = settings_file.load(path)
    assert warnings == [] and loaded.sim_seed == 7
    window.set_theme("dark")


# ---------------------------------------------------------------------- crashes
def marketable_buy(runtime, window, symbol=RB, volume="1") -> str:
    for _ in range(500):
        if runtime.kernel.main_engine.get_tick(symbol) is not None \
                and runtime.trading.contract(symbol) is not None:
            break
        QTest.qWait(20)
    tick = runtime.kernel.main_engine.get_tick(symbol)
    contract = runtime.trading.contract(symbol)
    ticket = window.ticket
    ticket.load_symbol(symbol)
    ticket.offset_box.setCurrentIndex(ticket.offset_box.findData(Offset.OPEN))
    ticket.type_box.setCurrentIndex(ticket.type_box.findData(OrderType.LIMIT))
    ticket.price_edit.setText(f"{tick.ask_price_1 + 3 * contract.pricetick:.4f}")
    ticket.volume_edit.setText(volume)
    return ticket.buy()


def test_unhandled_exception_is_logged_journal_kept_and_one_dialog_shown(qtbot, terminal):
    from terminal.ui import crash
    from terminal.ui.crash import CrashDialog

    runtime, window = terminal
    opened, quits = [], []
    handler = crash.CrashHandler(runtime.kernel.paths.log_dir, runtime.journal.flush,
                                 lambda: quits.append(True), window,
                                 open_folder=opened.append).install()
    try:
        vt_orderid = marketable_buy(runtime, window)
        assert vt_orderid
        qtbot.waitUntil(lambda: any(t.vt_orderid == vt_orderid
                                    for t in window.trades.model.records()), timeout=WAIT)

        def broken_slot() -> None:
            raise RuntimeError("boom in a slot")

        for _ in range(3):
            QTimer.singleShot(0, broken_slot)
        qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible()
                        and handler.count == 3, timeout=WAIT)
        dialogs = [d for d in window.findChildren(CrashDialog) if d.isVisible()]
        assert dialogs == [handler.dialog]                    # one dialog, however many
        dialog = handler.dialog
        qtbot.waitUntil(lambda: "2 more" in dialog.more.text(), timeout=WAIT)
        assert "RuntimeError: boom in a slot" in dialog.details.toPlainText()
        assert not dialog.isModal()

        log_text = (runtime.kernel.paths.log_dir / "terminal.log").read_text()
        assert "unhandled exception in the main thread" in log_text
        assert "Traceback (most recent call last)" in log_text
        assert "RuntimeError: boom in a slot" in log_text

        db = sqlite3.connect(runtime.kernel.paths.root / "journal.db")
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("SELECT count(*) FROM orders WHERE key = ?",
                              (vt_orderid,)).fetchone()[0] == 1
            assert db.execute("SELECT count(*) FROM trades").fetchone()[0] >= 1
        finally:
            db.close()

        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
        assert "boom in a slot" in QGuiApplication.clipboard().text()
        qtbot.mouseClick(dialog.folder_button, Qt.MouseButton.LeftButton)
        assert opened == [runtime.kernel.paths.log_dir]

        # the terminal goes on: quotes keep coming, orders still go out and fill
        ticks = window.pump.tick_events
        next_quotes(runtime)
        qtbot.waitUntil(lambda: window.pump.tick_events > ticks, timeout=WAIT)
        again = marketable_buy(runtime, window, volume="2")     # not a duplicate of the first
        qtbot.waitUntil(lambda: any(t.vt_orderid == again
                                    for t in window.trades.model.records()), timeout=WAIT)

        qtbot.mouseClick(dialog.continue_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: handler.dialog is None, timeout=WAIT)
        assert not quits

        # a worker thread's exception: logged there, shown on the GUI thread
        worker = threading.Thread(target=broken_slot, name="worker-7")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible(),
                        timeout=WAIT)
        assert "thread worker-7" in handler.dialog.details.toPlainText()

        # an asyncio callback's exception, through the loop's handler
        loop = asyncio.new_event_loop()
        try:
            handler.uninstall()
            handler.install(loop)
            loop.call_soon(broken_slot)
            loop.run_until_complete(asyncio.sleep(0.01))
        finally:
            loop.close()
        qtbot.waitUntil(lambda: "asyncio" in handler.dialog.details.toPlainText(),
                        timeout=WAIT)
        assert handler.total == 5

        qtbot.mouseClick(handler.dialog.quit_button, Qt.MouseButton.LeftButton)
        assert quits == [True]
    finally:
        handler.uninstall()


def test_crash_quit_closes_the_window_through_its_close_path(qtbot, terminal):
    from terminal.ui import crash

    runtime, window = terminal
    handler = crash.install(window, runtime, open_folder=lambda folder: None)
    try:
        handler.handle(ValueError, ValueError("bad"), None, "a test")
        qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible(),
                        timeout=WAIT)
        qtbot.mouseClick(handler.dialog.quit_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT)
        assert (runtime.kernel.paths.layout_file).exists()       # closeEvent saved the layout
    finally:
        handler.uninstall()


def test_next_chart_and_focus_ticket_actions(qtbot, terminal):
    _runtime, window = terminal
    first = open_loaded_chart(qtbot, window, RB)
    second = open_loaded_chart(qtbot, window, "m2705.DCE")
    window.activateWindow()
    QTest.qWaitForWindowActive(window, 3000)
    shown = [window.next_chart(), window.next_chart(), window.next_chart(-1)]
    assert {id(c) for c in shown} == {id(first), id(second)}
    assert shown[0] is not shown[1] and shown[2] is shown[0]
    window.menu_bar.shortcut_actions["trading.focus_ticket"].trigger()
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (window.ticket.price_edit,
                                                           window.ticket.volume_edit),
                    timeout=WAIT)
    flatten_all = window.menu_bar.shortcut_actions["trading.flatten_all"]
    assert flatten_all.shortcut() == QKeySequence("Ctrl+Shift+F4")
