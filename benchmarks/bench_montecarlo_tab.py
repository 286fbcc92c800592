"""Monte Carlo tab benchmark: what 10,000 simulations of a few hundred round trips cost, and
how late the GUI's loop runs while they are computed, on the tab's ThreadJob beside the same
computation on the GUI thread (what the tab would do without its thread).

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/bench_montecarlo_tab.py                       # 3 rounds
    .venv/bin/python benchmarks/bench_montecarlo_tab.py --trips 300 --simulations 10000

Each case runs in its own process (the harness's child) with a stored run in a scratch
folder: --trips one-lot round trips of a seeded random P&L, --days trading days. The GUI
loop lag is a 10 ms precise Qt timer's lateness (harness.QtTimerLag), from the click to the
result shown. Cases:
- gui-thread: `services.montecarlo.simulate` and the fan called on the GUI thread;
- tab: `MonteCarloPanel.run()` (a ThreadJob), the loop spinning until the result is shown.
Methods: trades (the round trips reshuffled) and daily (the daily returns bootstrapped).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timedelta

from harness import (ROOT, child_command, child_main, load_average, met, ms, run_child,
                     scratch, spread)

CASES = ("gui-thread", "tab")
METHODS = ("trades", "daily")
TARGET_LAG_MS = 100.0       # the loop never late by more than this while the tab computes


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=500)
    parser.add_argument("--days", type=int, default=360)
    parser.add_argument("--simulations", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def stored_run(home: str, trips: int, days: int):
    """A done run with `trips` round trips and `days` days of a seeded random P&L."""
    import numpy as np
    import pandas as pd

    from terminal.backtest.runs import RunStore

    rng = np.random.default_rng(2701)
    pnl = rng.normal(80, 1_500, trips)
    rows, when = [], datetime(2023, 1, 3, 9)
    for i, result in enumerate(pnl):
        for side, price in (("Long", 3_000.0), ("Short", 3_000.0 + result / 10)):
            rows.append({"datetime": when, "tradeid": str(len(rows)), "orderid": str(i),
                         "symbol": "rb2701", "exchange": "SHFE", "direction": side,
                         "offset": "Open" if side == "Long" else "Close", "price": price,
                         "volume": 1.0})
            when += timedelta(minutes=7)
    day_list = [date(2023, 1, 3) + timedelta(days=i) for i in range(days)]
    net = rng.normal(150, 4_000, days)
    daily = pd.DataFrame({"date": day_list, "net_pnl": net, "commission": 0.0,
                          "slippage": 0.0, "turnover": 0.0}).set_index("date")
    runs = RunStore(home)
    run_id = runs.create("BenchStrategy", "rb2701.SHFE", "1m", day_list[0], day_list[-1],
                         {"capital": 1_000_000.0, "size": 10.0, "rate": 0.0,
                          "slippage": 0.0}, {})
    runs.save_result(run_id, {}, daily, pd.DataFrame(rows))
    return runs, run_id


def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    from PySide6.QtWidgets import QApplication

    from harness import QtTimerLag
    from terminal.backtest.pool_jobs import RunResult
    from terminal.services import montecarlo
    from terminal.ui.backtest.montecarlo import METHOD_CHOICES, MonteCarloPanel

    app = QApplication.instance() or QApplication([])
    runs, run_id = stored_run(args.home, args.trips, args.days)
    record = runs.get(run_id)
    result = RunResult(stats={}, daily=runs.load_daily(run_id), trades=runs.load_trades(run_id))
    panel = MonteCarloPanel()
    panel.resize(1200, 600)
    panel.show()
    panel.set_run(record, result)
    panel.method_box.setCurrentIndex(next(i for i, c in enumerate(METHOD_CHOICES)
                                          if c[1] == args.method and not c[2]))
    panel.simulations_box.setValue(args.simulations)
    for _ in range(20):
        app.processEvents()
    lags: list[float] = []
    busy = [True]
    timer = QtTimerLag(10, lags.append, lambda: busy[0])
    timer.start()
    start = time.perf_counter()
    if args.child == "gui-thread":
        simulated = montecarlo.simulate(record, result.daily, result.trades, args.method,
                                        args.simulations, 7)
        simulated.result.fan()
        montecarlo.percentile_rows(simulated)
        app.processEvents()
    else:
        job = panel.run()
        while not job.done:
            app.processEvents()
            time.sleep(0.001)
    took = time.perf_counter() - start
    busy[0] = False
    lags.append(timer.open_lag())
    if args.child == "tab" and panel.shown is None:
        raise RuntimeError(f"the tab showed no result: {panel.status.text()}")
    return {"seconds": took, "lag": spread([ms(v) for v in lags])}


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
        return
    print(f"Monte Carlo tab: {args.simulations:,} simulations, {args.trips} round trips, "
          f"{args.days} days; load {load_average()}")
    figures: dict[tuple[str, str], list[dict]] = {}
    for _ in range(args.rounds):
        for method in METHODS:
            for case in CASES:
                with scratch("bench-mc-") as (folder, env):
                    out = run_child(child_command(
                        __file__, ("--child", case), ("--method", method),
                        ("--home", folder / "backtests"), ("--trips", args.trips),
                        ("--days", args.days), ("--simulations", args.simulations)),
                        timeout=600, env=env)
                if "error" in out:
                    raise SystemExit(f"{case} {method}: {out['error']}")
                figures.setdefault((method, case), []).append(out)
    print("| method | case | compute s (median) | loop lag p50 ms | p99 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|")
    worst = {}
    for (method, case), outs in figures.items():
        seconds = sorted(o["seconds"] for o in outs)[len(outs) // 2]
        worst[(method, case)] = max(o["lag"]["max"] for o in outs)
        p50 = sorted(o["lag"]["p50"] for o in outs)[len(outs) // 2]
        p99 = sorted(o["lag"]["p99"] for o in outs)[len(outs) // 2]
        print(f"| {method} | {case} | {seconds:.2f} | {p50:.1f} | {p99:.1f} | "
              f"{worst[(method, case)]:.0f} |")
    for method in METHODS:
        tab, gui = worst[(method, "tab")], worst[(method, "gui-thread")]
        print(f"{method}: the tab's worst loop lag {tab:.0f} ms is {tab / gui:.2f}x the GUI "
              f"thread's {gui:.0f} ms; target <= {TARGET_LAG_MS:.0f} ms: "
              f"{met(tab <= TARGET_LAG_MS)}")


if __name__ == "__main__":
    main()
