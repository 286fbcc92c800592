"""The verify service called directly: what `data verify` and the Data dock's Verify run."""

from __future__ import annotations

import pandas as pd
import pytest
from vnpy.trader.constant import Exchange

from terminal.services.verify import damaged_series, verify_store
from terminal.storage.market_store import MarketStore


@pytest.fixture
def store(data_dir):
    market = MarketStore(data_dir / "market")
    ns = pd.to_datetime(["2024-01-02 01:00", "2024-01-02 01:01"]).as_unit("ns").asi8
    for symbol, exchange in (("rb2405", Exchange.SHFE), ("IF2403", Exchange.CFFEX)):
        market.save_columns(symbol, exchange, "1m", {"datetime": ns, "close_price": [1.0, 2.0]})
    yield market
    market.close()


def test_progress_is_told_in_percent_of_the_bytes_and_damage_is_named(store):
    heard = []
    report = verify_store(store, progress=lambda percent, series: heard.append((percent, series)))
    assert report.damaged == [] and damaged_series(report) == {}
    assert heard[:2] == [(0, "IF2403.CFFEX 1m"), (heard[1][0], "rb2405.SHFE 1m")]
    assert 0 < heard[1][0] < 100 and heard[-1] == (100, "")

    (part,) = store.folder("rb2405", Exchange.SHFE, "1m").glob("part-*.parquet")
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    found = damaged_series(verify_store(store))
    assert list(found) == [("rb2405", "SHFE", "1m")]
    (problem,) = found[("rb2405", "SHFE", "1m")]
    assert problem.startswith(f"{part.name}: its bytes are not those written")
    one = verify_store(store, "IF2403", Exchange.CFFEX, "1m")
    assert len(one.parts) == 1 and one.damaged == []


def test_a_series_the_store_does_not_hold_is_named(store):
    with pytest.raises(ValueError, match=r"no 5m data for rb2405\.SHFE"):
        verify_store(store, "rb2405", Exchange.SHFE, "5m")
