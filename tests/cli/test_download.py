"""`trading-terminal data download`, run in-process through the real entry point: the
simulated exchange's history stored (marked simulated) and backtested from the command line
with no CSV at hand; bad input named with exit 2 and nothing stored; a configured datafeed
whose package is not installed named with the line that installs it."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.helpers.processes import command as main


@pytest.fixture
def home(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({"sim_seed": 7}))
    return data


def test_download_the_simulated_history_then_backtest_it_from_the_command_line(home, capsys):
    assert main(["--home", str(home), "data", "download", "rb2701.SHFE", "1m"]) == 0
    said = capsys.readouterr().out
    assert "1m bars of rb2701.SHFE" in said and "simulated history (seed 7)" in said
    assert main(["--home", str(home), "data", "list"]) == 0
    listing = capsys.readouterr().out
    assert "rb2701" in listing and listing.rstrip().endswith("simulated")
    today = date.today()
    code = main(["--home", str(home), "backtest", "DoubleMaStrategy", "rb2701.SHFE",
                 "--start", str(today - timedelta(days=30)), "--end", str(today)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Round trips" in out and "saved in" in out
    assert int(out.split("Round trips")[1].split()[0]) > 0


@pytest.mark.parametrize(("argv", "named"), [
    (["rb2701", "1m"], "rb2701"),
    (["rb2701.SHFE", "5m"], "'5m'"),
    (["rb2401.SHFE", "1m"], "rb2401.SHFE is not a contract the simulated exchange lists"),
    (["rb2701.SHFE", "1m", "--start", "2026-12-01", "--end", "2026-11-01"],
     "start 2026-12-01 00:00 is not before end 2026-11-01 23:59"),
    (["rb2701.SHFE", "1m", "--start", "yesterday"], "--start: 'yesterday' is not a date"),
])
def test_bad_input_is_named_and_nothing_is_stored(home, capsys, argv, named):
    assert main(["--home", str(home), "data", "download", *argv]) == 2
    assert named in capsys.readouterr().err
    main(["--home", str(home), "data", "list"])
    assert "the store is empty" in capsys.readouterr().out


def test_a_configured_datafeed_without_its_package_names_the_package_to_install(home, capsys):
    (home / "settings.json").write_text(json.dumps({"datafeed_name": "nosuchfeed"}))
    assert main(["--home", str(home), "data", "download", "rb2505.SHFE", "1m"]) == 2
    err = capsys.readouterr().err
    assert "vnpy_nosuchfeed" in err and "pip install vnpy_nosuchfeed" in err
    assert main(["--home", str(home), "data", "download", "rb2701.SHFE", "1m",
                 "--source", "datafeed"]) == 2
    assert "pip install vnpy_nosuchfeed" in capsys.readouterr().err
