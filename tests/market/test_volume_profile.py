"""Volume profile: volume by price, the point of control and the 70% value area, against
answers worked out by hand (in each test's comments), and grouped by trading day."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from terminal.core.timezone import CHINA_TZ
from terminal.market import volume_profile as vp


def single_prices(volume_at: dict[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bars whose high and low are one price: all their volume at that price."""
    prices = np.array(list(volume_at), dtype=float)
    return prices, prices.copy(), np.array(list(volume_at.values()), dtype=float)


def test_the_value_area_of_the_cbot_example_by_pairs_of_rows():
    # CBOT's example table, total 555, 70% = 388.5. POC 106 (150). Next two above 107+108 = 170
    # against two below 105+104 = 130: above, 320. Then 109+110 = 60 against 130: below, 450,
    # which is over 388.5. Value area 104..108 (CBOT's one-row steps give 105..108).
    table = {101: 10, 102: 15, 103: 20, 104: 60, 105: 70, 106: 150, 107: 90, 108: 80,
             109: 50, 110: 10}
    profile = vp.build(*single_prices(table), tick=1)
    assert profile.ticks_per_row == 1 and profile.rows == 10
    assert profile.row_low(0) == 101 and profile.total == 555
    assert list(profile.volumes) == list(table.values())
    assert profile.poc_price == 106
    assert (profile.value_area_low, profile.value_area_high) == (104, 108)
    assert profile.value_area_volume == 450


def test_a_bar_spreads_its_volume_evenly_over_its_range():
    # 100..103 with 8 lots: 2 a tick; 101 alone with 3: 101 holds 5. Total 11, 70% = 7.7.
    # POC 101 (5); above 102+103 = 4 against below 100 = 2: above, 9 >= 7.7. VA 101..103.
    profile = vp.build(high=np.array([103.0, 101.0]), low=np.array([100.0, 101.0]),
                       volume=np.array([8.0, 3.0]), tick=1)
    assert list(profile.volumes) == [2, 5, 2, 2]
    assert profile.poc_price == 101
    assert (profile.value_area_low, profile.value_area_high) == (101, 103)


def test_rows_of_several_ticks_sit_on_the_grid_and_take_their_ticks_share():
    # Tick 0.5, rows of 2 ticks start at whole prices. A bar 100.5..101.5 with 6 lots: 2 at
    # each of 100.5, 101.0, 101.5. Row 100.0-100.5 holds 2, row 101.0-101.5 holds 4.
    profile = vp.build(high=np.array([101.5]), low=np.array([100.5]), volume=np.array([6.0]),
                       tick=0.5, ticks_per_row=2)
    assert list(profile.volumes) == [2, 4]
    assert (profile.row_low(0), profile.row_high(0)) == (100.0, 100.5)
    assert (profile.row_low(1), profile.row_high(1)) == (101.0, 101.5)
    assert profile.poc_price == 101.25                       # the middle of its row
    assert list(profile.edges()) == [99.75, 100.75, 101.75]
    # Rows of 2 ticks are the 1-tick rows added in aligned pairs, whatever the bars.
    rng = np.random.default_rng(5)
    low = np.round(3000 + rng.integers(0, 80, 500)) * 1.0
    high = low + rng.integers(0, 9, 500)
    volume = rng.integers(1, 100, 500).astype(float)
    fine, coarse = (vp.build(high, low, volume, 1, n) for n in (1, 2))
    padded = np.r_[np.zeros(fine.first_row % 2), fine.volumes]
    padded = np.r_[padded, np.zeros(len(padded) % 2)]
    assert np.allclose(coarse.volumes, padded.reshape(-1, 2).sum(axis=1))
    assert fine.total == pytest.approx(volume.sum())


def test_a_tied_point_of_control_is_the_row_nearest_the_middle():
    # Middle of 7 rows is row 3: of the tied rows 0, 2 and 5, row 2 is nearest.
    assert vp.point_of_control(np.array([5, 1, 5, 1, 1, 5, 1.0])) == 2
    # Middle of 4 rows is 1.5: rows 1 and 2 are equally near; the lower is taken.
    assert vp.point_of_control(np.array([1, 5, 5, 1.0])) == 1
    # Float noise is not a difference.
    assert vp.point_of_control(np.array([5 + 1e-12, 1, 5, 1, 1.0])) == 2


def test_equal_pairs_add_the_pair_above_and_an_ended_side_gives_way():
    # POC row 2 (10), total 22, 70% = 15.4. Rows 3+4 = 6 equal rows 1+0 = 6: above, 16, done.
    # Value area rows 2..4 (had the tie gone below: rows 0..2).
    assert vp.value_area(np.array([3, 3, 10, 3, 3.0]), 2) == (2, 4)
    # Total 24, 70% = 16.8: after the tie (above, 16), row 6 = 1 against rows 2+1 = 6: below.
    assert vp.value_area(np.array([1, 3, 3, 10, 3, 3, 1.0]), 3) == (1, 5)
    # At the bottom edge only the side above is left: 5 + (1 + 1) = 7 of 9 (70% = 6.3).
    assert vp.value_area(np.array([5, 1, 1, 1, 1.0]), 0) == (0, 2)
    # Near an end a pair is the one row left: below is row 0 alone (4) against 1 + 1.
    assert vp.value_area(np.array([4, 10, 1, 1, 0, 0.0]), 1) == (0, 1)
    # A POC holding 70% on its own is the value area.
    assert vp.value_area(np.array([1, 8, 1.0]), 1) == (1, 1)


def test_row_size_leaves_a_readable_number_of_rows():
    assert [vp.auto_ticks_per_row(span) for span in (1, 120, 121, 240, 241, 600, 601, 12001)] \
        == [1, 1, 2, 2, 5, 5, 10, 200]
    low = np.arange(0, 1000, dtype=float)
    profile = vp.build(low + 1, low, np.ones(1000), tick=1)     # 1,001 ticks: rows of 10
    assert profile.ticks_per_row == 10 and 60 <= profile.rows <= 120


def test_bars_that_traded_nothing_add_nothing_and_bad_input_is_named():
    assert vp.build(np.array([1.0]), np.array([1.0]), np.array([0.0]), tick=1) is None
    assert vp.build(np.array([]), np.array([]), np.array([]), tick=1) is None
    profile = vp.build(np.array([5.0, np.nan, 9.0]), np.array([5.0, 1.0, 9.0]),
                       np.array([2.0, 7.0, 0.0]), tick=1)
    assert profile.rows == 1 and profile.total == 2 and profile.poc_price == 5
    with pytest.raises(ValueError, match="price tick"):
        vp.build(np.array([1.0]), np.array([1.0]), np.array([1.0]), tick=0)
    with pytest.raises(ValueError, match="ticks a row"):
        vp.build(np.array([1.0]), np.array([1.0]), np.array([1.0]), tick=1, ticks_per_row=0)


def ns(*args) -> int:
    return int(datetime(*args, tzinfo=CHINA_TZ).timestamp()) * 10**9


def test_the_night_session_belongs_to_the_next_trading_day():
    # Friday night trades for Monday; Monday's night for Tuesday.
    times = np.array([ns(2023, 9, 22, 21, 0), ns(2023, 9, 22, 22, 59), ns(2023, 9, 25, 9, 0),
                      ns(2023, 9, 25, 14, 59), ns(2023, 9, 25, 21, 0), ns(2023, 9, 26, 9, 0)])
    days = vp.trading_days(times, CHINA_TZ)
    assert [date.fromordinal(int(d)) for d in days] == [date(2023, 9, 25)] * 4 + \
        [date(2023, 9, 26)] * 2
    assert vp.sessions(days) == [(0, 4), (4, 6)]
    high = np.array([3702.0, 3701, 3700, 3700, 3710, 3712])
    low = np.array([3700.0, 3700, 3700, 3699, 3710, 3710])
    volume = np.array([3.0, 2, 5, 2, 4, 3])
    # The 25th: 3700..3702 with 3 (1 a tick), 3700..3701 with 2 (1 a tick), 3700 with 5,
    # 3699..3700 with 2 (1 a tick): 3699 1, 3700 8, 3701 2, 3702 1. POC 3700, total 12,
    # 70% = 8.4: above 3701+3702 = 3 against 3699 = 1: above, 11. VA 3700..3702.
    # The 26th: 3710 with 4, 3710..3712 with 3 (1 a tick): 3710 5, 3711 1, 3712 1; POC 3710,
    # 70% of 7 = 4.9: the POC alone.
    first, second = vp.by_session(times, high, low, volume, tick=1, tz=CHINA_TZ,
                                  ticks_per_row=1)
    assert (first.day, first.start, first.stop) == (date(2023, 9, 25), 0, 4)
    assert list(first.profile.volumes) == [1, 8, 2, 1]
    assert (first.profile.poc_price, first.profile.value_area_low,
            first.profile.value_area_high) == (3700, 3700, 3702)
    assert (second.day, list(second.profile.volumes)) == (date(2023, 9, 26), [5, 1, 1])
    assert (second.profile.value_area_low, second.profile.value_area_high) == (3710, 3710)


def test_sessions_share_one_row_size_and_the_tick_is_read_from_prices():
    # Session ranges 100, 300 and 50 ticks: the median (100 ticks) in at most 60 rows.
    spans = [(0, 2), (2, 4), (4, 6)]
    high = np.array([100.0, 50, 300, 10, 50, 0])
    low = np.zeros(6)
    assert vp.session_row_ticks(high, low, spans, tick=1) == 2
    assert vp.infer_tick(np.array([4100.2, 4100.4, 4101.0, 4100.2])) == 0.2
    assert vp.infer_tick(np.array([3700.0, 3700.0])) is None


def test_minutes_fall_in_the_bar_that_holds_them():
    # Intraday bars are labelled by their start: 09:00 holds 09:00-09:29, 09:30 the rest.
    bars = np.array([ns(2023, 9, 25, 9, 0), ns(2023, 9, 25, 9, 30)])
    minutes = np.array([ns(2023, 9, 25, 8, 59), ns(2023, 9, 25, 9, 0), ns(2023, 9, 25, 9, 29),
                        ns(2023, 9, 25, 9, 30), ns(2023, 9, 25, 10, 14)])
    assert list(vp.bars_of_minutes(bars, minutes, False, CHINA_TZ)) == [-1, 0, 0, 1, 1]
    # Daily bars hold their trading day: Monday's night (21:00) is Tuesday's; no bar for
    # Wednesday.
    days = np.array([ns(2023, 9, 25, 0, 0), ns(2023, 9, 26, 0, 0)])
    minutes = np.array([ns(2023, 9, 25, 9, 0), ns(2023, 9, 25, 21, 0), ns(2023, 9, 26, 14, 59),
                        ns(2023, 9, 26, 21, 0)])
    assert list(vp.bars_of_minutes(days, minutes, True, CHINA_TZ)) == [0, 1, 1, -1]


def test_profiles_of_ranges_of_a_long_series_are_the_profiles_of_their_bars():
    rng = np.random.default_rng(11)
    count = 40_000
    close = np.round(3500 + np.cumsum(rng.normal(0, 1.5, count)))
    low = close - rng.integers(0, 5, count)
    high = close + rng.integers(0, 5, count)
    volume = rng.integers(0, 500, count).astype(float)
    ranges = RangesOf(high, low, volume)
    for first, stop in ((0, count), (123, 39_001), (5_000, 14_000), (8_191, 8_193), (0, 9_000)):
        ranges.check(first, stop)
    ranges.check(1_000, 30_000, ticks_per_row=3)
    # A bar inside a kept block changes (a live bar would), then one far beyond every price.
    high[20_000], low[20_000], volume[20_000] = close[20_000] + 40, close[20_000] - 3, 9_999.0
    ranges.blocks.changed(20_000)
    ranges.check(100, 39_000)
    high[30_000], volume[30_000] = high.max() + 2_000, 5.0
    ranges.blocks.changed(30_000)
    ranges.check(100, 39_000)
    # Bars from elsewhere (live minutes not in the series) join the range's.
    extra = (np.array([3000.0, 4000.0]), np.array([2990.0, 4000.0]), np.array([77.0, 1.0]))
    got = ranges.blocks.profile(high, low, volume, 100, 39_000, extra=extra)
    want = vp.build(np.r_[high[100:39_000], extra[0]], np.r_[low[100:39_000], extra[1]],
                    np.r_[volume[100:39_000], extra[2]], 1.0)
    assert (got.first_row, got.rows, got.poc, got.value_low, got.value_high) == \
        (want.first_row, want.rows, want.poc, want.value_low, want.value_high)
    assert np.allclose(got.volumes, want.volumes, rtol=1e-9, atol=1e-9)


class RangesOf:
    def __init__(self, high, low, volume) -> None:
        self.high, self.low, self.volume = high, low, volume
        self.blocks = vp.RangeProfiles(tick=1.0)

    def check(self, first: int, stop: int, ticks_per_row: int | None = None) -> None:
        got = self.blocks.profile(self.high, self.low, self.volume, first, stop, ticks_per_row)
        want = vp.build(self.high[first:stop], self.low[first:stop], self.volume[first:stop],
                        1.0, ticks_per_row)
        assert (got.first_row, got.ticks_per_row, got.rows) == \
            (want.first_row, want.ticks_per_row, want.rows), (first, stop)
        assert np.allclose(got.volumes, want.volumes, rtol=1e-9, atol=1e-9), (first, stop)
        assert (got.poc, got.value_low, got.value_high) == \
            (want.poc, want.value_low, want.value_high), (first, stop)
