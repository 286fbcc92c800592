"""Endurance (soak) benchmark: the full terminal under 5,000 ticks/s for minutes on end.

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/soak.py                    # 10 minutes at 5,000 ticks/s
    .venv/bin/python benchmarks/soak.py --minutes 3 --out /tmp/soak
    .venv/bin/python benchmarks/soak.py --minutes 10 --stock   # and VeighNa Trader beside it

Ours runs in this process as `terminal.app.main` runs it: a QApplication (offscreen unless
QT_QPA_PLATFORM is set), a qasync loop, `terminal.app.main.start(home, show=True, lag=...)` on a
temporary data directory, `tune_for_gui()`, the LoopLagMonitor. The simulated exchange quotes
its 24 contracts at --rate / 24 snapshots a second each (settings `sim_quote_rate`), every one
of them in the market watch. Before the start the store gets --bars 1-minute bars (a seeded
random walk ending now) of the two chart symbols; then two chart docks are opened on them
(side by side, both painting), the health dock is added to the window, one lot of rb2701.SHFE
is bought from the order ticket (a position held through the run), and a CTA strategy
(the shipped RsiReversionStrategy plugin on rb2701.SHFE, 1-minute bars, RSI(2) crossing 50
in or out, so it trades every few minutes from the history onwards) is added, inited and
started through `runtime.cta`.
--record also records the simulator's ticks and bars (`record_simulator`), which the terminal
does not do by default.

Every --interval seconds (10) a row is recorded: resident memory, ticks/s through the event
engine and reaching the GUI, the largest event queue, bridge backlog, journal and recorder
queue of the health dock's 1-second samples in the interval, GUI loop lag p50/p99/max over the
interval (the LoopLagMonitor: lateness of a 20 ms sleep), the hypervisor's steal and the lag
p99 over the wakes it stole nothing from (p99*; see benchmarks/hoststeal.py: on a virtual
machine the host takes vCPUs away for tens of ms, which no code can win back), process and
GUI-thread CPU, threads, full garbage collections, records journaled and trades. Rows are
printed as they come and written as CSV to --out (default a temporary folder), with the
1-second health samples beside them.

Targets (the verdict at the end): resident memory grows under 5% from the end of the first
minute to the end (the slope is reported too); no queue grows (the median of the last third
of the per-interval maxima is at most the first third's + an allowance, and no queue ever
passes the health view's "bad" limit); GUI loop lag p99 under 16 ms in every interval; the
achieved tick rate within 5% of --rate. The lag over unstolen wakes is reported beside the
target, not instead of it.

--stock runs VeighNa Trader's stock main window (`vnpy.trader.ui.MainWindow`, stock
EventEngine and MainEngine, its TickMonitor) in a subprocess, fed by the same simulated
exchange (`SimGateway` added to the stock MainEngine, all 24 contracts subscribed, same rate
and seed), with the same 20 ms lag probe (driven by a Qt timer there, no qasync) and the same
rows; GUI backlog there is the tick events emitted to the GUI and not yet processed (the stock
monitor queues one Qt signal per tick). The subprocess runs in a temporary folder holding
`.vntrader`, with HOME and the XDG folders pointing into it, so nothing reaches the real home.
Ctrl-C ends a run early and still reports what was recorded.

Diagnosis (not part of the figure): --stalls samples the GUI thread's stack every 2 ms and lists
what it was doing during each loop lag over 16 ms (a fourth Python thread: on the 2-core machine
it puts the lag itself at p99 100-200 ms, and walking another thread's frames has crashed
Python 3.11 once here, a known CPython 3.11 hazard, cpython#111363; `py-spy record --threads
--gil` from outside is the safer view); --charts 0/1 opens fewer charts; --flat holds
no position and leaves the ticket empty; --frame-ms runs the pump at another frame;
--switch-interval sets another GIL switch interval (seconds) after the terminal's own;
--entry-points times each GUI entry point that does real work (set up included); the rows
also show full garbage collections (count, longest) and the GUI thread's own CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHART_SYMBOLS = ("rb2701.SHFE", "IF2612.CFFEX")
STRATEGY = ("RsiReversionStrategy", "soak_rsi", "rb2701.SHFE",
            {"bar_minutes": 1, "rsi_period": 2, "atr_period": 2, "oversold": 50.0,
             "overbought": 50.0, "exit_level": 50.0, "max_bars": 2, "fixed_size": 1})
CONTRACTS = 24                 # the simulated exchange's contracts (terminal.market.contracts)
TARGET_MEMORY = 0.05
TARGET_LAG = 0.016
QUIET_STEAL = 1.0              # percent: an interval the host took next to nothing from
TARGET_RATE = 0.05
# What a queue's last third may exceed its first third by (on top of 10%), in items or in
# seconds of ticks at the asked rate: a snapshot of a queue drained every few milliseconds
# (event queue, ticks waiting for the GUI's next frame) or every half second (recorder)
# jumps by that much from one sample to the next without any backlog.
QUEUE_ALLOWANCE = {"event_queue": 0.1, "bridge_pending": 100, "journal_queue": 50,
                   "recorder_queue": 0.6, "gui_backlog": 0.1}
RATE_ALLOWANCE = {"event_queue", "recorder_queue", "gui_backlog"}
QUEUES = ("event_queue", "bridge_pending", "journal_queue", "recorder_queue")
THREAD_COLUMNS = {"sim_cpu": "sim-exchange", "events_cpu": "vnpy-events"}   # column: thread
FIELDS = ["t", "rss_mb", "engine_ticks_s", "gui_ticks_s", "event_queue", "bridge_pending",
          "journal_queue", "recorder_queue", "gui_backlog", "lag_p50_ms", "lag_p99_ms",
          "lag_max_ms", "lag_samples", "steal_pct", "lag_p99_unstolen_ms", "unstolen_samples",
          "cpu", "gui_cpu", "sim_cpu", "events_cpu", "working",
          "threads", "gc_full", "gc_full_ms",
          "journaled", "trades"]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the run")
    parser.add_argument("--rate", type=float, default=5_000.0, help="ticks/s in total")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds per row")
    parser.add_argument("--bars", type=int, default=100_000,
                        help="1-minute bars of history per chart symbol")
    parser.add_argument("--charts", type=int, default=2, choices=(0, 1, 2),
                        help="chart docks to open (diagnosis: what the charts cost)")
    parser.add_argument("--flat", action="store_true",
                        help="hold no position and leave the order ticket empty (diagnosis)")
    parser.add_argument("--frame-ms", type=int,
                        help="Settings.frame_ms (default: the terminal's) for a what-if")
    parser.add_argument("--entry-points", action="store_true",
                        help="diagnose: time each GUI entry point (paints, refreshes, drains)")
    parser.add_argument("--switch-interval", type=float,
                        help="the GIL switch interval in seconds (default: the terminal's)")
    parser.add_argument("--record", action="store_true",
                        help="record the simulator's ticks and bars too")
    parser.add_argument("--out", help="folder for the CSV files (default: a temporary one)")
    parser.add_argument("--stock", action="store_true",
                        help="also run VeighNa Trader's stock main window, in a subprocess")
    parser.add_argument("--stock-only", action="store_true", help="run the stock window only")
    parser.add_argument("--stalls", action="store_true",
                        help="diagnose: sample the GUI thread's stack every 2 ms and report what "
                             "it was doing during each loop lag over 16 ms (costly, and it can "
                             "crash Python 3.11: see the module's docstring)")
    parser.add_argument("--child-stock", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def lag_figures(lags: list[float]) -> dict:
    return {"lag_p50_ms": _ms(percentile(lags, 50)), "lag_p99_ms": _ms(percentile(lags, 99)),
            "lag_max_ms": _ms(max(lags) if lags else None), "lag_samples": len(lags)}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class Stop:
    """Ctrl-C: end the run at the next row, keep what was recorded."""

    def __init__(self) -> None:
        self.asked = False
        signal.signal(signal.SIGINT, self._asked)

    def _asked(self, *_) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        print("\nstopping after this row (Ctrl-C again to abort)", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------- ours
def seed_history(data_paths, count: int) -> None:
    """`count` 1-minute bars of each chart symbol up to the last minute: a seeded random walk
    ending at the simulator's starting price (so the strategy's indicators carry on)."""
    import numpy as np
    from vnpy.trader.constant import Exchange

    from terminal.market import contracts
    from terminal.storage.market_store import MarketStore

    if count <= 0:
        return
    store = MarketStore(data_paths.market_dir)
    now = datetime.now(store.tz).replace(second=0, microsecond=0)
    first = now - timedelta(minutes=count)
    times = (np.arange(count, dtype=np.int64) * 60 + int(first.timestamp())) * 1_000_000_000
    rng = np.random.default_rng(7)
    for vt_symbol in CHART_SYMBOLS:
        spec = contracts.find(vt_symbol)
        step = spec.base_price * 0.0004
        walk = np.cumsum(rng.normal(0, step, count))
        close = spec.base_price + walk - walk[-1]     # ends where the simulator starts
        close = np.round(close / spec.pricetick) * spec.pricetick
        open_ = np.concatenate(([close[0]], close[:-1]))
        high = np.maximum(open_, close) + spec.pricetick * rng.integers(0, 4, count)
        low = np.minimum(open_, close) - spec.pricetick * rng.integers(0, 4, count)
        volume = rng.integers(10, 500, count).astype(float)
        store.save_columns(spec.symbol, Exchange(spec.exchange.value), "1m", {
            "datetime": times, "open_price": open_, "high_price": high, "low_price": low,
            "close_price": close, "volume": volume, "turnover": volume * close * spec.size,
            "open_interest": np.full(count, 10_000.0)})
    store.close()


async def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {timeout:g} s")
        await asyncio.sleep(0.05)


class OurSoak:
    def __init__(self, runtime, window, lag, args, stop: Stop) -> None:
        self.runtime, self.window, self.lag, self.args, self.stop = runtime, window, lag, args, stop
        self.rows: list[dict] = []
        self.health: list = []             # every 1-second HealthSample
        self.notes: list[str] = []
        self.backlog_peak = 0

    async def setup(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QDockWidget

        from terminal.core.health import HealthSampler
        from terminal.ui.docks.health import HealthDock

        window, runtime = self.window, self.runtime
        watch = window.market_watch.model
        await wait_for(lambda: watch.rowCount() >= CONTRACTS, 60, "24 rows in the market watch")
        charts = [window.open_chart(symbol) for symbol in CHART_SYMBOLS[:self.args.charts]]
        if len(charts) == 2:
            first, second = (window.docks[name] for name in list(window.charts)[-2:])
            window.splitDockWidget(first, second, Qt.Orientation.Vertical)   # both painting
        await wait_for(lambda: not any(chart.loading for chart in charts), 120,
                       "chart history loaded")
        self.health_dock = HealthDock(HealthSampler.for_runtime(runtime, self.lag))
        self.health_dock.sampled.connect(self._sampled)
        dock = QDockWidget("Health", window)
        dock.setObjectName("health")
        dock.setWidget(self.health_dock)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        window.tabifyDockWidget(window.docks["orders"], dock)
        dock.show()
        dock.raise_()
        from terminal.app.smoke import round_trip

        # A position held from the start (bought from the order ticket, as the smoke test
        # does): its line on the chart and its row are updated on every tick of rb.
        if not self.args.flat:
            await round_trip(runtime, window, timeout=30)
        cta = runtime.cta
        class_name, name, vt_symbol, setting = STRATEGY
        if name not in cta.strategies:
            cta.add_strategy(class_name, name, vt_symbol, dict(setting))
        cta.init_strategy(name)
        strategy = cta.strategies[name]
        await wait_for(lambda: strategy.inited, 120, f"strategy {name} inited")
        cta.start_strategy(name)
        await wait_for(lambda: strategy.trading, 30, f"strategy {name} trading")
        self.strategy = strategy
        self.charts = charts
        await asyncio.sleep(2.0)            # let the first paints of everything pass

    def _sampled(self, sample, _levels) -> None:
        """Every second, with the health dock's sample: the GUI backlog too (tick events the
        bridge folded that the GUI has not drained yet)."""
        self.health.append(sample)
        bridge, pump = self.runtime.kernel.bridge, self.window.pump
        self.backlog_peak = max(self.backlog_peak, bridge.ticks_received - pump.tick_events)

    async def run(self) -> None:
        from hoststeal import steal_figures  # (benchmarks/, this script's folder)

        args, runtime, window = self.args, self.runtime, self.window
        bridge, pump, journal = runtime.kernel.bridge, window.pump, runtime.journal
        end = time.monotonic() + args.minutes * 60
        start = mark = time.monotonic()
        marks = (bridge.ticks_received, pump.tick_events, time.process_time(), time.thread_time())
        gc_watch = GcWatch()
        stalls = None
        if args.stalls:
            stalls = StallSampler(self.lag)
            stalls.start()
        threads_before = threads_mark = thread_cpu()
        while not self.stop.asked:
            due = mark + args.interval
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            now = time.monotonic()
            span = now - mark
            ticks, shown, cpu = bridge.ticks_received, pump.tick_events, time.process_time()
            gui_cpu = time.thread_time()        # this coroutine runs on the GUI thread
            threads_now = thread_cpu()
            samples = [s for s in self.health if s.monotonic > mark]
            latest = self.health[-1] if self.health else None
            row = {
                "t": round(now - start, 1),
                "rss_mb": round(self.health_dock.sampler.process.memory_info().rss / 2**20, 1),
                "engine_ticks_s": round((ticks - marks[0]) / span, 1),
                "gui_ticks_s": round((shown - marks[1]) / span, 1),
                **{name: _largest(samples, name) for name in QUEUES},
                "gui_backlog": max(self.backlog_peak, bridge.ticks_received - pump.tick_events),
                **lag_figures(self.lag.recent(span)),
                **steal_figures(self.lag.recent_tagged(span, now), span),
                "cpu": round((cpu - marks[2]) / span, 2),
                "gui_cpu": round((gui_cpu - marks[3]) / span, 2),
                **{key: round((threads_now.get(name, 0.0) - threads_mark.get(name, 0.0)) / span, 2)
                   for key, name in THREAD_COLUMNS.items()},
                "working": len(runtime.kernel.main_engine.get_all_active_orders()),
                "threads": latest.threads if latest else None,
                **gc_watch.take(),
                "journaled": journal.written,
                "trades": len(runtime.kernel.main_engine.get_all_trades()),
            }
            self.rows.append(row)
            print_row(row, len(self.rows) == 1)
            self.backlog_peak = 0
            if stalls is not None:
                stalls.collect(mark)
            mark, marks, threads_mark = now, (ticks, shown, cpu, gui_cpu), threads_now
            if now >= end - 0.5:
                break
        self.notes += gc_watch.close()
        if stalls is not None:
            stalls.stop.set()
            self.notes += stalls.report()
        elapsed = time.monotonic() - start
        after = thread_cpu()
        busy = {name: (after[name] - threads_before.get(name, 0.0)) / elapsed for name in after}
        self.notes.append("CPU by thread over the run (cores): " + ", ".join(
            f"{name} {cores:.2f}" for name, cores in sorted(busy.items(), key=lambda i: -i[1])
            if cores >= 0.005))
        self.notes.append(f"strategy {self.strategy.strategy_name}: pos {self.strategy.pos}, "
                          f"trading {self.strategy.trading}, "
                          f"handler errors {runtime.kernel.event_engine.handler_errors}, "
                          f"GUI consumer errors {window.pump.consumer_errors}, "
                          f"CTA failures {runtime.cta.failures}")


class StallSampler(threading.Thread):
    """Diagnostic (--stalls): the GUI thread's Python stack every 2 ms, kept for a minute;
    `report` lists what it was in during the loop lags over one frame."""

    def __init__(self, lag) -> None:
        super().__init__(name="stall-sampler", daemon=True)
        from collections import Counter, deque

        self.lag, self.main = lag, threading.main_thread().ident
        self.samples: deque = deque(maxlen=30_000)
        self.counts: Counter = Counter()
        self.stalls = 0
        self.stop = threading.Event()

    def run(self) -> None:
        names: dict = {}                  # code object -> "file:function" (made once each)
        while not self.stop.wait(0.002):
            frame = sys._current_frames().get(self.main)
            stack = []
            while frame is not None and len(stack) < 40:
                code = frame.f_code
                name = names.get(code)
                if name is None:
                    name = names[code] = f"{Path(code.co_filename).name}:{code.co_name}"
                stack.append(f"{name}:{frame.f_lineno}")
                frame = frame.f_back
            self.samples.append((time.monotonic(), tuple(stack)))

    def collect(self, since: float) -> None:
        """Count the stacks seen inside every lag over 16 ms recorded after `since`. Samples
        are in time order: each lag finds its own by bisection (a scan of every sample for
        every lag ran on the GUI thread for seconds once stalls were many, and made more)."""
        import bisect

        lags = [(moment, lag) for moment, lag in list(self.lag._recent)
                if moment > since and lag > TARGET_LAG]
        samples = list(self.samples)
        times = [at for at, _ in samples]
        for moment, lag in lags:
            self.stalls += 1
            start = moment - lag - self.lag.interval
            first, end = bisect.bisect_left(times, start), bisect.bisect_right(times, moment)
            for _, stack in samples[first:end]:
                self.counts[self.summary(stack)] += 1

    @staticmethod
    def summary(stack: tuple[str, ...]) -> str:
        skip = ("events.py:_run", "base_events.py", "qasync", "soak.py", "<frozen")
        useful = [f for f in stack if not any(s in f for s in skip)]
        return " < ".join(useful[:5]) or (stack[0] if stack else "?")

    def report(self) -> list[str]:
        total = sum(self.counts.values()) or 1
        lines = [(f"stalls over {TARGET_LAG * 1000:.0f} ms: {self.stalls}; GUI thread stack "
                  f"samples inside them ({total}), most frequent first:")]
        for stack, count in self.counts.most_common(25):
            lines.append(f"  {count * 100 / total:5.1f}%  {stack}")
        return lines


class EntryPoints:
    """Diagnostic (--entry-points): a timer around each GUI entry point that does real work
    (chart paints and live draws, table refreshes and paints, pump drains, the health dock),
    reported as calls a second, mean, p99 and max duration and share of the wall clock; a
    stall is a run of these back to back, so their sizes say what to cut."""

    TARGETS = (
        ("pyqtgraph.widgets.GraphicsView", "GraphicsView", "paintEvent"),
        ("terminal.ui.docks.chart", "ChartDock", "_draw_live"),
        ("terminal.ui.mirror_view", "MirrorTableView", "refresh"),
        ("terminal.ui.table_view", "FastTableView", "paintEvent"),
        ("terminal.ui.pump", "BridgePump", "drain"),
        ("terminal.ui.docks.health", "HealthDock", "refresh"),
    )

    def __init__(self) -> None:
        import importlib

        self.spans: dict[str, list[float]] = {}
        self.started = time.perf_counter()
        for module_name, class_name, method in self.TARGETS:
            cls = getattr(importlib.import_module(module_name), class_name)
            setattr(cls, method, self._timed(getattr(cls, method), f"{class_name}.{method}"))

    def _timed(self, call, name: str):
        spans = self.spans.setdefault(name, [])

        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                spans.append(time.perf_counter() - began)
        return timed

    def report(self) -> list[str]:
        wall = time.perf_counter() - self.started
        lines = ["GUI entry points: calls/s, mean ms, p99 ms, max ms, share of the wall clock"]
        for name, spans in sorted(self.spans.items(), key=lambda item: -sum(item[1])):
            if spans:
                ordered = sorted(spans)
                lines.append(f"  {name:28s} {len(spans) / wall:6.1f} "
                             f"{sum(spans) / len(spans) * 1000:6.2f} "
                             f"{ordered[int(0.99 * (len(ordered) - 1))] * 1000:6.2f} "
                             f"{ordered[-1] * 1000:6.2f} {sum(spans) / wall * 100:5.1f}%")
        return lines


class GcWatch:
    """Python's garbage collections: how many, how long, on which thread (a full collection
    on the GUI thread is a loop lag of its own)."""

    def __init__(self) -> None:
        import gc

        self.gc = gc
        self.started = 0.0
        self.slowest = 0.0
        self.by: dict[tuple[int, str], list[float]] = {}   # (generation, thread) -> [n, total]
        self.full: list[float] = []       # durations of the full collections since `take`
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        spent = time.perf_counter() - self.started
        key = (info["generation"], threading.current_thread().name)
        item = self.by.setdefault(key, [0, 0.0, 0.0])
        item[0] += 1
        item[1] += spent
        item[2] = max(item[2], spent)
        if info["generation"] == 2:
            self.full.append(spent)

    def take(self) -> dict:
        """Full (generation 2) collections since the last take: count and longest, in ms."""
        full, self.full = self.full, []
        return {"gc_full": len(full), "gc_full_ms": round(max(full, default=0.0) * 1000, 1)}

    def close(self) -> list[str]:
        self.gc.callbacks.remove(self)
        return [f"gc generation {g} on {thread}: {n} collections, {total * 1000:,.0f} ms in all"
                f", longest {longest * 1000:.1f} ms"
                for (g, thread), (n, total, longest) in sorted(self.by.items())]


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each Python thread of the process, by thread name."""
    used: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            clock = time.pthread_getcpuclockid(thread.ident)
            used[thread.name] = used.get(thread.name, 0.0) + time.clock_gettime(clock)
        except (AttributeError, OSError, TypeError):
            pass
    return used


def _largest(samples: list, name: str) -> int | None:
    values = [getattr(s, name) for s in samples if getattr(s, name) is not None]
    return max(values) if values else None


def run_ours(args: argparse.Namespace, stop: Stop) -> tuple[list[dict], list, list[str]]:
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    home = Path(tempfile.mkdtemp(prefix="soak-ours-"))
    try:
        data_paths = paths.prepare(home)     # before vn.py is imported and Qt starts
        settings = {"sim_quote_rate": args.rate / CONTRACTS, "sim_seed": 7,
                    "sim_capital": 100_000_000.0, "record_simulator": bool(args.record)}
        if args.frame_ms:
            settings["frame_ms"] = args.frame_ms
        data_paths.settings_file.write_text(json.dumps(settings), encoding="utf-8")
        seed_history(data_paths, args.bars)

        import qasync
        from hoststeal import StealTaggedLag  # (benchmarks/, this script's folder)
        from PySide6.QtCore import qInstallMessageHandler
        from PySide6.QtWidgets import QApplication

        from terminal.app.main import _qt_message, start
        from terminal.core.interpreter import tune_for_gui

        qInstallMessageHandler(_qt_message)
        app = QApplication.instance() or QApplication([sys.argv[0]])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        lag = StealTaggedLag()
        entry_points = EntryPoints() if args.entry_points else None   # before any widget
        runtime, window = start(home, show=True, lag=lag)
        tune_for_gui()
        if args.switch_interval:
            sys.setswitchinterval(args.switch_interval)
        lag.start()
        soak = OurSoak(runtime, window, lag, args, stop)
        print(f"ours: {platform_line(app)}, data directory {home}", flush=True)

        async def main() -> None:
            await soak.setup()
            print(f"ours: set up ({', '.join(CHART_SYMBOLS[:args.charts]) or 'no'} charts with "
                  f"{args.bars:,} bars, "
                  f"health dock, {STRATEGY[0]} trading {STRATEGY[2]}); "
                  f"{args.minutes:g} min at {args.rate:,.0f} ticks/s", flush=True)
            await soak.run()

        try:
            with loop:
                loop.run_until_complete(main())
        finally:
            lag.stop()
            window.close()
            runtime.close()
        if entry_points is not None:
            soak.notes += entry_points.report()
        return soak.rows, soak.health, soak.notes
    finally:
        os.chdir(ROOT)
        shutil.rmtree(home, ignore_errors=True)


def platform_line(app) -> str:
    return f"Qt platform {app.platformName()}, Python {sys.version.split()[0]}"


# ---------------------------------------------------------------------------------- stock
def stock_child(args: argparse.Namespace) -> None:
    """VeighNa Trader's main window fed by the simulated exchange; one JSON line per row.
    Runs with the working directory holding `.vntrader` (see `run_stock`)."""
    sys.path.insert(0, str(ROOT))
    import psutil
    from hoststeal import (  # (benchmarks/, this script's folder)
        StealTaggedLag,
        steal_figures,
    )
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication
    from vnpy.event import EventEngine
    from vnpy.trader.engine import MainEngine
    from vnpy.trader.event import EVENT_TICK
    from vnpy.trader.object import SubscribeRequest
    from vnpy.trader.ui import MainWindow
    from vnpy.trader.ui.widget import TickMonitor

    from terminal.gateways.sim import SimGateway
    from terminal.market import contracts

    shown = [0]
    original = TickMonitor.process_event

    def process_event(self, event) -> None:  # TickMonitor connects its signal to this
        original(self, event)
        shown[0] += 1

    TickMonitor.process_event = process_event
    app = QApplication([sys.argv[0]])
    event_engine = EventEngine()
    main_engine = MainEngine(event_engine)
    main_engine.add_gateway(SimGateway)
    window = MainWindow(main_engine, event_engine)
    window.resize(1500, 900)
    window.show()
    received = [0]
    event_engine.register(EVENT_TICK, lambda event: received.__setitem__(0, received[0] + 1))
    main_engine.connect({"quote_rate": args.rate / CONTRACTS, "capital": 100_000_000.0,
                         "seed": 7}, "SIM")
    for spec in contracts.SPECS:
        main_engine.subscribe(SubscribeRequest(spec.symbol, spec.exchange), "SIM")

    lag = StealTaggedLag()            # its bookkeeping; driven by a Qt timer (no qasync here)
    probe = QTimer()
    probe.setSingleShot(True)
    armed = [time.perf_counter()]

    def fired() -> None:
        lag.record(max(0.0, time.perf_counter() - armed[0] - lag.interval))
        armed[0] = time.perf_counter()
        probe.start(round(lag.interval * 1000))

    probe.timeout.connect(fired)
    probe.start(round(lag.interval * 1000))
    process = psutil.Process()
    start = time.monotonic()
    end = start + args.minutes * 60
    state = {"mark": start, "marks": (0, 0, time.process_time(), time.thread_time())}
    peaks = {"event_queue": 0, "gui_backlog": 0}     # largest 1-second samples in the row

    def sample() -> None:
        peaks["event_queue"] = max(peaks["event_queue"], event_engine._queue.qsize())
        peaks["gui_backlog"] = max(peaks["gui_backlog"], received[0] - shown[0])

    sampler = QTimer()
    sampler.timeout.connect(sample)
    sampler.start(1000)
    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)

    def row() -> None:
        now = time.monotonic()
        mark, (ticks0, shown0, cpu0, gui0) = state["mark"], state["marks"]
        span = now - mark
        ticks, gui, cpu, gui_cpu = received[0], shown[0], time.process_time(), time.thread_time()
        sample()
        print(json.dumps({
            "t": round(now - start, 1), "rss_mb": round(process.memory_info().rss / 2**20, 1),
            "engine_ticks_s": round((ticks - ticks0) / span, 1),
            "gui_ticks_s": round((gui - shown0) / span, 1),
            "event_queue": peaks["event_queue"], "bridge_pending": None,
            "journal_queue": None, "recorder_queue": None,
            "gui_backlog": max(0, peaks["gui_backlog"]), **lag_figures(lag.recent(span)),
            **steal_figures(lag.recent_tagged(span, now), span),
            "cpu": round((cpu - cpu0) / span, 2), "gui_cpu": round((gui_cpu - gui0) / span, 2),
            "threads": process.num_threads(),
            "journaled": None, "trades": None, "gc_full": None, "gc_full_ms": None,
        }), flush=True)
        state["mark"], state["marks"] = now, (ticks, gui, cpu, gui_cpu)
        peaks.update(event_queue=0, gui_backlog=0)
        if now >= end - 0.5:
            os._exit(0)               # skips the close confirmation and the engines' shutdown

    ticker.timeout.connect(row)
    ticker.start(round(args.interval * 1000))
    print(json.dumps({"info": platform_line(app)}), flush=True)
    app.exec()


def throwaway_home(prefix: str) -> tuple[Path, dict[str, str]]:
    """A temporary folder holding `.vntrader` (vn.py writes there when it is the working
    directory) and an environment whose HOME and XDG folders point into it, for a child
    process that must not reach the real home. The caller removes the folder."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    (folder / ".vntrader").mkdir()
    (folder / ".vntrader" / "vt_setting.json").write_text(
        json.dumps({"log.console": False, "log.file": False}), encoding="utf-8")
    env = dict(os.environ, HOME=str(folder), XDG_CACHE_HOME=str(folder / "cache"),
               XDG_CONFIG_HOME=str(folder / "config"), XDG_DATA_HOME=str(folder / "data"),
               XDG_RUNTIME_DIR=str(folder / "runtime"), MPLCONFIGDIR=str(folder / "mpl"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    (folder / "runtime").mkdir(mode=0o700)
    return folder, env


def run_stock(args: argparse.Namespace, stop: Stop) -> tuple[list[dict], list[str]]:
    folder, env = throwaway_home("soak-stock-")
    command = [sys.executable, str(Path(__file__).resolve()), "--child-stock",
               "--minutes", str(args.minutes), "--rate", str(args.rate),
               "--interval", str(args.interval)]
    rows: list[dict] = []
    notes: list[str] = []
    print(f"stock: VeighNa Trader main window in a subprocess, folder {folder}", flush=True)
    child = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True,
                             start_new_session=True)   # Ctrl-C reaches the parent only
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(child.stderr), daemon=True)
    reader.start()
    try:
        for line in child.stdout:
            if not line.startswith("{"):
                continue
            data = json.loads(line)
            if "info" in data:
                print(f"stock: {data['info']}", flush=True)
                continue
            rows.append(data)
            print_row(data, len(rows) == 1)
            if stop.asked:
                child.terminate()
                break
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
        shutil.rmtree(folder, ignore_errors=True)
    if child.returncode not in (0, -15) or not rows:
        notes.append(f"stock child exit {child.returncode}: {''.join(errors)[-800:]}")
    return rows, notes


# ---------------------------------------------------------------------------------- reports
def print_row(row: dict, header: bool) -> None:
    columns = [("t s", "t", 7, 0), ("RSS MB", "rss_mb", 8, 1), ("eng t/s", "engine_ticks_s", 8, 0),
               ("GUI t/s", "gui_ticks_s", 8, 0), ("evq", "event_queue", 6, 0),
               ("bridge", "bridge_pending", 7, 0), ("journal", "journal_queue", 8, 0),
               ("record", "recorder_queue", 7, 0), ("backlog", "gui_backlog", 8, 0),
               ("lag p50", "lag_p50_ms", 8, 1), ("p99", "lag_p99_ms", 7, 1),
               ("max ms", "lag_max_ms", 8, 1), ("steal%", "steal_pct", 7, 1),
               ("p99*", "lag_p99_unstolen_ms", 6, 1), ("CPU", "cpu", 6, 2), ("GUI", "gui_cpu", 6, 2),
               ("sim", "sim_cpu", 6, 2), ("evt", "events_cpu", 6, 2), ("wrk", "working", 5, 0),
               ("thr", "threads", 5, 0), ("gc2", "gc_full", 5, 0), ("gc ms", "gc_full_ms", 7, 1)]
    if header:
        print("  " + "".join(f"{label:>{width}}" for label, _, width, _ in columns), flush=True)
    print("  " + "".join(_cell(row.get(key), width, digits) for _, key, width, digits in columns),
          flush=True)


def _cell(value, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width},.{digits}f}"


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def write_health_csv(path: Path, samples: list) -> None:
    names = ["at", "ticks_per_second", "event_queue", "bridge_pending", "journal_queue",
             "recorder_queue", "lag_last", "lag_p99", "rss", "threads", "cpu", "host_steal",
             "connections"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for sample in samples:
            writer.writerow([getattr(sample, n) for n in names[:-1]]
                            + [";".join(f"{g}={s}" for g, s, _ in sample.connections)])


def minutes_table(rows: list[dict], interval: float) -> list[dict]:
    """Minute by minute: RSS at the end, mean rates, largest queues, worst interval p99."""
    per = max(1, round(60 / interval))
    table = []
    for k in range(0, len(rows), per):
        chunk = rows[k:k + per]
        table.append({
            "minute": k // per + 1, "rss_mb": chunk[-1]["rss_mb"],
            "engine_ticks_s": statistics.fmean(r["engine_ticks_s"] for r in chunk),
            "gui_ticks_s": statistics.fmean(r["gui_ticks_s"] for r in chunk),
            **{name: _max([r.get(name) for r in chunk]) for name in (*QUEUES, "gui_backlog")},
            "lag_p99_ms": _max([r["lag_p99_ms"] for r in chunk]),
            "lag_max_ms": _max([r["lag_max_ms"] for r in chunk]),
            "cpu": statistics.fmean(r["cpu"] for r in chunk),
            "gui_cpu": statistics.fmean(r["gui_cpu"] for r in chunk),
        })
    return table


def _max(values: list):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def print_minutes(name: str, table: list[dict]) -> None:
    print(f"\n{name}, minute by minute (queues: largest 1-s sample; lag: worst 10-s p99 / max)")
    header = (f"  {'min':>4}{'RSS MB':>9}{'eng t/s':>9}{'GUI t/s':>9}{'evq':>6}{'bridge':>8}"
              f"{'journal':>8}{'record':>8}{'backlog':>9}{'lag p99':>9}{'max ms':>8}{'CPU':>6}"
              f"{'GUI':>6}")
    print(header)
    for m in table:
        print(f"  {m['minute']:>4}{_cell(m['rss_mb'], 9, 1)}{_cell(m['engine_ticks_s'], 9, 0)}"
              f"{_cell(m['gui_ticks_s'], 9, 0)}{_cell(m['event_queue'], 6, 0)}"
              f"{_cell(m['bridge_pending'], 8, 0)}{_cell(m['journal_queue'], 8, 0)}"
              f"{_cell(m['recorder_queue'], 8, 0)}{_cell(m['gui_backlog'], 9, 0)}"
              f"{_cell(m['lag_p99_ms'], 9, 1)}{_cell(m['lag_max_ms'], 8, 1)}"
              f"{_cell(m['cpu'], 6, 2)}{_cell(m['gui_cpu'], 6, 2)}")


def summary(rows: list[dict], args: argparse.Namespace) -> dict:
    """The figures the verdict is made of."""
    if not rows:
        return {}
    per_minute = max(1, round(60 / args.interval))
    after = [r for r in rows if r["t"] >= 60 - args.interval / 2]
    base = rows[per_minute - 1]["rss_mb"] if len(rows) >= per_minute else rows[0]["rss_mb"]
    final = rows[-1]["rss_mb"]
    slope = _slope([r["t"] / 60 for r in after], [r["rss_mb"] for r in after])
    queues = {}
    for name in (*QUEUES, "gui_backlog"):
        values = [r.get(name) for r in rows]
        if all(v is None for v in values):
            continue
        values = [v or 0 for v in values]
        third = max(1, len(values) // 3)
        first, last = statistics.median(values[:third]), statistics.median(values[-third:])
        allowance = QUEUE_ALLOWANCE[name] * (args.rate if name in RATE_ALLOWANCE else 1)
        allowance += 0.1 * first
        queues[name] = {"first": first, "last": last, "max": max(values),
                        "grows": last > first + allowance}
    lag99 = [r["lag_p99_ms"] for r in rows if r["lag_p99_ms"] is not None]
    unstolen = [r["lag_p99_unstolen_ms"] for r in rows if r.get("lag_p99_unstolen_ms") is not None]
    steal = [r["steal_pct"] for r in rows if r.get("steal_pct") is not None]
    quiet = [r["lag_p99_ms"] for r in rows if r.get("steal_pct") is not None
             and r["steal_pct"] < QUIET_STEAL and r["lag_p99_ms"] is not None]
    rates = [r["engine_ticks_s"] for r in rows]
    gui_rates = [r["gui_ticks_s"] for r in rows]
    return {
        "minutes": rows[-1]["t"] / 60, "rss_minute1": base, "rss_final": final,
        "rss_growth": (final - base) / base if base else 0.0, "rss_slope_mb_min": slope,
        "rss_max": max(r["rss_mb"] for r in rows), "queues": queues,
        "lag_p99_median": statistics.median(lag99) if lag99 else None,
        "lag_p99_worst": max(lag99) if lag99 else None,
        "lag_intervals_over": sum(1 for v in lag99 if v >= TARGET_LAG * 1000),
        "lag_intervals": len(lag99),
        "lag_max": _max([r["lag_max_ms"] for r in rows]),
        "steal_median": statistics.median(steal) if steal else None,
        "steal_max": max(steal) if steal else None,
        "unstolen_p99_median": statistics.median(unstolen) if unstolen else None,
        "unstolen_p99_worst": max(unstolen) if unstolen else None,
        "unstolen_intervals_over": sum(1 for v in unstolen if v >= TARGET_LAG * 1000),
        "unstolen_intervals": len(unstolen),
        "quiet_intervals": len(quiet), "quiet_p99_worst": max(quiet) if quiet else None,
        "quiet_intervals_over": sum(1 for v in quiet if v >= TARGET_LAG * 1000),
        "lag_p50_median": statistics.median(r["lag_p50_ms"] for r in rows
                                            if r["lag_p50_ms"] is not None),
        "rate_median": statistics.median(rates), "gui_rate_median": statistics.median(gui_rates),
        "cpu_median": statistics.median(r["cpu"] for r in rows),
        "gui_cpu_median": statistics.median(r["gui_cpu"] for r in rows),
    }


def _slope(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else None


def verdict(name: str, s: dict, args: argparse.Namespace) -> None:
    from terminal.core.health import QUEUE_LIMITS

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print(f"\n{name}: verdict over {s['minutes']:.1f} min")
    slope = s["rss_slope_mb_min"]
    print(f"  memory: RSS {s['rss_minute1']:,.1f} MB after minute 1 -> {s['rss_final']:,.1f} MB "
          f"at the end ({s['rss_growth'] * 100:+.2f}%; slope "
          f"{'-' if slope is None else f'{slope:+.2f}'} MB/min; max {s['rss_max']:,.1f} MB); "
          f"target under {TARGET_MEMORY * 100:.0f}%: {met(s['rss_growth'] < TARGET_MEMORY)}")
    limits = {**QUEUE_LIMITS, "gui_backlog": 5_000}
    for queue, q in s["queues"].items():
        bounded = q["max"] <= limits[queue]
        print(f"  {queue}: median of per-interval maxima, first third {q['first']:,.0f}, last "
              f"third {q['last']:,.0f}, largest {q['max']:,}; "
              f"{'GROWS' if q['grows'] else 'does not grow'}, "
              f"{'bounded' if bounded else 'past the limit ' + format(limits[queue], ',')}: "
              f"{met(not q['grows'] and bounded)}")
    print(f"  GUI loop lag p99: median {s['lag_p99_median']:.1f} ms, worst interval "
          f"{s['lag_p99_worst']:.1f} ms, {s['lag_intervals_over']}/{s['lag_intervals']} "
          f"intervals at or over {TARGET_LAG * 1000:.0f} ms (p50 median "
          f"{s['lag_p50_median']:.2f} ms, max {s['lag_max']:.1f} ms); target p99 under "
          f"{TARGET_LAG * 1000:.0f} ms in every interval: {met(s['lag_intervals_over'] == 0)}")
    if s["unstolen_intervals"]:
        print(f"  hypervisor steal: the host took {s['steal_median']:.1f}% of the machine's CPU "
              f"time (median interval, most {s['steal_max']:.1f}%); GUI loop lag p99 over the "
              f"wakes it took nothing from: median {s['unstolen_p99_median']:.1f} ms, worst "
              f"{s['unstolen_p99_worst']:.1f} ms, {s['unstolen_intervals_over']}/"
              f"{s['unstolen_intervals']} intervals at or over {TARGET_LAG * 1000:.0f} ms "
              f"(an estimate for an unshared machine; not the target's figure)")
        if s["quiet_intervals"]:
            print(f"  in the {s['quiet_intervals']} intervals where the host took under "
                  f"{QUIET_STEAL:g}% of the CPU time: GUI loop lag p99 worst "
                  f"{s['quiet_p99_worst']:.1f} ms, {s['quiet_intervals_over']} at or over "
                  f"{TARGET_LAG * 1000:.0f} ms")
    rate_ok = abs(s["rate_median"] - args.rate) <= TARGET_RATE * args.rate
    print(f"  tick rate: median {s['rate_median']:,.0f}/s through the engine, "
          f"{s['gui_rate_median']:,.0f}/s reaching the GUI (asked {args.rate:,.0f}/s): "
          f"{met(rate_ok)}; CPU median {s['cpu_median']:.2f} cores (GUI thread "
          f"{s['gui_cpu_median']:.2f})")


def side_by_side(ours: dict, stock: dict) -> None:
    print("\nside by side (stock / ours as a ratio where both are positive):")
    rows = [("RSS after minute 1 (MB)", "rss_minute1"), ("RSS at the end (MB)", "rss_final"),
            ("RSS growth after minute 1 (%)", "rss_growth"),
            ("RSS slope (MB/min)", "rss_slope_mb_min"),
            ("GUI loop lag p99, median interval (ms)", "lag_p99_median"),
            ("GUI loop lag p99, worst interval (ms)", "lag_p99_worst"),
            ("GUI loop lag max (ms)", "lag_max"),
            ("host steal, median interval (% CPU time)", "steal_median"),
            ("lag p99 of unstolen wakes, median (ms)", "unstolen_p99_median"),
            ("ticks/s through the engine (median)", "rate_median"),
            ("ticks/s reaching the GUI (median)", "gui_rate_median"),
            ("process CPU (cores, median)", "cpu_median"),
            ("GUI thread CPU (cores, median)", "gui_cpu_median")]
    print(f"  {'':42}{'ours':>12}{'stock':>12}{'ratio':>9}")
    for label, key in rows:
        a, b = ours.get(key), stock.get(key)
        scale = 100 if key == "rss_growth" else 1
        ratio = f"{b / a:>9.1f}" if a and b and a > 0 and b > 0 else f"{'-':>9}"
        print(f"  {label:42}{_cell(None if a is None else a * scale, 12, 2)}"
              f"{_cell(None if b is None else b * scale, 12, 2)}{ratio}")
    backlog = stock.get("queues", {}).get("gui_backlog")
    if backlog:
        print(f"  stock GUI backlog (tick signals not yet processed): first third "
              f"{backlog['first']:,.0f}, last third {backlog['last']:,.0f}, "
              f"largest {backlog['max']:,}")


def load() -> str:
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child_stock:
        stock_child(args)
        return
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    out = Path(args.out).resolve() if args.out else Path(tempfile.mkdtemp(prefix="soak-out-"))
    out.mkdir(parents=True, exist_ok=True)
    stop = Stop()
    print(f"soak: {args.minutes:g} min at {args.rate:,.0f} ticks/s, a row every "
          f"{args.interval:g} s; {os.cpu_count()} CPUs, load average {load()}", flush=True)
    results: dict[str, dict] = {}
    notes: list[str] = []
    if not args.stock_only:
        rows, health, more = run_ours(args, stop)
        notes += more
        write_csv(out / "soak-ours.csv", rows)
        write_health_csv(out / "health-ours.csv", health)
        if rows:
            results["ours"] = summary(rows, args)
            print_minutes("ours", minutes_table(rows, args.interval))
    if (args.stock or args.stock_only) and not stop.asked:
        print(f"\nload average before the stock run {load()}", flush=True)
        rows, more = run_stock(args, stop)
        notes += more
        write_csv(out / "soak-stock.csv", rows)
        if rows:
            results["stock"] = summary(rows, args)
            print_minutes("stock VeighNa Trader", minutes_table(rows, args.interval))
    for name, figures in results.items():
        verdict(name, figures, args)
    if "ours" in results and "stock" in results:
        side_by_side(results["ours"], results["stock"])
    for note in notes:
        print(f"note: {note}")
    print(f"\nload average at the end {load()}; CSV files in {out}")


if __name__ == "__main__":
    main()
