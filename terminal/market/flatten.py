"""Flatten that finishes: close a position whose lots are partly held by working orders.

Flatten cancels the working orders first, but the cancels are only requests: until the
exchange confirms them, the lots a working close order holds are not free to close (the risk
gate and the exchange both refuse more than the free lots). So the free lots are closed at
once, and the rest once it is safe:

1. every order waited for (the cancelled ones and the closes sent) is final;
2. then a position report arrives for that position (a report from before the last fill or
   cancel would overstate what is left): what it still holds, with nothing frozen, is closed.
   A position already reported flat ends the job at the next timer event.

That repeats until the position is flat, at most `rounds` times. A close that is rejected
(by the risk gate or the exchange) stops the job, and so does the deadline; either way a
warning alert says what is left open. Nothing is ever sent for more than the position holds
free, so a fill racing a cancel cannot reverse the position.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from vnpy.event import Event, EventEngine
from vnpy.trader.constant import Status
from vnpy.trader.event import EVENT_ORDER, EVENT_POSITION, EVENT_TIMER
from vnpy.trader.object import OrderData, PositionData

from terminal.core.alerts import EVENT_ALERT, WARNING, Alert

log = logging.getLogger(__name__)
CHINA_TZ = ZoneInfo("Asia/Shanghai")

# position, lots -> the vt_orderids of the closing orders sent (raises when none could be)
CloseSender = Callable[[PositionData, float], list[str]]


@dataclass
class _Job:
    vt_positionid: str
    vt_symbol: str
    waiting: set[str]                      # orders not final yet: cancelled ones, our closes
    deadline: float
    settled: bool = False                  # all final: the next position report decides
    rounds: int = 0
    sent: list[str] = field(default_factory=list)


class Flattener:
    def __init__(self, event_engine: EventEngine, close: CloseSender,
                 order_of: Callable[[str], OrderData | None],
                 position_of: Callable[[str], PositionData | None], timeout: float = 30.0,
                 rounds: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        """`close(position, lots)` sends closing orders; `order_of(vt_orderid)` and
        `position_of(vt_positionid)` are what the engine holds (an order may have finished
        before the job began; a flat position may have been reported before it settled)."""
        self.event_engine = event_engine
        self.close = close
        self.order_of = order_of
        self.position_of = position_of
        self.timeout = timeout
        self.rounds = rounds
        self.clock = clock
        self._lock = threading.RLock()
        self._jobs: dict[str, _Job] = {}
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
            job = _Job(position.vt_positionid, position.vt_symbol, set(),
                       self.clock() + self.timeout, sent=list(sent))
            if free < held or sent:
                self._jobs[position.vt_positionid] = job
                self._wait_for(job, [*cancelled, *sent])
            return sent

    def _wait_for(self, job: _Job, vt_orderids: list[str]) -> None:
        """Wait for those of `vt_orderids` that are not final yet (events for the others may
        have come and gone)."""
        for vt_orderid in vt_orderids:
            order = self.order_of(vt_orderid)
            if order is None or order.is_active():
                job.waiting.add(vt_orderid)
            elif order.status == Status.REJECTED and vt_orderid in job.sent:
                self._give_up(job, self._rejected(order))
                return
        job.settled = not job.waiting

    @staticmethod
    def _rejected(order: OrderData) -> str:
        return f"a closing order was rejected ({(order.extra or {}).get('reason', 'rejected')})"

    # ------------------------------------------------------------------ event thread
    def _on_order(self, event: Event) -> None:
        order: OrderData = event.data
        if order.is_active() or not self._jobs:
            return
        with self._lock:
            for job in list(self._jobs.values()):
                if order.vt_orderid not in job.waiting:
                    continue
                job.waiting.discard(order.vt_orderid)
                if order.status == Status.REJECTED and order.vt_orderid in job.sent:
                    self._give_up(job, self._rejected(order))
                elif not job.waiting:
                    job.settled = True

    def _on_position(self, event: Event) -> None:
        position: PositionData = event.data
        with self._lock:
            job = self._jobs.get(position.vt_positionid)
            if job is None or not job.settled:
                return
            held = abs(position.volume)
            if not held:
                del self._jobs[job.vt_positionid]
                log.info("flatten of %s finished", job.vt_positionid)
                return
            if position.frozen > 0:           # another working order holds lots: wait for it
                return
            if job.rounds >= self.rounds:
                self._give_up(job, f"still {held:g} lots open after "
                                   f"{job.rounds} rounds of closing orders")
                return
            job.rounds += 1
            try:
                sent = self.close(position, held)
            except Exception as exc:  # noqa: BLE001 - reported as the flatten's failure
                self._give_up(job, f"the closing order could not be sent ({exc})")
                return
            job.sent.extend(sent)
            self._wait_for(job, sent)

    def _on_timer(self, event: Event) -> None:
        if not self._jobs:
            return
        now = self.clock()
        with self._lock:
            for job in list(self._jobs.values()):
                position = self.position_of(job.vt_positionid)
                if job.settled and (position is None or not position.volume):
                    del self._jobs[job.vt_positionid]        # flat was reported before settling
                elif now >= job.deadline:
                    self._give_up(job, f"not flat {self.timeout:g} s after Flatten")

    def _give_up(self, job: _Job, why: str) -> None:
        self._jobs.pop(job.vt_positionid, None)
        log.warning("flatten of %s stopped: %s", job.vt_positionid, why)
        self.event_engine.put(Event(EVENT_ALERT, Alert(
            datetime.now(CHINA_TZ), WARNING, "flatten", job.vt_symbol,
            f"flatten of {job.vt_positionid} stopped: {why}; check the position")))
