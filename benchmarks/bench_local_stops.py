"""Local stops: from the tick that crosses a stop to its order at the gateway, with 500 armed
across symbols: the terminal's managed orders beside vn.py's own local stop orders
(`vnpy_ctastrategy.CtaEngine.check_stop_order`), on the same engines.

Hand-run from the project root (not a test):

    .venv/bin/python benchmarks/bench_local_stops.py              # 3 rounds x 1,000 triggers a case
    .venv/bin/python benchmarks/bench_local_stops.py --rounds 1 --triggers 200 --only managed

Each case runs in its own subprocess and temporary data directory, in turns round after round,
on the terminal's runtime as `terminal.system.runtime.build` makes it (event engine, journal,
risk gate on the gateway boundary, CTA engine, managed orders, bridge), with no window: the
simulated exchange connected on a `ManualClock`, so it sends no quotes of its own; the
benchmark's ticks are the only ones. The risk limits are raised (not saved) so every order
passes: the price band and the duplicate window off (vn.py's stop child is a limit at the
daily limit price, 7-10% away), counts, positions and funds share unlimited, loss monitors
off; the gate still checks every order.

- "managed": `runtime.managed.place_stop` (a local stop market, triggered by the last price).
- "vnpy": `runtime.cta` (the terminal's CtaEngine, vn.py's `check_stop_order` unchanged) holds
  the stops: one do-nothing strategy per symbol, stops armed with `send_local_stop_order`
  (what `CtaTemplate.buy/sell(stop=True)` does when the contract has no stops at the exchange).

Both arm --armed - 1 stops that never trigger (buy stops 50+ ticks above the market and sell
stops 50+ below, spread over the simulator's 24 contracts) and, for each trigger, one more
stop one tick from the market on the next contract in turn (buy and sell alternately), so
--armed are armed when it triggers. Then --between ticks of other contracts that cross
nothing, the engine drained (idle), and the crossing tick put on the event engine as a gateway
puts it (`on_tick`: EVENT_TICK and EVENT_TICK.<vt_symbol>). Timed (perf_counter_ns):
- put -> send: from just before the put to the child order entering the simulated gateway's
  own `send_order`, after the risk gate allowed it (the guard's `send_through` is wrapped).
- on thread -> send: from the event thread taking the crossing tick off its queue (its
  `_process` is wrapped) to the same point: what the event thread spends, without the queue's
  hand-over (a thread wake-up).
- hand-over: put -> the event thread taking the tick (the machine's scheduling, not the code).
- book write (managed): the time spent in `ManagedBook.save` (the SQLite write that commits
  the stop's state before its order leaves) between the put and the send.
The first --warmup triggers are not counted. Target: p99 of put -> send under 1 ms.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from harness import (ROOT, child_command, child_main, load_average, met, run_child, scratch,
                     spread, steal_share)

CASES = ("managed", "vnpy")
TARGET_P99_MS = 1.0
FAR_TICKS = 50             # the stops that never trigger lie this many ticks or more away


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--armed", type=int, default=500, help="stops armed at each trigger")
    parser.add_argument("--triggers", type=int, default=1000, help="timed triggers a round")
    parser.add_argument("--warmup", type=int, default=50, help="triggers not counted")
    parser.add_argument("--between", type=int, default=20,
                        help="ticks that cross nothing before each crossing tick")
    parser.add_argument("--rounds", type=int, default=3, help="turns through the cases")
    parser.add_argument("--timeout", type=float, default=600.0, help="a child's time, s")
    parser.add_argument("--only", choices=CASES, action="append", help="run only these cases")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------- child
class Market:
    """The benchmark's ticks: each contract's book as the simulator opened it, moved to a
    last price of our choosing with a one-tick spread and five levels either side."""

    def __init__(self, gateway) -> None:
        self.gateway = gateway
        self.books = {vt: copy.copy(book) for vt, book in gateway.exchange.books.items()}
        self.symbols = sorted(self.books)
        self.ticks = {vt: gateway.exchange.specs[vt].pricetick for vt in self.symbols}
        self.base = {vt: book.last_price for vt, book in self.books.items()}

    def tick(self, vt_symbol: str, offset_ticks: int):
        from terminal.core.timezone import CHINA_TZ
        from terminal.market.prices import round_to_tick

        size = self.ticks[vt_symbol]
        tick = copy.copy(self.books[vt_symbol])
        last = round_to_tick(self.base[vt_symbol] + offset_ticks * size, size)
        tick.datetime = datetime.now(CHINA_TZ)
        tick.last_price = last
        tick.last_volume = 1.0
        for level in range(1, 6):
            setattr(tick, f"bid_price_{level}", round_to_tick(last - (level - 1) * size, size))
            setattr(tick, f"ask_price_{level}", round_to_tick(last + level * size, size))
            setattr(tick, f"bid_volume_{level}", 50.0)
            setattr(tick, f"ask_volume_{level}", 50.0)
        return tick

    def price(self, vt_symbol: str, offset_ticks: int) -> float:
        from terminal.market.prices import round_to_tick

        size = self.ticks[vt_symbol]
        return round_to_tick(self.base[vt_symbol] + offset_ticks * size, size)


class ManagedStops:
    """The terminal's managed orders hold the stops."""

    def __init__(self, runtime) -> None:
        managed = getattr(runtime, "managed", None)
        if managed is None:
            raise RuntimeError("this tree has no managed orders (runtime.managed): "
                               "merge main once terminal/orders has landed")
        self.managed = managed
        self.saves: list[tuple[int, int]] = []      # (end, duration) ns of each book write
        save, pc = managed.book.save, time.perf_counter_ns

        def timed_save(group) -> None:
            start = pc()
            save(group)
            end = pc()
            self.saves.append((end, end - start))

        managed.book.save = timed_save

    def written_by(self, moment: int) -> float:
        """ms spent writing the managed book before `moment` since the last call."""
        spent = sum(duration for end, duration in self.saves if end <= moment)
        self.saves.clear()
        return spent / 1e6

    def arm(self, vt_symbol: str, direction, trigger: float) -> None:
        self.managed.place_stop(vt_symbol, direction, 1, trigger)

    def armed(self) -> int:
        return sum(1 for view in self.managed.views() if view.state == "armed")


class VnpyStops:
    saves = None
    """vn.py's CtaEngine holds the stops, for one do-nothing strategy per symbol."""

    def __init__(self, runtime, symbols: list[str]) -> None:
        from vnpy_ctastrategy import CtaTemplate

        class Holder(CtaTemplate):
            """Holds local stop orders; does nothing on ticks and bars."""

            author = "bench"

            def on_init(self) -> None: ...
            def on_start(self) -> None: ...
            def on_stop(self) -> None: ...
            def on_tick(self, tick) -> None: ...
            def on_bar(self, bar) -> None: ...

        self.cta = cta = runtime.cta
        self.holders = {}
        for vt_symbol in symbols:
            name = f"stops_{vt_symbol}"
            holder = Holder(cta, name, vt_symbol, {})
            holder.inited = holder.trading = True
            cta.strategies[name] = holder
            cta.symbol_strategy_map[vt_symbol].append(holder)
            self.holders[vt_symbol] = holder

    def arm(self, vt_symbol: str, direction, trigger: float) -> None:
        from vnpy.trader.constant import Offset

        if not self.cta.send_local_stop_order(self.holders[vt_symbol], direction, Offset.OPEN,
                                              trigger, 1, False, False):
            raise RuntimeError(f"vn.py refused a stop on {vt_symbol}")

    def armed(self) -> int:
        return len(self.cta.stop_orders)


def build_runtime(home: Path):
    from terminal.core import paths

    data = paths.prepare(home)         # before vn.py is imported, as the app does
    from terminal.core import settings as settings_file
    from terminal.gateways.sim.clock import ManualClock
    from terminal.system import runtime as runtime_module

    data.settings_file.write_text(json.dumps({"sim_seed": 7, "sim_capital": 1e11}),
                                  encoding="utf-8")
    settings, _ = settings_file.load(data.settings_file)
    runtime = runtime_module.build(data, settings, sim_clock=ManualClock())
    runtime.connect_simulator()
    return runtime


def open_the_gate(runtime) -> None:
    """Every order passes (the gate still checks each): see the module's docstring."""
    from dataclasses import replace

    from terminal.risk.limits import MonitorLimits, RiskLimits

    risk = runtime.risk
    limits = replace(RiskLimits(), max_orders_per_second=1_000_000,
                     max_working_orders=1_000_000, max_position=1_000_000,
                     max_cancels_per_day=1_000_000, max_funds_share=1.0, price_band=0.0,
                     duplicate_seconds=0.0, max_order_notional=0.0)
    monitors = replace(MonitorLimits(), position_loss=0.0, daily_loss=0.0, margin_usage=0.0,
                       stale_seconds=0.0)
    risk.apply(replace(risk.config, global_limits=limits, monitors=monitors), save=False)


class Probe:
    """Timestamps of the crossing tick taken by the event thread and of its child order
    entering the gateway's own send_order."""

    def __init__(self, engine, guard) -> None:
        pc = time.perf_counter_ns
        self.target = None                 # the crossing tick being timed
        self.taken = 0
        self.arrived = 0
        self.sent = threading.Event()
        process, send_through = engine._process, guard.send_through

        def timed_process(event) -> None:
            if event.data is self.target and not self.taken:
                self.taken = pc()
            process(event)

        def through(gateway, req, send):
            def arrive(gateway, req):
                if not self.arrived:
                    self.arrived = pc()
                    self.sent.set()
                return send(gateway, req)
            return send_through(gateway, req, arrive)

        engine._process = timed_process
        guard.send_through = through

    def expect(self, tick) -> None:
        self.target, self.taken, self.arrived = tick, 0, 0
        self.sent.clear()


class Idle:
    """Returns once the event engine has dispatched everything put before the call."""

    KIND = "eBenchIdle"

    def __init__(self, engine) -> None:
        self.engine, self.done = engine, threading.Event()
        engine.register(self.KIND, lambda event: self.done.set())

    def __call__(self) -> None:
        from vnpy.event import Event

        self.done.clear()
        self.engine.put(Event(self.KIND))
        if not self.done.wait(30):
            raise RuntimeError("the event engine stopped dispatching")


def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    runtime = build_runtime(Path.cwd() / "home")
    from vnpy.trader.constant import Direction

    from terminal.market import contracts
    from terminal.core.health import host_steal_seconds
    from terminal.core.interpreter import tune_for_gui

    kernel = runtime.kernel
    engine, main_engine = kernel.event_engine, kernel.main_engine
    gateway = main_engine.get_gateway("SIM")
    deadline = time.monotonic() + 60
    while len(main_engine.get_all_contracts()) < len(contracts.SPECS):
        if time.monotonic() > deadline:
            raise RuntimeError("the simulated exchange's contracts never came")
        time.sleep(0.01)
    gateway.advance(0)
    drained = Idle(engine)
    open_the_gate(runtime)
    market = Market(gateway)
    symbols = market.symbols
    for vt_symbol in symbols:                      # every contract has a last price
        gateway.on_tick(market.tick(vt_symbol, 0))
    drained()
    stops = ManagedStops(runtime) if args.child == "managed" else VnpyStops(runtime, symbols)
    tune_for_gui()                     # the interpreter as the app runs it

    for n in range(args.armed - 1):                # the ones that never trigger
        vt_symbol = symbols[n % len(symbols)]
        away = FAR_TICKS + n // len(symbols)
        if n // len(symbols) % 2:
            stops.arm(vt_symbol, Direction.LONG, market.price(vt_symbol, away))
        else:
            stops.arm(vt_symbol, Direction.SHORT, market.price(vt_symbol, -away))
    drained()
    probe = Probe(engine, runtime.risk.guard)

    put_to_send, on_thread, handover, written = [], [], [], []
    stolen, started = host_steal_seconds(), time.monotonic()
    armed_at_trigger = set()
    for k in range(args.warmup + args.triggers):
        vt_symbol = symbols[k % len(symbols)]
        step = 1 if k // len(symbols) % 2 else -1          # buy stops, sell stops in turns
        stops.arm(vt_symbol, Direction.LONG if step > 0 else Direction.SHORT,
                  market.price(vt_symbol, step))
        others = [s for s in symbols if s != vt_symbol]
        for j in range(args.between):
            gateway.on_tick(market.tick(others[(k + j) % len(others)], 0))
        drained()
        if k < 3 or k == args.warmup:
            armed_at_trigger.add(stops.armed())
        crossing = market.tick(vt_symbol, step)
        if stops.saves is not None:
            stops.saves.clear()
        probe.expect(crossing)
        start = time.perf_counter_ns()
        gateway.on_tick(crossing)
        if not probe.sent.wait(10):
            raise RuntimeError(f"no order reached the gateway for the stop on {vt_symbol}; "
                               f"denied by the gate so far: {runtime.risk.guard.denied}")
        gateway.advance(0)                 # the exchange has filled it and reported ...
        drained()                          # ... and the engine has dispatched the reports
        gateway.on_tick(market.tick(vt_symbol, 0))        # back to where it was
        if k >= args.warmup:
            put_to_send.append((probe.arrived - start) / 1e6)
            on_thread.append((probe.arrived - probe.taken) / 1e6)
            handover.append((probe.taken - start) / 1e6)
            if stops.saves is not None:
                written.append(stops.written_by(probe.arrived))
        if k % 100 == 99:
            kernel.bridge.drain()                          # as the GUI would, now and then
    seconds = time.monotonic() - started
    return {"case": args.child, "put_to_send_ms": spread(put_to_send),
            "on_thread_ms": spread(on_thread), "handover_ms": spread(handover),
            "book_write_ms": spread(written),
            "mean_ms": statistics.fmean(put_to_send),
            "armed": sorted(armed_at_trigger), "denied": runtime.risk.guard.denied,
            "steal_pct": steal_share(stolen, seconds), "seconds": round(seconds, 1)}


# ---------------------------------------------------------------------------------- parent
def run_case(args: argparse.Namespace, case: str) -> dict:
    with scratch(f"bench-stops-{case}-") as (folder, env):
        env["PYTHONPATH"] = str(ROOT)
        command = child_command(__file__, ("--child", case), ("--armed", args.armed),
                                ("--triggers", args.triggers), ("--warmup", args.warmup),
                                ("--between", args.between))
        return run_child(command, timeout=args.timeout, env=env, cwd=folder)


def pair(figures: dict) -> str:
    return "-" if not figures["n"] else f"{figures['p50']:.3f} / {figures['p99']:.3f}"


def report(results: dict[str, list[dict]], args: argparse.Namespace) -> None:
    print(f"\n{args.armed} local stops armed over the simulator's contracts; {args.triggers} "
          f"triggers a round after {args.warmup} uncounted, {args.between} ticks that cross "
          f"nothing before each; load average now {load_average()}")
    print("ms, p50 / p99 (max)    put -> send              on thread        hand-over        "
          "book write       armed  steal %")
    for case, rounds in results.items():
        for number, result in enumerate(rounds, 1):
            if "error" in result:
                print(f"{case:<8} {number:>2}  error: {result['error']}")
                continue
            put, steal = result["put_to_send_ms"], result["steal_pct"]
            print(f"{case:<8} round {number:<2}  {pair(put)} ({put['max']:.3f})  "
                  f"{pair(result['on_thread_ms']):>15}  {pair(result['handover_ms']):>15}  "
                  f"{pair(result['book_write_ms']):>15}  "
                  f"{','.join(map(str, result['armed'])):>6}  "
                  f"{'-' if steal is None else f'{steal:.1f}':>7}")
    p99 = {case: statistics.median(r["put_to_send_ms"]["p99"] for r in rounds
                                   if "error" not in r)
           for case, rounds in results.items() if any("error" not in r for r in rounds)}
    for case, figure in p99.items():
        print(f"{case}: put -> send p99, median of the rounds {figure:.3f} ms: "
              f"{met(figure < TARGET_P99_MS)} (target under {TARGET_P99_MS} ms)")
    if len(p99) == 2:
        print(f"managed / vn.py, put -> send p99: {p99['managed'] / p99['vnpy']:.2f}x")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
        return
    cases = args.only or list(CASES)
    results: dict[str, list[dict]] = {case: [] for case in cases}
    for number in range(args.rounds):
        for case in cases:
            print(f"round {number + 1}: {case} ...", flush=True)
            results[case].append(run_case(args, case))
    report(results, args)


if __name__ == "__main__":
    main()
