"""The exchanges' clock: China futures trade, settle and stamp their data in China time."""

from __future__ import annotations

from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")
