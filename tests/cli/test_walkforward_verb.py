"""`trading-terminal walkforward`, run in-process through the real entry point on real rb2401
1-minute bars imported with `data import`: the windows table, the efficiency, each criterion
PASS or FAIL and the stored run printed; bad input named with exit 2 and nothing kept."""

from __future__ import annotations

import re

import pytest

from terminal.cli import parse
from terminal.cli.common import DEFAULT_WARMUP_DAYS

from tests.helpers import SHARED_DATA
from tests.helpers.processes import command as main

RB = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
ARGS = ["DoubleMaStrategy", "rb2401.SHFE", "--start", "2023-09-25", "--end", "2023-10-10",
        "--range", "fast_window=5,10", "--range", "slow_window=20:30:10"]


def test_lengths_parse_as_trading_days_and_the_warm_up_is_optimise_s():
    args = parse(["walkforward", *ARGS, "--in-sample", "120d", "--out-sample", "40"])
    assert (args.in_sample, args.out_sample, args.mode) == (120, 40, "rolling")
    assert args.warmup_days == DEFAULT_WARMUP_DAYS
    with pytest.raises(SystemExit):
        parse(["walkforward", *ARGS, "--in-sample", "0d", "--out-sample", "40"])


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    if not RB.exists():
        pytest.skip(f"{RB} is not there")
    data = tmp_path_factory.mktemp("walkforward-cli")
    assert main(["--home", str(data), "data", "import", str(RB)]) == 0
    return data


def kept(home):
    from terminal.backtest.runs import RunStore

    with RunStore(home / "backtests") as store:
        return store.list()


def test_walkforward_prints_the_windows_the_criteria_and_the_run(home, capsys):
    assert main(["--home", str(home), "walkforward", *ARGS, "--in-sample", "2",
                 "--out-sample", "1", "--mode", "anchored", "--target", "total_net_pnl",
                 "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "walk-forward, anchored: 2 trading days in sample, 1 out of sample" in out
    rows = re.findall(r"^\s+(\d)\s+2023-09-25 to (\S+)\s+(\S+) to (\S+)\s+(fast_window=\d+, "
                      r"slow_window=\d+)", out, re.M)
    assert [row[0] for row in rows] == ["1", "2", "3", "4"]
    assert [row[2] for row in rows] == ["2023-09-27", "2023-09-28", "2023-10-09",
                                        "2023-10-10"]
    assert "walk-forward efficiency: " in out
    verdicts = re.findall(r"^  (PASS|FAIL)  (.+?):", out, re.M)
    assert [name for _, name in verdicts] == [
        "profitable overall", "walk-forward efficiency", "windows profitable",
        "largest window's share of net profit", "maximum drawdown %"]
    record = kept(home)[0]
    assert record.kind == "walkforward" and record.status == "done"
    assert f"run {record.run_id} saved" in out
    assert [c["passed"] for c in record.stats["criteria"]] == [v == "PASS" for v, _ in verdicts]


def test_bad_input_is_named_and_nothing_is_kept(home, capsys):
    before = len(kept(home))
    assert main(["--home", str(home), "walkforward", *ARGS, "--in-sample", "2",
                 "--out-sample", "1", "--target", "profit"]) == 2
    assert "--target 'profit'" in capsys.readouterr().err
    assert main(["--home", str(home), "walkforward", "DoubleMaStrategy", "rb2401.SHFE",
                 "--start", "2023-09-25", "--end", "2023-10-10", "--in-sample", "2",
                 "--out-sample", "1"]) == 2
    assert "--range" in capsys.readouterr().err
    assert len(kept(home)) == before
