"""Order matching, positions and the account of the simulated exchange.

Single-threaded by design: the gateway's own thread calls every method, so no locks are
needed here and the logic can be tested directly, with no threads and no clock.

Rules, modelled on a China futures broker over CTP:
- Limit orders fill against the current book at the book's prices (price improvement for the
  order), partially if the book is thin; the rest works until it becomes marketable or the
  market trades through its price. Market orders sweep the five levels and cancel the rest, as
  CTP's market orders do; FAK likewise within its price; FOK fills completely or not at all.
  Stop orders wait until the last traded price reaches the stop (not the bid or ask: a quote
  that only touches it does not trigger), then execute as a market order against the book: a
  market that gaps through the stop fills at the book's prices, never at the stop's.
- Orders carry the time they were accepted (as CTP's InsertTime); trades the time they filled;
  both on the exchange's clock (the replay's virtual one for a replayed contract), never the
  machine's. A cancel is confirmed by the order coming back CANCELLED; a cancel of an order
  that is no longer working changes nothing (the gateway logs it, as CTP answers it with an
  error).
- Positions are long and short legs with today and yesterday volumes. On SHFE and INE, CLOSE
  closes yesterday's volume only and CLOSETODAY today's; elsewhere CLOSE takes yesterday's
  first, then today's.
- Balance = starting balance + closed P&L + floating P&L - commission; available = balance -
  position margin - margin and commission frozen by working orders. Margin is marked to the
  last price.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Product, Status
from vnpy.trader.object import (
    AccountData,
    ContractData,
    OrderData,
    OrderRequest,
    PositionData,
    TickData,
    TradeData,
)

from terminal.market.contracts import ContractSpec
from terminal.market.prices import decimals_for, is_on_tick

LEVELS = 5
ACCOUNT_ID = "SIM"
CLOSE_OFFSETS = (Offset.CLOSE, Offset.CLOSETODAY, Offset.CLOSEYESTERDAY)
CLOSE_YESTERDAY_FIRST = (Exchange.SHFE, Exchange.INE)
# Held positions and the account are sent marked to the market at most this often.
MARK_INTERVAL = timedelta(milliseconds=250)
ENDED_KEPT = 10_000


class Rejected(Exception):
    """An order the exchange refuses; the message is the reason shown to the trader."""


@dataclass
class Leg:
    """One side (long or short) of the position in one contract."""

    direction: Direction
    today: float = 0.0
    yesterday: float = 0.0
    frozen_today: float = 0.0
    frozen_yesterday: float = 0.0
    cost: float = 0.0          # sum of price * volume over the volume held

    @property
    def volume(self) -> float:
        return self.today + self.yesterday

    @property
    def average_price(self) -> float:
        return self.cost / self.volume if self.volume else 0.0


@dataclass
class WorkingOrder:
    order: OrderData
    spec: ContractSpec
    reference_price: float     # price the frozen margin is computed at
    frozen_margin: float = 0.0
    frozen_commission: float = 0.0
    # Close orders: how much of today's / yesterday's volume they hold back.
    frozen_today: float = 0.0
    frozen_yesterday: float = 0.0
    triggered: bool = False

    @property
    def remaining(self) -> float:
        return self.order.volume - self.order.traded


@dataclass
class ExchangeSink:
    """Where the exchange reports; each call gets an object nobody else will change."""

    on_order: Callable[[OrderData], None]
    on_trade: Callable[[TradeData], None]
    on_position: Callable[[PositionData], None]
    on_account: Callable[[AccountData], None]


@dataclass
class Account:
    pre_balance: float
    close_pnl: float = 0.0
    commission: float = 0.0


class SimExchange:
    def __init__(
        self,
        specs: tuple[ContractSpec, ...] | list[ContractSpec],
        capital: float,
        gateway_name: str,
        sink: ExchangeSink,
    ) -> None:
        self.specs = {spec.vt_symbol: spec for spec in specs}
        self.gateway_name = gateway_name
        self.sink = sink
        self.account = Account(pre_balance=capital)
        self.books: dict[str, TickData] = {}
        self.working: dict[str, WorkingOrder] = {}
        self.legs: dict[tuple[str, Direction], Leg] = {}
        self._liquidity: dict[str, dict[tuple[Direction, int], float]] = {}
        self._marked_at: dict[str, datetime] = {}     # vt_symbol -> last mark-to-market sent
        self._trade_count = 0
        # vt_orderid -> final status of the latest orders that ended, to say why a cancel
        # finds nothing to cancel.
        self.ended: dict[str, Status] = {}

    # ------------------------------------------------------------------ contracts
    def contract_data(self, spec: ContractSpec) -> ContractData:
        return ContractData(
            gateway_name=self.gateway_name,
            symbol=spec.symbol,
            exchange=spec.exchange,
            name=spec.name,
            product=Product.FUTURES,
            size=spec.size,
            pricetick=spec.pricetick,
            min_volume=1,
            max_volume=spec.max_volume,
            stop_supported=True,
            net_position=False,
            history_data=False,
        )

    # ------------------------------------------------------------------ orders
    def submit(self, req: OrderRequest, orderid: str, now: datetime) -> OrderData:
        """Accept or reject a new order, and match what can be matched at once."""
        order = req.create_order_data(orderid, self.gateway_name)
        order.datetime = now
        try:
            working = self._admit(req, order)
        except Rejected as exc:
            order.status = Status.REJECTED
            order.extra = {"reason": str(exc)}
            self._ended(order)
            self.sink.on_order(copy.copy(order))
            return order
        order.status = Status.NOTTRADED
        self.working[order.vt_orderid] = working
        self._freeze(working)
        self.sink.on_order(copy.copy(order))
        if req.type != OrderType.STOP:
            self._execute(working, now)
        else:
            book = self.books.get(req.vt_symbol)
            if book is not None:
                self._check_stop(working, book, now)
        self._publish_account()
        return order

    def cancel(self, vt_orderid: str, now: datetime) -> bool:
        working = self.working.get(vt_orderid)
        if working is None:
            return False
        self._finish(working, Status.CANCELLED)
        self._publish_account()
        return True

    def _admit(self, req: OrderRequest, order: OrderData) -> WorkingOrder:
        spec = self.specs.get(req.vt_symbol)
        if spec is None:
            raise Rejected(f"unknown contract {req.vt_symbol}")
        if req.type not in (OrderType.LIMIT, OrderType.MARKET, OrderType.FAK, OrderType.FOK,
                            OrderType.STOP):
            raise Rejected(f"order type {req.type.name} is not supported")
        if req.direction not in (Direction.LONG, Direction.SHORT):
            raise Rejected(f"direction must be long or short, not {req.direction}")
        volume = req.volume
        if not isinstance(volume, (int, float)) or volume <= 0 or volume != int(volume):
            raise Rejected(f"volume {volume} must be a positive whole number of lots")
        if volume > spec.max_volume:
            raise Rejected(f"volume {volume:g} exceeds the exchange maximum of {spec.max_volume}")
        book = self.books.get(req.vt_symbol)
        if req.type != OrderType.MARKET:
            if req.price <= 0:
                raise Rejected(f"price {req.price} must be above 0")
            if not is_on_tick(req.price, spec.pricetick):
                raise Rejected(
                    f"price {req.price} is not on the tick grid of "
                    f"{spec.pricetick:.{decimals_for(spec.pricetick)}f}"
                )
            if book is not None and not book.limit_down <= req.price <= book.limit_up:
                raise Rejected(
                    f"price {req.price} is outside the daily limits "
                    f"{book.limit_down}..{book.limit_up}"
                )
        elif book is None:
            raise Rejected(f"no market in {req.vt_symbol} yet for a market order")

        working = WorkingOrder(order, spec, reference_price=self._reference_price(req, book))
        if req.offset == Offset.OPEN:
            self._freeze_funds(working)
            need = working.frozen_margin + working.frozen_commission
            available = self.available()
            if need > available + 1e-6:
                raise Rejected(
                    f"not enough available funds: the order needs {need:,.2f}, "
                    f"available is {available:,.2f}"
                )
        elif req.offset in CLOSE_OFFSETS:
            self._reserve_close(working, req)
        else:
            raise Rejected("offset must be open or close")
        return working

    def _reference_price(self, req: OrderRequest, book: TickData | None) -> float:
        if req.type != OrderType.MARKET:
            return req.price
        if book is None:
            return 0.0
        return book.limit_up if req.direction == Direction.LONG else book.limit_down

    def _reserve_close(self, working: WorkingOrder, req: OrderRequest) -> None:
        held = Direction.SHORT if req.direction == Direction.LONG else Direction.LONG
        leg = self.legs.get((req.vt_symbol, held))
        free_today = leg.today - leg.frozen_today if leg else 0.0
        free_yesterday = leg.yesterday - leg.frozen_yesterday if leg else 0.0
        volume = req.volume
        if req.offset == Offset.CLOSETODAY:
            take_today, take_yesterday = volume, 0.0
        elif req.offset == Offset.CLOSEYESTERDAY or (
            req.offset == Offset.CLOSE and req.exchange in CLOSE_YESTERDAY_FIRST
        ):
            take_today, take_yesterday = 0.0, volume
        else:
            take_yesterday = min(volume, free_yesterday)
            take_today = volume - take_yesterday
        if take_today > free_today + 1e-9 or take_yesterday > free_yesterday + 1e-9:
            side = "short" if held == Direction.SHORT else "long"
            raise Rejected(
                f"not enough {side} position to close with {req.offset.name}: {volume:g} wanted, "
                f"{free_today:g} today and {free_yesterday:g} yesterday closable"
            )
        working.frozen_today = take_today
        working.frozen_yesterday = take_yesterday

    def _freeze(self, working: WorkingOrder, sign: float = 1.0) -> None:
        if working.frozen_today or working.frozen_yesterday:
            held = Direction.SHORT if working.order.direction == Direction.LONG else Direction.LONG
            leg = self.legs[(working.order.vt_symbol, held)]
            leg.frozen_today += sign * working.frozen_today
            leg.frozen_yesterday += sign * working.frozen_yesterday
            self._publish_leg(working.order.vt_symbol, leg)

    # ------------------------------------------------------------------ market data
    def on_book(self, tick: TickData, now: datetime) -> None:
        """A new snapshot: fresh liquidity, stops checked, working orders matched, P&L marked.

        The account is sent when an order filled or ended here (or when marking is due), not
        for every snapshot of a symbol with resting orders: their frozen funds do not move
        with the market, and at 500 resting orders a second that was an account message per
        quote for the journal, the monitors and the GUI."""
        self.books[tick.vt_symbol] = tick
        self._liquidity.pop(tick.vt_symbol, None)
        trades, resting = self._trade_count, len(self.working)
        for working in list(self.working.values()):
            if working.order.vt_symbol != tick.vt_symbol:
                continue
            if working.order.type == OrderType.STOP:
                self._check_stop(working, tick, now)
            else:
                self._execute(working, now, last=tick)
        has_position = any(
            leg.volume for (vt_symbol, _), leg in self.legs.items() if vt_symbol == tick.vt_symbol
        )
        if has_position and self._mark_due(tick.vt_symbol, now):
            for (vt_symbol, _), leg in self.legs.items():
                if vt_symbol == tick.vt_symbol:
                    self._publish_leg(vt_symbol, leg)
            self._publish_account()
        elif self._trade_count != trades or len(self.working) != resting:
            self._publish_account()

    def _mark_due(self, vt_symbol: str, now: datetime) -> bool:
        """Whether a held symbol's positions and the account are due to be sent marked to
        this snapshot: at most every MARK_INTERVAL of exchange time (a broker reports them
        every few seconds; at 200 snapshots a second a message per snapshot kept the
        terminal's position and account views, the journal and the monitors busy for nothing
        the eye or a limit could use). Fills and orders still report at once."""
        last = self._marked_at.get(vt_symbol)
        if last is not None and timedelta(0) <= now - last < MARK_INTERVAL:
            return False
        self._marked_at[vt_symbol] = now
        return True

    def _check_stop(self, working: WorkingOrder, tick: TickData, now: datetime) -> None:
        """Trigger on the last traded price only. A book with no trade yet (last price 0: a
        pre-open snapshot, a replayed series without prices) triggers nothing, or every sell
        stop would fire at 0."""
        order = working.order
        if not tick.last_price > 0:
            return
        hit = (
            tick.last_price >= order.price
            if order.direction == Direction.LONG
            else tick.last_price <= order.price
        )
        if hit:
            working.triggered = True
            self._execute(working, now)

    def _levels(self, vt_symbol: str, direction: Direction) -> list[tuple[float, float, int]]:
        """(price, volume left this snapshot, level) on the side an order of `direction` takes."""
        book = self.books.get(vt_symbol)
        if book is None:
            return []
        side = "ask" if direction == Direction.LONG else "bid"
        used = self._liquidity.setdefault(vt_symbol, {})
        levels = []
        for level in range(1, LEVELS + 1):
            price = getattr(book, f"{side}_price_{level}")
            volume = getattr(book, f"{side}_volume_{level}") - used.get((direction, level), 0.0)
            if price and volume > 0:
                levels.append((price, volume, level))
        return levels

    def _execute(self, working: WorkingOrder, now: datetime, last: TickData | None = None) -> None:
        order = working.order
        traded_before = order.traded
        sweeping = order.type == OrderType.MARKET or working.triggered
        long = order.direction == Direction.LONG
        levels = [
            lv for lv in self._levels(order.vt_symbol, order.direction)
            if sweeping or (lv[0] <= order.price if long else lv[0] >= order.price)
        ]
        if order.type == OrderType.FOK and sum(v for _, v, _ in levels) < working.remaining:
            self._finish(working, Status.CANCELLED, "FOK: not enough volume at the price")
            return
        used = self._liquidity.setdefault(order.vt_symbol, {})
        for price, volume, level in levels:
            if working.remaining <= 0:
                break
            fill = min(volume, working.remaining)
            used[(order.direction, level)] = used.get((order.direction, level), 0.0) + fill
            self._fill(working, price, fill, now)
        # A resting limit order also fills when the market trades through its price.
        if (
            working.remaining > 0 and last is not None and order.type == OrderType.LIMIT
            and last.last_volume > 0
            and (last.last_price < order.price if long else last.last_price > order.price)
        ):
            self._fill(working, order.price, min(working.remaining, last.last_volume), now)
        if working.remaining <= 0:
            self._finish(working, Status.ALLTRADED)
        elif order.type in (OrderType.MARKET, OrderType.FAK) or working.triggered:
            self._finish(working, Status.CANCELLED, "rest cancelled: no more volume in the book")
        elif order.traded != traded_before:     # not again on every quote that fills none
            order.status = Status.PARTTRADED
            self.sink.on_order(copy.copy(order))

    def _fill(self, working: WorkingOrder, price: float, volume: float, now: datetime) -> None:
        order, spec = working.order, working.spec
        order.traded += volume
        self._trade_count += 1
        trade = TradeData(
            gateway_name=self.gateway_name,
            symbol=order.symbol,
            exchange=order.exchange,
            orderid=order.orderid,
            tradeid=f"{order.orderid}-{self._trade_count}",
            direction=order.direction,
            offset=order.offset,
            price=price,
            volume=volume,
            datetime=now,
        )
        fee = spec.commission(price, volume)
        self.account.commission += fee
        if order.offset == Offset.OPEN:
            self._freeze_funds(working)
            leg = self._leg(order.vt_symbol, order.direction)
            leg.today += volume
            leg.cost += price * volume
        else:
            held = Direction.SHORT if order.direction == Direction.LONG else Direction.LONG
            leg = self._leg(order.vt_symbol, held)
            from_yesterday = min(volume, working.frozen_yesterday)
            from_today = volume - from_yesterday
            working.frozen_yesterday -= from_yesterday
            working.frozen_today -= from_today
            leg.frozen_yesterday -= from_yesterday
            leg.frozen_today -= from_today
            average = leg.average_price
            leg.yesterday -= from_yesterday
            leg.today -= from_today
            leg.cost = average * leg.volume
            sign = 1 if held == Direction.LONG else -1
            self.account.close_pnl += (price - average) * volume * spec.size * sign
        self.sink.on_trade(trade)
        self._publish_leg(order.vt_symbol, leg)

    def _freeze_funds(self, working: WorkingOrder) -> None:
        """Margin and commission held for what is left of an opening order."""
        price, remaining = working.reference_price, working.remaining
        working.frozen_margin = working.spec.margin(price, remaining)
        working.frozen_commission = working.spec.commission(price, remaining)

    def _finish(self, working: WorkingOrder, status: Status, reason: str = "") -> None:
        order = working.order
        self.working.pop(order.vt_orderid, None)
        working.frozen_margin = working.frozen_commission = 0.0
        if working.frozen_today or working.frozen_yesterday:
            self._freeze(working, sign=-1.0)
            working.frozen_today = working.frozen_yesterday = 0.0
        if status == Status.CANCELLED and order.traded:
            reason = reason or "cancelled after a partial fill"
        order.status = status
        if reason:
            order.extra = {"reason": reason}
        self._ended(order)
        self.sink.on_order(copy.copy(order))

    def _ended(self, order: OrderData) -> None:
        self.ended[order.vt_orderid] = order.status
        if len(self.ended) > ENDED_KEPT:
            del self.ended[next(iter(self.ended))]

    # ------------------------------------------------------------------ positions and account
    def _leg(self, vt_symbol: str, direction: Direction) -> Leg:
        key = (vt_symbol, direction)
        leg = self.legs.get(key)
        if leg is None:
            leg = self.legs[key] = Leg(direction)
        return leg

    def _mark(self, vt_symbol: str, fallback: float) -> float:
        book = self.books.get(vt_symbol)
        return book.last_price if book is not None and book.last_price else fallback

    def floating_pnl(self, vt_symbol: str, leg: Leg) -> float:
        spec = self.specs[vt_symbol]
        mark = self._mark(vt_symbol, leg.average_price)
        sign = 1 if leg.direction == Direction.LONG else -1
        return (mark - leg.average_price) * leg.volume * spec.size * sign

    def position_margin(self) -> float:
        return sum(
            self.specs[vt_symbol].margin(self._mark(vt_symbol, leg.average_price), leg.volume)
            for (vt_symbol, _), leg in self.legs.items()
            if leg.volume
        )

    def balance(self) -> float:
        floating = sum(self.floating_pnl(vt, leg) for (vt, _), leg in self.legs.items())
        account = self.account
        return account.pre_balance + account.close_pnl + floating - account.commission

    def frozen(self) -> tuple[float, float]:
        margin = sum(w.frozen_margin for w in self.working.values())
        commission = sum(w.frozen_commission for w in self.working.values())
        return margin, commission

    def available(self) -> float:
        frozen_margin, frozen_commission = self.frozen()
        return self.balance() - self.position_margin() - frozen_margin - frozen_commission

    def account_data(self) -> AccountData:
        balance = self.balance()
        margin = self.position_margin()
        frozen_margin, frozen_commission = self.frozen()
        floating = sum(self.floating_pnl(vt, leg) for (vt, _), leg in self.legs.items())
        data = AccountData(
            gateway_name=self.gateway_name,
            accountid=ACCOUNT_ID,
            balance=balance,
            frozen=margin + frozen_margin + frozen_commission,
        )
        data.extra = {
            "margin": margin,
            "frozen_margin": frozen_margin,
            "frozen_commission": frozen_commission,
            "float_pnl": floating,
            "close_pnl": self.account.close_pnl,
            "commission": self.account.commission,
            "pre_balance": self.account.pre_balance,
        }
        return data

    def position_data(self, vt_symbol: str, leg: Leg) -> PositionData:
        spec = self.specs[vt_symbol]
        data = PositionData(
            gateway_name=self.gateway_name,
            symbol=spec.symbol,
            exchange=spec.exchange,
            direction=leg.direction,
            volume=leg.volume,
            frozen=leg.frozen_today + leg.frozen_yesterday,
            price=leg.average_price,
            pnl=self.floating_pnl(vt_symbol, leg),
            yd_volume=leg.yesterday,
        )
        data.extra = {"margin": spec.margin(self._mark(vt_symbol, leg.average_price), leg.volume)}
        return data

    def _publish_leg(self, vt_symbol: str, leg: Leg) -> None:
        self.sink.on_position(self.position_data(vt_symbol, leg))

    def _publish_account(self) -> None:
        self.sink.on_account(self.account_data())

    def publish_all(self) -> None:
        for (vt_symbol, _), leg in self.legs.items():
            self._publish_leg(vt_symbol, leg)
        self._publish_account()

    def restore(self, positions: list[PositionData],
                account: AccountData | None) -> dict[str, float]:
        """Take back the account and positions a previous run left in the journal, as a broker
        keeps them across client restarts; returns each restored contract's last mark, where
        its market should resume."""
        marks: dict[str, float] = {}
        for position in positions:
            spec = self.specs.get(position.vt_symbol)
            if spec is None or position.gateway_name != self.gateway_name or not position.volume:
                continue
            leg = self._leg(position.vt_symbol, position.direction)
            leg.yesterday = position.yd_volume
            leg.today = position.volume - position.yd_volume
            leg.cost = position.price * position.volume
            sign = 1 if position.direction == Direction.LONG else -1
            marks[position.vt_symbol] = position.price + position.pnl / (
                position.volume * spec.size * sign)
        extra = (account.extra or {}) if account is not None else {}
        if "pre_balance" in extra:
            self.account = Account(pre_balance=extra["pre_balance"],
                                   close_pnl=extra.get("close_pnl", 0.0),
                                   commission=extra.get("commission", 0.0))
        return marks

    def roll_trading_day(self) -> None:
        """Settle: today's volume becomes yesterday's and the balance carries over."""
        for leg in self.legs.values():
            leg.yesterday += leg.today
            leg.frozen_yesterday += leg.frozen_today
            leg.today = leg.frozen_today = 0.0
        for working in self.working.values():
            working.frozen_yesterday += working.frozen_today
            working.frozen_today = 0.0
        floating = sum(self.floating_pnl(vt, leg) for (vt, _), leg in self.legs.items())
        # Positions are re-marked at the close: their cost becomes the settlement price.
        for (vt_symbol, _), leg in self.legs.items():
            leg.cost = self._mark(vt_symbol, leg.average_price) * leg.volume
        self.account.pre_balance += self.account.close_pnl + floating - self.account.commission
        self.account.close_pnl = 0.0
        self.account.commission = 0.0
        self.publish_all()
