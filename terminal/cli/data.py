"""`trading-terminal data ...`: the market data store from the command line.

    data list                                   what the store holds
    data import FILE [FILE ...] [options]       check and add CSV files (all or nothing each)
    data export SYMBOL.EXCHANGE INTERVAL OUT    write a series to OUT.csv or OUT.parquet
    data delete SYMBOL.EXCHANGE INTERVAL        remove a series
    data resample SYMBOL.EXCHANGE TARGET [--from 1m]   store longer bars built on sessions
    data verify [SYMBOL.EXCHANGE [INTERVAL]]    check every part's hash and page checksums
    data download SYMBOL.EXCHANGE INTERVAL [--start D] [--end D] [--source sim|datafeed]
                                                history bars into the store

INTERVAL is a bar interval as stored ("1m", "5m", "1h", "d") or "tick".

Exit codes: 0 done; 1 `verify` found damaged parts (each named); 2 bad input, or a series
that cannot be read (a damaged part is named); 130 a download interrupted (Ctrl-C: the whole
requests already stored are kept, and said).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from terminal.core.paths import DataPaths
from terminal.core.symbols import split_vt_symbol

EXIT_DAMAGED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def add_parser(subparsers) -> None:
    data = subparsers.add_parser(
        "data", help="import, list, export, delete, resample, verify or download market data")
    commands = data.add_subparsers(dest="data_command", required=True)
    commands.add_parser("list", help="list the series in the store")
    imp = commands.add_parser("import", help="import CSV files of bars or ticks")
    imp.add_argument("files", nargs="+", type=Path)
    imp.add_argument("--symbol", help="symbol, when the file does not say (e.g. rb2401)")
    imp.add_argument("--exchange", help="exchange, when the file does not say (e.g. SHFE)")
    imp.add_argument("--interval", help="bar interval, when detection is wrong (1m, 5m, d)")
    imp.add_argument("--format", dest="datetime_format",
                     help="strptime format of the date and time, e.g. '%%Y%%m%%d %%H:%%M:%%S'")
    label = imp.add_mutually_exclusive_group()
    label.add_argument("--end-labelled", dest="end_labelled", action="store_true", default=None,
                       help="bars are stamped with their end time")
    label.add_argument("--start-labelled", dest="end_labelled", action="store_false",
                       help="bars are stamped with their start time")
    imp.add_argument("--timezone", help="time zone of the file's times (default Asia/Shanghai)")
    imp.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    for name, text in (("export", "write a series to a .csv or .parquet file"),
                       ("delete", "remove a series")):
        command = commands.add_parser(name, help=text)
        command.add_argument("vt_symbol", help="e.g. rb2401.SHFE")
        command.add_argument("interval", help="1m, 5m, 1h, d ... or tick")
        if name == "export":
            command.add_argument("output", type=Path)
    resample = commands.add_parser(
        "resample", help="build 5m, 15m, 30m, 1h, 4h or d bars from stored shorter bars")
    resample.add_argument("vt_symbol", help="e.g. rb2401.SHFE")
    resample.add_argument("target", help="5m, 15m, 30m, 1h, 4h, d ...")
    resample.add_argument("--from", dest="source", default="1m",
                          help="the stored bars to build from (default 1m)")
    verify = commands.add_parser(
        "verify", help="check every stored part against its hash and page checksums")
    verify.add_argument("vt_symbol", nargs="?", help="only this symbol, e.g. rb2401.SHFE")
    verify.add_argument("interval", nargs="?", help="only this interval: 1m, 5m, d ... or tick")
    download = commands.add_parser(
        "download", help="download history bars into the store: the simulated exchange's "
        "(marked simulated) or a vn.py datafeed's")
    download.add_argument("vt_symbol", help="e.g. rb2701.SHFE")
    download.add_argument("interval", help="1m, 1h or d")
    download.add_argument("--start", metavar="DATE",
                          help="first day, YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (default: 30 days "
                          "before the end)")
    download.add_argument("--end", metavar="DATE",
                          help="last day, YYYY-MM-DD (included to its end) or 'YYYY-MM-DD "
                          "HH:MM' (default: now)")
    download.add_argument("--source", choices=("sim", "datafeed"),
                          help="sim: the simulated exchange's history for the settings' seed; "
                          "datafeed: the vn.py datafeed set in the settings (default: the "
                          "datafeed when one is set, else sim)")
    data.set_defaults(run=run)


def run(args: argparse.Namespace, paths: DataPaths) -> int:
    from terminal.storage.market_store import MarketStore, StoreError

    store = MarketStore(paths.market_dir)
    try:
        if args.data_command == "download":
            return _download(args, store, paths)
        return {"list": _list, "import": _import, "export": _export, "delete": _delete,
                "resample": _resample, "verify": _verify}[
            args.data_command](args, store)
    except (StoreError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        store.close()


def _list(args, store) -> int:
    series = store.series()
    if not series:
        print("the store is empty")
        return 0
    print(f"{'symbol':<12}{'exchange':<9}{'interval':<9}{'count':>10}  first{' ' * 21}last")
    for s in series:
        print(f"{s.symbol:<12}{s.exchange.value:<9}{s.interval:<9}{s.count:>10,}  "
              f"{s.first:%Y-%m-%d %H:%M:%S}  {s.last:%Y-%m-%d %H:%M:%S}"
              + ("  simulated" if s.simulated else ""))
    return 0


def _import(args, store) -> int:
    from terminal.services.imports import REJECTIONS, SeriesUnnamed, detected_spec, import_csv

    failed = 0
    for path in args.files:
        try:
            spec = detected_spec(path, args.symbol, args.exchange, args.interval,
                                 args.datetime_format, args.end_labelled, args.timezone)
            done = import_csv(store, path, spec, check_only=args.dry_run)
        except REJECTIONS as exc:
            failed += 1
            detail = str(exc).removeprefix(f"{path.name}: ")  # the file is named once
            if isinstance(exc, SeriesUnnamed):
                detail += "; give --symbol and --exchange"
            print(f"{path.name}: rejected, nothing written: {detail}", file=sys.stderr)
            continue
        if done.stored:
            print(f"{path.name}: imported {done.rows:,} rows of {done.series}")
        else:
            print(f"{path.name}: {done.rows:,} rows of {done.series} would be imported")
    return EXIT_BAD_INPUT if failed else 0


def _export(args, store) -> int:
    from terminal.services.exports import export_series

    symbol, exchange = split_vt_symbol(args.vt_symbol)
    rows = export_series(store, symbol, exchange, args.interval, args.output)
    print(f"wrote {rows:,} rows to {args.output}")
    return 0


def _resample(args, store) -> int:
    from terminal.services.resample import resample_stored

    symbol, exchange = split_vt_symbol(args.vt_symbol)
    written = resample_stored(store, symbol, exchange, args.source, args.target)
    print(f"wrote {written:,} {args.target} bars of {args.vt_symbol} built from {args.source}")
    return 0


def _delete(args, store) -> int:
    symbol, exchange = split_vt_symbol(args.vt_symbol)
    removed = store.delete(symbol, exchange, args.interval)
    print(f"deleted {removed:,} rows of {args.vt_symbol} {args.interval}")
    return 0


def _verify(args, store) -> int:
    """One line per series, each damaged part named with what failed; exit 1 if any is."""
    from terminal.services.verify import verify_store

    symbol = exchange = None
    if args.vt_symbol:
        symbol, exchange = split_vt_symbol(args.vt_symbol)
    shown = sys.stderr.isatty()

    def progress(percent: int, series: str) -> None:
        print(f"\rverifying {percent:3d}% {series}"[:79].ljust(79), end="", file=sys.stderr,
              flush=True)

    report = verify_store(store, symbol, exchange, args.interval, progress if shown else None)
    if shown:
        print("\r" + " " * 79 + "\r", end="", file=sys.stderr, flush=True)
    by_series: dict[str, list] = {}
    for check in report.parts:
        by_series.setdefault(check.series, []).append(check)
    for series, checks in sorted(by_series.items()):
        damaged = [c for c in checks if c.problem]
        if not damaged:
            print(f"ok       {series} ({len(checks)} part{'s' * (len(checks) != 1)})")
        for check in damaged:
            print(f"DAMAGED  {series}: {check.path}: {check.problem}")
    hash_only = report.hash_only
    if hash_only:
        since = min(c.recorded for c in hash_only if c.recorded)
        print(f"{len(hash_only)} part(s) were written before page checksums existed: their "
              f"hash, recorded since {since[:10]}, is what guards them")
    damaged = report.damaged
    size = f"{report.bytes / 1e6:,.1f} MB" if report.bytes >= 100_000 else \
        f"{report.bytes / 1e3:,.1f} kB"
    if damaged:
        print(f"{len(damaged)} of {len(report.parts)} parts damaged ({size}, {report.series} "
              "series): a series with a damaged part cannot be read until the part is "
              "restored from a backup, or the series deleted and imported again",
              file=sys.stderr)
        return EXIT_DAMAGED
    parts = len(report.parts)
    print(f"verified {parts} part{'s' * (parts != 1)} of {report.series} series ({size}): "
          "all intact")
    return 0


def _download(args, store, paths: DataPaths) -> int:
    """Asked on a worker thread, so that Ctrl-C cancels between two requests and the whole
    ones already stored are kept (and said)."""
    import threading

    from terminal.core import settings as settings_file
    from terminal.services import history_download as downloads

    settings, _ = settings_file.load(paths.settings_file)
    request = downloads.check_download(args.vt_symbol, args.interval,
                                       _moment(args.start, "--start"),
                                       _moment(args.end, "--end", end_of_day=True))
    source_name = args.source or ("datafeed" if settings.datafeed_name else "sim")
    if source_name == "sim":
        source = downloads.sim_source(settings.sim_seed)
    else:
        source = _datafeed_source(settings)
    shown = sys.stderr.isatty()

    def progress(percent: int, text: str) -> None:
        if shown:
            print(f"\r{percent:3d}% {text}"[:79].ljust(79), end="", file=sys.stderr, flush=True)

    cancel = threading.Event()
    outcome: list = []

    def work() -> None:
        try:
            outcome.append(downloads.download_history(store, request, source, progress, cancel))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome.append(exc)

    worker = threading.Thread(target=work, name="data download")
    worker.start()
    interrupted = False
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            interrupted = True
            cancel.set()
    if shown:
        print("\r" + " " * 79 + "\r", end="", file=sys.stderr, flush=True)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    print(outcome[0].summary())
    return EXIT_INTERRUPTED if interrupted else 0


def _datafeed_source(settings):
    import getpass

    from terminal.services import datafeed, history_download

    name = datafeed.check_name(settings.datafeed_name)
    password = datafeed.stored_password(name) if datafeed.installed(name) else ""
    if password is None:
        password = getpass.getpass(f"password or token of datafeed {name} (not kept): ") \
            if sys.stdin.isatty() else ""
    feed = datafeed.open_datafeed(name, settings.datafeed_username, password)
    return history_download.datafeed_source(feed, name)


def _moment(text: str | None, option: str, end_of_day: bool = False):
    """A date or date and time (China local); a bare end date means the end of that day."""
    from datetime import timedelta

    from terminal.cli.common import date_option

    if text is None:
        return None
    value = date_option(text, option)
    if end_of_day and len(text.strip()) == 10:
        value += timedelta(days=1) - timedelta(seconds=1)
    return value
