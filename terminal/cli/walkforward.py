"""`trading-terminal walkforward`: walk-forward optimisation of a strategy's parameters.

    walkforward STRATEGY SYMBOL.EXCHANGE --start D --end D [--interval 1m] [settings]
                --range NAME=START:STOP:STEP|V1,V2,... [--range ...] [--param NAME=VALUE ...]
                --in-sample N[d] --out-sample N[d] [--mode rolling|anchored]
                [--target sharpe_ratio] [--minimise]
                [--genetic [--population 20] [--generations 10] [--seed N]]
                [--workers N | --scheduler tcp://host:8786] [--warmup-days 30]

Lengths are trading days (days with bars). The use case is terminal.services.walkforward;
this module reads the arguments, calls it and prints the windows table, the efficiency, each
criterion PASS or FAIL and the stored run's id, with the progress on stderr.

Exit codes: 0 done (whether the criteria pass or not: they are printed); 1 the walk-forward
failed (kept as failed) or was cancelled; 2 bad input; 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import sys

from terminal.cli import common
from terminal.cli.optimise import ProgressLine
from terminal.core.paths import DataPaths


def trading_days(text: str) -> int:
    """120 or 120d: a number of trading days, 1 or more."""
    raw = text.strip().lower()
    raw = raw[:-1] if raw.endswith("d") else raw
    return common.positive_int(raw)


def add_parser(subparsers) -> None:
    walk = subparsers.add_parser(
        "walkforward", help="walk-forward optimisation of a strategy's parameters",
        description="Search a strategy's parameters on each in-sample window, trade the best "
        "setting on the out-of-sample window after it, step forward by the out-of-sample "
        "length; prints the windows, the walk-forward efficiency and the pass criteria, and "
        "keeps the stitched out-of-sample run.")
    common.add_common(walk)
    common.add_search_options(walk, " in each window")
    walk.add_argument("--mode", choices=("rolling", "anchored"), default="rolling",
                      help="rolling: the in-sample window moves; anchored: it starts at the "
                      "first day and grows (default rolling)")
    walk.add_argument("--in-sample", type=trading_days, required=True, metavar="DAYS",
                      help="in-sample length in trading days, e.g. 120 or 120d")
    walk.add_argument("--out-sample", type=trading_days, required=True, metavar="DAYS",
                      help="out-of-sample length in trading days, also the step, e.g. 40")
    walk.set_defaults(run=run, command="walkforward")


def run(args: argparse.Namespace, paths: DataPaths) -> int:
    return common.guarded(lambda: _walk(args, paths))


def _walk(args: argparse.Namespace, paths: DataPaths) -> int:
    from terminal.services import backtest, optimisation, walkforward

    request = common.read(args, paths)
    search = optimisation.Search(
        target=args.target, maximise=not args.minimise, genetic=args.genetic,
        population=args.population, generations=args.generations, seed=args.seed,
        workers=args.workers, scheduler=args.scheduler)
    plan = walkforward.plan(request.entry, request.ranges, search, args.mode, args.in_sample,
                            args.out_sample, request.params)
    prepared = backtest.prepare(paths, request.entry, request.symbol, request.exchange,
                                request.interval, request.start, request.end, request.costs,
                                request.params, warmup_days=args.warmup_days)
    prepared.ranges = request.ranges
    try:
        common.describe(prepared)
        space = plan.space
        values = ", ".join(f"{name} {list(space.values(name))}" for name in space.names)
        method = (f"genetic search (population {plan.population}, {plan.generations} "
                  f"generations, seed {plan.seed})" if plan.search == "genetic"
                  else f"grid search of {space.size:,} combinations")
        where = (f"on the Dask cluster at {search.scheduler}" if search.scheduler
                 else f"{search.worker_count} local worker process"
                 f"{'es' if search.worker_count > 1 else ''}")
        print(f"walk-forward, {plan.mode}: {plan.in_sample} trading days in sample, "
              f"{plan.out_sample} out of sample; {method} of {values} in each window; target "
              f"{plan.target} ({'highest' if plan.maximise else 'lowest'} is best); {where}")
        progress = ProgressLine()
        kept = walkforward.run_and_keep(prepared, plan, walkforward.runner(search), paths,
                                        progress)
        progress.end()
    finally:
        prepared.close()
    if kept.error is not None:
        print(f"error: {kept.error.rstrip()}", file=sys.stderr)
        print(f"run {kept.run_id} saved as failed in {kept.runs_root}")
        return common.EXIT_FAILED
    result = kept.result
    if result.cancelled:
        print(f"cancelled; run {kept.run_id} saved as cancelled in {kept.runs_root}")
        return common.EXIT_FAILED
    print(f"\n{len(result.windows)} windows, {result.evaluated:,} settings evaluated in "
          f"{result.elapsed:.1f} s\n")
    print(windows_table(result))
    print()
    print(common.statistics_table({k: v for k, v in result.statistics.items()
                                   if k != "walkforward_efficiency"}))
    print()
    print(f"walk-forward efficiency: {percent(result.efficiency)} (out-of-sample annual "
          "return / mean in-sample annual return)")
    print(criteria_table(result.criteria))
    verdict = "PASSED every criterion" if result.passed else "FAILED: see above"
    print(f"\n{verdict}\nrun {kept.run_id} saved in {kept.runs_root} (done, walkforward): the "
          "stitched out-of-sample series, with the windows as windows.parquet")
    return 0


def percent(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 100:,.1f}%"


def windows_table(result) -> str:
    """One line a window: its days, the chosen parameters, the in-sample target and the
    out-of-sample net P&L, aligned."""
    from terminal.backtest.stats import format_value

    target = result.plan.target
    lines = [["window", "in sample", "out of sample", "chosen", f"IS {target}", "OOS net P&L"]]
    for w in result.windows:
        step = w.window
        lines.append([
            str(step.number) + ("*" if step.partial else ""),
            f"{step.is_start} to {step.is_end}", f"{step.oos_start} to {step.oos_end}",
            ", ".join(f"{k}={v!r}" for k, v in w.params.items()),
            format_value(target, w.is_value), f"{w.oos_net_pnl:,.2f}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = "\n".join("  ".join(cell.ljust(widths[i]) if i in (1, 2, 3) else cell.rjust(widths[i])
                               for i, cell in enumerate(line)) for line in lines)
    if any(w.window.partial for w in result.windows):
        text += "\n* the last window is shorter: the days left at the end of the period"
    return text


def criteria_table(criteria) -> str:
    """Each criterion: PASS or FAIL, its name, the value against the threshold."""
    shown = {"profitable overall": lambda v: f"{v:,.2f}",
             "maximum drawdown %": lambda v: f"{v:,.2f}%"}
    limits = {"profitable overall": "> 0", "walk-forward efficiency": ">= 50%",
              "windows profitable": ">= 50%", "largest window's share of net profit": "<= 50%",
              "maximum drawdown %": "<= 40%"}
    lines = []
    for c in criteria:
        value = "n/a" if math.isnan(c.value) else shown.get(c.name, percent)(c.value)
        note = f" ({c.note})" if c.note else ""
        lines.append(f"  {'PASS' if c.passed else 'FAIL'}  {c.name}: {value}, needs "
                     f"{limits.get(c.name, str(c.threshold))}{note}")
    return "\n".join(lines)
