"""Trading minutes between two moments: how far along a trend line a time lies.

A chart draws a trend line straight in bar positions, and at 1-minute bars a bar is a trading
minute, so a line's price at a time is linear in the trading minutes since its first anchor.
This counts them from the product's sessions (`market.sessions`), on China time (UTC+8; China
keeps no daylight saving time), with the exchanges' week: no trading on Saturday or Sunday
except the end of Friday's night session after midnight (Saturday 00:00-02:30 for gold), and
no night session on Sunday evening (Monday's after-midnight minutes are not traded either).

Exchange holidays are not known here (the terminal keeps no holiday calendar, like
`core.trading_day`): a holiday's minutes count as trading minutes. A trend line whose anchors
lie before a holiday therefore runs, in alerts, as many minutes further along as the holiday
had session minutes, where the chart, which counts the bars it holds, skips the holiday.

Counting is O(1): a week's cumulative count of traded minutes is made once per product.
"""

from __future__ import annotations

import functools

import numpy as np

from terminal.core.symbols import split_vt_symbol
from terminal.market import sessions

NS_PER_MINUTE = 60_000_000_000
CHINA_OFFSET_MINUTES = 8 * 60
MINUTES_PER_WEEK = 7 * sessions.MINUTES_PER_DAY
MORNING = 6 * 60            # minutes before this belong to the night before
# Day 0 of the epoch (1970-01-01) was a Thursday: weekday 3 with Monday as 0.
EPOCH_WEEKDAY = 3
SATURDAY = 5


class UnknownSessions(ValueError):
    """The product's trading sessions are not known, so its trading minutes cannot be."""


def week_mask(session_map: sessions.SessionMap) -> np.ndarray:
    """bool[7 * 1440]: whether each minute of a week (Monday 00:00 first, China time) trades."""
    traded = session_map.segment >= 0
    minute = np.arange(sessions.MINUTES_PER_DAY)
    after_midnight = traded & (minute < MORNING)       # the night before's session, continued
    rest = traded & ~after_midnight
    evening = rest & session_map.night                  # night sessions opening in the evening
    day = rest & ~session_map.night
    week = np.zeros((7, sessions.MINUTES_PER_DAY), dtype=bool)
    for weekday in range(7):
        if weekday < SATURDAY:                          # Monday to Friday: day and evening
            week[weekday] = day | evening
        if 1 <= weekday <= SATURDAY:                    # Tuesday to Saturday: after midnight
            week[weekday] |= after_midnight
    return week.ravel()


@functools.lru_cache(maxsize=256)
def _week_counts(vt_symbol: str) -> tuple[list[int], int]:
    """(count of traded minutes before each minute of the week, length 7*1440+1; the
    traded minutes of a whole week)."""
    symbol, exchange = split_vt_symbol(vt_symbol)
    found = sessions.sessions_for(symbol, exchange)
    if found is None:
        raise UnknownSessions(f"the trading sessions of {vt_symbol} are not known, so its "
                              f"trading minutes cannot be counted")
    mask = week_mask(sessions.build(found))
    counts = np.concatenate([[0], np.cumsum(mask)]).astype(np.int64).tolist()
    return counts, counts[-1]


# Cached: an alert's line asks for the same anchors and the same minute again and again.
@functools.lru_cache(maxsize=8192)
def _minutes_before(vt_symbol: str, time_ns: int) -> float:
    """Trading minutes from the epoch's week start to `time_ns` (a minute under way counts
    for the share of it that has passed, when it trades)."""
    counts, per_week = _week_counts(vt_symbol)
    whole, rest = divmod(int(time_ns), NS_PER_MINUTE)
    local = whole + CHINA_OFFSET_MINUTES
    day, minute = divmod(local, sessions.MINUTES_PER_DAY)
    week, weekday = divmod(day + EPOCH_WEEKDAY, 7)
    position = weekday * sessions.MINUTES_PER_DAY + minute
    before = week * per_week + counts[position]
    if rest and counts[position + 1] > counts[position]:
        return before + rest / NS_PER_MINUTE
    return float(before)


def trading_minutes_between(vt_symbol: str, a_ns: int, b_ns: int) -> float:
    """Trading minutes from `a_ns` to `b_ns` (UTC epoch ns), negative when b is before a;
    `UnknownSessions` for a product whose sessions are not known."""
    return _minutes_before(vt_symbol, b_ns) - _minutes_before(vt_symbol, a_ns)


def is_trading_minute(vt_symbol: str, time_ns: int) -> bool:
    """Whether the minute holding `time_ns` is a trading minute of the symbol's product."""
    start = int(time_ns) - int(time_ns) % NS_PER_MINUTE
    return trading_minutes_between(vt_symbol, start, start + NS_PER_MINUTE) == 1
