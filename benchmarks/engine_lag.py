"""Loop lag left by the engine alone: a bare qasync loop, no window, while the simulated
exchange sends --rate ticks/s through the event engine. Beside vn.py's stock engine fed the same
way, and a loop with no engine at all (what the machine itself gives).

Hand-run from the project root (not a test), a diagnostic for the soak's lag figure:
    .venv/bin/python benchmarks/engine_lag.py                      # 3 rounds of 60 s each case
    .venv/bin/python benchmarks/engine_lag.py --rounds 1 --seconds 30 --rate 2500

The soak (`benchmarks/soak.py`) measures the GUI loop lag of the whole terminal. Every engine
thread takes the GIL the GUI thread needs, so part of that lag is there before any window is
drawn; this splits it off. The probe is the terminal's LoopLagMonitor (lateness of a 20 ms
asyncio sleep on a qasync loop), after `tune_for_gui()` in every case.

Cases, each in its own subprocess (a fresh interpreter and temporary data directory), in
turns round after round so that the machine's drift falls on all of them alike:
- "bare": the loop and the probe, nothing else.
- "ours": `terminal.system.runtime.build` (event engine, journal, recorder, risk, CTA engine, the
  bridge), the simulated exchange connected with every contract subscribed, the bridge drained
  every 16 ms on the loop as the GUI's pump would.
- "stock": vn.py's `EventEngine` and `MainEngine` with the same `SimGateway` (same rate and
  seed), every contract subscribed; stock needs no drain (its GUI takes one Qt signal per
  tick, which with no window nobody sends).

Per case: the GUI loop lag p50, p99 and max of each --interval (10 s) after --warmup, how many
intervals reach 16 ms, and the CPU of each busy thread. The table gives the median over all
intervals of all rounds, with stock/ours as the ratio. On Linux also the hypervisor's steal
(share of the machine's CPU time) and the lag p99 over the wakes it stole nothing from
(benchmarks/hoststeal.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import ROOT, child_command, child_main, json_lines, scratch, thread_cpu

CASES = ("bare", "ours", "stock")
TARGET_LAG = 0.016


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5_000.0, help="ticks/s in total")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time per case")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not measured")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds per figure")
    parser.add_argument("--rounds", type=int, default=3, help="turns through the cases")
    parser.add_argument("--only", choices=CASES, action="append", help="run only these cases")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------- child
def start_ours(home: Path, rate: float) -> object:
    """The terminal's engines as the app builds them; returns the bridge to drain."""
    from terminal.core import paths

    data = paths.prepare(home)         # before vn.py is imported, as the app does
    from terminal.system import runtime as runtime_module
    from terminal.core import settings as settings_file
    from terminal.market import contracts

    data.settings_file.write_text(json.dumps({
        "sim_quote_rate": rate / len(contracts.SPECS), "sim_seed": 7,
        "sim_capital": 100_000_000.0}), encoding="utf-8")
    settings, _ = settings_file.load(data.settings_file)
    runtime = runtime_module.build(data, settings)
    runtime.connect_simulator()
    subscribe(runtime.kernel.main_engine, contracts)
    return runtime.kernel.bridge


def start_stock(rate: float) -> None:
    """vn.py's own engines with the simulated exchange (run with the working directory
    holding `.vntrader`, see `run_case`)."""
    from vnpy.event import EventEngine
    from vnpy.trader.engine import MainEngine

    from terminal.gateways.sim import SimGateway
    from terminal.market import contracts

    main_engine = MainEngine(EventEngine())
    main_engine.add_gateway(SimGateway)
    main_engine.connect({"quote_rate": rate / len(contracts.SPECS),
                         "capital": 100_000_000.0, "seed": 7}, "SIM")
    subscribe(main_engine, contracts)


def subscribe(main_engine, contracts) -> None:
    from vnpy.trader.object import SubscribeRequest

    deadline = time.monotonic() + 30
    while not main_engine.get_all_contracts() and time.monotonic() < deadline:
        time.sleep(0.05)
    for spec in contracts.SPECS:
        main_engine.subscribe(SubscribeRequest(spec.symbol, spec.exchange), "SIM")


def child(args: argparse.Namespace) -> dict:
    """One case; prints one JSON line per interval, returns the thread CPU (the last line)."""
    sys.path.insert(0, str(ROOT))
    bridge = None
    if args.child == "ours":                   # the engines first, as the app builds them
        bridge = start_ours(Path.cwd() / "home", args.rate)
    elif args.child == "stock":
        start_stock(args.rate)
    import asyncio

    import qasync
    from hoststeal import StealTaggedLag, steal_figures
    from PySide6.QtWidgets import QApplication

    from terminal.core.interpreter import tune_for_gui
    from terminal.core.looplag import percentile

    app = QApplication.instance() or QApplication([sys.argv[0]])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    tune_for_gui()
    lag = StealTaggedLag()
    lag.start()

    async def drain() -> None:
        while True:
            await asyncio.sleep(0.016)
            bridge.drain()

    async def measure() -> None:
        if bridge is not None:
            loop.create_task(drain())
        await asyncio.sleep(args.warmup)
        before, started = thread_cpu(), time.monotonic()
        intervals = max(1, round(args.seconds / args.interval))
        for _ in range(intervals):
            await asyncio.sleep(args.interval)
            lags = lag.recent(args.interval)
            steal = steal_figures(lag.recent_tagged(args.interval, time.monotonic()),
                                  args.interval)
            print(json.dumps({"p50": percentile(lags, 50), "p99": percentile(lags, 99),
                              "max": max(lags), "n": len(lags), **steal}), flush=True)
        spent = time.monotonic() - started
        after = thread_cpu()
        return {"cpu": {name: (after[name] - before.get(name, 0.0)) / spent for name in after}}

    with loop:
        return loop.run_until_complete(measure())   # emitted; no orderly shutdown needed


# ---------------------------------------------------------------------------------- parent
def run_case(case: str, args: argparse.Namespace) -> tuple[list[dict], dict]:
    command = child_command(__file__, "--child", case, ("--rate", args.rate),
                            ("--seconds", args.seconds), ("--warmup", args.warmup),
                            ("--interval", args.interval))
    with scratch(f"engine-lag-{case}-", isolated=True) as (folder, env):
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                              timeout=args.warmup + args.seconds + 120, check=False)
    lines = json_lines(done.stdout)
    rows = [data for data in lines if "cpu" not in data]
    cpu = next((data["cpu"] for data in lines if "cpu" in data), {})
    if not rows:
        raise RuntimeError(f"case {case} gave no figures (exit {done.returncode}):\n"
                           f"{done.stderr[-1500:]}")
    return rows, cpu


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
    cases = [case for case in CASES if not args.only or case in args.only]
    print(f"engine lag: {args.rate:,.0f} ticks/s, {args.rounds} rounds of {args.seconds:g} s "
          f"per case ({', '.join(cases)}), {os.cpu_count()} CPUs", flush=True)
    rows: dict[str, list[dict]] = {case: [] for case in cases}
    cpu: dict[str, list[dict]] = {case: [] for case in cases}
    for number in range(1, args.rounds + 1):
        for case in cases:
            case_rows, case_cpu = run_case(case, args)
            rows[case] += case_rows
            cpu[case].append(case_cpu)
            p99 = ", ".join(f"{row['p99'] * 1000:.1f}" for row in case_rows)
            print(f"  round {number} {case:5s}: p99 per {args.interval:g} s (ms): {p99}",
                  flush=True)
    print(f"\n  {'median of the intervals':32}" + "".join(f"{case:>10}" for case in cases)
          + (f"{'stock/ours':>12}" if {"ours", "stock"} <= set(cases) else ""))
    for label, key in (("GUI loop lag p50 (ms)", "p50"), ("GUI loop lag p99 (ms)", "p99"),
                       ("GUI loop lag max (ms)", "max")):
        medians = {case: statistics.median(row[key] for row in rows[case]) * 1000
                   for case in cases}
        line = f"  {label:32}" + "".join(f"{medians[case]:>10.2f}" for case in cases)
        if {"ours", "stock"} <= set(cases) and medians["ours"] > 0:
            line += f"{medians['stock'] / medians['ours']:>12.2f}"
        print(line)
    over = "".join(f"{sum(row['p99'] >= TARGET_LAG for row in rows[case])} of "
                   f"{len(rows[case])}".rjust(10) for case in cases)
    print(f"  {'intervals with p99 >= 16 ms':32}{over}")
    unstolen = {case: [row["lag_p99_unstolen_ms"] for row in rows[case]
                       if row.get("lag_p99_unstolen_ms") is not None] for case in cases}
    if all(unstolen.values()):          # Linux: hypervisor steal read from /proc/stat
        steal = "".join(f"{statistics.median(row['steal_pct'] for row in rows[case]):>10.2f}"
                        for case in cases)
        print(f"  {'host steal (% of CPU time)':32}{steal}")
        p99 = "".join(f"{statistics.median(unstolen[case]):>10.2f}" for case in cases)
        print(f"  {'p99 of unstolen wakes (ms)':32}{p99}")
        over = "".join(f"{sum(v >= TARGET_LAG * 1000 for v in unstolen[case])} of "
                       f"{len(unstolen[case])}".rjust(10) for case in cases)
        print(f"  {'  intervals at or over 16 ms':32}{over}")
    for case in cases:
        names = {name for run in cpu[case] for name in run}
        busy = {name: statistics.mean(run.get(name, 0.0) for run in cpu[case]) for name in names}
        print(f"  CPU, {case}: " + ", ".join(
            f"{name} {cores:.2f}" for name, cores in sorted(busy.items(), key=lambda i: -i[1])
            if cores >= 0.005))


if __name__ == "__main__":
    main()
