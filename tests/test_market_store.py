"""The Parquet market store: round trips, appends that leave history alone, merges, crashes,
corrupt files, and vn.py's own backtester reading through it."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData, TickData

from terminal.storage.market_store import CHINA_TZ, MarketStore, StoreError

T0 = datetime(2023, 9, 25, 9, 1, tzinfo=CHINA_TZ)


def bars(count: int, start: datetime = T0, close: float = 3600.0) -> list[BarData]:
    return [
        BarData(gateway_name="CSV", symbol="rb2401", exchange=Exchange.SHFE,
                datetime=start + timedelta(minutes=i), interval=Interval.MINUTE,
                volume=10 + i, turnover=1e6 + i, open_interest=2e5, open_price=close + i,
                high_price=close + i + 2, low_price=close + i - 2, close_price=close + i + 1)
        for i in range(count)
    ]


@pytest.fixture
def store(tmp_path):
    market = MarketStore(tmp_path / "market")
    yield market
    market.close()


def fields(bar: BarData) -> tuple:
    return (bar.symbol, bar.exchange, bar.interval, bar.datetime, bar.open_price,
            bar.high_price, bar.low_price, bar.close_price, bar.volume, bar.turnover,
            bar.open_interest)


def test_bars_round_trip_unchanged_and_not_mutated(store):
    given = bars(500)
    before = copy.deepcopy(given)
    store.save_bars(given)
    assert [fields(b) for b in given] == [fields(b) for b in before]
    loaded = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)
    assert [fields(b) for b in loaded] == [fields(b) for b in given]
    window = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE,
                             T0 + timedelta(minutes=10), T0 + timedelta(minutes=19))
    assert [b.datetime.minute for b in window] == list(range(11, 21))
    (info,) = store.series()
    assert (info.symbol, info.interval, info.count) == ("rb2401", "1m", 500)
    assert info.first == T0 and info.last == T0 + timedelta(minutes=499)


def test_later_data_is_appended_without_rewriting_history(store):
    store.save_bars(bars(100))
    folder = store.folder("rb2401", Exchange.SHFE, "1m")
    (first_part,) = list(folder.glob("part-*.parquet"))
    stamp = first_part.stat().st_mtime_ns
    store.save_bars(bars(10, T0 + timedelta(minutes=100)))
    parts = sorted(folder.glob("part-*.parquet"))
    assert len(parts) == 2 and parts[0] == first_part
    assert first_part.stat().st_mtime_ns == stamp
    assert len(store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)) == 110
    assert store.series()[0].count == 110


def test_overlapping_data_is_merged_newest_wins(store):
    store.save_bars(bars(100))
    store.save_bars(bars(20, T0 + timedelta(minutes=90), close=5000.0))
    loaded = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)
    assert len(loaded) == 110
    assert loaded[89].close_price == 3600 + 89 + 1
    assert loaded[90].close_price == 5001.0
    folder = store.folder("rb2401", Exchange.SHFE, "1m")
    assert len(list(folder.glob("part-*.parquet"))) == 1
    assert store.series()[0].count == 110


def test_a_part_left_by_a_crash_changes_nothing(store):
    store.save_bars(bars(50))
    folder = store.folder("rb2401", Exchange.SHFE, "1m")
    old = next(folder.glob("part-*.parquet")).read_bytes()
    store.save_bars(bars(50, close=4000.0))           # rewrites as a newer part
    (folder / "part-000000.parquet").write_bytes(old)  # as if the old part's delete was lost
    (folder / ".part-000009.parquet.tmp").write_bytes(b"half a file")
    loaded = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)
    assert len(loaded) == 50 and loaded[0].close_price == 4001.0


def test_corrupt_file_gives_a_clear_error(store):
    store.save_bars(bars(5))
    part = next(store.folder("rb2401", Exchange.SHFE, "1m").glob("part-*.parquet"))
    part.write_bytes(b"not parquet at all")
    with pytest.raises(StoreError, match=part.name):
        store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)


def test_ticks_round_trip(store):
    ticks = []
    for i in range(30):
        tick = TickData("CSV", "IF2101", Exchange.CFFEX, T0 + timedelta(milliseconds=500 * i),
                        last_price=5200 + i * 0.2, volume=i, bid_price_1=5200.0,
                        ask_price_1=5200.2, bid_volume_1=3, ask_volume_1=4)
        ticks.append(tick)
    store.save_ticks(ticks)
    loaded = store.load_ticks("IF2101", Exchange.CFFEX)
    assert [(t.datetime, t.last_price, t.volume, t.ask_price_1) for t in loaded] == \
        [(t.datetime, t.last_price, t.volume, t.ask_price_1) for t in ticks]
    assert store.delete("IF2101", Exchange.CFFEX, "tick") == 30
    assert store.load_ticks("IF2101", Exchange.CFFEX) == [] and store.series() == []


def test_vnpy_backtester_loads_bars_from_the_store(store):
    from vnpy_ctastrategy.backtesting import BacktestingEngine

    from terminal.storage.vnpy_database import install

    store.save_bars(bars(300))
    install(store)
    engine = BacktestingEngine()
    engine.set_parameters(
        vt_symbol="rb2401.SHFE", interval=Interval.MINUTE, start=T0 - timedelta(days=1),
        end=T0 + timedelta(days=1), rate=0.0001, slippage=1, size=10, pricetick=1,
        capital=1_000_000,
    )
    engine.load_data()
    assert len(engine.history_data) == 300
    assert engine.history_data[0].close_price == 3601.0
