"""The workbench runs 5m and 15m bars built from stored 1-minute bars in its worker with the
command line's builder, with results equal to `trading-terminal backtest` on the same settings;
its Data box offers them ("built from 1m"); the run keeps what the strategy's warm-up actually
loaded, and its header (reopened too) says so."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest
from vnpy.trader.constant import Exchange

from terminal.backtest import pool_jobs
from terminal.backtest.engine import warmup_summary
from terminal.backtest.runs import RunStore, trades_frame
from terminal.core.paths import DataPaths
from terminal.plugins.loader import SHIPPED_FOLDER, StrategyCatalog
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import MarketStore

from tests.helpers import SHARED_DATA

RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
START, END = datetime(2023, 9, 25), datetime(2023, 10, 10)
PARAMS = {"fast_window": 5, "slow_window": 12}


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    if not RB_FILE.exists():
        pytest.skip(f"shared market data not found: {RB_FILE}")
    paths = DataPaths(tmp_path_factory.mktemp("built"))
    store = MarketStore(paths.market_dir)
    import_file(store, RB_FILE)         # 1-minute bars only
    store.close()
    return paths


@pytest.fixture(scope="module")
def catalog():
    catalog = StrategyCatalog([SHIPPED_FOLDER])
    catalog.refresh()
    yield catalog
    catalog.close()


def _same(a, b) -> bool:
    return (isinstance(a, float) and isinstance(b, float) and math.isnan(a)
            and math.isnan(b)) or a == b


@pytest.mark.parametrize("interval", ["5m", "15m"])
def test_a_workbench_run_on_built_bars_equals_the_command_lines(paths, catalog, interval):
    from terminal.services import backtest

    entry = catalog.get("DoubleMaStrategy")
    prepared = backtest.prepare(paths, entry, "rb2401", Exchange.SHFE, interval, START, END,
                                backtest.Costs(), PARAMS)
    try:
        outcome, stats, failure = backtest.backtest(prepared)
        bars_from = prepared.bars.bars_from
    finally:
        prepared.close()
    assert failure is None and "built in memory from the stored 1m bars" in bars_from

    result = pool_jobs.run_backtest(lambda *_: None, market_root=paths.market_dir,
                                    strategy=lambda: entry.cls, settings=prepared.settings,
                                    params=PARAMS)
    cli_trades = trades_frame(outcome.engine.trades)
    assert len(cli_trades) >= 2
    pd.testing.assert_frame_equal(result.trades, cli_trades, check_exact=True)
    pd.testing.assert_frame_equal(result.daily, pool_jobs.daily_frame(outcome.daily),
                                  check_exact=True)
    assert result.stats.keys() == stats.keys()
    assert {k: (v, stats[k]) for k, v in result.stats.items() if not _same(v, stats[k])} == {}
    assert result.notes == {"bars": bars_from,
                            "warmup": warmup_summary(outcome.engine.warmups)}
    # the chart: the built candles of the period, as many as the run's bars
    assert len(result.bars["datetime"]) == len(outcome.engine.history_data)


def test_the_data_box_offers_bars_built_from_1m(qtbot, paths, catalog):
    from terminal.ui.backtest.form import SettingsPanel

    store = MarketStore(paths.market_dir)
    panel = SettingsPanel(catalog, store)
    qtbot.addWidget(panel)
    try:
        assert panel.select_series("rb2401.SHFE", "15m")
        box = panel.interval_box
        offered = {box.itemData(i): box.itemText(i) for i in range(box.count())}
        assert offered == {"1m": "1m", "5m": "5m (built from 1m)",
                           "15m": "15m (built from 1m)", "30m": "30m (built from 1m)",
                           "4h": "4h (built from 1m)"}
        assert panel.interval() == "15m"
        assert panel.range_label.text().startswith("built from the stored 1m bars")
        settings = panel.settings()
        assert settings.interval == "15m" and settings.start == START and settings.end == END
    finally:
        panel.close()
        store.close()


def test_the_run_header_says_what_the_warm_up_loaded_and_keeps_it(qtbot, paths, catalog,
                                                                   tmp_path):
    """A 15m run of a strategy whose load_bar(10) asks for 1m bars: the header names the 1m
    bars it got (the day before; the ten days before that were the National Day holiday);
    nothing counts the built bars before the start. Reopened, the same."""
    from terminal.services import backtest_runs
    from terminal.ui.backtest.results import ResultsView, describe

    entry = catalog.get("DoubleMaStrategy")
    settings = pool_jobs.settings_from("rb2401.SHFE", "15m", END, END,
                                       {"size": 10, "pricetick": 1})
    result = pool_jobs.run_backtest(lambda *_: None, market_root=paths.market_dir,
                                    strategy=lambda: entry.cls, settings=settings,
                                    params=PARAMS)
    store = MarketStore(paths.market_dir)
    with RunStore(tmp_path / "backtests") as runs:
        run_id = runs.create(entry.name, settings.vt_symbol, settings.interval, settings.start,
                             settings.end, pool_jobs.settings_record(settings), PARAMS)
        backtest_runs.save_result(runs, run_id, result)
        record, reopened = backtest_runs.open_run(runs, store, run_id)
    store.close()
    said = ("The strategy's warm-up: load_bar(10) asked for the 10 days of 1m bars before "
            "the start and got 345 (2023-10-09 09:00 to 2023-10-09 22:59)")
    header = describe(record)
    assert said in header and "before the start)" not in header
    assert "Bars: built in memory from the stored 1m bars" in header
    view = ResultsView(store.tz)
    qtbot.addWidget(view)
    view.show_run(reopened, record)
    shown = view.snapshot()
    assert said in shown["title"]
    assert not any("warm-up" in row[0] or "warm-up" in row[1] for row in shown["statistics"])
    assert shown["bars"] == len(reopened.bars["datetime"]) > 0


def test_the_optimise_and_walk_forward_jobs_run_built_bars_as_the_command_line(paths, catalog):
    """The Optimise and Walk-forward tabs' jobs read a built length once (built_bars.
    shared_bars): an optimisation's row for a setting equals the command line's backtest of
    that setting on the same built 15m bars; a walk-forward on them runs its windows."""
    from terminal.backtest.optimisation.space import ParameterSpace
    from terminal.backtest.walkforward_job import walk_forward
    from terminal.backtest.walkforward_windows import WalkForwardPlan
    from terminal.services import backtest

    entry = catalog.get("DoubleMaStrategy")
    prepared = backtest.prepare(paths, entry, "rb2401", Exchange.SHFE, "15m", START, END,
                                backtest.Costs(), PARAMS, warmup_days=30)
    try:
        outcome, stats, failure = backtest.backtest(prepared)
    finally:
        prepared.close()
    assert failure is None and stats["total_trade_count"] > 0
    space = {"fast_window": [5, 8], "slow_window": [12]}
    result = pool_jobs.optimise(lambda *_: None, market_root=paths.market_dir,
                                strategy=lambda: entry.cls, settings=prepared.settings,
                                space=space, target="total_net_pnl", workers=1)
    row = next(r for r in result.rows if r[0] == {"fast_window": 5, "slow_window": 12})
    assert "error" not in row[2], row[2].get("error")
    for key in ("total_net_pnl", "total_trade_count", "sharpe_ratio", "end_balance"):
        assert _same(row[2][key], outcome.statistics[key]), key

    plan = WalkForwardPlan(ParameterSpace(space), 2, 1, target="total_net_pnl")
    walk = walk_forward(lambda *_: None, market_root=paths.market_dir,
                        strategy=lambda: entry.cls, settings=prepared.settings, plan=plan,
                        workers=1)
    assert len(walk.windows) == 4 and not walk.cancelled
