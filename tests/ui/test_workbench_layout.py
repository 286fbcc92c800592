"""The backtest workbench's settings panel in the dock the terminal gives it: a run is set up
without scrolling sideways, and every group (Capital and costs too) can be scrolled to."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication, QGroupBox


def _settle(qtbot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(20)


def _reachable(scroll, group: QGroupBox) -> bool:
    """Scrolled down as far as the scroll bar goes towards the group, its top and as much of
    it as the viewport holds are in view, and its right edge too."""
    bar = scroll.verticalScrollBar()
    bar.setValue(min(group.mapTo(scroll.widget(), QPoint(0, 0)).y(), bar.maximum()))
    QApplication.processEvents()
    viewport = scroll.viewport()
    top_left = group.mapTo(viewport, QPoint(0, 0))
    shown = min(group.height(), viewport.height())
    return top_left.y() >= 0 and top_left.y() + shown <= viewport.height() and \
        top_left.x() + group.width() <= viewport.width()


@pytest.mark.parametrize("size", [None, (1366, 768)])
def test_the_settings_fit_the_default_dock_without_a_sideways_scroll(qtbot, terminal, size):
    _, window = terminal
    if size is not None:
        window.resize(*size)
    window.docks["backtest"].show()
    window.docks["backtest"].raise_()
    workbench = window.widget("backtest")
    _settle(qtbot)
    scroll = workbench.settings_scroll
    assert scroll.isVisible() and scroll.viewport().width() > 0
    assert scroll.horizontalScrollBar().maximum() == 0
    assert workbench.form.width() <= scroll.viewport().width()
    titles = []
    for group in workbench.form.findChildren(QGroupBox):
        assert _reachable(scroll, group), group.title()
        titles.append(group.title())
    assert "Capital and costs" in titles
    # the default dock is short: the groups below are reached by scrolling down
    assert scroll.verticalScrollBar().maximum() > 0


def test_a_strategy_with_many_parameters_still_needs_no_sideways_scroll(qtbot, terminal):
    _, window = terminal
    window.docks["backtest"].show()
    window.docks["backtest"].raise_()
    workbench = window.widget("backtest")
    workbench.form.fields.build({f"a_rather_long_parameter_name_{i}": 1.5 for i in range(12)})
    _settle(qtbot)
    scroll = workbench.settings_scroll
    assert scroll.horizontalScrollBar().maximum() == 0
    assert _reachable(scroll, workbench.form.params_box)



def test_no_workbench_tab_makes_a_1366_window_wider(qtbot, terminal):
    """The Optimise and Walk-forward tabs' long forms scroll down, and History's filters are
    a few letters wide: no tab asks the window for more than a 1366-pixel screen's width."""
    _, window = terminal
    window.resize(1366, 768)
    window.docks["backtest"].show()
    window.docks["backtest"].raise_()
    workbench = window.widget("backtest")
    tabs = workbench.tabs
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        _settle(qtbot)
        assert window.width() <= 1366, tabs.tabText(index)
    for panel in (workbench.optimise, workbench.walkforward):
        assert panel.search.side_scroll.horizontalScrollBar().maximum() == 0
