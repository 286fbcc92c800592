"""The gate on the gateway boundary: every order any gateway sends passes it, whoever calls.

vn.py has no single order path: the ticket and vnpy_ctastrategy call `MainEngine.send_order`,
but a plugin can call `main_engine.get_gateway("SIM").send_order(req)`, or the class method
`MainEngine.send_order(engine, req, name)`. Replacing `send_order` on the engine instance (what
vn.py's own risk manager does, and what this module did) leaves both open. So the gate sits on
the gateways themselves: `send_order`, `cancel_order` and `send_quote` of every `BaseGateway`
subclass (the simulator, replay, CTP, any vnpy_xxx package, and classes defined later, through
`BaseGateway.__init_subclass__`) are wrapped once, in place, so the class stays the class the
connection manager knows. A wrapped method asks the guard of the event engine the gateway
publishes to; a gateway of an engine with no guard (a unit test's) sends as it always did.

A denied order never reaches the gateway: it is published as a REJECTED order whose reason
names the rule, with an alert, and its id is returned as vn.py callers expect, so a strategy
sees the rejection in `on_order`. Quotes (two-sided market-making orders) are not checked by
the gate and so are never sent. Cancels are never blocked, only counted.

What stays out of reach: code that drives a gateway's API object directly (`gateway.td_api`)
or the simulator's exchange object. The boundary is the gateway's interface, as vn.py defines it.

The working orders the rules need (how many, each symbol's opening lots, and each account's
resting limit orders per symbol for self-trade prevention) are kept up to date from order
events, so a check costs the same with 5 or 500 orders resting (never a scan of the engine's
active orders per check). Orders and cancels are counted per gateway (the account); a count
nearing its conduct limit is published as a WARNING alert.

`MainEngine.send_order`/`cancel_order` are replaced on the class, by thin versions that go
to the guard of the engine's event engine, without vn.py's log line per request: at a high order
rate those lines are a large share of
the event thread's work and fill the Log dock with request reprs. Orders are in
the journal and the Orders dock; the terminal's own log file has a line per request at DEBUG.
"""

from __future__ import annotations

import functools
import itertools
import logging
import queue
import threading
import types
import weakref
from collections.abc import Callable
from datetime import datetime

from vnpy.event import Event, EventEngine
from vnpy.trader.constant import Direction, Offset, OrderType, Status
from vnpy.trader.engine import MainEngine
from vnpy.trader.event import EVENT_ORDER, EVENT_TRADE
from vnpy.trader.gateway import BaseGateway
from vnpy.trader.object import (CancelRequest, ContractData, OrderData, OrderRequest,
                                TradeData)

from terminal.core.alerts import EVENT_ALERT, WARNING, Alert
from terminal.core.ids import session_stamp
from terminal.core.timezone import CHINA_TZ
from terminal.risk.gate import ConductWarning, Decision, OrderContext, RiskGate
from terminal.risk.resting import RestingOrders

log = logging.getLogger(__name__)

_LIMIT = OrderType.LIMIT           # the only kind that rests on an exchange's book

# vt_symbol -> (margin rate, commission rate, commission per lot); from the contract tables.
Rates = Callable[[str], tuple[float, float, float]]

# ------------------------------------------------------------------------------ the boundary
# event engine -> its guard; both weak, so a finished runtime (a test's) is not kept alive.
_GUARDS: weakref.WeakKeyDictionary[EventEngine, weakref.ref[RiskGuard]] = \
    weakref.WeakKeyDictionary()
_in_flight = threading.local()     # requests being sent on this thread (a super() call inside)
_GATED = "__risk_gated__"
_boundary_lock = threading.Lock()


def _guard_of(owner) -> RiskGuard | None:
    """The guard of the event engine a gateway (or a main engine) runs on, if it has one."""
    try:
        ref = _GUARDS.get(owner.event_engine)
    except (AttributeError, TypeError):       # no engine, or one that cannot be a weak key
        return None
    return ref() if ref is not None else None


def _gated(through: str) -> Callable[[Callable], Callable]:
    """A wrapper maker for an order method: the call goes to the guard's `through` method,
    which calls the original only when it may. A request already on its way on this thread
    (a subclass's method calling `super()`) is not checked twice."""
    def wrap(original: Callable) -> Callable:
        @functools.wraps(original)
        def gated(gateway, req):
            guard = _guard_of(gateway)
            flight = _in_flight.__dict__.setdefault("requests", set())
            if guard is None or id(req) in flight:
                return original(gateway, req)
            flight.add(id(req))
            try:
                return getattr(guard, through)(gateway, req, original)
            finally:
                flight.discard(id(req))
        setattr(gated, _GATED, True)
        return gated
    return wrap


def _gated_quote(original: Callable) -> Callable:
    @functools.wraps(original)
    def send_quote(gateway, req):
        guard = _guard_of(gateway)
        if guard is None:
            return original(gateway, req)
        return guard.deny_quote(gateway, req)
    setattr(send_quote, _GATED, True)
    return send_quote


_WRAPPERS = {"send_order": _gated("send_through"), "cancel_order": _gated("cancel_through"),
             "send_quote": _gated_quote}


def gate_gateway_class(cls: type) -> None:
    """Make `cls`'s order methods (as its instances resolve them, mixins included) go through
    the guard of the instance's event engine. Idempotent."""
    for name, wrap in _WRAPPERS.items():
        method = getattr(cls, name, None)
        if method is None or getattr(method, _GATED, False):
            continue
        setattr(cls, name, wrap(method))


def gate_gateway(gateway: BaseGateway) -> None:
    """Gate `gateway`'s class (one whose `__init_subclass__` skipped ours is caught here) and
    any order method set on the object itself, which would shadow its class's."""
    gate_gateway_class(type(gateway))
    own = vars(gateway)
    for name, wrap in _WRAPPERS.items():
        method = own.get(name)
        if method is None or getattr(method, _GATED, False):
            continue
        gated = wrap(lambda gateway, req, method=method: method(req))
        setattr(gateway, name, types.MethodType(gated, gateway))


def _subclasses(cls: type) -> list[type]:
    found, todo = [], list(cls.__subclasses__())
    while todo:
        sub = todo.pop()
        found.append(sub)
        todo.extend(sub.__subclasses__())
    return found


def _engine_entry(name: str) -> Callable:
    """`MainEngine.send_order`/`cancel_order` for every engine: through the guard of the
    engine's event engine (which gates the gateway first, however it came into the engine)."""
    original = getattr(MainEngine, name)

    @functools.wraps(original)
    def entry(engine, req, gateway_name):
        guard = _guard_of(engine)
        if guard is None:
            return original(engine, req, gateway_name)
        return getattr(guard, name)(req, gateway_name)
    setattr(entry, _GATED, True)
    return entry


def install_boundary() -> None:
    """Gate every `BaseGateway` subclass defined so far, and every one defined from now on,
    and the engine's own entry points for every engine."""
    with _boundary_lock:
        for name in ("send_order", "cancel_order"):
            if not getattr(getattr(MainEngine, name), _GATED, False):
                setattr(MainEngine, name, _engine_entry(name))
        if not getattr(BaseGateway, "__risk_boundary__", False):
            inherited = BaseGateway.__dict__.get("__init_subclass__")

            def __init_subclass__(cls, **kwargs):
                if inherited is not None:
                    inherited.__func__(cls, **kwargs)
                else:
                    super(BaseGateway, cls).__init_subclass__(**kwargs)
                gate_gateway_class(cls)

            BaseGateway.__init_subclass__ = classmethod(__init_subclass__)  # type: ignore[assignment]
            BaseGateway.__risk_boundary__ = True  # type: ignore[attr-defined]
        for cls in _subclasses(BaseGateway):
            gate_gateway_class(cls)


# --------------------------------------------------------------------------------- the guard
class RiskGuard:
    def __init__(self, main_engine: MainEngine, event_engine: EventEngine, gate: RiskGate,
                 rates: Rates) -> None:
        self.main_engine = main_engine
        self.event_engine = event_engine
        self.gate = gate
        self.rates = rates
        self.denied = 0
        self.enabled = True
        # The GUI and strategy threads both send; reentrant, so a gateway that sends another
        # order from inside its own send_order (on the same thread) is checked, not deadlocked.
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._session = session_stamp()       # rejection ids unique across runs
        self._account_ids: dict[str, str] = {}
        # vt_orderid -> what it holds: (gateway.vt_symbol, open lots, closed side, close lots)
        self._working: dict[str, tuple[str, float, str, float]] = {}
        self._pending_open: dict[str, float] = {}          # gateway.vt_symbol -> open lots
        self._pending_close: dict[tuple[str, str], float] = {}   # (key, side) -> close lots
        self._excess: dict[str, float] = {}      # vt_orderid -> lots of a close beyond the
                                                 # position when sent (they would open)
        self._resting: dict[str, RestingOrders] = {}   # gateway.vt_symbol -> own limit orders
        # Orders whose cancel was sent: off the book for self-trade (the exchange takes a
        # session's requests in order, so the cancel goes before any order sent after it).
        self._cancelling: set[str] = set()
        # vt_orderid -> [volume, filled by its order events, filled by its trades] of each
        # resting limit order: a fill may be told by its trade before its order event, and
        # whoever places the targets on that trade must not meet the filled entry as resting.
        self._fills: dict[str, list[float]] = {}
        self._updates: queue.SimpleQueue[OrderData | TradeData] = queue.SimpleQueue()
        for order in main_engine.get_all_active_orders():
            self._track(order)
        # Ahead of every other handler: whoever reacts to an order or trade event by sending
        # (Flatten's next round, a strategy, a bracket's targets) must find the guard knowing
        # that event already.
        register = getattr(event_engine, "register_first", event_engine.register)
        register(EVENT_ORDER, self._on_order)
        register(EVENT_TRADE, self._on_order)
        install_boundary()
        _GUARDS[event_engine] = weakref.ref(self)
        for gateway in main_engine.gateways.values():
            gate_gateway(gateway)
        add_gateway = main_engine.add_gateway

        def add_and_gate(gateway_class, gateway_name=""):
            gateway = add_gateway(gateway_class, gateway_name)
            gate_gateway(gateway)
            return gateway

        main_engine.add_gateway = add_and_gate             # type: ignore[method-assign]

    @property
    def lock(self) -> threading.RLock:
        """Held while an order is checked and sent: hold it to change the gate's settings."""
        return self._lock

    # ---- the engine's entry points (vn.py's, without the log line per request) ----------
    def send_order(self, req: OrderRequest, gateway_name: str) -> str:
        gateway = self.main_engine.get_gateway(gateway_name)
        if gateway is None:
            return ""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("order to %s: %s", gateway_name, req)
        gate_gateway(gateway)             # a method replaced since it was added is gated too
        return gateway.send_order(req)    # the gate is on the gateway

    def cancel_order(self, req: CancelRequest, gateway_name: str) -> None:
        gateway = self.main_engine.get_gateway(gateway_name)
        if gateway is None:
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("cancel to %s: %s", gateway_name, req)
        gateway.cancel_order(req)

    # ---- the boundary --------------------------------------------------------------------
    def send_through(self, gateway: BaseGateway, req: OrderRequest,
                     send: Callable[[BaseGateway, OrderRequest], str]) -> str:
        """Check `req`; send it with the gateway's own `send` only when the gate allows it."""
        contract = self.main_engine.get_contract(req.vt_symbol)
        with self._lock:
            ctx = None
            if contract is None:
                decision = Decision(False, "unknown_contract",
                                    f"{req.vt_symbol} is not a contract of any connected gateway")
            elif self.enabled:
                ctx = self.context(req, contract, gateway.gateway_name)
                decision = self.gate.check(req, ctx)
            else:
                decision = Decision(True)
            if decision:
                vt_orderid = send(gateway, req)
                if vt_orderid:
                    self._warn(self.gate.record_sent(req, gateway.gateway_name))
                    if ctx is not None and req.offset != Offset.OPEN:
                        # On a net gateway what a close order holds beyond the position
                        # opens: it counts against the position limit while it works.
                        free = max(ctx.free_to_close(req.direction), 0.0)
                        self._excess[vt_orderid] = max(0.0, req.volume - free)
                    # Held from now, not from its first order event (still queued): a second
                    # close sent at once must not find the same lots free.
                    self._track(req.create_order_data(vt_orderid.partition(".")[2],
                                                      gateway.gateway_name))
                return vt_orderid
            self.denied += 1
        return self._reject(req, gateway.gateway_name, decision)

    def cancel_through(self, gateway: BaseGateway, req: CancelRequest,
                       cancel: Callable[[BaseGateway, CancelRequest], None]) -> None:
        cancel(gateway, req)                              # never blocked: it reduces risk
        with self._lock:
            name = gateway.gateway_name
            vt_orderid = f"{name}.{req.orderid}"
            if vt_orderid in self._working:      # an ended order's cancel holds nothing
                self._cancelling.add(vt_orderid)
            book = self._resting.get(f"{name}.{req.vt_symbol}")
            if book is not None:
                book.remove(vt_orderid)
            self._warn(self.gate.record_cancel(req.vt_symbol, name))

    def _warn(self, warnings: tuple[ConductWarning, ...]) -> None:
        """A conduct count nearing its limit: an alert, once per crossing (the gate says when)."""
        for warning in warnings:
            self.event_engine.put(Event(EVENT_ALERT, Alert(
                datetime.now(CHINA_TZ), WARNING, warning.rule, warning.vt_symbol,
                warning.message)))

    def deny_quote(self, gateway: BaseGateway, req) -> str:
        """Quotes open positions on both sides and the gate has no rules for them: not sent."""
        self.denied += 1
        self.event_engine.put(Event(EVENT_ALERT, Alert(
            datetime.now(CHINA_TZ), WARNING, "quotes_not_supported", req.vt_symbol,
            f"quote denied ({req.vt_symbol} bid {req.bid_volume:g} @ {req.bid_price:g}, ask "
            f"{req.ask_volume:g} @ {req.ask_price:g}): the risk gate does not check quotes, so "
            f"the terminal does not send them")))
        return ""

    # ---- working orders ------------------------------------------------------------------
    def _on_order(self, event) -> None:
        """Event thread (an order or a trade): only queue it (a lock shared with the senders
        would make the two threads wait on each other at every order); senders apply the
        queue before a check."""
        self._updates.put(event.data)

    def _apply_updates(self) -> None:
        updates = self._updates
        while not updates.empty():
            update = updates.get_nowait()
            if isinstance(update, TradeData):
                self._filled(update)
            else:
                self._track(update)

    def _filled(self, trade: TradeData) -> None:
        """A resting limit order's trade: fewer lots rest (none: off the book)."""
        fills = self._fills.get(trade.vt_orderid)
        if fills is None:
            return
        fills[2] += trade.volume
        book = self._resting.get(f"{trade.gateway_name}.{trade.vt_symbol}")
        if book is not None:
            book.shrink(trade.vt_orderid, fills[0] - max(fills[1], fills[2]))

    def _track(self, order: OrderData) -> None:
        """Follow one order's state: working (with the lots it opens or closes, and on the
        book if it is a limit order) or done."""
        previous = self._working.pop(order.vt_orderid, None)
        if previous is not None:
            key, opening, side, closing = previous
            self._pending_open[key] -= opening
            self._pending_close[key, side] -= closing
        key = f"{order.gateway_name}.{order.vt_symbol}"
        book = self._resting.get(key)
        if not order.is_active():
            self._excess.pop(order.vt_orderid, None)
            self._cancelling.discard(order.vt_orderid)
            self._fills.pop(order.vt_orderid, None)
            if book is not None:
                book.remove(order.vt_orderid)
        else:
            left = order.volume - order.traded
            if order.type is _LIMIT and order.vt_orderid not in self._cancelling:
                fills = self._fills.get(order.vt_orderid)
                if fills is None:
                    fills = self._fills[order.vt_orderid] = [order.volume, 0.0, 0.0]
                fills[1] = max(fills[1], order.traded)
                resting = order.volume - max(fills[1], fills[2])
                if resting > 0:
                    if book is None:
                        book = self._resting[key] = RestingOrders()
                    book.put(order.vt_orderid, order.direction, order.price, resting)
                elif book is not None:
                    book.remove(order.vt_orderid)
            elif book is not None:
                book.remove(order.vt_orderid)
            side = "short" if order.direction == Direction.LONG else "long"
            if order.offset == Offset.OPEN:
                opening, closing = left, 0.0
            else:
                opening = min(left, self._excess.get(order.vt_orderid, 0.0))
                closing = left - opening
            self._working[order.vt_orderid] = (key, opening, side, closing)
            self._pending_open[key] = self._pending_open.get(key, 0.0) + opening
            self._pending_close[key, side] = self._pending_close.get((key, side), 0.0) + closing

    def context(self, req: OrderRequest, contract: ContractData,
                gateway: str = "") -> OrderContext:
        """What the rules need to know, from the books of `gateway` (the one the order goes
        to; by default the contract's). Called with the guard's lock held."""
        self._apply_updates()
        engine = self.main_engine
        gateway = gateway or contract.gateway_name
        tick = engine.get_tick(req.vt_symbol)
        account = engine.get_account(f"{gateway}.{self._account_ids.get(gateway, '')}") \
            if gateway in self._account_ids else None
        if account is None:
            accounts = [a for a in engine.get_all_accounts() if a.gateway_name == gateway]
            account = accounts[0] if accounts else None
            if account is not None:
                self._account_ids[gateway] = account.accountid
        key = f"{gateway}.{req.vt_symbol}"
        long, short, long_frozen, short_frozen = self._held(key)
        margin_rate, fee_rate, fee_per_lot = self.rates(req.vt_symbol)
        return OrderContext(
            contract=contract,
            last_price=tick.last_price if tick else None,
            available=account.available if account else 0.0,
            margin_rate=margin_rate, commission_rate=fee_rate, commission_per_lot=fee_per_lot,
            long_volume=long, short_volume=short,
            # what working closes hold: as the gateway last said, or as sent since if more
            long_frozen=max(long_frozen, self._pending_close.get((key, "long"), 0.0)),
            short_frozen=max(short_frozen, self._pending_close.get((key, "short"), 0.0)),
            pending_open=self._pending_open.get(key, 0.0),
            working_orders=len(self._working),
            account=gateway,
            resting=self._resting.get(key),
        )

    def _held(self, key: str) -> tuple[float, float, float, float]:
        """Long and short volume and frozen lots of `gateway.vt_symbol`; a net position (one
        signed volume, `Direction.NET`) counts as long or short by its sign."""
        engine = self.main_engine
        net = engine.get_position(f"{key}.{Direction.NET.value}")
        if net is not None and net.volume:
            if net.volume > 0:
                return net.volume, 0.0, net.frozen, 0.0
            return 0.0, -net.volume, 0.0, net.frozen
        long = engine.get_position(f"{key}.{Direction.LONG.value}")
        short = engine.get_position(f"{key}.{Direction.SHORT.value}")
        return (long.volume if long else 0.0, short.volume if short else 0.0,
                long.frozen if long else 0.0, short.frozen if short else 0.0)

    def _reject(self, req: OrderRequest, gateway_name: str, decision: Decision) -> str:
        order = req.create_order_data(f"RISK-{self._session}-{next(self._ids)}", gateway_name)
        order.status = Status.REJECTED
        order.datetime = datetime.now(CHINA_TZ)
        order.extra = {"reason": f"risk {decision.rule}: {decision.reason}",
                       "risk_rule": decision.rule}
        if decision.orders:        # self_trade: the own resting orders it would trade against
            order.extra["risk_orders"] = list(decision.orders)
        self.event_engine.put(Event(EVENT_ORDER, order))
        self.event_engine.put(Event(EVENT_ORDER + order.vt_orderid, order))
        self.event_engine.put(Event(EVENT_ALERT, Alert(
            order.datetime, WARNING, decision.rule, req.vt_symbol,
            f"order denied ({req.direction.value} {req.volume:g} @ {req.price:g}): "
            f"{decision.reason}")))
        return order.vt_orderid
