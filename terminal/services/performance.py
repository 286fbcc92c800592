"""Live performance for a range of trading days, as the CLI and the Performance dock show it.

- The journal is read through a read-only connection of its own (SQLite WAL: readers never
  block the terminal's writer, and nothing here can write to it). Every trade up to the end
  of the range is read (earlier ones give the range its opening positions) and every order
  (its reference names the strategy that sent it). A row that cannot be read is counted and
  said: the figures may miss a fill.
- Contract terms, in this order: a size the caller gives (`sizes`, the CLI's --size), the
  connected gateway's contract (`known`: size and price tick), the contract table
  (`terminal.market.contracts`, by product). Fees come from the contract table's typical
  broker figures when it knows the product; otherwise that contract is before fees, and the
  result says so. A contract with no size from any of them is refused by name.
- Excursions read the market store's 1-minute bars of each contract once, over the span of
  its round trips.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from vnpy.trader.object import OrderData, TradeData

from terminal.backtest.live_performance import (BarColumns, ContractTerms, LivePerformance,
                                                fills_of, performance)
from terminal.core.paths import DataPaths
from terminal.core.symbols import BadSymbol, split_vt_symbol
from terminal.market.contracts import spec_for
from terminal.services.errors import BadInput
from terminal.storage.journal import from_json
from terminal.storage.market_store import MarketStore, StoreError

JOURNAL_FILE = "journal.db"          # in the data directory (system.runtime opens it there)


def journal_path(paths: DataPaths) -> Path:
    return paths.root / JOURNAL_FILE


def read_journal(path: Path, end: date) -> tuple[list[TradeData], list[OrderData], int]:
    """Trades of trading days up to `end`, every order, and how many rows could not be read;
    BadInput when there is no journal or it cannot be opened."""
    if not Path(path).is_file():
        raise BadInput(f"no trading journal at {path}: nothing has been traded with this data "
                       "directory")
    try:
        db = sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BadInput(f"the trading journal {path} cannot be opened: {exc}") from None
    unreadable = 0
    try:
        db.text_factory = bytes
        trades, orders = [], []
        queries = ((trades, TradeData, ("SELECT data FROM trades WHERE trading_day <= ? "
                                        "ORDER BY rowid"), (end.isoformat(),)),
                   (orders, OrderData, "SELECT data FROM orders ORDER BY rowid", ()))
        for records, cls, sql, args in queries:
            for (raw,) in db.execute(sql, args):
                try:
                    records.append(from_json(cls, raw.decode("utf-8")))
                except (ValueError, KeyError, TypeError, AttributeError):
                    unreadable += 1
    except sqlite3.Error as exc:
        raise BadInput(f"the trading journal {path} cannot be read: {exc}") from None
    finally:
        db.close()
    return trades, orders, unreadable


def contract_terms(vt_symbols, known: Callable[[str], Any] | None = None,
                   sizes: dict[str, float] | None = None) -> dict[str, ContractTerms | None]:
    """Each contract's terms (see the module's docstring); None when no size is known."""
    sizes = sizes or {}
    out: dict[str, ContractTerms | None] = {}
    for vt_symbol in vt_symbols:
        try:
            symbol, exchange = split_vt_symbol(vt_symbol)
            table = spec_for(symbol, exchange, 0.0)
        except (BadSymbol, KeyError):
            table = None
        contract = known(vt_symbol) if known is not None else None
        size, source = None, ""
        if vt_symbol in sizes:
            size, source = sizes[vt_symbol], "size given"
        elif contract is not None and contract.size:
            size, source = float(contract.size), "the gateway's contract"
        elif table is not None:
            size, source = float(table.size), f"contract table, {table.product}"
        if size is None:
            out[vt_symbol] = None
            continue
        tick = (float(contract.pricetick) if contract is not None and contract.pricetick
                else table.pricetick if table is not None else 0.0)
        out[vt_symbol] = ContractTerms(
            size, tick, table.fee_rate if table else 0.0, table.fee_per_lot if table else 0.0,
            fees_known=table is not None,
            source=source + ("; fees from the contract table" if table else "; no fees known"))
    return out


def bars_reader(store: MarketStore, warnings: list[str]
                ) -> Callable[[str, datetime, datetime], BarColumns | None]:
    """`bars_of` for live performance: a contract's stored 1-minute bars between two times
    (the minute of each included), or None; a damaged series is said in `warnings`."""
    def bars_of(vt_symbol: str, first: datetime, last: datetime) -> BarColumns | None:
        try:
            symbol, exchange = split_vt_symbol(vt_symbol)
            table = store.load_table(symbol, exchange, "1m", first - timedelta(minutes=1),
                                     last + timedelta(minutes=1))
        except BadSymbol:
            return None
        except StoreError as exc:
            warnings.append(f"{vt_symbol}: its 1-minute bars cannot be read ({exc}); no "
                            "excursions")
            return None
        if table.num_rows == 0:
            return None
        return (table.column("datetime").to_numpy().astype(np.int64),
                table.column("high_price").to_numpy().astype(float),
                table.column("low_price").to_numpy().astype(float))
    return bars_of


def live_performance(journal: Path, store: MarketStore | None, start: date, end: date,
                     known: Callable[[str], Any] | None = None,
                     sizes: dict[str, float] | None = None,
                     progress: Callable[[int, str], None] | None = None) -> LivePerformance:
    """Live performance of trading days start..end from the journal at `journal` and the
    1-minute bars of `store` (None: no excursions). BadInput names a wrong value."""
    if start > end:
        raise BadInput(f"the range starts on {start} after it ends on {end}")
    say = progress or (lambda percent, text: None)
    say(0, "reading the journal")
    trades, orders, unreadable = read_journal(journal, end)
    fills = fills_of(trades, orders)
    terms = contract_terms(sorted({f.vt_symbol for f in fills}), known, sizes)
    warnings: list[str] = []
    if unreadable:
        warnings.append(f"{unreadable} journal rows cannot be read: fills may be missing")
    say(40, "matching round trips and reading bars")
    result = performance(fills, terms, start, end,
                         bars_reader(store, warnings) if store is not None else None)
    result.warnings[:0] = warnings
    say(100, "done")
    return result
