"""The one place engine events cross to the GUI thread.

Handlers run on vn.py's event thread and only fold events into pending state under a lock:
the latest tick per symbol, the latest state per order, position and account, and every trade,
log line and handler error in order. The GUI side calls `drain()` at most once per frame and
gets one `Batch`; a burst of 20,000 ticks a second becomes a few dozen model updates.

`wake(urgent)` is called (from the event thread) when the pending state goes from empty to
non-empty, so an idle terminal costs nothing and a busy one one wake-up per frame; and once
more, urgent, when the first order or trade joins a batch: the trader is waiting to see it
acknowledged, so the GUI drains it sooner than the next frame (see `ui.pump`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vnpy.event import Event, EventEngine
from vnpy.trader.event import (
    EVENT_ACCOUNT,
    EVENT_CONTRACT,
    EVENT_LOG,
    EVENT_ORDER,
    EVENT_POSITION,
    EVENT_TICK,
    EVENT_TRADE,
)
from vnpy.trader.object import (
    AccountData,
    ContractData,
    LogData,
    OrderData,
    PositionData,
    TickData,
    TradeData,
)

from terminal.core.alerts import EVENT_ALERT, Alert
from terminal.core.events import EVENT_HANDLER_ERROR, HandlerError


@dataclass
class Batch:
    """Everything that changed since the previous drain."""

    ticks: dict[str, TickData] = field(default_factory=dict)
    orders: dict[str, OrderData] = field(default_factory=dict)
    trades: list[TradeData] = field(default_factory=list)
    positions: dict[str, PositionData] = field(default_factory=dict)
    accounts: dict[str, AccountData] = field(default_factory=dict)
    contracts: dict[str, ContractData] = field(default_factory=dict)
    logs: list[LogData] = field(default_factory=list)
    errors: list[HandlerError] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    # Events of apps (e.g. the CTA engine's strategy states and log), by event type: a dict
    # keyed as routed (latest kept) or a list (every one kept).
    routed: dict[str, Any] = field(default_factory=dict)
    # How many tick events were folded into `ticks` (for rates and the health view).
    tick_events: int = 0

    def __bool__(self) -> bool:
        return bool(
            self.ticks or self.orders or self.trades or self.positions or self.accounts
            or self.contracts or self.logs or self.errors or self.alerts or self.routed
        )


class EventBridge:
    """Folds engine events into a pending `Batch` for the GUI thread to drain."""

    def __init__(self, event_engine: EventEngine,
                 wake: Callable[[bool], None] | None = None,
                 committed: Callable[[], object] | None = None) -> None:
        """`committed` (the journal's flush) runs in `drain` before a batch is handed out."""
        self._event_engine = event_engine
        self._lock = threading.Lock()
        self._pending = Batch()
        self._woken = False
        self._urgent = False
        self._wake: Callable[[bool], None] = wake or (lambda urgent: None)
        self._committed = committed
        self.ticks_received = 0          # every tick event folded, since the start
        self._routes: dict[str, Callable[[Event], None]] = {
            EVENT_TICK: self._on_tick,
            EVENT_ORDER: self._keep_latest("orders", "vt_orderid", urgent=True),
            EVENT_POSITION: self._keep_latest("positions", "vt_positionid"),
            EVENT_ACCOUNT: self._keep_latest("accounts", "vt_accountid"),
            EVENT_CONTRACT: self._keep_latest("contracts", "vt_symbol"),
            EVENT_TRADE: self._keep_every("trades", urgent=True),
            EVENT_LOG: self._keep_every("logs"),
            EVENT_HANDLER_ERROR: self._keep_every("errors"),
            EVENT_ALERT: self._keep_every("alerts"),
        }
        for event_type, handler in self._routes.items():
            event_engine.register(event_type, handler)

    def route_latest(self, event_type: str, key: Callable[[Any], str]) -> None:
        """Also carry `event_type`, keeping the latest event data per `key(data)`."""
        def handler(event: Event) -> None:
            with self._lock:
                self._pending.routed.setdefault(event_type, {})[key(event.data)] = event.data
                wake = self._fold()
            if wake:
                self._wake(False)

        self._add_route(event_type, handler)

    def route_every(self, event_type: str) -> None:
        """Also carry `event_type`, keeping every event's data in order."""
        def handler(event: Event) -> None:
            with self._lock:
                self._pending.routed.setdefault(event_type, []).append(event.data)
                wake = self._fold()
            if wake:
                self._wake(False)

        self._add_route(event_type, handler)

    def _add_route(self, event_type: str, handler: Callable[[Event], None]) -> None:
        handler.__qualname__ = f"EventBridge.route_{event_type}"
        self._routes[event_type] = handler
        self._event_engine.register(event_type, handler)

    def set_wake(self, wake: Callable[[bool], None]) -> None:
        """Who to wake from now on; woken at once when events already wait (those put
        before the GUI existed, e.g. the journal's restored orders, woke nobody)."""
        with self._lock:
            self._wake = wake
            waiting = bool(self._pending)
            self._woken = self._urgent = waiting
        if waiting:
            wake(True)

    def close(self) -> None:
        for event_type, handler in self._routes.items():
            self._event_engine.unregister(event_type, handler)

    @property
    def pending(self) -> int:
        """How many items wait for the GUI's next drain (the health view: with the GUI
        keeping up it stays near the number of quoting symbols)."""
        with self._lock:
            batch = self._pending
            return (len(batch.ticks) + len(batch.orders) + len(batch.trades)
                    + len(batch.positions) + len(batch.accounts) + len(batch.contracts)
                    + len(batch.logs) + len(batch.errors) + len(batch.alerts)
                    + sum(len(items) for items in batch.routed.values()))

    def drain(self) -> Batch:
        """Take everything pending; called on the GUI thread. The `committed` hook (the
        journal's flush) runs after the batch is taken and before it is returned, so all the
        batch holds is on disk before any of it is shown."""
        with self._lock:
            batch, self._pending = self._pending, Batch()
            self._woken = self._urgent = False
        if batch and self._committed is not None:
            self._committed()
        return batch

    # Event-thread side: keep these short, they run for every event.
    def _fold(self) -> bool:
        """Called with the lock held; returns whether the GUI must be woken."""
        if self._woken:
            return False
        self._woken = True
        return True

    def _fold_urgent(self) -> bool:
        """`_fold` for orders and trades: wakes once more per batch, urgently."""
        if self._urgent:
            return False
        self._woken = self._urgent = True
        return True

    def _on_tick(self, event: Event) -> None:
        tick: TickData = event.data
        with self._lock:
            self._pending.ticks[tick.vt_symbol] = tick
            self._pending.tick_events += 1
            self.ticks_received += 1
            wake = self._fold()
        if wake:
            self._wake(False)

    def _keep_latest(self, name: str, key: str, urgent: bool = False) -> Callable[[Event], None]:
        fold = self._fold_urgent if urgent else self._fold

        def handler(event: Event) -> None:
            item = event.data
            with self._lock:
                getattr(self._pending, name)[getattr(item, key)] = item
                wake = fold()
            if wake:
                self._wake(urgent)

        handler.__qualname__ = f"EventBridge.keep_latest_{name}"
        return handler

    def _keep_every(self, name: str, urgent: bool = False) -> Callable[[Event], None]:
        fold = self._fold_urgent if urgent else self._fold

        def handler(event: Event) -> None:
            with self._lock:
                getattr(self._pending, name).append(event.data)
                wake = fold()
            if wake:
                self._wake(urgent)

        handler.__qualname__ = f"EventBridge.keep_every_{name}"
        return handler
