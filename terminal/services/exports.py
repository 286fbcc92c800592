"""Writing a stored series to a CSV or Parquet file: the use case behind `data export` and the
Data dock's Export, so both write the same files.

- CSV: a header, then one row per bar or tick; `datetime` as local time of the store
  (`2023-09-25 09:00:00.000`), then the stored columns as numbers.
- Parquet: the stored columns, `datetime` as a time-zone-aware timestamp.

The file is written under a temporary name and renamed, so a failed export never leaves half
a file where the trader asked for one. It gets the modes the user's umask gives files (0644
usually), not the data directory's private 0600 (`core.privacy.hand_to_user`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
from vnpy.trader.constant import Exchange

from terminal.core.privacy import hand_to_user

if TYPE_CHECKING:
    from terminal.storage.csv_import import Progress  # (percent, stage); csv_import loads pandas

FORMATS = {".csv": "CSV", ".parquet": "Parquet"}
CSV_CELLS_PER_SLICE = 32_768


def export_series(store, symbol: str, exchange: Exchange, interval: str, out: Path,
                  progress: Progress | None = None) -> int:
    """Write the series to `out` (.csv or .parquet) and return the rows written; raises
    ValueError for an unknown series or suffix, StoreError/OSError when reading or writing
    fails (DamagedPartError, naming the part, when a part is not as written: nothing of a
    damaged series is exported). `progress` hears (percent, stage); raising from it stops the
    export with no file written."""
    step = progress or (lambda percent, stage: None)
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise ValueError(f"{out.name}: export to .csv or .parquet")
    step(0, f"reading {symbol}.{exchange.value} {interval}")
    table = store.load_table(symbol, exchange, interval)
    if table.num_rows == 0:
        raise ValueError(f"no {interval} data for {symbol}.{exchange.value}")
    import pandas as pd      # here: the Data dock imports this module before the first paint

    stamps = pd.to_datetime(table.column("datetime").to_numpy(), utc=True).tz_convert(store.tz)
    temporary = out.with_name(f".{out.name}.tmp")
    writing = f"writing {out.name}"
    try:
        if out.suffix.lower() == ".parquet":
            step(10, writing)
            pq.write_table(table.set_column(0, "datetime", pa.array(stamps)), temporary)
        else:
            _write_csv(table, stamps, temporary, lambda percent: step(percent, writing))
        hand_to_user(temporary)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    return table.num_rows


def _write_csv(table: pa.Table, stamps, path: Path, progress: Callable[[int], None]) -> None:
    """Written a slice at a time (each a few ms of pandas holding the GIL), so that an export
    on a worker thread leaves the GUI thread room to run."""
    step = max(256, CSV_CELLS_PER_SLICE // max(1, table.num_columns))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        for start in range(0, table.num_rows, step):
            progress(10 + 90 * start // table.num_rows)
            frame = table.slice(start, step).to_pandas()
            frame["datetime"] = stamps[start:start + step].strftime(
                "%Y-%m-%d %H:%M:%S.%f").str[:-3]
            frame.to_csv(handle, index=False, header=start == 0)
