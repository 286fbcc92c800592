"""`trading-terminal montecarlo` and `report` on a stored run, through the real entry point:
the percentiles table and the loss chance printed, the report written, the same output for
the same seed; an unknown run or too few round trips refused with exit 2."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime

import pytest

from terminal.backtest.runs import RunStore
from terminal.cli import montecarlo as verb
from terminal.services import montecarlo
from tests.helpers.processes import command as main
from tests.helpers.stored_runs import daily_frame, round_trip_fills, store_run, trading_days

TRIPS = [500.0, -300.0, 200.0, -800.0, 1_000.0, -100.0, 400.0, -600.0, 300.0, 250.0, -50.0]


@pytest.fixture
def home(tmp_path):
    data = tmp_path / "data"
    with RunStore(data / "backtests") as runs:
        days = trading_days(25)
        daily = daily_frame(days, [(-1) ** i * 100.0 + 20 for i in range(25)], 100_000.0)
        run_id = store_run(runs, daily, round_trip_fills(TRIPS, 10.0, datetime(2023, 1, 30, 9)))
        few = store_run(runs, daily, round_trip_fills(TRIPS[:2], 10.0,
                                                      datetime(2023, 1, 30, 9)))
    return data, run_id, few


def test_the_verb_knows_the_services_methods():
    assert verb.METHODS == montecarlo.METHODS
    assert verb.DEFAULT_SIMULATIONS == montecarlo.DEFAULT_SIMULATIONS


def test_montecarlo_prints_the_percentiles_and_the_loss_chance(home, capsys, tmp_path):
    data, run_id, _ = home
    argv = ["--home", str(data), "montecarlo", run_id, "--simulations", "500", "--seed", "7",
            "--loss", "1000"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "500 simulations of 11 round trips" in out
    table = {line.split("  ")[0]: line for line in lines if line.startswith(
        ("Maximum drawdown", "End balance", "Longest drawdown"))}
    assert set(table) == {"Maximum drawdown", "Maximum drawdown %", "End balance",
                          "Longest drawdown"}
    assert table["End balance"].split()[-1] == f"{100_000 + sum(TRIPS):,.2f}"
    assert "Chance of losing 1,000.00:" in out
    assert main(argv) == 0
    assert capsys.readouterr().out == out                         # same seed, same output
    report = tmp_path / "mc.html"
    assert main([*argv[:-2], "--method", "daily", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "25 trading days" in out and "10,000.00" in out        # loss: 10% of capital
    assert f"report written to {report}" in out
    assert "<h2>Monte Carlo</h2>" in report.read_text(encoding="utf-8")


def test_report_writes_the_file(home, capsys, tmp_path):
    data, run_id, _ = home
    out_file = tmp_path / "run.html"
    assert main(["--home", str(data), "report", run_id, "--output", str(out_file)]) == 0
    assert f"written to {out_file}" in capsys.readouterr().out
    text = out_file.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Monte Carlo" not in text
    assert main(["--home", str(data), "report", run_id, "--output", str(out_file),
                 "--monte-carlo", "trades", "--simulations", "100"]) == 0
    assert "<h2>Monte Carlo</h2>" in out_file.read_text(encoding="utf-8")


@pytest.mark.parametrize(("which", "extra", "message"), [
    ("nope", [], "error: run 'nope': no such run"),
    ("few", [], "has 2 closed round trips; a trade-order Monte Carlo needs at least 10"),
    ("run", ["--simulations", "0"], "'0' is not a whole number above 0"),
])
def test_bad_input_exits_2_naming_it(home, capsys, which, extra, message):
    data, run_id, few = home
    chosen = {"nope": "nope", "few": few, "run": run_id}[which]
    with pytest.raises(SystemExit) if extra else nullcontext() as raised:   # argparse exits
        code = main(["--home", str(data), "montecarlo", chosen, *extra])
    if raised is None:
        assert code == 2
    assert message in capsys.readouterr().err
