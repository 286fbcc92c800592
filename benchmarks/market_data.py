"""Market data benchmark: this terminal's main window against VeighNa Trader's stock MainWindow.

A background thread feeds TickData round-robin over N symbols at a fixed rate (as
`BaseGateway.on_tick` does: EVENT_TICK and EVENT_TICK + vt_symbol) into each target's event
engine, with its main window shown (offscreen unless QT_QPA_PLATFORM is set). Each target and
rate runs in its own subprocess with a fresh temporary data directory, removed afterwards.

Per case it reports tick-to-GUI latency p50/p99 (tick created -> applied to the market table
on the GUI thread), GUI loop lag p99 (lateness of a 10 ms single-shot QTimer), time to drain
(end of feed -> last fed tick applied) and ticks fed. Before each burst one tick per symbol is
fed and applied so the table is full. Hand-run, not a test:

    .venv/bin/python benchmarks/market_data.py                       # 500 symbols, 10k and 20k/s, 3 s
    .venv/bin/python benchmarks/market_data.py --rates 5000 --seconds 5 --only ours
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
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
TARGETS = ("ours", "vnpy")
LAG_INTERVAL = 0.010


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[10_000, 20_000], help="ticks/s")
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each burst")
    parser.add_argument("--timeout", type=float, default=60.0, help="drain timeout, seconds")
    parser.add_argument("--only", choices=TARGETS, help="run one target only")
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


# ---------------------------------------------------------------------------------- child side
class Probe:
    """GUI-thread bookkeeping: latency per applied tick, warm-up rows, the last-tick marker."""

    def __init__(self, symbols: int) -> None:
        self.latencies: list[float] = []
        self.lags: list[float] = []
        self.warm_seen = 0
        self.warm = threading.Event()
        self.drained = threading.Event()
        self.drained_at = 0.0
        self._symbols = symbols
        self._armed = 0.0

    def seen(self, ticks, now: float) -> None:
        for tick in ticks:
            extra = tick.extra
            if extra is None:
                continue
            if extra.get("warm"):
                self.warm_seen += 1
                if self.warm_seen >= self._symbols:
                    self.warm.set()
                continue
            self.latencies.append(now - extra["t"])
            if extra.get("last"):
                self.drained_at = now
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
        self._timer.start(int(LAG_INTERVAL * 1000))

    def _fired(self) -> None:
        self.lags.append(max(0.0, time.perf_counter() - self._armed - LAG_INTERVAL))
        self._arm()

    def open_lag(self) -> float:
        """How overdue the lag timer is right now (a GUI thread still busy counts too)."""
        return max(0.0, time.perf_counter() - self._armed - LAG_INTERVAL)


def build_ours(data_paths, symbols: list[str], probe: Probe):
    from terminal import runtime as runtime_module
    from terminal.app import build_window
    from terminal.core.settings import Settings

    runtime = runtime_module.build(data_paths, Settings(watchlist=symbols))
    window = build_window(runtime)
    # Runs after every dock (market watch first) has applied the same batch.
    window.pump.subscribe(lambda batch: probe.seen(batch.ticks.values(), time.perf_counter()))
    return runtime.kernel.event_engine, window


def build_vnpy(symbols: list[str], probe: Probe):
    from vnpy.event import EventEngine
    from vnpy.trader.engine import MainEngine
    from vnpy.trader.ui import MainWindow
    from vnpy.trader.ui.widget import TickMonitor

    original = TickMonitor.process_event

    def process_event(self, event) -> None:  # connected to TickMonitor.signal in __init__
        original(self, event)
        probe.seen((event.data,), time.perf_counter())

    TickMonitor.process_event = process_event
    event_engine = EventEngine()
    return event_engine, MainWindow(MainEngine(event_engine), event_engine)


class Feeder(threading.Thread):
    """Warm-up, then a paced burst; afterwards waits for the drain (the timeout watchdog)."""

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
        self.volume = 0
        self.args, self.probe, self.report = args, probe, report

    def tick(self, index: int, extra: dict) -> None:
        price = self.prices[index] = self.prices[index] + random.choice((-1.0, 0.0, 1.0))
        self.volume += 1
        now = datetime.now(self.tz)
        tick = self.TickData(
            gateway_name="BENCH", symbol=self.codes[index], exchange=self.exchange, datetime=now,
            name=self.codes[index], volume=self.volume, open_interest=1000.0,
            last_price=price, last_volume=1, pre_close=3000.0, open_price=3000.0,
            high_price=price + 10, low_price=price - 10, localtime=now,
            bid_price_1=price - 1, bid_price_2=price - 2, bid_price_3=price - 3,
            bid_price_4=price - 4, bid_price_5=price - 5,
            ask_price_1=price + 1, ask_price_2=price + 2, ask_price_3=price + 3,
            ask_price_4=price + 4, ask_price_5=price + 5,
            bid_volume_1=5, bid_volume_2=6, bid_volume_3=7, bid_volume_4=8, bid_volume_5=9,
            ask_volume_1=5, ask_volume_2=6, ask_volume_3=7, ask_volume_4=8, ask_volume_5=9,
        )
        extra["t"] = time.perf_counter()
        tick.extra = extra
        self.put(self.Event(self.EVENT_TICK, tick))
        self.put(self.Event(self.EVENT_TICK + tick.vt_symbol, tick))

    def run(self) -> None:
        args, probe, n = self.args, self.probe, len(self.codes)
        for index in range(n):
            self.tick(index, {"warm": True})
        if not probe.warm.wait(args.timeout):
            self.report(None, None, error=f"warm-up: {probe.warm_seen}/{n} rows shown")
        time.sleep(0.5)  # let the filled table paint once
        probe.lags.clear()
        total = int(args.rate * args.seconds)
        sent, start = 0, time.perf_counter()
        while sent < total:
            due = min(total, int((time.perf_counter() - start) * args.rate) + 1)
            while sent < due:
                self.tick(sent % n, {"last": True} if sent == total - 1 else {})
                sent += 1
            time.sleep(0.001)
        feed_end = time.perf_counter()
        drained = probe.drained.wait(args.timeout)
        self.report(start, feed_end, fed=sent, drained=drained)


def child(args: argparse.Namespace) -> None:
    home = Path(tempfile.mkdtemp(prefix=f"bench-{args.child}-"))
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    data_paths = paths.prepare(home)  # before anything imports vn.py
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    symbols = [f"BM{i:04d}.SHFE" for i in range(args.symbols)]
    probe = Probe(len(symbols))
    if args.child == "ours":
        event_engine, window = build_ours(data_paths, symbols, probe)
    else:
        event_engine, window = build_vnpy(symbols, probe)
    window.resize(1500, 900)
    window.show()
    lock = threading.Lock()

    def report(start, feed_end, fed=0, drained=False, error=None) -> None:
        """Print one JSON line and exit; called by whichever thread finishes first."""
        lock.acquire()  # never released: the process ends here
        lat, lags = list(probe.latencies), list(probe.lags) + [probe.open_lag()]
        result = {
            "target": args.child, "rate": args.rate, "symbols": args.symbols, "error": error,
            "fed": fed, "fed_rate": fed / (feed_end - start) if fed else 0, "shown": len(lat),
            "p50": percentile(lat, 50), "p99": percentile(lat, 99), "drained": drained,
            "lag_p99": percentile(lags, 99), "lag_max": max(lags),
            "drain": probe.drained_at - feed_end if drained else None,
        }
        print(json.dumps(result), flush=True)
        shutil.rmtree(home, ignore_errors=True)
        os._exit(0)  # skips vn.py's close-confirmation dialog and the engines' shutdown

    probe.start_lag_timer()
    Feeder(event_engine, symbols, args, probe, report).start()
    app.exec()


# ---------------------------------------------------------------------------------- parent side
def run_case(target: str, rate: int, args: argparse.Namespace) -> dict:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    command = [sys.executable, str(SCRIPT), "--child", target, "--rate", str(rate),
               "--symbols", str(args.symbols), "--seconds", str(args.seconds),
               "--timeout", str(args.timeout)]
    print(f"running {target} at {rate:,} ticks/s ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=2 * args.timeout + args.seconds + 120)
    except subprocess.TimeoutExpired:
        return {"error": "the child process hung"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-500:]}"}
    return json.loads(lines[-1])


def show(rate: int, results: dict[str, dict], args: argparse.Namespace) -> None:
    def ms(value):
        return None if value is None else value * 1000

    rows = [
        ("ticks fed", lambda r: r.get("fed"), "{:,.0f}"),
        ("fed rate (ticks/s)", lambda r: r.get("fed_rate"), "{:,.0f}"),
        ("ticks reaching GUI", lambda r: r.get("shown"), "{:,.0f}"),
        ("tick->GUI p50 (ms)", lambda r: ms(r.get("p50")), "{:,.1f}"),
        ("tick->GUI p99 (ms)", lambda r: ms(r.get("p99")), "{:,.1f}"),
        ("GUI loop lag p99 (ms)", lambda r: ms(r.get("lag_p99")), "{:,.1f}"),
        ("GUI loop lag max (ms)", lambda r: ms(r.get("lag_max")), "{:,.1f}"),
        ("time to drain (ms)", lambda r: ms(r.get("drain")), "{:,.1f}"),
    ]
    targets = [t for t in TARGETS if t in results]
    print(f"\n{rate:,} ticks/s over {args.symbols} symbols, {args.seconds:g} s burst")
    print(f"  {'':24}" + "".join(f"{t:>14}" for t in targets) + ("  stock/ours" if len(targets) == 2 else ""))
    for label, get, fmt in rows:
        cells, values = [], []
        for target in targets:
            result = results[target]
            value = get(result)
            values.append(value)
            if result.get("error"):
                text = "error"
            elif label.startswith("time to drain") and not result.get("drained"):
                text = f"no drain>{args.timeout:g}s"
            else:
                text = "-" if value is None else fmt.format(value)
            cells.append(f"{text:>14}")
        ratio = ""
        if len(values) == 2 and all(isinstance(v, (int, float)) for v in values) and values[0]:
            ratio = f"{values[1] / values[0]:>11.1f}x"
        print(f"  {label:24}" + "".join(cells) + ratio)
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
    table = {rate: {target: run_case(target, rate, args) for target in targets} for rate in args.rates}
    print("\nours = terminal.ui.MainWindow, vnpy/stock = vnpy.trader.ui.MainWindow (VeighNa 4.5);"
          f" platform {os.environ.get('QT_QPA_PLATFORM', 'offscreen')}.")
    print("Latency: tick created in the feeder -> applied to the market table on the GUI thread,"
          " over the ticks that reach the GUI\n(ours keeps the latest tick per symbol per frame,"
          " superseded ones are never shown; stock shows every tick). Loop lag: 10 ms QTimer"
          " lateness over feed + drain.")
    for rate, results in table.items():
        show(rate, results, args)


if __name__ == "__main__":
    main()
