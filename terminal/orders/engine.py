"""The managed orders' engine room: the groups' state, what ticks, orders, trades and
positions do to it, the rules that send and cancel, the durable copy and the views.

Every group follows one rule for its exits: the lots its orders hold at the exchange never
exceed the volume the group may still close (`Group.room`): a bracket's open position (its
entry's fills less its exits' fills), an OCO's shared volume less its fills. A triggered stop
first cancels the other exits and sends what is free; the rest goes as their cancels are
confirmed. A partial fill of one exit reduces the others at once (an exit holding more than
its share is cancelled and sent again for its share once the cancel is confirmed). A modify of
an order at the exchange cancels it and sends the replacement only when the cancel is
confirmed, for the lots still open, so a fill during a modify can never double the exposure.
Protective orders close only, and never more than the position free to close when sent.

State is written to the `ManagedBook` before each order is sent and after each change, and a
restart re-arms each active group once (`restore`, `terminal.orders.rearm`).

Threads: ticks, orders and trades arrive on the event thread; the windows call in on the GUI
thread. One re-entrant lock serialises both (taken before the risk guard's, never after).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.object import OrderData, OrderRequest, TickData, TradeData

from terminal.core.alerts import EVENT_ALERT, INFO, SEVERE, WARNING, Alert
from terminal.core.ids import session_stamp
from terminal.core.timezone import CHINA_TZ
from terminal.market.prices import round_to_tick
from terminal.market.trading import TradingError
from terminal.orders.book import ManagedBook
from terminal.orders.broker import EngineBroker, held_side
from terminal.orders.model import (EVENT_MANAGED, STOPS, Child, Group, GroupKind, Kind, Leg,
                                   ManagedView, State)
from terminal.orders.rearm import reconcile
from terminal.orders.trailing import follow
from terminal.orders.templates import OrderTemplates
from terminal.orders.views import side_word, view_of

log = logging.getLogger(__name__)

_LONG, _SHORT = Direction.LONG, Direction.SHORT
_STOPS = STOPS
TRAIL_SAVE_SECONDS = 1.0        # a trailing stop's moves are written at most this often


class GroupEngine:
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

    # ================================================================== events
    def on_tick(self, tick: TickData) -> None:
        if tick.vt_symbol not in self._watch or not tick.last_price:
            return                              # a symbol with no stop: one lookup
        last = tick.last_price
        with self._lock:                        # looked up again under it: a stop armed now
            for group, leg in list(self._watch.get(tick.vt_symbol, ())):
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
        """Breakeven and trailing (`terminal.orders.trailing`); a move by breakeven is
        written at once, a trailing one at most once a second."""
        contract = self.broker.contract(group.vt_symbol)
        moved, breakeven = follow(leg, group.entry_price, last, sign,
                                  contract.pricetick if contract else 0.0)
        if breakeven:
            self._alert(INFO, "breakeven", group.vt_symbol,
                        f"{leg.role} of {group.id} moved to breakeven {leg.price:g}")
        if moved:
            now = time.monotonic()
            if breakeven or now - self._trail_saved.get(leg.id, 0.0) >= TRAIL_SAVE_SECONDS:
                self._trail_saved[leg.id] = now
                self._save(group)
            self._publish(group)

    def on_order(self, order: OrderData) -> None:
        if not self._groups:
            return
        with self._lock:        # looked up under the lock: a sender may be inside send()
            found = self._by_order.get(order.vt_orderid)
            if found is None:
                return
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
        if not self._groups:
            return
        with self._lock:
            found = self._by_order.get(trade.vt_orderid)
            if found is None:
                return
            group, leg, child = found
            child.by_trades += trade.volume
            if leg.role == "entry":
                done = group.entry_filled
                group.entry_price = (group.entry_price * done + trade.price * trade.volume) \
                    / (done + trade.volume)
                group.entry_filled = done + trade.volume
            self._settle(group)

    def on_position(self, vt_symbol: str, gateway: str) -> None:
        """Lots may have come free for exits waiting for them; or the position they protect
        was closed outside them, and they end (a stop left armed would close whatever
        position came next)."""
        if not self._groups:
            return
        with self._lock:
            for group in list(self._groups.values()):
                if group.vt_symbol != vt_symbol or group.gateway_name != gateway:
                    continue
                if self._closed_outside(group):
                    exits = [leg for leg in group.legs if leg.close_only and leg.state.active]
                    for leg in exits:
                        self._end(group, leg, State.CANCELLED, "the position was closed "
                                                               "outside this order")
                    self._alert(WARNING, "managed_order", vt_symbol,
                                f"the position {group.id} protected was closed outside it: "
                                f"its {', '.join(leg.role for leg in exits)} ended")
                    self._settle(group)
                elif any(leg.state is State.WAITING and (leg.triggered or leg.placed)
                         for leg in group.legs):
                    self._settle(group)

    def _closed_outside(self, group: Group) -> bool:
        """Its exits protect a position that a position report says is gone, with none of
        their own orders working (those would have closed it) and no entry still to fill."""
        exits = [leg for leg in group.legs if leg.close_only and leg.state.active]
        if not exits or any(leg.live_children for leg in group.legs):
            return False
        if group.kind is GroupKind.BRACKET and (group.legs[0].state.active
                                               or not group.legs[0].filled):
            return False
        position = self.broker.position(group.vt_symbol, group.gateway_name,
                                        held_side(exits[0].direction))
        return position is not None and not position.volume

    def on_trader_cancel(self, vt_symbol: str | None, vt_orderid: str | None,
                         gateway: str | None = None, closing: Direction | None = None) -> None:
        """The trader cancelled an order, all of a symbol's (Cancel all, Flatten) or closed
        one side of a position (Close: `gateway`, `closing` the direction of its closes):
        the managed orders it touches end too, local stops included, rather than being taken
        for orders cancelled from outside. Close ends only the groups whose exits close that
        side, on that gateway."""
        with self._lock:
            if vt_orderid is not None:
                found = self._by_order.get(vt_orderid)
                if found is not None:
                    group, leg, child = found
                    child.cancel_sent = True
                    self._cancel_leg(group, leg, "cancelled by the trader")
                    self._settle(group)
                return
            for group in list(self._groups.values()):
                if vt_symbol is not None and group.vt_symbol != vt_symbol:
                    continue
                if closing is not None and (group.gateway_name != gateway or not any(
                        leg.close_only and leg.direction == closing for leg in group.legs)):
                    continue
                for leg in group.legs:
                    self._cancel_leg(group, leg, "cancelled by the trader")
                self._settle(group)

    def on_connection(self, gateway: str, up: bool, detail: str = "") -> None:
        """A lost connection while local stops are armed: they cannot fire until it is back.
        Back: the cancels not yet answered are asked again (one sent as the link broke may
        never have left)."""
        if up:
            with self._lock:
                for group in list(self._groups.values()):
                    if group.gateway_name == gateway:
                        for leg in group.legs:
                            self._cancel_children(leg, again=True, only_asked=True)
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
                reconcile(group, self.broker, self._unwatch, self._alert)
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

    def _settle(self, group: Group) -> None:
        """Send, cancel and end what the group's state calls for; then save and publish."""
        if group.kind is GroupKind.BRACKET:
            self._settle_entry(group)
            exits = group.legs[1:]
        else:
            exits = group.legs
        room = group.room()
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
        waiting = entry.kind in _STOPS and not entry.triggered     # a stop entry, not hit
        if entry.state.active and not entry.cancelled and not waiting:
            want = entry.volume - entry.filled
            self._drive(group, entry, want, want, False)
        elif entry.cancelled and not entry.live_children and entry.state.active:
            self._end(group, entry, State.CANCELLED, entry.reason)
        if group.entry_filled:
            self._arm_protection(group)
        if group.cancelling and not entry.state.active:
            group.cancelling = False
            if entry.filled:
                self._alert(WARNING, "managed_order", group.vt_symbol,
                            f"the entry of {group.id} filled {entry.filled:g} lot(s) while "
                            "the bracket was being cancelled: its stop and targets stay to "
                            "protect them")
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
        if leg.triggered and leg.kind is Kind.STOP and tick is not None and not leg.new_price:
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
            self._clear_crossing(group, leg, price)
        for req in reqs:
            leg.tag = req.reference = f"{leg.id}#{len(leg.children) + 1}"
            leg.state = State.SENDING
            try:
                self.book.save(group)        # known to be sending before it leaves
            except Exception as exc:         # noqa: BLE001 - said, and judged below
                if not (leg.triggered and leg.close_only):
                    self._fail(group, leg, f"its state could not be written ({exc}); not "
                                           "sent")
                    return
                # A protective stop goes anyway: unsent it leaves the whole risk; sent, the
                # worst after a crash is a second close, bounded by the free lots.
                self._alert(SEVERE, "managed_order", group.vt_symbol,
                            f"{leg.role} of {group.id} fired but its state could not be "
                            f"written ({exc}); its close is sent anyway. After a restart it "
                            "may be missing: check the position.")
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

    def _clear_crossing(self, group: Group, leg: Leg, price: float) -> None:
        """A triggered stop whose order would trade against the trader's own resting orders
        on the other side cancels them first (the gate denies a self-trade), as the gate's
        own book has them (an order sent a moment ago included). Its order goes at once
        behind the cancels: one session's requests reach the exchange in the order sent,
        and the gate takes an order whose cancel was sent off its book. Another managed
        order cancelled so is ended as such, not taken for a cancel from outside."""
        crossing = [vt_orderid for vt_orderid in self.broker.crossing(
            group.vt_symbol, group.gateway_name, leg.direction, price)
            if vt_orderid not in leg.waiting_for]
        if not crossing:
            return
        leg.waiting_for += crossing
        why = f"cancelled so that {leg.role} of {group.id} could fire"
        for vt_orderid in crossing:
            owner = self._by_order.get(vt_orderid)
            if owner is not None:
                self._cancel_leg(owner[0], owner[1], why)
            else:
                self.broker.cancel(vt_orderid)
        self._alert(WARNING, "stop_self_trade", group.vt_symbol,
                    f"{leg.role} of {group.id} triggered; it would have traded against your "
                    f"own resting order(s) {', '.join(crossing)}: they are cancelled, and the "
                    "stop's order follows them")

    def _cancel_leg(self, group: Group, leg: Leg, why: str, again: bool = False) -> None:
        """End `leg`: at once when it has no order working, else once its cancels are
        confirmed. `again`: ask again for cancels already asked (the trader's Cancel)."""
        if not leg.state.active:
            return
        if leg.live_children:
            leg.reason = why
            self._cancel_children(leg, again=again)
            leg.cancelled = True
        else:
            self._end(group, leg, State.CANCELLED, why)

    def _cancel_children(self, leg: Leg, again: bool = False,
                         only_asked: bool = False) -> None:
        """Cancel the leg's working orders; `again`: those already asked too (a cancel may be
        lost: CTP's flow control, a broken link); `only_asked`: just those."""
        for child in leg.live_children:
            if (not child.cancel_sent and not only_asked) or (again and child.cancel_sent):
                child.cancel_sent = True
                self.broker.cancel(child.vt_orderid)

    def _child_lost(self, group: Group, leg: Leg, why: str) -> None:
        """An order of a leg ended unfilled without the engine asking: rejected, or cancelled
        from outside (the Orders dock, the broker)."""
        protective = (leg.close_only and group.kind is not GroupKind.SINGLE) or \
            leg.kind in _STOPS
        self._fail(group, leg, why, severe=protective)

    def _fail(self, group: Group, leg: Leg, why: str, severe: bool = True) -> None:
        leg.cancelled = True
        if leg.triggered and leg.close_only and leg.live_children:
            # part of a split close went out: it keeps working; the leg ends with it
            leg.reason = why
        else:
            self._cancel_children(leg)
            self._end(group, leg, State.FAILED, why)
        self._alert(SEVERE if severe else WARNING, "managed_order", group.vt_symbol,
                    f"{leg.role} of {group.id} ({side_word(leg.direction)} "
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
            view = view_of(group, leg, self.broker)
            if self._shown.get(leg.id) != view:
                self._shown[leg.id] = view
                self._put(EVENT_MANAGED, view)

    def _alert(self, severity: str, rule: str, symbol: str, text: str) -> None:
        self._put(EVENT_ALERT, Alert(self._clock(), severity, rule, symbol, text))

    def _last(self, vt_symbol: str) -> float | None:
        tick = self.broker.tick(vt_symbol)
        return tick.last_price if tick and tick.last_price else None

