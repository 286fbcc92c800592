"""Checking the market store: every part read as a load would read it, against the hash
recorded when it was written and its page checksums. The use case behind `data verify` and
the Data dock's Verify; `MarketStore.verify` does the reading."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vnpy.trader.constant import Exchange

from terminal.storage.market_store import MarketStore, Verification

if TYPE_CHECKING:
    from terminal.storage.csv_import import Progress  # (percent, stage); csv_import loads pandas

SeriesKey = tuple[str, str, str]   # symbol, exchange value, interval


def verify_store(store: MarketStore, symbol: str | None = None,
                 exchange: Exchange | None = None, interval: str | None = None,
                 progress: Progress | None = None) -> Verification:
    """Check every part (of one symbol, or one series, when given); ValueError when the store
    holds nothing of the symbol or series asked for. `progress` hears (percent of the bytes
    read, the series being read: "rb2401.SHFE 1m"); raising from it stops the check."""
    told = None
    if progress is not None:
        def told(done: int, total: int, series: str) -> None:
            progress(100 * done // total if total else 100, series)
    return store.verify(symbol, exchange, interval, progress=told)


def damaged_series(report: Verification) -> dict[SeriesKey, list[str]]:
    """The series with damaged parts, each with what failed: "part-000001.parquet: ..."."""
    found: dict[SeriesKey, list[str]] = {}
    for check in report.damaged:
        found.setdefault(check.key, []).append(f"{check.path.name}: {check.problem}")
    return found
