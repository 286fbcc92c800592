"""Walk-forward benchmark (issue 20): the same walk-forward with 1 worker and with 2, the
throughput ratio (target at least 1.8x), the peak memory per worker against the optimiser's
on the same grid, and the reads of the store per walk-forward (target 1).

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/bench_walkforward.py                   # 100,000 bars
    .venv/bin/python benchmarks/bench_walkforward.py --bars 50000 --in-sample 40 --out-sample 15

The bars are the harness's synthetic rb2701.SHFE 1-minute random walk (the same on every
run), saved into a market store in a throw-away data directory. The strategy is
vnpy_ctastrategy's DoubleMaStrategy, rate 1e-4, slippage 1, size 10, pricetick 1; the grid
is --fast x --slow towards sharpe_ratio; the walk is rolling, --in-sample and --out-sample
trading days. Each case runs in a child process of its own:
  walk1, walk2  `load_shared_bars` (one read of the store, 10 days of warm-up) and
                `WalkForward(Optimiser(workers=N)).run`: every window's grid and every
                out-of-sample run on one session of N forked workers;
  optimise      `Optimiser(workers=2).grid` with `BacktestEvaluator` over the whole period, as
                the optimiser runs today, for its memory per worker.
Throughput: backtests a second (the in-sample settings of every window plus one
out-of-sample run a window); the time is split where the out-of-sample map starts (the
out-of-sample runs go to the workers too, and return their daily results and fills).
Memory: benchmarks/backtest.py's sampler (psutil every --poll seconds: each worker's peak
RSS, PSS and USS). Reads: calls of MarketStore.load_table (every
read of bars goes through it) in the child. Steal: the host's steal seconds during the case
(terminal.core.health), and the load average before it, since the VM is shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from backtest import MemorySampler
from harness import child_command, child_main, met, run_child, scratch, synthetic_bars

SETTINGS = {"rate": 1e-4, "slippage": 1.0, "size": 10.0, "pricetick": 1.0, "capital": 1_000_000}
CASES = ("walk1", "walk2", "optimise")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bars", type=int, default=100_000)
    p.add_argument("--fast", default="5,10", help="fast_window values")
    p.add_argument("--slow", default="20,40", help="slow_window values")
    p.add_argument("--in-sample", type=int, default=60, help="trading days")
    p.add_argument("--out-sample", type=int, default=20, help="trading days")
    p.add_argument("--poll", type=float, default=0.2, help="memory sampling, seconds")
    p.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    p.add_argument("--home", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def child(args: argparse.Namespace) -> dict:
    from vnpy.trader.constant import Interval
    from vnpy_ctastrategy.strategies.double_ma_strategy import DoubleMaStrategy

    from terminal.backtest.engine import BacktestSettings
    from terminal.backtest.optimisation.evaluation import BacktestEvaluator, load_shared_bars
    from terminal.backtest.optimisation.optimiser import Optimiser
    from terminal.backtest.optimisation.space import ParameterSpace
    from terminal.backtest.walkforward import WalkForward
    from terminal.backtest.walkforward_windows import WalkForwardPlan
    from terminal.core.health import host_steal_seconds
    from terminal.storage.market_store import MarketStore

    bars = synthetic_bars(args.bars)
    store = MarketStore(Path(args.home) / "market")
    store.save_bars(bars)
    start = bars[0].datetime.replace(tzinfo=None)
    end = bars[-1].datetime.replace(tzinfo=None)
    del bars
    reads = []
    real = store.load_table
    store.load_table = lambda *a, **k: (reads.append(a), real(*a, **k))[1]
    settings = BacktestSettings("rb2701.SHFE", datetime(start.year, start.month, start.day),
                                datetime(end.year, end.month, end.day), Interval.MINUTE,
                                **SETTINGS)
    space = ParameterSpace({"fast_window": [int(v) for v in args.fast.split(",")],
                            "slow_window": [int(v) for v in args.slow.split(",")]})
    load = os.getloadavg()
    steal = host_steal_seconds()
    sampler = MemorySampler(args.poll)
    sampler.start()
    t0 = time.perf_counter()
    shared = load_shared_bars(store, settings, warmup_days=10)
    if args.child == "optimise":
        result = Optimiser(workers=2).grid(BacktestEvaluator(DoubleMaStrategy, settings),
                                           space, "sharpe_ratio", shared)
        runs, windows, figures = len(result.rows), 0, {}
    else:
        plan = WalkForwardPlan(space, args.in_sample, args.out_sample, target="sharpe_ratio")
        marks = {}

        def progress(percent: float, text: str) -> None:
            if text.startswith("out of sample"):
                marks["oos"] = time.perf_counter()

        walked = WalkForward(Optimiser(workers=int(args.child[-1]))).run(
            DoubleMaStrategy, settings, plan, shared, progress)
        windows = len(walked.windows)
        runs = walked.evaluated + windows
        figures = {"net_pnl": walked.statistics["total_net_pnl"],
                   "in_sample_seconds": marks["oos"] - t0,
                   "out_sample_seconds": time.perf_counter() - marks["oos"],
                   "efficiency": walked.efficiency,
                   "chosen": [w.params for w in walked.windows]}
    seconds = time.perf_counter() - t0
    memory = sampler.stop()
    after = host_steal_seconds()
    store.close()
    own = [a for a in reads if str(a[2]) == "1m"]       # the run's own series
    return {"seconds": seconds, "runs": runs, "windows": windows, "reads": len(own),
            "warmup_reads": len(reads) - len(own),
            "bars": len(shared), "load": load[0],
            "steal": None if steal is None or after is None else after - steal,
            "workers": memory["workers"], **figures}


def mb(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
        return
    results = {}
    for case in CASES:
        with scratch(f"bench-walk-{case}-") as (folder, env):
            command = child_command(__file__, ("--child", case), ("--home", folder),
                                    ("--bars", args.bars), ("--fast", args.fast),
                                    ("--slow", args.slow), ("--in-sample", args.in_sample),
                                    ("--out-sample", args.out_sample), ("--poll", args.poll))
            results[case] = run_child(command, timeout=3600, env=env, cwd=Path.cwd())
        if "error" in results[case]:
            sys.exit(f"{case}: {results[case]['error']}")
        r = results[case]
        peak = max((w["rss"] for w in r["workers"]), default=0)
        pss = max((w["pss"] for w in r["workers"]), default=0)
        uss = max((w["uss"] for w in r["workers"]), default=0)
        print(f"{case}: {r['seconds']:.1f} s, {r['runs']} backtests ({r['windows']} windows), "
              f"{r['runs'] / r['seconds']:.2f} a second; {r['reads']} store read(s) of "
              f"{r['bars']:,} bars (and {r['warmup_reads']} of other intervals' warm-up days); "
              f"workers {len(r['workers'])}, peak RSS/PSS/USS per worker "
              f"{mb(peak)}/{mb(pss)}/{mb(uss)} MB; load {r['load']:.2f} before, steal "
              f"{r['steal'] if r['steal'] is None else round(r['steal'], 1)} s")
        if "in_sample_seconds" in r:
            print(f"  read + in-sample searches {r['in_sample_seconds']:.1f} s, out-of-sample "
                  f"runs and stitching {r['out_sample_seconds']:.1f} s")
    one, two = results["walk1"], results["walk2"]
    ratio = (two["runs"] / two["seconds"]) / (one["runs"] / one["seconds"])
    same = one.get("chosen") == two.get("chosen") and one.get("net_pnl") == two.get("net_pnl")
    worst = {case: max((w["pss"] for w in r["workers"]), default=0)
             for case, r in results.items()}
    print(f"\nthroughput, 2 workers / 1: {ratio:.2f}x (target 1.8x: {met(ratio >= 1.8)})")
    print(f"peak PSS per worker, walk-forward (2) / optimiser (2): {mb(worst['walk2'])} / "
          f"{mb(worst['optimise'])} MB ({met(worst['walk2'] <= worst['optimise'])})")
    print(f"store reads of the bars per walk-forward: {one['reads']} and {two['reads']} "
          f"({met(one['reads'] == two['reads'] == 1)})")
    print(f"same chosen settings and net P&L with 1 and 2 workers: {same}")


if __name__ == "__main__":
    main()
