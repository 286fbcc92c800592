"""The Performance dock over a journal written in the test (tests/helpers/journal_session.py):
the range buttons, the tables, the plots, the scatter and the refresh on new trades."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt

from terminal.core.bridge import Batch
from terminal.services.performance import live_performance
from terminal.ui.colours import UP_HEX
from terminal.ui.docks.performance import PerformanceDock
from tests.helpers.journal_session import session_bars, write_session

TODAY = date(2026, 11, 4)


@pytest.fixture
def dock(qtbot, data_dir, store):
    path = write_session(data_dir)
    store.save_bars(session_bars())
    loads = []

    def load(start, end, progress):
        loads.append((start, end))
        return live_performance(path, store, start, end, progress=progress)

    widget = PerformanceDock(load, today=lambda: TODAY)
    widget.loads = loads
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()


def loaded(qtbot, dock, count: int) -> None:
    qtbot.waitUntil(lambda: len(dock.loads) >= count and dock._job is None, timeout=10_000)


def texts(model, column: int) -> list[str]:
    return [model.text(row, column) for row in range(model.rowCount())]


def test_this_month_shows_the_session(qtbot, dock):
    qtbot.mouseClick(dock.buttons["This month"], Qt.MouseButton.LeftButton)
    loaded(qtbot, dock, 1)
    assert dock.loads == [(date(2026, 11, 1), TODAY)]
    assert dock.status.text().startswith("5 round trips closed on trading days 2026-11-01")
    assert "xx2701.SHFE left out" in dock.notes.text() and not dock.notes.isHidden()
    summary = dict(zip(texts(dock.summary_model, 0), texts(dock.summary_model, 1), strict=True))
    assert summary["Net P&L"] == "-134.61" and summary["Win rate"] == "40.00%"
    assert summary["Max drawdown of realised P&L"] == "3,055.27"
    assert texts(dock.breakdown_models["hour"], 0) == ["21:00", "09:00", "10:00"]
    assert texts(dock.breakdown_models["strategy"], 0) == ["DoubleMa", "manual"]
    trips = dock.trips_model
    assert trips.rowCount() == 5
    mae = [c.title for c in trips.columns].index("MAE")
    assert texts(trips, mae) == ["200.00", "no bars", "no bars", "no bars", "no bars"]
    assert dock.day_axis.days == ["2026-11-02", "2026-11-03", "2026-11-04"]
    _, y = dock.equity_curve.getData()
    assert list(y) == pytest.approx([0, 187.98, 81.93, -24.07, 2920.661, -134.608])
    assert list(dock.daily_bars.opts["height"]) == pytest.approx([81.93, 2838.731, -3055.269])
    points = dock.scatter.points()
    assert len(points) == 1 and points[0].pos().x() == 200 and points[0].pos().y() == 300
    assert points[0].brush().color().name() == UP_HEX        # a win
    assert "4 without stored 1-minute bars are not shown" in dock.scatter_note.text()


def test_today_and_a_backwards_range(qtbot, dock):
    dock.show_range("today")
    loaded(qtbot, dock, 1)
    assert dock.loads[-1] == (TODAY, TODAY)
    assert dock.status.text().startswith("1 round trips")
    dock.show_range("week")
    loaded(qtbot, dock, 2)
    assert dock.loads[-1] == (date(2026, 11, 2), TODAY)
    dock.start_edit.setDate(dock.end_edit.date().addDays(1))
    assert "after it ends" in dock.status.text()
    assert len(dock.loads) == 2                      # nothing read for a backwards range


def test_new_trades_refresh_within_a_second_while_the_range_reaches_today(qtbot, dock):
    dock.show()
    dock.show_range("week")
    loaded(qtbot, dock, 1)
    trade = Batch(trades=[object()])
    dock.apply(Batch())
    assert not dock.auto.isActive()                  # no trades: nothing to do
    dock.apply(trade)
    assert dock.auto.isActive()
    dock.auto.stop()
    dock.auto.timeout.emit()                         # the second has passed
    loaded(qtbot, dock, 2)
    dock.end_edit.setDate(dock.end_edit.date().addDays(-1))   # the range ends before today
    loaded(qtbot, dock, 3)
    dock.apply(trade)
    assert not dock.auto.isActive()
    assert dock.loads[-1] == (date(2026, 11, 2), date(2026, 11, 3))
