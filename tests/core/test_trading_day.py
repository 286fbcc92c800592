"""The trading day rule the simulator, the journal and the risk gate share."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from terminal.core.timezone import CHINA_TZ
from terminal.core.trading_day import trading_day


@pytest.mark.parametrize(("moment", "day"), [
    (datetime(2026, 11, 18, 9, 0), date(2026, 11, 18)),      # Wednesday morning
    (datetime(2026, 11, 18, 19, 59, 59), date(2026, 11, 18)),
    (datetime(2026, 11, 18, 20, 0), date(2026, 11, 19)),      # the evening: Thursday's
    (datetime(2026, 11, 18, 23, 30), date(2026, 11, 19)),
    (datetime(2026, 11, 19, 1, 0), date(2026, 11, 19)),       # after midnight: still Thursday
    (datetime(2026, 11, 20, 21, 0), date(2026, 11, 23)),      # Friday night: Monday's
    (datetime(2026, 11, 21, 2, 30), date(2026, 11, 23)),      # Saturday small hours: Monday's
    (datetime(2026, 11, 22, 12, 0), date(2026, 11, 23)),      # Sunday: Monday's
    (datetime(2026, 11, 20, 21, 0, tzinfo=CHINA_TZ), date(2026, 11, 23)),
])
def test_evenings_and_weekends_trade_for_the_next_business_day(moment, day):
    assert trading_day(moment) == day
