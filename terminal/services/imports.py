"""Importing a CSV file of bars or ticks into the market store: the use case behind
`data import` and the Data dock's import wizard.

    inspect_file(path)              what the wizard shows first: headers, detected layout
    detected_spec(path, ...)        the detected layout with the trader's corrections (CLI)
    spec_from_settings(...)         a layout from settings given one by one (the wizard's form)
    import_csv(store, path, spec)   check every row, then store all or nothing (or check only)

Errors name the file, the row or the value: `ImportRejected` (bad rows, each with its line;
`FileRejected` for a file that cannot be read as a whole), `ValueError` for a setting that
cannot be used, `SeriesUnnamed` when neither the file nor the caller says which series it is.
Nothing is written unless every row is good.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vnpy.trader.constant import Exchange

from terminal.storage.csv_import import (
    BAR_REQUIRED,
    INTERVAL,
    FileRejected,
    ImportRejected,
    ImportSpec,
    Progress,
    detect,
    import_file,
    read,
    read_frame,
)

# What refuses one file with a reason, leaving the store as it was (OSError: the file could
# not be read).
REJECTIONS = (ImportRejected, ValueError, OSError)


class SeriesUnnamed(ValueError):
    """Neither the file nor its name says which symbol and exchange it holds."""


@dataclass(frozen=True)
class Inspection:
    """A file as first read: its column headers, and the layout detected (None when it was not
    recognised, `problem` saying why: the columns are then mapped by hand)."""

    headers: list[str]
    spec: ImportSpec | None
    problem: ImportRejected | None


@dataclass(frozen=True)
class Imported:
    spec: ImportSpec            # as used
    rows: int                   # stored, or (checked only) that would be
    stored: bool                # False: checked only, nothing written

    @property
    def series(self) -> str:
        """As the messages name it: "rb2401.SHFE 1m", "IF2401.CFFEX tick"."""
        return f"{self.spec.symbol}.{self.spec.exchange.value} {self.spec.interval or 'tick'}"


def inspect_file(path: Path) -> Inspection:
    """Read the header and detect the layout; raises `FileRejected` for a file with nothing
    to map (unreadable, empty, a header and no rows)."""
    headers = list(read_frame(path, nrows=0).columns)
    try:
        spec, _ = detect(path)
    except FileRejected:
        raise
    except ImportRejected as exc:
        return Inspection(headers, None, exc)
    return Inspection(headers, spec, None)


def detected_spec(path: Path, symbol: str | None = None, exchange: str | None = None,
                  interval: str | None = None, datetime_format: str | None = None,
                  end_labelled: bool | None = None, timezone: str | None = None) -> ImportSpec:
    """The layout detected in `path`, with each setting given (not None) put in place of the
    detected one; ValueError names an exchange that does not exist."""
    spec, _ = detect(path)
    if symbol:
        spec.symbol = symbol
    if exchange:
        if exchange.upper() not in Exchange.__members__:
            raise ValueError(f"unknown exchange {exchange!r}")
        spec.exchange = Exchange(exchange.upper())
    given = {"interval": interval, "datetime_format": datetime_format,
             "end_labelled": end_labelled, "timezone": timezone}
    for name, value in given.items():
        if value is not None:
            setattr(spec, name, value)
    return spec


def spec_from_settings(kind: str, symbol: str, exchange: Exchange, interval: str,
                       columns: dict[str, str], datetime_format: str, end_labelled: bool,
                       cumulative_volume: bool, timezone: str,
                       named: bool = True) -> ImportSpec:
    """A layout from settings given one by one; ValueError names what is missing or wrong.
    `named` False (a preview) lets the symbol and exchange be left out."""
    symbol = symbol.strip()
    if named and not symbol:
        raise ValueError("give the symbol (e.g. rb2401)")
    if named and exchange == Exchange.LOCAL:
        raise ValueError("choose the exchange")
    interval = interval.strip() if kind == "bar" else ""
    if kind == "bar" and not INTERVAL.fullmatch(interval):
        raise ValueError(f"bar interval {interval!r}: use 1m, 5m, 1h, d, w ...")
    datetime_format = datetime_format.strip()
    if not datetime_format:
        raise ValueError("give the time format (e.g. %Y-%m-%d %H:%M:%S)")
    timezone = timezone.strip()
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder
        raise ValueError(f"unknown time zone {timezone!r} (e.g. Asia/Shanghai)") from None
    if "datetime" not in columns and "date" not in columns:
        raise ValueError("choose the column with the date (and time)")
    required = BAR_REQUIRED if kind == "bar" else ("last_price",)
    missing = [name.removesuffix("_price").capitalize() for name in required  # Open, Last
               if name not in columns]
    if missing:
        raise ValueError(f"choose the columns for {', '.join(missing)}")
    return ImportSpec(
        kind=kind, symbol=symbol, exchange=exchange, interval=interval, columns=dict(columns),
        datetime_format=datetime_format, end_labelled=kind == "bar" and end_labelled,
        cumulative_volume=cumulative_volume, timezone=timezone,
    )


def import_csv(store, path: Path, spec: ImportSpec, check_only: bool = False,
               progress: Progress | None = None) -> Imported:
    """Check every row of `path` read with `spec`, then store them all (`check_only`: store
    nothing, as `data import --dry-run` and the wizard's Check only). `progress` hears
    (percent, stage); raising from it before "writing to the store" stops with nothing
    written."""
    if spec.exchange == Exchange.LOCAL or not spec.symbol:
        raise SeriesUnnamed(f"{path.name}: no symbol/exchange in the file or its name")
    if check_only:
        return Imported(spec, len(read(path, spec, progress)["datetime"]), stored=False)
    spec, rows = import_file(store, path, spec, progress)
    return Imported(spec, rows, stored=True)
