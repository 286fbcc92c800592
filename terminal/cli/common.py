"""What `backtest` and `optimise` share: their common arguments, reading them into what the
services take (dates, the symbol, the strategy and its typed parameters), the description of
a prepared run and the statistics table they print, and the exit codes.

Nothing of vn.py is imported when the parsers are built (the data directory is not prepared
yet); the services are imported when a command runs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from terminal.core.paths import DataPaths
from terminal.core.symbols import BadSymbol, split_vt_symbol

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


# ---------------------------------------------------------------------- arguments
def add_common(command: argparse.ArgumentParser) -> None:
    command.add_argument("strategy", help="strategy class name, e.g. DoubleMaStrategy")
    command.add_argument("vt_symbol", metavar="SYMBOL.EXCHANGE", help="e.g. rb2401.SHFE")
    command.add_argument("--interval", default="1m",
                         help="bar interval the engine runs on: 1m (default), 5m, 15m, 30m, 1h, "
                         "4h or d (stored, or built from shorter stored bars)")
    command.add_argument("--start", required=True, metavar="DATE",
                         help="first day, YYYY-MM-DD (or YYYY-MM-DD HH:MM)")
    command.add_argument("--end", required=True, metavar="DATE",
                         help="last day, YYYY-MM-DD, included to its end")
    command.add_argument("--capital", type=positive_float,
                         help="starting capital (default 1,000,000)")
    command.add_argument("--rate", type=non_negative_float,
                         help="commission as a fraction of traded value (default: the "
                         "contract table)")
    command.add_argument("--slippage", type=non_negative_float,
                         help="price units lost per fill (default 0)")
    command.add_argument("--size", type=positive_float,
                         help="contract multiplier (default: the contract table)")
    command.add_argument("--pricetick", type=positive_float,
                         help="price tick (default: the contract table)")
    command.add_argument("--param", dest="params", action="append", default=[],
                         metavar="NAME=VALUE", help="a strategy parameter (repeat as needed)")


def _number(text: str, kind: type, test, meaning: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {meaning}") from None
    if not test(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not {meaning}")
    return value


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v > 0, "a whole number above 0")


def count(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "a whole number, 0 or more")


def positive_float(text: str) -> float:
    return _number(text, float, lambda v: math.isfinite(v) and v > 0, "a number above 0")


def non_negative_float(text: str) -> float:
    return _number(text, float, lambda v: math.isfinite(v) and v >= 0, "a number, 0 or more")


# ---------------------------------------------------------------------- reading them
@dataclass
class Request:
    """The common arguments read and checked: what the services take."""

    entry: Any                      # the catalog's StrategyEntry, its class imported
    symbol: str
    exchange: Any
    interval: str
    start: datetime
    end: datetime
    params: dict                    # --param, typed
    ranges: dict                    # --range (optimise), typed
    costs: Any                      # services.backtest.Costs


def read(args: argparse.Namespace, paths: DataPaths) -> Request:
    """The arguments checked in order (dates, symbol, interval, strategy, parameters);
    BadInput names the first that is wrong."""
    from terminal.plugins.parameters import ParameterValueError
    from terminal.services import backtest, strategies
    from terminal.services.errors import BadInput

    start = date_option(args.start, "--start")
    end = date_option(args.end, "--end")
    if start > end.replace(hour=23, minute=59, second=59):
        raise BadInput(f"--start {args.start} is after --end {args.end}")
    try:
        symbol, exchange = split_vt_symbol(args.vt_symbol)
    except BadSymbol as exc:
        raise BadInput(str(exc)) from None
    interval = backtest.check_interval(args.interval)
    entry = strategies.load_entry(args.strategy, paths)
    params, ranges = {}, {}
    for text in args.params:
        name, value = _pair(text, "--param")
        try:
            params.update(strategies.typed_params(entry, {name: value}))
        except ParameterValueError as exc:
            raise BadInput(f"--param {exc}") from None
    for text in getattr(args, "ranges", None) or []:
        name, value = _pair(text, "--range")
        if name in ranges:
            raise BadInput(f"--range {name}: given twice")
        if name in params:
            raise BadInput(f"{name}: given both as --param and as --range")
        try:
            ranges[name] = strategies.typed_range(entry, name, value)
        except ParameterValueError as exc:
            raise BadInput(f"--range {exc}") from None
    costs = backtest.Costs(**{name: getattr(args, name) for name in backtest.COST_NAMES})
    return Request(entry, symbol, exchange, interval, start, end, params, ranges, costs)


def date_option(text: str, option: str) -> datetime:
    """A date or date and time given as `option`, China local (no zone)."""
    from terminal.services.errors import BadInput

    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None
    if value.tzinfo is not None:
        raise BadInput(f"{option}: {text!r}: give China local time without a zone")
    return value


def _pair(text: str, option: str) -> tuple[str, str]:
    from terminal.services.errors import BadInput

    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise BadInput(f"{option} {text!r}: expected NAME=VALUE")
    return name.strip(), value.strip()


# ---------------------------------------------------------------------- running and printing
def guarded(command: Callable[[], int]) -> int:
    """Run a command: bad input on stderr with exit 2, an interrupt with 130, and output to a
    pager or `head` that stopped reading ends quietly."""
    from terminal.services.errors import BadInput

    try:
        return command()
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def describe(prepared) -> None:
    """What runs: the strategy, the bars and their warm-up, the parameters, the settings and
    where each came from."""
    from terminal.services.backtest import day, plain

    s, bars = prepared.settings, prepared.bars
    print(f"{prepared.entry.name} on {s.vt_symbol} {plain(s.interval)}, {day(s.start)} to "
          f"{day(s.end)}: {len(bars.history):,} bars ({bars.bars_from}); {bars.warmup}")
    fixed = [f"{k}={v!r}" + ("" if k in prepared.params else " (default)")
             for k, v in prepared.all_params.items() if k not in prepared.ranges]
    print(f"{'other parameters' if prepared.ranges else 'parameters'}: "
          f"{', '.join(fixed) or 'none'}")
    rows = [("capital", f"{s.capital:,.2f}"), ("rate", f"{s.rate:.6g}"),
            ("slippage", f"{s.slippage:g}"), ("size", f"{s.size:g}"),
            ("pricetick", f"{s.pricetick:g}")]
    width = max(len(value) for _, value in rows)
    print("settings:")
    for name, value in rows:
        print(f"  {name:<10}{value:>{width}}  {prepared.sources[name]}")


def statistics_table(stats: dict) -> str:
    """The statistics as aligned lines: the label (stats.LABELS), then the value, right-aligned;
    statistics without a label follow under their keys."""
    from terminal.backtest.stats import LABELS, format_value

    keys = [key for key in LABELS if key in stats] + [key for key in stats if key not in LABELS]
    labels = [LABELS[key][0] if key in LABELS else key for key in keys]
    values = [format_value(key, stats[key]) for key in keys]
    left = max(map(len, labels), default=0)
    right = max(map(len, values), default=0)
    return "\n".join(f"{label:<{left}}  {value:>{right}}"
                     for label, value in zip(labels, values, strict=True))


DEFAULT_WARMUP_DAYS = 30


def add_search_options(parser: argparse.ArgumentParser, each: str = "") -> None:
    """The search's options, as `optimise` and `walkforward` both take them: the ranges, the
    target and its direction, grid or genetic, the warm-up read once, and where (local
    processes or a Dask scheduler). `each` says where the search runs (" in each window")."""
    parser.add_argument(
        "--range", dest="ranges", action="append", default=[], metavar="NAME=START:STOP:STEP",
        help="a parameter to optimise: START:STOP:STEP (STOP included) or a list V1,V2,... "
        "(repeat for each parameter)")
    parser.add_argument("--target", default="sharpe_ratio", metavar="STAT",
                        help=f"the statistic of vn.py's the search{each} optimises: "
                        "sharpe_ratio (default), ewm_sharpe, return_drawdown_ratio, rgr_ratio, "
                        "total_return, annual_return, total_net_pnl, daily_net_pnl, "
                        "end_balance, max_drawdown, max_ddpercent, daily_return, "
                        "total_trade_count")
    parser.add_argument("--minimise", action="store_true",
                        help="lowest target is best (default: highest)")
    parser.add_argument("--genetic", action="store_true",
                        help=f"genetic search{each} instead of trying every combination")
    parser.add_argument("--population", type=positive_int, default=20, metavar="N",
                        help="genetic: settings per generation (default 20)")
    parser.add_argument("--generations", type=count, default=10, metavar="N",
                        help="genetic: generations after the first (default 10)")
    parser.add_argument("--seed", type=int, metavar="N",
                        help="genetic: random seed (default: a new one, printed)")
    parser.add_argument("--warmup-days", type=count, default=DEFAULT_WARMUP_DAYS,
                        metavar="DAYS", help="calendar days of bars before the start read "
                        "once for the strategy's load_bar warm-up (default 30)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, metavar="N",
                       help=f"local worker processes (default: the CPUs, {os.cpu_count()})")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="a Dask scheduler to run on instead, e.g. tcp://host:8786")

