"""The Monte Carlo tab and "Export report…" of the workbench's results, on a stored run: the
simulation runs off the GUI thread and shows what the service computes (table, fan, the
run's own path), the loss words follow the loss without simulating again, a result for a
run no longer shown is dropped, a refusal is shown, and the report is written with the
tab's Monte Carlo in it."""

from __future__ import annotations

import threading
from datetime import datetime

import numpy as np
import pytest

from terminal.backtest.pool_jobs import RunResult
from terminal.backtest.runs import FAILED, RunStore
from terminal.core.timezone import CHINA_TZ
from terminal.services import montecarlo
from tests.helpers.gui import WAIT
from tests.helpers.stored_runs import daily_frame, round_trip_fills, store_run, trading_days

TRIPS = [500.0, -300.0, 200.0, -800.0, 1_000.0, -100.0, 400.0, -600.0, 300.0, 250.0, -50.0]


@pytest.fixture
def runs(tmp_path):
    with RunStore(tmp_path / "backtests") as store:
        yield store


def stored(runs, trips=TRIPS):
    days = trading_days(25)
    daily = daily_frame(days, [(-1) ** i * 100.0 + 20 for i in range(25)], 100_000.0)
    return store_run(runs, daily, round_trip_fills(trips, 10.0, datetime(2023, 1, 30, 9)))


def opened(runs, run_id):
    record = runs.get(run_id)
    return RunResult(stats=record.stats, daily=runs.load_daily(run_id),
                     trades=runs.load_trades(run_id)), record


@pytest.fixture
def view(qtbot):
    from terminal.ui.backtest.results import ResultsView

    view = ResultsView(CHINA_TZ)
    qtbot.addWidget(view)
    yield view
    view.monte_carlo.pool.waitForDone(WAIT)
    view.report_export.pool.waitForDone(WAIT)


def run_tab(qtbot, panel):
    job = panel.run()
    assert job is not None
    qtbot.waitUntil(lambda: job.done, timeout=WAIT)
    return job


def test_the_tab_shows_the_services_monte_carlo_computed_off_the_gui_thread(
        qtbot, view, runs, monkeypatch):
    run_id = stored(runs)
    view.show_run(*opened(runs, run_id))
    panel = view.monte_carlo
    assert view.tabs.tabText(view.tabs.indexOf(panel)) == "Monte Carlo"
    assert panel.loss_box.value() == 10_000                    # 10% of the capital
    threads = []
    real = montecarlo.simulate

    def watched(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(montecarlo, "simulate", watched)
    panel.method_box.setCurrentIndex(2)                        # daily returns
    panel.simulations_box.setValue(400)
    panel.seed_box.setValue(5)
    run_tab(qtbot, panel)
    assert threads and threads[0] is not threading.main_thread()
    expected = real(runs.get(run_id), runs.load_daily(run_id), runs.load_trades(run_id),
                    "daily", 400, 5)
    shown = panel.snapshot()
    assert shown["table"] == [list(row) for row in montecarlo.percentile_rows(expected)]
    np.testing.assert_allclose(shown["median"], expected.result.fan()[2])
    np.testing.assert_allclose(shown["actual"], expected.actual)
    assert "400 simulations of 25 trading days" in shown["status"]
    assert panel.fan_axis.days == ["start", *(d.isoformat() for d in trading_days(25))]
    assert shown["loss"].splitlines()[1:] == montecarlo.loss_words(expected, 10_000)
    panel.loss_box.setValue(300)                               # no new simulation
    assert len(threads) == 1
    assert panel.snapshot()["loss"].splitlines()[1:] == montecarlo.loss_words(expected, 300)


def test_a_result_for_a_run_no_longer_shown_is_dropped(qtbot, view, runs):
    first, second = stored(runs), stored(runs, TRIPS[::-1])
    view.show_run(*opened(runs, first))
    job = view.monte_carlo.run()
    view.show_run(*opened(runs, second))     # before the job's result reaches the GUI thread
    qtbot.waitUntil(lambda: job.done, timeout=WAIT)
    assert view.monte_carlo.shown is None
    assert view.monte_carlo.snapshot()["table"] == []


def test_a_refusal_is_shown_and_an_unfinished_run_cannot_run(qtbot, view, runs):
    few = stored(runs, TRIPS[:4])
    view.show_run(*opened(runs, few))
    run_tab(qtbot, view.monte_carlo)
    assert "has 4 closed round trips" in view.monte_carlo.snapshot()["status"]
    failed = stored(runs)
    runs.set_status(failed, FAILED, "broken")
    view.show_run(*opened(runs, failed))
    assert not view.monte_carlo.run_button.isEnabled()
    assert view.monte_carlo.run() is None


def test_export_writes_the_report_with_the_tabs_monte_carlo(qtbot, view, runs, tmp_path,
                                                            monkeypatch):
    from terminal.ui.backtest import montecarlo as tab

    run_id = stored(runs)
    view.show_run(*opened(runs, run_id))
    plain = tmp_path / "plain.html"
    job = view.report_export.export(plain)
    qtbot.waitUntil(lambda: job.done, timeout=WAIT)
    assert "Monte Carlo" not in plain.read_text(encoding="utf-8")
    run_tab(qtbot, view.monte_carlo)
    chosen = tmp_path / "with-mc.html"
    monkeypatch.setattr(tab.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(chosen), "")))
    view.report_export.button.click()
    qtbot.waitUntil(lambda: chosen.exists(), timeout=WAIT)
    view.report_export.pool.waitForDone(WAIT)
    text = chosen.read_text(encoding="utf-8")
    assert "<h2>Monte Carlo</h2>" in text and "seed 7" in text
    qtbot.waitUntil(lambda: "Report written to" in view.report_export.status.text(),
                    timeout=WAIT)
    bad = view.report_export.export(tmp_path / "missing" / "r.html")
    qtbot.waitUntil(lambda: bad.done, timeout=WAIT)
    assert "does not exist" in view.report_export.status.text()
