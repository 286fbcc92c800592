"""1-minute bars built from a live tick stream, one contract or many.

The rules are vn.py's `BarGenerator`'s, so bars recorded live, drawn on a chart and fed to
strategies agree: ticks without a last price are skipped; a bar opens with the first tick of
its minute and is labelled by the minute's start; a new day high or low reported by the
exchange between two ticks is absorbed; volume and turnover are the change of the running
totals since the previous tick (never negative); open interest is the last one seen.

Two things vn.py leaves out and a recorder needs: a bar can be closed by the clock when its
minute is over and no tick came to close it (the last bar before a break), and a tick stamped
before the bar in progress (late delivery) does not reopen a finished minute; its volume is
counted in the next bar instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vnpy.trader.constant import Interval
from vnpy.trader.object import BarData, TickData

MINUTE = timedelta(minutes=1)


@dataclass
class _Last:
    volume: float
    turnover: float
    high: float
    low: float


class MinuteBarBuilder:
    def __init__(self) -> None:
        self._open: dict[str, BarData] = {}
        self._last: dict[str, _Last] = {}
        self._closed_until: dict[str, datetime] = {}

    def update(self, tick: TickData) -> BarData | None:
        """Take a tick; returns the bar it finished, if any."""
        if not tick.last_price:
            return None
        key = tick.vt_symbol
        minute = tick.datetime.replace(second=0, microsecond=0)
        bar = self._open.get(key)
        done = None
        if (bar is not None and minute < bar.datetime) or (
            key in self._closed_until and minute < self._closed_until[key]
        ):
            return None                       # late: its volume goes to the next bar
        if bar is None or minute != bar.datetime:
            done = self._open.pop(key, None)
            if done is not None:
                self._closed_until[key] = done.datetime + MINUTE
            bar = BarData(
                gateway_name=tick.gateway_name, symbol=tick.symbol, exchange=tick.exchange,
                datetime=minute, interval=Interval.MINUTE, open_price=tick.last_price,
                high_price=tick.last_price, low_price=tick.last_price,
                close_price=tick.last_price, open_interest=tick.open_interest,
            )
            self._open[key] = bar
        else:
            bar.high_price = max(bar.high_price, tick.last_price)
            bar.low_price = min(bar.low_price, tick.last_price)
            bar.close_price = tick.last_price
            bar.open_interest = tick.open_interest
        last = self._last.get(key)
        if last is not None:
            if tick.high_price and tick.high_price > last.high:
                bar.high_price = max(bar.high_price, tick.high_price)
            if tick.low_price and tick.low_price < last.low:
                bar.low_price = min(bar.low_price, tick.low_price)
            bar.volume += max(tick.volume - last.volume, 0.0)
            bar.turnover += max(tick.turnover - last.turnover, 0.0)
        self._last[key] = _Last(tick.volume, tick.turnover, tick.high_price, tick.low_price)
        return done

    def close_ended(self, now: datetime) -> list[BarData]:
        """Finish every bar whose minute is over by `now` (exchange time)."""
        done = [bar for bar in self._open.values() if bar.datetime + MINUTE <= now]
        for bar in done:
            del self._open[bar.vt_symbol]
            self._closed_until[bar.vt_symbol] = bar.datetime + MINUTE
        return done

    def current(self, vt_symbol: str) -> BarData | None:
        """The bar in progress (shared, not a copy: read it, do not keep it)."""
        return self._open.get(vt_symbol)

    def open_bars(self) -> list[BarData]:
        return list(self._open.values())
