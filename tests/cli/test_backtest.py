"""`trading-terminal backtest|optimize`, run in-process through the real entry point on real
rb2401 1-minute bars imported with `data import`: statistics printed and the run saved; bad
input named on stderr with exit 2 and nothing saved; a strategy that raises saved as failed;
a grid and a genetic search agreeing on the best setting, which is saved with the table. The
plugin folder also holds files that exit, hang or crash while importing: backtests of other
strategies run as usual, and one of theirs is refused with the reason."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.helpers import SHARED_DATA
from tests.helpers.processes import command as main
from tests.helpers.parameters import REFUSED
from tests.helpers.plugin_files import HOSTILE, LIMIT, write_hostile

RB = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
pytestmark = pytest.mark.skipif(not RB.exists(), reason=f"{RB} is not there")
PERIOD = ["--start", "2023-09-25", "--end", "2023-10-10"]
GRID = ["--range", "fast_window=5,10", "--range", "slow_window=20:30:10"]

FAILING_PLUGIN = '''
from vnpy_ctastrategy import CtaTemplate


class BrokenOnBarStrategy(CtaTemplate):
    """Raises on its first bar."""

    parameters = []

    def on_init(self):
        pass

    def on_bar(self, bar):
        raise ZeroDivisionError("broken on purpose")
'''


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("backtest-cli")
    plugins = root / "my-plugins"
    plugins.mkdir()
    (plugins / "broken.py").write_text(FAILING_PLUGIN)
    write_hostile(plugins)          # files that exit, hang or crash whatever imports them
    data = root / "data"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps(
        {"plugin_folder": str(plugins), "plugin_check_seconds": LIMIT}))
    assert main(["--home", str(data), "data", "import", str(RB)]) == 0
    return data


def runs(home):
    from terminal.backtest.runs import RunStore

    with RunStore(home / "backtests") as store:
        return store.list()


def test_backtest_prints_the_statistics_and_saves_the_run(home, capsys):
    before = len(runs(home))
    assert main(["--home", str(home), "backtest", "DoubleMaStrategy", "rb2401.SHFE",
                 "--interval", "1m", *PERIOD, "--slippage", "1", "--param",
                 "fast_window=5"]) == 0
    out = capsys.readouterr().out
    assert "1,830 bars (the stored 1m bars)" in out
    assert "parameters: fast_window=5, slow_window=20 (default)" in out
    assert re.search(r"size +10  contract table, rb \(Rebar\)", out)
    assert re.search(r"rate +0\.0001  contract table, rb \(Rebar\)", out)
    assert re.search(r"slippage +1  given", out)
    assert re.search(r"^Sharpe ratio \(vn\.py\) +-?[\d,.]+$", out, re.M)
    assert re.search(r"^Win rate +[\d.]+%$", out, re.M)
    assert re.search(r"^First trading day +2023-09-25$", out, re.M)
    saved = runs(home)
    assert len(saved) == before + 1
    record = saved[0]
    assert f"run {record.run_id} saved" in out
    assert record.status == "done" and record.strategy == "DoubleMaStrategy"
    assert record.params == {"fast_window": 5, "slow_window": 20}
    assert record.settings["size"] == 10 and record.settings["slippage"] == 1
    assert record.stats["total_trade_count"] > 0 and "sortino_ratio" in record.stats
    # the table's lines are aligned: every value ends in the same column
    table = out.split("\n\n")[1].splitlines()
    assert len({len(line) for line in table}) == 1


@pytest.mark.parametrize(("name", "text", "message"), REFUSED)
def test_a_parameter_that_does_not_fit_its_type_is_refused(home, capsys, name, text, message):
    """The same words as the workbench's form and the Strategies dock's dialog: one parser."""
    before = len(runs(home))
    assert main(["--home", str(home), "backtest", "MacdTrendStrategy", "rb2401.SHFE", *PERIOD,
                 "--param", f"{name}={text}"]) == 2
    assert capsys.readouterr().err == f"error: --param {message}\n"
    assert len(runs(home)) == before


def test_hourly_bars_are_built_from_the_stored_minutes(home, capsys):
    assert main(["--home", str(home), "backtest", "DoubleMaStrategy", "rb2401.SHFE",
                 "--interval", "1h", *PERIOD]) == 0
    out = capsys.readouterr().out
    assert "built in memory from the stored 1m bars" in out
    assert runs(home)[0].interval == "1h"


def test_15_minute_bars_are_built_and_the_warm_up_is_told(home, capsys):
    assert main(["--home", str(home), "backtest", "DoubleMaStrategy", "rb2401.SHFE",
                 "--interval", "15m", *PERIOD]) == 0
    out = capsys.readouterr().out
    assert "built in memory from the stored 1m bars" in out
    assert ("the strategy's warm-up: load_bar(10) asked for the 10 days of 1m bars before "
            "the start and got none") in out
    assert runs(home)[0].interval == "15m"
    # two days in, the strategy's load_bar (1m, vn.py's default) gets the stored 1m bars
    assert main(["--home", str(home), "backtest", "DoubleMaStrategy", "rb2401.SHFE",
                 "--interval", "15m", "--start", "2023-09-27", "--end", "2023-10-10"]) == 0
    told = re.search(r"asked for the 10 days of 1m bars before the start and got ([\d,]+) "
                     r"\(2023-09-25 09:00 to 2023-09-26 22:59\)", capsys.readouterr().out)
    assert told is not None and told.group(1) == "690"


@pytest.mark.parametrize(("arguments", "message"), [
    (["Nope", "rb2401.SHFE"], "unknown strategy 'Nope'; known strategies: "),
    (["DoubleMaStrategy", "rb2401.SHFE", "--param", "fast=3"],
     ("DoubleMaStrategy has no parameter 'fast'; its parameters: fast_window (default 10), "
      "slow_window (default 20)")),
    (["DoubleMaStrategy", "rb2401.SHFE", "--param", "fast_window=abc"],
     "--param fast_window: 'abc' is not a whole number (the default is 10)"),
    (["DoubleMaStrategy", "rb2401.SHFE", "--param", "fast_window=2.5"],
     "--param fast_window: '2.5' is not a whole number"),
    (["DoubleMaStrategy", "rb2401.SHFE", "--start", "2023-13-01"],
     "--start: '2023-13-01' is not a date (YYYY-MM-DD)"),
    (["DoubleMaStrategy", "rb2401.SHFE", "--start", "2024-01-02", "--end", "2024-01-10"],
     ("no 1m bars of rb2401.SHFE from 2024-01-02 to 2024-01-10 in the store; the store holds "
      "of rb2401.SHFE: 1m 2023-09-25 09:00 to 2023-10-10 14:59 (1,830)")),
    (["DoubleMaStrategy", "hc2401.SHFE"], "the store holds nothing of hc2401.SHFE"),
    (["DoubleMaStrategy", "rb2401.NOPE"], "'rb2401.NOPE' is not SYMBOL.EXCHANGE"),
    (["DoubleMaStrategy", "rb2401.SHFE", "--interval", "7m"],
     "--interval '7m': a backtest runs on 1m, 5m, 15m, 30m, 1h, 4h, d bars"),
])
def test_bad_input_is_named_and_nothing_is_saved(home, capsys, arguments, message):
    before = len(runs(home))
    argv = ["--home", str(home), "backtest", *arguments, *PERIOD]
    if "--start" in arguments:      # the case's own dates come last and win
        argv = ["--home", str(home), "backtest", *PERIOD, *arguments]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Sharpe" not in captured.out
    assert len(runs(home)) == before


@pytest.mark.parametrize("file_name", sorted(HOSTILE))
def test_a_strategy_whose_file_exits_or_hangs_is_refused_with_the_reason(home, capsys,
                                                                          file_name):
    before = len(runs(home))
    name = file_name.removesuffix(".py").capitalize() + "Strategy"
    for command in ("backtest", "optimise"):
        extra = ["--range", "fast=1,2"] if command == "optimise" else []
        assert main(["--home", str(home), command, name, "rb2401.SHFE", *PERIOD, *extra]) == 2
        err = capsys.readouterr().err       # this process is still here to read it
        path = home.parent / "my-plugins" / file_name
        assert f"error: strategy {name}: {path}: {HOSTILE[file_name][1]}" in err
    assert len(runs(home)) == before


def test_an_unknown_strategy_lists_the_files_that_are_not_loaded(home, capsys):
    assert main(["--home", str(home), "backtest", "Nope", "rb2401.SHFE", *PERIOD]) == 2
    err = capsys.readouterr().err
    assert "MacdTrendStrategy" in err and "BrokenOnBarStrategy" in err
    for file_name, (_, reason) in HOSTILE.items():
        assert f"{file_name}: {reason}" in err


def test_a_strategy_that_raises_is_saved_as_failed(home, capsys):
    assert main(["--home", str(home), "backtest", "BrokenOnBarStrategy", "rb2401.SHFE",
                 *PERIOD]) == 1
    captured = capsys.readouterr()
    assert "backtest failed" in captured.err and "ZeroDivisionError" in captured.err
    record = runs(home)[0]
    assert record.strategy == "BrokenOnBarStrategy" and record.status == "failed"
    assert "broken on purpose" in record.error


def test_optimize_grid_and_genetic_agree_on_the_best(home, capsys):
    from terminal.backtest.runs import RunStore

    before = len(runs(home))
    assert main(["--home", str(home), "optimise", "DoubleMaStrategy", "rb2401.SHFE", *PERIOD,
                 *GRID, "--target", "total_net_pnl", "--workers", "2"]) == 0
    captured = capsys.readouterr()
    grid_out = captured.out
    assert "grid search over 4 combinations of fast_window [5, 10], slow_window [20, 30]" \
        in grid_out
    assert "optimising: 100.0% (4/4 settings evaluated)" in captured.err
    best = re.search(r"^best: (.*)$", grid_out, re.M).group(1)
    table = grid_out.split("by total_net_pnl:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table[0].split()[:4] == ["rank", "fast_window", "slow_window", "total_net_pnl"]
    assert len(table) == 5
    values = [float(line.split()[3].replace(",", "")) for line in table[1:]]
    assert values == sorted(values, reverse=True)
    record = runs(home)[0]
    assert record.status == "done" and len(runs(home)) == before + 1
    assert f"run {record.run_id} saved" in grid_out
    assert record.settings["optimisation"]["method"] == "grid"
    assert record.settings["optimisation"]["space"] == {"fast_window": [5, 10],
                                                        "slow_window": [20, 30]}
    assert f"fast_window={record.params['fast_window']}" in best
    with RunStore(home / "backtests") as store:
        folder = store.root / record.run_id
        assert len(store.load_trades(record.run_id)) == record.stats["total_trade_count"]
    frame = pd.read_parquet(folder / "optimisation.parquet")
    assert len(frame) == 4 and {"fast_window", "slow_window", "total_net_pnl"} <= set(frame)
    assert frame["total_net_pnl"].iloc[0] == pytest.approx(record.stats["total_net_pnl"])
    # the odds beside the best: 4 settings tried; 9 days are too few for the PBO's 16 blocks
    assert re.search(r"^settings tried: 4$", grid_out, re.M)
    dsr = re.search(r"^deflated Sharpe ratio: (\d\.\d\d) \(the best setting's daily Sharpe "
                    r"-?[\d.]+ against [\d.]+ expected from the best of 4 by luck\)$",
                    grid_out, re.M)
    assert dsr is not None, grid_out
    assert re.search(r"^probability of backtest overfitting: missing: \d+ days of results; "
                     r"the probability of backtest overfitting cuts them into 16 blocks and "
                     r"needs at least 32$", grid_out, re.M)
    assert re.search(r"^verdict: (Likely|Could be|Cannot)", grid_out, re.M)
    # kept with the run, and read back as it was printed
    from terminal.services.optimisation import stored_odds

    kept = record.settings["optimisation"]
    odds = stored_odds(record.settings)
    assert kept["tried"] == odds.tried == 4 and odds.settings == 4
    assert odds.pbo is None and f"{odds.dsr:.2f}" == dsr.group(1)
    assert f"verdict: {odds.headline}" in grid_out

    assert main(["--home", str(home), "optimise", "DoubleMaStrategy", "rb2401.SHFE", *PERIOD,
                 *GRID, "--target", "total_net_pnl", "--genetic", "--population", "4",
                 "--generations", "2", "--seed", "1", "--workers", "2"]) == 0
    genetic_out = capsys.readouterr().out
    assert "genetic search (population 4, 2 generations, seed 1)" in genetic_out
    assert re.search(r"^best: (.*)$", genetic_out, re.M).group(1) == best
    assert runs(home)[0].settings["optimisation"]["method"] == "genetic"
    genetic_odds = runs(home)[0].settings["optimisation"]
    assert genetic_odds["tried"] == genetic_odds["evaluated"] == genetic_odds["odds"]["tried"]
    assert re.search(rf"^settings tried: {genetic_odds['tried']}$", genetic_out, re.M)


@pytest.mark.parametrize(("arguments", "message"), [
    ([], "optimise needs at least one --range"),
    (["--range", "fast=1:3:1"], "DoubleMaStrategy has no parameter 'fast'"),
    (["--range", "fast_window=x:3:1"], "--range fast_window: 'x' is not a whole number"),
    (["--range", "fast_window=1.0,3"], "--range fast_window: '1.0' is not a whole number"),
    (["--range", "fast_window=5:3:1"], "start 5 is above stop 3"),
    (["--range", "fast_window=5,10", "--param", "fast_window=5"],
     "fast_window: given both as --param and as --range"),
    (["--range", "fast_window=5,10", "--target", "nope"], "--target 'nope': not one of"),
])
def test_bad_optimisations_exit_2_and_save_nothing(home, capsys, arguments, message):
    before = len(runs(home))
    assert main(["--home", str(home), "optimise", "DoubleMaStrategy", "rb2401.SHFE", *PERIOD,
                 *arguments]) == 2
    assert message in capsys.readouterr().err
    assert len(runs(home)) == before
