"""The simulated exchange's history (`query_history`): the same bars for a seed, only inside
the contract's sessions on weekdays, ending at the price and minute its live market starts
from, then the minutes that market has made since."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from vnpy.trader.constant import Direction, Exchange, Interval
from vnpy.trader.object import HistoryRequest, PositionData

from terminal.core.timezone import CHINA_TZ
from terminal.core.trading_day import trading_day
from terminal.gateways.sim import SimGateway
from terminal.gateways.sim.clock import ManualClock
from terminal.gateways.sim.history import (HISTORY_DAYS, NIGHTS_CLOSED, contract_seed,
                                           simulated_columns, trading_minutes)
from terminal.market import contracts, sessions
from terminal.market.prices import is_on_tick
from terminal.storage.market_store import from_ns
from terminal.core.timezone import to_ns

from tests.helpers import drained

END = datetime(2026, 12, 9, 10, 20, 30, tzinfo=CHINA_TZ)      # a Wednesday, in the break
SPECS = {spec.vt_symbol: spec for spec in contracts.SPECS}


def _gateway(seed: int, specs=None, clock_start: datetime = END, restore=None):
    from terminal.core.events import IsolatedEventEngine

    engine = IsolatedEventEngine()
    engine.start()
    gateway = SimGateway(engine)
    if specs is not None:
        gateway.specs = specs
    gateway.clock = ManualClock(clock_start)
    gateway.connect({"quote_rate": 2.0, "seed": seed, "restore": restore or {}})
    return engine, gateway


def _request(vt_symbol: str, start=None, end=None, interval=Interval.MINUTE) -> HistoryRequest:
    symbol, exchange = vt_symbol.split(".")
    return HistoryRequest(symbol, Exchange(exchange), start or END - timedelta(days=400), end,
                          interval)


def _stop(engine, gateway) -> None:
    gateway.close()
    engine.stop()


@pytest.mark.parametrize("vt_symbol", ["rb2701.SHFE", "au2702.SHFE", "IF2612.CFFEX",
                                       "T2703.CFFEX", "c2705.DCE"])
def test_bars_lie_inside_the_sessions_on_weekdays_and_cover_twenty_trading_days(vt_symbol):
    spec = SPECS[vt_symbol]
    columns = simulated_columns(spec, 7, END, spec.base_price)
    times = from_ns(columns["datetime"], CHINA_TZ)
    mapped = sessions.build(spec.sessions)
    minutes = np.array([t.hour * 60 + t.minute for t in times])
    assert (mapped.segment[minutes] >= 0).all()
    days = [trading_day(t) for t in times]
    assert all(day.weekday() < 5 for day in days)
    # Night bars are the next trading day's: Friday evening and Saturday's small hours
    # belong to Monday, and no bar of a weekend day is of the day session.
    for moment, day in zip(times, days, strict=True):
        if moment.weekday() >= 5:
            assert moment.hour < 3 and day.weekday() == 0
    full_days = sorted(set(days))[:-1] if trading_day(END) in days else sorted(set(days))
    assert len(full_days) >= HISTORY_DAYS
    per_day = len(mapped.segment[mapped.segment >= 0])
    assert all(days.count(day) == per_day for day in full_days)
    assert np.all(np.diff(columns["datetime"]) > 0)


@pytest.mark.parametrize("vt_symbol", ["rb2701.SHFE", "au2702.SHFE", "sc2701.INE",
                                       "IF2612.CFFEX", "T2703.CFFEX"])
def test_prices_are_on_the_grid_consistent_and_end_at_the_start_price(vt_symbol):
    spec = SPECS[vt_symbol]
    columns = simulated_columns(spec, 11, END, spec.base_price)
    assert columns["close_price"][-1] == spec.base_price
    assert to_ns(END.replace(second=0)) > columns["datetime"][-1]
    opens, highs = columns["open_price"], columns["high_price"]
    lows, closes = columns["low_price"], columns["close_price"]
    assert np.all(lows <= np.minimum(opens, closes)) and np.all(highs >= np.maximum(opens,
                                                                                   closes))
    for name in ("open_price", "high_price", "low_price", "close_price"):
        assert all(is_on_tick(price, spec.pricetick) for price in columns[name])
        assert np.all(np.abs(columns[name] / spec.base_price - 1) <= 0.25)
    assert np.all(columns["volume"] >= 1) and np.all(columns["open_interest"] >= 0)
    assert np.all(columns["turnover"] > 0)


def test_the_same_seed_makes_the_same_bars_and_more_days_only_add_older_ones():
    spec = SPECS["rb2701.SHFE"]
    once = simulated_columns(spec, 5, END, 3300)
    again = simulated_columns(spec, 5, END, 3300)
    other = simulated_columns(spec, 6, END, 3300)
    longer = simulated_columns(spec, 5, END, 3300, days=30)
    for name in once:
        assert np.array_equal(once[name], again[name])
        assert np.array_equal(longer[name][-len(once[name]):], once[name])
    assert len(longer["datetime"]) > len(once["datetime"])
    assert not np.array_equal(once["close_price"], other["close_price"])
    # The seed of a contract is its own, by a stable hash: a fixed value on any machine.
    assert contract_seed(5, "rb2701.SHFE").entropy == contract_seed(5, "rb2701.SHFE").entropy
    assert contract_seed(5, "rb2701.SHFE").entropy != contract_seed(5, "hc2701.SHFE").entropy
    assert contract_seed(0, "x").entropy == 0x9c2e3ea8bc6c8d6cce5ab1feb420296f


def test_a_friday_evening_start_counts_the_days_before_monday_and_a_weekend_one_ends_friday():
    spec = SPECS["rb2701.SHFE"]
    friday_evening = datetime(2026, 12, 11, 21, 30, tzinfo=CHINA_TZ)
    times = from_ns(trading_minutes(spec, friday_evening), CHINA_TZ)
    assert times[-1] == datetime(2026, 12, 11, 21, 29, tzinfo=CHINA_TZ)   # Monday's night
    assert trading_day(times[-1]).weekday() == 0
    # At the weekend the history ends with Friday's day session: the live simulator trades
    # through the weekend, and its Saturday minutes must come after the history's.
    saturday = datetime(2026, 12, 12, 10, 0, tzinfo=CHINA_TZ)
    times = from_ns(trading_minutes(spec, saturday), CHINA_TZ)
    assert times[-1] == datetime(2026, 12, 11, 14, 59, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(("vt_symbol", "night_end"), [("au2702.SHFE", (2, 29)),
                                                      ("cu2701.SHFE", (0, 59))])
def test_a_start_in_saturdays_small_hours_keeps_friday_nights_session_as_one_before_midnight(
        vt_symbol, night_end):
    spec = SPECS[vt_symbol]
    friday_night = datetime(2026, 12, 11, 21, 0, tzinfo=CHINA_TZ)

    def ending(moment):
        times = from_ns(trading_minutes(spec, moment), CHINA_TZ)
        return times[-1], friday_night in set(times)

    # Either side of midnight, the night session the run starts in is history up to it.
    assert ending(datetime(2026, 12, 11, 23, 59, tzinfo=CHINA_TZ)) == (
        datetime(2026, 12, 11, 23, 58, tzinfo=CHINA_TZ), True)
    assert ending(datetime(2026, 12, 12, 0, 0, tzinfo=CHINA_TZ)) == (
        datetime(2026, 12, 11, 23, 59, tzinfo=CHINA_TZ), True)
    assert ending(datetime(2026, 12, 12, 0, 30, tzinfo=CHINA_TZ)) == (
        datetime(2026, 12, 12, 0, 29, tzinfo=CHINA_TZ), True)
    # Up to six o'clock the whole night is kept; from then on, the weekend ends on Friday.
    last_night = datetime(2026, 12, 12, *night_end, tzinfo=CHINA_TZ)
    assert ending(datetime(2026, 12, 12, NIGHTS_CLOSED - 1, 59, tzinfo=CHINA_TZ)) == (
        last_night, True)
    assert trading_day(last_night).weekday() == 0
    assert ending(datetime(2026, 12, 12, NIGHTS_CLOSED, 0, tzinfo=CHINA_TZ)) == (
        datetime(2026, 12, 11, 14, 59, tzinfo=CHINA_TZ), False)


def test_every_night_session_has_closed_by_the_hour_saturdays_history_drops_it():
    ends = {end for spec in contracts.SPECS for start, end in spec.sessions
            if end < start}                          # the night sessions that pass midnight
    assert ends and max(ends).hour < NIGHTS_CLOSED


def test_query_history_ends_at_the_start_and_is_the_same_for_a_seed_whatever_else_is_listed():
    rb = SPECS["rb2701.SHFE"]
    engine, gateway = _gateway(9)
    alone_engine, alone = _gateway(9, specs=(rb,))
    other_engine, other = _gateway(10)
    try:
        bars = gateway.query_history(_request("rb2701.SHFE"))
        assert [b.__dict__ for b in alone.query_history(_request("rb2701.SHFE"))] == \
            [b.__dict__ for b in bars]
        assert [b.close_price for b in other.query_history(_request("rb2701.SHFE"))] != \
            [b.close_price for b in bars]
    finally:
        for pair in ((engine, gateway), (alone_engine, alone), (other_engine, other)):
            _stop(*pair)
    assert bars[-1].close_price == gateway.start.prices["rb2701.SHFE"] == rb.base_price
    assert bars[-1].datetime < END.replace(second=0)
    assert {b.gateway_name for b in bars} == {"SIM"}
    assert {b.interval for b in bars} == {Interval.MINUTE}
    assert len({trading_day(b.datetime) for b in bars}) >= HISTORY_DAYS


def test_query_history_clips_to_the_request_and_builds_hours_and_days():
    engine, gateway = _gateway(9)
    try:
        start = datetime(2026, 12, 7, 9, 0, tzinfo=CHINA_TZ)
        end = datetime(2026, 12, 8, 14, 0, tzinfo=CHINA_TZ)
        minutes = gateway.query_history(_request("IF2612.CFFEX", start, end))
        hours = gateway.query_history(_request("IF2612.CFFEX", interval=Interval.HOUR))
        days = gateway.query_history(_request("IF2612.CFFEX", interval=Interval.DAILY))
        ticks = gateway.query_history(_request("IF2612.CFFEX", interval=Interval.TICK))
        unknown = gateway.query_history(_request("rb2401.SHFE"))
    finally:
        _stop(engine, gateway)
    assert minutes[0].datetime == datetime(2026, 12, 7, 9, 30, tzinfo=CHINA_TZ)
    assert minutes[-1].datetime == end
    assert {b.interval for b in hours} == {Interval.HOUR} and len(hours) > 20 * 4
    assert {b.interval for b in days} == {Interval.DAILY}
    assert days[-1].close_price == SPECS["IF2612.CFFEX"].base_price
    assert ticks == [] and unknown == []


def test_after_a_restart_at_a_mark_the_history_ends_there():
    position = PositionData("SIM", "rb2701", Exchange.SHFE, Direction.LONG, volume=2,
                            price=3300, pnl=2 * 10 * 40.0)
    engine, gateway = _gateway(9, restore={"positions": [position]})
    try:
        bars = gateway.query_history(_request("rb2701.SHFE"))
    finally:
        _stop(engine, gateway)
    assert bars[-1].close_price == 3340


def test_the_minutes_the_market_made_since_the_start_follow_the_history_without_a_gap():
    engine, gateway = _gateway(9, clock_start=END.replace(second=0) + timedelta(hours=3))
    try:
        gateway.advance(150)                                # 13:20 .. 13:22:30
        drained(engine)
        bars = gateway.query_history(_request("rb2701.SHFE"))
    finally:
        _stop(engine, gateway)
    start = gateway.start.moment
    made = [b for b in bars if b.datetime >= start]
    assert [b.datetime - start for b in made] == [timedelta(0), timedelta(minutes=1)]
    before = [b for b in bars if b.datetime < start]
    assert before[-1].close_price == gateway.start.prices["rb2701.SHFE"]
    assert made[0].open_price == pytest.approx(before[-1].close_price, abs=5)
    assert all(b.low_price <= b.open_price <= b.high_price and b.volume >= 0 for b in made)
