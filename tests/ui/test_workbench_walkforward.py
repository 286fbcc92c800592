"""The workbench's Walk-forward tab: a walk set up in the dock runs as a pool job, is kept as a
run of kind "walkforward" and shows its criteria, windows and stitched balance; History opens
it again; a walk that cannot run says why and is kept failed."""

from __future__ import annotations

import pytest

from terminal.backtest.runs import DONE, FAILED
from terminal.plugins.loader import SHIPPED_FOLDER, StrategyCatalog
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import MarketStore
from terminal.ui.backtest import BacktestWorkbench

from tests.helpers import SHARED_DATA

WAIT = 120_000  # ms: a walk of 4 windows on a loaded machine
RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
pytestmark = pytest.mark.skipif(not RB_FILE.exists(),
                                reason=f"shared market data not found: {RB_FILE}")


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    store = MarketStore(tmp_path_factory.mktemp("walk") / "market")
    if RB_FILE.exists():
        import_file(store, RB_FILE)
    yield store
    store.close()


@pytest.fixture
def bench(qtbot, market, tmp_path):
    catalog = StrategyCatalog([SHIPPED_FOLDER])
    catalog.refresh()
    workbench = BacktestWorkbench(catalog, market, tmp_path / "backtests", max_workers=2)
    qtbot.addWidget(workbench)
    workbench.resize(1400, 800)
    workbench.show()
    yield workbench
    workbench.shutdown()
    catalog.close()


def set_up(bench, in_sample: int, out_sample: int):
    assert bench.form.set_strategy("DoubleMaStrategy")
    assert bench.form.select_series("rb2401.SHFE", "1m")
    panel = bench.walkforward
    panel.search.set_range("fast_window", 5, 10, 5)
    panel.search.set_range("slow_window", 20, 30, 10)
    panel.search.target_box.setCurrentIndex(panel.search.target_box.findData("total_net_pnl"))
    panel.search.workers_spin.setValue(2)
    panel.in_sample_spin.setValue(in_sample)
    panel.out_sample_spin.setValue(out_sample)
    return panel


def test_a_walk_forward_from_the_tab_is_kept_shown_and_opened_again(qtbot, bench, tmp_path):
    panel = set_up(bench, 2, 1)
    with qtbot.waitSignal(panel.kept, timeout=WAIT) as kept:
        handle = panel.start()
        assert handle is not None, panel.status_label.text()
        assert panel.cancel_button.isEnabled() and not panel.start_button.isEnabled()
    run_id = kept.args[0]
    assert handle.state == DONE, handle.error
    record = bench.runs.get(run_id)
    assert record.kind == "walkforward" and record.status == DONE
    assert record.settings["walkforward"]["in_sample_days"] == 2
    assert run_id in bench.history.run_ids()
    # the criteria, each PASS or FAIL as kept with the run
    rows = panel.criteria_model.rows
    assert [row[0] for row in rows] == [c["name"] for c in record.stats["criteria"]]
    assert [row[3] for row in rows] == ["PASS" if c["passed"] else "FAIL"
                                        for c in record.stats["criteria"]]
    verdict = "PASSED" if record.stats["passed"] else "FAILED"
    assert verdict in panel.verdict_label.text() and run_id in panel.verdict_label.text()
    # one row a window with the setting chosen in it, as the run keeps them
    windows = bench.runs.load_windows(run_id)
    assert len(panel.windows_model.rows) == len(windows) == 4
    assert [row[3] for row in panel.windows_model.rows] == windows["param: fast_window"].tolist()
    # the stitched balance, a dashed line where each window's trading starts
    daily = bench.runs.load_daily(run_id)
    assert panel.equity_curve.yData.tolist() == daily["balance"].tolist()
    assert len(panel.window_lines) == 4

    # opened again from History: the tab shows it, Results shows the stitched run
    panel.criteria_model.set_rows([])
    panel.windows_model.set_rows([])
    with qtbot.waitSignal(bench.run_opened, timeout=WAIT):
        bench.open_run(run_id)
    qtbot.waitUntil(lambda: len(panel.windows_model.rows) == 4, timeout=WAIT)
    assert [row[3] for row in panel.criteria_model.rows] == [
        "PASS" if c["passed"] else "FAIL" for c in record.stats["criteria"]]
    assert bench.results.record.run_id == run_id
    # its report from Results holds the judgement and the windows
    report = tmp_path / "walk.html"
    job = bench.results.report_export.export(report)
    with qtbot.waitSignal(job.finished, timeout=WAIT):
        pass
    text = report.read_text(encoding="utf-8")
    assert "<h2>Walk-forward</h2>" in text and f"walk-forward {run_id}" in text
    assert text.count("(OOS)") >= 3


def test_a_walk_that_cannot_run_says_why_and_is_kept_failed(qtbot, bench):
    panel = set_up(bench, 5, 2)
    with qtbot.waitSignal(panel.kept, timeout=WAIT) as kept:
        assert panel.start() is not None
    record = bench.runs.get(kept.args[0])
    assert record.status == FAILED and "holds 6 trading days" in record.error
    assert "holds 6 trading days" in panel.status_label.text()
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_a_plan_that_cannot_run_is_refused_before_it_starts(qtbot, bench):
    panel = set_up(bench, 2, 1)
    panel.search.set_range("fast_window", 5, 10, 5, chosen=False)
    panel.search.set_range("slow_window", 20, 30, 10, chosen=False)
    assert panel.start() is None
    assert "no parameters chosen" in panel.status_label.text()
    assert bench.runs.list(kind="walkforward") == []


def test_a_dask_scheduler_typed_in_the_search_goes_to_the_job(qtbot, bench, monkeypatch):
    panel = set_up(bench, 2, 1)
    assert panel.search.search().scheduler is None          # blank: this machine
    panel.search.cluster_edit.setText("  tcp://10.0.0.5:8786 ")
    asked = {}

    def submit(job, kwargs, name, time_limit):
        asked.update(kwargs)
        raise RuntimeError("not started in this test")

    monkeypatch.setattr(bench.signals, "submit", submit)
    assert panel.start() is None and "could not start" in panel.status_label.text()
    assert asked["scheduler"] == "tcp://10.0.0.5:8786"
    record = bench.runs.list(kind="walkforward")[0]
    assert record.settings["walkforward"]["where"] == "tcp://10.0.0.5:8786"
    assert record.status == "failed"
