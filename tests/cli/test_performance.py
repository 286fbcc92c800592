"""`trading-terminal performance` on a journal written in the test
(tests/helpers/journal_session.py), through the real entry point."""

from __future__ import annotations

from tests.helpers.journal_session import session_bars, write_session
from tests.helpers.processes import command as main


def session_home(tmp_path):
    from terminal.storage.market_store import MarketStore

    home = tmp_path / "data"
    write_session(home)
    store = MarketStore(home / "market")
    store.save_bars(session_bars())
    store.close()
    home.chmod(0o700)
    return str(home)


def test_summary_breakdowns_and_round_trips(tmp_path, capsys):
    home = session_home(tmp_path)
    code = main(["--home", home, "performance", "--from", "2026-11-02", "--to", "2026-11-04",
                 "--by", "strategy", "--by", "hour", "--trips"])
    out, err = capsys.readouterr()
    assert code == 1                                   # xx2701 was left out
    assert "xx2701.SHFE left out: give --size xx2701.SHFE=N" in err
    assert "5 round trips" in out and "note: xx2701.SHFE left out" in out
    assert "estimated with the contract table's typical broker rates" in out
    assert "Win rate" in out and "40.00%" in out
    lines = out.splitlines()
    strategy = lines.index("By strategy")
    assert lines[strategy + 2].split()[:2] == ["DoubleMa", "2"]
    hour = lines.index("By hour of entry (China time)")
    assert [line.split()[0] for line in lines[hour + 2:hour + 5]] == ["21:00", "09:00", "10:00"]
    trips = [line for line in lines if line.startswith("2026-11-")]
    assert len(trips) == 5
    assert "200.00 (10t)" in trips[0] and "300.00 (15t)" in trips[0]
    assert trips[1].rstrip().endswith("no bars")


def test_a_size_given_prices_the_unknown_contract(tmp_path, capsys):
    home = session_home(tmp_path)
    assert main(["--home", home, "performance", "--from", "2026-11-02", "--to", "2026-11-04",
                 "--size", "xx2701.SHFE=5"]) == 0
    out = capsys.readouterr().out
    assert "left out" not in out and "P&L before fees for xx2701.SHFE" in out


def test_bad_input_is_named(tmp_path, capsys):
    home = session_home(tmp_path)
    assert main(["--home", home, "performance", "--from", "2026-13-01"]) == 2
    assert "--from: '2026-13-01' is not a date" in capsys.readouterr().err
    assert main(["--home", home, "performance", "--size", "rb=0"]) == 2
    assert "--size 'rb=0'" in capsys.readouterr().err
    empty = tmp_path / "empty"
    assert main(["--home", str(empty), "performance"]) == 2
    assert "no trading journal" in capsys.readouterr().err
