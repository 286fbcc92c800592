"""History downloaded into the market store, for `data download` and the Data dock's
"Download history…".

Sources: "sim", the simulated exchange's history for a seed, made here without an event loop
or a connection (gateways/sim/history.py); "gateway", a connected gateway through vn.py's
`MainEngine.query_history` (the simulator's answers are marked simulated too); "datafeed",
vn.py's configured datafeed (services/datafeed.py opens it).

The range is asked for in chunks, oldest first (a few days of minutes each), so that a long
download shows its progress and can be cancelled between two requests. Each chunk is checked
(symbol, a time for each bar and within the chunk, prices consistent, volume, turnover and open
interest real numbers, not NaN or negative) and stored whole before the next is asked
for: a cancelled or failed download keeps the chunks already stored, a prefix of the range
with no hole in it, and says so; a chunk that fails its check stores nothing of itself.
Bars are never mixed into a series of the other source (simulated or market): that is
refused before anything is asked for.
"""

from __future__ import annotations

import itertools
import math
import numbers
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData, HistoryRequest

from terminal.core.symbols import BadSymbol, split_vt_symbol
from terminal.core.timezone import CHINA_TZ
from terminal.gateways.sim import SimGateway
from terminal.gateways.sim.history import MinuteTape, SimStart, bars_of, history
from terminal.market import contracts
from terminal.services.errors import BadInput
from terminal.storage.market_store import MARKET, MarketStore
from terminal.core.timezone import to_ns

SOURCES = ("sim", "gateway", "datafeed")
INTERVALS = {"1m": Interval.MINUTE, "1h": Interval.HOUR, "d": Interval.DAILY}
CHUNK_DAYS = {"1m": 5, "1h": 60, "d": 400}
DEFAULT_DAYS = 30            # the range when no start is given: about 20 trading days

Fetch = Callable[[str, Exchange, Interval, datetime, datetime], list[BarData]]
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class Download:
    """What to download, checked: a listed interval and a range that is one."""
    symbol: str
    exchange: Exchange
    interval: str
    start: datetime          # China time, aware
    end: datetime

    @property
    def vt_symbol(self) -> str:
        return f"{self.symbol}.{self.exchange.value}"


@dataclass(frozen=True)
class Source:
    """Where bars come from: its name for the trader ("simulated history (seed 7)", "the
    CTP gateway", "datafeed rqdata"), the store's mark for them and how to ask."""
    label: str
    store_source: str        # MARKET, or "sim"
    fetch: Fetch = field(repr=False)


@dataclass(frozen=True)
class Downloaded:
    download: Download
    source: Source
    rows: int
    chunks: int              # stored
    of_chunks: int
    first: datetime | None   # of the bars stored
    last: datetime | None
    cancelled: bool = False

    @property
    def complete(self) -> bool:
        return self.chunks == self.of_chunks

    def summary(self) -> str:
        span = f" from {self.first:%Y-%m-%d %H:%M} to {self.last:%Y-%m-%d %H:%M}" \
            if self.first else ""
        done = (f"{self.rows:,} {self.download.interval} bars of {self.download.vt_symbol}"
                f"{span} from {self.source.label}")
        if self.cancelled:
            return (f"cancelled after {self.chunks} of {self.of_chunks} requests: kept {done}"
                    if self.rows else "cancelled: nothing stored")
        if self.rows:
            return f"stored {done}"
        return (f"{self.source.label} has no {self.download.interval} bars of "
                f"{self.download.vt_symbol} in that range: nothing stored")


def check_download(vt_symbol: str, interval: str, start: datetime | None = None,
                   end: datetime | None = None, now: datetime | None = None) -> Download:
    """The request checked: BadInput names the symbol, interval or date that is wrong.
    Naive times are China time; no end is now, no start DEFAULT_DAYS before the end."""
    try:
        symbol, exchange = split_vt_symbol(vt_symbol)
    except BadSymbol as exc:
        raise BadInput(str(exc)) from None
    if interval not in INTERVALS:
        raise BadInput(f"interval {interval!r}: history is downloaded as "
                       f"{', '.join(INTERVALS)} bars")
    end = _aware(end) if end is not None else (now or datetime.now(CHINA_TZ))
    start = _aware(start) if start is not None else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise BadInput(f"start {start:%Y-%m-%d %H:%M} is not before end {end:%Y-%m-%d %H:%M}")
    return Download(symbol, Exchange(exchange), interval, start, end)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=CHINA_TZ) if moment.tzinfo is None else moment


def chunks(download: Download) -> list[tuple[datetime, datetime]]:
    """The range in half-open pieces of CHUNK_DAYS, oldest first (the last ends at the end,
    included)."""
    step = timedelta(days=CHUNK_DAYS[download.interval])
    count = max(1, math.ceil((download.end - download.start) / step))
    edges = [download.start + step * n for n in range(count)] + [download.end]
    return list(itertools.pairwise(edges))


# ---------------------------------------------------------------------- sources
def sim_source(seed: int, now: datetime | None = None) -> Source:
    """The simulated exchange's history as a run started `now` would answer it: ending at each
    contract's starting price. Seed 0 (a new one each start, as the setting means) picks one,
    named in the label so that it can be made again."""
    seed = seed or random.SystemRandom().randrange(1, 2**31)
    moment = now or datetime.now(CHINA_TZ)
    start = SimStart(seed, moment, {spec.vt_symbol: spec.base_price for spec in contracts.SPECS})
    made: dict[tuple[str, Interval], dict] = {}

    def fetch(symbol: str, exchange: Exchange, interval: Interval, first: datetime,
              last: datetime) -> list[BarData]:
        spec = contracts.find(f"{symbol}.{exchange.value}")
        if spec is None:
            raise BadInput(f"{symbol}.{exchange.value} is not a contract the simulated "
                           "exchange lists (its contracts: "
                           f"{', '.join(s.vt_symbol for s in contracts.SPECS[:4])} ...)")
        key = (spec.vt_symbol, interval)
        if key not in made:      # made once, from the first (oldest) chunk on, then sliced
            made[key] = history(spec, start, MinuteTape(), moment, interval, first)
        columns = made[key]
        times = columns["datetime"]
        low, high = (int(times.searchsorted(to_ns(first), "left")),
                     int(times.searchsorted(to_ns(last), "right")))
        return bars_of(spec, {k: v[low:high] for k, v in columns.items()}, "SIM", interval)

    return Source(f"simulated history (seed {seed})", "sim", fetch)


def gateway_source(main_engine, gateway_name: str) -> Source:
    """A connected gateway's history through vn.py's `MainEngine.query_history`."""
    gateway = main_engine.get_gateway(gateway_name)
    if gateway is None:
        raise BadInput(f"no gateway named {gateway_name!r}")
    simulated = isinstance(gateway, SimGateway)

    def fetch(symbol: str, exchange: Exchange, interval: Interval, first: datetime,
              last: datetime) -> list[BarData]:
        request = HistoryRequest(symbol, exchange, first, last, interval)
        return main_engine.query_history(request, gateway_name) or []

    label = "the simulated exchange's history" if simulated else f"the {gateway_name} gateway"
    return Source(label, "sim" if simulated else MARKET, fetch)


def datafeed_source(datafeed, name: str) -> Source:
    """vn.py's datafeed (opened by services.datafeed.open_datafeed)."""
    messages: list[str] = []

    def fetch(symbol: str, exchange: Exchange, interval: Interval, first: datetime,
              last: datetime) -> list[BarData]:
        messages.clear()
        request = HistoryRequest(symbol, exchange, first, last, interval)
        bars = datafeed.query_bar_history(request, messages.append)
        if bars is None:
            raise BadInput(f"datafeed {name} could not give {symbol}.{exchange.value}: "
                           + ("; ".join(map(str, messages)) or "no reason given"))
        return bars

    return Source(f"datafeed {name}", MARKET, fetch)


# ---------------------------------------------------------------------- downloading
def download_history(store: MarketStore, download: Download, source: Source,
                     progress: Progress | None = None,
                     cancel: threading.Event | Callable[[], bool] | None = None) -> Downloaded:
    """Ask `source` for the range chunk by chunk and store each whole; returns what was stored.
    `progress(percent, text)` hears each step; `cancel` (an Event, or a callable answering
    True) is looked at before each request. BadInput when the series holds bars of the other
    source, when the source refuses the symbol, or when a chunk's bars are not sound (that
    chunk is not stored; those before it are)."""
    held = store.source_of(download.symbol, download.exchange, download.interval)
    if store.catalogue.get(download.symbol, download.exchange.value, download.interval) \
            and held != source.store_source:
        raise BadInput(
            f"{download.vt_symbol} {download.interval} in the store holds "
            f"{'simulated' if held else 'market'} bars; {source.label} is "
            f"{'simulated' if source.store_source else 'market data'}: delete the series "
            "first to replace it")
    cancelled = (cancel.is_set if isinstance(cancel, threading.Event) else cancel) \
        or (lambda: False)
    step = progress or (lambda percent, text: None)
    pieces = chunks(download)
    interval = INTERVALS[download.interval]
    rows, stored, first, last = 0, 0, None, None
    for number, (start, end) in enumerate(pieces):
        if cancelled():
            return Downloaded(download, source, rows, stored, len(pieces), first, last, True)
        step(number * 100 // len(pieces), f"{download.vt_symbol} {download.interval}: "
             f"{start:%Y-%m-%d} to {end:%Y-%m-%d} from {source.label}")
        closing = number == len(pieces) - 1
        bars = _checked(source.fetch(download.symbol, download.exchange, interval, start, end),
                        download, source, start, end, closing)
        if bars:
            store.save_bars(bars, source.store_source)
            rows += len(bars)
            first = first or bars[0].datetime
            last = bars[-1].datetime
        stored += 1
    step(100, f"{download.vt_symbol} {download.interval}: {rows:,} bars stored")
    return Downloaded(download, source, rows, stored, len(pieces), first, last)


def _checked(bars: list[BarData], download: Download, source: Source, start: datetime,
             end: datetime, closing: bool) -> list[BarData]:
    """The chunk's bars within [start, end) ([start, end] for the last chunk), in time order,
    each of the symbol asked and consistent; BadInput naming the first that is not. Copies:
    the store is handed nothing a source may still hold."""
    low, high = to_ns(start), to_ns(end)
    kept: dict[int, BarData] = {}
    interval = INTERVALS[download.interval]
    for number, bar in enumerate(bars, 1):
        timed = isinstance(bar.datetime, datetime)
        name = (f"bar {bar.datetime:%Y-%m-%d %H:%M}" if timed else f"bar number {number}") \
            + f" of {bar.vt_symbol} from {source.label}"
        if not timed:
            raise BadInput(f"{name}: datetime {bar.datetime!r} is not a time")
        if (bar.symbol, bar.exchange) != (download.symbol, download.exchange):
            raise BadInput(f"{name}: asked for {download.vt_symbol}")
        prices = (bar.open_price, bar.high_price, bar.low_price, bar.close_price)
        if not all(_finite(p) and p > 0 for p in prices) or not (
                bar.low_price <= min(bar.open_price, bar.close_price)
                and bar.high_price >= max(bar.open_price, bar.close_price)):
            raise BadInput(f"{name}: open {_shown(bar.open_price)}, high "
                           f"{_shown(bar.high_price)}, low {_shown(bar.low_price)}, close "
                           f"{_shown(bar.close_price)} are not a bar")
        for field_name in ("volume", "turnover", "open_interest"):
            value = getattr(bar, field_name)
            if not (_finite(value) and value >= 0):
                raise BadInput(f"{name}: {field_name} {_shown(value)}")
        moment = to_ns(bar.datetime)
        if low <= moment < high or (closing and moment == high):
            copy = BarData(gateway_name=bar.gateway_name, symbol=bar.symbol,
                           exchange=bar.exchange, datetime=bar.datetime, interval=interval,
                           volume=bar.volume, turnover=bar.turnover,
                           open_interest=bar.open_interest, open_price=bar.open_price,
                           high_price=bar.high_price, low_price=bar.low_price,
                           close_price=bar.close_price)
            kept[moment] = copy
    return [kept[moment] for moment in sorted(kept)]


def _finite(value) -> bool:
    """A real number that is not NaN or infinite (a source may hand None or a string)."""
    return isinstance(value, numbers.Real) and math.isfinite(value)


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, numbers.Real) else repr(value)
