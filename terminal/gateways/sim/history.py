"""Past 1-minute bars of a simulated contract, so that a chart has history from the first
minute and the workbench has something to backtest.

- The bars cover the contract's real sessions only, on trading days Monday to Friday (there is
  no holiday calendar in this project: exchange holidays are trading days here). As in real
  data, a night session belongs to the next trading day: Friday night's bars (and those after
  midnight, on Saturday) belong to Monday.
- The price follows the simulator's own process: a walk on the contract's tick grid with the
  live model's daily volatility (`quotes.DAILY_VOL`), pulled weakly back to where it ends, so
  that 20 days stay in a plausible range; each minute is built from a few steps (its open,
  high, low and close), and each trading day opens with a gap. Volume follows the live book's
  depth, higher after each open and before each close.
- The path is made backwards from the moment and price the live market starts at: the last
  close is that price exactly and the next minute is the live market's. Random numbers are
  drawn from the end backwards, so asking for more days adds older bars and changes none of
  the newer ones.
- Deterministic: a contract's numbers come from (seed, vt_symbol) through SHA-256, not from
  Python's hash() (salted per process), so the same seed gives the same bars on any machine,
  whatever other contracts exist.

`MinuteTape` keeps the minutes the live simulator has made since it started, so that its
history runs on to the present without a gap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from vnpy.trader.constant import Interval
from vnpy.trader.object import BarData

from terminal.core.timezone import CHINA_TZ
from terminal.core.trading_day import trading_day
from terminal.gateways.sim.quotes import DAILY_VOL, book_depth
from terminal.market import sessions
from terminal.market.contracts import ContractSpec
from terminal.market.prices import decimals_for
from terminal.storage.market_store import BAR_INIT_ORDER, make_bars
from terminal.core.timezone import to_ns

HISTORY_DAYS = 20          # trading days before the live start, at the least
MAX_DAYS = 260             # a year: the most a request makes
STEPS_PER_MINUTE = 4       # walk steps inside a minute (open, high, low, close come from them)
RANGE_DAYS = 3.0           # the pull keeps the price within about this many days' moves
BOUND = 0.25               # and never further than this share from the end price
DAY_GAP = 0.3              # a trading day's opening gap, in days' moves
QUOTES_PER_MINUTE = 120    # the live model's default rate, 2 quotes a second
NS_PER_MINUTE = 60_000_000_000
SOURCE = "sim"             # how the market store marks the series made of these bars
NIGHTS_CLOSED = 6          # hour of the morning by which every night session has closed


def contract_seed(seed: int, vt_symbol: str) -> np.random.SeedSequence:
    """The contract's own random numbers: the same for (seed, vt_symbol) everywhere."""
    digest = hashlib.sha256(f"{seed}|{vt_symbol}".encode()).digest()
    return np.random.SeedSequence(int.from_bytes(digest[:16], "little"))


def business_days_back(last: date, count: int) -> list[date]:
    """`count` weekdays ending with `last` (itself a weekday), oldest first."""
    days, day = [], last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def _previous_business_day(day: date) -> date:
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _midnight_ns(day: date) -> int:
    return to_ns(datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ))


@dataclass(frozen=True)
class _Template:
    """One trading day's minutes, in order: minute of day, whether it is of the night before
    (evening, or after midnight), and the U-shaped volume weight of each."""
    minute: np.ndarray
    evening: np.ndarray
    after_midnight: np.ndarray
    weight: np.ndarray


def _template(spec: ContractSpec) -> _Template:
    mapped = sessions.build(spec.sessions)
    minutes, weights = [], []
    for clock in mapped.clock:
        offset = np.arange(len(clock))
        minutes.append(clock)
        weights.append(0.7 + 1.3 * np.exp(-offset / 20.0)
                       + 0.6 * np.exp(-(len(clock) - 1 - offset) / 20.0))
    minute = np.concatenate(minutes).astype(np.int64)
    night = mapped.night[minute]
    evening = night & (minute >= sessions.NIGHT_FROM)
    return _Template(minute, evening, night & ~evening, np.concatenate(weights))


def trading_minutes(spec: ContractSpec, end: datetime, days: int = HISTORY_DAYS) -> np.ndarray:
    """Start times (int64 ns) of the contract's trading minutes before `end` (cut to its
    minute): the whole of the `days` trading days before `end`'s own, and the part of that
    one already past (at the weekend, once Friday's night session is over: up to Friday's
    close)."""
    template = _template(spec)
    limit = to_ns(end.replace(second=0, microsecond=0))
    last = trading_day(end)
    if end.weekday() == 6 or (end.weekday() == 5 and end.hour >= NIGHTS_CLOSED):
        # At the weekend the live simulator trades on (it keeps no hours): its Saturday
        # minutes are Saturday's, so history ends with Friday's day session, not Monday's
        # night (Friday evening), which the minutes after it would follow out of order.
        # Saturday's small hours are still Friday's night session (to 02:30 for gold):
        # a start then keeps that night, as one a minute before midnight does.
        last = _previous_business_day(last)
    stamps = []
    for day in business_days_back(last, days + 1):
        eve = _previous_business_day(day)
        base = np.where(template.evening, _midnight_ns(eve),
                        np.where(template.after_midnight,
                                 _midnight_ns(eve + timedelta(days=1)), _midnight_ns(day)))
        stamps.append(base + template.minute * NS_PER_MINUTE)
    times = np.concatenate(stamps)
    return times[times < limit]


def simulated_columns(spec: ContractSpec, seed: int, end: datetime, end_price: float,
                      days: int = HISTORY_DAYS) -> dict[str, np.ndarray]:
    """The bars as columns (a "datetime" int64 ns column, then the market store's fields),
    oldest first, the last close being `end_price` (put on the tick grid)."""
    times = trading_minutes(spec, end, days)
    count = len(times)
    template = _template(spec)
    tick = spec.pricetick
    end_ticks = round(end_price / tick)
    streams = [np.random.default_rng(child) for child in contract_seed(
        seed, spec.vt_symbol).spawn(3)]
    points = STEPS_PER_MINUTE + 1               # each minute's own: open ... close
    steps = count * points - 1
    day_ticks = DAILY_VOL * end_ticks
    step_sigma = day_ticks / np.sqrt(len(template.minute) * points)
    sigma = np.full(steps, step_sigma)
    # The step into a minute that opens a trading day is its gap. The minutes are whole days
    # of the template, the last one cut short, so a day opens every len(template) minutes.
    day_starts = np.arange(len(template.minute), count, len(template.minute))
    sigma[day_starts * points - 1] = DAY_GAP * day_ticks
    # Drawn from the end backwards: more days add older numbers, the newer ones stay.
    backwards = streams[0].standard_normal(steps) * sigma[::-1]
    pull = 1.0 / (2 * RANGE_DAYS ** 2 * len(template.minute) * points)
    deviation = _pulled_walk(backwards, 1.0 - pull)[::-1]          # oldest first, last is 0
    bound = BOUND * end_ticks
    ticks = end_ticks + np.clip(np.rint(deviation), -bound, bound).astype(np.int64)
    ticks = np.maximum(ticks, 1).reshape(count, points)
    decimals = decimals_for(tick)
    open_, close = ticks[:, 0], ticks[:, -1]
    high, low = ticks.max(axis=1), ticks.min(axis=1)

    minute_sigma = day_ticks / np.sqrt(len(template.minute))
    weight = template.weight[np.arange(count) % len(template.minute)]
    noise = np.exp(0.5 * streams[1].standard_normal(count)[::-1] - 0.125)
    moved = 1.0 + 0.3 * (high - low) / max(minute_sigma, 1.0)
    depth = book_depth(spec)
    volume = np.maximum(1.0, np.rint(QUOTES_PER_MINUTE * depth / 8 * weight * noise * moved))
    prices = {name: np.round(values * tick, decimals) for name, values in
              (("open_price", open_), ("high_price", high), ("low_price", low),
               ("close_price", close))}
    average = (prices["open_price"] + prices["high_price"] + prices["low_price"]
               + prices["close_price"]) / 4
    change = np.rint(volume * streams[2].uniform(-0.1, 0.1, count)[::-1])
    interest = float(depth * 400) - np.concatenate(([0.0], np.cumsum(change[::-1])[:-1]))[::-1]
    return {"datetime": times, **prices, "volume": volume,
            "turnover": volume * average * spec.size,
            "open_interest": np.maximum(interest, 0.0)}


def _pulled_walk(steps: np.ndarray, keep: float, block: int = 2048) -> np.ndarray:
    """y[0] = 0, y[i + 1] = keep * y[i] + steps[i]: a walk pulled back to 0, vectorised a
    block at a time (keep ** -block stays near 1, so no power overflows or loses digits)."""
    out = np.zeros(len(steps) + 1)
    carry = 0.0
    for start in range(0, len(steps), block):
        chunk = steps[start:start + block]
        powers = keep ** np.arange(1, len(chunk) + 1)
        out[start + 1:start + 1 + len(chunk)] = powers * (carry + np.cumsum(chunk / powers))
        carry = out[start + len(chunk)]
    return out


def days_to_cover(start: datetime | None, end: datetime) -> int:
    """Trading days of history that reach back to `start` (HISTORY_DAYS at the least, a year
    at the most)."""
    if start is None:
        return HISTORY_DAYS
    weekdays = np.busday_count(trading_day(start), trading_day(end))
    return int(min(MAX_DAYS, max(HISTORY_DAYS, weekdays + 1)))


def bars_of(spec: ContractSpec, columns: dict[str, np.ndarray], gateway_name: str,
            interval: Interval = Interval.MINUTE) -> list[BarData]:
    """vn.py bars of columns (China time, like every bar the terminal makes). The times are
    whole minutes and China has kept UTC+8 since 1991, so each is midnight UTC's local time
    plus its minutes: no pandas (whose first import costs a chart's first draw 250 ms)."""
    origin = datetime(1970, 1, 1, 8, tzinfo=CHINA_TZ)
    times = [origin + timedelta(minutes=minute)
             for minute in (columns["datetime"] // NS_PER_MINUTE).tolist()]
    return make_bars(spec.symbol, spec.exchange, interval, times,
                     [columns[name].tolist() for name in BAR_INIT_ORDER], gateway_name)


class MinuteTape:
    """The 1-minute bars the live simulator has made since it started, per contract: what its
    history holds after the generated part. Fed every quote on the exchange thread (a few
    comparisons; a list per minute), read by `query_history` on any thread."""

    def __init__(self) -> None:
        self._bars: dict[str, list[list[float]]] = {}  # [minute number, o, h, l, c, volume, oi]
        self._volume: dict[str, float] = {}
        # The minute of the last quote: its start, its end and its number. One clock stamps
        # every contract's quotes, so most quotes fall in it, and comparing two times of one
        # zone costs a tenth of `to_ns` (3 us, a fifth of a quote's cost on the exchange
        # thread).
        self._span: tuple[datetime, datetime, int] | None = None

    def _new_minute(self, moment: datetime) -> int:
        minute = to_ns(moment) // NS_PER_MINUTE
        start = moment.replace(second=0, microsecond=0)    # zones of whole-minute offsets
        self._span = (start, start + timedelta(minutes=1), minute)
        return minute

    def add(self, vt_symbol: str, moment: datetime, price: float, volume: float,
            interest: float) -> None:
        span = self._span
        if span is not None and span[0].tzinfo is moment.tzinfo and span[0] <= moment < span[1]:
            minute = span[2]
        else:
            minute = self._new_minute(moment)
        bars = self._bars.setdefault(vt_symbol, [])
        traded = volume - self._volume.get(vt_symbol, volume)
        self._volume[vt_symbol] = volume
        if bars and bars[-1][0] == minute:
            bar = bars[-1]
            bar[2] = max(bar[2], price)
            bar[3] = min(bar[3], price)
            bar[4] = price
            bar[5] += max(traded, 0.0)
            bar[6] = interest
        elif not bars or minute > bars[-1][0]:
            bars.append([minute, price, price, price, price, max(traded, 0.0), interest])

    def columns(self, vt_symbol: str, before_ns: int, size: float) -> dict[str, np.ndarray]:
        """The finished minutes (those starting before `before_ns`), as columns."""
        before = before_ns // NS_PER_MINUTE
        rows = [bar for bar in list(self._bars.get(vt_symbol, ())) if bar[0] < before]
        table = np.array(rows, dtype=np.float64).reshape(len(rows), 7)
        prices = table[:, 1:5]
        return {"datetime": table[:, 0].astype(np.int64) * NS_PER_MINUTE,
                "open_price": prices[:, 0], "high_price": prices[:, 1],
                "low_price": prices[:, 2], "close_price": prices[:, 3],
                "volume": table[:, 5], "turnover": table[:, 5] * prices.mean(axis=1) * size,
                "open_interest": table[:, 6]}


INTERVALS = {Interval.MINUTE: "1m", Interval.HOUR: "1h", Interval.DAILY: "d"}


class HistoryRefused(ValueError):
    """The simulator has no such history (an interval it does not make); the message says why."""


@dataclass(frozen=True)
class SimStart:
    """Where a run of the simulator began: its seed, the moment, each contract's price."""
    seed: int
    moment: datetime
    prices: dict[str, float]


def history(spec: ContractSpec, start: SimStart, tape: MinuteTape, now: datetime,
            interval: Interval, first: datetime | None = None,
            last: datetime | None = None) -> dict[str, np.ndarray]:
    """The contract's history as columns, from `first` to `last` (both included; None: all
    there is): generated up to the run's start, then the minutes the run has made since, up
    to the one in progress at `now` (not included). 1-minute bars; hours and days are built
    from them on the contract's sessions. Raises HistoryRefused for another interval."""
    if interval not in INTERVALS:
        raise HistoryRefused(f"the simulated exchange makes 1-minute, hourly and daily "
                             f"history, not {interval.value!r}")
    made = simulated_columns(spec, start.seed, start.moment, start.prices[spec.vt_symbol],
                             days_to_cover(first, start.moment))
    since = tape.columns(spec.vt_symbol, to_ns(now.replace(second=0, microsecond=0)),
                         spec.size)
    columns = {name: np.concatenate([values, since[name]]) for name, values in made.items()}
    if INTERVALS[interval] != "1m":
        from terminal.market.resample import resample

        columns = resample(columns, "1m", INTERVALS[interval], spec.symbol, spec.exchange,
                           CHINA_TZ)
    times = columns["datetime"]
    low = np.searchsorted(times, to_ns(first), "left") if first else 0
    high = np.searchsorted(times, to_ns(last), "right") if last else len(times)
    return {name: values[low:high] for name, values in columns.items()}
