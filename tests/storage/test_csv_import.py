"""CSV import: each real file in ../shared/data imports with the right counts and first/last
rows, and a file with bad rows is rejected whole, naming the rows."""

from __future__ import annotations

from datetime import datetime

import pytest
from vnpy.trader.constant import Exchange, Interval

from terminal.storage.csv_file import decode_problem, sniff_encoding
from terminal.storage.csv_import import ImportRejected, detect, import_file
from terminal.storage.market_store import CHINA_TZ, MarketStore

from tests.helpers import SHARED_DATA

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(),
                                reason=f"shared market data not found at {SHARED_DATA}")


def china(*args) -> datetime:
    return datetime(*args, tzinfo=CHINA_TZ)


@pytest.fixture
def store(tmp_path):
    market = MarketStore(tmp_path / "market")
    yield market
    market.close()


def ohlcv(bar) -> tuple:
    return (bar.open_price, bar.high_price, bar.low_price, bar.close_price, bar.volume)


@needs_data
def test_rb_minute_bars_newest_first_end_labelled_with_auction_bars(store):
    path = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
    spec, count = import_file(store, path)
    assert (spec.symbol, spec.exchange, spec.interval, spec.end_labelled) == \
        ("rb2401", Exchange.SHFE, "1m", True)
    assert count == 1835 - 5  # four night auctions and one after the holiday folded in
    bars = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE)
    assert len(bars) == 1830
    assert bars[0].datetime == china(2023, 9, 25, 9, 0)
    assert ohlcv(bars[0]) == (3778.0, 3785.0, 3778.0, 3779.0, 28695.0)
    assert bars[-1].datetime == china(2023, 10, 10, 14, 59)
    assert ohlcv(bars[-1]) == (3609.0, 3610.0, 3608.0, 3610.0, 10220.0)
    # no bar starts before a session's first minute: the auction went into it
    assert not [b for b in bars if b.datetime.strftime("%H:%M") in ("20:59", "08:59")]
    night = [b for b in bars if b.datetime.strftime("%H:%M") == "21:00"]
    assert len(night) == 4


@needs_data
def test_rb_auction_bar_is_folded_into_the_first_minute(store, tmp_path):
    path = SHARED_DATA / "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"
    rows = {line.split(",")[2]: line.split(",") for line in path.read_text().splitlines()[1:]}
    auction, first = rows["2023-09-25 21:00:00"], rows["2023-09-25 21:01:00"]
    import_file(store, path)
    (bar,) = store.load_bars("rb2401", Exchange.SHFE, Interval.MINUTE,
                             china(2023, 9, 25, 21, 0), china(2023, 9, 25, 21, 0))
    assert bar.open_price == float(auction[3])          # file columns: open, close, high, low
    assert bar.close_price == float(first[4])
    assert bar.high_price == max(float(auction[5]), float(first[5]))
    assert bar.volume == float(auction[7]) + float(first[7])


@needs_data
def test_if_five_minute_bars_with_angle_bracket_headers(store):
    spec, count = import_file(store, SHARED_DATA / "cn_fut_CFFEX_IF_HOT_5min_2014-2019_wtpy.csv")
    assert (spec.symbol, spec.exchange, spec.interval, spec.end_labelled) == \
        ("IF", Exchange.CFFEX, "5m", True)
    assert count == 68145
    table = store.load_table("IF", Exchange.CFFEX, "5m")
    first, last = table.slice(0, 1).to_pylist()[0], table.slice(count - 1).to_pylist()[0]
    assert first["open_price"] == 2342.2 and first["close_price"] == 2343.2
    assert last["close_price"] == 3879.0 and last["volume"] == 2648.0
    (info,) = store.series()
    assert info.first == china(2014, 1, 2, 9, 30) and info.last == china(2019, 10, 31, 14, 55)


@needs_data
def test_ic_daily_bars_with_a_byte_order_mark(store):
    spec, count = import_file(store, SHARED_DATA / "cn_fut_CFFEX_IC_HOT_daily_2015-2021_wtpy.csv")
    assert (spec.symbol, spec.exchange, spec.interval, spec.end_labelled) == \
        ("IC", Exchange.CFFEX, "d", False)
    bars = store.load_bars("IC", Exchange.CFFEX, Interval.DAILY)
    assert count == len(bars) == 1447
    assert bars[0].datetime == china(2015, 4, 16)
    assert ohlcv(bars[0]) == (7681.0, 7790.0, 7480.2, 7707.8, 116888.0)
    assert bars[0].turnover == 179285879880.0 and bars[0].open_interest == 0
    assert bars[-1].datetime == china(2021, 3, 23) and bars[-1].close_price == 6188.0


@needs_data
def test_if2101_ticks_running_and_per_tick_volume(store):
    spec, count = import_file(
        store, SHARED_DATA / "cn_fut_CFFEX_IF2101_tick_20210104-06_wondertrader.csv")
    assert (spec.kind, spec.symbol, spec.exchange) == ("tick", "IF2101", Exchange.CFFEX)
    assert count == 84347
    ticks = store.load_ticks("IF2101", Exchange.CFFEX)
    first, last = ticks[0], ticks[-1]
    assert first.datetime == china(2021, 1, 4, 9, 29, 0, 400000)
    assert (first.last_price, first.volume, first.last_volume) == (5230.0, 240.0, 240.0)
    assert (first.bid_price_1, first.ask_price_1, first.limit_up) == (5230.0, 5230.8, 5737.8)
    assert last.datetime == china(2021, 1, 6, 15, 44, 33)


@needs_data
def test_rm705_ticks_with_integer_dates(store):
    spec, count = import_file(store, SHARED_DATA / "cn_fut_CZCE_RM705_tick_20170320_vnpy.csv")
    assert (spec.symbol, spec.exchange, count) == ("RM705", Exchange.CZCE, 16979)
    ticks = store.load_ticks("RM705", Exchange.CZCE)
    assert ticks[0].datetime == china(2017, 3, 20, 9, 0, 0, 500000)
    assert (ticks[0].last_price, ticks[0].bid_price_1, ticks[0].ask_price_1) == (2374, 2372, 2374)
    assert ticks[-1].datetime == china(2017, 3, 20, 14, 24, 27, 500000)


BAD = """datetime,open,high,low,close,volume
2023-01-03 09:01:00,100,101,99,100,5
2023-01-03 09:02:00,100,101,99,100,5
2023-01-03 09:02:00,100,101,99,100,5
2023-01-03 09:03:00,100,,99,100,5
2023-01-03 09:04:00,100,abc,99,100,5
2023-01-03 09:05:00,100,98,99,99,5
2023-01-03 09:06:00,105,104,99,100,5
2023-01-03 09:07:00,100,101,99,100,-1
not a time,100,101,99,100,5
"""


def test_bad_rows_are_named_and_nothing_is_written(store, tmp_path):
    path = tmp_path / "cn_fut_SHFE_rb2401_bad.csv"
    path.write_text(BAD)
    spec, preview = detect(path)
    assert spec.kind == "bar" and len(preview) == 9
    with pytest.raises(ImportRejected) as rejected:
        import_file(store, path, spec)
    lines: dict[int, list[str]] = {}
    for problem in rejected.value.problems:
        lines.setdefault(problem.line, []).append(problem.message)
    assert lines[4] == ["the same date/time as another row"]
    assert lines[5] == ["high is missing"]
    assert lines[6] == ["high is 'abc', not a number"]
    assert "high is below low" in lines[7]
    assert lines[8] == ["open is outside high/low"]
    assert lines[9] == ["volume is negative"]
    assert "does not match" in lines[10][0]
    assert 2 not in lines and 3 not in lines
    assert "line 4" in str(rejected.value)
    assert store.series() == []
    assert not (store.root / "bars").exists()


def test_unrecognised_layout_is_refused(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ImportRejected, match="no open/high/low/close"):
        detect(path)


def test_daily_bars_cannot_be_end_labelled(store, tmp_path):
    path = tmp_path / "cn_fut_CFFEX_IC_daily.csv"
    path.write_text("date,open,high,low,close,volume\n2021/03/22,1,2,1,2,5\n2021/03/23,1,2,1,2,5\n")
    spec, _ = detect(path)
    spec.end_labelled = True
    with pytest.raises(ImportRejected, match="d bars cannot be end-labelled"):
        import_file(store, path, spec)


# ---------------------------------------------------------------------------- the file itself
BARS = ("datetime,open,high,low,close,volume\n"
        "2024-01-02 09:00:00,3900,3910,3890,3905,12\n"
        "2024-01-02 09:01:00,3905,3915,3900,3912,7\n")


@pytest.mark.parametrize(("start", "encoding"), [
    (b"\xef\xbb\xbfdate", "utf-8-sig"), (b"date", "utf-8-sig"), (b"", "utf-8-sig"),
    (b"\xff\xfed\x00a\x00", "utf-16"), (b"\xfe\xff\x00d\x00a", "utf-16"),
    (b"\xff\xfe\x00\x00d\x00\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff\x00\x00\x00d", "utf-32"),
    ("datetime,open".encode("utf-16-le"), "utf-16-le"),
    ("datetime,open".encode("utf-16-be"), "utf-16-be"),
    ("日期,开盘".encode("gbk"), "utf-8-sig"), (b"a\x00b,c\n1,2\x00", "utf-8-sig")])
def test_the_encoding_comes_from_the_byte_order_mark(start, encoding):
    assert sniff_encoding(start) == encoding


def test_an_undecodable_byte_is_found_across_read_blocks(tmp_path):
    """The decoder reads a megabyte at a time: a character cut by the block's end is no error,
    and the offset and line of a bad byte count from the file's start."""
    path = tmp_path / "big.csv"
    head = b"a,b\r\n" + b"x" * ((1 << 20) - 7) + b"\n"  # the block ends inside 时
    path.write_bytes(head + "时,1\r\n".encode() + b"2,\xff\n")
    problem = decode_problem(path, "utf-8-sig")
    offset = len(head) + len("时,1\r\n".encode()) + 2
    assert problem.problems[0].line == 4
    assert f"byte FF at offset {offset:,} (line 4)" in problem.reason
    path.write_bytes(head + "时,1\r\n".encode())
    assert decode_problem(path, "utf-8-sig") is None


def test_a_file_replaced_by_a_header_is_refused_by_the_wizard(qtbot, store, tmp_path):
    """The import wizard says what the command line says: a header with no rows, a folder,
    an undecodable byte; nothing is written."""
    from PySide6.QtCore import QThreadPool

    from terminal.ui.dialogs.import_wizard import ImportWizard

    pool = QThreadPool()
    wizard = ImportWizard(store, pool)
    qtbot.addWidget(wizard)
    path = tmp_path / "cn_fut_SHFE_rb2401_1min.csv"
    path.write_text(BARS.splitlines()[0] + "\n")
    job = wizard.load_file(path)
    qtbot.waitUntil(lambda: job.done, timeout=10_000)
    assert not wizard.ready
    assert wizard.message_label.text() == (f"Cannot import {path.name}: no data rows: nothing "
                                           "under the header line")
    assert [(p.line, p.message) for p in wizard.problems] == [
        (2, "no data rows: nothing under the header line")]

    job = wizard.load_file(tmp_path)
    qtbot.waitUntil(lambda: job.done, timeout=10_000)
    assert "a folder, not a regular file" in wizard.message_label.text()

    path.write_bytes(BARS.encode() + b"2024-01-02 09:02:00,1,2,1,2,\xb1\n")
    job = wizard.load_file(path)
    qtbot.waitUntil(lambda: job.done, timeout=10_000)
    assert "not UTF-8 text (a GBK file, say): byte B1" in wizard.message_label.text()
    assert "(line 4)" in wizard.message_label.text()

    path.write_bytes(b"\xff\xfe" + BARS.encode("utf-16-le"))  # UTF-16: read as it is
    job = wizard.load_file(path)
    qtbot.waitUntil(lambda: wizard.ready, timeout=10_000)
    assert wizard.symbol_edit.text() == "rb2401" and wizard.preview_model.rowCount() == 2

    path.write_text(BARS.splitlines()[0] + "\n")  # emptied after it was chosen
    job = wizard.start_import()
    qtbot.waitUntil(lambda: job.done, timeout=10_000)
    assert wizard.message_label.text() == ("Rejected: no data rows: nothing under the header "
                                           "line; nothing was written.")
    assert wizard.rows_imported is None and store.series() == []
    pool.waitForDone(10_000)
