"""CSV import of bars and ticks: detect the layout, check every row, then write all or nothing.

Files from other platforms differ in every way a file can: header spellings (`<Close>`,
`close_price`, `lastPrice`), a leading index column, byte-order marks, one datetime column or
separate date and time columns (`2014/1/2`, `20170320`, `9:00:00.5`), newest-first rows, bars
labelled by their end instead of their start, cumulative or per-tick volume. `detect` reads
the header and a sample and proposes an `ImportSpec`; the caller may correct any of it;
`read` applies it and returns the rows in the store's form, or raises `ImportRejected`
naming every bad row (line numbers as in the file, the header being line 1). `preview`
parses the first lines the same way without rejecting anything, for an import dialog. A file
that cannot be imported as a whole (not a regular file, not text in a known encoding, empty,
a header with no rows under it) raises `FileRejected` (`csv_file` opens files).

Bars end up labelled by their start, as vn.py labels them. In end-labelled files the opening
auction of a session comes as a bar ending at the session's open (21:00, 09:00, 09:30); it
is folded into the session's first bar, which is where the auction's trades belong.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from vnpy.trader.constant import Exchange

from terminal.storage.csv_file import (  # the importer's errors, named here too
    FileRejected,
    ImportRejected,
    RowProblem,
    decode_problem,
    open_csv,
)
from terminal.storage.market_store import BAR_FIELDS, TICK_FIELDS, TICK_INTERVAL

SAMPLE_ROWS = 200
NO_ROWS = "no data rows: nothing under the header line"
MAX_REPORTED = 50
PREVIEW_ROWS = 50
# Rows converted at a time: between chunks a worker thread lets the GUI thread have the GIL
# (one column of 85,000 ticks converted at once held it for 40-80 ms).
CHUNK_ROWS = 8192

# Told how far an import has got: (percent, what it is doing). The last call ("writing to the
# store") comes just before the write, so an exception it raises stops the import with
# nothing written.
Progress = Callable[[int, str], None]

# Canonical field -> header spellings (compared after lower-casing and dropping "<>_ -").
ALIASES: dict[str, tuple[str, ...]] = {
    "datetime": ("datetime", "timestamp", "datetimestamp"),
    "date": ("date", "tradedate", "day"),
    "time": ("time", "updatetime"),
    "symbol": ("symbol", "localsymbol", "code", "instrument", "instrumentid", "vtsymbol"),
    "exchange": ("exchange", "exchg"),
    "open_price": ("open", "openprice"),
    "high_price": ("high", "highprice"),
    "low_price": ("low", "lowprice"),
    "close_price": ("close", "closeprice"),
    "last_price": ("lastprice", "price", "last"),
    "volume": ("volume", "vol", "totalvolume"),
    "last_volume": ("lastvolume",),
    "turnover": ("turnover", "amount", "totalturnover"),
    "open_interest": ("openinterest", "oi", "openint", "interest"),
    "limit_up": ("upperlimit", "limitup", "upperlimitprice"),
    "limit_down": ("lowerlimit", "limitdown", "lowerlimitprice"),
    "pre_close": ("preclose", "precloseprice"),
    **{f"{side}_{kind}_{n}": (f"{side}{kind}{n}",) + ((f"{side}{kind}",) if n == 1 else ())
       for side in ("bid", "ask") for kind in ("price", "volume") for n in range(1, 6)},
}
BAR_REQUIRED = ("open_price", "high_price", "low_price", "close_price")
# When a session opens after its auction: CFFEX index futures at 09:30, commodities at 21:00
# (night) or 09:00 (a day with no night session before it, as after a holiday).
SESSION_OPENS = {Exchange.CFFEX: (time(9, 30),)}
COMMODITY_OPENS = (time(21, 0), time(9, 0))
# Characters a symbol (the name of its folder in the store) may not hold on any system.
INTERVAL = re.compile(r"\d*[mhdw]")  # bars: 1m, 5m, 1h, d, w ...
UNSAFE_SYMBOL = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
# Times the store can hold (int64 nanoseconds reach 1677-09-21 .. 2262-04-11).
EARLIEST, LATEST = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")
SHOWN_CHARS = 40  # of a bad value, in a message
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S.%f",
                    "%Y/%m/%d %H:%M:%S", "%Y%m%d %H:%M:%S.%f", "%Y%m%d %H:%M:%S",
                    "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")


@dataclass
class ImportSpec:
    kind: str                             # "bar" or "tick"
    symbol: str
    exchange: Exchange
    interval: str = ""                    # bars: "1m", "5m", "1h", "d", ...
    columns: dict[str, str] = field(default_factory=dict)   # field -> header in the file
    datetime_format: str = ""             # strptime format of date (+ " " + time)
    end_labelled: bool = False            # bars stamped with their end time
    cumulative_volume: bool = True        # ticks: `volume` is the day's running total
    timezone: str = "Asia/Shanghai"       # of the file's naive times


@dataclass
class Preview:
    """The first lines of a file as they would be stored, nothing rejected: `columns` holds
    "datetime" (int64 ns UTC; `valid` False where it did not parse) and the float fields (NaN
    where a value is bad); `problems` names what the import would reject among these lines."""

    lines: np.ndarray
    columns: dict[str, np.ndarray]
    valid: np.ndarray
    problems: list[RowProblem]


def _canonical(header: str) -> str:
    return re.sub(r"[<>_\s\-]", "", header).lower()


def read_frame(path: Path, nrows: int | None = None,
               progress: Progress | None = None) -> pd.DataFrame:
    """The file (or its first `nrows` rows) as text columns, headers as written (minus
    padding), nothing converted. `progress` hears 0-35 % as the file is read. Raises
    `FileRejected` for what is not a readable text file (see `csv_file`)."""
    handle, encoding = open_csv(path)
    options = dict(dtype=str, keep_default_na=False, encoding=encoding, skipinitialspace=True)
    try:
        with handle:
            if nrows is not None:
                frame = pd.read_csv(handle, nrows=nrows, **options)
            else:  # in chunks: a worker thread reading lets go of the GIL between them
                size = max(1, os.fstat(handle.fileno()).st_size)
                chunks = []
                for chunk in pd.read_csv(handle, chunksize=CHUNK_ROWS, **options):
                    chunks.append(chunk)
                    if progress is not None:
                        progress(min(34, 35 * handle.tell() // size), "reading the file")
                if not chunks:  # a header and no rows
                    handle.seek(0)
                    chunks = [pd.read_csv(handle, nrows=0, **options)]
                frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    except pd.errors.EmptyDataError as exc:
        raise FileRejected(path, "the file is empty") from exc
    except UnicodeError as exc:
        raise decode_problem(path, encoding) or FileRejected(
            path, f"not readable as {encoding} text: {exc}") from exc
    except OSError as exc:
        raise FileRejected(path, f"cannot be read: {exc.strerror or exc}") from exc
    except (pd.errors.ParserError, csv.Error) as exc:
        text = str(exc).strip()
        line = re.search(r"\bin line (\d+)", text)  # "Expected 6 fields in line 3, saw 7"
        raise ImportRejected(path, [RowProblem(int(line.group(1)) if line else 1,
                                               f"not a readable CSV file: {text}")]) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def detect(path: Path) -> tuple[ImportSpec, pd.DataFrame]:
    """A proposed spec and the first rows, for the preview; raises `ImportRejected` when no
    layout can be recognised, `FileRejected` when it has nothing to import."""
    frame = _with_rows(path, read_frame(path))
    sample = frame.head(SAMPLE_ROWS)
    by_canonical = {_canonical(c): c for c in frame.columns if c and not c.startswith("Unnamed")}
    columns: dict[str, str] = {}
    for name, spellings in ALIASES.items():
        for spelling in spellings:
            if spelling in by_canonical and by_canonical[spelling] not in columns.values():
                columns[name] = by_canonical[spelling]
                break
    # Per-tick and running-total volume side by side (total_volume, volume): keep both.
    if "totalvolume" in by_canonical and "volume" in by_canonical:
        columns["volume"], columns["last_volume"] = by_canonical["totalvolume"], \
            by_canonical["volume"]
    if "totalturnover" in by_canonical:
        columns["turnover"] = by_canonical["totalturnover"]
    kind = "bar" if all(k in columns for k in BAR_REQUIRED) and "bid_price_1" not in columns \
        else "tick" if "last_price" in columns else ""
    if not kind:
        names = ", ".join(_shown(str(c)) for c in frame.columns[:20])
        more = f" and {len(frame.columns) - 20} more" if len(frame.columns) > 20 else ""
        raise ImportRejected(path, [RowProblem(1, "no open/high/low/close or last price "
                                                  f"columns among [{names}]{more}")])
    if kind == "tick":  # keep tick fields (the day's open/high/low among them)
        columns = {k: v for k, v in columns.items()
                   if k in TICK_FIELDS or k in ("datetime", "date", "time", "symbol", "exchange")}
    symbol, exchange = _symbol_of(path, sample, columns)
    spec = ImportSpec(kind=kind, symbol=symbol, exchange=exchange, columns=columns)
    spec.datetime_format = _detect_format(_stamp_text(path, sample, spec))
    if kind == "bar":
        stamps = _parse_times(_stamp_text(path, sample, spec), spec.datetime_format,
                              spec.timezone).dropna().sort_values()
        spec.interval = _interval_of(stamps)
        full = _times(path, frame, spec).dropna()
        spec.end_labelled = spec.interval not in ("d", "w") and _ends_at_close(full)
    else:
        stamps = _parse_times(_stamp_text(path, sample, spec), spec.datetime_format,
                              spec.timezone)
        in_time_order = sample.iloc[np.argsort(stamps.to_numpy(), kind="stable")]
        spec.cumulative_volume = "last_volume" in columns or \
            _running_total(in_time_order, columns)
    return spec, sample


def read(path: Path, spec: ImportSpec,
         progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Rows in the store's form (datetime as int64 ns UTC, then float columns), sorted and
    checked; raises `ImportRejected` naming every bad row, having kept nothing."""
    step = progress or _no_progress
    _check_spec(path, spec)
    _check_symbol(path, spec)
    step(0, "reading the file")
    frame = _with_rows(path, read_frame(path, progress=step))
    lines, values, ns, valid, problems = _parse(path, frame, spec, step)
    step(85, "checking the rows")
    order = np.argsort(ns, kind="stable")  # unparsed times (the smallest int64) sort first
    sorted_ns = ns[order]
    duplicate = np.zeros(len(ns), dtype=bool)
    duplicate[order[1:]] = (sorted_ns[1:] == sorted_ns[:-1]) & valid[order[1:]]
    for line in lines[duplicate]:
        problems.append(RowProblem(int(line), "the same date/time as another row"))
    if problems:
        problems.sort(key=lambda p: p.line)
        raise ImportRejected(path, problems[:MAX_REPORTED], total=len(problems))
    result = {"datetime": sorted_ns, **{k: v[order] for k, v in values.items()}}
    if spec.kind == "bar" and spec.end_labelled:
        result = _fold_auctions(result, spec)
    return result


def preview(path: Path, spec: ImportSpec, rows: int = PREVIEW_ROWS) -> Preview:
    """The first `rows` lines of the file parsed with `spec`, in file order, as they would be
    stored (re-stamped by their start when end-labelled; opening auctions are folded only on
    import); raises `ImportRejected` only when the spec does not fit the header."""
    _check_spec(path, spec)
    frame = read_frame(path, nrows=rows)
    lines, values, ns, valid, problems = _parse(path, frame, spec, _no_progress)
    problems.sort(key=lambda p: p.line)
    return Preview(lines, {"datetime": ns, **values}, valid, problems)


def import_file(store, path: Path, spec: ImportSpec | None = None,
                progress: Progress | None = None) -> tuple[ImportSpec, int]:
    """Detect (unless given), check and store a file; returns the spec used and the rows kept.
    `progress` hears how far it has got; an exception it raises stops the import with
    nothing written."""
    step = progress or _no_progress
    spec = spec or detect(path)[0]
    rows = read(path, spec, step)
    interval = spec.interval if spec.kind == "bar" else TICK_INTERVAL
    step(90, "writing to the store")
    store.save_columns(spec.symbol, spec.exchange, interval, rows)
    return spec, len(rows["datetime"])


def _no_progress(percent: int, stage: str) -> None:
    pass


def _with_rows(path: Path, frame: pd.DataFrame) -> pd.DataFrame:
    """A file with a header and nothing under it is an error, not an import of 0 rows."""
    if frame.empty:
        raise FileRejected(path, NO_ROWS, line=2)
    return frame


def _check_spec(path: Path, spec: ImportSpec) -> None:
    """Refuse a spec (as corrected by hand: wizard, command line) that cannot be applied."""
    problems = []
    if spec.kind not in ("bar", "tick"):
        problems.append(f"kind {_shown(spec.kind)}: use bar or tick")
    if spec.kind == "bar" and not INTERVAL.fullmatch(spec.interval):
        problems.append(f"bar interval {_shown(spec.interval)}: use 1m, 5m, 1h, d, w ...")
    elif spec.kind == "bar" and spec.end_labelled and spec.interval[-1:] not in ("m", "h"):
        problems.append(f"{spec.interval} bars cannot be end-labelled; only minute and hour bars")
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problems.append(f"unknown time zone {_shown(spec.timezone)} (e.g. Asia/Shanghai)")
    try:
        pd.to_datetime(pd.Series(["2000-01-01"]), format=spec.datetime_format, errors="coerce")
    except (ValueError, re.error) as exc:
        problems.append(f"time format {_shown(spec.datetime_format)} is not usable: {exc}")
    if problems:
        raise ImportRejected(path, [RowProblem(1, problem) for problem in problems])


def _check_symbol(path: Path, spec: ImportSpec) -> None:
    """The symbol names the series' folder in the store: nothing that leaves it or that a
    file system refuses (the symbol column of a hostile file may hold "../..")."""
    symbol = spec.symbol
    if not symbol.strip(". ") or UNSAFE_SYMBOL.search(symbol) or len(symbol) > 64:
        raise ImportRejected(path, [RowProblem(
            1, f"symbol {_shown(symbol)} cannot name a folder of the store: it must not be "
               "empty, dots only, longer than 64 or hold / \\ : * ? \" < > | or control "
               "characters")])


def _shown(value: object) -> str:
    """A value as a message quotes it: repr, cut short when long."""
    text = repr(value if isinstance(value, str) else "")
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS - 4]}...{text[-1]}"


def _parse(path: Path, frame: pd.DataFrame, spec: ImportSpec, step: Progress) -> tuple:
    """Lines, float values, times (int64 ns UTC, as stored), which times parsed, and the
    problems found row by row (all but repeated times)."""
    lines = np.arange(2, len(frame) + 2)
    problems: list[RowProblem] = []
    missing = [v for v in spec.columns.values() if v not in frame.columns]
    if missing:
        raise ImportRejected(path, [RowProblem(1, f"no column {_shown(m)} in the header")
                                    for m in missing])
    step(35, "parsing dates and times")
    stamps = _times(path, frame, spec)
    unparsed = stamps.isna().to_numpy()
    # Beyond what int64 nanoseconds hold, a time would be stored as another one.
    outside = (stamps.notna() & ((stamps < EARLIEST) | (stamps > LATEST))).to_numpy()
    if unparsed.any() or outside.any():
        texts = _stamp_text(path, frame, spec).to_numpy()
        for line, text, out in zip(lines[unparsed | outside], texts[unparsed | outside],
                                   outside[unparsed | outside], strict=True):
            problems.append(RowProblem(int(line), f"date/time {_shown(text)} is outside the "
                                       f"years {EARLIEST.year}..{LATEST.year}" if out else
                                       f"date/time {_shown(text)} does not match "
                                       f"{spec.datetime_format!r}"))
        stamps, unparsed = stamps.mask(outside), unparsed | outside
    fields = BAR_FIELDS if spec.kind == "bar" else TICK_FIELDS
    values: dict[str, np.ndarray] = {}
    for number, name in enumerate(fields):
        step(45 + 40 * number // len(fields), "checking the numbers")
        header = spec.columns.get(name)
        if header is None:
            values[name] = np.zeros(len(frame))
            continue
        numbers = _numbers(frame[header])
        bad = ~np.isfinite(numbers)
        for line, cell in zip(lines[bad], frame[header].to_numpy()[bad], strict=True):
            text = cell if isinstance(cell, str) else ""  # a short row's missing field
            problems.append(RowProblem(int(line), f"{header} is {_shown(text)}, not a number"
                                       if text.strip() else f"{header} is missing"))
        values[name] = numbers
    if spec.kind == "tick" and not spec.cumulative_volume and "volume" in spec.columns:
        order = np.argsort(stamps.to_numpy(), kind="stable")  # added up in time order
        total = np.empty(len(order))
        total[order] = np.cumsum(np.nan_to_num(values["volume"][order]))
        values["volume"] = total
    problems += _check_values(spec, values, lines)
    local = stamps.dt.tz_localize(spec.timezone, ambiguous="NaT", nonexistent="NaT")
    valid = local.notna().to_numpy()
    for line in lines[valid != ~unparsed]:  # parsed, but skipped or repeated by a clock change
        problems.append(RowProblem(int(line), f"date/time does not exist or is ambiguous in "
                                   f"{spec.timezone}"))
    ns = local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64)
    if spec.kind == "bar" and spec.end_labelled:
        ns = np.where(valid, ns - _interval_ns(spec.interval), ns)
    return lines, values, ns, valid, problems


# ---------------------------------------------------------------------------------- helpers
def _stamp_text(path: Path, frame: pd.DataFrame, spec: ImportSpec) -> pd.Series:
    columns = spec.columns
    if "datetime" in columns:
        return frame[columns["datetime"]].str.strip()
    if "date" in columns and "time" in columns:
        return frame[columns["date"]].str.strip() + " " + frame[columns["time"]].str.strip()
    if "date" in columns:
        return frame[columns["date"]].str.strip()
    raise ImportRejected(path, [RowProblem(1, "no date or datetime column")])


def _chunks(frame):
    return [frame.iloc[start:start + CHUNK_ROWS] for start in range(0, len(frame), CHUNK_ROWS)]


def _times(path: Path, frame: pd.DataFrame, spec: ImportSpec) -> pd.Series:
    """The rows' date/times as written (naive), NaT where they do not parse."""
    if len(frame) <= CHUNK_ROWS:
        return _parse_times(_stamp_text(path, frame, spec), spec.datetime_format, spec.timezone)
    return pd.concat([_times(path, chunk, spec) for chunk in _chunks(frame)])


def _parse_times(text: pd.Series, fmt: str, timezone: str) -> pd.Series:
    """Naive wall-clock times in `timezone`, NaT where a text does not parse. Whatever the
    format, pandas reads "now" and "today" as the present moment: no time of the file's.
    Times written with an offset ("...+08:00", "...Z") are converted to `timezone`."""
    words = text.str.strip().str.lower().isin(("now", "today"))
    text = text.mask(words) if words.any() else text
    try:
        stamps = pd.to_datetime(text, format=fmt, errors="coerce")
    except ValueError:  # different offsets, or times with and without one, side by side
        stamps = pd.Series([_naive_time(value, fmt, timezone) for value in text],
                           index=text.index, dtype="datetime64[us]")
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert(timezone).dt.tz_localize(None)
    return stamps


def _naive_time(text, fmt: str, timezone: str):
    try:
        stamp = pd.to_datetime(text, format=fmt, errors="coerce")
    except (ValueError, OverflowError):
        return pd.NaT
    if stamp is pd.NaT or stamp.tzinfo is None:
        return stamp
    return stamp.tz_convert(timezone).tz_localize(None)


def _numbers(texts: pd.Series) -> np.ndarray:
    """A text column as floats, NaN where a value is not a number."""
    return np.concatenate([
        pd.to_numeric(chunk.str.strip(), errors="coerce").to_numpy(float)
        for chunk in _chunks(texts)
    ]) if len(texts) else np.zeros(0)


def _detect_format(text: pd.Series) -> str:
    sample = text.head(SAMPLE_ROWS)
    for fmt in DATETIME_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return "mixed"


def _symbol_of(path: Path, sample: pd.DataFrame, columns: dict) -> tuple[str, Exchange]:
    symbol, exchange = "", None
    if "symbol" in columns and len(sample):
        symbol = str(sample[columns["symbol"]].iloc[0]).strip()
        if "." in symbol:
            symbol, suffix = symbol.rsplit(".", 1)
            exchange = Exchange.__members__.get(suffix.upper())
    if "exchange" in columns and len(sample):
        exchange = Exchange.__members__.get(str(sample[columns["exchange"]].iloc[0]).upper())
    if not symbol or exchange is None:  # from a file name such as cn_fut_SHFE_rb2401_1min.csv
        parts = re.split(r"[_.\-\s]+", path.stem)
        for i, part in enumerate(parts):
            if part.upper() in Exchange.__members__ and part.upper() != "LOCAL":
                exchange = exchange or Exchange(part.upper())
                if not symbol and i + 1 < len(parts):
                    symbol = parts[i + 1]
                break
    return symbol, exchange or Exchange.LOCAL


def _interval_of(stamps: pd.Series) -> str:
    if len(stamps) < 2:
        return "1m"
    step = pd.Series(stamps.to_numpy()).diff().dropna()
    step = step[step > pd.Timedelta(0)].min()
    if pd.isna(step):  # every sampled time the same
        return "1m"
    seconds = int(step.total_seconds())
    if seconds >= 86400:
        return "d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h" if seconds > 3600 else "1h"
    return f"{max(1, seconds // 60)}m"


def _interval_ns(interval: str) -> int:
    number, unit = int(interval[:-1] or 1), interval[-1]
    return number * {"m": 60, "h": 3600}[unit] * 1_000_000_000


def _ends_at_close(stamps: pd.Series) -> bool:
    """End-labelled intraday bars reach the close (15:00 or 15:15) exactly; start-labelled
    ones stop one bar before it."""
    clock = stamps.dt.time
    return bool(((clock == time(15, 0)) | (clock == time(15, 15))).any())


def _running_total(sample: pd.DataFrame, columns: dict) -> bool:
    if "volume" not in columns:
        return True
    numbers = pd.to_numeric(sample[columns["volume"]], errors="coerce").dropna().to_numpy()
    return len(numbers) < 2 or bool(np.all(np.diff(numbers) >= 0))


def _check_values(spec: ImportSpec, values: dict[str, np.ndarray],
                  lines: np.ndarray) -> list[RowProblem]:
    problems = []

    def report(mask: np.ndarray, message: str) -> None:
        problems.extend(RowProblem(int(line), message) for line in lines[mask])

    with np.errstate(invalid="ignore"):
        if spec.kind == "bar":
            open_, high, low, close = (values[k] for k in BAR_REQUIRED)
            report(high < low, "high is below low")
            report((open_ > high) | (open_ < low), "open is outside high/low")
            report((close > high) | (close < low), "close is outside high/low")
            for name in BAR_REQUIRED:
                report(values[name] <= 0, f"{spec.columns[name]} is not above 0")
        else:
            report(values["last_price"] <= 0, "last price is not above 0")
        # Volumes, turnover, open interest and (ticks) the other prices and the book: an
        # empty book level may be 0, none may be below.
        for name in BAR_FIELDS[4:] if spec.kind == "bar" else TICK_FIELDS[1:]:
            if name in spec.columns:
                report(values[name] < 0, f"{spec.columns[name]} is negative")
    return problems


def _fold_auctions(rows: dict[str, np.ndarray], spec: ImportSpec) -> dict[str, np.ndarray]:
    """Fold each opening-auction bar (ends at a session open) into the bar after it."""
    if not len(rows["datetime"]):
        return rows
    step = _interval_ns(spec.interval)
    ends = pd.to_datetime(rows["datetime"] + step, utc=True).tz_convert(spec.timezone)
    auction = np.isin(ends.time, SESSION_OPENS.get(spec.exchange, COMMODITY_OPENS))
    auction[-1] = False
    indices = np.flatnonzero(auction)
    if not len(indices):
        return rows
    rows = {k: v.copy() for k, v in rows.items()}
    for i in indices:
        j = i + 1
        rows["open_price"][j] = rows["open_price"][i]
        rows["high_price"][j] = max(rows["high_price"][j], rows["high_price"][i])
        rows["low_price"][j] = min(rows["low_price"][j], rows["low_price"][i])
        rows["volume"][j] += rows["volume"][i]
        rows["turnover"][j] += rows["turnover"][i]
    keep = ~auction
    return {k: v[keep] for k, v in rows.items()}
