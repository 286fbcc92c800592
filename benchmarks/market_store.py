"""Market store benchmark: this terminal's store against vnpy_sqlite, stock vn.py's database.

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/market_store.py                 # 1,000,000 bars, both stores
    .venv/bin/python benchmarks/market_store.py --bars 200000 --only ours
    .venv/bin/python benchmarks/market_store.py --verification  # this store against itself
                                                                # before page checksums (~4 min)

The bars are synthetic and the same on every run: a seeded random walk of rb2701.SHFE 1-minute
bars on rb's real trading sessions (21:00-23:00, 09:00-10:15, 10:30-11:30, 13:30-15:00 on
weekdays; holidays ignored), stamped by their start in Asia/Shanghai time. Each store runs in
its own subprocess and temporary data directory (vnpy_sqlite's database.db included) and
reports JSON to this process.

save: one call saving every bar into an empty store; load: one call returning BarData objects;
medians over --repeat runs (--vnpy-repeat for vnpy_sqlite, 1 by default: it needs about a minute
to save 1,000,000 bars). vnpy_sqlite changes the bars it saves, so it gets its own copies. For
this store, also the time to load the series as numpy columns for a chart (MarketStore.load_table,
datetime as int64 ns and every price and volume column as float64).
Identity: every loaded bar is compared with the generated ones, field by field (the datetime as
an instant); each child also returns a digest of the bars it loaded, so the two stores are
checked against each other.

--verification: what reading with verification costs (page checksums verified and the part's
SHA-256 checked against the catalogue on every read). This store's code runs beside the same
store at --baseline (default: the commit before verification came in, taken out of git into
a temporary folder), each saving and loading the same bars in its own process; the two
alternate for --rounds rounds and the medians of all their runs are compared. The host's
steal (CPU time the hypervisor gave to other guests) during each child's loads is printed
beside the figures: on a shared VM it, not the code, can decide a few percent.
"""

from __future__ import annotations

import argparse
import copy
import gc
import hashlib
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from harness import (EXCHANGE, PRICE_FIELDS, ROOT, SYMBOL, child_command, child_main,
                     export_tree, met, run_child, scratch, steal_share, synthetic_bars)

TARGETS = ("ours", "vnpy")
NAMES = {"ours": "ours", "vnpy": "vnpy_sqlite"}
BASELINE = "b7c85bd"          # the store before page checksums and content hashes


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of this store (median)")
    parser.add_argument("--vnpy-repeat", type=int, default=1, help="runs of vnpy_sqlite")
    parser.add_argument("--only", choices=TARGETS, help="run one store only")
    parser.add_argument("--verification", action="store_true",
                        help="this store against itself at --baseline, without verification")
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the store "
                        f"without verification (default {BASELINE})")
    parser.add_argument("--rounds", type=int, default=3,
                        help="--verification: rounds, each running both versions")
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--code", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------- child side
def canonical(bars: list) -> list[tuple]:
    """What must survive a round trip: the instant (µs since the epoch; None when naive),
    names, numbers."""
    epoch = datetime(1970, 1, 1).astimezone()  # any aware time: only differences are taken
    return [
        (b.datetime.tzinfo and (b.datetime - epoch) // timedelta(microseconds=1),
         b.symbol, b.exchange.value, b.interval.value, b.vt_symbol,
         *(getattr(b, name) for name in PRICE_FIELDS))
        for b in bars
    ]


def check(loaded: list, expected: list[tuple]) -> dict:
    got = canonical(loaded)
    digest = hashlib.sha256()
    for start in range(0, len(got), 10_000):
        digest.update(repr(got[start:start + 10_000]).encode())
    mismatches = sum(a != b for a, b in zip(got, expected, strict=False)) + abs(
        len(got) - len(expected))  # a length that differs is counted, not raised
    return {"count": len(got), "mismatches": mismatches, "digest": digest.hexdigest()}


def timed(function, *args, cpu: list | None = None):
    """Wall seconds of the call, and its result; the process's CPU seconds (every thread's)
    appended to `cpu` when given: on a machine shared with other busy processes the wall
    time swings with their load, the CPU time far less."""
    gc.collect()
    start, start_cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    if cpu is not None:
        cpu.append(time.process_time() - start_cpu)
    return time.perf_counter() - start, result


def run_ours(paths, bars: list, args) -> dict:
    from vnpy.trader.constant import Exchange, Interval

    from terminal.core.health import host_steal_seconds
    from terminal.storage.market_store import BAR_FIELDS, MarketStore

    exchange, before = Exchange(EXCHANGE), canonical(bars)
    store = MarketStore(paths.market_dir)
    saves, loads, columns, load_cpu, columns_cpu = [], [], [], [], []
    for _ in range(args.repeat):
        store.delete(SYMBOL, exchange, Interval.MINUTE.value)
        saves.append(timed(store.save_bars, bars)[0])
    loaded = None
    stolen, began = host_steal_seconds(), time.perf_counter()
    for _ in range(args.repeat):
        loaded = None
        seconds, loaded = timed(store.load_bars, SYMBOL, exchange, Interval.MINUTE,
                                cpu=load_cpu)
        loads.append(seconds)

    def as_columns() -> dict:
        table = store.load_table(SYMBOL, exchange, Interval.MINUTE.value)
        return {name: table.column(name).to_numpy() for name in ("datetime", *BAR_FIELDS)}

    for _ in range(args.repeat):
        seconds, arrays = timed(as_columns, cpu=columns_cpu)
        columns.append(seconds)
    steal_pct = steal_share(stolen, time.perf_counter() - began)
    files = list(store.folder(SYMBOL, exchange, "1m").glob("part-*.parquet"))
    size = sum(f.stat().st_size for f in files)
    hashing = [timed(lambda: [hashlib.sha256(f.read_bytes()).digest() for f in files])[0]
               for _ in range(args.repeat)]
    reads = part_reads(store, files) if args.verification and not args.code else {}
    store.close()
    dtypes = sorted({str(a.dtype) for a in arrays.values()})
    return {"save": saves, "load": loads, "columns": columns, "dtypes": dtypes, "bytes": size,
            "hash": hashing, "reads": reads, "steal_pct": steal_pct, "load_cpu": load_cpu,
            "columns_cpu": columns_cpu,
            "mutated": canonical(bars) != before, **check(loaded, before)}


def part_reads(store, files: list, rounds: int = 15) -> dict[str, list[float]]:
    """The one step verification changes, alone and in turns in one process (so the load of
    other processes falls on both alike): reading the part as the store did before
    (`pq.read_table` of the file, nothing checked) and as it does now (bytes read and hashed
    against the catalogue, parsed with the page checksums verified, columns checked)."""
    import pyarrow.parquet as pq

    from terminal.storage.parts import read_part

    records = store.catalogue.parts_in(files[0].parent.relative_to(store.root).as_posix())
    ways = {"unchecked": lambda part: pq.read_table(part),
            "verified": lambda part: read_part(store.root, part,
                                               records[part.relative_to(store.root)
                                                       .as_posix()])}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, read in ways.items():
            times[name].append(timed(lambda reader: [reader(part) for part in files], read)[0])
    return times


def run_vnpy(paths, bars: list, args) -> dict:
    from vnpy.trader.constant import Exchange, Interval
    from vnpy_sqlite.sqlite_database import SqliteDatabase

    exchange, expected = Exchange(EXCHANGE), canonical(bars)
    database = SqliteDatabase()
    saves, loads = [], []
    for _ in range(args.vnpy_repeat):
        database.delete_bar_data(SYMBOL, exchange, Interval.MINUTE)
        copies = [copy.copy(bar) for bar in bars]  # it rewrites the bars it saves
        saves.append(timed(database.save_bar_data, copies)[0])
        del copies
    loaded = None
    for _ in range(args.vnpy_repeat):
        loaded = None
        seconds, loaded = timed(database.load_bar_data, SYMBOL, exchange, Interval.MINUTE,
                                datetime(1900, 1, 1), datetime(2200, 1, 1))
        loads.append(seconds)
    database.db.close()
    size = (paths.vnpy_dir / "database.db").stat().st_size
    return {"save": saves, "load": loads, "bytes": size, **check(loaded, expected)}


def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, args.code or str(ROOT))   # --code: the store of another revision
    from terminal.core import paths

    data_paths = paths.prepare(Path(args.home))  # before vn.py is imported
    bars = synthetic_bars(args.bars)
    return (run_ours if args.child == "ours" else run_vnpy)(data_paths, bars, args)


# ---------------------------------------------------------------------------------- parent side
def run_case(target: str, args: argparse.Namespace, code: str | None = None,
             label: str | None = None) -> dict:
    print(f"running {label or NAMES[target]} with {args.bars:,} bars ...", file=sys.stderr,
          flush=True)
    with scratch(f"bench-store-{target}-") as (home, env):
        return run_child(child_command(
            __file__, "--child", target, ("--bars", args.bars), ("--repeat", args.repeat),
            ("--vnpy-repeat", args.vnpy_repeat), ("--home", home), ("--code", code),
            ("--verification", args.verification)), timeout=3600, env=env)


def show(results: dict[str, dict], args: argparse.Namespace) -> None:
    n, median = args.bars, statistics.median
    ok = {t: r for t, r in results.items() if not r.get("error")}
    both = len(ok) == 2
    runs = {"ours": args.repeat, "vnpy": args.vnpy_repeat}
    print(f"\n{n:,} synthetic 1-minute bars of {SYMBOL}.{EXCHANGE}, {os.cpu_count()} CPUs; "
          "medians of " + ", ".join(f"{runs[t]} run(s) of {NAMES[t]}" for t in ok))
    print(f"  {'':28}" + "".join(f"{NAMES[t]:>14}" for t in ok) + ("   ratio" if both else ""))
    rows = [("save (bars/s)", lambda r: n / median(r["save"]), True),
            ("load as BarData (bars/s)", lambda r: n / median(r["load"]), True),
            ("save time (s)", lambda r: median(r["save"]), False),
            ("load time (s)", lambda r: median(r["load"]), False),
            ("size on disk (MB)", lambda r: r["bytes"] / 1e6, False)]
    for label, value, higher_is_better in rows:
        values = {t: value(r) for t, r in ok.items()}
        cells = "".join(f"{v:>14,.0f}" if v >= 1000 else f"{v:>14,.2f}" for v in values.values())
        if both:
            ratio = values["ours"] / values["vnpy"]
            cells += f"{ratio if higher_is_better else 1 / ratio:>8,.1f}x"
        print(f"  {label:28}{cells}")
    if both:
        print("  (ratio: how many times better ours is)")
    if "ours" in ok:
        ours = ok["ours"]
        print(f"  load as numpy columns (ms) {median(ours['columns']) * 1000:>15,.1f}"
              f"   (ours; {', '.join(ours['dtypes'])} arrays)")
        for key in ("save", "load", "columns"):
            print(f"  ours {key} runs (s): " + ", ".join(f"{s:.3f}" for s in ours[key]))
        print(f"  bars handed to ours' save_bars changed: {'YES' if ours['mutated'] else 'no'}")
    if "vnpy" in ok:
        vnpy = ok["vnpy"]
        print("  vnpy_sqlite runs (s): save " + ", ".join(f"{s:.1f}" for s in vnpy["save"])
              + "; load " + ", ".join(f"{s:.1f}" for s in vnpy["load"]))
    print("identity (every field; datetime as an instant and tz-aware):")
    for target, result in ok.items():
        print(f"  {NAMES[target]}: {result['count']:,} bars loaded, "
              f"{result['mismatches']:,} differ from the bars saved")
    if both:
        digests = {ok[t]["digest"][:16] for t in ok}
        print(f"  ours and vnpy_sqlite loaded {'identical' if len(digests) == 1 else 'DIFFERENT'}"
              f" bars (sha256 {' / '.join(sorted(digests))})")
        save_x = median(ok["vnpy"]["save"]) / median(ok["ours"]["save"])
        load_x = median(ok["vnpy"]["load"]) / median(ok["ours"]["load"])
        print(f"target, 20 times vnpy_sqlite both ways: {met(min(save_x, load_x) >= 20)} "
              f"(save {save_x:.1f}x, load {load_x:.1f}x)")
    for target, result in results.items():
        if result.get("error"):
            print(f"  {NAMES[target]}: {result['error']}")


def run_verification(args: argparse.Namespace) -> dict[str, list[dict]]:
    """Both versions of the store, alternating, `args.rounds` times each."""
    with tempfile.TemporaryDirectory(prefix="bench-store-baseline-") as baseline:
        export_tree(args.baseline, Path(baseline), "terminal")
        runs: dict[str, list[dict]] = {"before": [], "now": []}
        for round_ in range(args.rounds):
            order = ("before", "now") if round_ % 2 == 0 else ("now", "before")
            for version in order:
                code = baseline if version == "before" else None
                label = f"ours at {args.baseline}" if code else "ours with verification"
                runs[version].append(run_case("ours", args, code, label))
        return runs


def show_verification(runs: dict[str, list[dict]], args: argparse.Namespace) -> None:
    failed = [r["error"] for version in runs.values() for r in version if r.get("error")]
    if failed:
        print("\n".join(failed))
        return
    median = statistics.median

    def pooled(version: str, key: str) -> list[float]:
        return [s for r in runs[version] for s in r[key]]

    print(f"\n{args.bars:,} synthetic 1-minute bars of {SYMBOL}.{EXCHANGE}, {os.cpu_count()} "
          f"CPUs; medians of {args.rounds} x {args.repeat} runs of each version, alternating")
    print(f"  {'':30}{'before':>12}{'verified':>12}{'ratio':>9}")
    for label, key in (("load as BarData (s)", "load"), ("  its CPU time (s)", "load_cpu"),
                       ("load as numpy columns (s)", "columns"),
                       ("  its CPU time (s)", "columns_cpu"), ("save (s)", "save")):
        before, now = median(pooled("before", key)), median(pooled("now", key))
        print(f"  {label:30}{before:>12.3f}{now:>12.3f}{now / before:>8.3f}x")
    size = {v: runs[v][0]["bytes"] / 1e6 for v in runs}
    print(f"  {'size on disk (MB)':30}{size['before']:>12.2f}{size['now']:>12.2f}"
          f"{size['now'] / size['before']:>8.3f}x")
    print(f"  SHA-256 of the part alone: {median(pooled('now', 'hash')) * 1000:.1f} ms")
    unchecked, verified = (median([s for r in runs["now"] for s in r["reads"][way]])
                           for way in ("unchecked", "verified"))
    rounds = sum(len(r["reads"]["verified"]) for r in runs["now"])
    print(f"  reading the part alone, in turns in one process ({rounds} times each): unchecked "
          f"{unchecked * 1000:.1f} ms, verified {verified * 1000:.1f} ms: verification adds "
          f"{(verified - unchecked) * 1000:+.1f} ms, "
          f"{(verified - unchecked) / median(pooled('before', 'load')) * 100:+.1f}% of a load "
          "as BarData")
    for version, version_runs in runs.items():
        print(f"  {version:7} load runs (s): "
              + ", ".join(f"{s:.3f}" for s in pooled(version, "load"))
              + "; CPU: " + ", ".join(f"{s:.3f}" for s in pooled(version, "load_cpu")))
        steals = [r["steal_pct"] for r in version_runs]
        if None not in steals:
            print(f"  {version:7} host steal during the loads, per round: "
                  + ", ".join(f"{s:.1f}%" for s in steals))
    cost = median(pooled("now", "load")) / median(pooled("before", "load")) - 1
    cpu = median(pooled("now", "load_cpu")) / median(pooled("before", "load_cpu")) - 1
    added = (verified - unchecked) / median(pooled("before", "load"))
    print(f"target, a verified load of {args.bars:,} bars at most 15% slower: "
          f"{met(added <= 0.15)} (the read in turns {added * 100:+.1f}%; "
          f"medians of the whole loads, one process each: wall {cost * 100:+.1f}%, "
          f"CPU {cpu * 100:+.1f}%)")
    identical = {r["digest"] for version in runs.values() for r in version}
    mismatches = sum(r["mismatches"] for version in runs.values() for r in version)
    print(f"identity: {'the same bars from both' if len(identical) == 1 else 'DIFFERENT bars'}, "
          f"{mismatches} bars differing from those saved")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
    if args.verification:
        show_verification(run_verification(args), args)
        return
    targets = [args.only] if args.only else list(TARGETS)
    show({t: run_case(t, args) for t in targets}, args)


if __name__ == "__main__":
    main()
