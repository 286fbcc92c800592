"""Qt's missing system libraries are named, with the README's install line, before Qt would end
the process with "no Qt platform plugin could be initialized"."""

from __future__ import annotations

from pathlib import Path

from terminal.app import qt_libraries
from terminal.app.main import main
from tests.helpers import PROJECT

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffc)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
"""
PLUGIN = Path("/venv/PySide6/Qt/plugins/platforms/libqxcb.so")


def test_ldd_s_missing_libraries_are_named_once_in_its_order():
    assert qt_libraries.missing_in(LDD_OUTPUT) == ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"]
    assert qt_libraries.missing_in("\tlibGL.so.1 => /lib/libGL.so.1 (0x1)\n") == []


def test_a_plugin_that_cannot_load_is_explained_with_the_readme_s_line():
    text = qt_libraries.problem({"DISPLAY": ":0"}, "linux", PLUGIN, load=lambda _: False,
                                ldd=lambda _: LDD_OUTPUT)
    assert "libxcb-cursor.so.0, libxkbcommon-x11.so.0" in text
    assert qt_libraries.INSTALL_LINE in text


def test_nothing_is_said_when_qt_will_not_use_xcb_or_the_plugin_loads():
    never = lambda _: False  # noqa: E731
    report = lambda _: LDD_OUTPUT  # noqa: E731
    for env, platform in (({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
                          ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"),
                          ({"DISPLAY": ":0"}, "win32"), ({"DISPLAY": ":0"}, "darwin")):
        assert qt_libraries.problem(env, platform, PLUGIN, never, report) is None, env
    assert qt_libraries.problem({"QT_QPA_PLATFORM": "xcb"}, "linux", PLUGIN, never,
                                report) is not None
    assert qt_libraries.problem({}, "linux", PLUGIN, lambda _: True, report) is None
    assert qt_libraries.problem({}, "linux", PLUGIN, never, lambda _: None) is None


def test_the_plugin_installed_here_loads():
    """CI installs the README's packages: the real plugin loads, so the terminal says nothing."""
    plugin = qt_libraries.xcb_plugin()
    assert plugin is not None and qt_libraries.loads(plugin)
    assert qt_libraries.problem({"DISPLAY": ":0"}, "linux") is None


def test_the_readme_gives_the_same_install_line():
    assert qt_libraries.INSTALL_LINE in (PROJECT / "README.md").read_text(encoding="utf-8")


def test_the_terminal_stops_saying_so_before_qt_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(qt_libraries, "problem", lambda: "Qt cannot open a window: libx.so.1")
    assert main(["--home", str(tmp_path / "data")]) == 2
    assert "trading-terminal: Qt cannot open a window: libx.so.1" in capsys.readouterr().err
