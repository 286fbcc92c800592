"""A tick run's chart: candles built from its ticks in the worker (1, 5 and 15 minutes), equal
to the ticks' open, high, low, close and volume counted by hand, with the fills on them, the
same when the run is reopened from the store."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import TickData
from vnpy_ctastrategy.base import BacktestingMode
from vnpy_ctastrategy.strategies.test_strategy import TestStrategy as VnpyTestStrategy

from terminal.backtest import pool_jobs
from terminal.backtest.engine import BacktestSettings
from terminal.backtest.runs import RunStore
from terminal.backtest.tick_candles import minute_columns, tick_candles
from terminal.core.timezone import CHINA_TZ, to_ns
from terminal.services import backtest_runs
from terminal.storage.market_store import MarketStore

from tests.helpers import SHARED_DATA

TICKS_CSV = SHARED_DATA / "cn_fut_CFFEX_IF2101_tick_20210104-06_wondertrader.csv"
SETTINGS = BacktestSettings(
    vt_symbol="IF2101.CFFEX", interval=Interval.TICK, start=datetime(2021, 1, 4),
    end=datetime(2021, 1, 4), rate=0.000023, slippage=0.2, size=300, pricetick=0.2,
    capital=2_000_000, mode=BacktestingMode.TICK)


def _tick(minute: int, second: int, price: float, volume: float) -> TickData:
    """An rb2405 tick at 09:`minute`:`second`; `volume` is the day's running total."""
    return TickData("T", "rb2405", Exchange.SHFE,
                    datetime(2024, 3, 4, 9, minute, second, tzinfo=CHINA_TZ),
                    last_price=price, volume=volume, high_price=0.0, low_price=0.0)


def test_one_minute_candles_are_the_ticks_counted_by_hand():
    ticks = [_tick(1, 0, 3500, 10), _tick(1, 20, 3504, 14), _tick(1, 40, 3498, 20),
             _tick(1, 59, 3501, 23), _tick(2, 5, 3503, 30), _tick(2, 30, 3499, 31),
             _tick(6, 1, 3510, 40)]
    columns = minute_columns(ticks, CHINA_TZ)
    moments = [datetime(2024, 3, 4, 9, m, tzinfo=CHINA_TZ) for m in (1, 2, 6)]
    assert columns["datetime"].tolist() == [to_ns(m) for m in moments]
    assert columns["open_price"].tolist() == [3500, 3503, 3510]
    assert columns["high_price"].tolist() == [3504, 3503, 3510]
    assert columns["low_price"].tolist() == [3498, 3499, 3510]
    assert columns["close_price"].tolist() == [3501, 3499, 3510]
    # the change of the running total since the tick before: 23-10, 31-23, 40-31
    assert columns["volume"].tolist() == [13, 8, 9]
    five = tick_candles(ticks, "rb2405", Exchange.SHFE, CHINA_TZ)["5m"]
    assert five["open_price"].tolist() == [3500, 3510]          # 09:00-09:05, 09:05-09:10
    assert five["high_price"].tolist() == [3504, 3510]
    assert five["volume"].tolist() == [21, 9]


@pytest.fixture(scope="module")
def tick_market(tmp_path_factory):
    if not TICKS_CSV.exists():
        pytest.skip(f"shared market data not found: {TICKS_CSV}")
    from terminal.storage.csv_import import import_file

    store = MarketStore(tmp_path_factory.mktemp("ticks") / "market")
    import_file(store, TICKS_CSV)
    yield store
    store.close()


@pytest.fixture(scope="module")
def tick_run(tick_market):
    return pool_jobs.run_backtest(lambda *_: None, market_root=tick_market.root,
                                  strategy=lambda: VnpyTestStrategy, settings=SETTINGS)


def test_a_tick_run_on_real_ticks_has_candles_equal_to_its_ticks(tick_market, tick_run):
    candles = tick_run.candles
    assert set(candles) == {"1m", "5m", "15m"}
    assert tick_run.bars is candles["1m"]
    table = tick_market.load_table("IF2101", Exchange.CFFEX, "tick", datetime(2021, 1, 4),
                                   datetime(2021, 1, 4, 23, 59))
    times = table.column("datetime").to_numpy()
    price = table.column("last_price").to_numpy()
    total = table.column("volume").to_numpy()
    minute = to_ns(datetime(2021, 1, 4, 10, 7))
    inside = (times >= minute) & (times < minute + 60_000_000_000)
    before = np.flatnonzero(times < minute)[-1]
    assert inside.sum() > 50
    row = int(np.flatnonzero(candles["1m"]["datetime"] == minute)[0])
    bar = {name: float(values[row]) for name, values in candles["1m"].items()
           if name != "datetime"}
    assert bar["open_price"] == price[inside][0]
    assert bar["high_price"] == price[inside].max()
    assert bar["low_price"] == price[inside].min()
    assert bar["close_price"] == price[inside][-1]
    assert bar["volume"] == total[inside][-1] - total[before]
    # every 5-minute candle holds its five minutes
    five, one = candles["5m"], candles["1m"]
    first = int(np.flatnonzero(five["datetime"] == to_ns(datetime(2021, 1, 4, 10, 5)))[0])
    span = (one["datetime"] >= five["datetime"][first]) & \
        (one["datetime"] < five["datetime"][first] + 5 * 60_000_000_000)
    assert five["high_price"][first] == one["high_price"][span].max()
    assert five["volume"][first] == one["volume"][span].sum()


def test_the_fills_sit_on_the_tick_runs_candles(qtbot, tick_run):
    from terminal.ui.backtest.results import ResultsView

    trades = tick_run.trades
    assert len(trades) >= 2
    view = ResultsView(CHINA_TZ)
    qtbot.addWidget(view)
    view.show_run(tick_run)
    shown = view.snapshot()
    assert shown["candles"] == "1m" and shown["bars"] == len(tick_run.candles["1m"]["datetime"])
    assert "built from its ticks" in shown["chart_note"]
    assert len(shown["fills"]) == len(trades)
    starts = tick_run.candles["1m"]["datetime"]
    for (x, y), (_, trade) in zip(shown["fills"], trades.iterrows(), strict=True):
        held = to_ns(trade["datetime"].to_pydatetime())
        assert starts[int(x)] <= held < starts[int(x)] + 60_000_000_000    # its minute's bar
        assert y == trade["price"]
    view.candle_box.setCurrentIndex(view.candle_box.findData("15m"))
    shown = view.snapshot()
    assert shown["bars"] == len(tick_run.candles["15m"]["datetime"]) < len(starts)
    assert len(shown["fills"]) == len(trades)


def test_a_reopened_tick_run_has_the_same_candles(tick_market, tick_run, tmp_path):
    with RunStore(tmp_path / "backtests") as runs:
        run_id = runs.create("TestStrategy", SETTINGS.vt_symbol, SETTINGS.interval,
                             SETTINGS.start, SETTINGS.end,
                             pool_jobs.settings_record(SETTINGS), {})
        backtest_runs.save_result(runs, run_id, tick_run)
        _, reopened = backtest_runs.open_run(runs, tick_market, run_id)
    assert set(reopened.candles) == set(tick_run.candles)
    for length, columns in tick_run.candles.items():
        for name, values in columns.items():
            assert np.array_equal(reopened.candles[length][name], values), (length, name)
