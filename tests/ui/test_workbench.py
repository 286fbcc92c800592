"""The backtest workbench dock: runs in worker processes with progress, cancel, a time limit and
a limit on how many work at once, while the GUI stays responsive; results equal to the engine's;
every run kept, reopened as it was shown, compared and deleted; optimisation from the dock."""

from __future__ import annotations

import math
import os
from datetime import datetime

import numpy as np
import psutil
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMenu, QMessageBox
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData
from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy

from terminal.backtest import stats
from terminal.backtest.engine import BacktestSettings, history_range, run, select_history
from terminal.backtest.runs import CANCELLED, DONE, FAILED
from terminal.plugins.loader import SHIPPED_FOLDER, StrategyCatalog
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import MarketStore
from terminal.ui.backtest import BacktestWorkbench
from terminal.ui.strategy_choices import ERROR_ROLE

from tests.helpers import SHARED_DATA
from tests.helpers import random_walk_bars
from tests.helpers.parameters import REFUSED
from tests.helpers.plugin_files import HOSTILE, LIMIT, imported_here, strategy, write_hostile

WAIT = 30_000  # ms
FINAL = ("done", "failed", "cancelled", "deleted")
RB_FILE = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
needs_rb = pytest.mark.skipif(not RB_FILE.exists(),
                              reason=f"shared market data not found: {RB_FILE}")
SYNTHETIC = "rb2405.SHFE"

PLUGINS = '''
import time

from vnpy_ctastrategy import CtaTemplate


class SlowStrategy(CtaTemplate):
    """Sleeps on every bar: a run that takes a while."""
    author = "tests"
    pause = 0.01
    parameters = ["pause"]

    def on_init(self):
        pass

    def on_tick(self, tick):
        pass

    def on_bar(self, bar):
        time.sleep(self.pause)


class RaisingStrategy(CtaTemplate):
    """Raises on its first bar."""
    author = "tests"
    threshold = 1.5
    parameters = ["threshold"]

    def on_init(self):
        pass

    def on_tick(self, tick):
        pass

    def on_bar(self, bar):
        raise ZeroDivisionError("broken on purpose")
'''


def synthetic_bars() -> list[BarData]:
    return random_walk_bars("rb2405", days=4, per_day=225, seed=3, step=2.5)


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    """The terminal's market store: synthetic rb2405 bars, and rb2401 from the shared data."""
    store = MarketStore(tmp_path_factory.mktemp("workbench") / "market")
    store.save_bars(synthetic_bars())
    if RB_FILE.exists():
        import_file(store, RB_FILE)
    yield store
    store.close()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plugins")
    (folder / "slow.py").write_text(PLUGINS)
    (folder / "broken.py").write_text("this is not python (\n")
    catalog = StrategyCatalog([SHIPPED_FOLDER, folder])
    catalog.refresh()                   # the user's files checked before the dock lists them
    yield catalog
    catalog.close()


@pytest.fixture
def bench(qtbot, market, catalog, tmp_path):
    workbench = BacktestWorkbench(catalog, market, tmp_path / "backtests", max_workers=2)
    qtbot.addWidget(workbench)
    workbench.resize(1400, 800)
    workbench.show()
    yield workbench
    workbench.shutdown()


def choose(bench, strategy: str, vt_symbol: str = SYNTHETIC, **params) -> None:
    assert bench.form.set_strategy(strategy)
    assert bench.form.select_series(vt_symbol, "1m")
    bench.form.set_params(params)


def start(bench, strategy: str, vt_symbol: str = SYNTHETIC, **params) -> str:
    choose(bench, strategy, vt_symbol, **params)
    run_id = bench.run()
    assert run_id, bench.message.text()
    return run_id


def wait_final(qtbot, bench, run_id: str, timeout: int = WAIT) -> str:
    qtbot.waitUntil(lambda: bench.status_of(run_id) in FINAL, timeout=timeout)
    return bench.status_of(run_id)


def same(left, right) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left) \
            and math.isnan(right):
        return True
    return left == right


def dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# ---------------------------------------------------------------------- the settings
def test_strategies_load_errors_and_typed_parameters(bench):
    box = bench.form.strategy_box
    names = [box.itemData(i) for i in range(box.count()) if box.itemData(i)]
    assert {"DoubleMaStrategy", "MacdTrendStrategy", "SlowStrategy", "RaisingStrategy"} \
        <= set(names)
    broken = [box.itemText(i) for i in range(box.count()) if "broken.py" in box.itemText(i)]
    assert broken and "SyntaxError" in broken[0]
    assert "broken.py" in bench.form.errors_label.text()

    choose(bench, "RaisingStrategy")
    assert bench.form.params() == {"threshold": 1.5}
    bench.form.fields.set_text("threshold", "a lot")
    assert bench.run() is None
    assert "threshold: 'a lot' is not a number" in bench.message.text()
    assert bench.runs.list() == []

    choose(bench, "DoubleMaStrategy")           # prefilled from rb's specification
    settings = bench.form.settings()
    assert (settings.size, settings.pricetick, settings.rate, settings.slippage,
            settings.capital) == (10, 1, 0.0001, 1, 1_000_000)
    assert (settings.start, settings.end) == (datetime(2023, 9, 25), datetime(2023, 9, 28))
    bench.form.end_edit.setDate(bench.form.start_edit.date().addDays(-1))
    assert bench.run() is None and "ends" in bench.message.text()



@pytest.mark.parametrize(("name", "text", "message"), REFUSED)
def test_a_parameter_that_does_not_fit_its_type_is_refused_beside_its_field(bench, name, text,
                                                                            message):
    """The same words as the command line's --param and the Strategies dock: one parser."""
    choose(bench, "MacdTrendStrategy")
    fields = bench.form.fields
    assert fields.texts()["trailing_stop"] == "true" and fields.texts()["bar_minutes"] == "5"
    fields.set_text(name, text)
    assert bench.run() is None
    assert bench.message.text() == message
    assert fields.errors[name].text() == message and not fields.errors[name].isHidden()
    assert bench.runs.list() == [] and bench.session == {}
    fields.set_text(name, "off" if name == "trailing_stop" else "15")
    assert bench.form.params()[name] == (False if name == "trailing_stop" else 15)
    assert fields.errors[name].isHidden()


# ---------------------------------------------------------------------- runs
@needs_rb
def test_a_double_ma_run_completes_with_progress_and_the_engines_statistics(qtbot, bench,
                                                                           market):
    heard = []
    bench.signals.progress.connect(lambda handle, percent, text: heard.append(percent))
    run_id = start(bench, "DoubleMaStrategy", "rb2401.SHFE")
    settings = bench.session[run_id].settings
    assert settings == BacktestSettings("rb2401.SHFE", datetime(2023, 9, 25),
                                        datetime(2023, 10, 10), rate=1e-4, slippage=1,
                                        size=10, pricetick=1, capital=1_000_000)
    assert wait_final(qtbot, bench, run_id) == DONE, bench.session[run_id].handle.error
    assert heard and any(0 < p < 100 for p in heard) and heard[-1] == 100
    assert heard == sorted(heard)
    assert bench.session[run_id].bar.value() == 100

    start_, end = history_range(settings)
    bars = market.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE, start_, end)
    direct = run(DoubleMaStrategy, select_history(bars, settings), settings,
                 {"fast_window": 10, "slow_window": 20}, bar_loader=market.load_bars)
    expected = stats.report(direct.engine, direct.statistics)
    qtbot.waitUntil(lambda: bench.results.record is not None
                    and bench.results.record.run_id == run_id, timeout=WAIT)
    shown = bench.results.result.stats
    assert shown.keys() == expected.keys() == stats.LABELS.keys()
    assert all(same(shown[k], expected[k]) for k in expected), \
        {k: (shown[k], expected[k]) for k in expected if not same(shown[k], expected[k])}
    kept = bench.runs.get(run_id).stats
    assert all(same(kept[k], expected[k]) for k in expected)
    texts = dict(bench.results.stats_model.texts())
    assert texts["Net P&L"] == stats.format_value("total_net_pnl",
                                                  expected["total_net_pnl"])
    snapshot = bench.results.snapshot()
    assert len(snapshot["trades"]) == len(direct.engine.trades) == expected["total_trade_count"]
    assert snapshot["bars"] == 1830 and len(snapshot["fills"]) == len(direct.engine.trades)
    assert len(snapshot["balance"]) == len(direct.daily)
    assert bench.tabs.currentWidget() is bench.results


def test_a_run_reopened_from_history_matches_what_was_shown_when_it_finished(qtbot, bench):
    run_id = start(bench, "DoubleMaStrategy", fast_window=5, slow_window=15)
    assert wait_final(qtbot, bench, run_id) == DONE
    qtbot.waitUntil(lambda: bench.results.record is not None, timeout=WAIT)
    shown = bench.results.snapshot()
    assert shown["trades"] and shown["bars"] == 900 and shown["fills"]
    assert "fast_window=5, slow_window=15" in shown["title"]

    bench.results.show_run(None, None)                 # something else on screen
    assert bench.results.snapshot()["trades"] == []
    bench.history.refresh()
    assert bench.history.run_ids() == [run_id]
    bench.history.select(run_id)
    with qtbot.waitSignal(bench.run_opened, timeout=WAIT):
        bench.history.open_selected()
    assert bench.results.snapshot() == shown
    assert bench.tabs.currentWidget() is bench.results


def test_cancel_and_time_limit_of_a_run(qtbot, bench):
    run_id = start(bench, "SlowStrategy")               # 900 bars, 10 ms each
    handle = bench.session[run_id].handle
    qtbot.waitUntil(lambda: handle.progress.percent > 10, timeout=WAIT)   # replaying
    assert bench.runs.get(run_id).status == "running"
    pid = handle.pid
    assert bench.cancel(run_id)
    assert wait_final(qtbot, bench, run_id) == CANCELLED
    assert bench.runs.get(run_id).status == CANCELLED
    assert dead(pid)
    assert "cancelled" in bench.runs_table.item(bench._row_of(run_id), 4).text()

    bench.limit_spin.setValue(1)
    limited = start(bench, "SlowStrategy")              # 9 s of work: stopped at 1 s
    assert wait_final(qtbot, bench, limited) == FAILED
    record = bench.runs.get(limited)
    assert record.error == "time limit of 1 s exceeded"
    assert "time limit of 1 s exceeded" in bench.message.text()
    assert bench.history.model.value(bench.history.run_ids().index(limited), 8) == FAILED


def test_a_strategy_that_raises_fails_its_run_with_the_traceback(qtbot, bench):
    run_id = start(bench, "RaisingStrategy")
    assert wait_final(qtbot, bench, run_id) == FAILED
    error = bench.runs.get(run_id).error
    assert "ZeroDivisionError: broken on purpose" in error
    assert "the strategy raised during the backtest" in error


def test_runs_wait_for_a_free_worker_up_to_the_limit(qtbot, bench):
    bench.workers_spin.setValue(1)
    first = start(bench, "SlowStrategy")
    second = start(bench, "SlowStrategy")
    handles = [bench.session[r].handle for r in (first, second)]
    qtbot.waitUntil(lambda: handles[0].state == "running", timeout=WAIT)
    qtbot.wait(300)
    assert handles[1].state == "queued" and bench.runs.get(second).status == "queued"
    assert bench.queue_label.text() == "1 running, 1 queued"
    bench.cancel_all()
    assert wait_final(qtbot, bench, first) == CANCELLED
    assert wait_final(qtbot, bench, second) == CANCELLED


def test_the_gui_stays_responsive_while_a_run_works(qtbot, bench):
    """The run works in its own process: the GUI loop turns while it replays bars. Checked
    on what happens (a timer fires before the run is over), not on how long a turn took:
    that is the machine's doing, a figure for a benchmark, not a test."""
    run_id = start(bench, "SlowStrategy", pause=0.02)       # 18 s of work unless cancelled
    handle = bench.session[run_id].handle
    qtbot.waitUntil(lambda: handle.progress.percent > 10, timeout=WAIT)   # replaying
    assert handle.pid is not None and handle.pid != os.getpid()
    turned: list[str] = []
    QTimer.singleShot(0, lambda: turned.append(handle.state))
    qtbot.waitUntil(lambda: bool(turned), timeout=WAIT)
    assert turned == ["running"]
    assert bench.cancel(run_id)
    assert wait_final(qtbot, bench, run_id) == CANCELLED


# ---------------------------------------------------------------------- history
def test_compare_two_runs(qtbot, bench):
    first = start(bench, "DoubleMaStrategy", fast_window=5, slow_window=20)
    second = start(bench, "DoubleMaStrategy", fast_window=8, slow_window=30)
    assert wait_final(qtbot, bench, first) == DONE
    assert wait_final(qtbot, bench, second) == DONE
    bench.history.refresh()
    bench.history.select(first, second)
    assert bench.history.compare_button.isEnabled()
    bench.history.compare_selected()
    assert bench.tabs.currentWidget() is bench.compare_view
    table = bench.compare_view.table()
    order = bench.compare_view.run_ids
    assert sorted(order) == sorted([first, second])
    params = {first: ("5", "20"), second: ("8", "30")}
    assert table["param: fast_window"] == [params[r][0] for r in order]
    assert table["param: slow_window"] == [params[r][1] for r in order]
    assert table["strategy"] == ["DoubleMaStrategy"] * 2
    kept = {r: bench.runs.get(r).stats for r in order}
    assert table["total_net_pnl"] == [stats.format_value("total_net_pnl",
                                                         kept[r]["total_net_pnl"])
                                      for r in order]
    assert table["sortino_ratio"] == [stats.format_value("sortino_ratio",
                                                         kept[r]["sortino_ratio"])
                                      for r in order]

    bench.history.set_filter(strategy="DoubleMaStrategy", vt_symbol=SYNTHETIC)
    assert set(bench.history.run_ids()) == {first, second}
    assert bench.history.strategy_box.currentData() == "DoubleMaStrategy"


def test_delete_runs_after_confirmation(qtbot, bench):
    kept = start(bench, "DoubleMaStrategy")
    doomed = start(bench, "DoubleMaStrategy", fast_window=6)
    assert wait_final(qtbot, bench, kept) == DONE
    assert wait_final(qtbot, bench, doomed) == DONE
    bench.history.refresh()
    bench.history.select(doomed)
    box = bench.history.request_delete()
    assert not box.isHidden() and "Delete 1 run" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert set(bench.history.run_ids()) == {kept, doomed}

    bench.history.select(doomed)
    folder = bench.runs.root / doomed
    assert folder.exists()
    bench.history.request_delete().button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: bench.history.run_ids() == [kept], timeout=WAIT)
    assert [r.run_id for r in bench.runs.list()] == [kept]
    assert not folder.exists()
    assert bench.status_of(doomed) == "deleted"


# ---------------------------------------------------------------------- optimisation
@needs_rb
def test_an_optimisation_over_a_2x2_grid_from_the_dock(qtbot, bench):
    choose(bench, "DoubleMaStrategy", "rb2401.SHFE")
    panel = bench.optimise
    panel.search.set_range("fast_window", 5, 10, 5)
    panel.search.set_range("slow_window", 20, 40, 20)
    assert "4 settings" in panel.search.space_label.text()
    panel.search.target_box.setCurrentIndex(panel.search.target_box.findData("total_net_pnl"))
    panel.search.workers_spin.setValue(2)
    heard = []
    bench.signals.progress.connect(lambda handle, percent, text: heard.append(text))
    with qtbot.waitSignal(panel.finished, timeout=WAIT) as finished:
        handle = panel.start()
        assert handle is not None, panel.status_label.text()
        assert panel.cancel_button.isEnabled()
    result = finished.args[0]
    assert result is not None and handle.state == "done", handle.error
    assert "4/4 settings evaluated" in heard
    model = panel.results_model
    assert len(model.rows) == 4
    names = [column.title for column in model.columns]
    assert names[:3] == ["fast_window", "slow_window", "Net P&L (target)"]
    values = model.column_values(panel.target_column())
    assert values == sorted(values, reverse=True)
    assert {(row[0], row[1]) for row in model.rows} == {(5, 20), (5, 40), (10, 20), (10, 40)}
    assert panel.heat_matrix.shape == (2, 2) and np.isfinite(panel.heat_matrix).all()
    assert panel.heat_matrix.max() == values[0]
    assert "4 settings evaluated" in panel.status_label.text()
    # the odds beside the best, computed in the job's worker: 9 days are too few for a PBO
    box = panel.odds_box
    assert not box.isHidden() and result.odds is not None and box.odds == result.odds
    assert f"Deflated Sharpe {result.odds.dsr:.2f} · PBO n/a · 4 settings tried" in box.text()
    assert result.odds.headline in box.text()
    assert "Missing: PBO: " in box.toolTip() and "Deflated Sharpe: the probability" \
        in box.toolTip()

    panel.results_view.selectRow(0)
    best = panel.use_selected()
    assert bench.form.params() == best == {"fast_window": model.rows[0][0],
                                           "slow_window": model.rows[0][1]}


def test_the_odds_box_is_coloured_by_the_verdict_and_a_reopened_optimisation_shows_them(
        qtbot, bench):
    from terminal.backtest.optimisation.odds import OptimisationOdds
    from terminal.backtest.optimisation.ranking import OptimisationResult
    from terminal.ui.backtest.optimise import LEVEL_HEX

    panel, box = bench.optimise, bench.optimise.odds_box
    real = OptimisationOdds(1240, 1238, 480, dsr=0.93, pbo=0.12, level="unsure",
                            headline="Could be luck: treat this setting with suspicion.",
                            lines=("Deflated Sharpe ratio 93%: below 95%.",))
    panel.show_result(OptimisationResult("sharpe_ratio", [({"fast_window": 5}, 1.0, {})],
                                         odds=real))
    assert not box.isHidden() and box.level == "unsure"
    assert "Deflated Sharpe 0.93 · PBO 12% · 1,240 settings tried" in box.text()
    assert LEVEL_HEX["unsure"] in box.styleSheet() and LEVEL_HEX["unsure"] in box.text()
    assert "Deflated Sharpe ratio 93%: below 95%." in box.toolTip()
    panel.show_result(OptimisationResult("sharpe_ratio", []))
    assert box.isHidden()

    kept = OptimisationOdds(25, 25, 6, dsr=0.08, level="luck",
                            headline="Likely luck or overfit: do not trust this setting.",
                            missing=("PBO: 6 days of results",))
    run_id = bench.runs.create("DoubleMaStrategy", SYNTHETIC, "1m", "2023-09-25", "2023-09-28",
                               {"optimisation": {"tried": 25, "odds": kept.as_dict()}},
                               {"fast_window": 5})
    bench.runs.set_status(run_id, "failed", "kept for the test")
    bench.history.refresh()
    bench.history.select(run_id)
    with qtbot.waitSignal(bench.run_opened, timeout=WAIT):
        bench.history.open_selected()
    assert not box.isHidden() and box.odds == kept and box.level == "luck"
    assert "Deflated Sharpe 0.08 · PBO n/a · 25 settings tried" in box.text()
    assert f"run {run_id}" in box.text() and LEVEL_HEX["luck"] in box.styleSheet()


def test_an_optimisation_can_be_cancelled(qtbot, bench):
    choose(bench, "SlowStrategy")
    panel = bench.optimise
    panel.search.set_range("pause", 0.01, 0.05, 0.01)
    handle = panel.start()
    assert handle is not None, panel.status_label.text()
    qtbot.waitUntil(lambda: handle.state == "running", timeout=WAIT)
    qtbot.wait(300)
    with qtbot.waitSignal(panel.finished, timeout=WAIT) as finished:
        panel.cancel()
    assert finished.args[0] is None and handle.state == "cancelled"
    assert panel.status_label.text() == "cancelled" and panel.start_button.isEnabled()


# ---------------------------------------------------------------------- hostile plugins
def test_hostile_plugins_are_greyed_out_with_the_reason_and_other_runs_work(
        qtbot, market, tmp_path):
    folder = tmp_path / "plugins"
    expected = write_hostile(folder)
    turns = folder / "turns.py"
    turns.write_text(strategy("TurnsStrategy"))
    catalog = StrategyCatalog([SHIPPED_FOLDER, folder], check_seconds=LIMIT)
    workbench = BacktestWorkbench(catalog, market, tmp_path / "backtests", max_workers=2)
    qtbot.addWidget(workbench)
    try:
        box = workbench.form.strategy_box
        # listed at once (the user's files being checked), filled in when the checks end
        qtbot.waitUntil(lambda: not catalog.pending and box.findData("TurnsStrategy") >= 0,
                        timeout=120_000)
        greyed = {box.itemText(i).split(":")[0].split()[-1]: box.itemData(i, ERROR_ROLE)
                  for i in range(box.count()) if box.itemData(i, ERROR_ROLE)}
        assert greyed == expected
        assert all(f"{name}: {reason}" in workbench.form.errors_label.text()
                   for name, reason in expected.items())
        assert imported_here(folder) == []

        run_id = start(workbench, "DoubleMaStrategy")
        assert wait_final(qtbot, workbench, run_id) == DONE
        run_id = start(workbench, "TurnsStrategy")
        assert wait_final(qtbot, workbench, run_id) == DONE

        turns.write_text(HOSTILE["exits.py"][0].replace("ExitsStrategy", "TurnsStrategy"))
        assert workbench.form.set_strategy("TurnsStrategy")
        assert workbench.run() is None           # changed since its check: not run blind
        assert "turns.py changed and is being checked" in workbench.message.text()
        qtbot.waitUntil(lambda: box.findData("TurnsStrategy") < 0 and any(
            "turns.py: exited with code 1 while importing" in box.itemText(i)
            for i in range(box.count())), timeout=120_000)
        assert imported_here(folder) == []       # the GUI process never imported a plugin
    finally:
        workbench.shutdown()
        catalog.close()


# ---------------------------------------------------------------------- in the terminal
def test_the_terminal_has_a_backtest_dock_in_the_view_menu(terminal):
    runtime, window = terminal
    dock = window.docks["backtest"]
    assert dock.windowTitle() == "Backtest"
    workbench = window.widget("backtest")
    assert workbench.store is runtime.store and workbench.catalog is runtime.catalog
    assert workbench.runs.root == runtime.kernel.paths.root / "backtests"
    menus = {menu.title(): menu for menu in window.menuBar().findChildren(QMenu)}
    shown = [action.text() for action in menus["&View"].actions()]
    assert "Backtest" in shown and "&Backtest workbench" in shown
    window.docks["backtest"].hide()
    window.menu_bar.shortcut_actions["view.backtest"].trigger()
    assert window.docks["backtest"].isVisible()
