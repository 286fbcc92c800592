"""The catalogue held against the parts on disk, and rebuilt from them when they disagree.

The parts are the truth: a series is the folder of its parts, and a part's footer and columns
say what it holds. What the parts cannot say again is the hash each had when written, so a
rebuild keeps the hashes of the old catalogue's well-formed part rows: a part whose bytes no
longer match stays damaged. A part with no hash kept is read whole (its page checksums
verified) before its hash is taken now; one that fails is recorded as damaged, with no hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from terminal.core.aside import aside_path, set_aside
from terminal.storage.catalogue import (Catalogue, CatalogueError, PartRecord, SeriesRow,
                                        kept_parts_of, now)
from terminal.storage.parts import DamagedPartError, StoreError, part_paths, read_part, relative

TICK_INTERVAL = "tick"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
EXAMPLES = 3


@dataclass(frozen=True)
class SeriesFolder:
    folder: Path
    path: str               # relative to the store's root
    symbol: str
    exchange: str
    interval: str
    parts: tuple[Path, ...]

    @property
    def key(self) -> tuple[str, str, str]:
        return self.symbol, self.exchange, self.interval

    @property
    def name(self) -> str:
        return f"{self.symbol}.{self.exchange} {self.interval}"


@dataclass
class Rebuilt:
    series: list[SeriesRow] = field(default_factory=list)
    parts: list[PartRecord] = field(default_factory=list)
    damaged: list[DamagedPartError] = field(default_factory=list)
    hashed: list[PartRecord] = field(default_factory=list)    # hashes taken now, not kept


def series_folders(root: Path, exchanges: set[str]) -> dict[str, SeriesFolder]:
    """Every folder of the store holding parts, by its path under `root`; folders of an
    exchange vn.py does not know are not series of this store."""
    found = [(f, f.parent.parent.name, f.parent.name, f.name)
             for f in root.glob("bars/*/*/*") if f.is_dir() and f.name != TICK_INTERVAL]
    found += [(f, f.parent.name, f.name, TICK_INTERVAL)
              for f in root.glob("ticks/*/*") if f.is_dir()]
    folders = {}
    for folder, exchange, symbol, interval in found:
        parts = part_paths(folder)
        if parts and exchange in exchanges:
            path = relative(root, folder)
            folders[path] = SeriesFolder(folder, path, symbol, exchange, interval, tuple(parts))
    return folders


def series_folder_path(symbol: str, exchange: str, interval: str) -> str:
    if interval == TICK_INTERVAL:
        return f"ticks/{exchange}/{symbol}"
    return f"bars/{exchange}/{symbol}/{interval}"


def disagreements(catalogue: Catalogue, root: Path,
                  folders: dict[str, SeriesFolder]) -> list[str]:
    """Where a well-formed catalogue and the parts on disk disagree."""
    recorded = catalogue.all_parts()
    on_disk = {relative(root, part) for f in folders.values() for part in f.parts}
    rows = {series_folder_path(r["symbol"], r["exchange"], r["interval"]): r
            for r in catalogue.rows()}
    found = []
    _note(found, sorted(on_disk - recorded.keys()), "part(s) on disk not recorded")
    _note(found, sorted(recorded.keys() - on_disk), "recorded part(s) missing from the disk")
    _note(found, sorted(rows.keys() - folders.keys()), "series row(s) without parts on disk")
    unlisted = [path for path in sorted(folders.keys() - rows.keys())
                if not all(recorded.get(relative(root, part)) is not None
                           and recorded[relative(root, part)].damaged
                           for part in folders[path].parts)]
    _note(found, unlisted, "series on disk without a row")
    return found


def _note(found: list[str], paths: list[str], what: str) -> None:
    if paths:
        shown = ", ".join(paths[:EXAMPLES]) + (f" and {len(paths) - EXAMPLES} more"
                                               if len(paths) > EXAMPLES else "")
        found.append(f"{len(paths)} {what} ({shown})")


def rebuild(root: Path, folders: dict[str, SeriesFolder], kept: dict[str, PartRecord],
            tz: ZoneInfo) -> Rebuilt:
    """The catalogue's rows for the parts on disk. A part whose hash was kept is hashed
    again and only its times read; any other is read whole, page checksums verified."""
    rebuilt = Rebuilt()
    for series in folders.values():
        times = []
        for part in series.parts:
            record, stamps = _index_part(root, part, kept.get(relative(root, part)))
            rebuilt.parts.append(record)
            if record.damaged:
                rebuilt.damaged.append(DamagedPartError(part, record.damaged))
            else:
                times.append(stamps)
                if kept.get(record.path) is None or kept[record.path].sha256 is None:
                    rebuilt.hashed.append(record)
        if times:
            unique = np.unique(np.concatenate(times))
            first, last = (_moment(ns, tz) for ns in (unique[0], unique[-1]))
            rebuilt.series.append(SeriesRow(series.symbol, series.exchange, series.interval,
                                            len(unique), first, last, len(series.parts)))
    return rebuilt


def _index_part(root: Path, part: Path, kept: PartRecord | None) -> tuple[PartRecord, object]:
    """The part's record and its times (int64 ns), or a record saying why it is damaged."""
    trusted = kept is not None and kept.sha256 is not None
    try:
        table, record = read_part(root, part, kept if trusted else None,
                                  ["datetime"] if trusted else None)
    except DamagedPartError as exc:
        size = part.stat().st_size if part.exists() else 0
        base = kept or PartRecord(relative(root, part), None, size, None, False, now())
        return replace(base, rows=None, damaged=exc.reason), None
    except StoreError as exc:       # not readable at all (permissions): damaged for the store
        base = kept or PartRecord(relative(root, part), None, 0, None, False, now())
        return replace(base, rows=None, damaged=str(exc)), None
    stamps = table.column("datetime").cast(pa.int64()).to_numpy()
    return replace(record, rows=table.num_rows, damaged=None), stamps


def _moment(ns: int, tz: ZoneInfo) -> datetime:
    return (EPOCH + timedelta(microseconds=int(ns) // 1000)).astimezone(tz)


# ------------------------------------------------------------------ opening, checked
CATALOGUE_COMPANIONS = ("-wal", "-shm")


def open_checked(path: Path, root: Path, tz: ZoneInfo,
                 exchanges: set[str]) -> tuple[Catalogue, str | None]:
    """The catalogue at `path`, checked against the parts under `root` and rebuilt from them
    when anything disagrees; with what the rebuild fixed (None when nothing was wrong). A
    file SQLite finds damaged is moved aside first."""
    existed = path.exists() and path.stat().st_size > 0
    catalogue, aside, kept = None, None, None
    try:
        catalogue = Catalogue(path, exchanges)
        problems = catalogue.problems()
    except CatalogueError as exc:
        problems = [str(exc)]
        if catalogue is not None:
            catalogue.close()
        aside = set_aside(path, CATALOGUE_COMPANIONS)
        kept = kept_parts_of(aside)
        catalogue = Catalogue(path, exchanges)
    folders = series_folders(root, exchanges)
    if not existed:
        problems = [f"{path.name} was missing"] if folders else []
    elif not problems:
        problems = disagreements(catalogue, root, folders)
    if not problems:
        return catalogue, None
    return rebuild_catalogue(catalogue, path, root, tz, exchanges, problems, folders,
                             kept=kept, aside=aside, keep_aside=existed and aside is None)


def rebuild_catalogue(catalogue: Catalogue, path: Path, root: Path, tz: ZoneInfo,
                      exchanges: set[str], problems: list[str],
                      folders: dict[str, SeriesFolder] | None = None,
                      kept: dict[str, PartRecord] | None = None, aside: Path | None = None,
                      keep_aside: bool = True) -> tuple[Catalogue, str]:
    """Rebuild the catalogue from the parts, keeping the hashes still well-formed in it, a
    copy of it kept aside first. Returns the catalogue (a new one when the old could not even
    be copied) and a sentence of what was wrong and what was done."""
    if folders is None:
        folders = series_folders(root, exchanges)
    if kept is None:
        kept = catalogue.kept_parts()
    if keep_aside:
        aside = aside_path(path, CATALOGUE_COMPANIONS)
        try:
            catalogue.keep_aside(aside)
        except CatalogueError as exc:
            problems = [*problems, f"it cannot be copied ({exc})"]
            catalogue.close()
            aside = set_aside(path, CATALOGUE_COMPANIONS)
            catalogue = Catalogue(path, exchanges)
    rebuilt = rebuild(root, folders, kept, tz)
    catalogue.replace(rebuilt.series, rebuilt.parts)
    done = [(f"rebuilt from the parts on disk: {_count(rebuilt.series, 'series')}, "
             f"{_count(rebuilt.parts, 'part')}")]
    if rebuilt.hashed:
        without = sum(not r.checksums for r in rebuilt.hashed)
        done.append(f"the hash of {_count(rebuilt.hashed, 'part')} taken now"
                    + (f" ({without} written without page checksums: guarded by their "
                       "hash from now on)" if without else ""))
    if rebuilt.damaged:
        done.append(f"{_count(rebuilt.damaged, 'damaged part')} that cannot be read: "
                    + "; ".join(str(exc) for exc in rebuilt.damaged[:3])
                    + ("; …" if len(rebuilt.damaged) > 3 else ""))
    text = (f"The market data catalogue {path} was inconsistent (" + "; ".join(problems)
            + "); " + "; ".join(done) + "."
            + (f" The old catalogue is kept as {aside.name}." if aside else ""))
    return catalogue, text


def _count(items, noun: str) -> str:
    plural = noun if noun.endswith("s") or len(items) == 1 else noun + "s"
    return f"{len(items)} {plural}"
