"""The price ladder's cost to the GUI: `market_data.py`'s burst (ticks/s over many symbols
into the terminal's main window) with the ladder closed and with it open on one of the
symbols, side by side, as ratios. Issue 19's bar: GUI loop lag p99 with the ladder open within
10% of the run with it closed, at 20,000 ticks/s over 500 symbols.

    .venv/bin/python benchmarks/bench_ladder.py                  # 20k ticks/s, 500 symbols
    .venv/bin/python benchmarks/bench_ladder.py --rates 5000 --symbols 100 --seconds 1 \
        --repeat 1                                               # quick

Each case is its own process (the harness); the cases alternate, `--repeat` times, and the
medians are compared. The ladder shows the first symbol, whose contract is published to the
engine the way a gateway does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from argparse import Namespace

import market_data as md
from harness import child_command, child_main, run_child, scratch

CASES = ("closed", "open")
BUILD_OURS = md.build_ours


def parse(argv: list[str] | None) -> Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[20_000], help="ticks/s")
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each burst")
    parser.add_argument("--timeout", type=float, default=60.0, help="drain timeout, seconds")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case, alternating")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def with_ladder(data_paths, symbols: list[str], probe):
    """`market_data.build_ours`, and the ladder open on the first symbol."""
    from vnpy.event import Event
    from vnpy.trader.constant import Exchange, Product
    from vnpy.trader.event import EVENT_CONTRACT
    from vnpy.trader.object import ContractData

    event_engine, window = BUILD_OURS(data_paths, symbols, probe)
    code = symbols[0].split(".")[0]
    event_engine.put(Event(EVENT_CONTRACT, ContractData(
        "BENCH", code, Exchange.SHFE, code, Product.FUTURES, 10, 1.0)))
    engine = window.runtime.kernel.main_engine
    deadline = time.monotonic() + 10
    while engine.get_contract(symbols[0]) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    window.show_dock("ladder")
    ladder = window.widget("ladder")
    if not ladder.load_symbol(symbols[0]):
        raise SystemExit(f"the ladder could not show {symbols[0]}")
    LADDERS.append(ladder)
    for owner, name in ((ladder, "_show"), (ladder.view, "paintEvent"),
                        (ladder.view, "_paint_row")):
        _time_calls(owner, name)
    return event_engine, window


SPENT: dict[str, float] = {}     # seconds the ladder's own methods took on the GUI thread
CALLS: dict[str, int] = {}       # and how often they ran


def _time_calls(owner, name: str) -> None:
    original = getattr(owner, name)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            SPENT[name] = SPENT.get(name, 0.0) + time.perf_counter() - start
            CALLS[name] = CALLS.get(name, 0) + 1

    setattr(owner, name, timed)


LADDERS: list = []          # the open case's ladder, read when the run reports


def emit_with_ladder(result: dict) -> None:
    """The run's figures, and what the ladder did meanwhile: a run whose ladder never
    painted or counted a tick proves nothing and is reported as an error."""
    if LADDERS:
        ladder = LADDERS[0]
        result.update(ladder_shows=ladder.shows, ladder_paints=ladder.view.paints,
                      ladder_volume=ladder.book.volume.total,
                      ladder_ms={name: round(spent * 1000, 1) for name, spent in SPENT.items()},
                      ladder_calls=dict(CALLS))
        if not result.get("error") and not (ladder.view.paints and ladder.book.volume.total):
            result["error"] = "the ladder never painted or counted a tick during the burst"
    EMIT(result)


EMIT = md.emit


def child(args: Namespace) -> None:
    if args.child == "open":
        md.build_ours = with_ladder
        md.emit = emit_with_ladder
    md.child(Namespace(child="ours", rate=args.rate, symbols=args.symbols,
                       seconds=args.seconds, timeout=args.timeout, home=args.home,
                       prebuilt=False))


def run_case(case: str, rate: int, args: Namespace) -> dict:
    print(f"running ladder {case} at {rate:,} ticks/s ...", file=sys.stderr, flush=True)
    with scratch(f"bench-ladder-{case}-") as (home, env):
        return run_child(child_command(
            __file__, "--child", case, ("--rate", rate), ("--symbols", args.symbols),
            ("--seconds", args.seconds), ("--timeout", args.timeout), ("--home", home)),
            timeout=2 * args.timeout + args.seconds + 120, env=env)


ROWS = [("ticks fed", "fed", 1), ("tick->GUI p50 (ms)", "p50", 1000),
        ("tick->GUI p99 (ms)", "p99", 1000), ("GUI loop lag p99 (ms)", "lag_p99", 1000),
        ("GUI loop lag max (ms)", "lag_max", 1000), ("time to drain (ms)", "drain", 1000)]


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
    print(f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM', 'offscreen')}, "
          f"{os.cpu_count()} CPUs, {args.symbols} symbols, {args.seconds:g} s bursts, "
          f"{args.repeat} run(s) of each case alternating; medians")
    for rate in args.rates:
        runs: dict[str, list[dict]] = {case: [] for case in CASES}
        for _ in range(args.repeat):
            for case in CASES:
                runs[case].append(run_case(case, rate, args))
        print(f"\n{rate:,} ticks/s")
        print(f"  {'':24}{'ladder closed':>16}{'ladder open':>16}   open/closed")
        for label, key, scale in ROWS:
            medians = []
            for case in CASES:
                values = [r[key] for r in runs[case] if not r.get("error") and
                          r.get(key) is not None]
                medians.append(statistics.median(values) * scale if values else None)
            cells = "".join("           error" if m is None else f"{m:>16,.1f}"
                            for m in medians)
            ratio = f"{medians[1] / medians[0]:>11.2f}x" \
                if None not in medians and medians[0] else ""
            print(f"  {label:24}{cells}{ratio}")
        for case in CASES:
            for result in runs[case]:
                if result.get("error"):
                    print(f"  {case}: {result['error']}")
            lags = [f"{r['lag_p99'] * 1000:.1f}" for r in runs[case] if r.get("lag_p99")]
            print(f"  {case}: loop lag p99 per run (ms) {', '.join(lags)}")
        paints = [(r["ladder_paints"], r["ladder_volume"]) for r in runs["open"]
                  if "ladder_paints" in r]
        print(f"  open: ladder paints, volume counted per run {paints}")
        print(f"  open: ms in the ladder's own methods per run "
              f"{[r.get('ladder_ms') for r in runs['open']]}")
        print(f"  open: their calls per run {[r.get('ladder_calls') for r in runs['open']]}")


if __name__ == "__main__":
    main()
