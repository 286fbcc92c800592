"""An optimisation's row for a setting equals a plain backtest of that setting exactly, on the
real IF 5-minute bars (no 1-minute bars stored), for a strategy that warms up with
load_bar(10): the plain backtest's load_bar asks for 1m bars and gets none from the store, so
the optimiser's warm-up, served from the bars it read once, must give none too (it used to
hand over the 5m bars before the start). Both ways an optimisation runs: the workbench's job
(pool_jobs.optimise) and the command line's use case (services.optimisation.run_search)."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from vnpy.trader.constant import Exchange

from terminal.core.paths import DataPaths
from terminal.plugins.loader import SHIPPED_FOLDER, StrategyCatalog
from tests.helpers import SHARED_DATA
from tests.helpers.vnpy_store import store_as_vnpy_database

IF5 = SHARED_DATA / "cn_fut_CFFEX_IF_HOT_5min_2014-2019_wtpy.csv"
START, END = datetime(2019, 3, 1), datetime(2019, 6, 28)
SPACE = {"fast_period": [8, 12], "slow_period": [26]}
FIXED = {"bar_minutes": 1}          # each 5m bar a signal bar
pytestmark = pytest.mark.skipif(not IF5.exists(), reason=f"{IF5} is not there")


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    paths = DataPaths(tmp_path_factory.mktemp("optimise-5m"))
    with store_as_vnpy_database(IF5, paths.market_dir):
        yield paths


@pytest.fixture(scope="module")
def entry():
    catalog = StrategyCatalog([SHIPPED_FOLDER])
    catalog.refresh()
    return catalog.get("MacdTrendStrategy")


@pytest.fixture(scope="module")
def plain(paths, entry):
    """The plain backtest of each setting: vn.py's statistics and the warm-up it got."""
    from terminal.services import backtest

    prepared = _prepare(paths, entry, None)
    try:
        runs = {}
        for fast in SPACE["fast_period"]:
            outcome, _, failure = backtest.backtest(
                prepared, {**FIXED, "fast_period": fast, "slow_period": 26})
            assert failure is None
            runs[fast] = outcome
    finally:
        prepared.close()
    return prepared.settings, runs


def _prepare(paths, entry, warmup_days):
    from terminal.services import backtest
    from terminal.storage.market_store import MarketStore

    market = MarketStore(paths.market_dir)
    try:
        symbol = next(s.symbol for s in market.series() if s.interval == "5m")
    finally:
        market.close()
    return backtest.prepare(paths, entry, symbol, Exchange.CFFEX, "5m", START, END,
                            backtest.Costs(rate=0.000023, slippage=0.2), dict(FIXED),
                            warmup_days)


def _same(a, b) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float)
                      and math.isnan(a) and math.isnan(b))


def _check_rows(result, runs) -> None:
    from terminal.backtest.optimisation.evaluation import plain_statistics
    from terminal.backtest.optimisation.odds import RETURNS_KEY

    assert len(result.rows) == 2 and not result.errors
    for params, _, stats in result.rows:
        outcome = runs[params["fast_period"]]
        assert [(w.interval, w.count) for w in outcome.engine.warmups] == [("1m", 0)]
        assert outcome.statistics["total_trade_count"] >= 10
        expected = plain_statistics(outcome.statistics)
        row = {k: v for k, v in stats.items() if k != RETURNS_KEY}
        assert row.keys() == expected.keys()
        assert {k: (v, row[k]) for k, v in expected.items() if not _same(v, row[k])} == {}
        returns = stats[RETURNS_KEY].values.tolist()
        assert returns == (outcome.daily["net_pnl"] / 1_000_000).tolist()


def test_the_workbench_optimisation_equals_plain_5_minute_backtests(paths, entry, plain):
    from terminal.backtest.pool_jobs import optimise

    settings, runs = plain
    result = optimise(lambda *_: None, market_root=paths.market_dir,
                      strategy=entry.worker_loader(), settings=settings, space=SPACE,
                      target="total_net_pnl", fixed=dict(FIXED), workers=2)
    _check_rows(result, runs)
    assert result.odds is not None and result.odds.tried == 2


def test_the_command_line_optimisation_equals_plain_5_minute_backtests(paths, entry, plain):
    from terminal.backtest.optimisation.space import ParameterSpace
    from terminal.services import optimisation

    _, runs = plain
    prepared = _prepare(paths, entry, 30)
    try:
        result = optimisation.run_search(prepared, ParameterSpace(SPACE),
                                         optimisation.Search("total_net_pnl", workers=2),
                                         lambda *_: None)
    finally:
        prepared.close()
    _check_rows(result, runs)
