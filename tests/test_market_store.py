"""The Parquet market store: round trips, appends that leave history alone, merges, crashes,
corrupt files, and vn.py's own backtester reading through it."""

from __future__ import annotations

import copy
import gc
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData, TickData

from terminal.storage.market_store import CHINA_TZ, MarketStore, StoreError, to_ns

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


def test_loaded_bars_are_the_bars_vnpy_itself_builds(store):
    given = bars(300)
    store.save_bars(given)
    loaded = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)
    built = [BarData("DB", b.symbol, b.exchange, b.datetime.astimezone(CHINA_TZ), b.interval,
                     float(b.volume), b.turnover, b.open_interest, b.open_price, b.high_price,
                     b.low_price, b.close_price) for b in given]
    assert loaded == built and gc.isenabled()  # building them pauses the collector only
    for bar, normal in zip(loaded, built):
        assert type(bar) is BarData and list(vars(bar).items()) == list(vars(normal).items())
        assert bar.datetime.tzinfo is CHINA_TZ and bar.vt_symbol == "rb2401.SHFE"


def test_saved_bars_are_not_changed_in_any_way(store):
    given = bars(200)
    before = [dict(vars(b)) for b in given]
    zones = [b.datetime.tzinfo for b in given]
    store.save_bars(given)
    assert [vars(b) for b in given] == before
    assert all(b.datetime.tzinfo is zone for b, zone in zip(given, zones))


def test_every_kind_of_datetime_comes_back_as_the_same_instant(tmp_path):
    """Around New York's clock changes (a wall time missing, another twice, fold=1), naive,
    fixed-offset, mixed and pandas times, microseconds; loaded in the store's zone."""
    import pandas as pd

    new_york = ZoneInfo("America/New_York")
    store = MarketStore(tmp_path / "market", tz=new_york)
    base = datetime(2023, 11, 5, 0, 0, 0, 123456, tzinfo=new_york)
    folds = [base + timedelta(minutes=20 * i) for i in range(12)]      # 00:00-03:40 wall
    folds += [t.replace(fold=1) for t in folds if t.hour == 1]         # the second 01:xx
    spring = [datetime(2023, 3, 12, 1, 30, tzinfo=new_york) + timedelta(hours=i)
              for i in range(3)]                                       # 02:30 does not exist
    cases = {
        "ny": folds + spring,
        "naive": [datetime(2023, 3, 12, 1, 30) + timedelta(hours=i) for i in range(4)],
        "fixed": [datetime(2023, 1, 1, 9, tzinfo=timezone(timedelta(hours=h))) for h in (-5, 8)],
        "mixed": [datetime(2023, 6, 1, 9, tzinfo=new_york),
                  datetime(2023, 6, 2, tzinfo=timezone.utc),
                  datetime(2023, 6, 3, 9, tzinfo=CHINA_TZ)],
        "pandas": [pd.Timestamp("2023-07-01 09:00:00.000001", tz="America/New_York"),
                   pd.Timestamp("2023-12-01 09:00", tz="America/New_York")],
    }
    for symbol, times in cases.items():
        given = [BarData("T", symbol, Exchange.SHFE, t, Interval.MINUTE, close_price=float(i))
                 for i, t in enumerate(times)]
        store.save_bars(given)
        loaded = store.load_bars(symbol, Exchange.SHFE, Interval.MINUTE)
        expected = sorted({to_ns(t, new_york) for t in times})  # 02:30 is 03:30 EDT
        assert [to_ns(b.datetime) for b in loaded] == expected, symbol
        assert all(b.datetime.tzinfo is new_york for b in loaded)
        assert [b.datetime.utcoffset() for b in loaded] == \
            [datetime.fromtimestamp(ns / 1e9, new_york).utcoffset() for ns in expected]
    store.close()


def test_naive_times_are_china_local(store):
    store.save_bars([BarData("T", "rb2401", Exchange.SHFE, datetime(2023, 9, 25, 9, 1),
                             Interval.MINUTE, close_price=1.0)])
    (bar,) = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)
    assert bar.datetime == T0 and bar.datetime.utcoffset() == timedelta(hours=8)


def test_ticks_of_several_series_are_grouped(store):
    ticks = [TickData("T", symbol, exchange, T0 + timedelta(seconds=i), last_price=float(i))
             for i in range(6)
             for symbol, exchange in (("IF2101", Exchange.CFFEX), ("rb2401", Exchange.SHFE))]
    assert store.save_ticks(ticks) == 12
    loaded = store.load_ticks("rb2401", Exchange.SHFE)
    assert [(t.datetime, t.last_price, t.vt_symbol) for t in loaded] == \
        [(T0 + timedelta(seconds=i), float(i), "rb2401.SHFE") for i in range(6)]


def test_many_appends_merge_in_tiers_and_leave_history_alone(store):
    from terminal.storage.market_store import MAX_PARTS

    store.save_bars(bars(5000))
    folder = store.folder("rb2401", Exchange.SHFE, "1m")
    (history,) = list(folder.glob("part-*.parquet"))
    stamp = history.stat().st_mtime_ns
    start = T0 + timedelta(minutes=5000)
    for batch in range(100):                          # as the recorder settles, batch by batch
        store.save_bars(bars(3, start + timedelta(minutes=3 * batch)))
        assert len(list(folder.glob("part-*.parquet"))) <= MAX_PARTS
    assert history.exists() and history.stat().st_mtime_ns == stamp
    loaded = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)
    assert len(loaded) == 5300 and store.series()[0].count == 5300
    assert all(b.datetime < c.datetime for b, c in zip(loaded, loaded[1:]))
    assert loaded[-1].close_price == 3600 + 2 + 1


def test_one_store_serves_several_threads(store):
    import threading

    errors = []

    def write(offset: int) -> None:
        try:
            for batch in range(40):
                store.save_bars(bars(5, T0 + timedelta(days=offset, minutes=5 * batch)))
                store.load_table("rb2401", Exchange.SHFE, "1m")
                store.series()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)) == 600
    assert store.series()[0].count == 600


def test_a_damaged_or_missing_catalogue_is_rebuilt_from_the_files(tmp_path, caplog):
    root = tmp_path / "market"
    first = MarketStore(root)
    first.save_bars(bars(30))
    first.save_ticks([TickData(gateway_name="CTP", symbol="IF2101", exchange=Exchange.CFFEX,
                               datetime=T0, last_price=5000.0)])
    first.close()
    for damage in ("garbage", "missing"):
        catalogue = root / "catalogue.db"
        if damage == "garbage":
            catalogue.write_bytes(b"not a database " * 500)
        else:
            catalogue.unlink()
        store = MarketStore(root)
        listed = {(s.symbol, s.interval, s.count) for s in store.series()}
        assert listed == {("rb2401", "1m", 30), ("IF2101", "tick", 1)}, damage
        assert {s.first for s in store.series()} == {T0}
        store.close()
    assert "damaged" in caplog.text and len(list(root.glob("catalogue.db.broken-*"))) == 1


def test_the_catalogue_opens_on_first_use_and_not_after_close(tmp_path):
    """Building a store reads nothing (the terminal paints first); a closed one says so
    rather than opening its catalogue again."""
    root = tmp_path / "market"
    store = MarketStore(root)
    assert not (root / "catalogue.db").exists()
    assert store.series() == [] and (root / "catalogue.db").exists()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.series()
    store.close()                                      # twice is fine


def test_vnpy_cta_engine_loads_recent_bars_from_the_store(store):
    import os

    from vnpy.event import EventEngine
    from vnpy.trader.engine import MainEngine
    from vnpy_ctastrategy import CtaStrategyApp

    from terminal.storage.vnpy_database import install

    now = datetime.now(CHINA_TZ).replace(second=0, microsecond=0)
    store.save_bars(bars(120, now - timedelta(hours=3)))
    install(store)
    here = os.getcwd()
    main_engine = MainEngine(EventEngine())
    try:
        cta = main_engine.add_app(CtaStrategyApp)
        loaded = cta.load_bar("rb2401.SHFE", 1, Interval.MINUTE, lambda bar: None, True)
        assert len(loaded) == 120 and loaded[0].datetime == now - timedelta(hours=3)
        assert loaded[-1].close_price == 3600 + 119 + 1
    finally:
        main_engine.close()
        os.chdir(here)
