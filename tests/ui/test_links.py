"""Linked windows in the whole terminal: the market watch, the order ticket and charts in
one colour show the symbol chosen in any of them; a window in no group keeps its own; nothing
echoes; the groups come back with a saved layout."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt

from terminal.core.link_groups import NONE
from terminal.ui.colours import LINK_HEX
from tests.helpers.gui import RB, WAIT, wait_for_quotes

CU = "cu2701.SHFE"
M = "m2705.DCE"


def open_chart(qtbot, window, symbol=RB):
    chart = window.open_chart(symbol, "5m")
    qtbot.waitUntil(lambda: not chart.loading and chart.vt_symbol == symbol, timeout=WAIT)
    return chart


def count_loads(chart) -> list:
    """The symbols `chart` is asked to load from now on."""
    asked: list = []
    load = chart.load

    def counted(vt_symbol, timeframe):
        asked.append(vt_symbol)
        return load(vt_symbol, timeframe)

    chart.load = counted
    return asked


def pick_in_watch(qtbot, window, vt_symbol: str) -> None:
    """Click the symbol's row in the market watch, as the trader would."""
    view = window.market_watch.view
    row = window.market_watch.model.row_of(vt_symbol)
    qtbot.waitUntil(lambda: view.model().rowCount() > row, timeout=WAIT)
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.currentIndex().row() == row


def watch_current(window) -> str:
    watch = window.market_watch
    return watch.view.record_at(watch.view.currentIndex().row()).vt_symbol


def test_a_symbol_picked_moves_its_group_only_without_echo(qtbot, terminal, tmp_path):
    _runtime, window = terminal
    wait_for_quotes(qtbot, window)
    wait_for_quotes(qtbot, window, CU)
    wait_for_quotes(qtbot, window, M)
    red_1, red_2, alone = (open_chart(qtbot, window) for _ in range(3))
    for linked in (window.market_watch, window.ticket, red_1, red_2):
        linked.link_button.actions_by_group["red"].trigger()     # the button's menu
    assert window.links.groups.members("red") == ["market_watch", "order_ticket", "chart_1",
                                                  "chart_2"]
    assert "red" in red_1.link_button.toolTip() and alone.link_button.group == NONE
    colour = red_1.link_button.icon().pixmap(12, 12).toImage().pixelColor(6, 6)
    assert colour.name() == LINK_HEX["red"]
    loads = {chart: count_loads(chart) for chart in (red_1, red_2, alone)}
    chosen = []
    for dock in (window.market_watch, window.ticket, red_1, red_2):
        dock.symbol_chosen.connect(chosen.append)

    pick_in_watch(qtbot, window, CU)
    qtbot.waitUntil(lambda: red_1.vt_symbol == red_2.vt_symbol == CU
                    and not red_1.loading and not red_2.loading, timeout=WAIT)
    assert window.ticket.vt_symbol == CU
    assert alone.vt_symbol == RB and loads[alone] == []
    assert loads[red_1] == loads[red_2] == [CU]               # once each: no echo, no loop
    assert chosen == [CU, CU]                    # the watch, then the ticket as it changed
    assert red_1.timeframe == "5m"               # a link changes the symbol, not the period

    # The trader types a symbol in a red chart: the watch, the ticket and the other red
    # chart follow; the chart in no group stays.
    red_2.symbol_box.setEditText("m2705.dce")
    red_2.symbol_box.lineEdit().returnPressed.emit()
    qtbot.waitUntil(lambda: red_1.vt_symbol == red_2.vt_symbol == M and not red_1.loading,
                    timeout=WAIT)
    assert watch_current(window) == M and window.ticket.vt_symbol == M
    # red_2 loads what the trader typed (Enter in a combo box is also `activated`), and is
    # never handed its own symbol back.
    assert loads[red_1] == [CU, M] and set(loads[red_2][1:]) == {M} and alone.vt_symbol == RB
    # A symbol chosen in the chart in no group goes nowhere.
    alone.symbol_box.setEditText(CU)
    alone.symbol_box.lineEdit().returnPressed.emit()
    qtbot.waitUntil(lambda: alone.vt_symbol == CU and not alone.loading, timeout=WAIT)
    assert red_1.vt_symbol == M and window.ticket.vt_symbol == M
    assert loads[red_1] == [CU, M]

    # Saved and restored (what layout.ini and workspaces keep): the same groups come back.
    saved = QSettings(str(tmp_path / "saved.ini"), QSettings.Format.IniFormat)
    window.save_layout(saved)
    window.market_watch.link_button.choose("blue")
    window.ticket.link_button.choose(NONE)
    assert window.restore_layout(saved, replace_charts=True)
    charts = window.chart_docks.charts
    assert sorted(charts) == ["chart_1", "chart_2", "chart_3"]
    for chart in charts.values():
        qtbot.waitUntil(lambda chart=chart: not chart.loading and bool(chart.vt_symbol),
                        timeout=WAIT)
    assert [c.link_button.group for c in charts.values()] == ["red", "red", NONE]
    assert [c.vt_symbol for c in charts.values()] == [M, M, CU]     # kept as saved
    assert window.market_watch.link_button.group == "red"
    assert window.ticket.link_button.group == "red"
    assert window.links.groups.assignments() == {
        "market_watch": "red", "order_ticket": "red", "chart_1": "red", "chart_2": "red"}

    pick_in_watch(qtbot, window, RB)
    qtbot.waitUntil(lambda: charts["chart_1"].vt_symbol == charts["chart_2"].vt_symbol == RB,
                    timeout=WAIT)
    assert charts["chart_3"].vt_symbol == CU and window.ticket.vt_symbol == RB
    # A closed chart leaves its group.
    window.docks["chart_2"].close()
    assert window.links.groups.members("red") == ["market_watch", "order_ticket", "chart_1"]


def test_bad_link_groups_in_a_layout_leave_the_windows_unlinked(qtbot, terminal, tmp_path,
                                                                 caplog):
    _runtime, window = terminal
    window.ticket.link_button.choose("green")
    saved = QSettings(str(tmp_path / "bad.ini"), QSettings.Format.IniFormat)
    saved.setValue("links/groups", '{"market_watch": "pink", "order_ticket": 3}')
    saved.setValue("charts/state", '[{"name": "chart_1", "symbol": "rb2701.SHFE", '
                                   '"timeframe": "1m", "link": "orange"}]')
    saved.sync()
    window.restore_layout(saved, replace_charts=True)
    chart = window.chart_docks.charts["chart_1"]
    assert chart.link_button.group == NONE and "'orange' is not a link group" in chart.last_error
    assert window.links.groups.assignments() == {}
    assert window.ticket.link_button.group == NONE
    assert "market_watch is linked to 'pink'" in caplog.text
    assert "order_ticket is linked to 3" in caplog.text
    saved.setValue("links/groups", "{not json")
    saved.setValue("charts/state", "[]")
    window.restore_layout(saved, replace_charts=True)
    assert "link groups in" in caplog.text and "unreadable" in caplog.text


def test_link_groups_come_back_after_a_restart(qtbot, data_dir):
    from terminal.app.main import start

    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    chart = open_chart(qtbot, window)
    chart.link_button.choose("purple")
    window.ticket.link_button.choose("purple")
    window.market_watch.link_button.choose("green")
    window.close()
    runtime.close()

    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    try:
        assert window.links.groups.assignments() == {
            "chart_1": "purple", "market_watch": "green", "order_ticket": "purple"}
        assert window.chart_docks.charts["chart_1"].link_button.group == "purple"
        assert window.ticket.link_button.group == "purple"
        assert window.market_watch.link_button.group == "green"
    finally:
        window.close()
        runtime.close()
