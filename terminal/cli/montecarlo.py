"""`trading-terminal montecarlo`: Monte Carlo on a stored run.

    montecarlo RUN_ID [--method trades|daily] [--replace] [--simulations 1000] [--seed 7]
               [--loss AMOUNT] [--report out.html]

The use case is terminal.services.montecarlo (the run from `<data dir>/backtests`); this
module reads the arguments, calls it and prints the percentiles table and the chance of
losing the amount (10% of the run's capital when --loss is not given). With --report, the
run's HTML report with this Monte Carlo in it is written too (terminal.services.reports).

Exit codes: 0 done; 2 bad input (the message on stderr names the value: an unknown run, too
few round trips or days); 130 interrupted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from terminal.cli import common
from terminal.core.paths import DataPaths

# the service's names (terminal.services.montecarlo), written here so that building the
# parser imports nothing of the backtest (a test checks they agree)
METHODS = ("trades", "daily")
DEFAULT_SIMULATIONS = 1000


def add_parser(subparsers) -> None:
    command = subparsers.add_parser(
        "montecarlo", help="Monte Carlo on a stored backtest run: drawdown, end balance and "
        "the chance of a loss, by percentile",
        description="Re-deal a stored run's round trips in other orders (--method trades) or "
        "bootstrap its daily returns (--method daily), N simulations from one seed; prints "
        "the 5th/50th/95th percentiles of the maximum drawdown, end balance and longest "
        "drawdown, and the chance of losing --loss.")
    add_arguments(command)
    command.add_argument("--report", metavar="FILE",
                         help="also write the run's HTML report with this Monte Carlo")
    command.set_defaults(run=run)


def add_arguments(command: argparse.ArgumentParser, method_default: str | None = "trades",
                  method_option: str = "--method") -> None:
    """The run id and the Monte Carlo's settings (also `report --monte-carlo`)."""
    command.add_argument("run_id", metavar="RUN_ID", help="a stored run (see the workbench's "
                         "History, or the id `backtest` printed)")
    command.add_argument(method_option, dest="method", choices=METHODS, default=method_default,
                         help="trades: the round trips in a new order (default); daily: the "
                         "daily returns drawn with replacement")
    command.add_argument("--replace", action="store_true",
                         help="trades drawn with replacement (a bootstrap): the end balance "
                         "varies too")
    command.add_argument("--simulations", type=common.positive_int,
                         default=DEFAULT_SIMULATIONS,
                         help=f"how many (default {DEFAULT_SIMULATIONS})")
    command.add_argument("--seed", type=common.count, default=7,
                         help="the random seed: the same seed gives the same simulations "
                         "(default 7)")
    command.add_argument("--loss", type=common.positive_float, metavar="AMOUNT",
                         help="the loss whose chance is told, in money (default: 10%% of "
                         "the run's capital)")


def run(args: argparse.Namespace, paths: DataPaths) -> int:
    return common.guarded(lambda: _montecarlo(args, paths))


def simulate(args: argparse.Namespace, runs):
    """The Monte Carlo the arguments ask for, and the loss asked about."""
    from terminal.services import montecarlo

    simulated = montecarlo.simulate_stored(runs, args.run_id, args.method, args.simulations,
                                           args.seed, args.replace)
    loss = args.loss if args.loss is not None else montecarlo.default_loss(simulated.record)
    return simulated, loss


def print_monte_carlo(simulated, loss: float) -> None:
    from terminal.services.montecarlo import loss_words, percentile_rows

    record = simulated.record
    print(f"{record.strategy} on {record.vt_symbol} {record.interval}, run {record.run_id}")
    print(f"Monte Carlo: {simulated.description}")
    print()
    headers = ("", "5th pct", "median", "95th pct", "this run")
    rows = [headers, *percentile_rows(simulated)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    for row in rows:
        print("  ".join([row[0].ljust(widths[0])]
                        + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:],
                                                                    strict=True)]))
    print()
    print(f"Chance of losing {loss:,.2f}:")
    for line in loss_words(simulated, loss):
        print(f"  {line}")


def _montecarlo(args: argparse.Namespace, paths: DataPaths) -> int:
    from terminal.backtest.runs import RunStore
    from terminal.services import reports
    from terminal.services.backtest import RUNS_FOLDER

    with RunStore(paths.root / RUNS_FOLDER) as runs:
        simulated, loss = simulate(args, runs)
        print_monte_carlo(simulated, loss)
        if args.report:
            text = reports.stored_run_report(runs, args.run_id, simulated, loss)
            written = reports.write(Path(args.report), text)
            print(f"\nreport written to {written}")
    return 0
