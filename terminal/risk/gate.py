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
  max_working_orders     working orders of all symbols
  max_orders_per_second  orders sent within the last second, all symbols
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

_TICK_EPSILON = 1e-7
_INF = float("inf")
_ACTIVE = TradingState.ACTIVE
_HALTED = TradingState.HALTED
_REDUCE_ONLY = TradingState.REDUCE_ONLY
_MARKET = OrderType.MARKET
_OPEN = Offset.OPEN
_LONG = Direction.LONG

RULES: tuple[str, ...] = (
    "close_exceeds_position", "halted", "reduce_only", "price_tick", "contract_volume",
    "max_order_volume", "reference_price", "price_band", "max_order_notional", "max_funds_share",
    "max_position", "max_working_orders", "max_orders_per_second", "max_cancels_per_day",
    "duplicate_order",
)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: str = ""      # stable rule id (see RULES); empty when allowed
    reason: str = ""    # a sentence with the numbers; empty when allowed

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def message(self) -> str:
        return f"{self.rule}: {self.reason}" if self.rule else "allowed"


ALLOWED = Decision(True)


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
    def record_sent(self, req: OrderRequest) -> None:
        """Call after an order was sent: feeds the order-rate and duplicate rules."""
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

    def record_cancel(self, vt_symbol: str) -> None:
        """Call after a cancel request was sent for an order of `vt_symbol`."""
        self._roll_day(self._clock())
        self._cancels[vt_symbol] = self._cancels.get(vt_symbol, 0) + 1

    def cancels_today(self, vt_symbol: str) -> int:
        self._roll_day(self._clock())
        return self._cancels.get(vt_symbol, 0)

    def orders_last_second(self) -> int:
        cutoff = self._clock() - 1.0
        return sum(1 for t in self._sent if t > cutoff)

    def new_trading_day(self) -> None:
        """Forget the day's cancel counts (also done by itself when `trading_day()` changes)."""
        self._cancels.clear()
        self._day = self._trading_day()
        self._day_checked = self._clock()

    def _roll_day(self, now: float) -> None:
        if now - self._day_checked >= 1.0:
            self._day_checked = now
            day = self._trading_day()
            if day != self._day:
                self._day = day
                self._cancels.clear()

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

        # 5. Account activity (not for the trader's close: it must get out).
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

        cancels_limit = lim.max_cancels_per_day
        if cancels_limit:
            if now - self._day_checked >= 1.0:
                self._roll_day(now)
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
