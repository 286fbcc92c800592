"""`trading-terminal report`: a stored run as one self-contained HTML file.

    report RUN_ID --output run.html [--monte-carlo trades|daily [--replace]
           [--simulations N] [--seed S] [--loss AMOUNT]]

The file holds what was run, the statistics, the balance and drawdown, the monthly returns,
the round trips and the fills, and with --monte-carlo its percentiles and fan chart; no
script, nothing fetched (terminal.services.reports).

Exit codes: 0 written; 2 bad input (an unknown run, a folder that does not exist...); 130
interrupted.
"""

from __future__ import annotations

import argparse

from terminal.cli import common
from terminal.cli import montecarlo as montecarlo_verb
from terminal.core.paths import DataPaths


def add_parser(subparsers) -> None:
    command = subparsers.add_parser(
        "report", help="write a stored backtest run as one self-contained HTML file",
        description="Write a stored run's report: header, statistics, equity and drawdown, "
        "monthly returns, round trips and fills, and with --monte-carlo a Monte Carlo; one "
        "HTML file with nothing to fetch.")
    montecarlo_verb.add_arguments(command, method_default=None, method_option="--monte-carlo")
    command.add_argument("--output", required=True, metavar="FILE",
                         help="the HTML file to write (replaced when it exists)")
    command.set_defaults(run=run)


def run(args: argparse.Namespace, paths: DataPaths) -> int:
    return common.guarded(lambda: _report(args, paths))


def _report(args: argparse.Namespace, paths: DataPaths) -> int:
    from terminal.backtest.runs import RunStore
    from terminal.services import reports
    from terminal.services.backtest import RUNS_FOLDER

    with RunStore(paths.root / RUNS_FOLDER) as runs:
        simulated, loss = (montecarlo_verb.simulate(args, runs) if args.method
                           else (None, None))
        text = reports.stored_run_report(runs, args.run_id, simulated, loss)
        written = reports.write(args.output, text)
    if simulated is not None:
        montecarlo_verb.print_monte_carlo(simulated, loss)
        print()
    print(f"report of run {args.run_id} written to {written}")
    return 0
