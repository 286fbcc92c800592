"""Managed orders, as the windows use them: place a local stop or stop-limit, a limit with
the offset chosen for the trader, a bracket from a named template, or an OCO group; move any
of them or a plain working limit order (`modify`, checked by the risk gate first, a denial
changing nothing); cancel one, a group or all; read them as `ManagedView`s.

CTP only knows limit orders: everything else lives here (the rules are in
`terminal.orders.engine`). Every child order is an ordinary order through `Trading`, so it
passes the risk gate on the gateway boundary like any other.
"""

from __future__ import annotations

from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.object import OrderData, OrderRequest

from terminal.market.prices import round_to_tick
from terminal.market.ticket import Ticket, check as check_ticket
from terminal.market.trading import TradingError
from terminal.orders.broker import held_side
from terminal.orders.engine import GroupEngine
from terminal.orders.model import STOPS, Child, Group, GroupKind, Kind, Leg, ManagedView, State
from terminal.orders.templates import BracketTemplate, TemplateError
from terminal.orders.views import price_text, shown_volume, side_word, view_of
from terminal.risk.gate import ALLOWED, Decision

_LONG, _SHORT = Direction.LONG, Direction.SHORT
_STOPS = STOPS
STRATEGY_REFERENCE = "CtaStrategy_"      # vnpy_ctastrategy's reference on its orders


class ManagedOrderError(ValueError):
    """Nothing was placed or changed; `decision` is the gate's when it said no."""

    def __init__(self, message: str, decision: Decision | None = None) -> None:
        super().__init__(message)
        self.decision = decision


def _deny(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


class ManagedOrders(GroupEngine):
    # ================================================================== placing
    def place_stop(self, vt_symbol: str, direction: Direction, volume: float, trigger: float,
                   *, limit_price: float | None = None, close_only: bool = False,
                   template: BracketTemplate | str | None = None, source: str = "") -> str:
        """A local stop (a stop-limit with `limit_price`); with `template`, an entry stop with
        its bracket. Returns the group id."""
        template, atr = self._template_and_atr(vt_symbol, template)
        with self._lock:
            contract, volume = self._checked(vt_symbol, direction, volume, trigger)
            if limit_price is not None:
                self._checked(vt_symbol, direction, volume, limit_price)
            self._check_stop_side(contract, direction, trigger)
            kind = Kind.STOP if limit_price is None else Kind.STOP_LIMIT
            if template is not None:
                return self._bracket(contract, direction, volume, kind, trigger,
                                     limit_price or 0.0, template, source, atr)
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
        template, atr = self._template_and_atr(vt_symbol, template)
        with self._lock:
            contract, volume = self._checked(vt_symbol, direction, volume, price)
            if template is not None:
                return self._bracket(contract, direction, volume, Kind.LIMIT, price, 0.0,
                                     template, source, atr)
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
        template, atr = self._template_and_atr(vt_symbol, template)
        if template is None:
            raise ManagedOrderError("a bracket needs a template")
        with self._lock:
            if price is None:
                contract, volume = self._checked(vt_symbol, direction, volume, None)
                return self._bracket(contract, direction, volume, Kind.MARKET, 0.0, 0.0,
                                     template, source, atr)
            contract, volume = self._checked(vt_symbol, direction, volume, price)
            return self._bracket(contract, direction, volume, Kind.LIMIT, price, 0.0,
                                 template, source, atr)

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
                if kind == "stop":
                    self._check_stop_side(contract, direction, price)
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
                 source: str, atr: float | None) -> str:
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
            if not atr:
                raise ManagedOrderError(f"no ATR({template.atr_period}) of 1-minute bars for "
                                        f"{contract.vt_symbol} to trail by (template "
                                        f"{template.name!r})")
            trail_distance = max(round_to_tick(template.trail_atr * atr, tick), tick)
            trail_text = (f"trailing {template.trail_atr:g} x ATR{template.atr_period} "
                          f"= {price_text(trail_distance, tick)}")
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
    def _template_and_atr(self, vt_symbol: str, template: BracketTemplate | str | None
                          ) -> tuple[BracketTemplate | None, float | None]:
        """The template, and the ATR it trails by when it does: read before the lock is
        taken (it may read stored bars), so no tick waits for it."""
        template = self._template(template)
        if template is None or not template.trail_atr or self._atr is None:
            return template, None
        return template, self._atr(vt_symbol, template.atr_period)

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

    def _check_stop_side(self, contract, direction: Direction, trigger: float) -> None:
        """A buy stop above the last price, a sell stop below: else it fires at once."""
        last = self._last(contract.vt_symbol)
        if last is not None and (trigger <= last if direction == _LONG else trigger >= last):
            tick = contract.pricetick
            side = "above" if direction == _LONG else "below"
            raise ManagedOrderError(
                f"a {side_word(direction)} stop must be {side} the last price "
                f"{price_text(last, tick)}: {price_text(trigger, tick)} would trigger at once")

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
        price it is judged by). A close is judged as it will be sent: with the lots the
        group's other exits hold released (a stop cancels them first)."""
        contract = self.broker.contract(group.vt_symbol)
        volume = max(shown_volume(group, leg, self.broker), 1.0)
        release = 0.0
        if leg.close_only:
            position = self.broker.position(group.vt_symbol, group.gateway_name,
                                            held_side(leg.direction))
            held = abs(position.volume) if position else 0.0
            if not held:
                return ALLOWED        # nothing to close yet: judged when it is sent
            volume = min(volume, held)
            release = sum(other.working for other in group.legs
                          if other is not leg and other.close_only)
            offset = Offset.CLOSE
        else:
            offset = Offset.OPEN
        req = OrderRequest(contract.symbol, contract.exchange, leg.direction, OrderType.LIMIT,
                           volume, price, offset)
        return self.broker.preview(req, group.gateway_name, release, stop=leg.kind in _STOPS)

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
            adopted = None
            if found is None:
                order = self.broker.order(key)
                if order is None or not order.is_active():
                    return _deny("not_found", f"no working order or managed order {key}")
                if order.type != OrderType.LIMIT:
                    return _deny("not_modifiable", f"{order.vt_orderid} is a "
                                 f"{order.type.value} order; only limit orders can be moved")
                if order.reference.startswith(STRATEGY_REFERENCE):
                    return _deny("not_modifiable", f"{order.vt_orderid} belongs to the "
                                 f"strategy {order.reference[len(STRATEGY_REFERENCE):]}: "
                                 "moving it behind the strategy's back is refused")
                found = adopted = self._adopt(order)
            decision = self._move(*found, price)
            if adopted and not decision:
                self._forget(adopted[0])          # a refused move leaves a plain order plain
            return decision

    def _move(self, group: Group, leg: Leg, price: float) -> Decision:
        """The move itself: checked (tick, side, gate) before anything changes."""
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
                return _deny("stop_side", f"a {side_word(leg.direction)} stop must stay {side} "
                             f"the last price {price_text(last, tick)}")
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
        decision = self.broker.preview(req, group.gateway_name, leg.working)
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
                entry = group.legs[0]
                if group.kind is GroupKind.BRACKET and entry.live_children and not entry.filled:
                    # Nothing filled yet: the entry goes; its exits end with it, unless it
                    # fills before its cancel is confirmed (then they protect that).
                    group.cancelling = True
                    self._cancel_leg(group, entry, "cancelled by the trader", again=True)
                else:
                    for leg in group.legs:
                        self._cancel_leg(group, leg, "cancelled by the trader", again=True)
                self._settle(group)
                return True
            found = self._find(key)
            if found is None:
                return self.broker.cancel(key)
            group, leg = found
            self._cancel_leg(group, leg, "cancelled by the trader", again=True)
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
            for order in self.broker.working(vt_symbol):
                if order.vt_orderid not in self._by_order:
                    count += self.broker.cancel(order.vt_orderid)
            return count

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
            return [view_of(group, leg, self.broker) for group in self._groups.values()
                    if vt_symbol is None or group.vt_symbol == vt_symbol
                    for leg in group.legs if leg.state.active]

    def view_of_order(self, vt_orderid: str) -> ManagedView | None:
        with self._lock:
            found = self._by_order.get(vt_orderid)
            return view_of(found[0], found[1], self.broker) if found else None

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
