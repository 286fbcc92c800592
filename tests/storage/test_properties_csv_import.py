"""Property tests of the CSV importer (`terminal.storage.csv_import`).

Whatever a file holds (random bytes, other encodings, missing or extra columns, NaN, huge or
negative numbers, bad times, repeated or unordered rows, mixed delimiters, very long lines),
importing it either stores exactly what it says or raises `ImportRejected` naming the lines,
and a rejected import leaves the store (its Parquet files and its catalogue) byte for byte
as it was. Valid generated bars and ticks, written in the layouts real files use, come back
from the store exactly as generated.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from vnpy.trader.constant import Exchange
from vnpy.trader.object import TickData

from terminal.storage.csv_import import (
    FileRejected,
    ImportRejected,
    ImportSpec,
    detect,
    import_file,
    read,
)
from terminal.storage.market_store import (
    BAR_FIELDS,
    CHINA_TZ,
    TICK_FIELDS,
    TICK_INTERVAL,
    MarketStore,
    to_ns,
)

from tests.helpers import random_walk_bars

# Examples that import into a store write Parquet files with fsync: a few dozen each. They
# share one store per test (a function-scoped fixture).
STORE_EXAMPLES = max(10, settings.default.max_examples // 2)
SHARED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

HEADER = ["datetime", "open", "high", "low", "close", "volume", "turnover", "open_interest"]
NUMERIC = HEADER[1:]
FORMAT = "%Y-%m-%d %H:%M:%S"
FILE_NAME = "cn_fut_SHFE_rb2401_1min.csv"  # aims at the series the store already holds

# Text that is not a finite number, as files hold it.
NOT_NUMBERS = ["", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e999", "abc",
               "１２３", "٣", "1;5", "0x1F", "1_000", "NULL", "None", "N/A", "--", "\x00",
               "9" * 400, "1.2.3", "+-1", "\u00a0", "2e", "∞"]
BAD_TIMES = ["", "not a time", "2023-13-01 09:00:00", "2023-02-30 10:00:00",
             "2023-01-03 25:00:00", "9999-12-31 23:59:59", "1600-01-01 00:00:00",
             "0000-00-00 00:00:00", "2023-01-03T09:01:00Z", "1672707660", "2023-01-03 9h",
             "x" * 300, "now", "Today", " NOW ", "2023-01-03 09:01:00+08:00"]
# Times a file may hold that are no error: full-width digits read as the digits they are.
ODD_TIMES = ["２０２３-01-03 09:00:00", "2023-01-03T09:01:00+08:00", "2023-01-03 09:01"]


# ---------------------------------------------------------------------------- the store
@pytest.fixture
def held(tmp_path):
    """A store that already holds series (among them the one hostile files aim at), and an
    empty folder for the files to import; shared by the examples of a test."""
    base = tmp_path / "csv-properties"
    store = MarketStore(base / "market")
    store.save_bars(random_walk_bars("rb2401", days=1, per_day=60))
    store.save_bars(random_walk_bars("hc2401", days=1, per_day=30))
    first = datetime(2023, 9, 25, 9, 0, tzinfo=CHINA_TZ)
    store.save_ticks([TickData("DB", "IF2312", Exchange.CFFEX, first + timedelta(seconds=n),
                               last_price=3700 + n, volume=10 * n, bid_price_1=3699 + n,
                               ask_price_1=3701 + n) for n in range(20)])
    inbox = base / "in"
    inbox.mkdir()
    try:
        yield store, inbox
    finally:
        store.close()


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder under `root`."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def physical_lines(content: bytes) -> int:
    return max(1, content.count(b"\n") + content.count(b"\r") + 1)


def check_rejection(exc: ImportRejected, path: Path, content: bytes) -> None:
    """A clear message: the file's name, the lines (within the file), short enough to show;
    a file refused as a whole (encoding, no rows) says why in one problem."""
    text = str(exc)
    if isinstance(exc, FileRejected):
        assert text == f"{path.name}: {exc.reason}" and exc.problems[0].message == exc.reason
    else:
        assert text.startswith(path.name) and "bad row(s)" in text
        assert f"line {exc.problems[0].line}: " in text
    assert exc.problems and exc.total >= len(exc.problems)
    assert all(1 <= p.line <= physical_lines(content) + 1 for p in exc.problems), exc.problems
    assert all(p.message and len(p.message) < 400 for p in exc.problems), exc.problems
    assert len(text) < 5000


def check_rows(spec: ImportSpec, rows: dict[str, np.ndarray]) -> None:
    """What an accepted import hands the store: sorted unique times, finite numbers within
    the rules every row was checked against."""
    times = rows["datetime"]
    assert np.all(times[1:] > times[:-1])
    assert all(np.all(np.isfinite(rows[name])) for name in rows if name != "datetime")
    if spec.kind == "bar":
        low, high = rows["low_price"], rows["high_price"]
        assert np.all(low > 0) and np.all(low <= high)
        assert np.all((low <= rows["open_price"]) & (rows["open_price"] <= high))
        assert np.all((low <= rows["close_price"]) & (rows["close_price"] <= high))
        assert all(np.all(rows[name] >= 0) for name in BAR_FIELDS[4:])
    else:
        assert np.all(rows["last_price"] > 0)
        assert all(np.all(rows[name] >= 0) for name in TICK_FIELDS)


def check_stored(store: MarketStore, spec: ImportSpec, rows: dict[str, np.ndarray]) -> None:
    """Every row read from the file is in the store as read."""
    interval = spec.interval if spec.kind == "bar" else TICK_INTERVAL
    table = store.load_table(spec.symbol, spec.exchange, interval)
    times = table.column("datetime").to_numpy()
    at = np.searchsorted(times, rows["datetime"])
    assert np.all(at < len(times)) and np.array_equal(times[at], rows["datetime"])
    for name, column in rows.items():
        if name != "datetime":
            np.testing.assert_array_equal(table.column(name).to_numpy()[at], column)


def attempt(store: MarketStore, path: Path, content: bytes, spec: ImportSpec | None = None):
    """Import `content` as `path`: either everything is stored as read, or `ImportRejected`
    is raised and nothing under the store's folder (nor next to it) has changed. Any other
    exception fails the test. Returns the exception or the rows."""
    path.write_bytes(content)
    base = store.root.parent
    before = snapshot(base)
    try:
        spec = spec or detect(path)[0]
        rows = read(path, spec)
        check_rows(spec, rows)
        import_file(store, path, spec)
    except ImportRejected as exc:
        check_rejection(exc, path, content)
        assert snapshot(base) == before, "a rejected import changed the store"
        return exc
    check_stored(store, spec, rows)
    return rows


# ---------------------------------------------------------------------------- generated bars
@st.composite
def prices(draw) -> tuple[float, float, float, float]:
    """open, high, low, close: low above 0, open and close within high/low."""
    low = draw(st.floats(min_value=0.001, max_value=1e7, allow_nan=False, allow_infinity=False))
    high = low + draw(st.floats(min_value=0, max_value=1e5, allow_nan=False,
                                allow_infinity=False))
    inside = st.floats(min_value=low, max_value=high)
    return draw(inside), high, low, draw(inside)


@st.composite
def bar_series(draw, max_size: int = 30, intervals=("1m", "5m", "1h", "d")):
    """(interval, bars): distinct naive China times `interval` apart or more (at least one
    step exactly `interval`), each bar {field: value} with valid prices and volumes."""
    interval = draw(st.sampled_from(intervals))
    step = {"1m": 60, "5m": 300, "1h": 3600, "d": 86400}[interval]
    count = draw(st.integers(2, max_size))
    start = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)))
    start = start.replace(second=0, microsecond=0)
    start -= timedelta(seconds=(start.minute * 60) % step if step < 86400 else
                       start.hour * 3600 + start.minute * 60)
    gaps = [0, 1, *draw(st.lists(st.integers(1, 4), min_size=count - 2, max_size=count - 2))]
    moments = [start + timedelta(seconds=step * sum(gaps[:n + 1])) for n in range(count)]
    if step < 86400:  # start-labelled bars never start at the close (that marks end labels)
        assume(not any(m.strftime("%H:%M") in ("15:00", "15:15") for m in moments))
    bars = []
    for moment in moments:
        open_, high, low, close = draw(prices())
        bars.append({
            "datetime": moment, "open": open_, "high": high, "low": low, "close": close,
            "volume": float(draw(st.integers(0, 10**9))),
            "turnover": draw(st.floats(min_value=0, max_value=1e15, allow_nan=False)),
            "open_interest": float(draw(st.integers(0, 10**7))),
        })
    return interval, bars


def bar_lines(interval: str, bars: list[dict], header=HEADER) -> list[list[str]]:
    """Header and rows as text, in the plain layout (repr keeps every float exact)."""
    form = "%Y-%m-%d" if interval == "d" else FORMAT
    rows = [[bar["datetime"].strftime(form)] + [repr(bar[name]) for name in header[1:]]
            for bar in bars]
    return [list(header), *rows]


def to_csv(lines: list[list[str]], separator: str = ",", ending: str = "\n") -> bytes:
    return (ending.join(separator.join(cells) for cells in lines) + ending).encode("utf-8")


def expected_columns(interval: str, bars: list[dict], present=HEADER) -> dict[str, np.ndarray]:
    ordered = sorted(bars, key=lambda bar: bar["datetime"])
    mapping = dict(zip(BAR_FIELDS, ("open", "high", "low", "close", "volume", "turnover",
                                    "open_interest"), strict=True))
    return {"datetime": np.array([to_ns(bar["datetime"]) for bar in ordered], np.int64),
            **{field: np.array([bar[name] if name in present else 0.0 for bar in ordered])
               for field, name in mapping.items()}}


# Spellings of each column in files from other platforms (all recognised by `detect`).
SPELLINGS = {
    "open": ["open", "Open", "<Open>", "open_price", "OPEN", "openPrice"],
    "high": ["high", "High", "<High>", "high_price", "HIGH"],
    "low": ["low", "Low", "<Low>", "low_price", "LOW"],
    "close": ["close", "Close", "<Close>", "close_price", "CLOSE"],
    "volume": ["volume", "Volume", "<Volume>", "vol"],
    "turnover": ["turnover", "amount", "Turnover"],
    "open_interest": ["open_interest", "openInterest", "oi", "OpenInt"],
}
DATE_FORMS = {  # date written as: (strftime or callable)
    "dash": "%Y-%m-%d", "slash": "%Y/%m/%d", "compact": "%Y%m%d",
    "unpadded": lambda d: f"{d.year}/{d.month}/{d.day}",
}
EXCHANGES = [Exchange.SHFE, Exchange.DCE, Exchange.CZCE, Exchange.CFFEX, Exchange.INE,
             Exchange.GFEX]


def _date(moment: datetime, form) -> str:
    return form(moment) if callable(form) else moment.strftime(form)


@st.composite
def bar_files(draw):
    """A valid bar file in one of the layouts real files use, and what it holds:
    (content, file name, symbol, exchange, interval, bars, columns present)."""
    interval, bars = draw(bar_series())
    symbol = draw(st.from_regex(r"[a-z]{1,2}[0-9]{3,4}", fullmatch=True))
    exchange = draw(st.sampled_from(EXCHANGES))
    optional = draw(st.sets(st.sampled_from(["turnover", "open_interest"])))
    present = ["open", "high", "low", "close", "volume", *sorted(optional)]
    draw(st.randoms()).shuffle(present)  # columns in any order (rb2401: open, close, ...)
    names = {name: draw(st.sampled_from(SPELLINGS[name])) for name in present}
    date_form = draw(st.sampled_from(sorted(DATE_FORMS)))
    split = interval != "d" and draw(st.booleans())  # separate date and time columns
    brackets = draw(st.booleans())
    time_headers = (["<Date>", "<Time>"] if brackets else ["date", "time"]) if split else \
        (["<Date>"] if brackets else ["date"]) if interval == "d" else \
        [draw(st.sampled_from(["datetime", "timestamp", "Datetime"]))]
    header = time_headers + [names[name] for name in present]

    def stamp(moment):
        day = _date(moment, DATE_FORMS[date_form])
        if interval == "d":
            return [day]
        return [day, moment.strftime("%H:%M:%S")] if split else \
            [f"{day} {moment.strftime('%H:%M:%S')}"]

    rows = [stamp(bar["datetime"]) + [repr(bar[name]) for name in present] for bar in bars]
    in_file = draw(st.booleans())  # symbol column ("rb2401.SHFE") or the file name says it
    if in_file:
        header = ["local_symbol", *header]
        rows = [[f"{symbol}.{exchange.value}", *row] for row in rows]
        name = "kline.csv"
    else:
        name = f"cn_fut_{exchange.value}_{symbol}_{interval}.csv"
    if draw(st.booleans()):  # a leading unnamed index column
        header = ["", *header]
        rows = [[str(n), *row] for n, row in enumerate(rows)]
    if draw(st.booleans()):  # a column nobody maps
        header.append("note")
        rows = [[*row, draw(st.from_regex(r"[a-z ]{0,8}", fullmatch=True))] for row in rows]
    order = draw(st.sampled_from(["oldest first", "newest first", "shuffled"]))
    if order == "newest first":
        rows.reverse()
    elif order == "shuffled":
        draw(st.randoms()).shuffle(rows)
    separator = draw(st.sampled_from([",", ", "]))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    content = to_csv([header, *rows], separator, ending)
    if draw(st.booleans()):
        content = b"\xef\xbb\xbf" + content  # byte-order mark
    return content, name, symbol, exchange, interval, bars, present


# ---------------------------------------------------------------------------- round trips
@settings(max_examples=STORE_EXAMPLES, suppress_health_check=SHARED)
@given(data=bar_files())
def test_valid_bars_come_back_exactly_as_generated(held, data):
    content, name, symbol, exchange, interval, bars, present = data
    assume(symbol not in ("rb2401", "hc2401"))  # series the store holds
    store, inbox = held
    before = {p: b for p, b in snapshot(store.root).items() if "catalogue" not in p}
    path = inbox / name
    path.write_bytes(content)
    try:
        spec, count = import_file(store, path)
        assert (spec.kind, spec.symbol, spec.exchange, spec.interval, spec.end_labelled) == \
            ("bar", symbol, exchange, interval, False)
        assert count == len(bars)
        table = store.load_table(symbol, exchange, interval)
        expected = expected_columns(interval, bars, present)
        assert table.column_names == ["datetime", *BAR_FIELDS]
        for column, values in expected.items():
            np.testing.assert_array_equal(table.column(column).to_numpy(), values,
                                          err_msg=column)
        (info,) = [s for s in store.series() if (s.symbol, s.exchange) == (symbol, exchange)]
        assert info.count == len(bars)
        assert info.first == min(b["datetime"] for b in bars).replace(tzinfo=CHINA_TZ)
        # the series the store held before are untouched
        now = snapshot(store.root)
        assert {p: now[p] for p in before} == before
    finally:
        store.delete(symbol, exchange, interval)


@st.composite
def tick_files(draw):
    """Valid ticks (times to the half second, a running total volume, a level-1 book) in the
    vn.py layout (per-tick volume as well), the WonderTrader one (price, total_volume,
    volume), or with one volume column, the running total or the per-tick volume (which the
    user then says), in any row order: (content, per-tick volume, expected columns)."""
    count = draw(st.integers(2, 30))
    start = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)))
    start = start.replace(microsecond=0)
    steps = draw(st.lists(st.integers(1, 20), min_size=count, max_size=count))
    moments = [start + timedelta(milliseconds=500 * sum(steps[:n + 1])) for n in range(count)]
    per_tick = draw(st.lists(st.integers(0, 1000), min_size=count, max_size=count))
    total = [float(t) for t in np.cumsum(per_tick)]
    last = [draw(st.floats(min_value=0.01, max_value=1e6)) for _ in range(count)]
    bid = [price - draw(st.floats(0, 10)) for price in last]
    ask = [price + draw(st.floats(0, 10)) for price in last]
    bid = [max(0.0, b) for b in bid]
    sizes = [[float(draw(st.integers(0, 500))) for _ in range(count)] for _ in range(2)]
    layout = draw(st.sampled_from(["wondertrader", "vnpy", "total only", "per tick only"]))
    stamp = [m.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] for m in moments]
    if layout == "wondertrader":
        header = ["datetime", "exchg", "code", "price", "total_volume", "volume",
                  "bid_price_1", "bid_volume_1", "ask_price_1", "ask_volume_1"]
        rows = [[stamp[n], "CFFEX", "IF2101", repr(last[n]), repr(total[n]),
                 str(per_tick[n]), repr(bid[n]), repr(sizes[0][n]), repr(ask[n]),
                 repr(sizes[1][n])] for n in range(count)]
    elif layout == "vnpy":
        header = ["symbol", "datetime", "lastPrice", "volume", "lastVolume", "bidPrice1",
                  "askPrice1", "bidVolume1", "askVolume1"]
        rows = [["IF2101.CFFEX", stamp[n], repr(last[n]), repr(total[n]), str(per_tick[n]),
                 repr(bid[n]), repr(ask[n]), repr(sizes[0][n]), repr(sizes[1][n])]
                for n in range(count)]
    else:
        header = ["symbol", "datetime", "last", "volume", "bid_price_1", "ask_price_1",
                  "bid_volume_1", "ask_volume_1"]
        volume = total if layout == "total only" else per_tick
        rows = [["IF2101.CFFEX", stamp[n], repr(last[n]), repr(volume[n]), repr(bid[n]),
                 repr(ask[n]), repr(sizes[0][n]), repr(sizes[1][n])] for n in range(count)]
    order = draw(st.sampled_from(["oldest first", "newest first", "shuffled"]))
    if order == "newest first":
        rows.reverse()
    elif order == "shuffled":
        draw(st.randoms()).shuffle(rows)
    expected = {"datetime": np.array([to_ns(m) for m in moments], np.int64),
                "last_price": np.array(last), "volume": np.array(total),
                "last_volume": np.array(per_tick if "only" not in layout else [0] * count,
                                        float),
                "bid_price_1": np.array(bid), "ask_price_1": np.array(ask),
                "bid_volume_1": np.array(sizes[0]), "ask_volume_1": np.array(sizes[1])}
    return to_csv([header, *rows]), layout == "per tick only", expected


@settings(max_examples=STORE_EXAMPLES, suppress_health_check=SHARED)
@given(data=tick_files())
def test_valid_ticks_come_back_exactly_as_generated(held, data):
    content, per_tick, expected = data
    store, inbox = held
    path = inbox / "ticks.csv"
    path.write_bytes(content)
    try:
        spec, _ = detect(path)
        assert (spec.kind, spec.symbol, spec.exchange) == ("tick", "IF2101", Exchange.CFFEX)
        if per_tick:  # one column of per-tick volumes may look like a running total
            spec.cumulative_volume = False
        else:
            assert spec.cumulative_volume
        spec, count = import_file(store, path, spec)
        assert count == len(expected["datetime"])
        table = store.load_table("IF2101", Exchange.CFFEX, TICK_INTERVAL)
        for name in TICK_FIELDS:
            values = expected.get(name, np.zeros(count))
            np.testing.assert_array_equal(table.column(name).to_numpy(), values, err_msg=name)
        np.testing.assert_array_equal(table.column("datetime").to_numpy(),
                                      expected["datetime"])
    finally:
        store.delete("IF2101", Exchange.CFFEX, TICK_INTERVAL)


# ---------------------------------------------------------------------------- hostile files
@settings(max_examples=STORE_EXAMPLES, suppress_health_check=SHARED)
@given(content=st.binary(max_size=2000))
@example(content=b"")
@example(content=b"\xef\xbb\xbf")
@example(content=b"datetime,open,high,low,close\n")
@example(content="时间,开盘,最高,最低,收盘\n2023-01-03 09:01:00,1,2,1,2\n".encode("gbk"))
@example(content="datetime,open,high,low,close\n2023-01-03 09:01:00,1,2,1,2\n"
         .encode("utf-16"))
def test_random_bytes_are_stored_as_read_or_rejected_untouched(held, content):
    store, inbox = held
    attempt(store, inbox / FILE_NAME, content)


def _mutate(draw, lines: list[list[str]]) -> tuple[list[list[str]], str, str]:
    """One hostile change to a file's cells: (lines, separator, line ending)."""
    lines = [list(cells) or [""] for cells in lines]
    rows = len(lines) - 1
    row = draw(st.integers(min(1, rows), rows))
    column = draw(st.integers(0, len(lines[row]) - 1))
    kind = draw(st.sampled_from([
        "cell", "number", "time", "drop column", "extra header", "extra field", "short row",
        "duplicate row", "shuffle", "semicolon row", "tab row", "blank line", "long line",
        "swap high low", "negative", "zero", "huge", "header case", "no header", "quote",
    ]))
    separator, ending = ",", draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if kind == "cell":
        lines[row][column] = draw(st.text(max_size=30).filter(lambda t: "\n" not in t
                                                             and "\r" not in t))
    elif kind == "number":
        lines[row][draw(st.integers(0, len(lines[row]) - 1))] = draw(st.sampled_from(NOT_NUMBERS))
    elif kind == "time":
        lines[row][0] = draw(st.sampled_from(BAD_TIMES + ODD_TIMES))
    elif kind == "drop column":
        lines = [cells[:column] + cells[column + 1:] for cells in lines]
    elif kind == "extra header":
        lines[0].append("extra")
    elif kind == "extra field":
        lines[row].append("1")
    elif kind == "short row":
        lines[row] = lines[row][:column]
    elif kind == "duplicate row":
        lines.insert(draw(st.integers(1, rows + 1)), list(lines[row]))
    elif kind == "shuffle":
        body = lines[1:]
        random.Random(draw(st.integers(0, 1000))).shuffle(body)
        lines = lines[:1] + body
    elif kind == "semicolon row":
        lines[row] = [";".join(lines[row])]
    elif kind == "tab row":
        lines[row] = ["\t".join(lines[row])]
    elif kind == "blank line":
        lines.insert(row, [""])
    elif kind == "long line":
        lines[row][column] = draw(st.sampled_from(["7", "x", " "])) * 100_000
    elif kind == "swap high low":
        high, low = HEADER.index("high"), HEADER.index("low")
        if high < len(lines[row]) and low < len(lines[row]):
            lines[row][high], lines[row][low] = lines[row][low], lines[row][high]
    elif kind in ("negative", "zero", "huge"):
        cell = draw(st.integers(0, len(lines[row]) - 1))
        lines[row][cell] = {"negative": "-" + lines[row][cell].lstrip("-"), "zero": "0",
                            "huge": draw(st.sampled_from(["1e308", "1.7976931348623157e308",
                                                          "1" + "0" * 300, "1e-320"]))}[kind]
    elif kind == "header case":
        lines[0] = [name.upper() for name in lines[0]]
    elif kind == "no header":
        lines = lines[1:] or [["1"]]
    elif kind == "quote":
        lines[row][column] = '"' + lines[row][column]
    if draw(st.booleans()):  # and a second separator for the whole file
        separator = draw(st.sampled_from([";", "\t", "|", ", "]))
    return lines, separator, ending


@st.composite
def hostile_files(draw):
    interval, bars = draw(bar_series(max_size=12, intervals=("1m", "5m")))
    lines = bar_lines(interval, bars)
    separator, ending = ",", "\n"
    for _ in range(draw(st.integers(1, 3))):
        lines, separator, ending = _mutate(draw, lines)
    content = to_csv(lines, separator, ending)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "gbk", "utf-16",
                                     "latin-1", "truncated"]))
    if encoding == "truncated":
        content = content[:draw(st.integers(0, len(content)))]
    elif encoding != "utf-8":
        content = content.decode("utf-8").encode(encoding, errors="replace")
    return content


@settings(max_examples=STORE_EXAMPLES * 2, suppress_health_check=SHARED)
@given(content=hostile_files())
def test_hostile_files_are_stored_as_read_or_rejected_untouched(held, content):
    store, inbox = held
    attempt(store, inbox / FILE_NAME, content)


# ---------------------------------------------------------------------------- bad rows named
@st.composite
def one_bad_row(draw):
    """A valid bar file with one row made wrong: (lines, file line, header, value, words)
    where `words` must be in the problem reported for that line."""
    interval, bars = draw(bar_series(max_size=15, intervals=("1m", "5m", "1h")))
    lines = bar_lines(interval, bars)
    row = draw(st.integers(1, len(lines) - 1))
    kind = draw(st.sampled_from(["not a number", "time", "outside", "negative", "not above 0",
                                 "high below low", "duplicate"]))
    column = draw(st.sampled_from(NUMERIC))
    cells, at = lines[row], HEADER.index(column)
    words = []
    if kind == "not a number":
        value = draw(st.sampled_from(NOT_NUMBERS) | st.text(
            alphabet=st.characters(blacklist_categories=("Cs", "Nd", "Zs", "Cc")), min_size=1,
            max_size=500).filter(lambda t: t.strip() and "," not in t and '"' not in t
                                 and "#" not in t))
        cells[at] = value
        shown = repr(value)
        words = [f"{column} is missing"] if not value.strip() else \
            [f"{column} is ", shown[:30]]
    elif kind == "time":
        cells[0] = draw(st.sampled_from(BAD_TIMES[1:]))
        words = ["date/time", repr(cells[0].strip())[:30]]
    elif kind == "outside":
        cells[0] = draw(st.sampled_from(["9999-01-03 09:01:00", "2263-01-01 00:00:00",
                                         "1677-01-01 00:00:00", "0001-01-01 00:00:00"]))
        words = ["date/time", cells[0], "outside the years"]
    elif kind == "negative":
        column = draw(st.sampled_from(NUMERIC[4:]))
        cells[HEADER.index(column)] = f"-{draw(st.integers(1, 10**6))}"
        words = [f"{column} is negative"]
    elif kind == "not above 0":  # all four prices at 0 or below: only that is wrong
        price = repr(-draw(st.floats(min_value=0, max_value=1e6)))
        for name in ("open", "high", "low", "close"):
            cells[HEADER.index(name)] = price
        words = ["is not above 0"]
    elif kind == "high below low":
        high, low = float(cells[2]), float(cells[3])
        assume(high != low)
        cells[2], cells[3] = cells[3], cells[2]
        words = ["high is below low"]
    else:
        assume(len(lines) > 2)
        other = draw(st.integers(1, len(lines) - 1).filter(lambda n: n != row))
        cells[0] = lines[other][0]
        words = ["the same date/time as another row"]
        row = max(row, other)  # the later of the two lines is named
    return lines, interval, row + 1, words


@settings(max_examples=STORE_EXAMPLES * 2, suppress_health_check=SHARED)
@given(data=one_bad_row())
def test_one_bad_row_is_named_with_its_value_and_nothing_is_written(held, data):
    lines, interval, line, words = data
    spec = ImportSpec(kind="bar", symbol="rb2401", exchange=Exchange.SHFE, interval=interval,
                      columns={"datetime": "datetime",
                               **dict(zip(BAR_FIELDS, NUMERIC, strict=True))},
                      datetime_format=FORMAT)
    store, inbox = held
    content = to_csv(lines)
    rejected = attempt(store, inbox / FILE_NAME, content, spec)
    assert isinstance(rejected, ImportRejected), "a bad row was imported"
    messages = [p.message for p in rejected.problems if p.line == line]
    assert messages, f"line {line} not named: {rejected.problems}"
    assert any(all(word in message for word in words) for message in messages), \
        (words, messages)


# ---------------------------------------------------------------------------- hand corrections
@settings(max_examples=STORE_EXAMPLES, suppress_health_check=SHARED)
@given(data=bar_files(), symbol=st.text(max_size=70), interval=st.text(max_size=6),
       timezone=st.sampled_from(["Asia/Shanghai", "UTC", "Asia", "", "Bad/Zone", "../etc",
                                 "asia/shanghai", "Europe/London"]),
       datetime_format=st.sampled_from(["", "mixed", "%Q", "%Y %Y", "%", "%Y-%m-%d",
                                        "%d/%m/%Y %H:%M"]),
       end_labelled=st.booleans())
def test_hand_corrected_specs_import_or_are_rejected_untouched(
        held, data, symbol, interval, timezone, datetime_format, end_labelled):
    """What a user may type in the import wizard or on the command line (any symbol,
    interval, zone or time format) never breaks the import nor writes outside the store."""
    content, name, *_ = data
    store, inbox = held
    path = inbox / name
    path.write_bytes(content)
    spec, _ = detect(path)
    spec.symbol, spec.interval, spec.timezone = symbol, interval, timezone
    spec.datetime_format, spec.end_labelled = datetime_format, end_labelled
    outcome = attempt(store, path, content, spec)
    if not isinstance(outcome, ImportRejected):
        folder = store.folder(symbol, spec.exchange, interval).resolve()
        assert folder.is_relative_to((store.root / "bars").resolve())
        assert folder.parent.parent == (store.root / "bars" / spec.exchange.value).resolve()


@pytest.mark.parametrize("symbol", ["../../evil", "a/b", "..", "", " ", "x\x00y", "a\\b",
                                    "rb:2401", "x" * 65])
def test_a_symbol_that_cannot_name_a_folder_is_rejected(tmp_path, symbol):
    """Regression: a file's symbol column ("../../evil.SHFE") used to become a folder
    outside the store."""
    path = tmp_path / "kline.csv"
    path.write_text("symbol,datetime,open,high,low,close\n"
                    f"{symbol}.SHFE,2023-01-03 09:01:00,1,2,1,2\n")
    store = MarketStore(tmp_path / "market")
    try:
        spec, _ = detect(path)
        spec.symbol = symbol
        with pytest.raises(ImportRejected, match="cannot name a folder"):
            import_file(store, path, spec)
        assert {name.split("/")[0] for name in snapshot(tmp_path)} == {"kline.csv", "market"}
        assert not (store.root / "bars").exists() and store.series() == []
    finally:
        store.close()


BAR_HEADER = "datetime,open,high,low,close,volume\n"


@pytest.mark.parametrize(("content", "line", "words"), [
    # an empty file: pandas' EmptyDataError escaped
    (b"", 1, "the file is empty"),
    # every time the same: the interval guess took int(NaN)
    ((BAR_HEADER + "2023-01-03 09:01:00,1,2,1,2,5\n" * 2).encode(), 3, "the same date/time"),
    # beyond int64 nanoseconds: stored as some time in 1815
    ((BAR_HEADER + "9999-01-03 09:01:00,1,2,1,2,5\n").encode(), 2,
     "'9999-01-03 09:01:00' is outside the years 1678..2261"),
    # pandas reads "now" as the present moment, whatever the format
    ((BAR_HEADER + "2023-01-03 09:01:00,1,2,1,2,5\nnow,1,2,1,2,5\n").encode(), 3,
     "date/time 'now' does not match"),
    # prices at or below 0 were stored
    ((BAR_HEADER + "2023-01-03 09:01:00,-2,-1,-2,-1,5\n").encode(), 2, "low is not above 0"),
    # a row with a field too many: named by its line, not line 1
    ((BAR_HEADER + "2023-01-03 09:01:00,1,2,1,2,5\n2023-01-03 09:02:00,1,2,1,2,5,7\n").encode(),
     3, "Expected 6 fields in line 3, saw 7"),
    # a value 100,000 characters long was quoted whole
    ((BAR_HEADER + "2023-01-03 09:01:00,1," + "x" * 100_000 + ",1,2,5\n").encode(), 2,
     "high is '" + "x" * 35 + "...', not a number"),
])
def test_regressions_found_by_the_properties(held, content, line, words):
    store, inbox = held
    rejected = attempt(store, inbox / FILE_NAME, content)
    assert isinstance(rejected, ImportRejected)
    assert any(p.line == line and words in p.message for p in rejected.problems), \
        rejected.problems


@pytest.mark.parametrize(("stamps", "expected"), [
    # times and offsets side by side: pandas raised "Mixed timezones detected"
    (["2023-01-03 09:01:00", "2023-01-03T01:02:00Z"], ["2023-01-03 09:01", "2023-01-03 09:02"]),
    (["2023-01-03 09:01:00+08:00", "2023-01-03 01:02:00+00:00"],
     ["2023-01-03 09:01", "2023-01-03 09:02"]),
])
def test_times_with_offsets_are_read_in_the_files_zone(held, stamps, expected):
    store, inbox = held
    lines = "".join(f"{stamp},1,2,1,2,5\n" for stamp in stamps)
    rows = attempt(store, inbox / FILE_NAME, (BAR_HEADER + lines).encode())
    assert not isinstance(rows, ImportRejected), rows
    assert list(rows["datetime"]) == [to_ns(datetime.fromisoformat(t)) for t in expected]


def test_newest_first_running_total_ticks_keep_their_volumes(held):
    """Regression: a running total read newest first looked like per-tick volumes, and
    per-tick volumes were added up in file order rather than time order."""
    _store, inbox = held
    path = inbox / "ticks.csv"
    path.write_text("symbol,datetime,last,volume\n" + "".join(
        f"IF2101.CFFEX,2021-01-04 09:30:0{n}.000,5,{10 * (n + 1)}\n" for n in (2, 1, 0)))
    spec, _ = detect(path)
    assert spec.cumulative_volume
    assert list(read(path, spec)["volume"]) == [10, 20, 30]
    spec.cumulative_volume = False  # the same numbers as per-tick volumes
    assert list(read(path, spec)["volume"]) == [10, 30, 60]


def test_an_end_labelled_file_with_no_rows_is_refused(held):
    """Regression: folding opening auctions indexed the last of no rows (IndexError); a file
    with no rows is now refused before that, as any file with only a header."""
    store, inbox = held
    path = inbox / FILE_NAME
    path.write_bytes(BAR_HEADER.encode())
    spec = ImportSpec(kind="bar", symbol="rb2401", exchange=Exchange.SHFE, interval="1m",
                      columns={"datetime": "datetime",
                               **dict(zip(BAR_FIELDS, NUMERIC[:5], strict=False))},
                      datetime_format=FORMAT, end_labelled=True)
    before = snapshot(store.root)
    with pytest.raises(FileRejected, match="no data rows"):
        import_file(store, path, spec)
    assert snapshot(store.root) == before
