"""Live performance: the statistics a backtest shows, for the fills the trader actually got.

Fed the journal's trades (each with the strategy that sent its order) and the terms of each
contract; the service (`terminal.services.performance`) reads those and the stored bars.

Definitions:

- Source of a fill: vnpy_ctastrategy's CtaEngine sends every order with the reference
  "CtaStrategy_<strategy name>"; a fill of such an order belongs to that strategy. Every other
  fill (the ticket, the chart, the ladder, managed orders, Flatten, a fill whose order the
  journal does not hold) is "manual".
- Round trips: per contract, first in first out, by `stats.round_trips` over every journalled
  fill up to the end of the range (so a position opened before the range and closed in it is
  one round trip). A round trip belongs to the range, its trading day and its breakdowns by
  the trading day of its EXIT; to the strategy of its ENTRY fill (its exit's source is shown
  beside it); to the hour (China time) of its entry.
- A closing fill (offset close, close today, close yesterday) larger than what the journal
  saw held closes lots opened before the journal began: that excess is left out and counted
  (`before_journal`), never taken for a new opposite position. (Positions are netted per
  contract for this: a locked long-and-short position is not modelled.)
- Contract size: from the terms given; a contract without one is REFUSED by name (its fills
  are left out, `refused` says why), never priced at a size of 1.
- Fees: CTP's trade reports carry no commission. When the terms carry fee figures
  (`fees_known`), each fill pays fee_rate * price * volume * size + fee_per_lot * volume,
  shared by volume between round trips like a backtest's costs; otherwise that contract's
  round trips are before fees, and `before_fees` names it.
- Realised equity: the cumulative net P&L of the range's round trips, one after another in
  the order they closed, starting from 0; `max_drawdown` is its largest fall from a running
  peak (0 counts as the first peak), in money. Round trips, not days: a day that gives back
  its morning's gains shows its drawdown. Daily net P&L: by the trading days on which a round
  trip closed.
- `pnl_sharpe_ratio`: mean / sample standard deviation of those days' net P&L, times
  sqrt(240): a Sharpe ratio of P&L, as no capital is known; NaN with fewer than 2 days or no
  variation.
- Excursions (MAE / MFE): from the stored 1-minute bars (stamped with their start) from the
  minute of the entry to the minute of the exit, both included, plus the two fill prices. For
  a long, adverse = entry - the lowest low, favourable = the highest high - entry (a short the
  other way round), never below 0; in money (x volume x size) and in ticks. The resolution is
  the minute: the entry minute's whole range counts, even the part before the fill. A round
  trip with no stored bar in that span has no excursion (None, shown "no bars"), never 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import numpy as np
from vnpy.trader.constant import Direction, Offset

from terminal.backtest import stats
from terminal.core.timezone import CHINA_TZ, to_ns
from terminal.core.trading_day import trading_day

STRATEGY_PREFIX = "CtaStrategy_"     # vnpy_ctastrategy's reference on the orders it sends
MANUAL = "manual"
ANNUAL_DAYS = 240
CLOSING = (Offset.CLOSE, Offset.CLOSETODAY, Offset.CLOSEYESTERDAY)
MINUTE_NS = 60_000_000_000

# key -> (label, format) of the summary, in the order it is shown (formats: stats.LABELS')
SUMMARY_LABELS: dict[str, tuple[str, str]] = {
    "total_net_pnl": ("Net P&L", "money"),
    "gross_pnl": ("P&L before fees", "money"),
    "total_fees": ("Fees", "money"),
    "closed_trades": ("Round trips", "int"),
    "winning_trades": ("Winning round trips", "int"),
    "losing_trades": ("Losing round trips", "int"),
    "win_rate": ("Win rate", "fraction"),
    "average_win": ("Average win", "money"),
    "average_loss": ("Average loss", "money"),
    "largest_win": ("Largest win", "money"),
    "largest_loss": ("Largest loss", "money"),
    "profit_loss_ratio": ("Profit-loss ratio", "ratio"),
    "expectancy": ("Expectancy", "ratio"),
    "average_hold_minutes": ("Average holding time (minutes)", "ratio"),
    "total_days": ("Trading days with a closed round trip", "int"),
    "profit_days": ("Profitable days", "int"),
    "loss_days": ("Losing days", "int"),
    "daily_net_pnl": ("Net P&L per day", "money"),
    "max_drawdown": ("Max drawdown of realised P&L", "money"),
    "pnl_sharpe_ratio": ("Sharpe ratio of daily P&L (x sqrt 240)", "ratio"),
}
BREAKDOWNS = ("day", "symbol", "strategy", "hour")


@dataclass(frozen=True)
class ContractTerms:
    """What pricing a contract's fills needs; `source` says where the figures came from."""

    size: float
    pricetick: float = 0.0               # 0: unknown, excursions in ticks are NaN
    fee_rate: float = 0.0                # of traded value
    fee_per_lot: float = 0.0
    fees_known: bool = False
    source: str = ""


@dataclass(frozen=True)
class Fill:
    """One journalled trade and where it came from."""

    vt_symbol: str
    direction: Direction
    offset: Offset
    price: float
    volume: float
    datetime: datetime                   # China time
    source: str                          # a strategy's name or MANUAL
    vt_tradeid: str = ""


@dataclass(frozen=True)
class Excursion:
    adverse: float                       # money, >= 0
    favourable: float
    adverse_ticks: float
    favourable_ticks: float
    bars: int                            # 1-minute bars it was read from


def _of_trip(name: str) -> property:
    return property(lambda self: getattr(self.trip, name), doc=f"the round trip's {name}")


@dataclass(frozen=True)
class LiveTrip:
    """A round trip of `stats.round_trips` (its fills are `Fill`s), with what live
    performance adds: the contract, the exit's trading day and the excursions."""

    vt_symbol: str
    trip: stats.RoundTrip
    day: date                            # the exit's trading day
    excursion: Excursion | None = None   # None: no stored bars

    direction = _of_trip("direction")    # "long" or "short"
    volume = _of_trip("volume")
    entry_time = _of_trip("entry_time")
    entry_price = _of_trip("entry_price")
    exit_time = _of_trip("exit_time")
    exit_price = _of_trip("exit_price")
    gross_pnl = _of_trip("gross_pnl")
    fees = _of_trip("costs")
    net_pnl = _of_trip("net_pnl")

    @property
    def strategy(self) -> str:
        """The source of the entry fill."""
        return self.trip.entry_fill.source

    @property
    def exit_source(self) -> str:
        return self.trip.exit_fill.source

    @property
    def hour(self) -> int:
        return self.entry_time.hour

    @property
    def hold_minutes(self) -> float:
        return (self.exit_time - self.entry_time).total_seconds() / 60.0


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    trips: int
    win_rate: float
    net_pnl: float
    gross_pnl: float
    fees: float
    average: float                       # net per round trip
    profit_loss_ratio: float
    expectancy: float


@dataclass
class LivePerformance:
    start: date
    end: date
    trips: list[LiveTrip]
    summary: dict[str, Any]
    breakdowns: dict[str, list[BreakdownRow]]
    days: list[date]                     # trading days with a closed round trip
    daily: list[float]                   # net P&L of each of those days
    equity: list[float]                  # cumulative net P&L after each round trip
    drawdown: list[float]                # equity - its running peak (<= 0)
    refused: dict[str, str] = field(default_factory=dict)        # vt_symbol -> why
    before_fees: list[str] = field(default_factory=list)         # contracts without fees
    estimated_fees: list[str] = field(default_factory=list)      # fees from the terms given
    before_journal: dict[str, float] = field(default_factory=dict)   # closed, opened earlier
    still_open: dict[str, float] = field(default_factory=dict)   # net lots open at the end
    fills: int = 0                       # journalled fills read (up to the end)
    warnings: list[str] = field(default_factory=list)   # said by whoever read the inputs

    @property
    def notes(self) -> list[str]:
        """What the trader must know to read the figures: left out, before fees..."""
        out = list(self.warnings)
        out += [f"{symbol} left out: {why}" for symbol, why in self.refused.items()]
        if self.estimated_fees:
            out.append("fees of " + ", ".join(self.estimated_fees) + " are estimated with the "
                       "contract table's typical broker rates: the broker's trade reports "
                       "carry no commission")
        if self.before_fees:
            out.append("P&L before fees for " + ", ".join(self.before_fees) + ": the broker's "
                       "trade reports carry no commission and the contract table has no "
                       "fees for them")
        for symbol, volume in self.before_journal.items():
            out.append(f"{symbol}: {volume:g} lots closed a position opened before the "
                       "journal began; those closes are not round trips")
        for symbol, net in self.still_open.items():
            side = "long" if net > 0 else "short"
            out.append(f"{symbol}: {abs(net):g} lots still open {side} at the range's end, "
                       "not in these figures until closed")
        return out


def source_of(reference: str | None) -> str:
    """The strategy whose order this is (by vnpy_ctastrategy's reference), else MANUAL."""
    if reference and reference.startswith(STRATEGY_PREFIX) and len(reference) > \
            len(STRATEGY_PREFIX):
        return reference[len(STRATEGY_PREFIX):]
    return MANUAL


def china(moment: datetime) -> datetime:
    """An aware time in China time; a naive one is taken as China time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CHINA_TZ)
    return moment.astimezone(CHINA_TZ)


def fills_of(trades: Iterable, orders: Iterable) -> list[Fill]:
    """The journal's TradeData as fills, each with the source of its order (OrderData)."""
    references = {order.vt_orderid: order.reference for order in orders}
    out = [Fill(trade.vt_symbol, trade.direction, trade.offset, float(trade.price),
                float(trade.volume), china(trade.datetime),
                source_of(references.get(trade.vt_orderid)), trade.vt_tradeid)
           for trade in trades if trade.datetime is not None]
    return sorted(out, key=lambda f: f.datetime)


def _journal_seen(fills: list[Fill]) -> tuple[list[Fill], float, float]:
    """The fills with closes beyond what the journal saw held cut down (see the module's
    docstring); the volume cut, and the net position left."""
    net, cut, kept = 0.0, 0.0, []
    for fill in fills:
        sign = 1 if fill.direction == Direction.LONG else -1
        volume = fill.volume
        if fill.offset in CLOSING:
            held = max(0.0, -sign * net)
            volume = min(volume, held)
            cut += fill.volume - volume
        net += sign * volume
        if volume > 1e-12:
            kept.append(fill if volume == fill.volume else
                        Fill(fill.vt_symbol, fill.direction, fill.offset, fill.price, volume,
                             fill.datetime, fill.source, fill.vt_tradeid))
    return kept, cut, net


BarColumns = tuple[np.ndarray, np.ndarray, np.ndarray]   # start times (ns), highs, lows


def excursion(trip: LiveTrip, bars: BarColumns | None, terms: ContractTerms) -> \
        Excursion | None:
    """MAE and MFE of a round trip from 1-minute bars (see the module's docstring)."""
    if bars is None:
        return None
    times, highs, lows = bars
    first = to_ns(trip.entry_time) // MINUTE_NS * MINUTE_NS
    last = to_ns(trip.exit_time) // MINUTE_NS * MINUTE_NS
    low_i, high_i = np.searchsorted(times, first, "left"), np.searchsorted(times, last, "right")
    if high_i <= low_i:
        return None
    top = max(float(highs[low_i:high_i].max()), trip.entry_price, trip.exit_price)
    bottom = min(float(lows[low_i:high_i].min()), trip.entry_price, trip.exit_price)
    if trip.direction == "long":
        adverse, favourable = trip.entry_price - bottom, top - trip.entry_price
    else:
        adverse, favourable = top - trip.entry_price, trip.entry_price - bottom
    adverse, favourable = max(adverse, 0.0), max(favourable, 0.0)
    scale = trip.volume * terms.size
    tick = terms.pricetick
    return Excursion(adverse * scale, favourable * scale,
                     round(adverse / tick, 6) if tick > 0 else math.nan,
                     round(favourable / tick, 6) if tick > 0 else math.nan,
                     int(high_i - low_i))


def _row(key: str, trips: list[LiveTrip]) -> BreakdownRow:
    figures = stats.trip_figures(trips)
    net = sum(t.net_pnl for t in trips)
    return BreakdownRow(key, len(trips), figures["win_rate"], net,
                        sum(t.gross_pnl for t in trips), sum(t.fees for t in trips),
                        net / len(trips) if trips else 0.0, figures["profit_loss_ratio"],
                        figures["expectancy"])


def _hour_order(hour: int) -> int:
    """The night session first (21:00 opens the trading day), then the day session."""
    return (hour - 21) % 24


def breakdown(trips: list[LiveTrip], by: str) -> list[BreakdownRow]:
    """Rows of `trips` grouped by day, symbol, strategy or hour (of entry, China time)."""
    if by not in BREAKDOWNS:
        raise ValueError(f"a breakdown is by {', '.join(BREAKDOWNS)}, not {by!r}")
    groups: dict[Any, list[LiveTrip]] = defaultdict(list)
    for trip in trips:
        key = {"day": trip.day, "symbol": trip.vt_symbol, "strategy": trip.strategy,
               "hour": trip.hour}[by]
        groups[key].append(trip)
    if by == "hour":
        keys = sorted(groups, key=_hour_order)
        return [_row(f"{k:02d}:00", groups[k]) for k in keys]
    return [_row(k.isoformat() if isinstance(k, date) else str(k), groups[k])
            for k in sorted(groups)]


def _summary(trips: list[LiveTrip], daily: list[float], drawdown: list[float]) -> dict:
    out: dict[str, Any] = stats.trip_figures(trips)
    out.update(
        total_net_pnl=sum(t.net_pnl for t in trips),
        gross_pnl=sum(t.gross_pnl for t in trips),
        total_fees=sum(t.fees for t in trips),
        largest_win=max((t.net_pnl for t in trips if t.net_pnl > 0), default=0.0),
        largest_loss=min((t.net_pnl for t in trips if t.net_pnl <= 0), default=0.0),
        average_hold_minutes=float(np.mean([t.hold_minutes for t in trips])) if trips
        else math.nan,
        total_days=len(daily),
        profit_days=sum(1 for p in daily if p > 0),
        loss_days=sum(1 for p in daily if p < 0),
        daily_net_pnl=float(np.mean(daily)) if daily else 0.0,
        max_drawdown=-min(drawdown, default=0.0),
    )
    deviation = float(np.std(daily, ddof=1)) if len(daily) > 1 else 0.0
    out["pnl_sharpe_ratio"] = (float(np.mean(daily)) / deviation * math.sqrt(ANNUAL_DAYS)
                               if deviation > 0 else math.nan)
    return {key: out[key] for key in SUMMARY_LABELS}


def performance(fills: Iterable[Fill], terms: Mapping[str, ContractTerms | None],
                start: date, end: date,
                bars_of: Callable[[str, datetime, datetime], BarColumns | None] | None = None,
                ) -> LivePerformance:
    """Live performance of the round trips that closed on trading days start..end (both
    included). `fills`: every journalled fill up to `end` (earlier ones give the range its
    opening positions); `terms`: each contract's, None or missing when unknown (refused);
    `bars_of(vt_symbol, first, last)`: its stored 1-minute bars between two times, or None."""
    if start > end:
        raise ValueError(f"the range starts ({start}) after it ends ({end})")
    by_symbol: dict[str, list[Fill]] = defaultdict(list)
    count = 0
    for fill in fills:
        if trading_day(fill.datetime) <= end:
            by_symbol[fill.vt_symbol].append(fill)
            count += 1
    result = LivePerformance(start, end, [], {}, {}, [], [], [], [], fills=count)
    for vt_symbol in sorted(by_symbol):
        term = terms.get(vt_symbol)
        if term is None or not term.size > 0:
            result.refused[vt_symbol] = (
                f"its contract size is not known (not in the contract table nor among the "
                f"connected gateway's contracts); its {len(by_symbol[vt_symbol])} fills are "
                "not counted")
            continue
        kept, cut, net = _journal_seen(sorted(by_symbol[vt_symbol], key=lambda f: f.datetime))
        if cut > 1e-12:
            result.before_journal[vt_symbol] = cut
        if abs(net) > 1e-12:
            result.still_open[vt_symbol] = net
        (result.estimated_fees if term.fees_known else result.before_fees).append(vt_symbol)
        rate = term.fee_rate if term.fees_known else 0.0
        per_lot = term.fee_per_lot / term.size if term.fees_known else 0.0   # as "slippage"
        trips = [LiveTrip(vt_symbol, t, trading_day(t.exit_time))
                 for t in stats.round_trips(kept, term.size, rate, per_lot)]
        trips = [t for t in trips if start <= t.day <= end]
        if trips and bars_of is not None:
            bars = bars_of(vt_symbol, min(t.entry_time for t in trips),
                           max(t.exit_time for t in trips))
            trips = [_with_excursion(t, excursion(t, bars, term)) for t in trips]
        result.trips.extend(trips)
    result.trips.sort(key=lambda t: (t.exit_time, t.entry_time, t.vt_symbol))
    daily: dict[date, float] = defaultdict(float)
    for trip in result.trips:
        daily[trip.day] += trip.net_pnl
    result.days = sorted(daily)
    result.daily = pnl = [daily[d] for d in result.days]
    equity = np.cumsum([t.net_pnl for t in result.trips]) if result.trips else np.array([])
    peaks = np.maximum.accumulate(np.concatenate([[0.0], equity]))[1:]
    result.equity = [float(v) for v in equity]
    result.drawdown = [float(v) for v in equity - peaks]
    result.summary = _summary(result.trips, pnl, result.drawdown)
    result.breakdowns = {by: breakdown(result.trips, by) for by in BREAKDOWNS}
    return result


def _with_excursion(trip: LiveTrip, found: Excursion | None) -> LiveTrip:
    return replace(trip, excursion=found)


def format_summary(key: str, value: Any) -> str:
    """A summary figure as the dock and the command line show it."""
    return stats.format_value(key, value, SUMMARY_LABELS.get(key, ("", "number"))[1])
