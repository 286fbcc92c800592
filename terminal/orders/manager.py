"""The managed orders engine: local stops and stop-limits, OCO groups and brackets with
breakeven and trailing, and modify as cancel-then-replace, on top of plain limit orders (all
CTP knows).

Every group follows one rule for its exits: the lots its orders hold at the exchange never
exceed the volume the group may still close (`_room`): a bracket's open position (its entry's
fills less its exits' fills), an OCO's shared volume less its fills. A triggered stop first
cancels the other exits and sends what is free; the rest goes as their cancels are
confirmed. A partial fill of one exit reduces the others at once (an exit holding more than
its share is cancelled and sent again for its share once the cancel is confirmed). A modify
of an order at the exchange cancels it and sends the replacement only when the cancel is
confirmed, for the lots still open, so a fill during a modify can never double the exposure.
Protective orders close only, and never more than the position free to close when sent.

State is written to the `ManagedBook` before each order is sent and after each change, and a
restart re-arms each active group once (`restore`): local stops as they were, exits whose
orders died with the simulated exchange sent again for the position they protect; an order
that may or may not have left before a hard kill is marked "in doubt" and never sent again.
An entry that died with the exchange is not sent again: a restart never opens new exposure.

Threads: ticks, orders and trades arrive on the event thread; the windows call in on the GUI
thread. One re-entrant lock serialises both (taken before the risk guard's, never after).
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime

from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.object import OrderData, OrderRequest, TickData, TradeData

from terminal.core.alerts import EVENT_ALERT, INFO, SEVERE, WARNING, Alert
from terminal.core.ids import session_stamp
from terminal.core.timezone import CHINA_TZ
from terminal.market.prices import decimals_for, round_to_tick
from terminal.market.ticket import Ticket, check as check_ticket
from terminal.market.trading import TradingError
from terminal.orders.book import ManagedBook
from terminal.orders.broker import EngineBroker, held_side
from terminal.orders.model import (AT_EXCHANGE, EVENT_MANAGED, LOCAL, Child, Group, GroupKind,
                                   Kind, Leg, ManagedView, State)
from terminal.orders.templates import BracketTemplate, OrderTemplates, TemplateError
from terminal.risk.gate import ALLOWED, Decision

log = logging.getLogger(__name__)

_LONG, _SHORT = Direction.LONG, Direction.SHORT
_STOPS = (Kind.STOP, Kind.STOP_LIMIT)
TRAIL_SAVE_SECONDS = 1.0        # a trailing stop's moves are written at most this often


class ManagedOrderError(ValueError):
    """Nothing was placed or changed; `decision` is the gate's when it said no."""

    def __init__(self, message: str, decision: Decision | None = None) -> None:
        super().__init__(message)
        self.decision = decision


def _deny(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


class ManagedOrders:
    def __init__(self, broker: EngineBroker, book: ManagedBook,
                 put: Callable[[str, object], None],
                 atr: Callable[[str, int], float | None] | None = None,
                 templates: OrderTemplates | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(CHINA_TZ)) -> None:
        """`put(event_type, data)` publishes (the event engine's put); `atr(vt_symbol, n)` is
        the average true range of the last n 1-minute bars, for trailing by ATR; `templates`
        resolves a template given by name."""
        self.broker = broker
        self.book = book
        self._put = put
        self._atr = atr
        self._templates = templates
        self._clock = clock
        self._lock = threading.RLock()
        self._session = session_stamp()
        self._ids = itertools.count(1)
        self._groups: dict[str, Group] = {}
        self._legs: dict[str, tuple[Group, Leg]] = {}
        self._by_order: dict[str, tuple[Group, Leg, Child]] = {}
        self._watch: dict[str, list[tuple[Group, Leg]]] = {}   # vt_symbol -> stops on ticks
        self._shown: dict[str, ManagedView] = {}
        self._trail_saved: dict[str, float] = {}
        self._blocking: dict[str, Group] = {}      # own orders a triggered stop waits out
        self.sent = 0

    # ================================================================== placing
    def place_stop(self, vt_symbol: str, direction: Direction, volume: float, trigger: float,
                   *, limit_price: float | None = None, close_only: bool = False,
                   template: BracketTemplate | str | None = None, source: str = "") -> str:
        """A local stop (a stop-limit with `limit_price`); with `template`, an entry stop with
        its bracket. Returns the group id."""
        with self._lock:
            contract, volume = self._checked(vt_symbol, direction, volume, trigger)
            tick = contract.pricetick
            if limit_price is not None:
                self._checked(vt_symbol, direction, volume, limit_price)
            last = self._last(vt_symbol)
            if last is not None and (trigger <= last if direction == _LONG else trigger >= last):
                side = "above" if direction == _LONG else "below"
                raise ManagedOrderError(f"a {_side(direction)} stop must be {side} the last "
                                        f"price {_fmt(last, tick)}: {_fmt(trigger, tick)} "
                                        "would trigger at once")
            kind = Kind.STOP if limit_price is None else Kind.STOP_LIMIT
            template = self._template(template)
            if template is not None:
                return self._bracket(contract, direction, volume, kind, trigger,
                                     limit_price or 0.0, template, source)
            leg = Leg(id="", role="stop order", direction=direction, kind=kind, volume=volume,
                      price=trigger, limit_price=limit_price or 0.0, close_only=close_only)
            group = self._new_group(GroupKind.SINGLE, contract, volume, [leg], "", source)
            self._preview_exit(group, leg, trigger)
            return self._start(group)

    def place_limit(self, vt_symbol: str, direction: Direction, volume: float, price: float,
                    *, template: BracketTemplate | str | None = None, source: str = "") -> str:
        """A limit order at the exchange: it closes the opposite position's free lots when
        they cover the volume, else it opens. With `template`, a bracket (returns its group
        id); without, the order's vt_orderid."""
        with self._lock:
            contract, volume = self._checked(vt_symbol, direction, volume, price)
            template = self._template(template)
            if template is not None:
                return self._bracket(contract, direction, volume, Kind.LIMIT, price, 0.0,
                                     template, source)
            gateway = contract.gateway_name
            free = self.broker.free_to_close(vt_symbol, gateway, direction)
            if free >= volume:
                position = self.broker.position(vt_symbol, gateway, held_side(direction))
                reqs = self.broker.close_requests(position, volume, price, vouched=False) \
                    if position is not None else []
            else:
                reqs = [self._open_request(contract, direction, volume, price)]
            # (a close of today's and yesterday's lots at once is two orders)
            reqs = reqs or [self._open_request(contract, direction, volume, price)]
            for req in reqs:
                req.reference = source or "managed"
                decision = self.broker.preview(req, gateway)
                if not decision:
                    raise ManagedOrderError(f"{decision.rule}: {decision.reason}", decision)
            ids = [self._send_plain(req, gateway) for req in reqs]
            return ids[0]

    def place_bracket(self, vt_symbol: str, direction: Direction, volume: float,
                      price: float | None, template: BracketTemplate | str,
                      source: str = "") -> str:
        """An entry (a limit at `price`, or at the market when None) with the template's stop
        and targets. Returns the group id."""
        with self._lock:
            template = self._template(template)
            if template is None:
                raise ManagedOrderError("a bracket needs a template")
            if price is None:
                contract, volume = self._checked(vt_symbol, direction, volume, None)
                return self._bracket(contract, direction, volume, Kind.MARKET, 0.0, 0.0,
                                     template, source)
            contract, volume = self._checked(vt_symbol, direction, volume, price)
            return self._bracket(contract, direction, volume, Kind.LIMIT, price, 0.0,
                                 template, source)

    def place_oco(self, vt_symbol: str, volume: float,
                  legs: list[tuple[Direction, str, float]], *, close_only: bool = True,
                  source: str = "") -> str:
        """Orders of which the first to fill cancels (and a partial fill reduces) the others:
        each leg is (direction, "stop" or "limit", price). At most one leg may rest at the
        exchange (a limit), so two of them can never both fill; stops are local."""
        with self._lock:
            if not 2 <= len(legs) <= 4:
                raise ManagedOrderError(f"an OCO group has 2 to 4 orders, not {len(legs)}")
            if sum(1 for _, kind, _ in legs if kind == "limit") > 1:
                raise ManagedOrderError("an OCO group may hold one limit order at the exchange "
                                        "(two could both fill); make the others stops")
            made, contract = [], None
            for n, (direction, kind, price) in enumerate(legs, 1):
                if kind not in ("stop", "limit"):
                    raise ManagedOrderError(f"OCO order {n}: kind {kind!r} is not stop or limit")
                contract, volume = self._checked(vt_symbol, direction, volume, price)
                made.append(Leg(id="", role=f"oco {n}", direction=direction,
                                kind=Kind.STOP if kind == "stop" else Kind.LIMIT,
                                volume=volume, price=price, close_only=close_only,
                                state=State.ARMED if kind == "stop" else State.WAITING))
            group = self._new_group(GroupKind.OCO, contract, volume, made, "", source)
            for leg in made:
                self._preview_exit(group, leg, leg.price)
            return self._start(group)

    def _bracket(self, contract, direction: Direction, volume: float, kind: Kind,
                 price: float, limit_price: float, template: BracketTemplate,
                 source: str) -> str:
        tick = contract.pricetick
        exit_direction = _SHORT if direction == _LONG else _LONG
        sign = 1 if direction == _LONG else -1
        reference = price or self._last(contract.vt_symbol) or 0.0
        if not reference:
            raise ManagedOrderError(f"no quote for {contract.vt_symbol} to place a bracket at "
                                    "the market")
        trail_distance, trail_text = 0.0, ""
        if template.trail_ticks:
            trail_distance, trail_text = template.trail_ticks * tick, \
                f"trailing {template.trail_ticks} ticks"
        elif template.trail_atr:
            atr = self._atr(contract.vt_symbol, template.atr_period) if self._atr else None
            if not atr:
                raise ManagedOrderError(f"no ATR({template.atr_period}) of 1-minute bars for "
                                        f"{contract.vt_symbol} to trail by (template "
                                        f"{template.name!r})")
            trail_distance = max(round_to_tick(template.trail_atr * atr, tick), tick)
            trail_text = (f"trailing {template.trail_atr:g} x ATR{template.atr_period} "
                          f"= {_fmt(trail_distance, tick)}")
        entry = Leg(id="", role="entry", direction=direction, kind=kind, volume=volume,
                    price=price, limit_price=limit_price,
                    state=State.ARMED if kind in _STOPS else State.WAITING)
        stop_kind = Kind.STOP if template.stop_limit_ticks is None else Kind.STOP_LIMIT
        stop_price = round_to_tick(reference - sign * template.stop_ticks * tick, tick)
        stop = Leg(id="", role="stop", direction=exit_direction, kind=stop_kind, volume=0.0,
                   price=stop_price, close_only=True, state=State.WAITING,
                   trail_distance=trail_distance, trail_text=trail_text,
                   breakeven_after=template.breakeven_after * tick,
                   breakeven_offset=template.breakeven_offset * tick)
        if stop_kind is Kind.STOP_LIMIT:
            stop.limit_price = round_to_tick(stop_price - sign * template.stop_limit_ticks * tick,
                                             tick)
        planned = tuple((ticks * tick, float(lots))
                        for ticks, lots in template.target_lots(int(volume)))
        targets = [Leg(id="", role=f"target {n}", direction=exit_direction, kind=Kind.LIMIT,
                       volume=lots, price=round_to_tick(reference + sign * distance, tick),
                       close_only=True, state=State.WAITING)
                   for n, (distance, lots) in enumerate(planned, 1)]
        group = self._new_group(GroupKind.BRACKET, contract, volume, [entry, stop, *targets],
                                template.name, source)
        group.targets_planned = planned
        group.stop_distance = template.stop_ticks * tick
        if kind is Kind.LIMIT:
            decision = self.broker.preview(self._open_request(contract, direction, volume,
                                                              price), contract.gateway_name)
            if not decision:
                raise ManagedOrderError(f"{decision.rule}: {decision.reason}", decision)
        return self._start(group)

    # ------------------------------------------------------------------ placing: helpers
    def _template(self, template: BracketTemplate | str | None) -> BracketTemplate | None:
        if template is None or isinstance(template, BracketTemplate):
            return template
        if not template or template == "none":
            return None
        if self._templates is None:
            raise ManagedOrderError(f"no order templates to find {template!r} in")
        try:
            return self._templates.get(template)
        except TemplateError as exc:
            raise ManagedOrderError(str(exc)) from None

    def _checked(self, vt_symbol: str, direction: Direction, volume: float,
                 price: float | None):
        """The contract and whole volume, or ManagedOrderError naming the bad field."""
        contract = self.broker.contract(vt_symbol)
        if direction not in (_LONG, _SHORT):
            raise ManagedOrderError(f"direction {direction!r} is not long or short")
        ticket = Ticket(vt_symbol, direction, Offset.OPEN,
                        OrderType.LIMIT if price is not None else OrderType.MARKET,
                        price if price is not None else 0.0, volume)
        errors = check_ticket(ticket, contract)
        if errors:
            raise ManagedOrderError("; ".join(f"{k}: {v}" for k, v in errors.items()))
        return contract, float(int(volume))

    def _new_group(self, kind: GroupKind, contract, volume: float, legs: list[Leg],
                   template: str, source: str) -> Group:
        gid = f"M{self._session}-{next(self._ids)}"
        while gid in self._groups:        # a restored group's id (another run's stamp)
            gid = f"M{self._session}-{next(self._ids)}"
        for leg in legs:
            leg.id = f"{gid}.{leg.role.replace(' ', '')}"
        return Group(id=gid, kind=kind, vt_symbol=contract.vt_symbol,
                     gateway_name=contract.gateway_name, volume=volume, legs=legs,
                     template=template, source=source, created=self._clock().isoformat())

    def _preview_exit(self, group: Group, leg: Leg, price: float) -> None:
        decision = self._preview_leg(group, leg, price)
        if not decision:
            raise ManagedOrderError(f"{decision.rule}: {decision.reason}", decision)

    def _preview_leg(self, group: Group, leg: Leg, price: float) -> Decision:
        """The gate's verdict on the order `leg` would send at `price` (a stop's trigger: the
        price it is judged by), for the lots it would send now."""
        contract = self.broker.contract(group.vt_symbol)
        volume = max(self._shown_volume(group, leg), 1.0)
        if leg.close_only:
            free = self.broker.free_to_close(group.vt_symbol, group.gateway_name,
                                             leg.direction)
            if free <= 0 and leg.kind in _STOPS:
                return ALLOWED        # nothing to close yet: judged when it is sent
            volume = min(volume, free) or volume
            offset = Offset.CLOSE
        else:
            offset = Offset.OPEN
        req = OrderRequest(contract.symbol, contract.exchange, leg.direction, OrderType.LIMIT,
                           volume, price, offset)
        return self.broker.preview(req, group.gateway_name)

    def _start(self, group: Group) -> str:
        self._groups[group.id] = group
        for leg in group.legs:
            self._legs[leg.id] = (group, leg)
            if leg.kind in _STOPS and leg.state is State.ARMED:
                self._watch_leg(group, leg)
        self._settle(group)
        return group.id

    @staticmethod
    def _open_request(contract, direction: Direction, volume: float,
                      price: float) -> OrderRequest:
        return OrderRequest(contract.symbol, contract.exchange, direction, OrderType.LIMIT,
                            volume, price, Offset.OPEN)

    def _send_plain(self, req: OrderRequest, gateway: str) -> str:
        try:
            return self.broker.send(req, gateway)
        except TradingError as exc:
            raise ManagedOrderError(str(exc)) from None

    # ================================================================== changing
    def modify(self, key: str, price: float) -> Decision:
        """Move a managed order, or a plain working limit order, to `price`. Checked by the
        gate first: a denial changes nothing. A local stop moves at once; an order at the
        exchange is cancelled and replaced once the cancel is confirmed."""
        with self._lock:
            found = self._find(key)
            if found is None:
                order = self.broker.order(key)
                if order is None or not order.is_active():
                    return _deny("not_found", f"no working order or managed order {key}")
                if order.type != OrderType.LIMIT:
                    return _deny("not_modifiable", f"{order.vt_orderid} is a "
                                 f"{order.type.value} order; only limit orders can be moved")
                found = self._adopt(order)
            group, leg = found
            if group is None:
                return _deny("not_found", f"{key} is a whole group; move one of its orders")
            contract = self.broker.contract(group.vt_symbol)
            tick = contract.pricetick if contract else 0.0
            if contract is None:
                return _deny("unknown_contract", f"{group.vt_symbol} is not tradable now")
            errors = check_ticket(Ticket(group.vt_symbol, leg.direction, Offset.OPEN,
                                         OrderType.LIMIT, price, 1), contract)
            if errors:
                return _deny("price_tick", "; ".join(errors.values()))
            if not leg.state.active:
                return _deny("not_modifiable", f"{leg.role} is {leg.state.value}")
            if leg.kind in _STOPS and leg.state in (State.ARMED, State.WAITING):
                last = self._last(group.vt_symbol)
                if leg.state is State.ARMED and last is not None and (
                        price <= last if leg.direction == _LONG else price >= last):
                    side = "above" if leg.direction == _LONG else "below"
                    return _deny("stop_side", f"a {_side(leg.direction)} stop must stay {side} "
                                 f"the last price {_fmt(last, tick)}")
                decision = self._preview_leg(group, leg, price)
                if not decision:
                    return decision
                if leg.kind is Kind.STOP_LIMIT:
                    leg.limit_price = round_to_tick(leg.limit_price + price - leg.price, tick)
                leg.price = price
                leg.moved = True
                self._commit(group)
                return ALLOWED
            if leg.state is State.WAITING and leg.kind is Kind.LIMIT:
                decision = self._preview_leg(group, leg, price)
                if decision:
                    leg.price = price
                    leg.moved = True
                    self._commit(group)
                return decision
            if leg.state is not State.WORKING or any(c.cancel_sent for c in leg.live_children):
                return _deny("not_modifiable", f"{leg.role} is {leg.state.value}: wait until "
                             "it is working")
            live = leg.live_children
            first = self.broker.order(live[0].vt_orderid) if live else None
            req = OrderRequest(contract.symbol, contract.exchange, leg.direction,
                               OrderType.LIMIT, max(leg.working, 1.0), price,
                               first.offset if first else Offset.OPEN)
            decision = self.broker.preview(req, group.gateway_name)
            if not decision:
                return decision
            leg.new_price = price
            leg.state = State.REPLACING
            self._cancel_children(leg)
            self._commit(group)
            return ALLOWED

    def cancel(self, key: str) -> bool:
        """Cancel a managed order (a leg id or one of its orders' vt_orderid), a whole group
        (its id), or a plain working order."""
        with self._lock:
            group = self._groups.get(key)
            if group is not None:
                for leg in group.legs:
                    self._cancel_leg(group, leg, "cancelled by the trader")
                self._settle(group)
                return True
            found = self._find(key)
            if found is None:
                return self.broker.cancel(key)
            group, leg = found
            self._cancel_leg(group, leg, "cancelled by the trader")
            self._settle(group)
            return True

    def cancel_all(self, vt_symbol: str | None = None) -> int:
        """Every managed order (of one symbol) and every working order: how many."""
        with self._lock:
            count = 0
            for group in list(self._groups.values()):
                if vt_symbol is None or group.vt_symbol == vt_symbol:
                    self.cancel(group.id)
                    count += 1
            for order in self.broker.working(vt_symbol) if vt_symbol else \
                    self.broker.trading.working_orders():
                if order.vt_orderid not in self._by_order:
                    count += self.broker.cancel(order.vt_orderid)
            return count

    def _cancel_leg(self, group: Group, leg: Leg, why: str) -> None:
        if not leg.state.active:
            return
        if leg.live_children:
            leg.reason = why
            self._cancel_children(leg)
            leg.cancelled = True
        else:
            self._end(group, leg, State.CANCELLED, why)

    def _adopt(self, order: OrderData) -> tuple[Group, Leg]:
        """A plain working order becomes a managed one so that it can be replaced."""
        contract = self.broker.contract(order.vt_symbol)
        leg = Leg(id="", role="limit", direction=order.direction, kind=Kind.LIMIT,
                  volume=order.volume, price=order.price, state=State.WORKING,
                  close_only=order.offset != Offset.OPEN)
        leg.offset = order.offset.name
        leg.children.append(Child(order.vt_orderid, order.volume, order.price,
                                  traded=order.traded))
        group = self._new_group(GroupKind.SINGLE, contract, order.volume, [leg], "",
                                "modify")
        group.gateway_name = order.gateway_name
        self._groups[group.id] = group
        self._legs[leg.id] = (group, leg)
        self._by_order[order.vt_orderid] = (group, leg, leg.children[0])
        return group, leg

    # ================================================================== reading
    def views(self, vt_symbol: str | None = None) -> list[ManagedView]:
        with self._lock:
            return [self._view(group, leg) for group in self._groups.values()
                    if vt_symbol is None or group.vt_symbol == vt_symbol
                    for leg in group.legs if leg.state.active]

    def view_of_order(self, vt_orderid: str) -> ManagedView | None:
        with self._lock:
            found = self._by_order.get(vt_orderid)
            return self._view(found[0], found[1]) if found else None

    def armed_local(self, gateway: str | None = None) -> int:
        """Local stops armed now (of one gateway)."""
        with self._lock:
            return sum(1 for legs in self._watch.values() for group, leg in legs
                       if gateway is None or group.gateway_name == gateway)

    def _find(self, key: str) -> tuple[Group, Leg] | None:
        found = self._legs.get(key)
        if found is not None:
            return found
        child = self._by_order.get(key)
        return (child[0], child[1]) if child is not None else None

    # ================================================================== events
    def on_tick(self, tick: TickData) -> None:
        watched = self._watch.get(tick.vt_symbol)
        if not watched:
            return
        last = tick.last_price
        if not last:
            return
        with self._lock:
            for group, leg in list(watched):
                if leg.state is not State.ARMED:
                    continue
                if leg.direction == _SHORT:
                    self._follow(group, leg, last, 1)
                    hit = last <= leg.price
                else:
                    self._follow(group, leg, last, -1)
                    hit = last >= leg.price
                if hit:
                    self._trigger(group, leg, tick)

    def _follow(self, group: Group, leg: Leg, last: float, sign: int) -> None:
        """Breakeven and trailing: a protective stop only ever moves towards the price.
        `sign` is +1 for a sell stop (below a long), -1 for a buy stop."""
        moved = at_once = False
        if leg.breakeven_after and not leg.breakeven_done and group.entry_price and \
                sign * (last - group.entry_price) >= leg.breakeven_after:
            level = group.entry_price + sign * leg.breakeven_offset
            leg.breakeven_done = True
            if sign * (level - leg.price) > 0:
                leg.price = level
                moved = at_once = True
            self._alert(INFO, "breakeven", group.vt_symbol,
                        f"{leg.role} of {group.id} moved to breakeven {leg.price:g}")
        if leg.trail_distance:
            contract = self.broker.contract(group.vt_symbol)
            level = last - sign * leg.trail_distance
            if contract is not None:
                tick = contract.pricetick
                level = (math.floor(level / tick + 1e-9) if sign > 0
                         else math.ceil(level / tick - 1e-9)) * tick
                level = round(level, decimals_for(tick))
            if sign * (level - leg.price) > 0:
                leg.price = level
                moved = True
        if moved:
            now = time.monotonic()
            if at_once or now - self._trail_saved.get(leg.id, 0.0) >= TRAIL_SAVE_SECONDS:
                self._trail_saved[leg.id] = now
                self._save(group)
            self._publish(group)

    def on_order(self, order: OrderData) -> None:
        found = self._by_order.get(order.vt_orderid)
        if found is None:
            if self._blocking and not order.is_active():
                with self._lock:
                    group = self._blocking.pop(order.vt_orderid, None)
                    if group is not None and group.id in self._groups:
                        self._settle(group)
            return
        with self._lock:
            group, leg, child = found
            child.traded = max(child.traded, order.traded)
            if not order.is_active() and child.active:
                child.active = False
                if order.traded < order.volume and not child.cancel_sent and \
                        not leg.cancelled:
                    reason = (order.extra or {}).get("reason") or order.status.value
                    self._child_lost(group, leg, f"its order {order.vt_orderid} ended "
                                                 f"unfilled: {reason}")
            self._settle(group)

    def on_trade(self, trade: TradeData) -> None:
        found = self._by_order.get(trade.vt_orderid)
        if found is None:
            return
        with self._lock:
            group, leg, child = found
            child.by_trades += trade.volume
            if leg.role == "entry":
                done = group.entry_filled
                group.entry_price = (group.entry_price * done + trade.price * trade.volume) \
                    / (done + trade.volume)
                group.entry_filled = done + trade.volume
            self._settle(group)

    def on_position(self, vt_symbol: str, gateway: str) -> None:
        """Lots may have come free for exits waiting for them."""
        if not self._groups:
            return
        with self._lock:
            for group in list(self._groups.values()):
                if group.vt_symbol == vt_symbol and group.gateway_name == gateway and any(
                        leg.state is State.WAITING and (leg.triggered or leg.placed)
                        for leg in group.legs):
                    self._settle(group)

    def on_connection(self, gateway: str, up: bool, detail: str = "") -> None:
        """A lost connection while local stops are armed: they cannot fire until it is back."""
        if up:
            return
        armed = self.armed_local(gateway)
        if armed:
            self._alert(SEVERE, "local_stops_offline", "",
                        f"the connection to {gateway} is lost ({detail or 'down'}) while "
                        f"{armed} local stop(s) are armed: they live in this terminal and "
                        "cannot fire until it is back. Protect the positions at the broker "
                        "if it stays down.")

    def restore(self) -> int:
        """Re-arm the book's active groups, each once; call on the event thread once the
        journal's orders are known to the engine. Returns how many."""
        with self._lock:
            groups, unreadable = self.book.load_active()
            for text in unreadable:
                self._alert(SEVERE, "managed_order", "", f"{text}: it is not re-armed; check "
                            "the positions it protected")
            count = 0
            for group in groups:
                if group.id in self._groups:
                    continue
                self._reconcile(group)
                self._groups[group.id] = group
                for leg in group.legs:
                    self._legs[leg.id] = (group, leg)
                    for child in leg.children:
                        self._by_order[child.vt_orderid] = (group, leg, child)
                    if leg.kind in _STOPS and leg.state is State.ARMED:
                        self._watch_leg(group, leg)
                count += 1
                self._settle(group)
            if count:
                self._alert(INFO, "managed_order", "", f"{count} managed order group(s) from "
                            f"before the restart re-armed ({self.armed_local()} local stop(s) "
                            "armed)")
            return count

    def _reconcile(self, group: Group) -> None:
        """What happened to the group's orders while the terminal was down."""
        for leg in group.legs:
            if leg.state is State.SENDING and leg.tag:
                order = self.broker.order_by_reference(leg.tag)
                if order is None:
                    leg.state = State.IN_DOUBT
                    leg.reason = (f"it was sending order {leg.tag} when the terminal stopped; "
                                  "whether it reached the exchange is unknown, so it is not "
                                  "sent again")
                    self._unwatch(leg)
                    self._alert(SEVERE, "managed_order", group.vt_symbol,
                                f"{leg.role} of {group.id}: {leg.reason}. Check the orders "
                                "and position at the broker.")
                    continue
                child = Child(order.vt_orderid, order.volume, order.price, traded=order.traded)
                leg.children.append(child)
                leg.tag = ""
                leg.state = State.WORKING
            for child in leg.children:
                if not child.active:
                    continue
                order = self.broker.order(child.vt_orderid)
                if order is not None:
                    child.traded = max(child.traded, order.traded)
                if order is None or not order.is_active():
                    child.active = False
                    if leg.role == "entry" or (group.kind is GroupKind.SINGLE
                                               and leg.kind is Kind.LIMIT):
                        # never re-sent: a restart opens no new exposure
                        leg.cancelled = True
                        leg.reason = leg.reason or (
                            f"its order {child.vt_orderid} ended while the terminal was "
                            "stopped")

    # ================================================================== the rules
    def _trigger(self, group: Group, leg: Leg, tick: TickData) -> None:
        self._unwatch(leg)
        leg.triggered = True
        leg.state = State.SENDING
        if leg.kind is Kind.STOP:
            contract = self.broker.contract(group.vt_symbol)
            leg.send_price = self.broker.marketable_price(tick, contract, leg.direction) \
                if contract else leg.price
        else:
            leg.send_price = leg.limit_price
        self._settle(group)

    def _room(self, group: Group) -> float:
        """What the group's exits may still close (or an OCO's legs still fill)."""
        if group.kind is GroupKind.BRACKET:
            entry = group.legs[0]
            return max(entry.filled - sum(leg.filled for leg in group.legs[1:]), 0.0)
        return max(group.volume - sum(leg.filled for leg in group.legs), 0.0)

    def _settle(self, group: Group) -> None:
        """Send, cancel and end what the group's state calls for; then save and publish."""
        if group.kind is GroupKind.BRACKET:
            self._settle_entry(group)
            exits = group.legs[1:]
        else:
            exits = group.legs
        room = self._room(group)
        triggered = [leg for leg in exits if leg.triggered]
        entry_over = group.kind is not GroupKind.BRACKET or not group.legs[0].state.active
        for leg in exits:
            if not leg.state.active:
                continue
            if leg.cancelled:
                if not leg.live_children:
                    self._end(group, leg, State.CANCELLED, leg.reason)
                continue
            if triggered and leg not in triggered:
                winner = triggered[0]
                self._cancel_leg(group, leg, f"{winner.role} triggered")
                continue
            others = sum(other.working for other in exits if other is not leg)
            if leg.kind in _STOPS and not leg.triggered:
                if room <= 0 and entry_over:
                    self._end(group, leg, State.CANCELLED, "nothing left to protect")
                continue
            if group.kind is GroupKind.BRACKET and not leg.placed:
                continue              # an exit waits for its entry's first priced fill
            want = min(self._wanted(group, leg, room), room - others)
            self._drive(group, leg, want, room, entry_over)
        self._commit(group)

    def _settle_entry(self, group: Group) -> None:
        entry = group.legs[0]
        if entry.state is State.WAITING and entry.kind in (Kind.LIMIT, Kind.MARKET):
            entry.state = State.SENDING
            if entry.kind is Kind.MARKET:
                tick = self.broker.tick(group.vt_symbol)
                contract = self.broker.contract(group.vt_symbol)
                entry.send_price = self.broker.marketable_price(tick, contract,
                                                                entry.direction) \
                    if tick and contract else 0.0
            else:
                entry.send_price = entry.price
        if entry.state.active and not entry.cancelled:
            want = entry.volume - entry.filled
            self._drive(group, entry, want, want, False)
        elif entry.cancelled and not entry.live_children and entry.state.active:
            self._end(group, entry, State.CANCELLED, entry.reason)
        if group.entry_filled:
            self._arm_protection(group)
        if not entry.state.active and not entry.filled:
            for leg in group.legs[1:]:
                if leg.state.active and not leg.live_children:
                    self._end(group, leg, State.CANCELLED, f"the entry {entry.state.value}")
        # a stop-out ends the idea: what is left of the entry is cancelled
        if any(leg.triggered for leg in group.legs[1:]) and entry.live_children:
            self._cancel_leg(group, entry, "the stop triggered")

    def _arm_protection(self, group: Group) -> None:
        """From the entry's first fill: the stop is armed at its distance from the fill price
        (unless the trader moved it), the targets go to the exchange."""
        base = group.entry_price
        contract = self.broker.contract(group.vt_symbol)
        tick = contract.pricetick if contract else 0.0
        sign = 1 if group.legs[0].direction == _LONG else -1
        for n, leg in enumerate(group.legs[1:]):
            if leg.placed or not leg.state.active:
                continue
            leg.placed = True
            if leg.kind in _STOPS:
                if not leg.moved and base:
                    price = round_to_tick(base - sign * group.stop_distance, tick) \
                        if tick else leg.price
                    if leg.kind is Kind.STOP_LIMIT:
                        leg.limit_price += price - leg.price
                    leg.price = price
                leg.state = State.ARMED
                self._watch_leg(group, leg)
            else:
                if not leg.moved and n - 1 < len(group.targets_planned):
                    distance = group.targets_planned[n - 1][0]
                    leg.price = round_to_tick(base + sign * distance, tick) if tick \
                        else leg.price
                leg.state = State.SENDING
                leg.send_price = leg.price

    def _wanted(self, group: Group, leg: Leg, room: float) -> float:
        """Lots `leg` should hold at the exchange now, before the other exits are counted."""
        if group.kind is not GroupKind.BRACKET or leg.kind in _STOPS:
            return room
        # targets share the entry's fills in their order, each up to its planned lots
        filled = group.legs[0].filled
        before = 0.0
        for other in group.legs[1:]:
            if other.kind in _STOPS:
                continue
            share = min(other.volume, max(filled - before, 0.0))
            if other is leg:
                return min(max(share - leg.filled, 0.0), room)
            before += other.volume
        return 0.0

    def _drive(self, group: Group, leg: Leg, want: float, room: float,
               entry_over: bool) -> None:
        """Bring what `leg` holds at the exchange to `want` lots: more is cancelled (and sent
        again for its share once confirmed), less is topped up; a replace waits for its
        cancels."""
        if any(child.cancel_sent for child in leg.live_children):
            return                                  # wait for the cancels to be confirmed
        if leg.state is State.REPLACING:
            leg.price = leg.new_price
            leg.send_price = leg.new_price
            leg.state = State.SENDING
        have = leg.working
        if have > want + 1e-9:
            self._cancel_children(leg)
            return
        if leg.state is State.WAITING:
            leg.state = State.SENDING
            leg.send_price = leg.send_price or leg.price
        need = want - have
        if need > 1e-9:
            self._send_leg(group, leg, need)
            return
        if leg.live_children:
            leg.state = State.WORKING
        elif leg.role == "entry":
            if leg.filled >= leg.volume - 1e-9:
                self._end(group, leg, State.FILLED, "")
        elif room <= 1e-9 and entry_over:
            self._end(group, leg, State.FILLED if leg.filled else State.CANCELLED,
                      "nothing left to close")
        elif group.kind is GroupKind.BRACKET and leg.kind is Kind.LIMIT and \
                leg.filled >= leg.volume - 1e-9:
            self._end(group, leg, State.FILLED, "")      # a target's whole share
        else:
            leg.state = State.WAITING                    # for lots to come free

    def _send_leg(self, group: Group, leg: Leg, volume: float) -> None:
        contract = self.broker.contract(group.vt_symbol)
        gateway = group.gateway_name
        if contract is None:              # not connected (yet): sent once it is
            leg.state = State.WORKING if leg.live_children else State.WAITING
            return
        tick = self.broker.tick(group.vt_symbol)
        if leg.triggered and leg.kind is Kind.STOP and tick is not None:
            leg.send_price = self.broker.marketable_price(tick, contract, leg.direction)
        price = leg.send_price or leg.price
        if leg.close_only:
            volume = min(volume, self.broker.free_to_close(group.vt_symbol, gateway,
                                                           leg.direction))
            if volume <= 1e-9:              # sent as the lots come free
                leg.state = State.WORKING if leg.live_children else State.WAITING
                return
            position = self.broker.position(group.vt_symbol, gateway, held_side(leg.direction))
            if position is None:
                return
            reqs = self.broker.close_requests(position, volume, price,
                                              vouched=leg.kind in _STOPS)
        elif leg.offset:
            reqs = [OrderRequest(contract.symbol, contract.exchange, leg.direction,
                                 OrderType.LIMIT, volume, price, Offset[leg.offset])]
        else:
            reqs = [self._open_request(contract, leg.direction, volume, price)]
        if leg.triggered and leg.close_only:
            crossing = self._crossing(group, leg, price)
            if crossing:
                return
        for req in reqs:
            leg.tag = req.reference = f"{leg.id}#{len(leg.children) + 1}"
            leg.state = State.SENDING
            try:
                self.book.save(group)        # known to be sending before it leaves
            except Exception as exc:         # noqa: BLE001 - no record, no order
                self._fail(group, leg, f"its state could not be written ({exc}); not sent")
                return
            try:
                vt_orderid = self.broker.send(req, gateway)
            except TradingError as exc:
                self._fail(group, leg, f"not sent: {exc}")
                return
            child = Child(vt_orderid, req.volume, req.price)
            leg.children.append(child)
            leg.tag = ""
            self._by_order[vt_orderid] = (group, leg, child)
            leg.state = State.WORKING
            self.sent += 1

    def _crossing(self, group: Group, leg: Leg, price: float) -> bool:
        """A triggered stop whose order would trade against the trader's own resting orders
        on the other side: those are cancelled first (the gate would deny a self-trade) and
        the stop goes when they are confirmed. True while it waits."""
        crossing = [order for order in self.broker.working(group.vt_symbol)
                    if order.type == OrderType.LIMIT and order.direction != leg.direction
                    and order.gateway_name == group.gateway_name
                    and (order.price >= price if leg.direction == _SHORT
                         else order.price <= price)]
        if not crossing:
            return False
        fresh = [order for order in crossing if order.vt_orderid not in leg.waiting_for]
        for order in fresh:
            self._blocking[order.vt_orderid] = group
            self.broker.cancel(order.vt_orderid)
        if fresh:
            leg.waiting_for += [order.vt_orderid for order in fresh]
            self._alert(WARNING, "stop_self_trade", group.vt_symbol,
                        f"{leg.role} of {group.id} triggered; it would trade against your own "
                        f"resting order(s) {', '.join(o.vt_orderid for o in fresh)}: they are "
                        "cancelled first and the stop goes when they are")
        return True

    def _cancel_children(self, leg: Leg) -> None:
        for child in leg.live_children:
            if not child.cancel_sent:
                child.cancel_sent = True
                self.broker.cancel(child.vt_orderid)

    def _child_lost(self, group: Group, leg: Leg, why: str) -> None:
        """An order of a leg ended unfilled without the engine asking: rejected, or cancelled
        from outside (the Orders dock, the broker)."""
        protective = (leg.close_only and group.kind is not GroupKind.SINGLE) or \
            leg.kind in _STOPS
        self._fail(group, leg, why, severe=protective)

    def _fail(self, group: Group, leg: Leg, why: str, severe: bool = True) -> None:
        self._cancel_children(leg)
        leg.cancelled = True
        self._end(group, leg, State.FAILED, why)
        self._alert(SEVERE if severe else WARNING, "managed_order", group.vt_symbol,
                    f"{leg.role} of {group.id} ({_side(leg.direction)} "
                    f"{group.vt_symbol}) failed: {why}")

    def _end(self, group: Group, leg: Leg, state: State, why: str) -> None:
        if not leg.state.active:
            return
        leg.state = state
        leg.reason = leg.reason or why if state is not State.FILLED else ""
        self._unwatch(leg)

    def _watch_leg(self, group: Group, leg: Leg) -> None:
        legs = self._watch.setdefault(group.vt_symbol, [])
        if all(other is not leg for _, other in legs):
            legs.append((group, leg))

    def _unwatch(self, leg: Leg) -> None:
        for symbol, legs in list(self._watch.items()):
            kept = [(g, other) for g, other in legs if other is not leg]
            if len(kept) != len(legs):
                if kept:
                    self._watch[symbol] = kept
                else:
                    del self._watch[symbol]

    # ================================================================== keeping and showing
    def _commit(self, group: Group) -> None:
        self._save(group)
        self._publish(group)
        if not group.active:
            self._forget(group)

    def _save(self, group: Group) -> None:
        try:
            self.book.save(group)
        except Exception as exc:          # said loudly, never silently
            log.exception("managed order %s could not be written", group.id)
            self._alert(SEVERE, "managed_order", group.vt_symbol,
                        f"managed order {group.id} could not be written ({exc}): after a "
                        "restart it may be missing")

    def _forget(self, group: Group) -> None:
        self._groups.pop(group.id, None)
        for leg in group.legs:
            self._legs.pop(leg.id, None)
            self._shown.pop(leg.id, None)
            self._trail_saved.pop(leg.id, None)
            for child in leg.children:
                self._by_order.pop(child.vt_orderid, None)

    def _publish(self, group: Group) -> None:
        for leg in group.legs:
            view = self._view(group, leg)
            if self._shown.get(leg.id) != view:
                self._shown[leg.id] = view
                self._put(EVENT_MANAGED, view)

    def _shown_volume(self, group: Group, leg: Leg) -> float:
        if leg.role == "entry":
            return max(leg.volume - leg.filled, 0.0)
        if group.kind is GroupKind.BRACKET:
            room = self._room(group)
            if leg.kind in _STOPS:
                return room if group.legs[0].filled else group.volume
            return leg.working or max(leg.volume - leg.filled, 0.0)
        return max(self._room(group), 0.0) if leg.kind in _STOPS else \
            (leg.working or self._room(group))

    def _view(self, group: Group, leg: Leg) -> ManagedView:
        contract = self.broker.contract(group.vt_symbol)
        tick = contract.pricetick if contract else 0.0
        live = leg.live_children
        where = LOCAL if leg.kind in _STOPS and not leg.triggered and \
            leg.state in (State.WAITING, State.ARMED) else AT_EXCHANGE
        if leg.role == "entry" and leg.state is State.WAITING:
            where = AT_EXCHANGE if leg.kind is not Kind.STOP else LOCAL
        volume = self._shown_volume(group, leg)
        price_text = "market" if leg.kind is Kind.MARKET else f"@ {_fmt(leg.price, tick)}"
        side = "Buy" if leg.direction == _LONG else "Sell"
        parts = [f"{side} {leg.kind.value} {volume:g} {price_text}"]
        if leg.kind is Kind.STOP_LIMIT:
            parts.append(f"limit {_fmt(leg.limit_price, tick)}")
        if leg.trail_text:
            parts.append(leg.trail_text)
        if leg.breakeven_after and not leg.breakeven_done:
            parts.append("breakeven pending")
        parts.append(where)
        return ManagedView(
            id=leg.id, group=group.id, role=leg.role, vt_symbol=group.vt_symbol,
            direction=leg.direction, volume=volume, filled=leg.filled, price=leg.price,
            kind=leg.kind.value, where=where, state=leg.state.value,
            vt_orderid=live[-1].vt_orderid if live else "", active=leg.state.active,
            text=" · ".join(parts), reason=leg.reason, template=group.template)

    def _alert(self, severity: str, rule: str, symbol: str, text: str) -> None:
        self._put(EVENT_ALERT, Alert(self._clock(), severity, rule, symbol, text))

    def _last(self, vt_symbol: str) -> float | None:
        tick = self.broker.tick(vt_symbol)
        return tick.last_price if tick and tick.last_price else None


def _side(direction: Direction) -> str:
    return "buy" if direction == _LONG else "sell"


def _fmt(price: float, tick: float) -> str:
    return f"{price:.{decimals_for(tick)}f}" if tick else f"{price:g}"
