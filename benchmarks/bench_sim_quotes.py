"""What a quote costs the simulated exchange's thread, beside the code of another commit (the
exchange before issue 18 recorded no minutes for its history), in one run.

Hand-run from a project root (not a test):

    .venv/bin/python benchmarks/bench_sim_quotes.py --before c58a857 [--rounds 5]

Each case is a child process: `SimGateway` connected on a `ManualClock` at `--rate` quotes a
second over its 24 contracts (5,000 by default, the soak's rate), no contract subscribed (so
no tick leaves the thread: what is timed is the quote itself: the model's step, the book and,
now, the history's minute tape). `SimGateway.advance` moves the clock `--seconds` of market
time at a time, `--repeat` times; each call is timed (perf_counter, and the exchange thread's
CPU time), and divided by the quotes it made. The clock runs through whole minutes, so the tape
starts a bar per contract each minute as it does live. Rounds alternate the order of the
cases (before, now, ...; ..., now, before). With `--before REV` the code of REV is exported (git
archive) and its child puts that tree first on sys.path. A third case runs this tree with the
tape's `add` replaced by a no-op after connecting: the quote without the recorder, in the same
code (separate processes of two trees differ by more than the recorder on a loaded machine).

Figures in microseconds per quote: the p50 and max of the calls' wall times, the exchange
thread's CPU per quote (the steadier figure on a shared machine: the wall time also holds the
waits for a CPU), with the load average and the host's steal over the case; each case's
median over the rounds, and its ratio to the first case.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, child_command, child_main, export_tree, load_average, run_child, spread

CONTRACTS = 24


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", help="also run the exchange of this commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=5000.0, help="quotes a second, in all")
    parser.add_argument("--seconds", type=float, default=10.0, help="market time per call")
    parser.add_argument("--repeat", type=int, default=30, help="calls per case")
    parser.add_argument("--child", metavar="TREE", help=argparse.SUPPRESS)
    parser.add_argument("--no-tape", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------- child side
def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, args.child)
    from vnpy.event import EventEngine

    from terminal.core.health import host_steal_seconds
    from terminal.gateways.sim import SimGateway
    from terminal.gateways.sim.clock import ManualClock
    from terminal.market import contracts

    assert str(Path(sys.modules["terminal"].__file__).parents[1]) == args.child  # noqa: S101
    assert len(contracts.SPECS) == CONTRACTS  # noqa: S101 - the rate below is per contract
    gateway = SimGateway(EventEngine())          # not started: nothing is dispatched
    gateway.clock = ManualClock()
    gateway.connect({"quote_rate": args.rate / CONTRACTS, "capital": 1_000_000.0, "seed": 7})
    if args.no_tape:                               # the quote as it was before the tape
        gateway.tape.add = lambda *_: None
    thread = gateway._thread                     # its CPU clock
    clock_id = time.pthread_getcpuclockid(thread.ident)
    per_call = args.rate * args.seconds            # quotes one call makes
    gateway.advance(args.seconds)                  # warm-up
    walls, cpus = [], []
    stolen, started = host_steal_seconds(), time.perf_counter()
    for _ in range(args.repeat):
        cpu = time.clock_gettime(clock_id)
        wall = time.perf_counter()
        gateway.advance(args.seconds)
        walls.append((time.perf_counter() - wall) / per_call * 1e6)
        cpus.append((time.clock_gettime(clock_id) - cpu) / per_call * 1e6)
    span = time.perf_counter() - started
    now_stolen = host_steal_seconds()
    steal = None if stolen is None or now_stolen is None else \
        100 * (now_stolen - stolen) / (span * 2)
    gateway.close()
    return {"wall": spread(walls), "cpu_mean": statistics.fmean(cpus), "steal": steal,
            "load": load_average(), "quotes": int(per_call * args.repeat)}


# ---------------------------------------------------------------------------------- parent side
def run_case(tree: Path, args: argparse.Namespace, no_tape: bool = False) -> dict:
    return run_child(child_command(__file__, ("--child", tree), ("--rate", args.rate),
                                   ("--seconds", args.seconds), ("--repeat", args.repeat),
                                   ("--no-tape", no_tape)),
                     timeout=600, cwd=tree)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
    with tempfile.TemporaryDirectory(prefix="bench-sim-quotes-") as work:
        trees = {"now": ROOT, "now, tape's add a no-op": ROOT}
        if args.before:
            trees = {f"before ({args.before})": export_tree(args.before, Path(work) / "before"),
                     **trees}
        results: dict[str, list[dict]] = {name: [] for name in trees}
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(trees)[::-1]
            for name in order:
                print(f"round {round_ + 1}: {name} ...", file=sys.stderr, flush=True)
                results[name].append(run_case(trees[name], args, no_tape="no-op" in name))
    print(f"\nSimGateway quotes, {args.rate:,.0f} a second over {CONTRACTS} contracts, "
          f"{args.repeat} calls of {args.seconds:g} s market time each, nothing subscribed")
    print(f"{'case':24} {'round':>5} {'p50 us':>8} {'max us':>8} {'CPU us':>8} {'steal %':>8}"
          f"  load")
    medians: dict[str, tuple[float, float]] = {}
    for name, runs in results.items():
        p50s, cpus = [], []
        for number, result in enumerate(runs, 1):
            if result.get("error"):
                print(f"{name:24} {number:>5}  error: {result['error']}")
                continue
            wall, steal = result["wall"], result["steal"]
            p50s.append(wall["p50"])
            cpus.append(result["cpu_mean"])
            print(f"{name:24} {number:>5} {wall['p50']:8.2f} {wall['max']:8.2f} "
                  f"{result['cpu_mean']:8.2f} {'-' if steal is None else f'{steal:.2f}':>8}"
                  f"  {result['load']}")
        if p50s:
            medians[name] = statistics.median(p50s), statistics.median(cpus)
            print(f"{name:24} {'all':>5} {medians[name][0]:8.2f} {'':8} {medians[name][1]:8.2f}"
                  f"  (medians of the rounds; p50 {min(p50s):.2f}-{max(p50s):.2f}, "
                  f"CPU {min(cpus):.2f}-{max(cpus):.2f})")
    base_wall, base_cpu = next(iter(medians.values()))
    for name, (wall, cpu) in list(medians.items())[1:]:
        print(f"{name} / {next(iter(medians))}: {wall / base_wall:.3f}x wall p50, "
              f"{cpu / base_cpu:.3f}x CPU")


if __name__ == "__main__":
    main()
