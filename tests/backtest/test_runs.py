"""The run store: every run kept with its parameters, settings, status, error and statistics
(SQLite), daily results and trades (Parquet); listed newest first and filtered, opened
without recomputing, compared side by side, deleted; runs cut short by a stop marked failed."""

from __future__ import annotations

import math
import sqlite3
import time
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from vnpy.trader.constant import Direction, Exchange, Interval, Offset
from vnpy.trader.object import BarData, TradeData
from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy

from terminal.backtest.runs import (
    CANCELLED, DONE, FAILED, INTERRUPTED, QUEUED, RUNNING, RunNotFound, RunStore)
from terminal.storage.market_store import CHINA_TZ

from tests.helpers import random_walk_bars

START, END = datetime(2023, 9, 25), datetime(2023, 10, 10)


def synthetic_bars() -> list[BarData]:
    return random_walk_bars("rb2401", days=3, per_day=240, seed=7, step=3)


@pytest.fixture
def store(tmp_path):
    runs = RunStore(tmp_path / "runs")
    yield runs
    runs.close()


@pytest.fixture(scope="module")
def backtest():
    """A real vn.py backtest: (daily_df, trades, statistics)."""
    from vnpy_ctastrategy.backtesting import BacktestingEngine

    class Quiet(BacktestingEngine):
        def output(self, msg):
            pass

    bars = synthetic_bars()
    engine = Quiet()
    engine.set_parameters("rb2401.SHFE", Interval.MINUTE, bars[0].datetime, rate=1e-4,
                          slippage=1, size=10, pricetick=1, capital=1_000_000,
                          end=bars[-1].datetime)
    engine.add_strategy(DoubleMaStrategy, {"fast_window": 5, "slow_window": 20})
    engine.history_data = bars
    engine.load_bar = lambda *args, **kwargs: []     # no warm-up from a database
    engine.run_backtesting()
    daily = engine.calculate_result()
    stats = engine.calculate_statistics(output=False)
    assert engine.trades
    return daily, list(engine.trades.values()), stats


def new_run(store, strategy="DoubleMaStrategy", vt_symbol="rb2401.SHFE", **params) -> str:
    return store.create(strategy, vt_symbol, Interval.MINUTE, START, END,
                        {"rate": 1e-4, "size": 10, "capital": 1_000_000}, params)


def test_a_run_goes_from_queued_to_done_with_its_results(store, backtest):
    daily, trades, stats = backtest
    run_id = new_run(store, fast_window=5, slow_window=20)
    record = store.get(run_id)
    assert record.status == QUEUED and record.error == "" and record.stats == {}
    assert (record.strategy, record.vt_symbol, record.interval) == \
        ("DoubleMaStrategy", "rb2401.SHFE", "1m")
    assert (record.start, record.end) == (START, END)
    assert record.params == {"fast_window": 5, "slow_window": 20}
    assert record.settings == {"rate": 1e-4, "size": 10, "capital": 1_000_000}

    store.set_status(run_id, RUNNING)
    assert store.get(run_id).status == RUNNING and store.get(run_id).started is not None
    store.save_result(run_id, stats, daily, trades)
    record = store.get(run_id)
    assert record.status == DONE and record.finished >= record.started
    assert record.stats == {k: (v.item() if isinstance(v, np.generic) else v)
                            for k, v in stats.items()}
    assert isinstance(record.stats["start_date"], date)      # dates come back as dates
    assert isinstance(record.stats["total_trade_count"], int)

    loaded = store.load_daily(run_id)                # opened without recomputing
    expected = daily.drop(columns=["trades"])
    assert list(loaded.index) == list(expected.index)
    pd.testing.assert_frame_equal(loaded, expected, check_dtype=False, check_index_type=False)
    loaded_trades = store.load_trades(run_id)
    assert len(loaded_trades) == len(trades)
    first = loaded_trades.iloc[0]
    assert (first.tradeid, first.direction, first.offset, first.price, first.volume) == \
        (trades[0].tradeid, trades[0].direction.value, trades[0].offset.value,
         trades[0].price, trades[0].volume)
    assert first.datetime == pd.Timestamp(trades[0].datetime)
    assert not list((store.root / run_id).glob(".*.tmp"))


def test_failures_and_cancels_keep_their_reason(store):
    failed, cancelled = new_run(store), new_run(store)
    store.set_status(failed, RUNNING)
    store.set_status(failed, FAILED, "Traceback ...\nZeroDivisionError: division by zero")
    store.set_status(cancelled, CANCELLED)
    assert store.get(failed).status == FAILED
    assert store.get(failed).error.endswith("division by zero")
    assert store.get(cancelled).status == CANCELLED
    assert store.load_daily(failed).empty and store.load_trades(failed).empty
    with pytest.raises(ValueError, match="unknown run status 'finished'"):
        store.set_status(failed, "finished")
    with pytest.raises(RunNotFound):
        store.set_status("20240101-000000-deadbeef", DONE)


def test_history_is_newest_first_and_filtered(store):
    a = new_run(store, "DoubleMaStrategy", "rb2401.SHFE")
    time.sleep(0.01)
    b = new_run(store, "AtrRsiStrategy", "rb2401.SHFE")
    time.sleep(0.01)
    c = new_run(store, "DoubleMaStrategy", "IF2401.CFFEX")
    assert [r.run_id for r in store.list()] == [c, b, a]
    assert [r.run_id for r in store.list(strategy="DoubleMaStrategy")] == [c, a]
    assert [r.run_id for r in store.list(vt_symbol="rb2401.SHFE")] == [b, a]
    assert [r.run_id for r in store.list(strategy=DoubleMaStrategy,
                                         vt_symbol="IF2401.CFFEX")] == [c]
    assert [r.run_id for r in store.list(limit=1)] == [c]
    assert store.list(strategy="Nothing") == []
    assert store.strategies() == ["AtrRsiStrategy", "DoubleMaStrategy"]
    assert store.symbols() == ["IF2401.CFFEX", "rb2401.SHFE"]


def test_runs_compare_side_by_side(store, backtest):
    daily, trades, stats = backtest
    one, two = new_run(store, fast_window=5), new_run(store, fast_window=10, slow_window=30)
    store.save_result(one, stats, daily, trades)
    store.save_result(two, {**stats, "sharpe_ratio": 9.5, "total_return": 1.25}, daily, trades)
    table = store.compare([one, two])
    assert list(table.columns) == [one, two]
    assert table.loc["param: fast_window"].tolist() == [5, 10]
    assert table.loc["param: slow_window"].tolist() == [None, 30]
    assert table.loc["sharpe_ratio"].tolist() == [float(stats["sharpe_ratio"]), 9.5]
    assert table.loc["strategy"].tolist() == ["DoubleMaStrategy"] * 2
    assert "total_net_pnl" in table.index
    assert "param: fast_window" not in store.compare([one, two], params=False).index


def test_delete_removes_the_row_and_the_files(store, backtest):
    daily, trades, stats = backtest
    kept, deleted = new_run(store), new_run(store)
    for run_id in (kept, deleted):
        store.save_result(run_id, stats, daily, trades)
    store.delete(deleted)
    assert not (store.root / deleted).exists()
    assert [r.run_id for r in store.list()] == [kept]
    with pytest.raises(RunNotFound):
        store.get(deleted)
    with pytest.raises(RunNotFound):
        store.delete(deleted)
    assert len(store.load_trades(kept)) == len(trades)


def test_runs_cut_short_by_a_stop_are_marked_failed_on_open(tmp_path, backtest):
    daily, trades, stats = backtest
    store = RunStore(tmp_path / "runs")
    done, running, queued = new_run(store), new_run(store), new_run(store)
    store.save_result(done, stats, daily, trades)
    store.set_status(running, RUNNING)
    # a delete cut short (row gone, folder left) and a write cut short (temporary file)
    orphan = store.root / "20200101-000000-0badf00d"
    orphan.mkdir()
    (orphan / "daily.parquet").write_bytes(b"partial")
    (store.root / done / ".daily.parquet.tmp").write_bytes(b"partial")
    store._db.close()                   # as if the process died: no clean close

    reopened = RunStore(tmp_path / "runs")
    assert sorted(reopened.recovered) == sorted([running, queued])
    for run_id in (running, queued):
        record = reopened.get(run_id)
        assert (record.status, record.error) == (FAILED, INTERRUPTED)
    assert reopened.get(done).status == DONE
    assert len(reopened.load_daily(done)) == len(daily)
    assert not orphan.exists()
    assert not (reopened.root / done / ".daily.parquet.tmp").exists()
    reopened.close()


def test_the_database_is_wal_and_statistics_are_plain_json(store):
    run_id = new_run(store)
    store.save_result(run_id, {"sharpe_ratio": np.float64(1.5), "total_days": np.int64(3),
                               "start_date": date(2023, 9, 25), "bad": math.nan,
                               "when": datetime(2023, 9, 25, 9, 0, tzinfo=CHINA_TZ)},
                      None, None)
    db = sqlite3.connect(store.root / "runs.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    text = db.execute("SELECT stats FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]
    db.close()
    assert '"sharpe_ratio": 1.5' in text and '"total_days": 3' in text
    stats = store.get(run_id).stats
    assert stats["start_date"] == date(2023, 9, 25) and math.isnan(stats["bad"])
    assert stats["when"] == datetime(2023, 9, 25, 9, 0, tzinfo=CHINA_TZ)
    assert store.load_daily(run_id).empty and store.load_trades(run_id).empty


def test_trades_can_be_given_as_a_frame(store):
    trade = TradeData("BACKTESTING", "rb2401", Exchange.SHFE, "1", "1", Direction.SHORT,
                      Offset.CLOSE, 3701.0, 2, datetime(2023, 9, 25, 10, 0, tzinfo=CHINA_TZ))
    run_id = new_run(store)
    store.save_result(run_id, {}, None, pd.DataFrame([{"tradeid": "1", "direction":
                                                       Direction.SHORT, "price": 3701.0}]))
    assert store.load_trades(run_id).direction.tolist() == [Direction.SHORT.value]
    other = new_run(store)
    store.save_result(other, {}, None, {"BACKTESTING.1": trade})
    assert store.load_trades(other).offset.tolist() == [Offset.CLOSE.value]
