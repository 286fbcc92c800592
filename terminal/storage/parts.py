"""One Parquet part of a series: written with page checksums and hashed, read only when its
bytes are the ones written.

- Writing: the part is serialised in memory with a CRC-32 on every page (pyarrow's
  `write_page_checksum`) and a marker in its metadata saying so, hashed (SHA-256), then
  written to a temporary name, flushed and renamed. The record returned goes to the catalogue.
- Reading: the bytes are read once, hashed and compared with the recorded hash, then parsed
  from memory with the page checksums verified, and the columns checked (a `datetime` first,
  numbers after). Any failure is a `DamagedPartError` naming the file and what failed.

Page checksums cover the pages (the values); they do not cover the footer (the schema and
the column metadata), where a flipped bit can rename a column or change a time zone and
still parse. The recorded hash covers every byte; it is checked on every read because that
costs one SHA-256 pass over bytes already in memory (about 1 GB/s), and parsing from memory
wins most of it back (benchmarks/README.md).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from terminal.storage.catalogue import PartRecord, now
from terminal.storage.errors import StoreError

CHECKSUM_KEY = b"trading_terminal.page_checksums"
CHECKSUM_KIND = b"crc32"
PART_NAME = re.compile(r"part-(\d{6})\.parquet$")


class DamagedPartError(StoreError):
    """A part's bytes are not the ones written, or do not parse: it is named, never read."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is damaged: {reason}")
        self.path = path
        self.reason = reason


def part_paths(folder: Path) -> list[Path]:
    """The parts of a series folder, oldest first (temporary files are not parts)."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.iterdir() if PART_NAME.search(p.name))


def next_part_name(parts: list[Path]) -> str:
    number = int(PART_NAME.search(parts[-1].name).group(1)) + 1 if parts else 1
    return f"part-{number:06d}.parquet"


def encoding(table: pa.Table) -> dict:
    """Prices sit on the tick grid, with few distinct values: dictionaries shrink them and
    read fast. Times are sorted and evenly spaced: deltas store them in almost nothing. For
    the other columns (volumes, turnover, open interest) dictionaries gained nothing."""
    return {"compression": "zstd",
            "use_dictionary": [name for name in table.column_names if "price" in name],
            "column_encoding": {"datetime": "DELTA_BINARY_PACKED"}}


def write_part(root: Path, folder: Path, name: str, table: pa.Table) -> PartRecord:
    """Write `table` as `folder/name` atomically; returns the catalogue's record of it."""
    target = folder / name
    temporary = folder / f".{name}.tmp"
    marked = table.replace_schema_metadata({CHECKSUM_KEY: CHECKSUM_KIND})
    sink = pa.BufferOutputStream()
    pq.write_table(marked, sink, write_page_checksum=True, **encoding(table))
    data = sink.getvalue()
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise StoreError(f"cannot write {target}: {exc}") from exc
    return PartRecord(relative(root, target), hashlib.sha256(data).hexdigest(), data.size,
                      table.num_rows, True, now())


def read_part(root: Path, path: Path, record: PartRecord | None,
              columns: list[str] | None = None) -> tuple[pa.Table, PartRecord]:
    """The part's table (datetime as stored: a UTC timestamp) and its record: `record` when
    it holds a hash (which the bytes matched), else a new one to be kept. Only a whole read
    (`columns` None) makes a new record, since only that verifies every page."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DamagedPartError(path, "it is missing") from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if record is not None and record.sha256 is not None and digest != record.sha256:
        raise DamagedPartError(path, "its bytes are not those written on "
                                     f"{record.recorded.replace('T', ' ')} (SHA-256 "
                                     f"{digest[:16]}…, recorded {record.sha256[:16]}…)")
    table, checksums = parse(path, data, columns)
    if record is None or record.sha256 is None:
        if columns is not None:
            raise ValueError("a part without a recorded hash is read whole")
        record = PartRecord(relative(root, path), digest, len(data), table.num_rows,
                            checksums, now())
    return table, record


def parse(path: Path, data: bytes, columns: list[str] | None = None) -> tuple[pa.Table, bool]:
    """The table in `data`, its page checksums verified, and whether it carries them."""
    try:
        reader = pq.ParquetFile(pa.BufferReader(data), page_checksum_verification=True)
        metadata = reader.schema_arrow.metadata or {}
        table = reader.read(columns=columns)
    except Exception as exc:  # damaged bytes make the reader raise anything
        raise DamagedPartError(path, f"it cannot be read ({type(exc).__name__}: {exc})") \
            from exc
    problem = _column_problem(table)
    if problem:
        raise DamagedPartError(path, problem)
    return table.replace_schema_metadata(None), metadata.get(CHECKSUM_KEY) == CHECKSUM_KIND


def footer_rows(path: Path) -> int | None:
    """The row count the part's footer states, or None when it cannot be read."""
    try:
        return pq.read_metadata(path).num_rows
    except Exception:  # noqa: BLE001 - a damaged footer makes the reader raise anything
        return None


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _column_problem(table: pa.Table) -> str | None:
    if table.num_columns == 0 or table.column_names[0] != "datetime":
        return f"its first column is {table.column_names[:1]}, not datetime"
    stamp = table.schema.field(0).type
    if not (pa.types.is_int64(stamp) or (pa.types.is_timestamp(stamp) and stamp.unit == "ns"
                                         and stamp.tz in ("UTC", "+00:00"))):
        return f"its datetime column is {stamp}, not UTC nanoseconds"
    if table.column(0).null_count:
        return "its datetime column has gaps"
    for field in table.schema:
        if field.name != "datetime" and not pa.types.is_float64(field.type):
            return f"its column {field.name!r} is {field.type}, not float64"
    return None
