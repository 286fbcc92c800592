"""Trading minutes between two moments, from the product's sessions and the exchanges' week."""

from __future__ import annotations

from datetime import datetime

import pytest

from terminal.core.timezone import CHINA_TZ
from terminal.market.trading_minutes import (UnknownSessions, is_trading_minute,
                                             trading_minutes_between)

MINUTE = 60_000_000_000


def ns(text: str) -> int:
    """China time `YYYY-MM-DD HH:MM[:SS]` as UTC epoch ns."""
    moment = datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)
    return int(moment.timestamp()) * 1_000_000_000


# 2026-11-16 is a Monday.
@pytest.mark.parametrize(("vt_symbol", "start", "end", "minutes"), [
    ("rb2701.SHFE", "2026-11-16 09:00", "2026-11-16 15:00", 75 + 60 + 90),   # a day session
    ("rb2701.SHFE", "2026-11-16 10:10", "2026-11-16 10:40", 5 + 10),         # over the break
    ("rb2701.SHFE", "2026-11-16 15:00", "2026-11-16 21:00", 0),
    ("rb2701.SHFE", "2026-11-16 09:00", "2026-11-17 09:00", 225 + 120),      # day + night
    ("rb2701.SHFE", "2026-11-20 21:00", "2026-11-23 09:00", 120),            # Friday night
    ("au2612.SHFE", "2026-11-20 21:00", "2026-11-23 09:00", 330),            # to 02:30 Sat
    ("au2612.SHFE", "2026-11-22 21:00", "2026-11-23 09:00", 0),              # no Sunday night
    ("IF2612.CFFEX", "2026-11-16 09:00", "2026-11-17 09:00", 240),
    ("IF2612.CFFEX", "2026-11-16 09:00", "2026-11-23 09:00", 5 * 240),       # a whole week
    ("IF2612.CFFEX", "2026-11-16 09:00", "2027-11-15 09:00", 52 * 5 * 240),  # 52 weeks
])
def test_minutes_follow_sessions_and_the_week(vt_symbol, start, end, minutes):
    assert trading_minutes_between(vt_symbol, ns(start), ns(end)) == minutes
    assert trading_minutes_between(vt_symbol, ns(end), ns(start)) == -minutes


def test_a_minute_under_way_counts_for_its_share_when_it_trades():
    start = ns("2026-11-16 09:30")
    assert trading_minutes_between("IF2612.CFFEX", start, start + MINUTE // 4) == 0.25
    lunch = ns("2026-11-16 12:00")
    assert trading_minutes_between("IF2612.CFFEX", lunch, lunch + MINUTE // 4) == 0


def test_trading_minutes_of_the_week_ends():
    assert is_trading_minute("au2612.SHFE", ns("2026-11-21 01:00"))        # Saturday 01:00
    assert not is_trading_minute("rb2701.SHFE", ns("2026-11-21 01:00"))    # rb closes at 23
    assert not is_trading_minute("au2612.SHFE", ns("2026-11-23 01:00"))    # Monday 01:00
    assert not is_trading_minute("au2612.SHFE", ns("2026-11-21 21:00"))    # Saturday night
    assert is_trading_minute("rb2701.SHFE", ns("2026-11-16 22:59:30"))
    assert not is_trading_minute("rb2701.SHFE", ns("2026-11-16 23:00"))


def test_a_product_without_known_sessions_is_refused_by_name():
    with pytest.raises(UnknownSessions, match=r"zz2701\.SHFE"):
        trading_minutes_between("zz2701.SHFE", 0, MINUTE)
