"""Market replay: a past trading day from the store, played into the simulated exchange.

The feed keeps a virtual clock (anchor on the recorded time line, anchor on the machine's
monotonic clock, speed); pausing freezes it and seeking moves its anchor. The exchange thread
asks it how long to sleep and which recorded ticks are due, so replayed quotes go through the
same book, matching and account code as live simulated ones.

Recorded ticks are used as they are, with what a tick needs for matching filled in when the
file did not have it: the traded volume of each tick (from the running total) and the daily
price limits (from the contract's limit around the first price). A day of 1-minute bars
becomes four ticks a bar (open, the extreme nearer the open, the other extreme, close), with a
book of one price tick either side: coarse, and labelled as such in the replay dock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from vnpy.trader.constant import Exchange
from vnpy.trader.object import TickData

from terminal.core.trading_day import trading_day
from terminal.market import contracts
from terminal.market.contracts import ContractSpec
from terminal.market.prices import round_to_tick
from terminal.storage.market_store import TICK_FIELDS, TICK_INTERVAL, MarketStore

BAR_SOURCE = "1m"
SOURCES = (TICK_INTERVAL, BAR_SOURCE)
MAX_TICKS_PER_STEP = 2000          # keep orders and cancels flowing during a fast burst
NS = 1_000_000_000


class ReplayError(ValueError):
    """The day cannot be replayed; the message says why."""


@dataclass(frozen=True)
class ReplayStatus:
    vt_symbol: str
    day: date
    source: str
    state: str                     # "playing", "paused" or "finished"
    speed: float
    now: int                       # virtual time, ns since the epoch
    first: int
    last: int
    played: int
    total: int


class ReplayFeed:
    def __init__(self, spec: ContractSpec, day: date, source: str, columns: dict[str, np.ndarray],
                 tz: ZoneInfo, gateway_name: str) -> None:
        self.spec = spec
        self.day = day
        self.source = source
        self.tz = tz
        self.gateway_name = gateway_name
        self.times = np.asarray(columns["datetime"], dtype=np.int64)
        if len(self.times) == 0:
            raise ReplayError(f"no data for {spec.vt_symbol} on {day}")
        self.columns = {name: np.asarray(columns.get(name, np.zeros(len(self.times))), float)
                        for name in TICK_FIELDS}
        self._fill_missing()
        self._lock = threading.Lock()
        self.position = 0              # index of the next tick to play
        self.speed = 1.0
        self.paused = True
        self._virtual = int(self.times[0])
        self._real = 0.0

    @property
    def vt_symbol(self) -> str:
        return self.spec.vt_symbol

    def _fill_missing(self) -> None:
        c = self.columns
        if not c["last_volume"].any():
            c["last_volume"] = np.clip(np.diff(c["volume"], prepend=c["volume"][:1]), 0, None)
        if not (c["limit_up"].any() and c["limit_down"].any()):
            reference = c["pre_close"][0] or c["last_price"][0]
            tick = self.spec.pricetick
            c["limit_up"][:] = round_to_tick(reference * (1 + self.spec.limit_pct), tick)
            c["limit_down"][:] = round_to_tick(reference * (1 - self.spec.limit_pct), tick)

    # ------------------------------------------------------------------ the clock
    def virtual_now(self, real: float) -> int:
        if self.paused:
            return self._virtual
        return self._virtual + int((real - self._real) * self.speed * NS)

    def play(self, real: float) -> None:
        with self._lock:
            if self.paused and not self.finished:
                self._virtual, self._real, self.paused = self._virtual, real, False

    def pause(self, real: float) -> None:
        with self._lock:
            if not self.paused:
                self._virtual, self.paused = self.virtual_now(real), True

    def set_speed(self, speed: float, real: float) -> None:
        if not speed > 0:
            raise ReplayError(f"speed must be above 0, not {speed}")
        with self._lock:
            self._virtual, self._real, self.speed = self.virtual_now(real), real, float(speed)

    def seek(self, moment: int, real: float) -> None:
        """Jump to a time of the day; the tick in force at that time is played at once."""
        with self._lock:
            moment = int(min(max(moment, self.times[0]), self.times[-1]))
            self.position = max(0, int(np.searchsorted(self.times, moment, "right")) - 1)
            self._virtual, self._real = moment, real

    @property
    def finished(self) -> bool:
        return self.position >= len(self.times)

    def wait(self, real: float) -> float | None:
        """Seconds of real time until the next tick is due; None while paused or done."""
        if self.paused or self.finished:
            return None
        ahead = int(self.times[self.position]) - self.virtual_now(real)
        return max(0.0, ahead / NS / self.speed)

    def due(self, real: float) -> list[TickData]:
        with self._lock:
            if self.paused or self.finished:
                return []
            now = self.virtual_now(real)
            stop = int(np.searchsorted(self.times, now, "right"))
            stop = min(stop, self.position + MAX_TICKS_PER_STEP)
            ticks = [self.tick(i) for i in range(self.position, stop)]
            self.position = stop
            if self.finished:
                self._virtual, self.paused = int(self.times[-1]), True
            return ticks

    def moment(self, real: float) -> datetime:
        return datetime.fromtimestamp(self.virtual_now(real) / NS, self.tz)

    def tick(self, index: int) -> TickData:
        moment = datetime.fromtimestamp(int(self.times[index]) / NS, self.tz)
        tick = TickData(gateway_name=self.gateway_name, symbol=self.spec.symbol,
                        exchange=self.spec.exchange, datetime=moment,
                        name=f"{self.spec.name} (replay {self.day})")
        tick.extra = {"replay": self.day.isoformat()}   # not market data: never recorded
        for name, values in self.columns.items():
            setattr(tick, name, float(values[index]))
        return tick

    def status(self, real: float) -> ReplayStatus:
        state = "finished" if self.finished else "paused" if self.paused else "playing"
        return ReplayStatus(self.vt_symbol, self.day, self.source, state, self.speed,
                            self.virtual_now(real), int(self.times[0]), int(self.times[-1]),
                            self.position, len(self.times))


# ---------------------------------------------------------------------- loading from the store
def trading_days(times: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """The trading day of each time (as datetime64[D]), by `trading_day`'s rule,
    applied once per distinct (date, hour) rather than once per tick."""
    import pandas as pd      # here: the simulator starts with the terminal, pandas need not

    local = pd.DatetimeIndex(pd.to_datetime(times, utc=True)).tz_convert(tz)
    hours = local.floor("h")
    unique, inverse = np.unique(hours.asi8, return_inverse=True)
    days = [trading_day(moment.to_pydatetime())
            for moment in pd.DatetimeIndex(unique).tz_localize("UTC").tz_convert(tz)]
    return np.array(days, dtype="datetime64[D]")[inverse]


def available_days(store: MarketStore, symbol: str, exchange: Exchange,
                   source: str) -> list[date]:
    table = store.load_table(symbol, exchange, source)
    if table.num_rows == 0:
        return []
    days = np.unique(trading_days(table.column("datetime").to_numpy(), store.tz))
    return [day.astype(date) for day in days]


def load(store: MarketStore, symbol: str, exchange: Exchange, day: date, source: str,
         gateway_name: str) -> ReplayFeed:
    """The feed of one trading day of a stored series (ticks, or 1-minute bars)."""
    if source not in SOURCES:
        raise ReplayError(f"cannot replay {source!r} data; choose ticks or 1-minute bars")
    table = store.load_table(symbol, exchange, source)
    if table.num_rows == 0:
        raise ReplayError(f"the store holds no {source} data of {symbol}.{exchange.value}")
    times = table.column("datetime").to_numpy()
    keep = trading_days(times, store.tz) == np.datetime64(day, "D")
    if not keep.any():
        raise ReplayError(f"the store holds no {source} data of {symbol}.{exchange.value} "
                          f"for the trading day {day}")
    columns = {name: table.column(name).to_numpy()[keep] for name in table.column_names}
    first_price = columns.get("last_price", columns.get("open_price"))[0]
    try:
        spec = contracts.spec_for(symbol, exchange, float(first_price))
    except KeyError as exc:
        raise ReplayError(str(exc.args[0])) from exc
    if source == BAR_SOURCE:
        columns = ticks_from_bars(columns, spec.pricetick)
    return ReplayFeed(spec, day, source, columns, store.tz, gateway_name)


def ticks_from_bars(bars: dict[str, np.ndarray], pricetick: float) -> dict[str, np.ndarray]:
    """Four ticks per 1-minute bar, 15 s apart, with a one-tick book either side."""
    n = len(bars["datetime"])
    open_, high, low, close = (np.asarray(bars[k], float) for k in
                               ("open_price", "high_price", "low_price", "close_price"))
    rising = close >= open_             # a rising bar most likely dipped first
    path = np.stack([open_, np.where(rising, low, high), np.where(rising, high, low), close],
                    axis=1).ravel()
    times = (np.asarray(bars["datetime"], np.int64)[:, None]
             + np.array([0, 15, 30, 45], np.int64) * NS).ravel()
    traded = np.repeat(np.asarray(bars["volume"], float) / 4, 4)
    depth = np.maximum(1.0, np.ceil(traded))
    interest = np.repeat(np.asarray(bars.get("open_interest", np.zeros(n)), float), 4)
    return {
        "datetime": times, "last_price": path, "last_volume": traded,
        "volume": np.cumsum(traded), "open_interest": interest,
        "open_price": np.repeat(open_[:1], 4 * n), "high_price": np.maximum.accumulate(path),
        "low_price": np.minimum.accumulate(path),
        "bid_price_1": path - pricetick, "ask_price_1": path + pricetick,
        "bid_volume_1": depth, "ask_volume_1": depth,
    }
