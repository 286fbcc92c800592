"""Order path benchmark: order ticket to order acknowledged in the GUI, risk gate on and off.

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/order_path.py                  # 500 orders/s for 10 s, both cases
    .venv/bin/python benchmarks/order_path.py --rate 200 --seconds 5 --only on --profile
    .venv/bin/python benchmarks/order_path.py --frame-ms 4      # what-if: another GUI frame

Each case ("on": the risk gate checks every order, "off": `runtime.risk.guard.enabled = False`)
runs in its own subprocess and temporary data directory: the full terminal as
`terminal.app.main.start(home, show=True)` builds it (engines, journal, risk service, main window
shown offscreen unless QT_QPA_PLATFORM is set, the simulated exchange connected), under a plain
QApplication event loop (not qasync: the app's own `main` runs the same window on a qasync loop,
which only adds its asyncio integration), then `tune_for_gui()` as `main` does.

Once rb2701.SHFE quotes, the risk limits are raised (not saved) so every order passes every
rule: max_orders_per_second 10,000, max_working_orders 100,000, max_position 1,000,000,
max_cancels_per_day 1,000,000, max_funds_share 1.0, orders + cancels 100,000 a second and
100,000,000 a day (where the checkout has them); the price band (5%), the duplicate window
(1 s), volume and notional limits stay at their defaults and are checked. A QTimer on the GUI
thread then calls the order ticket's `buy()` (what the Buy button does) --rate times a second:
an opening buy limit 1-4% below the bid (90 prices x 10 volumes, so no order repeats within
1 s), which the simulated exchange accepts (NOTTRADED) and does not fill. Another timer cancels
acknowledged orders every --cancel-ms, so working orders stay few and the funds are not used up.
The first --warmup seconds of orders are not counted.

ticket->GUI ack: from the `buy()` call to the end of the first pump batch after which the
orders dock's model holds the order as NOTTRADED (a pump consumer subscribed after the main
window's own; the dock has applied the batch, the view has not painted yet).
ticket->engine ack: to the exchange's NOTTRADED processed on vn.py's event thread (a handler
registered after the journal and the bridge). buy() call: the synchronous part on the GUI
thread (ticket checks, guard, gateway). guard overhead: `MainEngine.send_order` (the guard's)
minus the gateway's own send the boundary wraps, per order, in the run (lock, contract lookup,
context, check, record_sent; each timing adds ~0.1 us). Stages of the GUI ack, per order:
ticket->exchange ack (the simulated
exchange thread emits NOTTRADED), exchange->event thread, event thread->batch taken (the GUI
drained the bridge, the journal committed), batch taken->docks applied; with the time of each
pump consumer and of the garbage collector's passes. GUI loop lag: lateness of a 10 ms QTimer.
--slow-events: the GUI thread's slow Qt events (over 3 ms) and widget paints (over 1 ms). CPU:
of the
process and of each thread over the timed run, in cores. --profile: cProfile of the GUI thread
and of vn.py's event thread over the gate-on run (the exchange thread is not profiled); the
profiler slows both threads several-fold, so that run's latencies are not the figure.
The gate's own cost, in the "on" process after its run: `gate.check(req, ctx)` and
`guard.context(req, contract)` medians via timeit (100 x 1,000 calls each) with the engine
holding as many resting orders as the run's median, plus both timed in the run itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from gui_diagnostics import slow_event_app, summarize_slow_events
from harness import (ROOT, GcWatch, QtTimerLag, child_command, child_main, emit, met,
                     profile_text, run_child, scratch, spread, thread_cpu)

CASES = ("on", "off")
SYMBOL = "rb2701.SHFE"
LAG_INTERVAL_MS = 10
PRICE_STEPS, VOLUMES = 90, 10         # 900 distinct (price, volume) pairs: 1.8 s of orders
TARGET_GATE_US = 50.0
PROFILE_EVENT = "eBenchProfile"
TARGET_P99_MS = 10.0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=500, help="orders/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the timed run")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of uncounted orders")
    parser.add_argument("--cancel-ms", type=int, default=50, help="cancel acked orders every")
    parser.add_argument("--frame-ms", type=int, help="Settings.frame_ms (default: the terminal's)")
    parser.add_argument("--timeout", type=float, default=60.0, help="quotes / drain timeout, s")
    parser.add_argument("--only", choices=CASES, help="run one case only")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the GUI and event threads over the timed run (gate on)")
    parser.add_argument("--slow-events", action="store_true",
                        help="diagnosis: print the GUI thread's slow Qt events to stderr")
    parser.add_argument("--working-only", action="store_true",
                        help="the Orders dock shows working orders only (rows come and go)")
    parser.add_argument("--newest-first", action="store_true",
                        help="the Orders dock sorted by time, newest first (a header click)")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------- child side
class GuardTimer:
    """Per order: `MainEngine.send_order` (the guard's) minus the gateway's own send that the
    gate wraps (GUI thread only): the engine's thin entry, the boundary wrapper on the
    gateway, lock, contract lookup, context, check and record_sent."""

    def __init__(self, main_engine, guard) -> None:
        pc = time.perf_counter_ns
        send_through, outer = guard.send_through, main_engine.send_order
        self.inner = 0
        self.samples: list[int] = []

        def through(gateway, req, send):
            def inner(gateway, req):
                start = pc()
                vt_orderid = send(gateway, req)
                self.inner = pc() - start
                return vt_orderid

            return send_through(gateway, req, inner)

        def wrapped(req, gateway_name):
            self.inner = 0
            start = pc()
            vt_orderid = outer(req, gateway_name)
            self.samples.append(pc() - start - self.inner)
            return vt_orderid

        guard.send_through = through
        main_engine.send_order = wrapped


def timed(function, samples: list[int]):
    """`function` appending its duration in ns to `samples` (an instance attribute shadows)."""
    pc = time.perf_counter_ns

    def wrapper(*args):
        start = pc()
        result = function(*args)
        samples.append(pc() - start)
        return result

    return wrapper


class Bench:
    """GUI-thread driver: waits for quotes, sends at the rate, cancels, collects, reports."""

    def __init__(self, runtime, window, args, report) -> None:
        from PySide6.QtCore import Qt, QTimer
        from vnpy.trader.constant import Direction, Offset, OrderType, Status
        from vnpy.trader.event import EVENT_ORDER

        self.runtime, self.window, self.args, self.report = runtime, window, args, report
        self.engine = runtime.kernel.main_engine
        self.ticket, self.model = window.ticket, window.orders.model
        if args.working_only:
            window.orders.show_working_only(True)
        if args.newest_first:
            window.orders.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.Status, self.NOTTRADED = Status, Status.NOTTRADED
        self.Direction, self.Offset, self.OrderType = Direction, Offset, OrderType
        self.warm = int(args.rate * args.warmup)
        self.total = self.warm + int(args.rate * args.seconds)
        self.sent = 0
        self.sent_at: dict[str, float] = {}       # vt_orderid -> buy() call time
        self.index: dict[str, int] = {}           # vt_orderid -> order number
        self.call: list[float] = []               # buy() durations, timed orders
        self.acked: dict[str, float] = {}         # vt_orderid -> GUI ack time
        self.failed: dict[str, str] = {}          # vt_orderid -> status other than NOTTRADED
        self.engine_acks: dict[str, float] = {}   # written on the event thread
        self.to_cancel: list[str] = []
        self.working: list[int] = []              # active orders at each cancel pass, timed run
        self.lags: list[float] = []
        self.prices: list[str] = []
        self.start = self.end = 0.0
        self.profiler = None
        self.check_ns: list[int] = []
        self.context_ns: list[int] = []
        guard = runtime.risk.guard
        self.check, self.context = guard.gate.check, guard.context   # the untimed originals
        self.guard_timer = GuardTimer(self.engine, guard)
        if args.child == "on":
            guard.gate.check = timed(guard.gate.check, self.check_ns)
            guard.context = timed(guard.context, self.context_ns)

        def on_order(event) -> None:  # vn.py's event thread, after the journal and the bridge
            order = event.data
            if order.status is self.NOTTRADED and order.vt_orderid not in self.engine_acks:
                self.engine_acks[order.vt_orderid] = time.perf_counter()

        runtime.kernel.event_engine.register(EVENT_ORDER, on_order)
        self.exchange_acks: dict[str, float] = {}  # written on the exchange thread
        self.batch_taken: dict[str, float] = {}    # GUI thread: bridge drained (and committed)
        sink = self.engine.get_gateway("SIM").exchange.sink
        gateway_on_order = sink.on_order

        def stamp_exchange(order) -> None:
            if order.status is self.NOTTRADED and order.vt_orderid not in self.exchange_acks:
                self.exchange_acks[order.vt_orderid] = time.perf_counter()
            gateway_on_order(order)

        sink.on_order = stamp_exchange

        def taken(batch) -> None:  # the pump's first consumer: the batch is out of the bridge
            now = time.perf_counter()
            for vt_orderid in batch.orders:
                if vt_orderid not in self.acked:
                    self.batch_taken[vt_orderid] = now

        window.pump._consumers.insert(0, taken)
        # Where the GUI thread's long batches go: per consumer, the time of each call.
        self.consumer_ms: dict[str, list[float]] = {}

        def timed_consumer(consumer):
            name = getattr(consumer, "__qualname__", repr(consumer))
            samples = self.consumer_ms.setdefault(name, [])

            def run(batch) -> None:
                start = time.perf_counter()
                consumer(batch)
                samples.append((time.perf_counter() - start) * 1000)

            return run

        window.pump._consumers[:] = [timed_consumer(c) for c in window.pump._consumers]
        self.gc = GcWatch()
        self.event_profiler = None

        def on_profile(event) -> None:  # cProfile profiles the thread that enables it
            import cProfile

            if event.data:
                self.event_profiler = cProfile.Profile()
                self.event_profiler.enable()
            elif self.event_profiler is not None:
                self.event_profiler.disable()

        from vnpy.event import Event

        self.Event, self.put = Event, runtime.kernel.event_engine.put
        runtime.kernel.event_engine.register(PROFILE_EVENT, on_profile)
        window.pump.subscribe(self.consume)  # after every dock of the main window

        def timer(interval_ms: int, slot) -> QTimer:
            t = QTimer(window)
            t.setTimerType(Qt.TimerType.PreciseTimer)
            t.setInterval(interval_ms)
            t.timeout.connect(slot)
            return t

        self.lag_timer = QtTimerLag(LAG_INTERVAL_MS, self.lags.append,
                                    lambda: self.sent < self.total)
        self.poller = timer(50, self.wait_for_quotes)
        self.sender = timer(max(1, round(1000 / args.rate)), self.send_due)
        self.canceller = timer(args.cancel_ms, self.cancel_acked)
        self.drainer = timer(10, self.wait_for_drain)
        for name in ("poller", "sender", "canceller", "drainer"):
            getattr(self, name).setObjectName(f"bench {name}")
        self.deadline = time.perf_counter() + args.timeout
        self.poller.start()

    # ---- set-up --------------------------------------------------------------------------
    def wait_for_quotes(self) -> None:
        if time.perf_counter() > self.deadline:
            self.report(error=f"no quote of {SYMBOL} within {self.args.timeout:g} s")
        contract = self.engine.get_contract(SYMBOL)
        if contract is None:
            return
        if self.ticket.vt_symbol != SYMBOL:
            self.ticket.load_symbol(SYMBOL)
        tick = self.engine.get_tick(SYMBOL)
        if tick is None or self.ticket._tick is None:
            return
        self.poller.stop()
        self.prepare(contract, tick)
        self.sender.start()
        self.canceller.start()

    def prepare(self, contract, tick) -> None:
        from dataclasses import replace

        from terminal.market.prices import decimals_for, round_to_tick
        from terminal.risk.limits import RiskLimits

        risk = self.runtime.risk
        raised = dict(max_orders_per_second=10_000, max_working_orders=100_000,
                      max_position=1_000_000, max_cancels_per_day=1_000_000,
                      max_funds_share=1.0, max_actions_per_second=100_000,
                      max_actions_per_day=100_000_000)
        limits = replace(RiskLimits(), **{key: value for key, value in raised.items()
                                          if hasattr(RiskLimits, key)})
        risk.apply(replace(risk.config, global_limits=limits), save=False)
        risk.guard.enabled = self.args.child == "on"
        ticket, tick_size = self.ticket, contract.pricetick
        ticket.offset_box.setCurrentIndex(ticket.offset_box.findData(self.Offset.OPEN))
        ticket.type_box.setCurrentIndex(ticket.type_box.findData(self.OrderType.LIMIT))
        top = round_to_tick(tick.bid_price_1 * 0.99, tick_size)
        digits = decimals_for(tick_size)
        self.prices = [f"{top - i * tick_size:.{digits}f}" for i in range(PRICE_STEPS)]
        self.contract = contract

    # ---- the run -------------------------------------------------------------------------
    def send_due(self) -> None:
        now = time.perf_counter()
        if not self.start:
            self.start = now
        due = min(self.total, int((now - self.start) * self.args.rate) + 1)
        ticket, pc = self.ticket, time.perf_counter
        while self.sent < due:
            k = self.sent
            if k == self.warm:
                self.begin_timed()
            ticket.price_edit.setText(self.prices[k % PRICE_STEPS])
            ticket.volume_edit.setText(str((k // PRICE_STEPS) % VOLUMES + 1))
            t0 = pc()
            vt_orderid = ticket.buy()
            t1 = pc()
            self.sent += 1
            if not vt_orderid:
                self.report(error=f"order {k} not sent: {ticket.error_label.text()}")
            if k >= self.warm:
                self.sent_at[vt_orderid] = t0
                self.index[vt_orderid] = k
                self.call.append(t1 - t0)
        if self.sent >= self.total:
            self.sender.stop()
            self.end = pc()
            self.cpu_end, self.threads_end = time.process_time(), thread_cpu()
            if self.profiler is not None:
                self.profiler.disable()
                self.put(self.Event(PROFILE_EVENT, False))
            self.drainer.start()

    def begin_timed(self) -> None:
        self.timed_start = time.perf_counter()
        self.cpu_start, self.threads_start = time.process_time(), thread_cpu()
        self.check_ns.clear()
        self.context_ns.clear()
        self.guard_timer.samples.clear()
        self.lag_timer.start()
        if self.args.profile and self.args.child == "on":
            import cProfile

            self.profiler = cProfile.Profile()
            self.profiler.enable()
            self.put(self.Event(PROFILE_EVENT, True))  # and one on the event thread

    def consume(self, batch) -> None:
        if not batch.orders:
            return
        now = time.perf_counter()
        find, nottraded = self.model.find, self.NOTTRADED
        for vt_orderid in batch.orders:
            if vt_orderid in self.acked or vt_orderid in self.failed:
                continue
            record = find(vt_orderid)
            if record is None:
                continue
            status = record.status
            if status is nottraded:
                if vt_orderid in self.sent_at:
                    self.acked[vt_orderid] = now
                self.to_cancel.append(vt_orderid)
            elif status is not self.Status.SUBMITTING and vt_orderid in self.sent_at:
                extra = record.extra or {}
                why = extra.get("risk_rule") or extra.get("reason", "")[:40]
                self.failed[vt_orderid] = f"{status.name} {why}".strip()

    def cancel_acked(self) -> None:
        if self.sent > self.warm and self.sent < self.total:
            self.working.append(len(self.engine.get_all_active_orders()))
        cancel = self.runtime.trading.cancel
        pending, self.to_cancel = self.to_cancel, []
        for vt_orderid in pending:
            cancel(vt_orderid)

    def wait_for_drain(self) -> None:
        resolved = len(self.acked) + len(self.failed)
        if resolved < len(self.sent_at) and time.perf_counter() < self.end + self.args.timeout:
            return
        self.drainer.stop()
        self.drained_at = time.perf_counter()
        self.cancel_acked()
        self.canceller.stop()
        self.after = time.perf_counter()
        self.drainer.timeout.disconnect()
        self.drainer.timeout.connect(self.wait_for_quiet)
        self.drainer.start()

    def wait_for_quiet(self) -> None:
        """Until every order is cancelled (then the gate's micro-benchmarks run)."""
        if self.to_cancel:
            self.cancel_acked()
        if self.engine.get_all_active_orders() and time.perf_counter() < self.after + 10:
            return
        self.drainer.stop()
        result = self.figures()
        if self.args.child == "on":
            self.resting_target = round(statistics.median(self.working)) if self.working else 0
            result["resting"] = self.resting_target
            self.result = result
            self.place_resting()
        else:
            self.report(**result)

    # ---- the gate's own cost ---------------------------------------------------------------
    def request(self, price: float, volume: int):
        from terminal.market.ticket import Ticket, to_request

        return to_request(Ticket(SYMBOL, self.Direction.LONG, self.Offset.OPEN,
                                 self.OrderType.LIMIT, price, volume), self.contract)

    def place_resting(self) -> None:
        """As many resting orders as the run's median (a volume the run did not use)."""
        top = float(self.prices[0]) - 30 * self.contract.pricetick
        self.resting = []
        for i in range(min(self.resting_target, 100)):
            req = self.request(top - i * self.contract.pricetick, VOLUMES + 1)
            self.resting.append(self.runtime.trading.send(req, self.contract))
        self.after = time.perf_counter()
        self.drainer.timeout.disconnect()
        self.drainer.timeout.connect(self.wait_for_resting)
        self.drainer.start()

    def wait_for_resting(self) -> None:
        working = self.engine.get_all_active_orders()
        acked = sum(1 for o in working if o.status is self.NOTTRADED)
        if acked < len(self.resting) and time.perf_counter() < self.after + 10:
            return
        self.drainer.stop()
        self.result.update(self.micro(len(working)))
        self.report(**self.result)

    def micro(self, working: int) -> dict:
        import timeit

        req = self.request(float(self.prices[PRICE_STEPS // 2]), VOLUMES + 2)
        contract = self.engine.get_contract(SYMBOL)
        gate = self.runtime.risk.gate
        ctx = self.context(req, contract)
        decision = self.check(req, ctx)
        out = {"micro_working": working, "micro_allowed": decision.message,
               "micro_ctx_working": ctx.working_orders}
        for name, call in (("check", lambda: self.check(req, ctx)),
                           ("context", lambda: self.context(req, contract))):
            runs = timeit.repeat(call, number=1000, repeat=100)
            out[f"micro_{name}_us"] = statistics.median(runs) / 1000 * 1e6
        out["micro_gate_state"] = gate.state.value
        return out

    # ---- figures -------------------------------------------------------------------------
    def figures(self) -> dict:
        latency = [self.acked[v] - t for v, t in self.sent_at.items() if v in self.acked]
        engine = [self.engine_acks[v] - t for v, t in self.sent_at.items()
                  if v in self.engine_acks]
        to_gui = [self.acked[v] - self.engine_acks[v] for v in self.acked
                  if v in self.engine_acks]

        def stage(ends: dict, starts: dict) -> dict:
            return spread([ends[v] - starts[v] for v in self.sent_at
                          if v in ends and v in starts])

        stages = {
            "ticket->exchange ack": stage(self.exchange_acks, self.sent_at),
            "exchange->event thread": stage(self.engine_acks, self.exchange_acks),
            "event thread->batch taken": stage(self.batch_taken, self.engine_acks),
            "batch taken->docks applied": stage(self.acked, self.batch_taken),
        }
        failures: dict[str, int] = {}
        for status in self.failed.values():
            failures[status] = failures.get(status, 0) + 1
        timed_s = self.end - self.timed_start
        gc_ms = [seconds * 1000 for seconds in self.gc.durations]
        threads = {name: (self.threads_end[name] - self.threads_start.get(name, 0.0)) / timed_s
                   for name in self.threads_end}
        result = {
            "error": None, "sent": len(self.sent_at), "acks": len(self.acked),
            "failed": failures, "send_rate": len(self.sent_at) / timed_s if timed_s else None,
            "ack": spread(latency), "engine_ack": spread(engine), "engine_to_gui": spread(to_gui),
            "call": spread(self.call),
            "guard_us": spread([ns / 1000 for ns in self.guard_timer.samples]),
            "check_us": spread([ns / 1000 for ns in self.check_ns]),
            "context_us": spread([ns / 1000 for ns in self.context_ns]),
            "working": spread(self.working), "lag": spread(self.lags), "stages": stages,
            "consumers": {name: {"n": len(v), "p99": spread(v)["p99"], "max": max(v),
                                 "over_5ms": sum(1 for x in v if x > 5), "total": sum(v)}
                          for name, v in self.consumer_ms.items() if v},
            "gc": {"n": len(gc_ms), "max": max(gc_ms, default=0),
                   "over_5ms": sum(1 for x in gc_ms if x > 5)},
            "frame_ms": self.runtime.settings.frame_ms,
            "platform": self._platform(), "denied": self.runtime.risk.guard.denied,
            "cpu": (self.cpu_end - self.cpu_start) / timed_s,
            "threads": {n: c for n, c in sorted(threads.items(), key=lambda i: -i[1])
                        if c >= 0.01},
        }
        profiles = {thread: profile_text(profiler) for thread, profiler in
                    (("GUI thread", self.profiler), ("event thread", self.event_profiler))
                    if profiler is not None}
        if profiles:
            result["profiles"] = profiles
        return result

    @staticmethod
    def _platform() -> str:
        from PySide6.QtWidgets import QApplication

        return QApplication.instance().platformName()


def child(args: argparse.Namespace) -> None:
    """Reports with `emit` once the run is done; returning is a failure."""
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    home = Path(args.home)
    data_paths = paths.prepare(home)  # before vn.py is imported and Qt starts
    settings = {"sim_seed": 7, "sim_capital": 100_000_000.0}
    if args.frame_ms:
        settings["frame_ms"] = args.frame_ms
    data_paths.settings_file.write_text(json.dumps(settings), encoding="utf-8")
    from PySide6.QtWidgets import QApplication

    app = slow_event_app() if args.slow_events else QApplication([sys.argv[0]])
    from terminal.app.main import start
    from terminal.core.interpreter import tune_for_gui

    runtime, window = start(home, show=True)
    tune_for_gui()  # as terminal.app.main does once the window is built

    def report(error=None, **result) -> None:
        emit({"error": error, **result})  # no close confirmation, no engine shutdown

    Bench(runtime, window, args, report)
    app.exec()


# ---------------------------------------------------------------------------------- parent side
def run_case(case: str, args: argparse.Namespace) -> dict:
    print(f"running gate {case} at {args.rate:,} orders/s ...", file=sys.stderr, flush=True)
    stderr: list[str] = []
    with scratch(f"bench-orders-{case}-") as (home, env):
        result = run_child(child_command(
            __file__, "--child", case, ("--rate", args.rate), ("--seconds", args.seconds),
            ("--warmup", args.warmup), ("--cancel-ms", args.cancel_ms),
            ("--timeout", args.timeout), ("--home", home), ("--frame-ms", args.frame_ms),
            ("--profile", args.profile), ("--slow-events", args.slow_events),
            ("--working-only", args.working_only), ("--newest-first", args.newest_first)),
            timeout=3 * args.timeout + args.seconds + args.warmup + 120, env=env,
            stderr=stderr)
    if args.slow_events and stderr:
        summarize_slow_events(f"gate {case}", stderr[0])
    return result


ROWS = [  # label, key, statistic, scale, digits
    ("orders sent (timed)", "sent", None, 1, 0),
    ("send rate (orders/s)", "send_rate", None, 1, 0),
    ("acks in the GUI", "acks", None, 1, 0),
    ("ticket->GUI ack p50 (ms)", "ack", "p50", 1000, 2),
    ("ticket->GUI ack p99 (ms)", "ack", "p99", 1000, 2),
    ("ticket->GUI ack max (ms)", "ack", "max", 1000, 2),
    ("  ticket->engine ack p50 (ms)", "engine_ack", "p50", 1000, 2),
    ("  ticket->engine ack p99 (ms)", "engine_ack", "p99", 1000, 2),
    ("  engine ack->GUI p50 (ms)", "engine_to_gui", "p50", 1000, 2),
    ("  engine ack->GUI p99 (ms)", "engine_to_gui", "p99", 1000, 2),
    ("  buy() call p50 (us)", "call", "p50", 1e6, 0),
    ("  buy() call p99 (us)", "call", "p99", 1e6, 0),
    ("guard overhead p50 (us)", "guard_us", "p50", 1, 1),
    ("guard overhead p99 (us)", "guard_us", "p99", 1, 1),
    ("working orders median", "working", "p50", 1, 0),
    ("working orders max", "working", "max", 1, 0),
    ("process CPU (cores)", "cpu", None, 1, 2),
    ("GUI loop lag p99 (ms)", "lag", "p99", 1000, 1),
    ("GUI loop lag max (ms)", "lag", "max", 1000, 1),
]


def value(result: dict, key: str, stat: str | None) -> float | None:
    if result.get("error") or key not in result:
        return None
    item = result[key]
    return item.get(stat) if stat else item


def show(results: dict[str, dict], args: argparse.Namespace) -> None:
    print(f"\n{args.rate:,} orders/s for {args.seconds:g} s (+{args.warmup:g} s warm-up), "
          f"{SYMBOL} buy limits resting 1-4% below the bid, acked ones cancelled every "
          f"{args.cancel_ms} ms")
    print(f"  {'':32}" + "".join(f"{'gate ' + c:>14}" for c in results))
    for label, key, stat, scale, digits in ROWS:
        cells = ""
        for result in results.values():
            number = value(result, key, stat)
            text = ("error" if result.get("error") else "-" if number is None
                    else f"{number * scale:,.{digits}f}")
            cells += f"{text:>14}"
        print(f"  {label:32}{cells}")
    for case, result in results.items():
        if result.get("error"):
            print(f"  gate {case}: {result['error']}")
            continue
        for name, figures in result.get("stages", {}).items():
            if figures["n"]:
                print(f"  gate {case}, {name}: p50 {figures['p50'] * 1000:.2f} ms, "
                      f"p99 {figures['p99'] * 1000:.2f} ms, max {figures['max'] * 1000:.2f} ms")
        for name, c in sorted(result.get("consumers", {}).items(), key=lambda i: -i[1]["total"]):
            print(f"  gate {case}, consumer {name}: n {c['n']}, total {c['total']:.0f} ms, "
                  f"p99 {c['p99']:.2f} ms, max {c['max']:.2f} ms, over 5 ms {c['over_5ms']}")
        if "gc" in result:
            print(f"  gate {case}, garbage collections: {result['gc']}")
        print(f"  gate {case}, CPU by thread (cores): " + ", ".join(
            f"{name} {cores:.2f}" for name, cores in result["threads"].items()))
        missing = result["sent"] - result["acks"] - sum(result["failed"].values())
        if result["failed"] or missing or result.get("denied"):
            print(f"  WARNING gate {case}: not acknowledged as NOTTRADED: {result['failed']}, "
                  f"never resolved: {missing}, denied by the gate: {result.get('denied')}")


def verdicts(results: dict[str, dict]) -> None:
    on, off = results.get("on"), results.get("off")
    on = on if on and not on.get("error") else None
    off = off if off and not off.get("error") else None

    print("\ngate cost per order:")
    if on:
        print(f"  (a) gate.check(req, ctx) alone, timeit median:       "
              f"{on['micro_check_us']:6.2f} us  (in the run: p50 {on['check_us']['p50']:.2f}, "
              f"p99 {on['check_us']['p99']:.2f} us)  -> {on['micro_allowed']}")
        print(f"  (b) guard.context(req, contract), timeit median:     "
              f"{on['micro_context_us']:6.2f} us  (in the run: p50 "
              f"{on['context_us']['p50']:.2f}, p99 {on['context_us']['p99']:.2f} us; "
              f"{on['micro_ctx_working']} working orders)")
    if on and off:
        guard = on["guard_us"]["p50"] - off["guard_us"]["p50"]
        guard99 = on["guard_us"]["p99"] - off["guard_us"]["p99"]
        call = (on["call"]["p50"] - off["call"]["p50"]) * 1e6
        e2e = (on["ack"]["p50"] - off["ack"]["p50"]) * 1e6
        print(f"  (c) ticket->GUI ack p50, on - off:                    {e2e:8,.0f} us "
              f"(frame pacing and scheduling noise, not the gate)")
        print(f"      buy() call p50, on - off:                         {call:8,.1f} us")
        print(f"      guard overhead in the run, on - off:              {guard:8,.1f} us p50, "
              f"{guard99:,.1f} us p99")
    print("\ntargets:")
    if on:
        hot = on["micro_check_us"] + on["micro_context_us"]
        run = on["check_us"]["p50"] + on["context_us"]["p50"]
        line = f"check + context {hot:.1f} us hot, {run:.1f} us p50 in the run"
        ok = hot < TARGET_GATE_US and run < TARGET_GATE_US
        if off:
            added = on["guard_us"]["p50"] - off["guard_us"]["p50"]
            added99 = on["guard_us"]["p99"] - off["guard_us"]["p99"]
            line += f"; guard on - off {added:.1f} us p50, {added99:.1f} us p99"
            ok = ok and added < TARGET_GATE_US
        print(f"  gate adds < {TARGET_GATE_US:g} us per order: {met(ok)} ({line})")
    for case, result in (("on", on), ("off", off)):
        if result:
            p99 = result["ack"]["p99"] * 1000
            print(f"  p99 ticket->GUI ack < {TARGET_P99_MS:g} ms, gate {case}: "
                  f"{met(p99 < TARGET_P99_MS)} ({p99:.2f} ms; pump frame "
                  f"{result['frame_ms']} ms)")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:  # never hang on an error: the engine threads and the window stay up
        child_main(lambda: child(args))
    cases = [args.only] if args.only else list(CASES)
    results = {case: run_case(case, args) for case in cases}
    first = next((r for r in results.values() if not r.get("error")), {})
    print(f"\nfull terminal (terminal.app.main.start, main window shown, plain QApplication loop), "
          f"simulated exchange; QT_QPA_PLATFORM={first.get('platform', '?')}, "
          f"{os.cpu_count()} CPUs, pump frame {first.get('frame_ms', '?')} ms")
    show(results, args)
    verdicts(results)
    if args.profile:
        print("\n(--profile: the profiled run's latencies are inflated by the profiler)")
    for case, result in results.items():
        for thread, text in (result.get("profiles") or {}).items():
            print(f"\ncProfile of the {thread} over the timed run, gate {case}:\n{text}")


if __name__ == "__main__":
    main()
