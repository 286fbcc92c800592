"""What a managed order is: legs grouped as a lone stop, an OCO group or a bracket, their
states, and the read-only view the windows show.

A *leg* is one managed order (an entry, a stop, a target). It may have several *children*:
the ordinary orders it has sent to the gateway (a close split into today's and yesterday's
lots on SHFE, a target grown as its entry fills, a replacement after a modify). A *group*
ties legs together and owns the rule that keeps exits within the position.

Pure data: the engine that moves these states is `terminal.orders.engine` (its API
`terminal.orders.manager`); the durable copy is `terminal.orders.book`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from vnpy.trader.constant import Direction

EVENT_MANAGED = "eManaged"     # data: a ManagedView; the bridge keeps the latest per id


class Kind(Enum):
    STOP = "stop"               # local; at the trigger a marketable limit goes out
    STOP_LIMIT = "stop limit"   # local; at the trigger a limit at `limit_price` goes out
    LIMIT = "limit"             # at the exchange from the start
    MARKET = "market"           # at the exchange, as a marketable limit


class State(Enum):
    WAITING = "waiting"         # a protective leg before its entry has filled anything
    ARMED = "armed"             # a local stop watching the last price
    SENDING = "sending"         # its order is being sent (journalled before the send)
    WORKING = "working"         # its order(s) are at the exchange
    REPLACING = "replacing"     # cancel sent for a modify; the replacement waits for it
    FILLED = "filled"
    CANCELLED = "cancelled"
    FAILED = "failed"           # its order was denied or rejected; said in an alert
    IN_DOUBT = "in doubt"       # after a hard kill: sent or not is unknown; never re-sent

    @property
    def active(self) -> bool:
        return self not in _ENDED


_ENDED = frozenset({State.FILLED, State.CANCELLED, State.FAILED, State.IN_DOUBT})
LOCAL_STATES = frozenset({State.WAITING, State.ARMED})
STOPS = (Kind.STOP, Kind.STOP_LIMIT)       # the kinds that live in the terminal until hit


class GroupKind(Enum):
    SINGLE = "single"           # one stop, stop-limit or limit order
    OCO = "oco"                 # one cancels (and reduces) the others
    BRACKET = "bracket"         # entry, stop loss, 1-3 targets


@dataclass
class Child:
    """One order a leg sent: `traded` is the larger of what its order events and its trades
    said (the two arrive in either order; a fill is never counted before it is known, nor
    forgotten once it is)."""

    vt_orderid: str
    volume: float
    price: float
    traded: float = 0.0
    by_trades: float = 0.0
    active: bool = True
    cancel_sent: bool = False

    @property
    def filled(self) -> float:
        return max(self.traded, self.by_trades)

    @property
    def remaining(self) -> float:
        return max(self.volume - self.filled, 0.0) if self.active else 0.0


@dataclass
class Leg:
    id: str
    role: str                      # "entry", "stop", "target 1".."3", "stop order", "limit",
                                   # "oco 1".."4"
    direction: Direction
    kind: Kind
    volume: float                  # lots this leg is for (a target: its planned share)
    price: float = 0.0             # trigger (stops) or limit price; 0.0 at the market
    limit_price: float = 0.0       # a stop-limit's limit
    close_only: bool = False       # never more than the position it protects
    state: State = State.ARMED
    children: list[Child] = field(default_factory=list)
    new_price: float = 0.0         # a modify's price, sent once the cancels are confirmed
    trail_distance: float = 0.0    # price distance a trailing stop keeps (0: not trailing)
    trail_text: str = ""           # how it trails, for the trader ("10 ticks", "2 x ATR 14")
    breakeven_after: float = 0.0   # price profit after which the stop goes to breakeven
    breakeven_offset: float = 0.0  # price beyond the entry it goes to
    breakeven_done: bool = False
    tag: str = ""                  # the reference of the order being sent (finds it after a kill)
    reason: str = ""
    moved: bool = False            # the trader moved it: no longer placed from the entry fill
    placed: bool = False           # a bracket's exit, priced from the entry's first fill
    triggered: bool = False        # a stop whose trigger was crossed: it sends its exit
    cancelled: bool = False        # asked to end; it ends once its orders are confirmed gone
    offset: str = ""               # an adopted order's offset (Offset name); "" otherwise
    send_price: float = 0.0        # the price its next order goes at
    waiting_for: list[str] = field(default_factory=list)   # own orders it had cancelled first

    @property
    def filled(self) -> float:
        return sum(child.filled for child in self.children)

    @property
    def working(self) -> float:
        """Lots its orders still hold at the exchange."""
        return sum(child.remaining for child in self.children)

    @property
    def live_children(self) -> list[Child]:
        return [child for child in self.children if child.active]

    @property
    def local(self) -> bool:
        return self.kind in (Kind.STOP, Kind.STOP_LIMIT) and self.state in LOCAL_STATES


@dataclass
class Group:
    id: str
    kind: GroupKind
    vt_symbol: str
    gateway_name: str
    volume: float                  # lots of the whole: an OCO's shared volume, a bracket's entry
    legs: list[Leg]
    template: str = ""
    source: str = ""               # who placed it: "chart", "ladder", "ticket", ...
    created: str = ""              # ISO time
    entry_price: float = 0.0       # a bracket's average entry fill
    entry_filled: float = 0.0      # lots of it the entry's trades priced
    targets_planned: tuple[tuple[float, float], ...] = ()   # (price distance, lots) per target
    stop_distance: float = 0.0     # a bracket's stop from the entry fill
    cancelling: bool = False       # a bracket cancelled while its entry worked: its exits
                                   # wait to see whether the entry filled meanwhile

    @property
    def active(self) -> bool:
        return any(leg.state.active for leg in self.legs)

    def room(self) -> float:
        """What the group's exits may still close (or an OCO's legs still fill)."""
        if self.kind is GroupKind.BRACKET:
            entry = self.legs[0]
            return max(entry.filled - sum(leg.filled for leg in self.legs[1:]), 0.0)
        return max(self.volume - sum(leg.filled for leg in self.legs), 0.0)

    def leg(self, role: str) -> Leg | None:
        for leg in self.legs:
            if leg.role == role:
                return leg
        return None


@dataclass(frozen=True)
class ManagedView:
    """One leg as the windows show it (immutable: it crosses to the GUI thread)."""

    id: str
    group: str
    role: str
    vt_symbol: str
    direction: Direction
    volume: float          # lots still open
    filled: float
    price: float           # trigger or limit price; 0.0 at the market
    kind: str
    where: str             # "local" or "at the exchange"
    state: str
    vt_orderid: str        # its order at the gateway now ("" when none)
    active: bool
    text: str
    reason: str
    template: str


LOCAL, AT_EXCHANGE = "local", "at the exchange"
