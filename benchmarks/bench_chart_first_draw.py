"""First draw of a chart on a simulated contract, with its history from the simulated
exchange's `query_history` (request -> bars -> columns -> drawn), beside the first draw of the
same bars read from the market store (today's path for a stored symbol), in one run.

Each case runs in a child process of its own (harness.run_child): a fresh interpreter, the
terminal's ChartSources (services.chart_history) over vn.py's MainEngine with the simulator
connected on a fixed ManualClock, and a shown ChartWidget. Timed: from asking for the history
to the chart repainted with it. The first ask is the cold one (numpy's and pandas' first
calls included, as a trader's first chart pays them); then `--repeats` more.

    .venv/bin/python benchmarks/bench_chart_first_draw.py [--repeats 9]

Target (issue 18): under 300 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from harness import ROOT, child_command, child_main, met, run_child, scratch, spread

TARGET_MS = 300.0
VT_SYMBOL = "rb2701.SHFE"
CASES = ("sim", "store")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--child", choices=CASES)
    parser.add_argument("--home")
    return parser.parse_args(argv)


def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    paths.prepare(Path(args.home))
    from datetime import datetime

    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from vnpy.event import EventEngine
    from vnpy.trader.constant import Exchange
    from vnpy.trader.engine import MainEngine

    from terminal.core.timezone import CHINA_TZ
    from terminal.gateways.sim import SimGateway
    from terminal.gateways.sim.clock import ManualClock
    from terminal.services.chart_history import ChartSources, columns_of
    from terminal.storage.market_store import MarketStore
    from terminal.ui.chart.widget import ChartWidget

    app = QApplication([sys.argv[0]])
    main_engine = MainEngine(EventEngine())
    gateway = main_engine.add_gateway(SimGateway)
    gateway.clock = ManualClock(datetime(2026, 12, 9, 10, 20, tzinfo=CHINA_TZ))
    gateway.connect({"seed": 7})
    store = MarketStore(Path(args.home) / "market")
    if args.child == "store":     # the same bars, stored beforehand (not timed)
        stored = ChartSources(store, main_engine).history("rb2701", Exchange.SHFE, "1m")
        store.save_columns("rb2701", Exchange.SHFE, "1m", stored.bars, "sim")
        del columns_of
    sources = ChartSources(store, main_engine)
    times, count = [], 0
    for _ in range(args.repeats + 1):
        widget = ChartWidget(CHINA_TZ)
        widget.resize(1200, 700)
        widget.show()
        QTest.qWaitForWindowExposed(widget, 5000)
        app.processEvents()
        started = time.perf_counter()
        history = sources.history("rb2701", Exchange.SHFE, "1m")
        widget.set_history(history.bars)
        widget.repaint()
        app.processEvents()
        times.append(time.perf_counter() - started)
        count = len(widget.series)
        widget.close()
        widget.deleteLater()
        app.processEvents()
    return {"bars": count, "source": history.source, "cold": times[0], "warm": times[1:]}


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
    results = {}
    for case in CASES:
        with scratch(f"first-draw-{case}-") as (folder, env):
            results[case] = run_child(child_command(
                __file__, ("--child", case), ("--home", folder), ("--repeats", args.repeats)),
                timeout=300, env=env)
    print(f"first draw of a 1-minute chart of {VT_SYMBOL}, ask -> drawn, {args.repeats} "
          "warm repeats after the cold one")
    for case, result in results.items():
        if "error" in result:
            print(f"  {case}: {result['error']}")
            continue
        warm = spread(result["warm"])
        print(f"  {case:<6} {result['bars']:,} bars ({result['source'] or 'the store'}): cold "
              f"{result['cold'] * 1000:.0f} ms, warm p50 {warm['p50'] * 1000:.0f} ms, max "
              f"{warm['max'] * 1000:.0f} ms")
    sim, store = results.get("sim", {}), results.get("store", {})
    if "error" not in sim and "error" not in store:
        ratio = spread(sim["warm"])["p50"] / spread(store["warm"])["p50"]
        print(f"  sim / store (warm p50): {ratio:.2f}")
        print(f"  first draw from query_history < {TARGET_MS:g} ms: "
              f"{met(max(sim['cold'], *sim['warm']) * 1000 < TARGET_MS)}")


if __name__ == "__main__":
    main()
