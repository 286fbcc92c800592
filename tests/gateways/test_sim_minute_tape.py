"""The simulator's minute tape (`gateways.sim.history.MinuteTape`) puts each quote in the
minute it belongs to while it remembers the last quote's minute to skip most conversions:
a quote at the minute's last microsecond, the next minute's first, a quote stamped in another
zone or with no zone (China time), and one from an earlier minute all land where the
conversion of each alone puts them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from terminal.core.timezone import CHINA_TZ
from terminal.gateways.sim.history import MinuteTape, NS_PER_MINUTE
from terminal.core.timezone import to_ns

SYMBOL = "rb2701.SHFE"
TEN = datetime(2026, 12, 9, 10, 0, tzinfo=CHINA_TZ)


def _bars(tape: MinuteTape) -> list[tuple[datetime, float, float, float, float, float]]:
    """(start, open, high, low, close, volume) of every minute kept."""
    columns = tape.columns(SYMBOL, to_ns(TEN + timedelta(hours=1)), 10.0)
    starts = [TEN + timedelta(minutes=int(ns - to_ns(TEN)) // NS_PER_MINUTE)
              for ns in columns["datetime"].tolist()]
    return list(zip(starts, *(columns[name].tolist() for name in (
        "open_price", "high_price", "low_price", "close_price", "volume")), strict=True))


def test_a_quote_at_the_minutes_last_microsecond_closes_it_and_the_next_opens_a_bar():
    tape = MinuteTape()
    tape.add(SYMBOL, TEN, 3500.0, 100.0, 1.0)
    tape.add(SYMBOL, TEN + timedelta(seconds=30), 3504.0, 103.0, 1.0)
    tape.add(SYMBOL, TEN + timedelta(seconds=59, microseconds=999_999), 3502.0, 104.0, 1.0)
    tape.add(SYMBOL, TEN + timedelta(minutes=1), 3501.0, 110.0, 1.0)
    assert _bars(tape) == [(TEN, 3500.0, 3504.0, 3500.0, 3502.0, 4.0),
                           (TEN + timedelta(minutes=1), 3501.0, 3501.0, 3501.0, 3501.0, 6.0)]


def test_quotes_stamped_in_another_zone_or_none_go_to_the_same_instants_minute():
    tape = MinuteTape()
    tape.add(SYMBOL, TEN + timedelta(seconds=10), 3500.0, 100.0, 1.0)
    utc = (TEN + timedelta(seconds=20)).astimezone(timezone.utc)         # 02:00:20 UTC
    tape.add(SYMBOL, utc, 3503.0, 101.0, 1.0)
    naive = (TEN + timedelta(seconds=40)).replace(tzinfo=None)           # China time
    tape.add(SYMBOL, naive, 3499.0, 102.0, 1.0)
    tape.add(SYMBOL, (TEN + timedelta(minutes=1)).astimezone(timezone.utc), 3501.0, 105.0, 1.0)
    assert _bars(tape) == [(TEN, 3500.0, 3503.0, 3499.0, 3499.0, 2.0),
                           (TEN + timedelta(minutes=1), 3501.0, 3501.0, 3501.0, 3501.0, 3.0)]


def test_a_quote_of_an_earlier_minute_changes_no_bar():
    tape = MinuteTape()
    tape.add(SYMBOL, TEN + timedelta(minutes=1, seconds=5), 3500.0, 100.0, 1.0)
    tape.add(SYMBOL, TEN + timedelta(seconds=30), 3490.0, 101.0, 1.0)      # the clock went back
    tape.add(SYMBOL, TEN + timedelta(minutes=1, seconds=10), 3501.0, 103.0, 1.0)
    assert _bars(tape) == [(TEN + timedelta(minutes=1), 3500.0, 3501.0, 3500.0, 3501.0, 2.0)]
