"""The live-performance domain on fills and bars made here: excursions to the minute, sources,
refusals (the journal-built session is in tests/services/test_performance.py)."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pytest
from vnpy.trader.constant import Direction, Offset

from terminal.backtest.live_performance import (MANUAL, ContractTerms, Fill, excursion,
                                                performance, source_of)
from terminal.core.timezone import CHINA_TZ, to_ns

RB = ContractTerms(size=10, pricetick=1)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 2, hour, minute, second, tzinfo=CHINA_TZ)


def bars(lows_highs: dict[int, tuple[float, float]]):
    """1-minute bars of 09:mm, stamped with their start."""
    minutes = sorted(lows_highs)
    return (np.array([to_ns(at(9, m)) for m in minutes], np.int64),
            np.array([lows_highs[m][1] for m in minutes]),
            np.array([lows_highs[m][0] for m in minutes]))


def fills(*rows) -> list[Fill]:
    return [Fill("rb2701.SHFE", direction, offset, price, volume, when, source)
            for direction, offset, price, volume, when, source in rows]


def one_trip(direction: Direction, entry: float, exit_: float, series, volume=1):
    back = Direction.SHORT if direction == Direction.LONG else Direction.LONG
    perf = performance(fills((direction, Offset.OPEN, entry, volume, at(9, 5, 30), "S"),
                             (back, Offset.CLOSE, exit_, volume, at(9, 8, 10), "S")),
                       {"rb2701.SHFE": RB}, date(2026, 11, 2), date(2026, 11, 2),
                       lambda symbol, first, last: series)
    return perf.trips[0]


# the minutes 09:05 .. 09:08 count; 09:04 and 09:09 lie outside (extremes that must not count)
SERIES = bars({4: (2000, 2500), 5: (2995, 3004), 6: (2992, 3001), 7: (2998, 3012),
               8: (2997, 3003), 9: (2000, 4000)})


def test_a_long_s_excursions_come_from_the_entry_minute_to_the_exit_minute():
    trip = one_trip(Direction.LONG, 3000, 3002, SERIES, volume=2)
    found = trip.excursion
    assert found.bars == 4
    assert (found.adverse, found.favourable) == (8 * 2 * 10, 12 * 2 * 10)
    assert (found.adverse_ticks, found.favourable_ticks) == (8, 12)


def test_a_short_s_excursions_are_the_other_way_round():
    found = one_trip(Direction.SHORT, 3000, 2999, SERIES).excursion
    assert (found.adverse, found.favourable) == (12 * 10, 8 * 10)


def test_no_bar_in_the_span_is_no_excursion_not_zero():
    assert one_trip(Direction.LONG, 3000, 3002, bars({20: (1, 9999)})).excursion is None
    assert one_trip(Direction.LONG, 3000, 3002, None).excursion is None


def test_fill_prices_bound_the_excursions_and_an_unknown_tick_gives_nan_ticks():
    trip = one_trip(Direction.LONG, 3000, 3030, bars({6: (2999, 3001)}))
    found = excursion(trip, bars({6: (2999, 3001)}), ContractTerms(size=10))
    assert found.favourable == 30 * 10            # the exit price was reached
    assert math.isnan(found.adverse_ticks)


def test_source_of_an_order_reference():
    assert source_of("CtaStrategy_DoubleMa") == "DoubleMa"
    assert source_of("CtaStrategy_") == MANUAL
    for reference in ("", None, "chart", "managed", "trader close", "g1.stop#1"):
        assert source_of(reference) == MANUAL


def test_a_contract_without_a_size_is_refused_never_sized_1():
    perf = performance(fills((Direction.LONG, Offset.OPEN, 100, 1, at(9, 1), "S"),
                             (Direction.SHORT, Offset.CLOSE, 110, 1, at(9, 2), "S")),
                       {"rb2701.SHFE": None}, date(2026, 11, 2), date(2026, 11, 2))
    assert perf.trips == [] and "rb2701.SHFE" in perf.refused
    assert perf.summary["closed_trades"] == 0 and perf.summary["total_net_pnl"] == 0


def test_per_lot_fees_are_charged_per_lot():
    terms = ContractTerms(size=10, pricetick=1, fee_per_lot=3, fees_known=True)
    perf = performance(fills((Direction.LONG, Offset.OPEN, 100, 2, at(9, 1), "S"),
                             (Direction.SHORT, Offset.CLOSE, 110, 2, at(9, 2), "S")),
                       {"rb2701.SHFE": terms}, date(2026, 11, 2), date(2026, 11, 2))
    assert perf.trips[0].fees == pytest.approx(3 * 2 * 2)
    assert perf.before_fees == []


def test_a_backwards_range_is_refused():
    with pytest.raises(ValueError, match="after it ends"):
        performance([], {}, date(2026, 11, 3), date(2026, 11, 2))
