"""Walk-forward optimisation: windows (rolling, anchored, edges, too short), the pass
criteria on hand-made numbers, every out-of-sample window equal to a plain backtest of the
chosen setting on real rb2401 bars (2 local workers), the bars read once, cancel."""

from __future__ import annotations

import math
from functools import partial
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from vnpy.trader.constant import Exchange

from terminal.backtest.engine import BacktestSettings, history_range, run, select_history
from terminal.backtest.intervals import load_bars
from terminal.backtest.optimisation.evaluation import load_shared_bars
from terminal.backtest.optimisation.optimiser import Optimiser
from terminal.backtest.optimisation.space import ParameterSpace
from terminal.backtest.runs import trades_frame
from terminal.backtest.stats import report
from terminal.backtest.walkforward import WalkForward, window_settings
from terminal.backtest.walkforward_windows import (
    WalkForwardError, WalkForwardPlan, criteria, efficiency, trading_days_of, windows)
from terminal.plugins.loader import load_class
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import MarketStore

from tests.helpers import PROJECT, SHARED_DATA
from tests.helpers.processes import no_children_left

RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
needs_rb = pytest.mark.skipif(not RB_FILE.exists(), reason=f"{RB_FILE} is not there")
STRATEGY_FILE = PROJECT / "plugins" / "channel_breakout.py"
SETTINGS = BacktestSettings("rb2401.SHFE", datetime(2023, 9, 25), datetime(2023, 10, 10),
                            rate=1e-4, slippage=1, size=10, pricetick=1)
SPACE = {"entry_period": [10, 20], "exit_period": [5, 10]}
FIXED = {"bar_minutes": 3}

DAYS = [date(2024, 1, 1) + timedelta(days=i) for i in range(10)]


# ---------------------------------------------------------------------- windows
def test_rolling_windows_step_by_the_out_of_sample_and_keep_a_short_last_one():
    found = windows(DAYS, 4, 2, "rolling")
    assert [(w.is_start.day, w.is_end.day, w.oos_start.day, w.oos_end.day) for w in found] \
        == [(1, 4, 5, 6), (3, 6, 7, 8), (5, 8, 9, 10)]
    assert [w.is_days for w in found] == [4, 4, 4] and not any(w.partial for w in found)
    short = windows(DAYS, 4, 4, "rolling")
    assert [(w.oos_start.day, w.oos_end.day, w.oos_days, w.partial) for w in short] \
        == [(5, 8, 4, False), (9, 10, 2, True)]


def test_anchored_windows_grow_from_the_first_day():
    found = windows(DAYS, 4, 3, "anchored")
    assert [(w.is_start.day, w.is_end.day, w.is_days, w.oos_start.day, w.oos_end.day)
            for w in found] == [(1, 4, 4, 5, 7), (1, 7, 7, 8, 10)]


def test_a_period_just_long_enough_gives_one_window_and_a_shorter_one_is_refused():
    assert len(windows(DAYS[:6], 4, 2)) == 1
    with pytest.raises(WalkForwardError, match=r"holds 5 trading days .* \(4\) .* \(2\) = 6"):
        windows(DAYS[:5], 4, 2)
    with pytest.raises(WalkForwardError, match="mode 'sliding'"):
        windows(DAYS, 4, 2, "sliding")


def test_lengths_read_as_trading_days():
    assert trading_days_of("120d") == 120 and trading_days_of(40) == 40
    for bad in ("0", "12x", "-3d", ""):
        with pytest.raises(WalkForwardError, match="trading days"):
            trading_days_of(bad, "--in-sample")


def test_a_plan_names_what_cannot_run():
    space = ParameterSpace({"fast_window": [5, 10]})
    with pytest.raises(WalkForwardError, match="target 'profit'"):
        WalkForwardPlan(space, 10, 5, target="profit").check()
    with pytest.raises(WalkForwardError, match="out_sample 0"):
        WalkForwardPlan(space, 10, 0).check()
    with pytest.raises(WalkForwardError, match="search 'random'"):
        WalkForwardPlan(space, 10, 5, search="random").check()


def test_a_window_keeps_a_start_time_given_on_the_first_day_only():
    given = BacktestSettings("rb2401.SHFE", datetime(2024, 1, 1, 10, 30), datetime(2024, 1, 10))
    first = window_settings(given, date(2024, 1, 1), date(2024, 1, 4))
    later = window_settings(given, date(2024, 1, 3), date(2024, 1, 6))
    assert (first.start, first.end) == (datetime(2024, 1, 1, 10, 30), datetime(2024, 1, 4))
    assert (later.start, later.end) == (datetime(2024, 1, 3), datetime(2024, 1, 6))
    assert given.start == datetime(2024, 1, 1, 10, 30)          # the period's left alone


# ---------------------------------------------------------------------- criteria
def test_efficiency_is_out_of_sample_over_the_in_sample_mean_and_undefined_on_a_loss():
    assert efficiency(10.0, [20.0, 30.0, 10.0]) == pytest.approx(0.5)
    assert math.isnan(efficiency(10.0, [5.0, -5.0]))       # mean 0
    assert math.isnan(efficiency(-10.0, [-20.0]))          # a loss over a loss is no ratio
    assert math.isnan(efficiency(10.0, [20.0, math.nan]))  # not judged on part of the walk


def test_criteria_on_hand_made_numbers():
    passed = {c.name: c.passed for c in criteria(1000.0, [400.0, 300.0, -100.0, 400.0],
                                                 0.6, -12.0)}
    assert passed == {"profitable overall": True, "walk-forward efficiency": True,
                      "windows profitable": True,
                      "largest window's share of net profit": True,
                      "maximum drawdown %": True}
    judged = {c.name: c for c in criteria(1000.0, [900.0, 200.0, -100.0], 0.49, -40.5)}
    assert not judged["walk-forward efficiency"].passed
    assert judged["largest window's share of net profit"].value == pytest.approx(0.9)
    assert not judged["largest window's share of net profit"].passed
    assert judged["windows profitable"].value == pytest.approx(2 / 3)
    assert not judged["maximum drawdown %"].passed
    assert judged["maximum drawdown %"].value == 40.5
    losing = {c.name: c for c in criteria(-50.0, [100.0, -150.0, 0.0], math.nan, -1.0)}
    assert not losing["profitable overall"].passed
    assert not losing["walk-forward efficiency"].passed          # NaN fails
    assert not losing["windows profitable"].passed               # 1 of 3
    assert not losing["largest window's share of net profit"].passed   # no net profit
    edge = {c.name: c.passed for c in criteria(100.0, [50.0, 50.0], 0.5, -40.0)}
    assert all(edge.values())                                    # thresholds are inclusive


# ---------------------------------------------------------------------- on real bars
@pytest.fixture(scope="module")
def market(tmp_path_factory):
    if not RB_FILE.exists():
        pytest.skip(f"{RB_FILE} is not there")
    store = MarketStore(tmp_path_factory.mktemp("market"))
    import_file(store, RB_FILE)
    yield store
    store.close()


@pytest.fixture(scope="module")
def strategy():
    return load_class(STRATEGY_FILE, "ChannelBreakoutStrategy")


def plan() -> WalkForwardPlan:
    return WalkForwardPlan(ParameterSpace(SPACE), in_sample=2, out_sample=1,
                           target="total_net_pnl", fixed=FIXED)


def plain_backtest(store: MarketStore, strategy: type, settings: BacktestSettings,
                   params: dict):
    """A backtest as the terminal runs one on the store: the period's bars read as vn.py's
    load_data would, the warm-up read from the store."""
    symbol, exchange = settings.vt_symbol.split(".")
    bars = select_history(load_bars(store, symbol, Exchange(exchange), settings.interval,
                                    *history_range(settings)), settings)
    outcome = run(strategy, bars, settings, params, bar_loader=store.load_bars)
    return outcome, report(outcome.engine, outcome.statistics)


def same_stats(left: dict, right: dict) -> bool:
    assert left.keys() == right.keys()
    return all(a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
               for a, b in ((left[k], right[k]) for k in left))


@needs_rb
def test_every_out_of_sample_window_equals_a_plain_backtest_of_its_chosen_setting(
        market, strategy):
    bars = load_shared_bars(market, SETTINGS, warmup_days=30)
    result = WalkForward(Optimiser(workers=2)).run(strategy, SETTINGS, plan(), bars)
    assert not result.cancelled and len(result.windows) == 4
    assert sum(len(w.oos_trades) for w in result.windows) > 0
    for w in result.windows:
        settings = window_settings(SETTINGS, w.window.oos_start, w.window.oos_end)
        outcome, stats = plain_backtest(market, strategy, settings, {**FIXED, **w.params})
        assert same_stats(w.oos_stats, stats), w.window
        pd.testing.assert_frame_equal(
            w.oos_daily, outcome.daily.drop(columns=["trades"]), check_exact=True)
        pd.testing.assert_frame_equal(trades_frame(w.oos_trades),
                                      trades_frame(outcome.engine.trades))
        # the chosen setting is the in-sample best, by a plain backtest too
        in_settings = window_settings(SETTINGS, w.window.is_start, w.window.is_end)
        best = max(((p, plain_backtest(market, strategy, in_settings, {**FIXED, **p})[1])
                    for p in ({"entry_period": e, "exit_period": x}
                              for e in SPACE["entry_period"] for x in SPACE["exit_period"])),
                   key=lambda item: item[1]["total_net_pnl"])
        assert w.is_value == best[1]["total_net_pnl"]
    # the stitched series: the windows' days in time, balance from the capital
    days = [d for w in result.windows for d in w.oos_daily.index]
    assert list(result.daily.index) == days
    net = sum(w.oos_net_pnl for w in result.windows)
    assert result.statistics["total_net_pnl"] == pytest.approx(net)
    assert result.daily["balance"].iloc[-1] == pytest.approx(SETTINGS.capital + net)
    assert len(result.trades) == sum(len(w.oos_trades) for w in result.windows)
    assert result.trades["window"].tolist() == sorted(result.trades["window"])
    assert no_children_left()


@needs_rb
def test_the_bars_are_read_once_per_walk_forward(market, strategy, monkeypatch):
    """Every read of the store goes through load_table (load_bars too): one, by the parent;
    the workers hold the bars they were handed and no store."""
    reads = []
    real = market.load_table
    monkeypatch.setattr(market, "load_table", lambda *a, **k: (reads.append(a), real(*a, **k))[1])
    bars = load_shared_bars(market, SETTINGS, warmup_days=30)
    # the run's series once, and each other interval's warm-up days once (load_bar may ask
    # for another interval: the optimiser's SharedBars serve it as the store would)
    assert [a[2] for a in reads].count("1m") == 1
    assert len(reads) == len({a[2] for a in reads})
    loaded = len(reads)
    result = WalkForward(Optimiser(workers=2)).run(strategy, SETTINGS, plan(), bars)
    assert len(result.windows) == 4
    assert len(reads) == loaded                 # none per window, none by a worker


@needs_rb
def test_genetic_search_per_window_is_seeded(market, strategy):
    bars = load_shared_bars(market, SETTINGS, warmup_days=30)
    genetic = plan()
    genetic.search, genetic.population, genetic.generations, genetic.seed = "genetic", 2, 1, 5
    first = WalkForward(Optimiser(workers=2)).run(strategy, SETTINGS, genetic, bars)
    again = WalkForward(Optimiser(workers=2)).run(strategy, SETTINGS, genetic, bars)
    assert [w.params for w in first.windows] == [w.params for w in again.windows]
    assert first.statistics["total_net_pnl"] == again.statistics["total_net_pnl"]


@needs_rb
def test_cancel_stops_a_walk_forward_and_its_workers(market, strategy):
    bars = load_shared_bars(market, SETTINGS, warmup_days=30)
    walk = WalkForward(Optimiser(workers=2, chunk_size=1))
    heard = []

    def progress(percent, text):
        heard.append(text)
        walk.cancel()

    result = walk.run(strategy, SETTINGS, plan(), bars, progress=progress)
    assert result.cancelled and result.statistics == {} and result.criteria == []
    assert heard and "window 1 of 4" in heard[0]
    assert not result.passed
    assert no_children_left()


def test_a_window_without_the_target_stops_the_walk_forward():
    from terminal.backtest.optimisation.evaluation import SharedBars
    from tests.helpers import random_walk_bars
    from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy

    bars = SharedBars(random_walk_bars("rb2401", days=4, per_day=60, seed=2))
    settings = BacktestSettings("rb2401.SHFE", datetime(2000, 1, 1), datetime(2100, 1, 1))
    days = sorted({bar.datetime.date() for bar in bars.bars})
    settings.start = datetime.combine(days[0], datetime.min.time())
    settings.end = datetime.combine(days[-1], datetime.min.time())
    broken = WalkForwardPlan(ParameterSpace({"fast_window": [5]}), 2, 1,
                             fixed={"slow_window": "not a number"})
    with pytest.raises(WalkForwardError, match=r"window 1 in sample .*: no setting gave"):
        WalkForward(Optimiser(workers=1)).run(DoubleMaStrategy, settings, broken, bars)
    assert no_children_left()


@needs_rb
def test_a_walk_forward_on_a_dask_cluster_equals_the_local_one(market, strategy):
    distributed = pytest.importorskip("distributed")
    bars = load_shared_bars(market, SETTINGS, warmup_days=30)
    local = WalkForward(Optimiser(workers=2)).run(strategy, SETTINGS, plan(), bars)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        heard = []
        remote = WalkForward(Optimiser("dask", scheduler_address=cluster.scheduler_address)
                             ).run(partial(load_class, str(STRATEGY_FILE),
                                           "ChannelBreakoutStrategy"),
                                   SETTINGS, plan(), bars, progress=lambda p, t: heard.append(t))
    assert [w.params for w in remote.windows] == [w.params for w in local.windows]
    assert same_stats(remote.statistics, local.statistics)
    pd.testing.assert_frame_equal(remote.daily, local.daily)
    assert heard[-1] == "done: 4 windows"
