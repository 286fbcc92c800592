"""Bars of a length vn.py's Interval does not know (5m, 15m, 30m, 4h) run as stock vn.py runs
them when handed over, and the run says what the strategy's warm-up actually loaded.

Stock vn.py: `BacktestingEngine.set_parameters(interval=Interval.MINUTE)`, `history_data` the
real IF 5-minute bars of the period (built here with BarData from the stored columns, not by
the terminal's loader), the strategy's `load_bar` reading vn.py's database (the market store
installed as it, as the terminal does). The terminal: the backtest use case
(services.backtest.prepare + backtest), as `trading-terminal backtest --interval 5m` runs it.
Trades, daily results and statistics must be equal to the last digit.
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest
from tests.helpers import SHARED_DATA
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData
from vnpy_ctastrategy.backtesting import BacktestingEngine

from terminal.core.paths import DataPaths
from terminal.plugins.loader import SHIPPED_FOLDER, StrategyCatalog
from tests.helpers.vnpy_store import store_as_vnpy_database

IF5 = SHARED_DATA / "cn_fut_CFFEX_IF_HOT_5min_2014-2019_wtpy.csv"
START, END = datetime(2019, 3, 1), datetime(2019, 6, 28)


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    paths = DataPaths(tmp_path_factory.mktemp("intervals"))
    with store_as_vnpy_database(IF5, paths.market_dir):
        yield paths


@pytest.fixture(scope="module")
def catalog() -> StrategyCatalog:
    catalog = StrategyCatalog([SHIPPED_FOLDER])
    catalog.refresh()
    return catalog


def _stored_bars(paths: DataPaths, symbol: str) -> list[BarData]:
    """The stored 5m bars of the period as a vn.py user hands them over: BarData, MINUTE."""
    from terminal.storage.market_store import MarketStore, from_ns

    market = MarketStore(paths.market_dir)
    try:
        table = market.load_table(symbol, Exchange.CFFEX, "5m", START,
                                  END.replace(hour=23, minute=59, second=59))
        times = from_ns(table.column("datetime").to_numpy(), market.tz)
        columns = {name: table.column(name).to_pylist() for name in table.column_names}
    finally:
        market.close()
    return [BarData("DB", symbol, Exchange.CFFEX, moment, Interval.MINUTE,
                    volume=columns["volume"][i], turnover=columns["turnover"][i],
                    open_interest=columns["open_interest"][i],
                    open_price=columns["open_price"][i], high_price=columns["high_price"][i],
                    low_price=columns["low_price"][i], close_price=columns["close_price"][i])
            for i, moment in enumerate(times)]


def _stock(strategy_class: type, bars: list, settings, params: dict) -> BacktestingEngine:
    engine = BacktestingEngine()
    engine.output = lambda msg: None
    engine.set_parameters(
        vt_symbol=settings.vt_symbol, interval=Interval.MINUTE, start=START, end=END,
        rate=settings.rate, slippage=settings.slippage, size=settings.size,
        pricetick=settings.pricetick, capital=settings.capital)
    engine.add_strategy(strategy_class, dict(params))
    engine.history_data = list(bars)
    engine.run_backtesting()
    engine.calculate_result()
    engine.statistics = engine.calculate_statistics(output=False)
    return engine


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _symbol(paths: DataPaths) -> str:
    from terminal.storage.market_store import MarketStore

    market = MarketStore(paths.market_dir)
    try:
        return next(s.symbol for s in market.series() if s.interval == "5m")
    finally:
        market.close()


# bar_minutes=1: each 5m bar is a signal bar (the strategies' BarGenerator gathers bars by
# minute of the hour, and a 5m bar starts at :00, :05, ...)
@pytest.mark.parametrize(("name", "params"), [
    ("MacdTrendStrategy", {"bar_minutes": 1}), ("ChannelBreakoutStrategy", {"bar_minutes": 1}),
    ("RsiReversionStrategy", {})])
def test_a_5_minute_backtest_equals_stock_vnpy_on_the_same_bars(paths, catalog, name, params):
    from terminal.services import backtest

    symbol = _symbol(paths)
    entry = catalog.get(name)
    prepared = backtest.prepare(paths, entry, symbol, Exchange.CFFEX, "5m", START, END,
                                backtest.Costs(rate=0.000023, slippage=0.2), params)
    try:
        outcome, _, failure = backtest.backtest(prepared)
    finally:
        prepared.close()
    assert failure is None
    ours = outcome.engine
    theirs = _stock(entry.cls, _stored_bars(paths, symbol), prepared.settings, params)

    assert len(theirs.history_data) > 3_500
    assert [b.datetime for b in ours.history_data] == [b.datetime for b in theirs.history_data]
    trades = [(t.datetime, t.direction, t.offset, t.price, t.volume)
              for t in theirs.trades.values()]
    assert len(trades) >= 10
    assert [(t.datetime, t.direction, t.offset, t.price, t.volume)
            for t in ours.trades.values()] == trades
    pd.testing.assert_frame_equal(theirs.daily_df.drop(columns="trades"),
                                  outcome.daily.drop(columns="trades"), check_exact=True)
    assert theirs.statistics.keys() == outcome.statistics.keys()
    assert {k: (v, outcome.statistics[k]) for k, v in theirs.statistics.items()
            if not _same(v, outcome.statistics[k])} == {}


def test_the_warm_up_says_what_load_bar_got(paths, catalog):
    """On IF 5-minute bars alone, a strategy's load_bar(10) asks for 1m bars (vn.py's default)
    and gets none: the run says so instead of counting the 5m bars before the start."""
    from terminal.services import backtest

    symbol = _symbol(paths)
    entry = catalog.get("MacdTrendStrategy")
    prepared = backtest.prepare(paths, entry, symbol, Exchange.CFFEX, "5m", START, END,
                                backtest.Costs(), {})
    try:
        outcome, _, _ = backtest.backtest(prepared)
    finally:
        prepared.close()
    from terminal.backtest.engine import warmup_summary

    said = warmup_summary(outcome.engine.warmups)
    assert [(w.interval, w.count) for w in outcome.engine.warmups] == [("1m", 0)]
    assert said == ("the strategy's warm-up: load_bar(10) asked for the 10 days of 1m bars "
                    "before the start and got none")
