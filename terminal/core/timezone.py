"""The exchanges' clock: China futures trade, settle and stamp their data in China time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_ns(moment: datetime, naive_tz: ZoneInfo = CHINA_TZ) -> int:
    """Nanoseconds since the epoch; a naive time is taken as `naive_tz` (China local)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_tz)
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000
