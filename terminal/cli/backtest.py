"""`trading-terminal backtest`: one backtest from the command line.

    backtest STRATEGY SYMBOL.EXCHANGE --start D --end D [--interval 1m] [settings]
             [--param NAME=VALUE ...]

The use case is terminal.services.backtest (the strategy from the plugin catalog, the bars
from the data directory's market store with their warm-up, costs from the contract table,
vn.py's engine here, the run kept in `<data dir>/backtests`); this module reads the
arguments, calls it and prints. A strategy parameter is read by the one parser
(terminal.plugins.parameters): a whole number for an int, a finite number for a float,
true/false, yes/no, on/off or 1/0 for a bool.

Exit codes: 0 done; 1 the backtest failed (the strategy raised); 2 bad input (the message on
stderr names the value); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from terminal.cli import common
from terminal.core.paths import DataPaths


def add_parser(subparsers) -> None:
    backtest = subparsers.add_parser(
        "backtest", help="backtest a strategy on stored bars, print the statistics, save the run",
        description="Backtest a strategy on the market store's bars with vn.py's "
        "BacktestingEngine; prints the statistics and saves the run in <data dir>/backtests.")
    common.add_common(backtest)
    backtest.set_defaults(run=run)


def run(args: argparse.Namespace, paths: DataPaths) -> int:
    return common.guarded(lambda: _backtest(args, paths))


def _backtest(args: argparse.Namespace, paths: DataPaths) -> int:
    from terminal.services import backtest

    request = common.read(args, paths)
    prepared = backtest.prepare(paths, request.entry, request.symbol, request.exchange,
                                request.interval, request.start, request.end, request.costs,
                                request.params)
    try:
        common.describe(prepared)
        outcome = backtest.run_and_keep(prepared, paths)
    finally:
        prepared.close()
    if outcome.failure is not None:
        print(f"backtest failed: {outcome.failure.rstrip()}", file=sys.stderr)
        print(f"run {outcome.run_id} saved as failed in {outcome.runs_root}")
        return common.EXIT_FAILED
    print(outcome.warmup)
    print()
    print(common.statistics_table(outcome.stats))
    print(f"\nrun {outcome.run_id} saved in {outcome.runs_root} (done)")
    return 0
