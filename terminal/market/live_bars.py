"""1-minute bars of the symbols on charts, built on the event thread from every tick.

The bridge hands the GUI only the latest tick per symbol each frame; building bars there would
miss the highs and lows of ticks folded away in a burst. This service sees every tick (one
dictionary lookup for a symbol no chart shows) and keeps, per watched symbol, the bars
finished since the GUI last asked and the bar in progress.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter

from vnpy.trader.object import BarData, TickData

from terminal.market.bars import MinuteBarBuilder


KEEP = 2000          # finished bars kept per symbol for charts that have not asked yet


class LiveBars:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watchers: Counter[str] = Counter()
        self._builder = MinuteBarBuilder()
        self._finished: dict[str, list[BarData]] = {}
        self._first: dict[str, int] = {}       # sequence number of _finished[symbol][0]

    def watch(self, vt_symbol: str) -> int:
        """Start building `vt_symbol`'s bars; returns the position to `take` from."""
        with self._lock:
            self._watchers[vt_symbol] += 1
            finished = self._finished.setdefault(vt_symbol, [])
            return self._first.setdefault(vt_symbol, 0) + len(finished)

    def unwatch(self, vt_symbol: str) -> None:
        with self._lock:
            self._watchers[vt_symbol] -= 1
            if self._watchers[vt_symbol] <= 0:
                del self._watchers[vt_symbol]

    def on_tick(self, tick: TickData) -> None:
        """Event thread."""
        if tick.vt_symbol not in self._watchers:
            return
        with self._lock:
            done = self._builder.update(tick)
            if done is not None:
                finished = self._finished.setdefault(tick.vt_symbol, [])
                finished.append(done)
                extra = len(finished) - KEEP
                if extra > 0:
                    del finished[:extra]
                    self._first[tick.vt_symbol] = self._first.get(tick.vt_symbol, 0) + extra

    def take(self, vt_symbol: str, since: int) -> tuple[list[BarData], int, BarData | None]:
        """GUI thread: the bars finished from position `since` on, the position to ask from
        next time, and a copy of the bar in progress."""
        with self._lock:
            finished = self._finished.get(vt_symbol, [])
            first = self._first.get(vt_symbol, 0)
            bars = finished[max(0, since - first):]
            current = self._builder.current(vt_symbol)
            return bars, first + len(finished), copy.copy(current) if current else None
