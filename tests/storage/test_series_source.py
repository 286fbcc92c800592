"""A series made by the simulated exchange stays marked as such: listed as simulated, kept
through a rebuild of the catalogue and a resample, never mixed with the market's bars."""

from __future__ import annotations

from datetime import datetime

import pytest
from vnpy.trader.constant import Exchange

from terminal.core.timezone import CHINA_TZ
from terminal.gateways.sim.history import simulated_columns
from terminal.market import contracts
from terminal.services.resample import resample_stored
from terminal.storage.market_store import MarketStore, StoreError

END = datetime(2026, 12, 9, 15, 30, tzinfo=CHINA_TZ)
RB = contracts.find("rb2701.SHFE")


def _sim_columns():
    return simulated_columns(RB, 3, END, RB.base_price, days=2)


def test_a_simulated_series_is_listed_as_such_and_keeps_the_mark(tmp_path):
    store = MarketStore(tmp_path / "market")
    columns = _sim_columns()
    store.save_columns("rb2701", Exchange.SHFE, "1m", columns, "sim")
    store.save_columns("hc2701", Exchange.SHFE, "1m", columns)
    resample_stored(store, "rb2701", Exchange.SHFE, "1m", "5m")
    listed = {(s.symbol, s.interval): s for s in store.series()}
    assert listed["rb2701", "1m"].simulated and listed["rb2701", "5m"].simulated
    assert not listed["hc2701", "1m"].simulated and listed["hc2701", "1m"].source == ""
    store.close()
    (tmp_path / "market" / "catalogue.db").unlink()        # rebuilt from the folders
    again = MarketStore(tmp_path / "market")
    assert {s.symbol: s.simulated for s in again.series() if s.interval == "1m"} == \
        {"rb2701": True, "hc2701": False}
    again.close()


def test_bars_of_another_source_are_refused_and_nothing_is_written(tmp_path):
    store = MarketStore(tmp_path / "market")
    columns = _sim_columns()
    store.save_columns("rb2701", Exchange.SHFE, "1m", columns, "sim")
    store.save_columns("hc2701", Exchange.SHFE, "1m", columns)
    with pytest.raises(StoreError, match=r"rb2701\.SHFE 1m holds simulated bars; market bars"):
        store.save_columns("rb2701", Exchange.SHFE, "1m", columns)
    with pytest.raises(StoreError, match=r"hc2701\.SHFE 1m holds market bars; simulated"):
        store.save_columns("hc2701", Exchange.SHFE, "1m", columns, "sim")
    assert [len(store.load_table(s, Exchange.SHFE, "1m")) for s in ("rb2701", "hc2701")] == \
        [len(columns["datetime"])] * 2
    # Deleted, the series may be made again from the other source.
    store.delete("rb2701", Exchange.SHFE, "1m")
    store.save_columns("rb2701", Exchange.SHFE, "1m", columns)
    assert store.source_of("rb2701", Exchange.SHFE, "1m") == ""
    store.close()


def test_an_unreadable_mark_reads_as_simulated(tmp_path):
    store = MarketStore(tmp_path / "market")
    store.save_columns("rb2701", Exchange.SHFE, "1m", _sim_columns(), "sim")
    (store.folder("rb2701", Exchange.SHFE, "1m") / "source").write_bytes(b"\xff\xfe")
    assert store.series()[0].simulated
    store.close()
