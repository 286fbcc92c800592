"""Flatten that finishes: close a position whose lots are partly held by working orders.

Flatten cancels the working orders first, but the cancels are only requests: until the
exchange confirms them, the lots a working close order holds are not free to close (the risk
gate and the exchange both refuse more than the free lots). So the free lots are closed at
once, and the rest once it is safe:

1. every order waited for (the cancelled ones and the closes sent) is final;
2. and the position as reported reflects their last fill: a report that came (in the event
   engine's order) after the last trade of those orders. Gateways differ here: the simulator
   reports the position before the order's final state, CTP only when it next queries. A
   report from before the last fill would overstate what is left, and closing that would
   reverse the position; so without a later report, the job waits for the next one.

Then what the position still holds free is closed; lots a working order holds (a strategy's
exit sent meanwhile, or a report from before a cancel) wait for the next report. A fill is
seen from the order's state as well as from its trade (CTP sends the order first), and the
risk gate refuses any close of the trader's for more than the free lots, so Flatten never
opens a position the other way. That repeats until the position is flat, at most `rounds` times. A
close that is rejected (by the risk gate or the exchange) stops the job, and so does the
deadline; either way a warning alert says what is left open.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from vnpy.event import Event, EventEngine
from vnpy.trader.constant import Status
from vnpy.trader.event import EVENT_ORDER, EVENT_POSITION, EVENT_TIMER, EVENT_TRADE
from vnpy.trader.object import OrderData, PositionData, TradeData

from terminal.core.alerts import EVENT_ALERT, WARNING, Alert
from terminal.core.timezone import CHINA_TZ

log = logging.getLogger(__name__)

# position, lots -> the vt_orderids of the closing orders sent (raises when none could be)
CloseSender = Callable[[PositionData, float], list[str]]


@dataclass
class _Job:
    vt_positionid: str
    vt_symbol: str
    waiting: set[str]                      # orders not final yet: cancelled ones, our closes
    deadline: float
    settled: bool = False                  # all final: a report after their last fill decides
    rounds: int = 0
    sent: list[str] = field(default_factory=list)
    orders: set[str] = field(default_factory=set)   # every order whose fills it follows
    # lots each of those orders has filled, as its state says and as its trades add up: a fill
    # counts once, whichever of the two a gateway sends first
    by_state: dict[str, float] = field(default_factory=dict)
    by_trades: dict[str, float] = field(default_factory=dict)
    last_trade: int = 0                    # event numbers: the last fill of those orders,
    last_report: int = 0                   # and the last report of the position

    def filled(self, vt_orderid: str) -> float:
        return max(self.by_state.get(vt_orderid, 0.0), self.by_trades.get(vt_orderid, 0.0))


class Flattener:
    def __init__(self, event_engine: EventEngine, close: CloseSender,
                 order_of: Callable[[str], OrderData | None],
                 position_of: Callable[[str], PositionData | None], timeout: float = 30.0,
                 rounds: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        """`close(position, lots)` sends closing orders; `order_of(vt_orderid)` and
        `position_of(vt_positionid)` are what the engine holds (an order may have finished
        before the job began; the position's last report may have come before)."""
        self.event_engine = event_engine
        self.close = close
        self.order_of = order_of
        self.position_of = position_of
        self.timeout = timeout
        self.rounds = rounds
        self.clock = clock
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
        self._events = 0          # fills and position reports seen: their order, for `_Job`
        event_engine.register(EVENT_TRADE, self._on_trade)
        event_engine.register(EVENT_ORDER, self._on_order)
        event_engine.register(EVENT_POSITION, self._on_position)
        event_engine.register(EVENT_TIMER, self._on_timer)

    def active(self, vt_positionid: str) -> bool:
        with self._lock:
            return vt_positionid in self._jobs

    def start(self, position: PositionData, cancelled: list[str]) -> list[str]:
        """Close `position`'s free lots now and the rest once `cancelled` (the orders whose
        cancels were just asked for) and the closes are final. Returns the closes sent now."""
        with self._lock:
            held = abs(position.volume)           # a net position's volume is signed
            free = held - position.frozen
            sent = self.close(position, free) if free > 0 else []
            # Only a report after now counts: the one the engine holds may predate a fill of
            # the orders just cancelled.
            job = _Job(position.vt_positionid, position.vt_symbol, set(),
                       self.clock() + self.timeout, sent=list(sent), last_trade=self._events)
            if free < held or sent:
                self._jobs[position.vt_positionid] = job
                self._wait_for(job, [*cancelled, *sent])
            return sent

    def _wait_for(self, job: _Job, vt_orderids: list[str]) -> None:
        """Wait for those of `vt_orderids` that are not final yet (events for the others may
        have come and gone)."""
        job.orders.update(vt_orderids)
        for vt_orderid in vt_orderids:
            order = self.order_of(vt_orderid)
            if order is not None:
                job.by_state.setdefault(vt_orderid, order.traded)
            if order is None or order.is_active():
                job.waiting.add(vt_orderid)
            elif order.status == Status.REJECTED and vt_orderid in job.sent:  # noqa: SIM102
                if not self._refused(job, order):   # it acts (may give the job up): not a test
                    return
        if not job.waiting:
            self._settle(job)

    def _refused(self, job: _Job, order: OrderData) -> bool:
        """A close of ours was rejected. Refused by the risk gate for want of free lots (the
        gateway's report of what working orders hold can lag a cancel, CTP's by seconds),
        the next report decides again (True); anything else stops the job (False)."""
        extra = order.extra or {}
        if extra.get("risk_rule") in ("reduce_only", "halted", "close_exceeds_position") \
                and job.rounds < self.rounds:
            job.last_trade = self._events               # wait for a report after this
            return True
        self._give_up(job, self._rejected(order))
        return False

    @staticmethod
    def _rejected(order: OrderData) -> str:
        return f"a closing order was rejected ({(order.extra or {}).get('reason', 'rejected')})"

    def _settle(self, job: _Job) -> None:
        """Every order is final: go on now if the position was reported after their last
        fill, else at its next report."""
        job.settled = True
        if job.last_report > job.last_trade:
            position = self.position_of(job.vt_positionid)
            if position is not None:
                self._next_round(job, position)

    def _next_round(self, job: _Job, position: PositionData) -> None:
        held = abs(position.volume)
        if not held:
            del self._jobs[job.vt_positionid]
            log.info("flatten of %s finished", job.vt_positionid)
            return
        free = held - position.frozen
        if free <= 0:          # a working order holds the rest (a strategy's exit, or a report
            job.last_trade = self._events        # from before a cancel): the next one decides
            return
        if job.rounds >= self.rounds:
            self._give_up(job, f"still {held:g} lots open after {job.rounds} rounds of "
                               "closing orders")
            return
        job.rounds += 1
        job.settled = False
        try:
            sent = self.close(position, free)
        except Exception as exc:  # noqa: BLE001 - reported as the flatten's failure
            self._give_up(job, f"the closing order could not be sent ({exc})")
            return
        job.sent.extend(sent)
        self._wait_for(job, sent)

    # ------------------------------------------------------------------ event thread
    def _on_trade(self, event: Event) -> None:
        trade: TradeData = event.data
        with self._lock:
            self._events += 1
            for job in self._jobs.values():
                if trade.vt_orderid in job.orders:
                    before = job.filled(trade.vt_orderid)
                    job.by_trades[trade.vt_orderid] = \
                        job.by_trades.get(trade.vt_orderid, 0.0) + trade.volume
                    if job.filled(trade.vt_orderid) > before:
                        job.last_trade = self._events

    def _on_order(self, event: Event) -> None:
        order: OrderData = event.data
        if not self._jobs:
            return
        with self._lock:
            for job in list(self._jobs.values()):
                if order.vt_orderid not in job.orders:
                    continue
                before = job.filled(order.vt_orderid)
                job.by_state[order.vt_orderid] = max(order.traded,
                                                     job.by_state.get(order.vt_orderid, 0.0))
                if job.filled(order.vt_orderid) > before:
                    # A fill, seen in the order's state before its trade (CTP sends the state
                    # first): a report from before now overstates what is left.
                    self._events += 1
                    job.last_trade = self._events
                if order.is_active() or order.vt_orderid not in job.waiting:
                    continue
                job.waiting.discard(order.vt_orderid)
                if order.status == Status.REJECTED and order.vt_orderid in job.sent \
                        and not self._refused(job, order):
                    continue
                if not job.waiting:
                    self._settle(job)

    def _on_position(self, event: Event) -> None:
        position: PositionData = event.data
        with self._lock:
            self._events += 1
            job = self._jobs.get(position.vt_positionid)
            if job is None:
                return
            job.last_report = self._events
            if job.settled:
                self._next_round(job, position)

    def _on_timer(self, event: Event) -> None:
        if not self._jobs:
            return
        now = self.clock()
        with self._lock:
            for job in list(self._jobs.values()):
                if now >= job.deadline:
                    self._give_up(job, f"not flat {self.timeout:g} s after Flatten")

    def _give_up(self, job: _Job, why: str) -> None:
        self._jobs.pop(job.vt_positionid, None)
        log.warning("flatten of %s stopped: %s", job.vt_positionid, why)
        self.event_engine.put(Event(EVENT_ALERT, Alert(
            datetime.now(CHINA_TZ), WARNING, "flatten", job.vt_symbol,
            f"flatten of {job.vt_positionid} stopped: {why}; check the position")))
