"""Parity: the terminal's backtest path gives exactly vn.py's trades and statistics.

(a) vn.py used directly: vnpy_ctastrategy's `BacktestingEngine` with `load_data()`, reading
    through `vnpy.trader.database` (the market store installed as vn.py's database, as the
    terminal does), and the strategy's warm-up `load_bar` through the same path;
(b) the terminal: one read of the store (`select_history`), `terminal.backtest.engine.run`
    with the history handed in and the warm-up served from the store, the class taken from
    the plugin catalog.

Every strategy in vnpy_ctastrategy's bundled strategies folder and the three shipped ones run
on real rb2401 1-minute bars from ../shared/data, starting two days into the data so that the
warm-up reads history too. Trades (time, direction, offset, price, volume), daily results and
statistics (vn.py's and the terminal's own) must be equal to the last digit.

`TestStrategy` only acts on ticks (its `on_bar` does nothing): on 1-minute bars it runs and
trades nothing on both sides, so it is also run in tick mode on real IF2101 ticks, where it
sends market, limit and stop orders and cancels. The other strategies are run on those ticks
too (they build their bars from ticks).
"""

from __future__ import annotations

import importlib
import math
import types
from datetime import datetime

import pandas as pd
import pytest
from tests.helpers import SHARED_DATA
from vnpy.trader.constant import Exchange, Interval
from vnpy_ctastrategy import backtesting as vnpy_backtesting
from vnpy_ctastrategy.backtesting import BacktestingEngine
from vnpy_ctastrategy.base import BacktestingMode
from vnpy_ctastrategy.template import CtaTemplate, TargetPosTemplate

from terminal.backtest import stats
from terminal.backtest.engine import (
    BacktestSettings,
    history_range,
    run,
    select_history,
)
from terminal.plugins.loader import SHIPPED_FOLDER, StrategyCatalog, bundled_folder
from tests.helpers.vnpy_store import store_as_vnpy_database

BARS_CSV = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
TICKS_CSV = SHARED_DATA / "cn_fut_CFFEX_IF2101_tick_20210104-06_wondertrader.csv"

BAR_SETTINGS = BacktestSettings(
    vt_symbol="rb2401.SHFE", interval=Interval.MINUTE, start=datetime(2023, 9, 27),
    end=datetime(2023, 10, 10), rate=1e-4, slippage=1.0, size=10, pricetick=1.0,
    capital=100_000)
TICK_SETTINGS = BacktestSettings(
    vt_symbol="IF2101.CFFEX", interval=Interval.TICK, start=datetime(2021, 1, 4),
    end=datetime(2021, 1, 5), rate=0.000023, slippage=0.2, size=300, pricetick=0.2,
    capital=2_000_000, mode=BacktestingMode.TICK)
SHIPPED = ["MacdTrendStrategy", "RsiReversionStrategy", "ChannelBreakoutStrategy"]
# the shipped strategies really trade on these bars (fills from 2023-09-27 on)
MIN_TRADES = {"MacdTrendStrategy": 20, "RsiReversionStrategy": 10,
              "ChannelBreakoutStrategy": 10, "DoubleMaStrategy": 20}


def _bundled_names() -> list[str]:
    """Strategy classes in vnpy_ctastrategy/strategies/*.py, found the way vn.py's
    CtaEngine finds them (import each module, keep its CtaTemplate subclasses)."""
    names = []
    for path in sorted(bundled_folder().glob("*.py")):
        if path.name.startswith("_"):
            continue
        module = importlib.import_module(f"vnpy_ctastrategy.strategies.{path.stem}")
        names.extend(value.__name__ for value in vars(module).values()
                     if isinstance(value, type) and issubclass(value, CtaTemplate)
                     and value not in (CtaTemplate, TargetPosTemplate)
                     and value.__module__ == module.__name__)
    return names


BUNDLED = _bundled_names()


def _vnpy_class(name: str) -> type:
    """The class as vn.py itself would have it: a bundled module, or a shipped file
    imported on its own (not through the terminal's catalog)."""
    for path in sorted(bundled_folder().glob("*.py")):
        module = importlib.import_module(f"vnpy_ctastrategy.strategies.{path.stem}")
        if isinstance(getattr(module, name, None), type):
            return getattr(module, name)
    for path in sorted(SHIPPED_FOLDER.glob("*.py")):
        module = types.ModuleType(f"parity_direct_{path.stem}")
        module.__file__ = str(path)
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)  # noqa: S102
        if isinstance(getattr(module, name, None), type):
            return getattr(module, name)
    raise LookupError(name)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with store_as_vnpy_database(BARS_CSV, tmp_path_factory.mktemp("parity") / "market") as market:
        yield market


@pytest.fixture(scope="module")
def catalog() -> StrategyCatalog:
    catalog = StrategyCatalog([SHIPPED_FOLDER])
    catalog.refresh()
    return catalog


def _direct(strategy_class: type, settings: BacktestSettings,
            params: dict | None = None) -> BacktestingEngine:
    engine = BacktestingEngine()
    engine.output = lambda msg: None          # vn.py prints every step
    settings.apply(engine)
    engine.add_strategy(strategy_class, dict(params or {}))
    engine.load_data()
    engine.run_backtesting()
    engine.calculate_result()
    engine.statistics = engine.calculate_statistics(output=False)
    return engine


def _terminal(strategy_class: type, settings: BacktestSettings, market,
              params: dict | None = None):
    start, end = history_range(settings)
    symbol, exchange = settings.vt_symbol.split(".")
    if settings.mode == BacktestingMode.TICK:
        history = market.load_ticks(symbol, Exchange(exchange), start, end)
    else:
        history = market.load_bars(symbol, Exchange(exchange), Interval(settings.interval),
                                   start, end)
    return run(strategy_class, select_history(history, settings), settings, params,
               bar_loader=market.load_bars, tick_loader=market.load_ticks)


def _trades(engine) -> list[tuple]:
    return [(t.datetime, t.direction, t.offset, t.price, t.volume)
            for t in engine.trades.values()]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _assert_parity(direct: BacktestingEngine, ours) -> None:
    assert [x.datetime for x in ours.engine.history_data] == \
        [x.datetime for x in direct.history_data]
    assert _trades(ours.engine) == _trades(direct)
    left, right = direct.daily_df, ours.daily
    if not left.empty or not right.empty:
        pd.testing.assert_frame_equal(left.drop(columns="trades"), right.drop(columns="trades"),
                                      check_exact=True)
    assert direct.statistics.keys() == ours.statistics.keys()
    different = {k: (direct.statistics[k], ours.statistics[k]) for k in direct.statistics
                 if not _same(direct.statistics[k], ours.statistics[k])}
    assert not different
    if not left.empty:
        mine = stats.report(ours.engine, ours.statistics)
        theirs = stats.report(direct, direct.statistics)
        assert mine.keys() == theirs.keys() == stats.LABELS.keys()
        assert all(_same(mine[k], theirs[k]) for k in mine), \
            {k: (mine[k], theirs[k]) for k in mine if not _same(mine[k], theirs[k])}


def test_every_bundled_strategy_is_covered(catalog):
    assert len(BUNDLED) >= 9 and "DoubleMaStrategy" in BUNDLED
    assert set(BUNDLED) <= set(catalog.entries)
    assert all(catalog.entries[name].bundled for name in BUNDLED)


@pytest.mark.parametrize("name", BUNDLED + SHIPPED)
def test_bar_backtest_matches_vnpy(name, store, catalog):
    direct = _direct(_vnpy_class(name), BAR_SETTINGS)
    ours = _terminal(catalog.get(name).cls, BAR_SETTINGS, store)
    assert not [m for m in ours.engine.messages if "Traceback" in m], ours.engine.messages
    _assert_parity(direct, ours)
    assert len(direct.history_data) > 1000
    if name == "TestStrategy":
        assert not direct.trades      # it only acts on ticks; see test_tick_backtest_matches_vnpy
    assert len(direct.trades) >= MIN_TRADES.get(name, 0)


# Quiet strategies made busier, and the shipped ones' options switched, from the first bar.
ACTIVE_PARAMS = {
    "BollChannelStrategy": {"boll_dev": 1.5},
    "DualThrustStrategy": {"k1": 0.2, "k2": 0.2},
    "MultiTimeframeStrategy": {"rsi_signal": 5, "rsi_window": 7},
    "KingKeltnerStrategy": {"kk_dev": 1.0},
    "MacdTrendStrategy": {"bar_minutes": 1, "trailing_stop": False, "fixed_size": 2},
    "RsiReversionStrategy": {"trend_period": 240, "oversold": 30, "overbought": 70},
    "ChannelBreakoutStrategy": {"bar_minutes": 15, "entry_period": 10, "exit_period": 5},
}


@pytest.mark.parametrize("name", sorted(ACTIVE_PARAMS))
def test_bar_backtest_with_parameters_matches_vnpy(name, store, catalog):
    settings = BacktestSettings(**{**BAR_SETTINGS.__dict__, "start": datetime(2023, 9, 25)})
    params = ACTIVE_PARAMS[name]
    direct = _direct(_vnpy_class(name), settings, params)
    ours = _terminal(catalog.get(name).cls, settings, store, params)
    _assert_parity(direct, ours)
    assert direct.strategy.get_parameters() == {**direct.strategy_class.get_class_parameters(),
                                                **params}
    assert len(direct.trades) >= 3


@pytest.fixture(scope="module")
def tick_store(store):
    if not TICKS_CSV.exists():
        pytest.skip(f"shared test data not found: {TICKS_CSV}")
    from terminal.storage.csv_import import import_file

    import_file(store, TICKS_CSV)
    vnpy_backtesting.load_tick_data.cache_clear()
    return store


@pytest.mark.parametrize("name", BUNDLED + SHIPPED)
def test_tick_backtest_matches_vnpy(name, tick_store, catalog):
    direct = _direct(_vnpy_class(name), TICK_SETTINGS)
    ours = _terminal(catalog.get(name).cls, TICK_SETTINGS, tick_store)
    _assert_parity(direct, ours)
    assert len(direct.history_data) > 20_000
    if name == "TestStrategy":
        assert direct.trades          # its market and stop order tests fill on ticks


def test_history_windows_follow_vnpy_load_data(store):
    """With a start off the minute grid, vn.py's chunked load skips the bar at each chunk
    boundary; select_history skips the same ones, so parity holds there too."""
    settings = BacktestSettings(**{**BAR_SETTINGS.__dict__,
                                   "start": datetime(2023, 9, 25, 9, 0, 30)})
    engine = BacktestingEngine()
    engine.output = lambda msg: None
    settings.apply(engine)
    engine.load_data()
    start, end = history_range(settings)
    bars = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE, start, end)
    selected = select_history(bars, settings)
    assert [b.datetime for b in selected] == [b.datetime for b in engine.history_data]
    assert len(selected) < len(bars)     # the chunk boundaries really did drop bars
