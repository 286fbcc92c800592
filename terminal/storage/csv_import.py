"""CSV import of bars and ticks: detect the layout, check every row, then write all or nothing.

Files from other platforms differ in every way a file can: header spellings (`<Close>`,
`close_price`, `lastPrice`), a leading index column, byte-order marks, one datetime column or
separate date and time columns (`2014/1/2`, `20170320`, `9:00:00.5`), newest-first rows, bars
labelled by their end instead of their start, cumulative or per-tick volume. `detect` reads
the header and a sample and proposes an `ImportSpec`; the caller may correct any of it;
`read` applies it and returns the rows in the store's form, or raises `ImportRejected`
naming every bad row (line numbers as in the file, the header being line 1).

Bars end up labelled by their start, as vn.py labels them. In end-labelled files the opening
auction of a session comes as a bar ending at the session's open (21:00, 09:00, 09:30); it
is folded into the session's first bar, which is where the auction's trades belong.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

import numpy as np
import pandas as pd
from vnpy.trader.constant import Exchange

from terminal.storage.market_store import BAR_FIELDS, TICK_FIELDS, TICK_INTERVAL

ENCODING = "utf-8-sig"  # reads files with and without a byte-order mark
SAMPLE_ROWS = 200
MAX_REPORTED = 50

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
class RowProblem:
    line: int
    message: str


class ImportRejected(ValueError):
    def __init__(self, path: Path, problems: list[RowProblem], total: int | None = None):
        self.path, self.problems = path, problems
        shown = "; ".join(f"line {p.line}: {p.message}" for p in problems[:10])
        more = (total or len(problems)) - min(10, len(problems))
        super().__init__(f"{path.name}: {total or len(problems)} bad row(s): {shown}"
                         + (f"; and {more} more" if more > 0 else ""))


def _canonical(header: str) -> str:
    return re.sub(r"[<>_\s\-]", "", header).lower()


def read_frame(path: Path) -> pd.DataFrame:
    """The file as text columns, headers as written (minus padding), nothing converted."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=ENCODING,
                            skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, csv.Error) as exc:
        raise ImportRejected(path, [RowProblem(1, f"not a readable CSV file: {exc}")]) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def detect(path: Path) -> tuple[ImportSpec, pd.DataFrame]:
    """A proposed spec and the first rows, for the preview; raises `ImportRejected` when no
    layout can be recognised."""
    frame = read_frame(path)
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
        raise ImportRejected(path, [RowProblem(1, "no open/high/low/close or last price "
                                                  f"columns among {list(frame.columns)}")])
    if kind == "tick":  # keep tick fields (the day's open/high/low among them)
        columns = {k: v for k, v in columns.items()
                   if k in TICK_FIELDS or k in ("datetime", "date", "time", "symbol", "exchange")}
    symbol, exchange = _symbol_of(path, sample, columns)
    spec = ImportSpec(kind=kind, symbol=symbol, exchange=exchange, columns=columns)
    spec.datetime_format = _detect_format(_stamp_text(path, sample, spec))
    if kind == "bar":
        stamps = pd.to_datetime(_stamp_text(path, sample, spec), format=spec.datetime_format,
                                errors="coerce").dropna().sort_values()
        spec.interval = _interval_of(stamps)
        full = pd.to_datetime(_stamp_text(path, frame, spec), format=spec.datetime_format,
                              errors="coerce").dropna()
        spec.end_labelled = spec.interval not in ("d", "w") and _ends_at_close(full)
    else:
        spec.cumulative_volume = "last_volume" in columns or _running_total(sample, columns)
    return spec, sample


def read(path: Path, spec: ImportSpec) -> dict[str, np.ndarray]:
    """Rows in the store's form (datetime as int64 ns UTC, then float columns), sorted and
    checked; raises `ImportRejected` naming every bad row, having kept nothing."""
    if spec.kind == "bar" and spec.end_labelled and spec.interval[-1:] not in ("m", "h"):
        raise ImportRejected(path, [RowProblem(1, f"{spec.interval} bars cannot be end-labelled; "
                                                  "only minute and hour bars")])
    frame = read_frame(path)
    lines = np.arange(2, len(frame) + 2)
    problems: list[RowProblem] = []
    missing = [v for v in spec.columns.values() if v not in frame.columns]
    if missing:
        raise ImportRejected(path, [RowProblem(1, f"no column {m!r} in the header")
                                    for m in missing])
    stamps = pd.to_datetime(_stamp_text(path, frame, spec), format=spec.datetime_format,
                            errors="coerce")
    for line in lines[stamps.isna().to_numpy()]:
        problems.append(RowProblem(int(line), "date/time does not match "
                                   f"{spec.datetime_format!r}"))
    fields = BAR_FIELDS if spec.kind == "bar" else TICK_FIELDS
    values: dict[str, np.ndarray] = {}
    for name in fields:
        header = spec.columns.get(name)
        if header is None:
            values[name] = np.zeros(len(frame))
            continue
        numbers = pd.to_numeric(frame[header].str.strip(), errors="coerce").to_numpy(float)
        bad = ~np.isfinite(numbers)
        for line, text in zip(lines[bad], frame[header].to_numpy()[bad]):
            problems.append(RowProblem(int(line), f"{header} is {text!r}, not a number"
                                       if text.strip() else f"{header} is missing"))
        values[name] = numbers
    if spec.kind == "tick" and not spec.cumulative_volume and "volume" in spec.columns:
        values["volume"] = np.cumsum(np.nan_to_num(values["volume"]))
    problems += _check_values(spec, values, lines)
    local = stamps.dt.tz_localize(spec.timezone, ambiguous="NaT", nonexistent="NaT")
    order = np.argsort(local.to_numpy(), kind="stable")
    ns = local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64)
    if spec.kind == "bar" and spec.end_labelled:
        ns = ns - _interval_ns(spec.interval)
    sorted_ns = ns[order]
    duplicate = np.zeros(len(ns), dtype=bool)
    duplicate[order[1:]] = (sorted_ns[1:] == sorted_ns[:-1]) & ~stamps.isna().to_numpy()[order[1:]]
    for line in lines[duplicate]:
        problems.append(RowProblem(int(line), "the same date/time as another row"))
    if problems:
        problems.sort(key=lambda p: p.line)
        raise ImportRejected(path, problems[:MAX_REPORTED], total=len(problems))
    result = {"datetime": sorted_ns, **{k: v[order] for k, v in values.items()}}
    if spec.kind == "bar" and spec.end_labelled:
        result = _fold_auctions(result, spec)
    return result


def import_file(store, path: Path, spec: ImportSpec | None = None) -> tuple[ImportSpec, int]:
    """Detect (unless given), check and store a file; returns the spec used and the rows kept."""
    spec = spec or detect(path)[0]
    rows = read(path, spec)
    interval = spec.interval if spec.kind == "bar" else TICK_INTERVAL
    store.save_columns(spec.symbol, spec.exchange, interval, rows)
    return spec, len(rows["datetime"])


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
        for line in lines[mask]:
            problems.append(RowProblem(int(line), message))

    with np.errstate(invalid="ignore"):
        if spec.kind == "bar":
            o, h, l, c = (values[k] for k in BAR_REQUIRED)
            report(h < l, "high is below low")
            report((o > h) | (o < l), "open is outside high/low")
            report((c > h) | (c < l), "close is outside high/low")
        else:
            report(values["last_price"] <= 0, "last price is not above 0")
        for name in ("volume", "turnover", "open_interest", "last_volume"):
            if name in values and name in spec.columns:
                report(values[name] < 0, f"{spec.columns[name]} is negative")
    return problems


def _fold_auctions(rows: dict[str, np.ndarray], spec: ImportSpec) -> dict[str, np.ndarray]:
    """Fold each opening-auction bar (ends at a session open) into the bar after it."""
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
