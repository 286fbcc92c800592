"""The pre-trade risk gate: every order passes `RiskGate.check` before it may be sent.

Pure domain code: no Qt, no threads, no engine. The caller (the single order path) fills an
`OrderContext` from its own state, calls `check`, sends only when the decision allows it, and
then calls `record_sent`; after each cancel it sent it calls `record_cancel`. A denied order
is shown as rejected with `Decision.rule` and `Decision.reason`. Not thread-safe: call it from
the one thread that sends orders.

Rules, in the order they are checked (the first failing one is reported):

  close_exceeds_position the trader's own close (`terminal.core.orders.vouch`) for more than
                         the position free to close: Flatten and Close never open
  halted                 state HALTED: every new order is denied but the trader's own close
                         within the position free to close
  reduce_only            state REDUCE_ONLY: only a close within the position free to close
  price_tick             priced order: price a number above 0 (always) and on the tick
  contract_volume        volume a whole number above 0 (always), within the contract's min/max
  max_order_volume       lots per order
  reference_price        a market order needs a last price (nothing else could value it)
  price_band             priced order within the band around the last price (both sides)
  max_order_notional     price x volume x multiplier per order
  max_funds_share        opening order's margin + commission against the available funds
  max_position           opening order: long + short + working opening lots + the order
  self_trade             the order would trade against the account's own resting limit order
                         in the same contract (`OrderContext.resting`); the trader's close too
  max_working_orders     working orders of all symbols
  max_orders_per_second  orders sent within the last second, all symbols
  max_actions_per_second orders and cancels of this account within the last second
  max_actions_per_day    orders and cancels of this account on this trading day
  max_cancels_per_day    cancels of this symbol on this trading day
  duplicate_order        the same order sent within `duplicate_seconds`

Decisions made here:

* Cancels are never blocked, by the state or by any rule: a cancel only ever reduces risk.
* An order is a close only when its volume is at most the opposite position minus the lots
  already held by working close orders (`long_frozen` / `short_frozen`): a CLOSE,
  CLOSETODAY, CLOSEYESTERDAY or `Offset.NONE` (net-position gateways) order for more than
  that is judged as an opening order, since on a net gateway that is what the excess does.
  Today/yesterday splits are left to the exchange.
* HALTED stops strategies, the ticket, hotkeys and the chart, but not the trader's Flatten and
  Close actions (requests vouched for by `terminal.core.orders.vouch`, not merely ones
  carrying its reference): a halted trader can still get flat.
* REDUCE_ONLY lets an order through only when it closes.
* The position limit is gross (long + short), which also bounds locked positions; closing
  orders always pass it, as they can only shrink the position.
* The funds-share limit applies to opening orders only; a close releases margin.
* Volume and notional limits apply to every order, closes included (fat-finger guards),
  except the trader's own close: Flatten must get flat after a loss, when these limits, the
  order rate, the working-order and cancel counts and the duplicate window would otherwise
  stop it (its price is still checked: tick and band).
* A priced order (anything but MARKET) is checked against the band only when there is a last
  price; with no quote yet it passes the band (the exchange's daily price limits still bound
  it). A market order is valued at the last price and is denied when there is none.
* Order-rate, working-order and cancel counts are account-wide (cancels per symbol, as the
  exchanges count them); the limit compared with is the one in effect for the order's symbol.
* Cancel counts reset when the trading day changes: `trading_day()` is asked at most once a
  second (by the monotonic clock), or call `new_trading_day()`.

Exchange conduct (the sources are in the README, "Exchange conduct rules"):

* A self-trade is a reportable breach whoever sends it, so `self_trade` is checked before the
  trader's close is let through: a buy at or above the lowest own resting sell limit (a sell
  at or below the highest own buy), or a market order against any own order on the other
  side, is denied naming the resting order; `Decision.orders` holds the ids of every own order
  it would trade against, best first, so a caller (the managed orders) can cancel them and
  try again. A STOP order is not checked: held at the exchange it is not on the book, and
  when it triggers the order it becomes meets the gate (or the exchange) then.
* Orders and cancels are counted together per account (`OrderContext.account`, the gateway)
  over the last second and over the trading day, as the program-trading rules count them.
  Their limits and the warning share are account-wide (global only). Cancels are never
  blocked, only counted; the trader's close is counted but not stopped, as for the order rate.
* Before a limit: `record_sent` and `record_cancel` return a `ConductWarning` when a count
  reaches `conduct_warning_share` of its limit (orders + cancels per second and per day, a
  symbol's cancels per day), once per crossing: the day counts warn again the next trading
  day, the per-second count once it has fallen back under half the warning level.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.object import ContractData, OrderRequest

from terminal.core.orders import is_trader_close
from terminal.core.trading_day import current_trading_day
from terminal.risk.limits import RiskConfig, RiskLimits, TradingState
from terminal.risk.resting import RestingOrders

_TICK_EPSILON = 1e-7
_INF = float("inf")
_ACTIVE = TradingState.ACTIVE
_HALTED = TradingState.HALTED
_REDUCE_ONLY = TradingState.REDUCE_ONLY
_MARKET = OrderType.MARKET
_OPEN = Offset.OPEN
_LONG = Direction.LONG
# Orders that do not trade when they arrive: a stop held at the exchange, a request for quote.
_OFF_BOOK = frozenset({OrderType.STOP, OrderType.RFQ})

RULES: tuple[str, ...] = (
    "close_exceeds_position", "halted", "reduce_only", "price_tick", "contract_volume",
    "max_order_volume", "reference_price", "price_band", "max_order_notional", "max_funds_share",
    "max_position", "self_trade", "max_working_orders", "max_orders_per_second",
    "max_actions_per_second", "max_actions_per_day", "max_cancels_per_day", "duplicate_order",
)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: str = ""      # stable rule id (see RULES); empty when allowed
    reason: str = ""    # a sentence with the numbers; empty when allowed
    orders: tuple[str, ...] = ()   # self_trade: the own resting orders (vt_orderid) it crosses

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def message(self) -> str:
        return f"{self.rule}: {self.reason}" if self.rule else "allowed"


ALLOWED = Decision(True)


@dataclass(frozen=True, slots=True)
class ConductWarning:
    """A conduct count reached its warning share: for an alert (the guard publishes it)."""

    rule: str           # actions_per_second_warning, actions_per_day_warning,
                        # cancels_per_day_warning
    vt_symbol: str      # "" for the account-wide counts
    message: str


@dataclass(slots=True)
class OrderContext:
    """What the gate needs to know besides the request; the caller fills it per order."""

    contract: ContractData                 # size, pricetick, min_volume, max_volume
    last_price: float | None = None        # None (or 0) when no quote has arrived
    available: float = 0.0                 # available funds, CNY
    margin_rate: float = 0.0               # margin as a share of notional
    commission_rate: float = 0.0           # commission as a share of turnover
    commission_per_lot: float = 0.0        # commission per lot, CNY
    long_volume: float = 0.0               # this symbol's long position, lots
    short_volume: float = 0.0              # this symbol's short position, lots
    long_frozen: float = 0.0               # long lots already held by working close orders
    short_frozen: float = 0.0              # short lots already held by working close orders
    pending_open: float = 0.0              # lots of this symbol's working opening orders
    working_orders: int = 0                # working orders, all symbols
    account: str = ""                      # whose orders and cancels are counted (gateway)
    resting: RestingOrders | None = None   # the account's resting limit orders in this symbol

    def free_to_close(self, direction: Direction) -> float:
        """Lots an order in `direction` may close: the opposite position less what working
        closes already hold."""
        if direction is _LONG:
            return self.short_volume - self.short_frozen
        return self.long_volume - self.long_frozen


def _num(value: float) -> str:
    return f"{value:.10g}"


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _pct(value: float) -> str:
    return f"{value * 100:.4g}%"


def _who(account: str) -> str:
    return f"account {account}" if account else "the account"


def _deny(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


class RiskGate:
    def __init__(
        self,
        config: RiskConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        trading_day: Callable[[], Hashable] = current_trading_day,
    ) -> None:
        self._clock = clock
        self._trading_day = trading_day
        self._sent: deque[float] = deque()          # times of orders sent in the last second
        self._recent: dict[tuple, float] = {}       # duplicate key -> time last sent
        self._cancels: dict[str, int] = {}          # vt_symbol -> cancels this trading day
        self._actions: dict[str, deque[float]] = {}   # account -> orders + cancels, last 1 s
        self._actions_today: dict[str, int] = {}      # account -> orders + cancels today
        self._warned: set[tuple[str, str]] = set()    # (count, account or vt_symbol) warned
        self._day = trading_day()
        self._day_checked = clock()
        self._pruned = self._day_checked
        self.set_config(config or RiskConfig())

    # ---- configuration -------------------------------------------------------------------
    @property
    def config(self) -> RiskConfig:
        return self._config

    @property
    def state(self) -> TradingState:
        return self._config.state

    def set_config(self, config: RiskConfig) -> None:
        self._config = config
        self._limits: dict[str, RiskLimits] = {}
        windows = [config.global_limits.duplicate_seconds]
        windows += [o["duplicate_seconds"] for o in config.symbols.values()
                    if "duplicate_seconds" in o]
        self._longest_window = max(w or 0.0 for w in windows)

    def set_state(self, state: TradingState) -> None:
        self._config = replace(self._config, state=state)

    def limits_for(self, vt_symbol: str) -> RiskLimits:
        limits = self._limits.get(vt_symbol)
        if limits is None:
            limits = self._limits[vt_symbol] = self._config.limits_for(vt_symbol)
        return limits

    # ---- counters --------------------------------------------------------------------------
    def record_sent(self, req: OrderRequest, account: str = "") -> tuple[ConductWarning, ...]:
        """Call after an order was sent (by `account`, its gateway): feeds the order-rate,
        conduct and duplicate rules. Returns the conduct warnings this order set off."""
        now = self._clock()
        sent = self._sent
        sent.append(now)
        cutoff = now - 1.0
        while sent[0] <= cutoff:
            sent.popleft()
        self._recent[(req.vt_symbol, req.direction, req.offset, req.type, req.price,
                      req.volume)] = now
        if now - self._pruned >= max(self._longest_window, 1.0):
            self._pruned = now
            keep = now - self._longest_window
            self._recent = {k: t for k, t in self._recent.items() if t > keep}
        return self._record_action(account, now)

    def record_cancel(self, vt_symbol: str, account: str = "") -> tuple[ConductWarning, ...]:
        """Call after a cancel request was sent for an order of `vt_symbol` (by `account`).
        Returns the conduct warnings this cancel set off."""
        now = self._clock()
        self._roll_day(now)
        cancels = self._cancels[vt_symbol] = self._cancels.get(vt_symbol, 0) + 1
        warnings = self._record_action(account, now)
        share = self._config.global_limits.conduct_warning_share
        limit = self.limits_for(vt_symbol).max_cancels_per_day
        key = ("cancels", vt_symbol)
        if share and limit and cancels >= share * limit and key not in self._warned:
            self._warned.add(key)
            warnings += (ConductWarning(
                "cancels_per_day_warning", vt_symbol,
                f"{cancels} cancels in {vt_symbol} today, {_pct(cancels / limit)} of the limit "
                f"of {limit} per day: at {limit} new orders in it are denied until the next "
                f"trading day (the exchanges treat 400 to 500 cancels in one contract in one "
                f"day as abnormal trading)"),)
        return warnings

    def _record_action(self, account: str, now: float) -> tuple[ConductWarning, ...]:
        """Count one order or cancel of `account`; the warnings it sets off."""
        times = self._actions.get(account)
        if times is None:
            times = self._actions[account] = deque()
        cutoff = now - 1.0
        while times and times[0] <= cutoff:
            times.popleft()
        before = len(times)
        times.append(now)
        if now - self._day_checked >= 1.0:
            self._roll_day(now)
        today = self._actions_today[account] = self._actions_today.get(account, 0) + 1
        lim = self._config.global_limits
        share = lim.conduct_warning_share
        if not share:
            return ()
        warned = self._warned
        warnings: tuple[ConductWarning, ...] = ()
        per_second = lim.max_actions_per_second
        if per_second:
            level = share * per_second
            if before < level / 2:
                warned.discard(("second", account))    # the burst is over: the next warns
            if before + 1 >= level and ("second", account) not in warned:
                warned.add(("second", account))
                warnings += (ConductWarning(
                    "actions_per_second_warning", "",
                    f"{_who(account)}: {before + 1} orders and cancels within one second, "
                    f"{_pct((before + 1) / per_second)} of the limit of {per_second}: at "
                    f"{per_second} new orders are denied (the futures exchanges ask an account "
                    f"with 10 or more in a second, 10 times a day, to report as a program "
                    f"trader)"),)
        per_day = lim.max_actions_per_day
        if per_day and today >= share * per_day and ("day", account) not in warned:
            warned.add(("day", account))
            warnings += (ConductWarning(
                "actions_per_day_warning", "",
                f"{_who(account)}: {today} orders and cancels today, "
                f"{_pct(today / per_day)} of the limit of {per_day} per trading day: at "
                f"{per_day} new orders are denied until the next trading day"),)
        return warnings

    def cancels_today(self, vt_symbol: str) -> int:
        self._roll_day(self._clock())
        return self._cancels.get(vt_symbol, 0)

    def orders_last_second(self) -> int:
        cutoff = self._clock() - 1.0
        return sum(1 for t in self._sent if t > cutoff)

    def actions_last_second(self, account: str = "") -> int:
        """Orders and cancels of `account` within the last second."""
        cutoff = self._clock() - 1.0
        return sum(1 for t in self._actions.get(account, ()) if t > cutoff)

    def actions_today(self, account: str = "") -> int:
        """Orders and cancels of `account` on this trading day."""
        self._roll_day(self._clock())
        return self._actions_today.get(account, 0)

    def new_trading_day(self) -> None:
        """Forget the day's counts (also done by itself when `trading_day()` changes)."""
        self._forget_day()
        self._day = self._trading_day()
        self._day_checked = self._clock()

    def _forget_day(self) -> None:
        self._cancels.clear()
        self._actions_today.clear()
        self._warned = {key for key in self._warned if key[0] == "second"}

    def _roll_day(self, now: float) -> None:
        if now - self._day_checked >= 1.0:
            self._day_checked = now
            day = self._trading_day()
            if day != self._day:
                self._day = day
                self._forget_day()

    # ---- the check -------------------------------------------------------------------------
    def check(self, req: OrderRequest, ctx: OrderContext) -> Decision:
        """Allowed, or the first rule the order breaks with a reason that has the numbers."""
        vt_symbol = req.vt_symbol
        lim = self._limits.get(vt_symbol)
        if lim is None:
            lim = self.limits_for(vt_symbol)
        volume = req.volume
        price = req.price
        contract = ctx.contract
        priced = req.type is not _MARKET
        offset = req.offset

        # Is it a close, and how many lots are free to close on the side it closes?
        free = ctx.free_to_close(req.direction)
        closed_side = "short" if req.direction is _LONG else "long"
        closing = offset is not _OPEN and volume <= free
        trader_close = is_trader_close(req)
        if trader_close and not closing:       # Flatten and Close never open, in any state
            return _deny("close_exceeds_position",
                         f"the trader's close of {_num(volume)} lots exceeds the "
                         f"{_num(max(free, 0.0))} {closed_side} lots free to close in "
                         f"{vt_symbol}")

        # 1. Trading state.
        state = self._config.state
        if state is not _ACTIVE and not closing and offset is not _OPEN:
            rule = "halted" if state is _HALTED else "reduce_only"
            words = "trading is halted" if state is _HALTED else "reduce-only"
            return _deny(rule, f"{words}: closing {_num(volume)} lots exceeds the "
                               f"{_num(max(free, 0.0))} {closed_side} lots free to close in "
                               f"{vt_symbol}")
        if state is _HALTED and not trader_close:
            return _deny("halted", "trading is halted: no new orders until the state is set "
                                   "back to active or reduce-only (Flatten and Close still "
                                   "work, cancels always)")
        if state is _REDUCE_ONLY and not closing:
            return _deny("reduce_only", f"reduce-only: opening orders are blocked; only closes "
                                        f"of an existing position in {vt_symbol} pass")

        # 2. Contract limits. A price above 0 and a whole volume above 0 are always required;
        # `contract_limits` switches off the tick and the contract's min/max volume.
        if priced:
            if not 0 < price < _INF:
                return _deny("price_tick", f"price {_num(price)} must be a number above 0")
            tick = contract.pricetick
            if lim.contract_limits and tick > 0:
                steps = price / tick
                if abs(steps - round(steps)) >= _TICK_EPSILON * max(1.0, steps):
                    return _deny("price_tick", f"price {_num(price)} is not a multiple of the "
                                               f"tick {_num(tick)}")
        if not volume > 0 or volume % 1:
            return _deny("contract_volume", f"volume {_num(volume)} is not a whole number of "
                                            f"lots above 0")
        if lim.contract_limits:
            if volume < contract.min_volume:
                return _deny("contract_volume", f"volume {_num(volume)} is below the contract "
                                                f"minimum of {_num(contract.min_volume)}")
            if contract.max_volume and volume > contract.max_volume:
                return _deny("contract_volume", f"volume {_num(volume)} exceeds the exchange "
                                                f"maximum of {_num(contract.max_volume)} lots "
                                                f"per order")

        # 3. Size of the order.
        if lim.max_order_volume and volume > lim.max_order_volume and not trader_close:
            return _deny("max_order_volume", f"volume {_num(volume)} exceeds the maximum of "
                                             f"{lim.max_order_volume} lots per order")

        last = ctx.last_price
        if priced:
            value_price = price
            band = lim.price_band
            if band and last is not None and last > 0:
                off = (price - last) / last
                if off > band or -off > band:
                    side = "above" if off > 0 else "below"
                    return _deny("price_band", f"price {_num(price)} is {_pct(abs(off))} {side} "
                                               f"the last price {_num(last)}; the band is "
                                               f"{_pct(band)} either side")
        else:
            if last is None or not last > 0:
                return _deny("reference_price", f"a market order needs a last price to be "
                                                f"valued; no quote for {vt_symbol} has arrived")
            value_price = last

        notional = value_price * volume * contract.size
        if lim.max_order_notional and notional > lim.max_order_notional and not trader_close:
            return _deny("max_order_notional", f"order value {_money(notional)} CNY exceeds the "
                                               f"maximum of {_money(lim.max_order_notional)} "
                                               f"CNY per order")

        # 4. Funds and position (opening orders only).
        if not closing:
            share = lim.max_funds_share
            if share:
                cost = (notional * (ctx.margin_rate + ctx.commission_rate)
                        + volume * ctx.commission_per_lot)
                allowed = ctx.available * share
                if cost > allowed:
                    return _deny("max_funds_share", f"margin and commission of {_money(cost)} "
                                                    f"CNY exceed {_pct(share)} of the available "
                                                    f"funds {_money(ctx.available)} CNY "
                                                    f"({_money(max(allowed, 0.0))} CNY)")
            if lim.max_position:
                held = ctx.long_volume + ctx.short_volume + ctx.pending_open
                if held + volume > lim.max_position:
                    return _deny("max_position", f"position of {_num(held)} lots (long, short "
                                                 f"and working opens) plus {_num(volume)} would "
                                                 f"reach {_num(held + volume)} lots in "
                                                 f"{vt_symbol}; the limit is "
                                                 f"{lim.max_position} lots")

        # 5. Exchange conduct: a self-trade, whoever sends it.
        resting = ctx.resting
        if resting is not None and lim.self_trade and req.type not in _OFF_BOOK \
                and resting.crosses(req.direction, price if priced else None):
            crossed = resting.crossing(req.direction, price if priced else None)
            first = crossed[0]
            more = f" and {len(crossed) - 1} more" if len(crossed) > 1 else ""
            side = "buy" if req.direction is _LONG else "sell"
            what = f"a market {side}" if not priced else f"a {side} at {_num(price)}"
            return Decision(False, "self_trade",
                            f"{what} would trade against the account's own resting "
                            f"{first.describe()}{more} in {vt_symbol}; the exchanges treat "
                            f"self-trades as abnormal trading: cancel the resting order first",
                            tuple(order.vt_orderid for order in crossed))

        # 6. Account activity (not for the trader's close: it must get out).
        if trader_close:
            return ALLOWED
        if lim.max_working_orders and ctx.working_orders >= lim.max_working_orders:
            return _deny("max_working_orders", f"{ctx.working_orders} orders are working; the "
                                               f"maximum is {lim.max_working_orders}")

        now = self._clock()
        rate = lim.max_orders_per_second
        if rate:
            sent = self._sent
            cutoff = now - 1.0
            while sent and sent[0] <= cutoff:
                sent.popleft()
            if len(sent) >= rate:
                return _deny("max_orders_per_second", f"{len(sent)} orders were sent in the "
                                                      f"last second; the limit is {rate} per "
                                                      f"second")

        if now - self._day_checked >= 1.0:
            self._roll_day(now)
        account_limits = self._config.global_limits     # account-wide: global only
        per_second = account_limits.max_actions_per_second
        if per_second:
            times = self._actions.get(ctx.account)
            if times:
                cutoff = now - 1.0
                while times and times[0] <= cutoff:
                    times.popleft()
                if len(times) >= per_second:
                    return _deny("max_actions_per_second",
                                 f"{len(times)} orders and cancels in the last second reach "
                                 f"the limit of {per_second} per second for the account "
                                 f"(the exchanges count bursts of orders and cancels per "
                                 f"account); cancels still pass")
        per_day = account_limits.max_actions_per_day
        if per_day:
            done = self._actions_today.get(ctx.account, 0)
            if done >= per_day:
                return _deny("max_actions_per_day",
                             f"{done} orders and cancels today reach the limit of {per_day} "
                             f"per trading day for the account; no new orders until the next "
                             f"trading day (cancels still pass)")

        cancels_limit = lim.max_cancels_per_day
        if cancels_limit:
            cancels = self._cancels.get(vt_symbol, 0)
            if cancels >= cancels_limit:
                return _deny("max_cancels_per_day", f"{cancels} cancels in {vt_symbol} today "
                                                    f"reach the limit of {cancels_limit} per "
                                                    f"day; no new orders in it until the next "
                                                    f"trading day")

        window = lim.duplicate_seconds
        if window:
            sent_at = self._recent.get((vt_symbol, req.direction, offset, req.type, price,
                                        volume))
            if sent_at is not None and now - sent_at < window:
                return _deny("duplicate_order", f"the same order ({req.direction.value} "
                                                f"{offset.value or 'net'} {_num(volume)} "
                                                f"{vt_symbol} {req.type.value} at {_num(price)}) "
                                                f"was sent {now - sent_at:.2f} s ago; repeats "
                                                f"within {_num(window)} s are blocked")
        return ALLOWED
