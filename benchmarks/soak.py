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

--stock then runs VeighNa Trader's stock main window on the same feed, with the same probe and
rows, in a child process with a throw-away home (benchmarks/soak_stock.py). Ctrl-C ends a run
early and still reports what was recorded. The rows, the verdict and the side-by-side table
are benchmarks/soak_report.py's.

Diagnosis (not part of the figure): --stalls samples the GUI thread's stack every 2 ms and lists
what it was doing during each loop lag over 16 ms (a fourth Python thread: on the 2-core machine
it puts the lag itself at p99 100-200 ms, and walking another thread's frames has crashed
Python 3.11 once here, a known CPython 3.11 hazard, cpython#111363; `py-spy record --threads
--gil` from outside is the safer view); --charts 0/1 opens fewer charts; --flat holds
no position and leaves the ticket empty; --frame-ms runs the pump at another frame;
--switch-interval sets another GIL switch interval (seconds) after the terminal's own;
--entry-points times each GUI entry point that does real work (set up included) (both in
benchmarks/gui_diagnostics.py); the rows also show full garbage collections (count, longest)
and the GUI thread's own CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from harness import ROOT, GcWatch, busy_threads, load_average, scratch, thread_cpu
from soak_report import (QUEUES, lag_figures, minutes_table, print_minutes, print_row,
                         side_by_side, summary, verdict, write_csv, write_health_csv)
from soak_stock import run_stock

CHART_SYMBOLS = ("rb2701.SHFE", "IF2612.CFFEX")
STRATEGY = ("RsiReversionStrategy", "soak_rsi", "rb2701.SHFE",
            {"bar_minutes": 1, "rsi_period": 2, "atr_period": 2, "oversold": 50.0,
             "overbought": 50.0, "exit_level": 50.0, "max_bars": 2, "fixed_size": 1})
CONTRACTS = 24                 # the simulated exchange's contracts (terminal.market.contracts)
THREAD_COLUMNS = {"sim_cpu": "sim-exchange", "events_cpu": "vnpy-events"}   # column: thread


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
    return parser.parse_args(argv)



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
            first, second = (window.docks[name] for name in list(window.chart_docks.charts)[-2:])
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
        from gui_diagnostics import StallSampler
        from hoststeal import steal_figures

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
        self.notes.append("CPU by thread over the run (cores): " + busy_threads(
            threads_before, thread_cpu(), time.monotonic() - start))
        self.notes.append(f"strategy {self.strategy.strategy_name}: pos {self.strategy.pos}, "
                          f"trading {self.strategy.trading}, "
                          f"handler errors {runtime.kernel.event_engine.handler_errors}, "
                          f"GUI consumer errors {window.pump.consumer_errors}, "
                          f"CTA failures {runtime.cta.failures}")


def _largest(samples: list, name: str) -> int | None:
    values = [getattr(s, name) for s in samples if getattr(s, name) is not None]
    return max(values) if values else None


def run_ours(args: argparse.Namespace, stop: Stop) -> tuple[list[dict], list, list[str]]:
    with scratch("soak-ours-") as (home, _):
        try:
            return soak_ours(home, args, stop)
        finally:
            os.chdir(ROOT)          # out of the data directory before it is deleted


def soak_ours(home: Path, args: argparse.Namespace, stop: Stop) -> tuple[list, list, list]:
    """Ours in this process, on the data directory `home`: rows, health samples, notes."""
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    data_paths = paths.prepare(home)     # before vn.py is imported and Qt starts
    settings = {"sim_quote_rate": args.rate / CONTRACTS, "sim_seed": 7,
                "sim_capital": 100_000_000.0, "record_simulator": bool(args.record)}
    if args.frame_ms:
        settings["frame_ms"] = args.frame_ms
    data_paths.settings_file.write_text(json.dumps(settings), encoding="utf-8")
    seed_history(data_paths, args.bars)

    import qasync
    from gui_diagnostics import EntryPoints
    from hoststeal import StealTaggedLag
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
    print(f"ours: Qt platform {app.platformName()}, Python {sys.version.split()[0]}, data "
          f"directory {home}", flush=True)

    async def main() -> None:
        await soak.setup()
        print(f"ours: set up ({', '.join(CHART_SYMBOLS[:args.charts]) or 'no'} charts with "
              f"{args.bars:,} bars, health dock, {STRATEGY[0]} trading {STRATEGY[2]}); "
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


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    out = Path(args.out).resolve() if args.out else Path(tempfile.mkdtemp(prefix="soak-out-"))
    out.mkdir(parents=True, exist_ok=True)
    stop = Stop()
    print(f"soak: {args.minutes:g} min at {args.rate:,.0f} ticks/s, a row every "
          f"{args.interval:g} s; {os.cpu_count()} CPUs, load average {load_average()}", flush=True)
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
        print(f"\nload average before the stock run {load_average()}", flush=True)
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
    print(f"\nload average at the end {load_average()}; CSV files in {out}")


if __name__ == "__main__":
    main()
