"""The resample service called directly: what `data resample` and the Data dock's
"Resample to" run."""

from __future__ import annotations

import pandas as pd
import pytest
from vnpy.trader.constant import Exchange

from terminal.services.resample import resample_stored, resample_targets
from terminal.storage.market_store import MarketStore


@pytest.fixture
def store(data_dir):
    market = MarketStore(data_dir / "market")
    stamps = pd.date_range("2024-01-02 09:00", periods=30, freq="1min", tz="Asia/Shanghai")
    market.save_columns("rb2405", Exchange.SHFE, "1m", {
        "datetime": stamps.tz_convert("UTC").as_unit("ns").asi8,
        **{k: [3900.0] * 30 for k in ("open_price", "high_price", "low_price", "close_price")},
        "volume": [1.0] * 30})
    yield market
    market.close()


def test_longer_bars_are_stored_with_progress_told(store):
    heard = []
    written = resample_stored(store, "rb2405", Exchange.SHFE, "1m", "15m",
                              lambda percent, stage: heard.append((percent, stage)))
    assert written == 2
    table = store.load_table("rb2405", Exchange.SHFE, "15m")
    assert table.column("volume").to_pylist() == [15.0, 15.0]
    assert heard == [(0, "reading 1m bars"), (40, "building 15m bars"),
                     (90, "writing to the store")]


def test_stopped_before_the_write_nothing_is_stored(store):
    def stop(percent: int, stage: str) -> None:
        if stage == "writing to the store":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        resample_stored(store, "rb2405", Exchange.SHFE, "1m", "15m", stop)
    assert [s.interval for s in store.series()] == ["1m"]


def test_nothing_to_build_from_is_named(store):
    with pytest.raises(ValueError, match=r"the store holds no 5m bars of rb2405\.SHFE"):
        resample_stored(store, "rb2405", Exchange.SHFE, "5m", "1h")


def test_the_targets_a_stored_interval_offers():
    assert resample_targets("1m") == ["5m", "15m", "30m", "1h", "4h", "d"]
    assert resample_targets("15m") == ["30m", "1h", "4h", "d"]
    assert resample_targets("4h") == ["d"]
    assert resample_targets("tick") == resample_targets("d") == resample_targets("w") == []
