"""Market data benchmark: this terminal's main window against VeighNa Trader's stock MainWindow.

A background thread builds TickData round-robin over N symbols at a fixed rate and puts them
into the target's event engine the way `BaseGateway.on_tick` does (EVENT_TICK and
EVENT_TICK + vt_symbol), with the main window shown (offscreen unless QT_QPA_PLATFORM is set).
Each (target, rate) case runs in its own subprocess with a fresh temporary data directory,
deleted afterwards. One tick per symbol is fed and shown first, so the table is full.

Figures per case:
  tick->GUI      tick built in the feeder -> applied to the market table on the GUI thread, over
                 the ticks that reach the GUI (ours keeps only the latest tick per symbol per
                 frame); "every tick" also counts superseded ticks, as shown when a newer tick
                 of their symbol was applied.
  GUI loop lag   lateness of a 10 ms single-shot QTimer on the GUI thread, feed + drain.
  time to drain  end of the feed -> the last fed tick applied (or "did not drain").

Hand-run, not a test (from the project root):
    .venv/bin/python benchmarks/market_data.py         # 500 symbols, 10k and 20k ticks/s, 3 s
    .venv/bin/python benchmarks/market_data.py --rates 5000 --symbols 100 --seconds 5 --only ours
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
TARGETS = ("ours", "vnpy")
LAG_INTERVAL_MS = 10


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[10_000, 20_000], help="ticks/s")
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each burst")
    parser.add_argument("--timeout", type=float, default=60.0, help="drain timeout, seconds")
    parser.add_argument("--only", choices=TARGETS, help="run one target only")
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


# ---------------------------------------------------------------------------------- child side
class Probe:
    """GUI-thread bookkeeping: which benchmark ticks were applied when, and the loop lag."""

    def __init__(self, symbols: int) -> None:
        self.shown: list[tuple[float, dict]] = []  # (applied at, tick.extra)
        self.lags: list[float] = []
        self.warm_left = symbols
        self.warm = threading.Event()
        self.drained = threading.Event()

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
                self.shown.append((now, extra))
                if "last" in extra:
                    self.drained.set()

    def start_lag_timer(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._fired)
        self._arm()

    def _arm(self) -> None:
        self._armed = time.perf_counter()
        self._timer.start(LAG_INTERVAL_MS)

    def _fired(self) -> None:
        self.lags.append(self.open_lag())
        self._arm()

    def open_lag(self) -> float:
        """How late the lag timer is now; counts a GUI thread that is still busy at the end."""
        return max(0.0, time.perf_counter() - self._armed - LAG_INTERVAL_MS / 1000)


def build_ours(data_paths, symbols: list[str], probe: Probe):
    from terminal import runtime as runtime_module
    from terminal.app import build_window
    from terminal.core.settings import Settings

    runtime = runtime_module.build(data_paths, Settings(watchlist=symbols))
    window = build_window(runtime)  # the simulator is not connected
    # Called after every dock (the market watch first) has applied the same batch.
    window.pump.subscribe(lambda batch: probe.seen(batch.ticks.values(), time.perf_counter()))
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
        self.stamps: list[list[float]] = [[] for _ in symbols]  # creation times per symbol
        self.volume = 0
        self.args, self.probe, self.report = args, probe, report

    def tick(self, index: int, extra: dict) -> None:
        price = self.prices[index] = self.prices[index] + random.choice((-1.0, 0.0, 1.0))
        self.volume += 1
        now, code = datetime.now(self.tz), self.codes[index]
        tick = self.TickData(
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
        extra["t"] = time.perf_counter()
        if "warm" not in extra:
            extra["i"], extra["n"] = index, len(self.stamps[index])
            self.stamps[index].append(extra["t"])
        tick.extra = extra
        self.put(self.Event(self.EVENT_TICK, tick))
        self.put(self.Event(self.EVENT_TICK + tick.vt_symbol, tick))

    def run(self) -> None:
        args, probe, n = self.args, self.probe, len(self.codes)
        for index in range(n):
            self.tick(index, {"warm": True})
        if not probe.warm.wait(args.timeout):
            self.report(error=f"warm-up: {n - probe.warm_left}/{n} rows shown")
        time.sleep(0.5)  # let the full table paint
        probe.lags.clear()
        total, sent, start = int(args.rate * args.seconds), 0, time.perf_counter()
        while sent < total:
            due = min(total, int((time.perf_counter() - start) * args.rate) + 1)
            while sent < due:
                self.tick(sent % n, {"last": True} if sent == total - 1 else {})
                sent += 1
            time.sleep(0.001)
        feed_end = time.perf_counter()
        drained = probe.drained.wait(args.timeout)
        self.report(start, feed_end, sent, drained)


def figures(probe: Probe, feeder: Feeder, start: float, feed_end: float) -> dict:
    shown, lags = list(probe.shown), list(probe.lags) + [probe.open_lag()]
    latency = [now - extra["t"] for now, extra in shown]
    every: list[float] = []  # each fed tick until it, or a newer tick of its symbol, was applied
    by_symbol: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for now, extra in shown:
        by_symbol[extra["i"]].append((extra["n"], now))
    for index, applied in by_symbol.items():
        stamps, k = feeder.stamps[index], 0
        for n, now in sorted(applied):
            every += [now - stamp for stamp in stamps[k:n + 1]]
            k = max(k, n + 1)
    last = [now for now, extra in shown if "last" in extra]
    return {
        "shown": len(shown), "p50": percentile(latency, 50), "p99": percentile(latency, 99),
        "every_p99": percentile(every, 99), "lag_p99": percentile(lags, 99),
        "lag_max": max(lags), "drain": last[0] - feed_end if last else None,
    }


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    data_paths = paths.prepare(Path(args.home))  # before anything imports vn.py (or Qt starts)
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    symbols = [f"BM{i:04d}.SHFE" for i in range(args.symbols)]
    probe = Probe(len(symbols))
    build = build_ours if args.child == "ours" else build_vnpy
    event_engine, window = build(data_paths, symbols, probe)
    window.resize(1500, 900)
    window.show()
    lock = threading.Lock()

    def report(start=0.0, feed_end=0.0, fed=0, drained=False, error=None) -> None:
        """Print one JSON line and end the process; runs on the feeder thread."""
        lock.acquire()  # never released: the process ends here
        result = {"target": args.child, "rate": args.rate, "error": error, "fed": fed,
                  "fed_rate": fed / (feed_end - start) if fed else 0, "drained": drained}
        if not error:
            result.update(figures(probe, feeder, start, feed_end))
        print(json.dumps(result), flush=True)
        os._exit(0)  # skips vn.py's close-confirmation dialog and the engines' shutdown

    probe.start_lag_timer()
    feeder = Feeder(event_engine, symbols, args, probe, report)
    feeder.start()
    app.exec()


# ---------------------------------------------------------------------------------- parent side
def run_case(target: str, rate: int, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.mkdtemp(prefix=f"bench-{target}-")
    command = [sys.executable, str(SCRIPT), "--child", target, "--rate", str(rate),
               "--symbols", str(args.symbols), "--seconds", str(args.seconds),
               "--timeout", str(args.timeout), "--home", home]
    print(f"running {target} at {rate:,} ticks/s ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=2 * args.timeout + args.seconds + 120)
    except subprocess.TimeoutExpired:
        return {"error": "the child process hung"}
    finally:
        shutil.rmtree(home, ignore_errors=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-800:]}"}
    return json.loads(lines[-1])


ROWS = [  # label, key, milliseconds?, compare?
    ("ticks fed", "fed", False, False),
    ("fed rate (ticks/s)", "fed_rate", False, False),
    ("ticks reaching the GUI", "shown", False, False),
    ("tick->GUI p50 (ms)", "p50", True, True),
    ("tick->GUI p99 (ms)", "p99", True, True),
    ("  every tick p99 (ms)", "every_p99", True, True),
    ("GUI loop lag p99 (ms)", "lag_p99", True, True),
    ("GUI loop lag max (ms)", "lag_max", True, True),
    ("time to drain (ms)", "drain", True, True),
]


def show(rate: int, results: dict[str, dict], args: argparse.Namespace) -> None:
    targets = list(results)
    both = len(targets) == 2
    print(f"\n{rate:,} ticks/s over {args.symbols} symbols, {args.seconds:g} s burst")
    print(f"  {'':24}" + "".join(f"{t:>18}" for t in targets) + ("  stock/ours" if both else ""))
    for label, key, ms, compare in ROWS:
        cells, values = "", []
        for target in targets:
            result = results[target]
            value = result.get(key)
            value = value * 1000 if ms and value is not None else value
            values.append(value)
            if result.get("error"):
                text = "error"
            elif key == "drain" and not result.get("drained"):
                text = f"did not drain {args.timeout:g}s"
            else:
                text = "-" if value is None else f"{value:,.1f}" if ms else f"{value:,.0f}"
            cells += f"{text:>18}"
        ratio = ""
        if both and compare and None not in values and results["vnpy"].get("drained", True):
            ratio = f"{values[1] / values[0]:>11,.1f}x" if values[0] else ""
        print(f"  {label:24}{cells}{ratio}")
    for target in targets:
        if results[target].get("error"):
            print(f"  {target}: {results[target]['error']}")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        try:
            child(args)
        finally:  # stock vn.py's engine threads are not daemons: never hang on an error
            sys.stderr.flush()
            os._exit(1)
    targets = [args.only] if args.only else list(TARGETS)
    table = {rate: {t: run_case(t, rate, args) for t in targets} for rate in args.rates}
    print(f"\nours = terminal MainWindow, vnpy = stock vnpy.trader.ui.MainWindow; "
          f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM', 'offscreen')}, {os.cpu_count()} CPUs")
    print("tick->GUI: over the ticks that reach the GUI (ours coalesces to the latest tick per "
          "symbol per frame;\n  stock applies every tick); 'every tick' counts a superseded tick "
          "as shown when a newer one of its symbol is.")
    for rate, results in table.items():
        show(rate, results, args)


if __name__ == "__main__":
    main()
