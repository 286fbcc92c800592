"""`trading-terminal optimise` (the old spelling `optimize` still runs): a grid or genetic
search of a strategy's parameters.

    optimise STRATEGY SYMBOL.EXCHANGE --start D --end D [--interval 1m] [settings]
             --range NAME=START:STOP:STEP|V1,V2,... [--range ...] [--param NAME=VALUE ...]
             [--target sharpe_ratio] [--minimise] [--top 10]
             [--genetic [--population 20] [--generations 10] [--seed N]]
             [--workers N | --scheduler tcp://host:8786]

The use case is terminal.services.optimisation (the bars read once from `--warmup-days`
before the start, the settings evaluated in worker processes or on a Dask cluster, the best
one backtested again and kept as a run with the table of every setting as
optimisation.parquet); this module reads the arguments, calls it and prints, with the
progress on stderr. Ranges are read by the parameters' one parser.

Exit codes: 0 done; 1 no setting gave the target (or the best one's backtest failed, or the
cluster cannot be reached); 2 bad input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from terminal.cli import common
from terminal.core.paths import DataPaths

# The workbench's (optimisation.evaluation.load_shared_bars), not imported here: the parser is
# built at every start; tests/cli/test_optimise_verb.py keeps the two the same.
DEFAULT_WARMUP_DAYS = common.DEFAULT_WARMUP_DAYS


def add_parser(subparsers) -> None:
    optimise = subparsers.add_parser(
        "optimise", help="grid or genetic search of a strategy's parameters",
        description="Search a strategy's parameters (grid, or genetic with --genetic) in "
        "parallel processes; prints the best settings by the target and saves the best one's "
        "backtest as a run, with the table of every setting evaluated as optimisation.parquet.")
    common.add_common(optimise)
    common.add_search_options(optimise)
    optimise.add_argument("--top", type=common.positive_int, default=10, metavar="N",
                          help="rows of the table printed (default 10)")
    optimise.set_defaults(run=run, command="optimise")
    subparsers.choices["optimize"] = optimise       # the old spelling, still run, not listed


def run(args: argparse.Namespace, paths: DataPaths) -> int:
    return common.guarded(lambda: _optimise(args, paths))


class ProgressLine:
    """progress(percent, text) on stderr: one line rewritten in place on a terminal, else a
    line at every tenth of the way."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = -1
        self.open = False

    def __call__(self, percent: float, text: str) -> None:
        line = f"optimising: {percent:5.1f}% ({text})"
        if self.tty:
            self.stream.write("\r" + line)
            self.open = True
        else:
            step = int(percent // 10)
            if step == self._shown:
                return
            self._shown = step
            self.stream.write(line + "\n")
        self.stream.flush()

    def end(self) -> None:
        if self.open:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False


def _optimise(args: argparse.Namespace, paths: DataPaths) -> int:
    from terminal.services import backtest, optimisation

    request = common.read(args, paths)
    search = optimisation.Search(
        target=args.target, maximise=not args.minimise, genetic=args.genetic,
        population=args.population, generations=args.generations, seed=args.seed,
        workers=args.workers, scheduler=args.scheduler)
    space = optimisation.plan(request.entry, request.ranges, search)
    prepared = backtest.prepare(paths, request.entry, request.symbol, request.exchange,
                                request.interval, request.start, request.end, request.costs,
                                request.params, warmup_days=args.warmup_days)
    prepared.ranges = request.ranges
    try:
        return _search(args, paths, prepared, space, search)
    finally:
        prepared.close()


def _search(args: argparse.Namespace, paths: DataPaths, prepared, space, search) -> int:
    from terminal.backtest.optimisation.ranking import OptimisationError
    from terminal.services import optimisation

    common.describe(prepared)
    workers = search.worker_count
    where = (f"on the Dask cluster at {search.scheduler}" if search.scheduler
             else f"{workers} local worker process{'es' if workers > 1 else ''}")
    values = ", ".join(f"{name} {list(space.values(name))}" for name in space.names)
    method = (f"genetic search (population {search.population}, {search.generations} "
              f"generations, seed {search.seed})" if search.genetic else "grid search")
    print(f"{method} over {space.size:,} combinations of {values}; target {search.target} "
          f"({'highest' if search.maximise else 'lowest'} is best); {where}")

    progress = ProgressLine()
    try:
        result = optimisation.run_search(prepared, space, search, progress)
    except (OptimisationError, OSError, TimeoutError) as exc:  # a scheduler out of reach
        progress.end()
        print(f"error: {exc}", file=sys.stderr)
        return common.EXIT_FAILED
    progress.end()
    print(f"{len(result.rows):,} settings evaluated in {result.elapsed:.1f} s "
          f"({len(result.rows) / result.elapsed if result.elapsed else 0:,.1f} a second)")
    if result.errors:
        first = result.errors[0][2]["error"].strip().splitlines()[-1]
        print(f"{len(result.errors):,} settings failed; the first: {first}", file=sys.stderr)
    print(f"\ntop {min(args.top, len(result.rows))} of {len(result.rows):,} by {search.target}:")
    print(optimisation_table(result, space.names, search.target, args.top))

    best = optimisation.keep_best(prepared, space, search, result, paths)
    table = optimisation.TABLE_FILE
    if best.params is None:
        print(f"\n{best.error.splitlines()[0]}", file=sys.stderr)
        print(f"settings tried: {result.tried:,}")
        print(f"run {best.run_id} saved as failed in {best.runs_root}, with the table as {table}")
        return common.EXIT_FAILED
    print("\nbest: " + ", ".join(f"{k}={v!r}" for k, v in best.params.items())
          + f" ({search.target} {_format(search.target, best.value)})")
    print("\n".join(optimisation.odds_lines(result.odds or result.compute_odds())))
    if best.stats is None:
        print(f"the best setting's backtest failed: {best.error.rstrip()}", file=sys.stderr)
        return common.EXIT_FAILED
    if not optimisation.same_value(best.again, best.value):
        print(f"warning: the best setting backtested again gave {search.target} "
              f"{best.again!r}, not {best.value!r}", file=sys.stderr)
    print()
    print(common.statistics_table(best.stats))
    print(f"\nrun {best.run_id} saved in {best.runs_root} (done): the best setting's backtest, "
          f"with the table of all {len(result.rows):,} settings as {table}")
    return 0


def _format(key: str, value: Any) -> str:
    from terminal.backtest.stats import format_value

    return format_value(key, value)


def optimisation_table(result, names: list[str], target: str, top: int) -> str:
    """The best `top` rows: rank, the parameters, the target, then a few of vn.py's statistics
    (labelled by their keys), aligned."""
    from terminal.services.optimisation import TABLE_STATISTICS

    columns = [*names, target, *(s for s in TABLE_STATISTICS if s != target)]
    lines = [["rank", *columns]]
    for rank, (params, value, stats) in enumerate(result.rows[:top], 1):
        cells = [str(rank)] + [f"{params[name]!r}" for name in names]
        if "error" in stats:
            cells += ["error: " + stats["error"].strip().splitlines()[-1]]
        else:
            cells += [_format(target, value)] + [
                _format(key, stats.get(key)) for key in columns[len(names) + 1:]]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines if i < len(line))
              for i in range(len(lines[0]))]
    return "\n".join("  ".join(cell.rjust(widths[i]) if i < len(widths) else cell
                               for i, cell in enumerate(line)) for line in lines)
