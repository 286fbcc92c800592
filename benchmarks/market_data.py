"""Market data benchmark: this terminal's main window against VeighNa Trader's stock MainWindow.

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/market_data.py        # 500 symbols, 10k and 20k ticks/s, 3 s
    .venv/bin/python benchmarks/market_data.py --rates 5000 --symbols 100 --seconds 5 --only ours

A thread builds TickData round-robin over the symbols at a fixed rate and puts each into the
target's event engine as `BaseGateway.on_tick` does (EVENT_TICK and EVENT_TICK + vt_symbol),
main window shown (offscreen unless QT_QPA_PLATFORM is set). Each (target, rate) runs in its own
subprocess and temporary data directory. One tick per symbol is shown first to fill the table,
and the burst waits for the window to settle (its deferred imports loaded; on a first start,
as each run is, the terminal's first chart opened, which imports pyqtgraph on the GUI thread).
tick->GUI is from the put to the tick applied to the market table on the GUI thread; loop lag
is the lateness of a 10 ms QTimer over feed + drain; drain is end of feed -> last tick applied.
--prebuilt builds the ticks before the burst, leaving out the producer's own Python cost (which
a real gateway, building TickData in Python, has as well); the held ticks add GC work instead.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from harness import ROOT, QtTimerLag, child_command, child_main, emit, run_child, scratch

TARGETS = ("ours", "vnpy")
LAG_INTERVAL_MS = 10


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[10_000, 20_000], help="ticks/s")
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each burst")
    parser.add_argument("--timeout", type=float, default=60.0, help="drain timeout, seconds")
    parser.add_argument("--only", choices=TARGETS, help="run one target only")
    parser.add_argument("--prebuilt", action="store_true", help="build the ticks before the burst")
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------- child side
class Probe:
    """GUI-thread bookkeeping: which benchmark ticks were applied when, and the loop lag."""

    def __init__(self, symbols: int) -> None:
        # tick.extra of every applied tick, with "at" added: dicts of numbers only, which the
        # cyclic GC does not track, so the bookkeeping does not slow its full collections.
        self.shown: list[dict] = []
        self.lags: list[float] = []
        self.warm_left = symbols
        self.warm, self.drained = threading.Event(), threading.Event()
        self.settled = threading.Event()  # the window's start-up work is done (see build_ours)
        self.timer = QtTimerLag(LAG_INTERVAL_MS, self.lags.append)

    def seen(self, ticks, now: float) -> None:
        for tick in ticks:
            extra = tick.extra
            if not extra:
                continue
            if "warm" in extra:
                self.warm_left -= 1
                if self.warm_left == 0:
                    self.warm.set()
            else:
                extra["at"] = now
                self.shown.append(extra)
                if "last" in extra:
                    self.drained.set()


def build_ours(data_paths, symbols: list[str], probe: Probe):
    from terminal.system import runtime as runtime_module
    from terminal.core.interpreter import tune_for_gui
    from terminal.core.settings import Settings
    from terminal.ui.main_window import MainWindow

    runtime = runtime_module.build(data_paths, Settings(watchlist=symbols))
    window = MainWindow(runtime)  # the simulator is not connected
    tune_for_gui()  # as terminal.app.main does once the window is built
    # Called after every dock (the market watch first) has applied the same batch.
    window.pump.subscribe(lambda batch: probe.seen(batch.ticks.values(), time.perf_counter()))
    # The burst waits for the window to settle: what it does once after the first paint (the
    # deferred imports, a first start's chart) is the cold start's, not the tick path's. Slots
    # run in the order they were connected: this one after the window's own.
    if getattr(window, "is_settled", True):
        probe.settled.set()
    else:
        window.settled.connect(probe.settled.set)
    return runtime.kernel.event_engine, window


def build_vnpy(data_paths, symbols: list[str], probe: Probe):
    from vnpy.event import EventEngine
    from vnpy.trader.engine import MainEngine
    from vnpy.trader.ui import MainWindow
    from vnpy.trader.ui.widget import TickMonitor

    original = TickMonitor.process_event

    def process_event(self, event) -> None:  # TickMonitor connects its signal to this
        original(self, event)
        probe.seen((event.data,), time.perf_counter())

    TickMonitor.process_event = process_event
    probe.settled.set()  # nothing left to settle after the first paint
    event_engine = EventEngine()
    return event_engine, MainWindow(MainEngine(event_engine), event_engine)


class Feeder(threading.Thread):
    """Warm-up, a paced burst, then waiting for the drain: it also is the timeout watchdog."""

    def __init__(self, event_engine, symbols: list[str], args, probe: Probe, report) -> None:
        super().__init__(name="bench-feeder", daemon=True)
        from vnpy.event import Event
        from vnpy.trader.constant import Exchange
        from vnpy.trader.event import EVENT_TICK
        from vnpy.trader.object import TickData

        self.Event, self.EVENT_TICK, self.TickData = Event, EVENT_TICK, TickData
        self.exchange, self.tz = Exchange.SHFE, ZoneInfo("Asia/Shanghai")
        self.put = event_engine.put
        self.codes = [s.split(".")[0] for s in symbols]
        self.prices = [random.uniform(1000, 5000) for _ in symbols]
        self.stamps: list[list[float]] = [[] for _ in symbols]  # put times, per symbol
        self.volume = 0
        self.args, self.probe, self.report = args, probe, report

    def make(self, index: int):
        price = self.prices[index] = self.prices[index] + random.choice((-1.0, 0.0, 1.0))
        self.volume += 1
        now, code = datetime.now(self.tz), self.codes[index]
        return self.TickData(
            gateway_name="BENCH", symbol=code, exchange=self.exchange, datetime=now, name=code,
            volume=self.volume, open_interest=1000.0, last_price=price, last_volume=1,
            pre_close=3000.0, open_price=3000.0, high_price=price + 10, low_price=price - 10,
            localtime=now,
            bid_price_1=price - 1, bid_price_2=price - 2, bid_price_3=price - 3,
            bid_price_4=price - 4, bid_price_5=price - 5,
            ask_price_1=price + 1, ask_price_2=price + 2, ask_price_3=price + 3,
            ask_price_4=price + 4, ask_price_5=price + 5,
            bid_volume_1=5, bid_volume_2=6, bid_volume_3=7, bid_volume_4=8, bid_volume_5=9,
            ask_volume_1=5, ask_volume_2=6, ask_volume_3=7, ask_volume_4=8, ask_volume_5=9,
        )

    def send(self, tick, index: int, extra: dict) -> None:
        extra["t"] = now = time.perf_counter()
        if "warm" not in extra:
            extra["i"], extra["n"] = index, len(self.stamps[index])
            self.stamps[index].append(now)
        tick.extra = extra
        self.put(self.Event(self.EVENT_TICK, tick))
        self.put(self.Event(self.EVENT_TICK + tick.vt_symbol, tick))

    def run(self) -> None:
        args, probe, n = self.args, self.probe, len(self.codes)
        for index in range(n):
            self.send(self.make(index), index, {"warm": True})
        if not probe.warm.wait(args.timeout):
            self.report(error=f"warm-up: {n - probe.warm_left}/{n} rows shown")
        if not probe.settled.wait(args.timeout):
            self.report(error="the window did not settle")
        total, sent = int(args.rate * args.seconds), 0
        ticks = [self.make(k % n) for k in range(total)] if args.prebuilt else None
        time.sleep(0.5)  # let the full table paint
        probe.lags.clear()
        start, cpu = time.perf_counter(), time.thread_time()
        while sent < total:
            due = min(total, int((time.perf_counter() - start) * args.rate) + 1)
            while sent < due:
                tick = ticks[sent] if ticks else self.make(sent % n)
                self.send(tick, sent % n, {"last": True} if sent == total - 1 else {})
                sent += 1
            if sent < total:
                time.sleep(0.001)
        feed_end, cpu = time.perf_counter(), time.thread_time() - cpu
        drained = probe.drained.wait(args.timeout)
        self.report(start, feed_end, sent, drained, feeder_us=cpu / max(1, sent) * 1e6)


def figures(probe: Probe, feeder: Feeder, feed_end: float) -> dict:
    from terminal.core.looplag import percentile

    shown, lags = list(probe.shown), [*probe.lags, probe.timer.open_lag()]
    every: list[float] = []  # each fed tick until it, or a newer tick of its symbol, was applied
    by_symbol: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for extra in shown:
        by_symbol[extra["i"]].append((extra["n"], extra["at"]))
    for index, applied in by_symbol.items():
        stamps, k = feeder.stamps[index], 0
        for n, now in sorted(applied):
            every += [now - stamp for stamp in stamps[k:n + 1]]
            k = max(k, n + 1)
    latency = [extra["at"] - extra["t"] for extra in shown]
    last = [extra["at"] for extra in shown if "last" in extra]
    return {"shown": len(shown), "p50": percentile(latency, 50), "p99": percentile(latency, 99),
            "every_p99": percentile(every, 99), "lag_p99": percentile(lags, 99),
            "lag_max": max(lags), "drain": last[0] - feed_end if last else None}


def child(args: argparse.Namespace) -> None:
    """Reports with `emit` from the feeder thread; returning is a failure."""
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    data_paths = paths.prepare(Path(args.home))  # before vn.py is imported and Qt starts
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    symbols = [f"BM{i:04d}.SHFE" for i in range(args.symbols)]
    probe = Probe(len(symbols))
    build = build_ours if args.child == "ours" else build_vnpy
    event_engine, window = build(data_paths, symbols, probe)
    window.resize(1500, 900)
    window.show()
    lock = threading.Lock()

    def report(start=0.0, feed_end=0.0, fed=0, drained=False, error=None, **more) -> None:
        """Print one JSON line and end the process; runs on the feeder thread."""
        lock.acquire()  # never released: the process ends here
        result = {"error": error, "fed": fed, "drained": drained, **more,
                  "fed_rate": fed / (feed_end - start) if fed else None}
        if not error:
            result.update(figures(probe, feeder, feed_end))
        emit(result)  # skips vn.py's close-confirmation dialog and the engines' shutdown

    probe.timer.start()
    feeder = Feeder(event_engine, symbols, args, probe, report)
    feeder.start()
    app.exec()


# ---------------------------------------------------------------------------------- parent side
def run_case(target: str, rate: int, args: argparse.Namespace) -> dict:
    print(f"running {target} at {rate:,} ticks/s ...", file=sys.stderr, flush=True)
    with scratch(f"bench-{target}-") as (home, env):
        return run_child(child_command(
            __file__, "--child", target, ("--rate", rate), ("--symbols", args.symbols),
            ("--seconds", args.seconds), ("--timeout", args.timeout), ("--home", home),
            ("--prebuilt", args.prebuilt)),
            timeout=2 * args.timeout + args.seconds + 120, env=env)


ROWS = [("ticks fed", "fed", 1), ("fed rate (ticks/s)", "fed_rate", 1),  # label, key, scale
        ("feeder CPU (us/tick)", "feeder_us", 1), ("ticks reaching the GUI", "shown", 1),
        ("tick->GUI p50 (ms)", "p50", 1000), ("tick->GUI p99 (ms)", "p99", 1000),
        ("  every tick p99 (ms)", "every_p99", 1000), ("GUI loop lag p99 (ms)", "lag_p99", 1000),
        ("GUI loop lag max (ms)", "lag_max", 1000), ("time to drain (ms)", "drain", 1000)]


def show(rate: int, results: dict[str, dict], args: argparse.Namespace) -> None:
    both = len(results) == 2
    print(f"\n{rate:,} ticks/s over {args.symbols} symbols, {args.seconds:g} s burst")
    print(f"  {'':24}" + "".join(f"{t:>18}" for t in results) + ("  stock/ours" if both else ""))
    for label, key, scale in ROWS:
        cells, values = "", []
        for result in results.values():
            value = result.get(key)
            values.append(None if value is None else value * scale)
            if result.get("error"):
                text = "error"
            elif key == "drain" and not result.get("drained"):
                text = f"did not drain {args.timeout:g}s"
            else:
                text = "-" if value is None else f"{values[-1]:,.{1 if scale > 1 else 0}f}"
            cells += f"{text:>18}"
        ratio = ""
        if both and scale > 1 and None not in values and values[0]:
            ratio = f"{values[1] / values[0]:>11,.1f}x"
            if not results["vnpy"].get("drained"):
                ratio += " (vnpy undrained)"
        print(f"  {label:24}{cells}{ratio}")
    for target, result in results.items():
        if result.get("error"):
            print(f"  {target}: {result['error']}")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:  # stock vn.py's engine threads are not daemons: never hang on an error
        child_main(lambda: child(args))
    targets = [args.only] if args.only else list(TARGETS)
    table = {rate: {t: run_case(t, rate, args) for t in targets} for rate in args.rates}
    print(f"\nours = terminal MainWindow, vnpy = stock vnpy.trader.ui.MainWindow; "
          f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM', 'offscreen')}, "
          f"{os.cpu_count()} CPUs, ticks {'prebuilt' if args.prebuilt else 'built while feeding'}")
    print("tick->GUI is over the ticks that reach the GUI: ours shows the latest tick per symbol "
          "per frame, stock every tick;\n'every tick' counts a superseded tick as shown when a "
          "newer tick of its symbol is.")
    for rate, results in table.items():
        show(rate, results, args)


if __name__ == "__main__":
    main()
