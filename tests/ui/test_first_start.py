"""The first start shows a chart: a new user sees a market, not an empty space where charts go.
Later starts keep the layout the trader left, charts or none."""

from __future__ import annotations

from terminal.app.main import start
from terminal.ui.thread_jobs import ThreadJob
from tests.helpers.gui import WAIT


def test_first_start_opens_a_chart_of_the_first_watchlist_symbol(qtbot, data_dir):
    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    try:
        first = runtime.watchlist.symbols[0]
        qtbot.waitUntil(lambda: window.is_settled and bool(window.chart_docks.charts), timeout=WAIT)
        [chart] = window.chart_docks.charts.values()
        qtbot.waitUntil(lambda: not chart.loading, timeout=WAIT)
        assert chart.vt_symbol == first
        qtbot.waitUntil(lambda: window.docks["chart_1"].height()
                        > 1.8 * window.docks["orders"].height(), timeout=WAIT)  # room for it
        window.docks["chart_1"].close()          # the trader closes it: that is the layout now
    finally:
        window.close()
        runtime.close()

    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.is_settled, timeout=WAIT)
        # (`settled` is emitted in the call that sets is_settled: a first chart would be open)
        assert window.chart_docks.charts == {}
    finally:
        window.close()
        runtime.close()


def test_closing_the_window_drops_a_chart_history_still_loading(qtbot, terminal, monkeypatch):
    """The history arrives after the window closed: it is not shown on the closed chart (whose
    items Qt may have deleted by then), and its live watch is given back."""
    import threading

    from terminal.services.chart_history import ChartSources

    runtime, window = terminal
    release, asked = threading.Event(), threading.Event()
    real = ChartSources.history

    def held(self, *args):
        asked.set()
        release.wait(WAIT / 1000)
        return real(self, *args)

    monkeypatch.setattr(ChartSources, "history", held)
    chart = window.open_chart("rb2701.SHFE", "1m")
    qtbot.waitUntil(asked.is_set, timeout=WAIT)
    window.close()
    release.set()
    qtbot.waitUntil(lambda: not ThreadJob.live(), timeout=WAIT)   # its answer delivered
    assert chart.vt_symbol == "" and len(chart.chart.series) == 0
    assert not runtime.live_bars._watchers
