"""Live performance from a journal written in the test (tests/helpers/journal_session.py says
what was traded), every figure computed here by hand."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from vnpy.trader.constant import Exchange

from terminal.core.paths import DataPaths
from terminal.core.trading_day import trading_day
from terminal.services.errors import BadInput
from terminal.services.performance import journal_path, live_performance
from terminal.storage.journal import Journal
from tests.helpers.journal_session import (CLOSE, FIRST_DAY, LAST_DAY, LONG, OPEN, SHORT,
                                           session_bars, write_fills, write_session)

# net P&L of each round trip: gross - fees (fee = rate * price * volume * size, both fills)
A = 10 * 2 * 10 - (3000 * 2 * 10 + 3010 * 2 * 10) * 0.0001      # rb DoubleMa long 2
B = -10 * 1 * 10 - (3020 + 3030) * 10 * 0.0001                   # rb manual short 1
C = -10 * 1 * 10 - (3005 + 2995) * 10 * 0.0001                   # rb DoubleMa, night
D = 10 * 300 - (4000 + 4010) * 300 * 0.000023                    # IF manual, won
E = -10 * 300 - (4010 + 4000) * 300 * 0.000023                   # IF manual, lost


@pytest.fixture
def session(data_dir, store):
    write_session(data_dir)
    store.save_bars(session_bars())
    return data_dir


def result(data_dir, store, start=FIRST_DAY, end=LAST_DAY, **kw):
    return live_performance(journal_path(DataPaths(data_dir)), store, start, end, **kw)


def test_round_trips_and_summary(session, store):
    perf = result(session, store)
    nets = [t.net_pnl for t in perf.trips]
    assert nets == pytest.approx([A, B, C, D, E])
    assert [t.strategy for t in perf.trips] == ["DoubleMa", "manual", "DoubleMa", "manual",
                                                "manual"]
    assert [t.day for t in perf.trips] == [date(2026, 11, 2), date(2026, 11, 2),
                                           date(2026, 11, 3), date(2026, 11, 3),
                                           date(2026, 11, 4)]
    s = perf.summary
    assert s["total_net_pnl"] == pytest.approx(A + B + C + D + E)
    assert s["gross_pnl"] == pytest.approx(200 - 100 - 100 + 3000 - 3000)
    assert s["closed_trades"] == 5 and s["winning_trades"] == 2
    assert s["win_rate"] == pytest.approx(0.4)
    average_win, average_loss = (A + D) / 2, (B + C + E) / 3
    assert s["profit_loss_ratio"] == pytest.approx(average_win / -average_loss)
    assert s["expectancy"] == pytest.approx(0.4 * average_win / -average_loss - 0.6)
    daily = [A + B, C + D, E]
    assert perf.days == [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)]
    assert perf.daily == pytest.approx(daily)
    assert perf.equity == pytest.approx(list(np.cumsum([A, B, C, D, E])))
    # the peak after D, then E; before it B and C fell 212.05 from the first peak, A
    assert perf.drawdown == pytest.approx([0, B, B + C, 0, E])
    assert s["max_drawdown"] == pytest.approx(-E)
    sharpe = np.mean(daily) / np.std(daily, ddof=1) * math.sqrt(240)
    assert s["pnl_sharpe_ratio"] == pytest.approx(sharpe)
    assert s["largest_loss"] == pytest.approx(E) and s["largest_win"] == pytest.approx(D)


def test_breakdowns(session, store):
    perf = result(session, store)
    rows = {by: {r.key: (r.trips, round(r.net_pnl, 6)) for r in perf.breakdowns[by]}
            for by in perf.breakdowns}
    assert rows["day"] == {"2026-11-02": (2, round(A + B, 6)), "2026-11-03": (2, round(C + D, 6)),
                           "2026-11-04": (1, round(E, 6))}
    assert rows["symbol"] == {"rb2701.SHFE": (3, round(A + B + C, 6)),
                              "IF2612.CFFEX": (2, round(D + E, 6))}
    assert rows["strategy"] == {"DoubleMa": (2, round(A + C, 6)),
                                "manual": (3, round(B + D + E, 6))}
    # by the entry's hour, China time, the night session first
    assert [r.key for r in perf.breakdowns["hour"]] == ["21:00", "09:00", "10:00"]
    assert rows["hour"] == {"21:00": (1, round(C, 6)), "09:00": (3, round(A + D + E, 6)),
                            "10:00": (1, round(B, 6))}
    fees = {r.key: r.fees for r in perf.breakdowns["symbol"]}
    assert fees["IF2612.CFFEX"] == pytest.approx((4000 + 4010) * 2 * 300 * 0.000023)


def test_excursions_from_the_bars_between_entry_and_exit(session, store):
    trips = result(session, store).trips
    first = trips[0].excursion      # long 2 @ 3000, bars 09:05..09:20: low 2990, high 3015
    assert first.bars == 16
    assert (first.adverse, first.favourable) == pytest.approx((10 * 2 * 10, 15 * 2 * 10))
    assert (first.adverse_ticks, first.favourable_ticks) == pytest.approx((10, 15))
    assert [t.excursion for t in trips[1:]] == [None] * 4      # no bars: none, never 0


def test_without_a_store_there_are_no_excursions(session, store):
    assert all(t.excursion is None for t in result(session, None).trips)


def test_an_unknown_contract_is_refused_by_name(session, store):
    perf = result(session, store)
    assert list(perf.refused) == ["xx2701.SHFE"]
    assert "size is not known" in perf.refused["xx2701.SHFE"]
    assert any(note.startswith("xx2701.SHFE left out") for note in perf.notes)
    assert all(t.vt_symbol != "xx2701.SHFE" for t in perf.trips)
    given = result(session, store, sizes={"xx2701.SHFE": 5.0})
    assert given.refused == {} and given.before_fees == ["xx2701.SHFE"]
    assert given.still_open == {"xx2701.SHFE": 1.0}
    still = "xx2701.SHFE: 1 lots still open long at the range's end, not in these figures "
    assert still + "until closed" in given.notes
    assert any("before fees for xx2701.SHFE" in note for note in given.notes)


def test_the_range_counts_round_trips_by_their_exit_day(session, store):
    perf = result(session, store, date(2026, 11, 3), date(2026, 11, 3))
    assert [t.net_pnl for t in perf.trips] == pytest.approx([C, D])
    # the night trip opened on calendar day 11-02, but belongs to trading day 11-03
    assert perf.trips[0].hour == 21


def test_a_position_opened_before_the_range_is_closed_in_it(data_dir, store):
    journal = Journal(data_dir / "journal.db", trading_day)
    write_fills(journal, "rb2701", Exchange.SHFE, "",
                [(LONG, OPEN, 1, 3000, "2026-10-30 14:00:00"),
                 (SHORT, CLOSE, 1, 3100, "2026-11-02 09:10:00")], 1)
    journal.close()
    perf = result(data_dir, store, date(2026, 11, 2), date(2026, 11, 2))
    assert [(t.entry_price, t.exit_price) for t in perf.trips] == [(3000, 3100)]


def test_closes_of_a_position_older_than_the_journal_are_not_round_trips(data_dir, store):
    journal = Journal(data_dir / "journal.db", trading_day)
    write_fills(journal, "rb2701", Exchange.SHFE, "",
                [(SHORT, CLOSE, 1, 3000, "2026-11-02 09:01:00"),     # closes an older long
                 (LONG, OPEN, 1, 3010, "2026-11-02 09:02:00"),
                 (SHORT, CLOSE, 1, 3020, "2026-11-02 09:03:00")], 1)
    journal.close()
    perf = result(data_dir, store, date(2026, 11, 2), date(2026, 11, 2))
    assert [(t.direction, t.entry_price, t.exit_price) for t in perf.trips] == \
        [("long", 3010, 3020)]
    assert perf.before_journal == {"rb2701.SHFE": 1.0}
    assert perf.still_open == {}


def test_no_journal_and_a_backwards_range_are_named(data_dir, store):
    with pytest.raises(BadInput, match="no trading journal"):
        result(data_dir, store)
    write_session(data_dir)
    with pytest.raises(BadInput, match="after it ends"):
        result(data_dir, store, LAST_DAY, FIRST_DAY)


def test_the_journal_is_read_while_the_terminal_holds_it_open(session, store):
    writer = Journal(session / "journal.db", trading_day)      # the terminal's own connection
    try:
        assert len(result(session, store).trips) == 5
    finally:
        writer.close()
