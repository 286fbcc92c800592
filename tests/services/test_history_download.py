"""Downloading history into the store in chunks: progress, cancel (the whole chunks already
stored are kept, a prefix of the range), a chunk that is not sound stores nothing of itself,
bars never mixed into a series of the other source, and a connected simulator's history
marked simulated."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from vnpy.trader.constant import Exchange
from vnpy.trader.engine import MainEngine

from terminal.core.timezone import CHINA_TZ
from terminal.services.errors import BadInput
from terminal.services.history_download import (Source, check_download, chunks,
                                                download_history, gateway_source, sim_source)
from terminal.storage.market_store import MarketStore

NOW = datetime(2026, 12, 9, 15, 30, tzinfo=CHINA_TZ)


@pytest.fixture
def store(tmp_path):
    market = MarketStore(tmp_path / "market")
    yield market
    market.close()


def _twenty_days():
    return check_download("rb2701.SHFE", "1m", NOW - timedelta(days=20), NOW)


def test_the_range_is_asked_in_chunks_oldest_first_and_stored_with_progress(store):
    download = _twenty_days()
    asked, heard = [], []
    sim = sim_source(7, NOW)

    def fetch(*args):
        asked.append(args[3:])
        return sim.fetch(*args)

    done = download_history(store, download, Source(sim.label, "sim", fetch),
                            lambda percent, text: heard.append(percent))
    assert asked == chunks(download) and len(asked) == 4
    assert [start for start, _ in asked] == sorted(start for start, _ in asked)
    assert heard == [0, 25, 50, 75, 100]
    assert done.complete and not done.cancelled and done.rows > 3000
    assert store.series()[0].count == done.rows and store.series()[0].simulated
    assert "stored" in done.summary() and "simulated history (seed 7)" in done.summary()


def test_a_cancelled_download_keeps_the_whole_chunks_it_stored(store):
    download = _twenty_days()
    cancel = threading.Event()
    sim = sim_source(7, NOW)
    calls = []

    def fetch(*args):
        calls.append(args)
        if len(calls) == 2:
            cancel.set()             # the trader presses Cancel while the second is asked
        return sim.fetch(*args)

    done = download_history(store, download, Source(sim.label, "sim", fetch), cancel=cancel)
    assert done.cancelled and (done.chunks, done.of_chunks) == (2, 4)
    whole = download_history(MarketStore(store.root.parent / "other"), download, sim)
    table = store.load_table("rb2701", Exchange.SHFE, "1m")
    assert len(table) == done.rows and done.rows < whole.rows
    assert table.column("datetime").to_numpy()[-1] < int(chunks(download)[2][0].timestamp()
                                                         * 1e9)
    assert "cancelled after 2 of 4 requests: kept" in done.summary()


SIMULATED = r"of rb2701\.SHFE from simulated history \(seed 7\)"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("high_price", lambda bar: bar.low_price - 1,
     rf"bar 2026-1.* {SIMULATED}: open .* are not a bar"),
    ("datetime", None, rf"bar number 6 {SIMULATED}: datetime None is not a time"),
    ("turnover", float("nan"), rf"bar 2026-1.* {SIMULATED}: turnover nan"),
    ("open_interest", float("nan"), rf"bar 2026-1.* {SIMULATED}: open_interest nan"),
    ("turnover", float("inf"), r"bar 2026-1.*: turnover inf"),
    ("open_interest", None, r"bar 2026-1.*: open_interest None"),
    ("close_price", float("nan"), r"bar 2026-1.*: open .*, close nan are not a bar"),
], ids=["high-below-low", "no-time", "nan-turnover", "nan-interest", "inf-turnover",
        "no-interest", "nan-close"])
def test_a_chunk_that_is_not_sound_stores_nothing_of_itself(store, field, value, message):
    download = _twenty_days()
    sim = sim_source(7, NOW)
    calls = []

    def fetch(*args):
        calls.append(args)
        bars = sim.fetch(*args)
        if len(calls) == 3:
            setattr(bars[5], field, value(bars[5]) if callable(value) else value)
        return bars

    with pytest.raises(BadInput, match=message):
        download_history(store, download, Source(sim.label, "sim", fetch))
    stamps = store.load_table("rb2701", Exchange.SHFE, "1m").column("datetime").to_numpy()
    assert stamps[-1] < int(chunks(download)[2][0].timestamp() * 1e9)   # chunks 1 and 2 only


def test_bars_of_another_symbol_are_refused(store):
    sim = sim_source(7, NOW)
    wrong = Source("a feed", "", lambda symbol, exchange, *rest: sim.fetch(
        "hc2701", exchange, *rest))
    with pytest.raises(BadInput, match=r"of hc2701\.SHFE from a feed: asked for rb2701\.SHFE"):
        download_history(store, _twenty_days(), wrong)
    assert store.series() == []


def test_market_bars_are_not_mixed_into_a_simulated_series_and_nothing_is_asked(store):
    download_history(store, _twenty_days(), sim_source(7, NOW))
    asked = []
    market = Source("the CTP gateway", "", lambda *args: asked.append(args) or [])
    with pytest.raises(BadInput, match=r"holds simulated bars; the CTP gateway is market"):
        download_history(store, _twenty_days(), market)
    assert asked == []


def test_the_connected_simulators_history_is_marked_simulated(store):
    from terminal.core.events import IsolatedEventEngine
    from terminal.gateways.sim import SimGateway
    from terminal.gateways.sim.clock import ManualClock

    engine = IsolatedEventEngine()
    main_engine = MainEngine(engine)
    try:
        gateway = main_engine.add_gateway(SimGateway)
        gateway.clock = ManualClock(NOW)
        gateway.connect({"seed": 3})
        source = gateway_source(main_engine, "SIM")
        done = download_history(store, _twenty_days(), source)
    finally:
        main_engine.close()
    assert source.store_source == "sim" and done.rows > 3000
    assert store.series()[0].simulated
    with pytest.raises(BadInput, match="no gateway named 'CTP'"):
        gateway_source(main_engine, "CTP")


def test_a_cancel_before_the_first_request_stores_nothing(store):
    done = download_history(store, _twenty_days(), sim_source(7, NOW), cancel=lambda: True)
    assert done.cancelled and done.rows == 0 and store.series() == []
    assert done.summary() == "cancelled: nothing stored"
