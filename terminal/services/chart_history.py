"""A chart's history: its bars at the timeframe the trader picked, and the last 1-minute bars
the chart rebuilds its latest bars from as live minutes arrive.

Asked in order, on the chart's worker thread: the market store (built from shorter stored
bars where that timeframe is not stored itself); else the connected gateway of the contract,
through vn.py's `MainEngine.query_history` (the simulated exchange answers with its simulated
history); else the configured vn.py datafeed. The answer says where the bars came from, for
the chart to show. Bars fetched from a gateway or a datafeed are not written to the store:
the Data dock's "Download history…" is how a trader stores them (a chart opened on a symbol
must not change the data a backtest reads).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from vnpy.trader.constant import Exchange, Interval
from vnpy.trader.object import BarData, HistoryRequest

from terminal.core.timezone import CHINA_TZ
from terminal.gateways.sim import SimGateway
from terminal.market.resample import resample, shortest_source
from terminal.services.errors import BadInput
from terminal.storage.market_store import BAR_FIELDS, MarketStore
from terminal.core.timezone import to_ns

log = logging.getLogger(__name__)

CHART_TIMEFRAMES = ("1m", "5m", "15m", "30m", "1h", "4h", "d")
TAIL_MINUTES = 3000          # 1-minute bars kept to extend a chart's last bars live
FETCH_DAYS = 30              # what a chart asks a gateway or a datafeed for: about 20 trading days
EMPTY = {"datetime": np.empty(0, np.int64)}


@dataclass(frozen=True)
class ChartHistory:
    bars: dict
    tail: dict
    source: str = ""         # "" from the store; else "simulated history", "from the CTP
                             # gateway", "from datafeed rqdata"; or why there is none
    problems: tuple[str, ...] = field(default=())


def chart_history(store: MarketStore, symbol: str, exchange: Exchange,
                  timeframe: str) -> tuple[dict, dict]:
    """A chart's bars at `timeframe` from the store, and the last 1-minute bars (to rebuild
    its latest bars as live minutes arrive). Built from the shortest stored bars that divide
    the timeframe (stored 1-minute bars usually); a series stored at the timeframe itself is
    used as is."""
    stored = {info.interval for info in store.series()
              if info.symbol == symbol and info.exchange == exchange}
    source = _best_source(stored, timeframe)
    if source is None:
        return EMPTY, EMPTY
    table = store.load_table(symbol, exchange, source)
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    return _at_timeframe(columns, source, timeframe, symbol, exchange, store.tz)


def _at_timeframe(columns: dict, source: str, timeframe: str, symbol: str,
                  exchange: Exchange, tz) -> tuple[dict, dict]:
    bars = columns if source == timeframe else resample(
        columns, source, timeframe, symbol, exchange, tz)
    tail = {name: values[-TAIL_MINUTES:] for name, values in columns.items()} \
        if source == "1m" else EMPTY
    return bars, tail


def _best_source(stored: set[str], timeframe: str) -> str | None:
    return timeframe if timeframe in stored else shortest_source(timeframe, stored)


def columns_of(bars: list[BarData]) -> dict[str, np.ndarray]:
    """Bars in time order as chart columns (naive times are China time, as vn.py's are;
    converted one by one: a few thousand take milliseconds, and pandas stays unloaded)."""
    times = [to_ns(bar.datetime) for bar in bars]
    ordered = [bars[i] for i in np.argsort(times, kind="stable")]
    return {"datetime": np.sort(np.array(times, np.int64), kind="stable"),
            **{name: np.array([getattr(bar, name) for bar in ordered], np.float64)
               for name in BAR_FIELDS}}


class ChartSources:
    """Where charts get history, in order (see the module's text). `datafeed` opens vn.py's
    configured datafeed (services.datafeed.open_datafeed with the settings and the keyring's
    password), or is None when none is configured. Charts load on their own worker threads:
    the datafeed is opened once, and a chart that asks while another is opening it waits and
    uses that one's datafeed, or its failure (not a second login with the same password)."""

    def __init__(self, store: MarketStore, main_engine=None, datafeed=None) -> None:
        self.store = store
        self.main_engine = main_engine
        self.datafeed = datafeed
        self._opened = None            # (name, datafeed) once opened
        self._opening = threading.Lock()
        self._attempts = 0             # openings finished, opened or failed
        self._failure: Exception | None = None   # the last one's, when it failed

    def history(self, symbol: str, exchange: Exchange, timeframe: str,
                now: datetime | None = None) -> ChartHistory:
        bars, tail = chart_history(self.store, symbol, exchange, timeframe)
        if len(bars["datetime"]):
            simulated = any(info.simulated for info in self.store.series()
                            if (info.symbol, info.exchange) == (symbol, exchange))
            return ChartHistory(bars, tail, "simulated history" if simulated else "")
        now = now or datetime.now(CHINA_TZ)
        problems = []
        for fetch in (self._from_gateway, self._from_datafeed):
            try:
                found = fetch(symbol, exchange, now - timedelta(days=FETCH_DAYS), now)
            except Exception as exc:  # noqa: BLE001 - a source that fails leaves the next one
                log.warning("chart history of %s.%s: %s", symbol, exchange.value, exc)
                problems.append(str(exc))
                continue
            if found is not None and found[0]:
                minutes, label = found
                bars, tail = _at_timeframe(columns_of(minutes), "1m", timeframe, symbol,
                                           exchange, self.store.tz)
                return ChartHistory(bars, tail, label, tuple(problems))
        return ChartHistory(EMPTY, EMPTY, "", tuple(problems))

    def _from_gateway(self, symbol: str, exchange: Exchange, start: datetime,
                      end: datetime) -> tuple[list[BarData], str] | None:
        engine = self.main_engine
        contract = engine.get_contract(f"{symbol}.{exchange.value}") if engine else None
        if contract is None:
            return None
        name = contract.gateway_name
        bars = engine.query_history(HistoryRequest(symbol, exchange, start, end,
                                                   Interval.MINUTE), name) or []
        simulated = isinstance(engine.get_gateway(name), SimGateway)
        return bars, "simulated history" if simulated else f"from the {name} gateway"

    def _from_datafeed(self, symbol: str, exchange: Exchange, start: datetime,
                       end: datetime) -> tuple[list[BarData], str] | None:
        if self.datafeed is None:
            return None
        opened = self._open_once()
        if opened is None:
            return None
        name, feed = opened
        messages: list[str] = []
        bars = feed.query_bar_history(HistoryRequest(symbol, exchange, start, end,
                                                     Interval.MINUTE), messages.append)
        if bars is None:
            raise BadInput(f"datafeed {name}: " + ("; ".join(map(str, messages))
                                                   or "no bars"))
        return bars, f"from datafeed {name}"

    def _open_once(self):
        """(name, datafeed), opened by the first chart that asks; None when none is set."""
        seen = self._attempts
        with self._opening:
            if self._opened is None:
                if self._attempts != seen and self._failure is not None:
                    raise self._failure      # failed while this chart waited for it
                try:
                    self._opened = self.datafeed()
                    self._failure = None
                except Exception as exc:
                    self._failure = exc
                    raise
                finally:
                    self._attempts += 1
            return self._opened
