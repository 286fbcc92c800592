"""The Parquet market store: round trips, appends that leave history alone, merges, crashes,
corrupt files, and vn.py's own backtester reading through it."""

from __future__ import annotations

import copy
import gc
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData, TickData

from terminal.storage.market_store import CHINA_TZ, MarketStore, StoreError
from terminal.core.timezone import to_ns
import itertools

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
    for bar, normal in zip(loaded, built, strict=True):
        assert type(bar) is BarData and list(vars(bar).items()) == list(vars(normal).items())
        assert bar.datetime.tzinfo is CHINA_TZ and bar.vt_symbol == "rb2401.SHFE"


def test_saved_bars_are_not_changed_in_any_way(store):
    given = bars(200)
    before = [dict(vars(b)) for b in given]
    zones = [b.datetime.tzinfo for b in given]
    store.save_bars(given)
    assert [vars(b) for b in given] == before
    assert all(b.datetime.tzinfo is zone for b, zone in zip(given, zones, strict=True))


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
    assert all(b.datetime < c.datetime for b, c in itertools.pairwise(loaded))
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


# ---------------------------------------------------------------------------- damaged parts
def flip(path, offset: int, bit: int = 0) -> None:
    """Flip one bit of the file at `offset`, in place (twice puts it back)."""
    with open(path, "r+b") as handle:
        handle.seek(offset)
        value = handle.read(1)[0]
        handle.seek(offset)
        handle.write(bytes([value ^ (1 << bit)]))


def only_part(store, symbol="rb2401", exchange=Exchange.SHFE, interval="1m"):
    (part,) = store.folder(symbol, exchange, interval).glob("part-*.parquet")
    return part


def test_every_flipped_bit_in_a_part_is_found_and_named(store):
    """One bit flipped anywhere in the file (pages, page headers, footer, magic bytes): the
    load fails naming the part, and the other series of the store still loads."""
    from terminal.storage.market_store import DamagedPartError

    store.save_bars(bars(120))
    store.save_ticks([TickData("T", "IF2101", Exchange.CFFEX, T0, last_price=5000.0)])
    part = only_part(store)
    size = part.stat().st_size
    for offset in range(size):
        flip(part, offset, bit=offset % 8)
        with pytest.raises(DamagedPartError) as caught:
            store.load_table("rb2401", Exchange.SHFE, "1m")
        assert caught.value.path == part and str(part) in str(caught.value), offset
        flip(part, offset, bit=offset % 8)
    assert len(store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)) == 120
    assert store.load_ticks("IF2101", Exchange.CFFEX)[0].last_price == 5000.0


def test_page_checksums_alone_find_every_flip_in_the_pages(store):
    """Without a recorded hash (a part left by a crash, a catalogue rebuilt from nothing), the
    page checksums still stop every flipped bit in the pages from reaching a reader: the part
    reads as written or fails. (The footer is the recorded hash's to guard.)"""
    import pyarrow.parquet as pq

    from terminal.storage.parts import DamagedPartError, parse

    store.save_bars(bars(120))
    part = only_part(store)
    data = part.read_bytes()
    expected, checksums = parse(part, data)
    assert checksums
    footer = len(data) - 8 - pq.read_metadata(part).serialized_size
    failed = 0
    for offset in range(4, footer):
        damaged = bytearray(data)
        damaged[offset] ^= 1 << (offset % 8)
        try:
            table, _ = parse(part, bytes(damaged))
        except DamagedPartError:
            failed += 1
        else:
            assert table.equals(expected), offset
    assert failed > (footer - 4) / 2


def test_a_damaged_series_fails_alone_and_can_be_deleted(tmp_path):
    from terminal.storage.market_store import DamagedPartError

    root = tmp_path / "market"
    store = MarketStore(root)
    store.save_bars(bars(300))
    store.save_bars(bars(10, T0 + timedelta(minutes=300)))          # appended: a second part
    store.save_bars([BarData("T", "IF2101", Exchange.CFFEX, T0, Interval.MINUTE,
                             close_price=5000.0)])
    folder = store.folder("rb2401", Exchange.SHFE, "1m")
    first, second = sorted(folder.glob("part-*.parquet"))
    flip(second, second.stat().st_size // 2)
    for load in (lambda: store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE),
                 lambda: store.load_table("rb2401", Exchange.SHFE, "1m", T0, T0)):
        with pytest.raises(DamagedPartError, match=re.escape(str(second))):
            load()
    assert store.load_bars("IF2101", Exchange.CFFEX, Interval.MINUTE)[0].close_price == 5000.0
    assert {s.symbol for s in store.series()} == {"rb2401", "IF2101"}

    report = store.verify()
    assert [(c.path, c.series) for c in report.damaged] == [(second, "rb2401.SHFE 1m")]
    assert len(report.parts) == 3 and report.series == 2 and report.hash_only == []
    assert store.verify("IF2101", Exchange.CFFEX).damaged == []

    # damaged data is never merged into a new, sound-looking part
    with pytest.raises(DamagedPartError):
        store.save_bars(bars(5, T0 + timedelta(minutes=100)))
    assert sorted(folder.glob("part-*.parquet")) == [first, second]

    assert store.delete("rb2401", Exchange.SHFE, "1m") == 310
    store.close()
    again = MarketStore(root)
    assert [s.symbol for s in again.series()] == ["IF2101"] and again.repaired is None
    again.close()


def test_a_recorded_part_gone_from_the_disk_fails_the_read(store):
    from terminal.storage.market_store import DamagedPartError

    store.save_bars(bars(100))
    store.save_bars(bars(10, T0 + timedelta(minutes=100)))
    _first, second = sorted(store.folder("rb2401", Exchange.SHFE, "1m").glob("part-*.parquet"))
    second.unlink()
    with pytest.raises(DamagedPartError, match=f"{re.escape(str(second))} is damaged: it is "
                                               "recorded in the catalogue but missing"):
        store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)
    (check,) = store.verify().damaged
    assert check.path == second and "missing" in check.problem


def write_as_an_older_version(root, given: list[BarData]) -> Path:
    """A store as the terminal wrote it before page checksums and hashes: a part written
    without checksums and a catalogue of one `series` table."""
    import sqlite3

    import pyarrow as pa
    import pyarrow.parquet as pq

    from terminal.storage.market_store import BAR_FIELDS

    folder = root / "bars" / "SHFE" / "rb2401" / "1m"
    folder.mkdir(parents=True)
    stamps = pa.array([to_ns(b.datetime) for b in given], pa.int64())
    table = pa.table({"datetime": stamps.cast(pa.timestamp("ns", tz="UTC")),
                      **{name: pa.array([float(getattr(b, name)) for b in given])
                         for name in BAR_FIELDS}})
    part = folder / "part-000001.parquet"
    pq.write_table(table, part, compression="zstd")
    db = sqlite3.connect(root / "catalogue.db")
    db.execute("CREATE TABLE series (symbol TEXT, exchange TEXT, interval TEXT, count INTEGER, "
               "first TEXT, last TEXT, parts INTEGER, updated TEXT, "
               "PRIMARY KEY (symbol, exchange, interval))")
    db.execute("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               ("rb2401", "SHFE", "1m", len(given), given[0].datetime.isoformat(),
                given[-1].datetime.isoformat(), 1, "2026-01-01T00:00:00"))
    db.commit()
    db.close()
    return part


def test_parts_of_an_older_version_are_hashed_once_and_guarded_from_then_on(tmp_path, caplog):
    from terminal.storage.market_store import DamagedPartError

    root = tmp_path / "market"
    root.mkdir()
    part = write_as_an_older_version(root, bars(50))
    store = MarketStore(root)
    assert [(s.symbol, s.count) for s in store.series()] == [("rb2401", 50)]
    assert "the parts table is missing (made by a version before content hashes)" \
        in store.repaired
    assert "1 written without page checksums: guarded by their hash" in store.repaired
    assert len(store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)) == 50
    (check,) = store.verify().hash_only
    assert check.path == part and not check.checksums and check.recorded
    store.close()

    flip(part, 100)                              # damage after the upgrade: the hash finds it
    store = MarketStore(root)
    assert store.repaired is None
    with pytest.raises(DamagedPartError, match="its bytes are not those written"):
        store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)
    store.close()
    assert caplog.text.count("was inconsistent") == 1


def test_an_unrecorded_part_is_verified_and_recorded_on_first_read(store, caplog):
    """A part that appears with no hash recorded (another process's write the catalogue has
    not seen yet, a copy put in by hand) is read with its page checksums verified, and its
    hash recorded then, with a warning."""
    store.save_bars(bars(40))
    folder = store.folder("rb2401", Exchange.SHFE, "1m")
    part = only_part(store)
    copy_ = folder / "part-000002.parquet"
    copy_.write_bytes(part.read_bytes())
    assert len(store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)) == 40
    assert "part-000002.parquet had no recorded hash; it reads with its page checksums" \
        in caplog.text
    assert store.catalogue.parts_in("bars/SHFE/rb2401/1m")[
        "bars/SHFE/rb2401/1m/part-000002.parquet"].sha256 is not None


# ---------------------------------------------------------------------------- the catalogue
def drop_series_table(db):
    db.execute("DROP TABLE series")


def drop_parts_table(db):
    db.execute("DROP TABLE parts")


def bad_date(db):
    db.execute("UPDATE series SET first = 'garbage' WHERE symbol = 'rb2401'")


def unknown_exchange(db):
    db.execute("UPDATE series SET exchange = 'MOON' WHERE symbol = 'rb2401'")


def bad_hash(db):
    db.execute("UPDATE parts SET sha256 = 'xyz'")


def forgotten_row(db):
    db.execute("DELETE FROM series WHERE symbol = 'IF2101'")


def forgotten_part(db):
    db.execute("DELETE FROM parts WHERE path LIKE 'ticks/%'")


def ghost_row(db):
    db.execute("INSERT INTO series VALUES ('ag2406', 'SHFE', '1m', 5, '2023-09-25T09:01:00+08:00',"
               " '2023-09-25T09:05:00+08:00', 1, '2026-01-01T00:00:00')")


def missing_column(db):
    db.execute("ALTER TABLE series DROP COLUMN last")


@pytest.mark.parametrize(("damage", "said"), [
    (drop_series_table, "the series table is missing"),
    (drop_parts_table, "the parts table is missing"),
    (bad_date, "series row 'rb2401' 'SHFE' '1m': first 'garbage' is not a time"),
    (unknown_exchange, "exchange 'MOON' is unknown"),
    (bad_hash, "sha256 'xyz' is not a SHA-256"),
    (forgotten_row, "1 series on disk without a row (ticks/CFFEX/IF2101)"),
    (forgotten_part, "1 part(s) on disk not recorded (ticks/CFFEX/IF2101/part-000001.parquet)"),
    (ghost_row, "1 series row(s) without parts on disk (bars/SHFE/ag2406/1m)"),
    (missing_column, "the series table lacks the column(s) last"),
])
def test_an_inconsistent_catalogue_is_rebuilt_from_the_parts_and_said_once(
        tmp_path, caplog, damage, said):
    import sqlite3

    root = tmp_path / "market"
    store = MarketStore(root)
    store.save_bars(bars(30))
    store.save_ticks([TickData("CTP", "IF2101", Exchange.CFFEX, T0, last_price=5000.0)])
    store.close()
    db = sqlite3.connect(root / "catalogue.db")
    damage(db)
    db.commit()
    db.close()

    store = MarketStore(root)
    listed = {(s.symbol, s.interval, s.count, s.first) for s in store.series()}
    assert listed == {("rb2401", "1m", 30, T0), ("IF2101", "tick", 1, T0)}
    assert said in store.repaired and "rebuilt from the parts on disk: 2 series, 2 parts" \
        in store.repaired
    assert len(store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)) == 30
    store.close()
    (aside,) = root.glob("catalogue.db.broken-*")
    assert aside.name in caplog.text
    again = MarketStore(root)
    assert len(again.series()) == 2 and again.repaired is None
    again.close()
    assert caplog.text.count("was inconsistent") == 1
    assert [r.levelname for r in caplog.records if "inconsistent" in r.message] == ["WARNING"]


def test_a_rebuild_keeps_the_hashes_so_a_damaged_part_stays_damaged(tmp_path):
    """The hashes are what a rebuild cannot take again from the parts: taken now, they would
    vouch for damaged bytes. A part whose footer lost a bit (which page checksums do not
    cover) still fails after the series table was lost and rebuilt."""
    import sqlite3

    import pyarrow.parquet as pq

    from terminal.storage.market_store import DamagedPartError
    from terminal.storage.parts import parse

    root = tmp_path / "market"
    store = MarketStore(root)
    store.save_bars(bars(30))
    store.close()
    part = next(root.rglob("part-*.parquet"))
    data = part.read_bytes()
    footer = len(data) - 8 - pq.read_metadata(part).serialized_size
    for offset in range(footer, len(data) - 8):   # a flip the reader takes without a word
        damaged = bytearray(data)
        damaged[offset] ^= 1
        try:
            parse(part, bytes(damaged))
        except DamagedPartError:
            continue
        break
    else:
        pytest.fail("no flip of the footer got past the reader")
    flip(part, offset, 0)
    db = sqlite3.connect(root / "catalogue.db")
    drop_series_table(db)
    db.commit()
    db.close()
    store = MarketStore(root)
    assert store.series() == []
    assert "1 damaged part that cannot be read" in store.repaired and str(part) in store.repaired
    with pytest.raises(DamagedPartError, match=re.escape(str(part))):
        store.load_table("rb2401", Exchange.SHFE, "1m")
    assert [c.path for c in store.verify().damaged] == [part]
    store.close()
    again = MarketStore(root)                     # known damage is not a new inconsistency
    assert again.repaired is None and again.series() == []
    assert [c.path for c in again.verify().damaged] == [part]
    again.close()


def test_a_row_changed_behind_the_stores_back_is_rebuilt_not_raised(store):
    import sqlite3

    store.save_bars(bars(30))
    db = sqlite3.connect(store.root / "catalogue.db")
    bad_date(db)
    db.commit()
    db.close()
    assert [(s.symbol, s.count) for s in store.series()] == [("rb2401", 30)]
    assert "a series row cannot be read" in store.repaired


def test_vnpy_overview_lists_the_bars_vnpy_can_name(store):
    """vn.py's DataManager asks for an overview; resampled 5m bars have no vn.py Interval."""
    from terminal.storage.vnpy_database import StoreDatabase

    store.save_bars(bars(10))
    store.save_columns("rb2401", Exchange.SHFE, "5m", {"datetime": [to_ns(T0)],
                                                       "close_price": [3600.0]})
    store.save_ticks([TickData("T", "IF2101", Exchange.CFFEX, T0, last_price=5000.0)])
    database = StoreDatabase(store)
    assert [(o.symbol, o.interval, o.count) for o in database.get_bar_overview()] == \
        [("rb2401", Interval.MINUTE, 10)]
    assert [(o.symbol, o.count) for o in database.get_tick_overview()] == [("IF2101", 1)]
