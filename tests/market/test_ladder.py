"""The price ladder's model without Qt: rows and recentring, the book, own orders (plain and
managed, each shown once), today's volume at each price (seeded from bars, counted from
ticks, never twice, never negative), the position line and which stops a click may place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.object import OrderData, PositionData

from terminal.core.timezone import CHINA_TZ, to_ns
from terminal.market.ladder import (AT_EXCHANGE, LOCAL, Ladder, LadderBook, LadderError,
                                    OwnOrders, VolumeAtPrice, closes_position, minutes_of_day,
                                    position_summary, stop_direction, tick_index)
from tests.helpers import book

RB = "rb2701.SHFE"
MORNING = datetime(2026, 12, 9, 10, 0, tzinfo=CHINA_TZ)      # trading day 2026-12-09


def tick(last: float, volume: float, moment: datetime = MORNING, pricetick: float = 1.0):
    data = book("rb2701", Exchange.SHFE, last - pricetick, last + pricetick, pricetick,
                last=last)
    data.volume = volume
    data.datetime = moment
    return data


def order(orderid: str, direction=Direction.LONG, price=3500.0, volume=2, traded=0,
          status=Status.NOTTRADED) -> OrderData:
    return OrderData("SIM", "rb2701", Exchange.SHFE, orderid, OrderType.LIMIT, direction,
                     Offset.OPEN, price, volume, traded, status)


@dataclass(frozen=True)
class View:
    """A managed order's view, as `terminal.orders.ManagedView` has it."""

    id: str
    vt_symbol: str = RB
    direction: Direction = Direction.SHORT
    volume: float = 1
    price: float = 3490.0
    kind: str = "stop"
    where: str = LOCAL
    state: str = "armed"
    vt_orderid: str = ""
    active: bool = True
    text: str = "Sell stop 1 @ 3490 · local"


# ---------------------------------------------------------------------------- rows
def test_rows_run_down_from_the_highest_price_around_the_centre():
    ladder = Ladder(rows=11)
    assert ladder.index_at(0) is None and ladder.row_of(100) is None
    ladder.recentre(100)
    assert [ladder.index_at(row) for row in (0, 5, 10)] == [105, 100, 95]
    assert ladder.row_of(105) == 0 and ladder.row_of(95) == 10 and ladder.row_of(94) is None


def test_the_ladder_recentres_only_when_the_last_price_leaves_the_middle_band():
    ladder = Ladder(rows=21)
    ladder.recentre(1000)
    half = int(21 * 0.5 / 2)                   # 5 rows each side stay put
    for index in range(1000 - half, 1000 + half + 1):
        assert not ladder.follow(index)
        assert ladder.centre == 1000
    assert ladder.follow(1000 + half + 1)
    assert ladder.centre == 1000 + half + 1
    ladder.scroll(3)
    assert ladder.centre == 1000 + half + 4


def test_the_book_puts_the_bid_and_ask_sizes_on_their_rows():
    model = LadderBook(rows=21)
    model.reset(RB, 1.0, 10)
    data = tick(3500, 100)
    data.bid_volume_1, data.ask_volume_2 = 7, 9
    assert model.on_tick(data)                 # the first price centres the rows
    centre_row = model.ladder.row_of(3500)
    row = model.row(centre_row)
    assert row.last and row.price == 3500 and not row.bid and not row.ask
    assert model.row(model.ladder.row_of(3499)).bid == 7
    assert model.row(model.ladder.row_of(3499)).best_bid
    assert model.row(model.ladder.row_of(3502)).ask == 9
    assert model.row(model.ladder.row_of(3501)).best_ask
    assert model.on_tick(tick(3500, 100, pricetick=1.0)) is False     # still in the band


def test_decimal_ticks_land_on_their_rows():
    model = LadderBook(rows=21)
    model.reset("IF2612.CFFEX", 0.2, 300)
    data = book("IF2612", Exchange.CFFEX, 4100.2, 4100.4, 0.2, last=4100.4)
    model.on_tick(data)
    assert model.price_at(model.ladder.row_of(tick_index(4100.4, 0.2))) == 4100.4
    assert model.row(model.ladder.row_of(tick_index(4100.2, 0.2))).bid == 10


# ---------------------------------------------------------------------------- own orders
def test_working_orders_show_by_side_and_price_and_leave_when_done():
    own = OwnOrders(RB)
    assert own.update_order(order("1", price=3500, volume=3, traded=1))
    assert own.update_order(order("2", Direction.SHORT, price=3510))
    assert not own.update_order(OrderData("SIM", "ag2702", Exchange.SHFE, "3",
                                          direction=Direction.LONG, price=3500, volume=1))
    (buy,) = own.at(3500, True, 1.0)
    assert (buy.key, buy.volume, buy.where, buy.is_stop) == ("SIM.1", 2, AT_EXCHANGE, False)
    assert own.at(3500, False, 1.0) == [] and len(own.at(3510, False, 1.0)) == 1
    assert own.update_order(order("1", price=3500, volume=3, traded=3, status=Status.ALLTRADED))
    assert own.at(3500, True, 1.0) == []
    assert not own.update_order(order("1", status=Status.CANCELLED))   # gone already


def test_a_managed_legs_order_shows_once_as_its_leg():
    children = {"SIM.7"}
    own = OwnOrders(RB, managed_child=lambda vt_orderid: vt_orderid in children)
    own.update_order(order("7", Direction.SHORT, price=3520))          # a target's child
    assert own.at(3520, False, 1.0) == []
    target = View("t1", price=3520, kind="limit", where=AT_EXCHANGE, state="working",
                  vt_orderid="SIM.8", text="Sell target 1 @ 3520")
    own.update_order(order("8", Direction.SHORT, price=3520))          # before the view
    own.update_view(target)
    (shown,) = own.at(3520, False, 1.0)
    assert shown.key == "t1"                   # cancel and modify go to the manager
    own.update_order(order("8", Direction.SHORT, price=3520))          # a later event
    assert [o.key for o in own.at(3520, False, 1.0)] == ["t1"]
    stop = View("s1")
    own.update_view(stop)
    (shown,) = own.at(3490, False, 1.0)
    assert shown.is_stop and shown.is_local
    own.update_view(View("s1", active=False, state="cancelled"))
    assert own.at(3490, False, 1.0) == [] and own.find("s1") is None


# ---------------------------------------------------------------------------- volume
def test_volume_counts_each_ticks_change_at_its_last_price():
    volume = VolumeAtPrice(1.0)
    assert not volume.on_tick(tick(3500, 1000))          # the first sight sets the base
    assert volume.on_tick(tick(3500, 1004, MORNING + timedelta(seconds=1)))
    assert volume.on_tick(tick(3501, 1010, MORNING + timedelta(seconds=2)))
    assert not volume.on_tick(tick(3501, 1010, MORNING + timedelta(seconds=3)))  # unchanged
    assert (volume.at(3500), volume.at(3501), volume.total) == (4, 6, 10)
    assert volume.largest == 6


def test_a_volume_going_backwards_rebases_and_adds_nothing():
    volume = VolumeAtPrice(1.0)
    volume.on_tick(tick(3500, 1000))
    volume.on_tick(tick(3500, 1010, MORNING + timedelta(seconds=1)))
    # A reconnect to another front: its count restarts lower, the same trading day.
    assert not volume.on_tick(tick(3502, 400, MORNING + timedelta(seconds=2)))
    assert volume.total == 10 and volume.at(3502) == 0
    assert volume.on_tick(tick(3502, 403, MORNING + timedelta(seconds=3)))
    assert volume.at(3502) == 3 and volume.total == 13
    assert min(volume._totals.values()) > 0


def test_a_new_trading_day_starts_empty_and_asks_for_its_bars():
    volume = VolumeAtPrice(1.0)
    volume.on_tick(tick(3500, 1000))
    volume.on_tick(tick(3500, 1010, MORNING + timedelta(seconds=1)))
    night = datetime(2026, 12, 9, 21, 0, tzinfo=CHINA_TZ)    # trades for 2026-12-10
    assert volume.on_tick(tick(3505, 12, night))
    assert volume.new_day and volume.day == date(2026, 12, 10)
    assert volume.total == 0
    volume.on_tick(tick(3505, 15, night + timedelta(seconds=1)))
    assert volume.at(3505) == 3
    # A late tick of the day before adds nothing.
    assert not volume.on_tick(tick(3500, 2000, MORNING + timedelta(seconds=5)))
    assert volume.total == 3


def test_seeded_bars_are_spread_over_their_range_and_never_counted_twice():
    volume = VolumeAtPrice(1.0)
    start = to_ns(MORNING)
    minute = 60_000_000_000
    # Live ticks in the minute 10:00 arrive before the stored bars of 10:00 and 10:01.
    volume.on_tick(tick(3500, 100, MORNING + timedelta(seconds=10)))
    volume.on_tick(tick(3500, 105, MORNING + timedelta(seconds=20)))
    volume.on_tick(tick(3501, 111, MORNING + timedelta(minutes=2, seconds=1)))
    assert volume.total == 11
    assert volume.seed(MORNING.date(), np.array([start, start + minute]),
                       np.array([3502.0, 3501.0]), np.array([3500.0, 3501.0]),
                       np.array([30.0, 4.0]))
    # 10:00's 30 lots over 3500..3502, 10:01's 4 at 3501; the live 10:00 ticks are dropped
    # (the bar has them), the 10:02 tick stays.
    assert volume.at(3500) == pytest.approx(10)
    assert volume.at(3501) == pytest.approx(10 + 4 + 6)
    assert volume.at(3502) == pytest.approx(10)
    assert volume.total == pytest.approx(40)
    # A tick of a minute the store covers adds nothing; a later one does.
    assert not volume.on_tick(tick(3500, 120, MORNING + timedelta(minutes=1, seconds=30)))
    assert volume.on_tick(tick(3500, 122, MORNING + timedelta(minutes=2, seconds=30)))
    assert volume.at(3500) == pytest.approx(12)


def test_bars_of_another_day_are_not_taken():
    volume = VolumeAtPrice(1.0)
    volume.on_tick(tick(3500, 100))
    assert not volume.seed(date(2026, 12, 8), np.array([to_ns(MORNING)]), np.array([3500.0]),
                           np.array([3500.0]), np.array([50.0]))
    assert volume.total == 0


def test_the_minutes_of_a_trading_day_include_its_night_session():
    times = np.array([to_ns(datetime(2026, 12, 8, 14, 59, tzinfo=CHINA_TZ)),
                      to_ns(datetime(2026, 12, 8, 21, 0, tzinfo=CHINA_TZ)),
                      to_ns(datetime(2026, 12, 9, 9, 0, tzinfo=CHINA_TZ)),
                      to_ns(datetime(2026, 12, 9, 21, 0, tzinfo=CHINA_TZ))])
    assert minutes_of_day(times, date(2026, 12, 9), CHINA_TZ).tolist() == \
        [False, True, True, False]


# ---------------------------------------------------------------------------- position
def position(direction, volume, price) -> PositionData:
    return PositionData("SIM", "rb2701", Exchange.SHFE, direction, volume, price=price)


def test_the_position_line_nets_long_and_short_and_marks_to_the_last_price():
    summary = position_summary([position(Direction.LONG, 3, 3500),
                                position(Direction.SHORT, 1, 3510)], 3506, 10, 1.0)
    assert (summary.net, summary.long, summary.short, summary.average) == (2, 3, 1, 3500)
    assert summary.pnl == 6 * 3 * 10 + 4 * 1 * 10        # the short leg gains too
    assert summary.pnl_ticks == 6
    short = position_summary([position(Direction.SHORT, 2, 3510)], 3506, 10, 1.0)
    assert (short.net, short.pnl, short.pnl_ticks) == (-2, 80, 4)
    flat = position_summary([], 3506, 10, 1.0)
    assert flat.net == 0 and flat.pnl == 0


def test_a_stop_goes_on_its_side_of_the_market_or_is_refused_with_the_reason():
    assert stop_direction(True, 3510, 3500) == Direction.LONG
    assert stop_direction(False, 3490, 3500) == Direction.SHORT
    with pytest.raises(LadderError, match="buy stop goes above the market"):
        stop_direction(True, 3500, 3500)
    with pytest.raises(LadderError, match="sell stop goes below the market"):
        stop_direction(False, 3501, 3500)
    with pytest.raises(LadderError, match="no last price"):
        stop_direction(True, 3510, None)


def test_a_stop_is_protective_when_the_opposite_position_holds_its_lots():
    long3 = position_summary([position(Direction.LONG, 3, 3500)], 3500, 10, 1.0)
    assert closes_position(Direction.SHORT, 3, long3)
    assert not closes_position(Direction.SHORT, 4, long3)
    assert not closes_position(Direction.LONG, 1, long3)
