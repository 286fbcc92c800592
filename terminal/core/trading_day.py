"""The China futures trading day: the night session trades for the next business day.

One rule for the simulated exchange, the journal and the risk gate's daily counts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from terminal.core.timezone import CHINA_TZ

EVENING = time(20, 0)           # from here on, a moment belongs to the next business day


def trading_day(moment: datetime) -> date:
    """The trading day a moment belongs to: evenings (from 20:00) count for the next business
    day, so Friday night trades for Monday. Exchange holidays are not modelled."""
    day = moment.date()
    if moment.time() >= EVENING:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def current_trading_day() -> date:
    """The trading day it is now, by the exchanges' (China) clock."""
    return trading_day(datetime.now(CHINA_TZ))
