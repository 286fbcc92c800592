"""The walk-forward use case: kept in the run store as a run of kind "walkforward" (the
stitched series, the windows, the plan, the efficiency and the criteria), reopened and
compared like other runs, the bars read from the store once, a walk that cannot run kept as
failed with the reason; and runs.db gaining its `kind` column on open."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pandas as pd
import pytest
from vnpy.trader.constant import Exchange

from terminal.backtest.runs import RunStore
from terminal.backtest.stats import format_value
from terminal.core.paths import DataPaths
from terminal.services import backtest, optimisation, strategies, walkforward
from terminal.services.errors import BadInput
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import MarketStore

from tests.helpers import SHARED_DATA

RB = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
needs_rb = pytest.mark.skipif(not RB.exists(), reason=f"{RB} is not there")
RANGES = {"fast_window": [5, 10], "slow_window": [20, 30]}

# runs.db as the run store made it before the kind column (terminal/backtest/runs.py then)
OLD_SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, strategy TEXT NOT NULL, vt_symbol TEXT NOT NULL,
    interval TEXT NOT NULL, period_start TEXT, period_end TEXT, settings TEXT NOT NULL,
    params TEXT NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL DEFAULT '', stats TEXT,
    created REAL NOT NULL, started REAL, finished REAL);
CREATE INDEX runs_by_strategy ON runs (strategy, vt_symbol, created);
CREATE INDEX runs_by_symbol ON runs (vt_symbol, created);
"""


def test_a_runs_db_made_before_kinds_gains_the_column_on_open(tmp_path):
    db = sqlite3.connect(tmp_path / "runs.db")
    db.executescript(OLD_SCHEMA)
    db.execute("INSERT INTO runs (run_id, strategy, vt_symbol, interval, settings, params, "
               "status, stats, created) VALUES (?,?,?,?,?,?,?,?,?)",
               ("20240101-000000-abcdef12", "DoubleMaStrategy", "rb2401.SHFE", "1m", "{}",
                json.dumps({"fast_window": 5}), "done", json.dumps({"total_net_pnl": 1.5}),
                1.0))
    db.commit()
    db.close()
    with RunStore(tmp_path) as store:
        old = store.get("20240101-000000-abcdef12")
        assert old.kind == "backtest" and old.stats == {"total_net_pnl": 1.5}
        new = store.create("DoubleMaStrategy", "rb2401.SHFE", "1m", None, None,
                           kind="walkforward")
        assert store.get(new).kind == "walkforward"
        assert [r.run_id for r in store.list(kind="backtest")] == [old.run_id]
        assert [r.run_id for r in store.list(kind="walkforward")] == [new]
        assert store.compare([old.run_id, new]).loc["kind"].tolist() == [
            "backtest", "walkforward"]
        with pytest.raises(ValueError, match="unknown run kind 'monte'"):
            store.create("X", "rb2401.SHFE", "1m", None, None, kind="monte")
    with RunStore(tmp_path) as again:          # opened twice: migrated once
        assert again.get(new).kind == "walkforward"


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    if not RB.exists():
        pytest.skip(f"{RB} is not there")
    paths = DataPaths(tmp_path_factory.mktemp("home"))
    paths.market_dir.mkdir(parents=True, exist_ok=True)
    market = MarketStore(paths.market_dir)
    import_file(market, RB)
    market.close()
    return paths


def prepared_and_plan(paths, in_sample=2, out_sample=1):
    entry = strategies.load_entry("DoubleMaStrategy", paths)
    search = optimisation.Search(target="total_net_pnl", workers=2)
    plan = walkforward.plan(entry, RANGES, search, "rolling", in_sample, out_sample)
    prepared = backtest.prepare(paths, entry, "rb2401", Exchange.SHFE, "1m",
                                datetime(2023, 9, 25), datetime(2023, 10, 10),
                                backtest.Costs(), {}, warmup_days=30)
    return prepared, plan, search


@needs_rb
def test_a_walk_forward_is_kept_and_reopened_like_other_runs(paths, monkeypatch):
    reads = []
    real = MarketStore.load_table
    monkeypatch.setattr(MarketStore, "load_table",
                        lambda self, *a, **k: (reads.append(a), real(self, *a, **k))[1])
    prepared, plan, search = prepared_and_plan(paths)
    assert [a[2] for a in reads].count("1m") == 1   # the bars, read once for every window
    loaded = len(reads)             # with each other interval's warm-up days, once
    heard = []
    try:
        kept = walkforward.run_and_keep(prepared, plan, walkforward.runner(search), paths,
                                        lambda percent, text: heard.append(text))
    finally:
        prepared.close()
    assert len(reads) == loaded                  # none per window, none by a worker
    assert kept.error is None and not kept.cancelled
    assert any("window 3 of 4" in text for text in heard)
    result = kept.result
    with RunStore(paths.root / backtest.RUNS_FOLDER) as store:
        record = store.get(kept.run_id)
        assert record.kind == "walkforward" and record.status == "done"
        assert record.settings["walkforward"]["mode"] == "rolling"
        assert record.settings["walkforward"]["in_sample_days"] == 2
        assert record.settings["walkforward"]["space"] == {"fast_window": [5, 10],
                                                           "slow_window": [20, 30]}
        assert record.stats["total_net_pnl"] == result.statistics["total_net_pnl"]
        assert [c["passed"] for c in record.stats["criteria"]] == [
            c.passed for c in result.criteria]
        assert record.stats["windows"] == 4 and record.stats["passed"] == result.passed
        # the workbench's views write every statistic of a run, these too
        shown = {key: format_value(key, value) for key, value in record.stats.items()}
        assert shown["criteria"].startswith("profitable overall: ")
        assert shown["passed"] in ("yes", "no")
        daily = store.load_daily(kept.run_id)
        assert list(daily.index) == list(result.daily.index)
        assert daily["balance"].tolist() == result.daily["balance"].tolist()
        trades = store.load_trades(kept.run_id)
        assert len(trades) == len(result.trades) and "window" in trades.columns
        windows = store.load_windows(kept.run_id)
        pd.testing.assert_frame_equal(windows, result.windows_frame(), check_dtype=False)
        assert windows["param: fast_window"].tolist() == [
            w.params["fast_window"] for w in result.windows]
        assert store.load_windows(store.create("X", "rb2401.SHFE", "1m", None, None)).empty


@needs_rb
def test_a_walk_forward_that_cannot_run_is_kept_as_failed_with_the_reason(paths):
    prepared, plan, search = prepared_and_plan(paths, in_sample=5, out_sample=2)
    try:
        kept = walkforward.run_and_keep(prepared, plan, walkforward.runner(search), paths)
    finally:
        prepared.close()
    assert kept.result is None and "holds 6 trading days" in kept.error
    with RunStore(paths.root / backtest.RUNS_FOLDER) as store:
        record = store.get(kept.run_id)
    assert record.status == "failed" and record.kind == "walkforward"
    assert "fewer than one in-sample window (5) plus one out-of-sample window (2)" \
        in record.error


def test_a_plan_names_the_bad_value(tmp_path):
    entry = strategies.load_entry("DoubleMaStrategy", DataPaths(tmp_path))
    search = optimisation.Search()
    with pytest.raises(BadInput, match="--mode 'sliding'"):
        walkforward.plan(entry, RANGES, search, "sliding", 10, 5)
    with pytest.raises(BadInput, match="--out-sample 0"):
        walkforward.plan(entry, RANGES, search, "rolling", 10, 0)
    with pytest.raises(BadInput, match="--range"):
        walkforward.plan(entry, {}, search, "rolling", 10, 5)
    genetic = optimisation.Search(genetic=True)
    assert walkforward.plan(entry, RANGES, genetic, "anchored", 10, 5).seed is not None


@needs_rb
def test_a_cancelled_walk_forward_is_kept_as_cancelled(paths):
    prepared, plan, search = prepared_and_plan(paths)
    walk = walkforward.runner(search)
    try:
        kept = walkforward.run_and_keep(prepared, plan, walk, paths,
                                        lambda percent, text: walk.cancel())
    finally:
        prepared.close()
    assert kept.cancelled and kept.error is None
    with RunStore(paths.root / backtest.RUNS_FOLDER) as store:
        record = store.get(kept.run_id)
        assert record.status == "cancelled" and record.stats == {}
        assert store.load_windows(kept.run_id).empty


@needs_rb
def test_the_workbench_route_walks_as_the_command_line_does(paths):
    """submit_walk hands the walk to a pool job (a worker reads the bars and walks with its
    own workers); keep_result keeps what comes back: the same windows, choices and stitched
    statistics as run_and_keep's in-process walk."""
    from terminal.backtest.pool import BacktestPool

    prepared, plan, search = prepared_and_plan(paths)
    try:
        cli = walkforward.run_and_keep(prepared, plan, walkforward.runner(search), paths)
    finally:
        prepared.close()
    entry = strategies.load_entry("DoubleMaStrategy", paths)
    gui_plan = walkforward.plan(entry, RANGES, search, "rolling", 2, 1)
    with RunStore(paths.root / backtest.RUNS_FOLDER) as store, \
            BacktestPool(max_workers=1) as pool:
        def submit(job, kwargs, name, time_limit):
            return pool.submit(job, kwargs=kwargs, name=name, time_limit=time_limit)

        run_id, handle = walkforward.submit_walk(
            store, submit, paths.market_dir, entry, prepared.settings, gui_plan, workers=2,
            warmup_days=30, time_limit=None)
        assert store.get(run_id).status == "queued"
        assert store.get(run_id).kind == "walkforward"
        result = handle.result(timeout=300)
        walkforward.keep_result(store, run_id, result)
        record, earlier = store.get(run_id), store.get(cli.run_id)
        assert record.status == "done"
        assert record.settings["walkforward"]["where"] == "local, 2 workers"
        for key in ("total_net_pnl", "sharpe_ratio", "walkforward_efficiency", "criteria"):
            assert record.stats[key] == earlier.stats[key], key
        windows = store.load_windows(run_id)
        assert windows["window"].tolist() == [1, 2, 3, 4]
        assert windows["param: fast_window"].tolist() == [
            w.params["fast_window"] for w in cli.result.windows]
        pd.testing.assert_frame_equal(windows, store.load_windows(cli.run_id))
        pd.testing.assert_frame_equal(store.load_daily(run_id), store.load_daily(cli.run_id))


@needs_rb
def test_a_walk_forward_report_holds_its_judgement_and_windows(paths):
    """`report RUN_ID` of a walk-forward: the plan, PASSED or FAILED, each criterion as kept,
    one row a window with the setting chosen, then the stitched run's sections."""
    from html.parser import HTMLParser

    from terminal.services import reports

    prepared, plan, search = prepared_and_plan(paths)
    try:
        kept = walkforward.run_and_keep(prepared, plan, walkforward.runner(search), paths)
    finally:
        prepared.close()
    with RunStore(paths.root / backtest.RUNS_FOLDER) as store:
        text = reports.stored_run_report(store, kept.run_id)
        record = store.get(kept.run_id)
        windows = store.load_windows(kept.run_id)

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.row, self.cell = [], None, None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.row = []
            elif tag in ("td", "th") and self.row is not None:
                self.cell = ""

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.row is not None:
                self.row.append(self.cell)
                self.cell = None
            elif tag == "tr":
                self.rows.append(self.row)
                self.row = None

    cells = Cells()
    cells.feed(text)
    assert f"walk-forward {kept.run_id}" in text and "<h2>Walk-forward</h2>" in text
    verdict = "PASSED" if record.stats["passed"] else "FAILED"
    assert f"{verdict}: " in text and "rolling windows, 2 trading days in sample" in text
    criteria = {row[0]: row[3] for row in cells.rows
                if len(row) == 5 and row[3] in ("PASS", "FAIL")}
    assert criteria == {c["name"]: "PASS" if c["passed"] else "FAIL"
                        for c in record.stats["criteria"]}
    window_rows = [row for row in cells.rows if row and row[0] in {"1", "2", "3", "4"}
                   and " to " in row[1]]
    assert [int(row[3]) for row in window_rows] == windows["param: fast_window"].tolist()
    assert "http" not in text and "<script" not in text
    # the report's round trips are the statistics' own: matched window by window
    with RunStore(paths.root / backtest.RUNS_FOLDER) as store:
        trades = store.load_trades(kept.run_id)
    from terminal.backtest import run_series
    trips = run_series.stored_round_trips(trades, record.settings)
    assert len(trips) == record.stats["closed_trades"]
    assert sum(t.net_pnl for t in trips) == pytest.approx(
        sum(t.net_pnl for w in kept.result.windows for t in run_series.stored_round_trips(
            trades[trades["window"] == w.window.number], record.settings)))


@needs_rb
def test_a_walk_whose_result_cannot_be_saved_is_kept_failed_saying_so(paths, monkeypatch):
    prepared, plan, search = prepared_and_plan(paths)

    def full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunStore, "save_result", full)
    try:
        kept = walkforward.run_and_keep(prepared, plan, walkforward.runner(search), paths)
    finally:
        prepared.close()
    assert kept.error.startswith("the result could not be saved: ")
    with RunStore(paths.root / backtest.RUNS_FOLDER) as store:
        record = store.get(kept.run_id)
    assert record.status == "failed" and "No space left on device" in record.error


@needs_rb
def test_the_workbench_walk_runs_on_a_dask_cluster_as_on_this_machine(paths):
    """A scheduler address in the workbench's search sends the walk's settings to the
    cluster (the strategy loaded there from its file): the same windows and statistics."""
    distributed = pytest.importorskip("distributed")
    from terminal.backtest.walkforward_job import walk_forward

    prepared, plan, _ = prepared_and_plan(paths)
    prepared.close()
    entry = strategies.load_entry("DoubleMaStrategy", paths)
    job = dict(market_root=paths.market_dir, strategy=strategies.worker_strategy(entry),
               settings=prepared.settings, plan=plan)
    local = walk_forward(lambda *_: None, workers=2, **job)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        remote = walk_forward(lambda *_: None, scheduler=cluster.scheduler_address, **job)
        assert "dask_chunk" in cluster.scheduler.task_prefixes    # evaluated there
    assert [w.params for w in remote.windows] == [w.params for w in local.windows]
    assert remote.statistics["total_net_pnl"] == local.statistics["total_net_pnl"]
    pd.testing.assert_frame_equal(remote.daily, local.daily)
