"""The gate in vn.py's one order path.

Everything that trades (the ticket, hotkeys, the chart, vnpy_ctastrategy's engine, plugins)
ends in `MainEngine.send_order`; the guard replaces it on the instance, checks every request
and only then calls the original. A denied order never reaches the gateway: it is published as
a REJECTED order whose reason names the rule, with an alert, and its id is returned as vn.py
callers expect, so a strategy sees the rejection in `on_order`.

The working orders the rules need (how many, and each symbol's opening lots) are kept up to
date from order events, so a check costs the same with 5 or 500 orders resting; scanning the
engine's active orders per check cost 200 us at 300 working orders.

An allowed order or a cancel goes straight to its gateway, not through the original
`MainEngine.send_order`/`cancel_order`, which add nothing but a log line per request: at
500 orders a second writing those lines was over a quarter of the event thread's work and filled the Log
dock with request reprs. Orders are in the journal and the Orders dock; the terminal's own log
file has a line per request at DEBUG level.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from vnpy.event import Event, EventEngine
from vnpy.trader.constant import Direction, Offset, Status
from vnpy.trader.engine import MainEngine
from vnpy.trader.event import EVENT_ORDER
from vnpy.trader.object import CancelRequest, ContractData, OrderData, OrderRequest

from terminal.core.alerts import EVENT_ALERT, WARNING, Alert
from terminal.risk.gate import Decision, OrderContext, RiskGate

log = logging.getLogger(__name__)

CHINA_TZ = ZoneInfo("Asia/Shanghai")
# vt_symbol -> (margin rate, commission rate, commission per lot); from the contract tables.
Rates = Callable[[str], tuple[float, float, float]]


class RiskGuard:
    def __init__(self, main_engine: MainEngine, event_engine: EventEngine, gate: RiskGate,
                 rates: Rates) -> None:
        self.main_engine = main_engine
        self.event_engine = event_engine
        self.gate = gate
        self.rates = rates
        self.denied = 0
        self.enabled = True
        self._lock = threading.Lock()          # the GUI and strategy threads both send
        self._ids = itertools.count(1)
        self._account_ids: dict[str, str] = {}
        self._working: dict[str, tuple[str, float]] = {}   # vt_orderid -> (symbol, open lots)
        self._pending_open: dict[str, float] = {}
        self._updates: queue.SimpleQueue[OrderData] = queue.SimpleQueue()
        for order in main_engine.get_all_active_orders():
            self._track(order)
        event_engine.register(EVENT_ORDER, self._on_order)
        self._send = self._to_gateway
        self._cancel = self._cancel_at_gateway
        main_engine.send_order = self.send_order          # type: ignore[method-assign]
        main_engine.cancel_order = self.cancel_order      # type: ignore[method-assign]

    def send_order(self, req: OrderRequest, gateway_name: str) -> str:
        contract = self.main_engine.get_contract(req.vt_symbol)
        with self._lock:
            if contract is None:
                decision = Decision(False, "unknown_contract",
                                    f"{req.vt_symbol} is not a contract of any connected gateway")
            elif self.enabled:
                decision = self.gate.check(req, self.context(req, contract))
            else:
                decision = Decision(True)
            if decision:
                vt_orderid = self._send(req, gateway_name)
                if vt_orderid:
                    self.gate.record_sent(req)
                return vt_orderid
            self.denied += 1
        return self._reject(req, gateway_name, decision)

    def cancel_order(self, req: CancelRequest, gateway_name: str) -> None:
        self._cancel(req, gateway_name)                   # never blocked: it reduces risk
        with self._lock:
            self.gate.record_cancel(req.vt_symbol)

    def _to_gateway(self, req: OrderRequest, gateway_name: str) -> str:
        gateway = self.main_engine.get_gateway(gateway_name)
        if gateway is None:
            return ""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("order to %s: %s", gateway_name, req)
        return gateway.send_order(req)

    def _cancel_at_gateway(self, req: CancelRequest, gateway_name: str) -> None:
        gateway = self.main_engine.get_gateway(gateway_name)
        if gateway is None:
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("cancel to %s: %s", gateway_name, req)
        gateway.cancel_order(req)

    def _on_order(self, event) -> None:
        """Event thread: only queue it (a lock shared with the senders would make the two
        threads wait on each other at every order); senders apply the queue before a check."""
        self._updates.put(event.data)

    def _apply_updates(self) -> None:
        updates = self._updates
        while not updates.empty():
            self._track(updates.get_nowait())

    def _track(self, order: OrderData) -> None:
        """Follow one order's state: working (with its opening lots left) or done."""
        previous = self._working.pop(order.vt_orderid, None)
        if previous is not None:
            self._pending_open[previous[0]] -= previous[1]
        if order.is_active():
            lots = order.volume - order.traded if order.offset == Offset.OPEN else 0.0
            self._working[order.vt_orderid] = (order.vt_symbol, lots)
            self._pending_open[order.vt_symbol] = self._pending_open.get(order.vt_symbol, 0.0) \
                + lots

    def context(self, req: OrderRequest, contract: ContractData) -> OrderContext:
        """Called with the guard's lock held."""
        self._apply_updates()
        engine = self.main_engine
        gateway = contract.gateway_name
        tick = engine.get_tick(req.vt_symbol)
        account = engine.get_account(f"{gateway}.{self._account_ids.get(gateway, '')}") \
            if gateway in self._account_ids else None
        if account is None:
            accounts = [a for a in engine.get_all_accounts() if a.gateway_name == gateway]
            account = accounts[0] if accounts else None
            if account is not None:
                self._account_ids[gateway] = account.accountid
        long = engine.get_position(f"{gateway}.{req.vt_symbol}.{Direction.LONG.value}")
        short = engine.get_position(f"{gateway}.{req.vt_symbol}.{Direction.SHORT.value}")
        pending_open = self._pending_open.get(req.vt_symbol, 0.0)
        margin_rate, fee_rate, fee_per_lot = self.rates(req.vt_symbol)
        return OrderContext(
            contract=contract,
            last_price=tick.last_price if tick else None,
            available=account.available if account else 0.0,
            margin_rate=margin_rate, commission_rate=fee_rate, commission_per_lot=fee_per_lot,
            long_volume=long.volume if long else 0.0,
            short_volume=short.volume if short else 0.0,
            long_frozen=long.frozen if long else 0.0,
            short_frozen=short.frozen if short else 0.0,
            pending_open=pending_open,
            working_orders=len(self._working),
        )

    def _reject(self, req: OrderRequest, gateway_name: str, decision: Decision) -> str:
        order = req.create_order_data(f"RISK-{next(self._ids)}", gateway_name)
        order.status = Status.REJECTED
        order.datetime = datetime.now(CHINA_TZ)
        order.extra = {"reason": f"risk {decision.rule}: {decision.reason}",
                       "risk_rule": decision.rule}
        self.event_engine.put(Event(EVENT_ORDER, order))
        self.event_engine.put(Event(EVENT_ORDER + order.vt_orderid, order))
        self.event_engine.put(Event(EVENT_ALERT, Alert(
            order.datetime, WARNING, decision.rule, req.vt_symbol,
            f"order denied ({req.direction.value} {req.volume:g} @ {req.price:g}): "
            f"{decision.reason}")))
        return order.vt_orderid
