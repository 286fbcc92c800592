"""Live recording: 1-minute bars built like vn.py's BarGenerator, the journal, settling into
the store, and at most a second lost when the recording process is killed."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import TickData
from vnpy.trader.utility import BarGenerator

from terminal.market.bars import MinuteBarBuilder
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import CHINA_TZ, MarketStore
from terminal.storage.recorder import FLUSH_SECONDS, Recorder
from tests.helpers import PROJECT, SHARED_DATA

IF_FILE = SHARED_DATA / "cn_fut_CFFEX_IF2101_tick_20210104-06_wondertrader.csv"
RM_FILE = SHARED_DATA / "cn_fut_CZCE_RM705_tick_20170320_vnpy.csv"


def tick_at(moment: str, price: float, volume: float, gateway: str = "CTP") -> TickData:
    return TickData(gateway_name=gateway, symbol="rb2701", exchange=Exchange.SHFE,
                    datetime=datetime.fromisoformat(moment).replace(tzinfo=CHINA_TZ),
                    last_price=price, volume=volume, turnover=volume * price * 10,
                    open_interest=1000 + volume, high_price=price, low_price=price)


@pytest.mark.parametrize("path", [IF_FILE, RM_FILE], ids=["IF2101", "RM705"])
def test_bars_from_real_ticks_match_vnpy_bar_generator(tmp_path, path):
    if not path.exists():
        pytest.skip(f"{path} is not there")
    store = MarketStore(tmp_path)
    spec, _ = import_file(store, path)
    ticks = store.load_ticks(spec.symbol, spec.exchange)
    store.close()
    theirs = []
    generator = BarGenerator(lambda bar: theirs.append(copy.copy(bar)))
    builder = MinuteBarBuilder()
    ours = []
    for tick in ticks:
        generator.update_tick(copy.copy(tick))
        done = builder.update(tick)
        if done is not None:
            ours.append(done)
    assert len(ours) > 150
    assert ours == theirs
    assert builder.current(ticks[-1].vt_symbol).datetime == ticks[-1].datetime.replace(
        second=0, microsecond=0)


def test_clock_closes_the_last_bar_and_late_ticks_do_not_reopen_it():
    builder = MinuteBarBuilder()
    assert builder.update(tick_at("2026-11-20 14:59:01", 100, 10)) is None
    assert builder.update(tick_at("2026-11-20 14:59:30", 102, 15)) is None
    assert builder.close_ended(datetime(2026, 11, 20, 14, 59, 59, tzinfo=CHINA_TZ)) == []
    (bar,) = builder.close_ended(datetime(2026, 11, 20, 15, 0, 2, tzinfo=CHINA_TZ))
    assert (bar.open_price, bar.high_price, bar.close_price, bar.volume) == (100, 102, 102, 5)
    assert bar.interval == Interval.MINUTE and bar.datetime.minute == 59
    assert builder.update(tick_at("2026-11-20 14:59:59", 101, 17)) is None   # late
    assert builder.current("rb2701.SHFE") is None
    builder.update(tick_at("2026-11-20 21:00:00", 103, 20))
    assert builder.current("rb2701.SHFE").volume == 5                     # 17 - 15 + 20 - 17


def recorder_for(tmp_path, **kwargs) -> tuple[MarketStore, Recorder]:
    store = MarketStore(tmp_path / "market")
    recorder = Recorder(store, tmp_path / "market" / "recording.db", {"SIM"}, MinuteBarBuilder,
                        **kwargs)
    return store, recorder


def test_recorder_journals_then_settles_ticks_and_bars_into_the_store(tmp_path):
    store, recorder = recorder_for(tmp_path, settle_seconds=3600)
    recorder.start()
    start = datetime(2026, 11, 20, 9, 0, tzinfo=CHINA_TZ)
    for second in range(0, 180, 3):
        moment = (start + timedelta(seconds=second)).isoformat()[:19]
        recorder.on_tick(tick_at(moment, 100 + second % 7, second))
    recorder.on_tick(tick_at("2026-11-20 09:03:00", 999, 1, gateway="SIM"))   # not market data
    replayed = tick_at("2026-11-20 09:03:01", 999, 1)
    replayed.extra = {"replay": "2021-01-04"}
    recorder.on_tick(replayed)
    deadline = time.monotonic() + 5
    while recorder.recorded_ticks < 60:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert recorder.journal.pending() >= 60                  # committed, not yet in Parquet
    assert store.load_table("rb2701", Exchange.SHFE, "tick").num_rows == 0
    recorder.stop()
    ticks = store.load_ticks("rb2701", Exchange.SHFE)
    assert len(ticks) == 60 and ticks[-1].last_price == 100 + 177 % 7
    bars = store.load_bars("rb2701", Exchange.SHFE, Interval.MINUTE)
    assert [b.datetime.minute for b in bars] == [0, 1, 2]
    assert sum(b.volume for b in bars) == 177                # first tick's total has no base
    store.close()


def test_recorder_settles_on_its_own_thread_while_running(tmp_path):
    store, recorder = recorder_for(tmp_path, settle_seconds=0.2)
    recorder.start()
    try:
        for second in range(5):
            recorder.on_tick(tick_at(f"2026-11-20 09:00:{second:02d}", 100 + second, second))
        deadline = time.monotonic() + 5
        while store.load_table("rb2701", Exchange.SHFE, "tick").num_rows < 5:
            assert time.monotonic() < deadline, "the writer thread did not settle"
            time.sleep(0.05)
        assert [s.interval for s in store.series()] == ["tick"]
    finally:
        recorder.stop()
        store.close()


def test_a_damaged_journal_is_moved_aside_and_recording_goes_on(tmp_path, caplog):
    (tmp_path / "market").mkdir()
    (tmp_path / "market" / "recording.db").write_bytes(b"this is not a database" * 100)
    store, recorder = recorder_for(tmp_path)
    recorder.start()
    recorder.on_tick(tick_at("2026-11-20 09:00:01", 100, 1))
    recorder.stop()
    assert store.load_table("rb2701", Exchange.SHFE, "tick").num_rows == 1
    assert len(list((tmp_path / "market").glob("recording.db.broken-*"))) == 1
    assert "recording journal" in caplog.text and "damaged" in caplog.text
    store.close()


WRITER = r"""
import sys, time
from datetime import datetime
from pathlib import Path
from vnpy.trader.constant import Exchange
from vnpy.trader.object import TickData
from terminal.market.bars import MinuteBarBuilder
from terminal.storage.market_store import CHINA_TZ, MarketStore
from terminal.storage.recorder import FLUSH_SECONDS, Recorder
root = Path(sys.argv[1])
store = MarketStore(root)
recorder = Recorder(store, root / "recording.db", set(), MinuteBarBuilder)
flush = recorder.flush

def reporting(close_all=False):         # the writer thread's flushes, as they commit
    flush(close_all)
    print("flushed", recorder.recorded_ticks, flush=True)

recorder.flush = reporting
recorder.start()
print("ready", flush=True)
n = 0
while True:
    n += 1
    recorder.on_tick(TickData(gateway_name="CTP", symbol="rb2701", exchange=Exchange.SHFE,
                              datetime=datetime.now(CHINA_TZ), last_price=3000 + n % 50,
                              volume=n))
    time.sleep(0.001)
"""


@pytest.mark.slow
def test_a_hard_kill_loses_only_what_came_after_the_last_flush(tmp_path):
    """The writer commits the ticks queued since its last flush every FLUSH_SECONDS; a hard
    kill loses the ticks after the last commit, never one before it. Killed once a flush
    has committed 500 ticks (whenever this machine gets there)."""
    assert FLUSH_SECONDS <= 1.0                             # "at most a second" of ticks
    root = tmp_path / "market"
    root.mkdir()
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE,
                             env=env, cwd=tmp_path, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        committed = 0
        while committed < 500:
            line = child.stdout.readline()
            assert line, "the writer died"
            if line.startswith("flushed "):
                committed = int(line.split()[1])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    store, recorder = recorder_for(tmp_path)
    recorder.start()                                        # settles what the killed one left
    recorder.stop()
    ticks = store.load_ticks("rb2701", Exchange.SHFE)
    assert len(ticks) >= committed
    assert [t.volume for t in ticks] == list(range(1, len(ticks) + 1))   # none lost in between
    store.close()
