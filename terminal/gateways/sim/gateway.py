"""`SimGateway`: the simulated exchange behind vn.py's gateway interface.

One thread owns the exchange. Orders and cancels arrive through a queue and are handled at
once; between them the thread produces quote snapshots for every contract, staggered so that
each contract gets `quote_rate` snapshots a second. Ticks are published for subscribed
contracts only, but every contract's market moves, so orders in any of them can be matched.

A replay (`start_replay`) adds a past contract whose quotes come from a recorded day on a
virtual clock instead; orders in it are matched and stamped on that clock.

All of it runs on `clock`: the machine's time, or in tests a `ManualClock` that moves only
when `advance` says, so that what a test sees does not depend on the machine's speed. Orders,
trades and cancels are stamped on that clock (a replayed contract's on the replay's), and a
replay is brought up to its clock before each command, so an order meets the book of its time.

For tests that race a fill against a cancel-then-replace, `hold_cancels` keeps cancels
unanswered (the order stays working and can fill) until `release_cancels`; `quote` puts a
book of the test's own on the exchange. Neither is used by the terminal.
"""

from __future__ import annotations

import copy
import itertools
import logging
import queue
import random
import threading
from datetime import datetime
from typing import ClassVar

from vnpy.event import EventEngine
from vnpy.trader.constant import Exchange, Interval, Status
from vnpy.trader.gateway import BaseGateway
from vnpy.trader.object import (AccountData, BarData, CancelRequest, HistoryRequest,
                                OrderRequest, SubscribeRequest, TickData)

from terminal.core.ids import session_stamp
from terminal.core.trading_day import trading_day
from terminal.gateways.sim.clock import ManualClock, RealClock
from terminal.gateways.sim.exchange import ExchangeSink, SimExchange
from terminal.gateways.sim.history import (HistoryRefused, MinuteTape, SimStart, bars_of,
                                           history)
from terminal.gateways.sim.quotes import QuoteModel
from terminal.gateways.sim.replay import MAX_TICKS_PER_STEP, ReplayFeed, ReplayStatus
from terminal.market import contracts
from terminal.market.contracts import ContractSpec

log = logging.getLogger(__name__)
BATCH_SECONDS = 0.002
# What is due within a nanosecond is due: the schedule is summed in floats, and a second at
# 2 quotes a second holds its second quote, not a rounding error before it.
SLACK = 1e-9
ACCOUNT_HOLD_SECONDS = 0.05
ENDED_AS = {Status.ALLTRADED: "already filled", Status.CANCELLED: "already cancelled",
            Status.REJECTED: "rejected"}


class SimGateway(BaseGateway):
    default_name = "SIM"
    # Its working orders live in this process: after a restart they are gone, not unknown
    # (the managed orders send protective ones again; terminal.orders.rearm).
    orders_die_with_process = True
    default_setting: ClassVar[dict[str, str | int | float | bool]] = {
        "quote_rate": 2.0,
        "capital": 1_000_000.0,
        "seed": 0,
    }
    exchanges: ClassVar[list[Exchange]] = [
        Exchange.SHFE, Exchange.INE, Exchange.DCE, Exchange.CZCE, Exchange.CFFEX]

    def __init__(self, event_engine: EventEngine, gateway_name: str = "SIM") -> None:
        super().__init__(event_engine, gateway_name)
        self.specs: tuple[ContractSpec, ...] = contracts.SPECS
        self._commands: queue.Queue = queue.Queue()
        self._subscribed: set[str] = set()
        self._thread: threading.Thread | None = None
        self._active = False
        self._order_ids = itertools.count(1)
        self._session = session_stamp()   # ids unique across days: the journal
                                                        # keys orders by them
        self.exchange: SimExchange | None = None
        self.quote_rate = 2.0
        self.connected = threading.Event()
        self._feed: ReplayFeed | None = None
        self._held_account: AccountData | None = None
        self._held_since = 0.0
        # Set before `connect`: the terminal runs on the machine's time, tests on their own.
        self.clock: RealClock | ManualClock = RealClock()
        self._interval = 1.0        # between two quotes (of any contract), from the quote rate
        self._batch = False
        self._next_quote = 0.0
        self._woke = 0.0
        self._cycle: itertools.cycle = itertools.cycle(())
        self._day = None
        self.start: SimStart | None = None      # the run's seed, start and starting prices
        self.tape = MinuteTape()                # its minutes since, for query_history
        self._held_cancels: list[str] | None = None     # None: cancels are answered at once

    # ------------------------------------------------------------------ BaseGateway API
    def connect(self, setting: dict) -> None:
        if self._active:
            return
        rate = float(setting.get("quote_rate", 2.0))
        capital = float(setting.get("capital", 1_000_000.0))
        seed = int(setting.get("seed", 0)) or random.SystemRandom().randrange(1, 2**31)
        if rate <= 0 or capital <= 0:
            self.write_log(f"simulated exchange: invalid setting rate={rate} capital={capital}")
            return
        self.quote_rate = rate
        sink = ExchangeSink(self.on_order, self.on_trade, self.on_position, self._hold_account)
        self.exchange = SimExchange(self.specs, capital, self.gateway_name, sink)
        rng = random.Random(seed)
        self._models = [QuoteModel(spec, rng, self.gateway_name) for spec in self.specs]
        restored = setting.get("restore") or {}
        marks = self.exchange.restore(restored.get("positions", []), restored.get("account"))
        for model in self._models:
            if model.spec.vt_symbol in marks:
                model.resume_at(marks[model.spec.vt_symbol])
        now = self.clock.now()
        self.start = SimStart(seed, now, {m.spec.vt_symbol: m.mid_price for m in self._models})
        self.tape = MinuteTape()
        for model in self._models:  # every contract has a book before the first order
            tick = model.step(now)
            self.exchange.on_book(tick, now)
            self.tape.add(tick.vt_symbol, now, tick.last_price, tick.volume, tick.open_interest)
        for spec in self.specs:
            self.on_contract(self.exchange.contract_data(spec))
        self.exchange.publish_all()
        self._send_held_account()
        self._interval = 1.0 / (rate * len(self._models))
        # Above a quote every BATCH_SECONDS the thread wakes once a batch, not once a quote:
        # at 5,000 quotes a second the wake-ups alone took a quarter of a core (and the GIL).
        self._batch = self._interval < BATCH_SECONDS
        self._woke = self.clock.monotonic()
        self._next_quote = self._woke + self._interval
        self._cycle = itertools.cycle(self._models)
        self._day = trading_day(now)
        self._active = True
        self._thread = threading.Thread(target=self._run, name="sim-exchange", daemon=True)
        self._thread.start()
        self.connected.set()
        self.write_log(
            f"simulated exchange connected: {len(self.specs)} contracts, "
            f"{rate:g} quotes/s each, capital {capital:,.0f}, seed {seed}"
        )

    def close(self) -> None:
        self._active = False
        self._commands.put(("stop",))
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        self.connected.clear()

    def subscribe(self, req: SubscribeRequest) -> None:
        if self.exchange is None or req.vt_symbol not in self.exchange.specs:
            self.write_log(f"simulated exchange: no contract {req.vt_symbol} to subscribe")
            return
        self._subscribed.add(req.vt_symbol)
        self._commands.put(("snapshot", req.vt_symbol))  # as CTP does: the current book at once

    def send_order(self, req: OrderRequest) -> str:
        orderid = f"{self._session}_{next(self._order_ids)}"
        order = req.create_order_data(orderid, self.gateway_name)
        order.datetime = self._now(req.vt_symbol)
        if not self._active:
            order.status = Status.REJECTED
            order.extra = {"reason": "simulated exchange is not connected"}
            self.on_order(order)
            return order.vt_orderid
        self.on_order(order)
        self._commands.put(("order", req, orderid))
        return order.vt_orderid

    def cancel_order(self, req: CancelRequest) -> None:
        self._commands.put(("cancel", f"{self.gateway_name}.{req.orderid}"))

    def query_account(self) -> None:
        self._commands.put(("publish",))

    def query_position(self) -> None:
        self._commands.put(("publish",))

    def query_history(self, req: HistoryRequest) -> list[BarData]:
        """vn.py's history query: simulated 1-minute bars of a listed contract (hourly and
        daily ones built from them), 20 trading days before the run's start at the least (from
        `req.start` when earlier, up to a year), ending at the price the run started from, then
        the minutes it has made since; within `req.start` .. `req.end`. Same seed, start and
        price: same bars (see gateways/sim/history.py). Anything else is refused with a log
        line and no bars, as vn.py's callers expect a list."""
        start = self.start
        spec = contracts.find(req.vt_symbol)
        if start is None or spec is None or spec.vt_symbol not in start.prices:
            self.write_log(f"simulated exchange: no history of {req.vt_symbol}"
                           + ("" if start else ": not connected"))
            return []
        try:
            columns = history(spec, start, self.tape, self.clock.now(),
                              req.interval or Interval.MINUTE, req.start, req.end)
        except HistoryRefused as exc:
            self.write_log(f"simulated exchange: {exc}")
            return []
        return bars_of(spec, columns, self.gateway_name, req.interval or Interval.MINUTE)

    # ------------------------------------------------------------------ a test's clock
    def advance(self, seconds: float, timeout: float = 30.0) -> None:
        """Move a `ManualClock` `seconds` on and return once the exchange thread has made
        what fell due meanwhile (quotes, replay ticks, an account report held back), after the
        commands sent before.

        `timeout` only bounds a thread that has died; it is not a pace."""
        if not isinstance(self.clock, ManualClock):
            raise RuntimeError("advance needs the simulator on a ManualClock")
        if not seconds >= 0:
            raise ValueError(f"cannot move the clock by {seconds!r} s")
        if not self._active:
            raise RuntimeError("the simulated exchange is not connected")
        done = threading.Event()
        self._commands.put(("advance", float(seconds), done))
        if not done.wait(timeout):
            raise TimeoutError(f"the simulated exchange did not advance {seconds} s")

    def hold_cancels(self, hold: bool = True) -> None:
        """Tests: from now on keep each cancel unanswered, its order working (it can still
        fill), until `release_cancels`; `hold=False` releases them and answers at once again.
        Off by default. In command order, so deterministic on a `ManualClock`."""
        self._commands.put(("hold-cancels", hold))

    def release_cancels(self) -> None:
        """Tests: answer the cancels held so far, in the order they came (those whose order
        filled meanwhile are refused, as any cancel of an order no longer working)."""
        self._commands.put(("release-cancels",))

    def quote(self, tick: TickData) -> None:
        """Tests and benchmarks: make `tick` its contract's book now, as one of the
        simulator's own quotes (working orders matched, stops checked, published when
        subscribed), restamped on the exchange's clock. The clock does not move; on a
        `ManualClock` no quote of the simulator's own comes until it does."""
        self._commands.put(("quote", tick))

    # ------------------------------------------------------------------ account reports
    def _hold_account(self, account: AccountData) -> None:
        """The account goes out once a burst of work is done, the latest state only.

        A broker reports the account as a state (CTP on query, every few seconds); the
        exchange computes it after every order, cancel and fill. Twenty-five cancels sent in
        one frame were twenty-five account messages through the journal, the risk monitors
        and the GUI, each queued ahead of the next order's acknowledgement. Orders, trades
        and positions still go out at once, and the account follows when the thread has no
        command waiting (or `ACCOUNT_HOLD_SECONDS` at most).
        """
        if self._held_account is None:
            self._held_since = self.clock.monotonic()
        self._held_account = account

    def _send_held_account(self) -> None:
        account, self._held_account = self._held_account, None
        if account is not None:
            self.on_account(account)

    # ------------------------------------------------------------------ replay
    def start_replay(self, feed: ReplayFeed) -> None:
        """Replace any running replay with `feed` (paused at its first tick)."""
        self._commands.put(("replay", feed))

    def control_replay(self, action: str, value: float = 0.0) -> None:
        """"play", "pause", "stop", "speed" (value: times real time), "seek" (value: ns)."""
        self._commands.put(("replay-control", action, value))

    def replay_status(self) -> ReplayStatus | None:
        feed = self._feed
        return feed.status(self.clock.monotonic()) if feed is not None else None

    def _now(self, vt_symbol: str) -> datetime:
        feed = self._feed
        if feed is not None and feed.vt_symbol == vt_symbol:
            return feed.moment(self.clock.monotonic())
        return self.clock.now()

    def _begin_replay(self, feed: ReplayFeed) -> None:
        exchange = self.exchange
        assert exchange is not None
        if self._feed is not None:
            self._end_replay()
        exchange.specs[feed.vt_symbol] = feed.spec
        self._feed = feed
        self.on_contract(exchange.contract_data(feed.spec))
        feed.seek(int(feed.times[0]), self.clock.monotonic())
        self._play_due(force=True)
        self.write_log(f"replay of {feed.vt_symbol} on {feed.day}: {len(feed.times):,} "
                       f"{'ticks' if feed.source == 'tick' else 'ticks from 1-minute bars'}")

    def _end_replay(self) -> None:
        feed, self._feed = self._feed, None
        if feed is None or self.exchange is None:
            return
        for vt_orderid, working in list(self.exchange.working.items()):
            if working.order.vt_symbol == feed.vt_symbol:
                self.exchange.cancel(vt_orderid, feed.moment(self.clock.monotonic()))
        self.write_log(f"replay of {feed.vt_symbol} stopped")

    def _control(self, action: str, value: float) -> None:
        feed = self._feed
        if feed is None:
            return
        real = self.clock.monotonic()
        if action == "play":
            if feed.finished:
                feed.seek(int(feed.times[0]), real)
            feed.play(real)
        elif action == "pause":
            feed.pause(real)
        elif action == "speed":
            feed.set_speed(value, real)
        elif action == "seek":
            feed.seek(int(value), real)
            self._play_due(force=True)
        elif action == "stop":
            self._end_replay()

    def _play_due(self, force: bool = False) -> int:
        feed = self._feed
        assert feed is not None and self.exchange is not None
        ticks = feed.due(self.clock.monotonic())
        if force and not ticks and feed.position < len(feed.times):
            ticks = [feed.tick(feed.position)]
            feed.position += 1
        for tick in ticks:
            self.exchange.on_book(tick, tick.datetime)
            if tick.vt_symbol in self._subscribed:
                self.on_tick(tick)
        return len(ticks)

    def _catch_up(self) -> None:
        """Play every replay tick due by the replay's clock now. Before an order, a cancel or
        a change of pace: the thread may have been busy while they fell due, and an order
        stamped at the replay's now must meet the book of that time, not an older one (a buy
        filled at an ask the market had left, stamped after the ticks that left it)."""
        while self._feed is not None and self._play_due() >= MAX_TICKS_PER_STEP:
            pass

    # ------------------------------------------------------------------ exchange thread
    def _run(self) -> None:
        clock = self.clock
        monotonic = clock.monotonic
        while self._active:
            if self._held_account is not None and (
                    self._commands.empty()
                    or monotonic() - self._held_since > ACCOUNT_HOLD_SECONDS):
                self._send_held_account()
            if clock.manual:
                timeout = None          # nothing falls due until the clock is moved
            else:
                now = monotonic()
                timeout = max(0.0, self._next_wake(now) - now)
            try:
                command = self._commands.get(timeout=timeout)
            except queue.Empty:
                command = None
            try:
                if command is not None:
                    self._handle(command)
                else:
                    self._make_due()
            except Exception:  # the exchange must outlive one bad command
                log.exception("simulated exchange failed on %r", command)
                self.write_log(f"simulated exchange error on {command!r}; see the log file")

    def _next_wake(self, now: float) -> float:
        """When the thread next has work of its own: the next quote (when batching, not
        sooner than a batch after the last wake-up) or the replay's next tick."""
        wake = self._next_quote
        if self._batch:
            wake = max(wake, self._woke + BATCH_SECONDS)
        feed = self._feed
        replay_wait = feed.wait(now) if feed is not None else None
        if replay_wait is not None:
            wake = min(wake, now + replay_wait)
        return wake

    def _make_due(self) -> None:
        """The replay ticks due by now, and the quotes: one, or when batching, all of them."""
        if self._feed is not None:
            self._play_due()
        monotonic = self.clock.monotonic
        if monotonic() < self._next_quote - SLACK:
            return
        exchange, models, interval = self.exchange, self._cycle, self._interval
        assert exchange is not None
        now_of, next_quote, batch = self.clock.now, self._next_quote, self._batch
        tape_add = self.tape.add
        woke = self._woke = monotonic()
        while True:
            now = now_of()
            model = next(models)
            tick = model.step(now)
            exchange.on_book(tick, now)
            tape_add(tick.vt_symbol, now, tick.last_price, tick.volume, tick.open_interest)
            if tick.vt_symbol in self._subscribed:
                self.on_tick(tick)
            next_quote += interval
            if not batch or next_quote > woke + SLACK or not self._active:
                break
        if monotonic() - next_quote > 1.0:  # the machine stalled; do not burst to catch up
            next_quote = monotonic() + interval
        self._next_quote = next_quote
        today = trading_day(now)
        if today != self._day:
            self._day = today
            exchange.roll_trading_day()
            self.write_log(f"simulated exchange: new trading day {today}")

    def _cancel(self, vt_orderid: str) -> None:
        """Cancel a working order (it comes back CANCELLED). An order no longer working is
        left as it is and the refusal logged, as CTP answers such a cancel with an error
        (OnRspOrderAction) and no order report."""
        exchange = self.exchange
        assert exchange is not None
        working = exchange.working.get(vt_orderid)
        if working is not None:
            exchange.cancel(vt_orderid, self._now(working.order.vt_symbol))
            return
        ended = exchange.ended.get(vt_orderid)
        why = ENDED_AS.get(ended, "not working") if ended else "no such order"
        self.write_log(f"cancel refused: {vt_orderid} is {why}")

    def _release_cancels(self) -> None:
        held = self._held_cancels or []
        if self._held_cancels is not None:
            self._held_cancels = []
        for vt_orderid in held:
            self._cancel(vt_orderid)

    def _quote(self, tick: TickData) -> None:
        exchange = self.exchange
        assert exchange is not None
        if tick.vt_symbol not in exchange.specs:
            self.write_log(f"simulated exchange: no contract {tick.vt_symbol} to quote")
            return
        tick = copy.copy(tick)
        tick.gateway_name = self.gateway_name
        tick.datetime = now = self._now(tick.vt_symbol)
        exchange.on_book(tick, now)
        if tick.vt_symbol in self._subscribed:
            self.on_tick(tick)

    def _advance(self, seconds: float) -> None:
        """Move the manual clock `seconds` on through each moment the thread would have woken
        at on an idle machine, making there what was due."""
        clock = self.clock
        assert isinstance(clock, ManualClock)
        end = clock.seconds + seconds
        while (wake := self._next_wake(clock.seconds)) <= end + SLACK:
            clock.seconds = max(clock.seconds, wake)
            self._make_due()
        clock.seconds = max(clock.seconds, end)

    def _handle(self, command: tuple) -> None:
        kind = command[0]
        exchange = self.exchange
        assert exchange is not None
        if self._feed is not None and kind not in ("replay", "stop"):
            self._catch_up()
        if kind == "order":
            _, req, orderid = command
            exchange.submit(req, orderid, self._now(req.vt_symbol))
        elif kind == "cancel":
            if self._held_cancels is not None:
                self._held_cancels.append(command[1])
            else:
                self._cancel(command[1])
        elif kind == "hold-cancels":
            if not command[1]:
                self._release_cancels()
            self._held_cancels = [] if command[1] else None
        elif kind == "release-cancels":
            self._release_cancels()
        elif kind == "quote":
            self._quote(command[1])
        elif kind == "snapshot":
            book = exchange.books.get(command[1])
            if book is not None:
                self.on_tick(book)
        elif kind == "publish":
            exchange.publish_all()
        elif kind == "replay":
            self._begin_replay(command[1])
        elif kind == "replay-control":
            self._control(command[1], command[2])
        elif kind == "advance":
            try:
                self._advance(command[1])
                if self._commands.empty():      # idle: the held account goes out now
                    self._send_held_account()
            finally:
                command[2].set()
        elif kind == "stop":
            self._active = False
