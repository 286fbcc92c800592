"""Drawings in the terminal's charts: a line drawn on real rb2401 1-minute bars lands on the
bars holding its minutes at 5 minutes and 1 day, and shows in every chart of the symbol."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from terminal.market.drawings import Anchor, new_drawing
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import CHINA_TZ
from tests.helpers import SHARED_DATA
from tests.helpers.gui import WAIT

RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
needs_rb = pytest.mark.skipif(not RB_FILE.exists(), reason=f"{RB_FILE} is not there")


def ns(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=CHINA_TZ).timestamp()) * 1_000_000_000


def switch(qtbot, chart, timeframe: str) -> None:
    chart.timeframe_box.setCurrentIndex(chart.timeframe_box.findData(timeframe))
    qtbot.waitUntil(lambda: not chart.loading and chart.timeframe == timeframe, timeout=WAIT)


@needs_rb
def test_a_line_on_minutes_lands_on_the_right_bars_at_5m_and_1d(qtbot, terminal):
    runtime, window = terminal
    import_file(runtime.store, RB_FILE)
    chart = window.open_chart("rb2401.SHFE", "1m")
    qtbot.waitUntil(lambda: not chart.loading, timeout=WAIT)
    # drawn as the tools would: anchors from the 1-minute chart's own positions
    night = chart.drawing_layer.anchor_at(
        float(np.flatnonzero(chart.chart.series.times == ns(2023, 9, 26, 21, 37))[0]), 3650.0)
    morning = chart.drawing_layer.anchor_at(
        float(np.flatnonzero(chart.chart.series.times == ns(2023, 9, 28, 10, 3))[0]), 3700.0)
    assert (night.time_ns, morning.time_ns) == (ns(2023, 9, 26, 21, 37), ns(2023, 9, 28, 10, 3))
    line = new_drawing("trend", [night, morning])
    runtime.drawings.book("rb2401.SHFE").add(line)
    other = window.open_chart("rb2401.SHFE", "1m")        # a second chart of the symbol
    qtbot.waitUntil(lambda: not other.loading, timeout=WAIT)
    assert [d.id for d in other.drawing_layer._drawings] == [line.id]

    switch(qtbot, chart, "5m")
    starts = chart.chart.series.times
    holding = [int(np.flatnonzero((starts <= a.time_ns) & (a.time_ns < starts + 300e9))[0])
               for a in line.anchors]
    assert [chart.drawing_layer.x_of(a.time_ns) for a in line.anchors] == holding
    assert list(chart.drawing_layer._x) == holding          # what is painted

    switch(qtbot, chart, "d")
    days = [datetime.fromtimestamp(t / 1e9, CHINA_TZ).date() for t in chart.chart.series.times]
    # the night of the 26th trades for the 27th
    wanted = [days.index(datetime(2023, 9, 27).date()), days.index(datetime(2023, 9, 28).date())]
    assert list(chart.drawing_layer._x) == wanted

    runtime.drawings.book("rb2401.SHFE").remove(line.id)   # every chart follows the book
    assert chart.drawing_layer._drawings == other.drawing_layer._drawings == []
    chart.drawing_layer.select(None)
    assert chart.drawing_layer.anchor_at(wanted[0], 1.0) == Anchor(
        ns(2023, 9, 27), 1.0)
