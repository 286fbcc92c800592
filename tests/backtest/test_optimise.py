"""Parameter optimisation: spaces checked with clear errors, grid and genetic search giving
what a direct loop over vn.py's BacktestingEngine gives, the data read once and shared with
the workers, cancel, and the same results on a local Dask cluster."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
from datetime import date, datetime

import numpy as np
import psutil
import pytest
from vnpy.trader.object import BarData
from vnpy_ctastrategy.backtesting import BacktestingEngine
from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy

from terminal.backtest.engine import BacktestSettings
from terminal.backtest.optimisation.evaluation import (
    WARMUP_INTERVALS, BacktestEvaluator, SharedBars, load_shared_bars)
from terminal.backtest.optimisation.odds import RETURNS_KEY
from terminal.backtest.optimisation.genetic import genetic
from terminal.backtest.optimisation.optimiser import Optimiser
from terminal.backtest.optimisation.ranking import (
    OptimisationError, OptimisationResult, heatmap)
from terminal.backtest.optimisation.space import ParameterError, ParameterSpace, grid
from terminal.backtest.pool import BacktestPool, JobProgress
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import MarketStore

from tests.helpers import SHARED_DATA
from tests.helpers import random_walk_bars
from tests.helpers.processes import dead, no_children_left

RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
needs_rb = pytest.mark.skipif(not RB_FILE.exists(), reason=f"{RB_FILE} is not there")
SETTINGS = BacktestSettings("rb2401.SHFE", datetime(2023, 9, 25), datetime(2023, 9, 29),
                            rate=1e-4, slippage=1, size=10, pricetick=1)
SPACE = {"fast_window": (4, 12, 4), "slow_window": [20, 30, 45]}


def synthetic_bars() -> list[BarData]:
    return random_walk_bars("rb2401", days=5, per_day=225, seed=11, step=2.5)


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    store = MarketStore(tmp_path_factory.mktemp("market"))
    store.save_bars(synthetic_bars())
    yield store
    store.close()


@pytest.fixture(scope="module")
def shared(market) -> SharedBars:
    return load_shared_bars(market, SETTINGS)


def direct(bars: list, settings: BacktestSettings, params: dict) -> dict:
    """vn.py's BacktestingEngine run by hand, as its own optimiser's evaluate() does (the
    strategy's warm-up would come from vn.py's database: none before the first bar)."""

    class Quiet(BacktestingEngine):
        def output(self, msg):
            pass

        def load_bar(self, *args, **kwargs):
            return []

    engine = Quiet()
    engine.set_parameters(settings.vt_symbol, settings.interval, settings.start,
                          settings.rate, settings.slippage, settings.size, settings.pricetick,
                          settings.capital, settings.end)
    engine.add_strategy(DoubleMaStrategy, params)
    engine.history_data = bars
    engine.run_backtesting()
    daily = engine.calculate_result()
    stats = engine.calculate_statistics(output=False)
    stats[RETURNS_KEY] = daily["net_pnl"] / settings.capital    # daily net P&L / capital
    return stats


# ---------------------------------------------------------------------- parameter space
def test_parameter_space_builds_ranges_lists_and_fixed_values():
    space = ParameterSpace({"fast_window": (5, 20, 5), "slow_window": [30, 60],
                            "ratio": (0.1, 0.3, 0.1), "size": 1})
    assert space.values("fast_window") == (5, 10, 15, 20)                  # stop included
    assert all(isinstance(v, int) for v in space.values("fast_window"))
    assert space.values("ratio") == (0.1, 0.2, 0.3)                        # no 0.30000000004
    assert space.values("size") == (1,)
    assert space.size == len(space) == 4 * 2 * 3
    combos = grid(space)
    assert len(combos) == 24
    assert combos[0] == {"fast_window": 5, "slow_window": 30, "ratio": 0.1, "size": 1}
    assert combos[1]["ratio"] == 0.2                          # the last varies fastest
    assert all(space.grid_index([space.values(n).index(c[n]) for n in space.names]) == i
               for i, c in enumerate(combos))
    assert ParameterSpace().add("x", 1, 2, 0.5).values("x") == (1, 1.5, 2)


@pytest.mark.parametrize(("spec", "message"), [
    ({"fast_window": (10, 5, 1)}, "fast_window: start 10 is above stop 5"),
    ({"fast_window": (1, 5, 0)}, "fast_window: step must be positive, got 0"),
    ({"fast_window": (1, 5)}, r"fast_window: a range is \(start, stop, step\)"),
    ({"fast_window": (1, "x", 1)}, "fast_window: stop must be a finite number, got 'x'"),
    ({"fast_window": []}, "fast_window: the list of values is empty"),
    ({"fast_window": [5, 5]}, "fast_window: values repeat"),
    ({"": [1]}, "a parameter name must be a non-empty string"),
    ({"a": (1, 1000, 1), "b": (1, 2000, 1)}, "b: the space would have 2,000,000 combinations"),
])
def test_bad_spaces_are_refused_naming_the_parameter(spec, message):
    with pytest.raises(ParameterError, match=message):
        ParameterSpace(spec)


def test_a_space_is_checked_against_the_strategy():
    ParameterSpace(SPACE).check(DoubleMaStrategy)
    with pytest.raises(ParameterError, match="no parameters chosen"):
        ParameterSpace().check()
    with pytest.raises(ParameterError, match="fast: not a parameter of DoubleMaStrategy "
                                             r"\(fast_window, slow_window\)"):
        ParameterSpace({"fast": [1]}).check(DoubleMaStrategy)
    with pytest.raises(ParameterError, match=r"fast_window: 1\.5 does not fit the strategy's int"):
        ParameterSpace({"fast_window": (1.5, 3.5, 1)}).check(DoubleMaStrategy)


# ---------------------------------------------------------------------- grid and genetic
def test_grid_gives_the_same_as_a_direct_loop_over_the_engine(shared):
    space = ParameterSpace(SPACE)
    heard = []
    result = Optimiser(workers=2).grid(BacktestEvaluator(DoubleMaStrategy, SETTINGS), space,
                                       "sharpe_ratio", shared,
                                       progress=lambda p, text: heard.append((p, text)))
    expected = {tuple(p.values()): direct(shared.bars, SETTINGS, p) for p in grid(space)}
    assert len(result.rows) == len(expected) == 9 and not result.errors
    for params, value, row_stats in result.rows:
        stats = dict(row_stats)
        want = dict(expected[tuple(params.values())])
        returns, want_returns = stats.pop(RETURNS_KEY), want.pop(RETURNS_KEY)
        assert stats == {k: (v.item() if isinstance(v, np.generic) else v)
                         for k, v in want.items()}
        assert [date.fromordinal(int(d)) for d in returns.days] == list(want_returns.index)
        assert returns.values.tolist() == want_returns.tolist()
        assert value == stats["sharpe_ratio"]
    best = max(grid(space), key=lambda p: expected[tuple(p.values())]["sharpe_ratio"])
    assert result.best[0] == best
    values = [row[1] for row in result.rows]
    assert values == sorted(values, reverse=True)
    assert heard[-1] == (100.0, "9/9 settings evaluated")
    assert no_children_left()


@needs_rb
def test_grid_on_rb2401_matches_vnpy_engine_directly(tmp_path):
    store = MarketStore(tmp_path / "market")
    import_file(store, RB_FILE)
    settings = BacktestSettings("rb2401.SHFE", datetime(2023, 9, 25), datetime(2023, 10, 10),
                                rate=1e-4, slippage=1, size=10, pricetick=1)
    bars = load_shared_bars(store, settings)
    space = ParameterSpace({"fast_window": [5, 10], "slow_window": [20, 40]})
    result = Optimiser(workers=2).grid(BacktestEvaluator(DoubleMaStrategy, settings), space,
                                       "total_net_pnl", bars)
    loop = {tuple(p.values()): direct(bars.history(settings), settings, p)["total_net_pnl"]
            for p in grid(space)}
    assert {tuple(p.values()): v for p, v, _ in result.rows} == loop
    assert tuple(result.best[0].values()) == max(loop, key=loop.get)
    store.close()


def test_genetic_and_grid_agree_on_a_small_grid(shared):
    space = ParameterSpace({"fast_window": (3, 15, 3), "slow_window": (20, 50, 10)})
    evaluate = BacktestEvaluator(DoubleMaStrategy, SETTINGS)
    optimiser = Optimiser(workers=2)
    full = optimiser.grid(evaluate, space, "total_net_pnl", shared)
    searched = optimiser.genetic(evaluate, space, "total_net_pnl", shared, population=6,
                                 generations=4, seed=5)
    assert searched.best[0] == full.best[0] and searched.best[1] == full.best[1]
    assert len(searched.rows) <= len(full.rows) == 20
    values = [row[1] for row in searched.rows]
    assert values == sorted(values, reverse=True)


def smooth(params: dict) -> dict:
    """A cheap landscape with one peak, at x=37, y=12."""
    return {"score": -((params["x"] - 37) ** 2) - 3 * (params["y"] - 12) ** 2
            + 0.1 * math.sin(params["x"])}


def test_genetic_finds_the_peak_of_a_large_space_without_trying_everything():
    space = ParameterSpace({"x": (0, 59, 1), "y": (0, 29, 1)})
    calls = []

    def evaluate(params):
        calls.append(tuple(params.values()))
        return smooth(params)

    result = genetic(space, evaluate, "score", population=30, generations=25, seed=42)
    assert result.best[0] == {"x": 37, "y": 12}
    assert len(calls) == len(set(calls)) == len(result.rows)   # each setting evaluated once
    assert len(calls) < space.size / 2
    again = genetic(space, smooth, "score", population=30, generations=25, seed=42)
    assert [row[0] for row in again.rows] == [row[0] for row in result.rows]   # seeded
    minimum = genetic(space, smooth, "score", population=30, generations=25, seed=1,
                      maximise=False)
    assert minimum.best[1] == min(row[1] for row in minimum.rows)


def test_genetic_validates_its_settings():
    space = ParameterSpace({"x": (0, 5, 1)})
    with pytest.raises(ParameterError, match="population must be at least 2"):
        genetic(space, smooth, "score", population=1)
    with pytest.raises(ParameterError, match="probabilities"):
        genetic(space, smooth, "score", crossover=1.5)


def test_results_table_and_heatmap():
    rows = [({"x": x, "y": y, "z": z}, float(x * 10 + y + z), {"score": x * 10 + y + z})
            for x in (1, 2) for y in (5, 6, 7) for z in (0, 100)]
    result = OptimisationResult("score", sorted(rows, key=lambda r: -r[1]))
    xs, ys, matrix = heatmap(result, "x", "y")
    assert xs == [1, 2] and ys == [5, 6, 7] and matrix.shape == (3, 2)
    assert matrix[0, 0] == 115 and matrix[2, 1] == 127      # best over z
    frame = result.frame()
    assert list(frame.columns) == ["x", "y", "z", "score"] and frame.score.iloc[0] == 127
    with pytest.raises(ParameterError, match="w: not among the optimised parameters"):
        heatmap(result, "x", "w")
    partial = OptimisationResult("score", [({"x": 1, "y": 5}, 1.0, {}),
                                           ({"x": 2, "y": 6}, 2.0, {})])
    assert np.isnan(heatmap(partial, "x", "y")[2][0, 1])    # not evaluated


# ---------------------------------------------------------------------- processes
def score_with_data(params: dict, data) -> dict:
    return {"score": params["x"] * data["factor"], "pid": os.getpid()}


def slow_score(params: dict, data) -> dict:
    time.sleep(0.2)
    return {"score": params["x"]}


def fragile(params: dict, data) -> dict:
    if params["x"] == 3:
        raise ValueError("x=3 is not allowed")
    if params["x"] == 5:
        os._exit(9)                             # the worker dies
    return {"score": params["x"]}


def test_settings_run_in_worker_processes_with_the_shared_data():
    result = Optimiser(workers=2, chunk_size=1).run(
        score_with_data, [{"x": x} for x in range(12)], "score", {"factor": 2})
    assert [row[0]["x"] for row in result.rows] == list(range(11, -1, -1))
    assert [row[1] for row in result.rows] == [2 * x for x in range(11, -1, -1)]
    pids = {row[2]["pid"] for row in result.rows}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert no_children_left()


def test_failures_become_error_rows_and_the_search_goes_on():
    result = Optimiser(workers=2, chunk_size=1).run(fragile, [{"x": x} for x in range(8)],
                                                     "score")
    assert len(result.rows) == 8
    assert [row[0]["x"] for row in result.rows[:6]] == [7, 6, 4, 2, 1, 0]
    errors = {row[0]["x"]: row[2]["error"] for row in result.errors}
    assert set(errors) == {3, 5} and all(math.isnan(row[1]) for row in result.rows[6:])
    assert "ValueError: x=3 is not allowed" in errors[3]
    assert errors[5] == "the worker died (exit code 9)"
    assert result.frame().error.dropna().tolist() == ["ValueError: x=3 is not allowed",
                                                      "the worker died (exit code 9)"]
    assert no_children_left()


def test_an_unknown_target_is_an_error():
    with pytest.raises(OptimisationError, match="no statistic named 'sharpe'"):
        Optimiser(workers=1).run(score_with_data, [{"x": 1}], "sharpe", {"factor": 1})


def test_a_raising_strategy_is_an_error_row(shared):
    class Raising(DoubleMaStrategy):
        def on_bar(self, bar):
            if self.fast_window == 6:
                raise RuntimeError("bad bar")
            super().on_bar(bar)

    result = Optimiser(workers=1).run(BacktestEvaluator(Raising, SETTINGS),
                                      [{"fast_window": 6}, {"fast_window": 5}],
                                      "sharpe_ratio", shared)
    assert result.rows[0][0] == {"fast_window": 5} and "error" not in result.rows[0][2]
    assert "RuntimeError: bad bar" in result.rows[1][2]["error"]


def test_cancel_stops_an_optimisation():
    """Cancelled once three settings are in (from the progress callback, as the GUI's
    Cancel would be between two reports): the rest are never evaluated."""
    optimiser = Optimiser(workers=2, chunk_size=1)
    heard = []

    def progress(percent, text) -> None:
        heard.append(percent)
        if len(heard) == 3:
            optimiser.cancel()

    result = optimiser.run(slow_score, [{"x": x} for x in range(40)], "score",
                           progress=progress)
    assert result.cancelled
    assert 3 <= len(result.rows) < 40
    assert all(len(row[2]) == 1 for row in result.rows)          # only finished ones
    assert no_children_left()
    space = ParameterSpace({"x": (0, 99, 1)})
    searched = optimiser.genetic(slow_score, space, "score", population=10, generations=20,
                                 progress=lambda percent, text: optimiser.cancel())
    assert searched.cancelled and 10 <= len(searched.rows) < 100
    assert no_children_left()


def optimisation_job(report, count: int) -> OptimisationResult:
    return Optimiser(workers=2, chunk_size=1).run(slow_score, [{"x": x} for x in range(count)],
                                                   "score", progress=report)


def test_an_optimisation_runs_as_a_pool_job_and_cancel_takes_its_workers():
    with BacktestPool(max_workers=1) as pool:
        finished = pool.submit(optimisation_job, (4,))
        result = finished.result(timeout=10)
        assert [row[0]["x"] for row in result.rows] == [3, 2, 1, 0]
        assert finished.progress == JobProgress(100.0, "4/4 settings evaluated")
        running = pool.submit(optimisation_job, (200,))
        deadline = time.monotonic() + 5
        while running.progress.percent == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        workers = psutil.Process(running.pid).children()
        assert len(workers) == 2
        running.cancel()
        assert running.wait(5) and running.state == "cancelled"
        # killed with the job's process group (a moment may pass between a process closing
        # its files, which ends the pool's wait, and it being a zombie)
        deadline = time.monotonic() + 2
        while not all(dead(worker.pid) for worker in workers):
            assert time.monotonic() < deadline, "the optimiser's workers outlived the job"
            time.sleep(0.01)
    assert no_children_left()


def test_the_data_is_read_once_not_per_setting(market, monkeypatch):
    """Every way to read bars counts into memory shared with the workers: the store's
    methods, and vn.py's database loader that its own optimiser calls in each worker."""
    from vnpy_ctastrategy import backtesting

    reads = mp.get_context("fork").Value("i", 0)

    def counting(original):
        def read(*args, **kwargs):
            with reads.get_lock():
                reads.value += 1
            return original(*args, **kwargs)
        return read

    for name in ("load_bars", "load_table"):
        monkeypatch.setattr(MarketStore, name, counting(getattr(MarketStore, name)))
    monkeypatch.setattr(backtesting, "load_bar_data", counting(backtesting.load_bar_data))
    bars = load_shared_bars(market, SETTINGS)
    # load_bars (which reads one table) for the run's interval, and once for each other
    # interval a strategy's load_bar may ask for (the warm-up days only)
    assert reads.value == 2 * len(WARMUP_INTERVALS)
    read = reads.value
    result = Optimiser(workers=2, chunk_size=1).grid(
        BacktestEvaluator(DoubleMaStrategy, SETTINGS), ParameterSpace(SPACE),
        "sharpe_ratio", bars)
    assert len(result.rows) == 9 and not result.errors
    assert reads.value == read          # no worker read anything


# ---------------------------------------------------------------------- dask
def comparable(stats: dict) -> dict:
    """Statistics with the daily returns' arrays as lists (arrays do not compare with ==)."""
    returns = stats[RETURNS_KEY]
    return {**stats, RETURNS_KEY: (returns.days.tolist(), returns.values.tolist())}


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    yield cluster
    cluster.close()


def test_dask_backend_gives_the_same_results_as_local(dask_cluster, shared):
    space = ParameterSpace(SPACE)
    evaluate = BacktestEvaluator(DoubleMaStrategy, SETTINGS)
    local = Optimiser(workers=2).grid(evaluate, space, "sharpe_ratio", shared)
    heard = []
    remote = Optimiser("dask", scheduler_address=dask_cluster.scheduler_address).grid(
        evaluate, space, "sharpe_ratio", shared, progress=lambda p, t: heard.append(p))
    assert [(p, v) for p, v, _ in remote.rows] == [(p, v) for p, v, _ in local.rows]
    assert [comparable(s) for _, _, s in remote.rows] == [
        comparable(s) for _, _, s in local.rows]
    assert heard[-1] == 100.0
    searched = Optimiser("dask", scheduler_address=dask_cluster.scheduler_address).genetic(
        evaluate, space, "sharpe_ratio", shared, population=4, generations=2, seed=3)
    assert searched.best[1] == max(v for p, v, _ in local.rows if p in
                                   [row[0] for row in searched.rows])


def test_dask_backend_reports_errors_and_cancels(dask_cluster):
    optimiser = Optimiser("dask", scheduler_address=dask_cluster.scheduler_address,
                          chunk_size=1)
    failing = optimiser.run(fragile, [{"x": 2}, {"x": 3}], "score")
    assert "ValueError: x=3 is not allowed" in failing.rows[1][2]["error"]
    result = optimiser.run(slow_score, [{"x": x} for x in range(40)], "score",
                           progress=lambda percent, text: optimiser.cancel())
    assert result.cancelled and 1 <= len(result.rows) < 40


def test_dask_backend_needs_an_address():
    with pytest.raises(ValueError, match="scheduler address"):
        Optimiser("dask")
    with pytest.raises(ValueError, match="backend"):
        Optimiser("ray")
    assert Optimiser().backend == "local"
    assert Optimiser(scheduler_address="tcp://127.0.0.1:8786").backend == "dask"


def test_the_shared_warm_up_serves_each_interval_as_the_store_does():
    """A load_bar at the run's interval gets the run's bars, at another interval that
    interval's bars (none when the store has none), and one reaching before the bars read
    is refused, naming the warm-up days, instead of warming up on fewer bars."""
    from vnpy.trader.constant import Exchange, Interval

    bars = synthetic_bars()
    hours = random_walk_bars("rb2401", days=2, per_day=4, seed=3, step=2.5)
    since = bars[0].datetime.replace(tzinfo=None)
    shared = SharedBars(bars, "1m", {"1h": hours}, since)
    end = bars[-1].datetime.replace(tzinfo=None)
    assert shared.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE, since, end) == bars
    assert shared.load_bars("rb2401", Exchange.SHFE, Interval.HOUR, since, end) == [
        bar for bar in hours if bar.datetime.replace(tzinfo=None) <= end]
    assert shared.load_bars("rb2401", Exchange.SHFE, Interval.DAILY, since, end) == []
    with pytest.raises(ValueError, match="read more warm-up days"):
        shared.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE,
                         since.replace(day=since.day - 1), end)
    assert SharedBars(bars).load_bars("rb2401", Exchange.SHFE, Interval.HOUR, since,
                                      end) == bars      # no interval: every warm-up from bars
