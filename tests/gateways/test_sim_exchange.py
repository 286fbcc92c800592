"""The simulated exchange's matching, positions and account, driven directly (no threads)."""

from __future__ import annotations

from datetime import datetime

import pytest
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status

from terminal.gateways.sim.exchange import ExchangeSink, SimExchange
from terminal.market import contracts

from tests.helpers import book, request

NOW = datetime(2026, 11, 20, 10, 0)
RB = contracts.find("rb2701.SHFE")      # 10 t/lot, tick 1, margin 10%, fee 0.0001 of turnover
IF = contracts.find("IF2612.CFFEX")     # 300/pt, tick 0.2, margin 12%
M = contracts.find("m2705.DCE")         # 10 t/lot, tick 1, fee 1.5/lot
LONG, SHORT = Direction.LONG, Direction.SHORT


class Recorder:
    def __init__(self) -> None:
        self.orders, self.trades, self.positions, self.accounts = [], [], [], []

    def sink(self) -> ExchangeSink:
        return ExchangeSink(self.orders.append, self.trades.append, self.positions.append,
                            self.accounts.append)

    def last_order(self, vt_orderid: str):
        return [o for o in self.orders if o.vt_orderid == vt_orderid][-1]


@pytest.fixture
def sim():
    recorder = Recorder()
    exchange = SimExchange(contracts.SPECS, 1_000_000.0, "SIM", recorder.sink())
    exchange.on_book(book("rb2701", Exchange.SHFE, 3250, 3251, 1, volume=10), NOW)
    exchange.on_book(book("IF2612", Exchange.CFFEX, 4100.0, 4100.2, 0.2, volume=5), NOW)
    exchange.on_book(book("m2705", Exchange.DCE, 2950, 2951, 1, volume=50), NOW)
    return exchange, recorder


def submit(exchange, req, orderid="1"):
    return exchange.submit(req, orderid, NOW)


@pytest.mark.parametrize(
    ("req", "reason"),
    [
        (request("xx9999", Exchange.SHFE, LONG, 1, 100), "unknown contract xx9999.SHFE"),
        (request("rb2701", Exchange.SHFE, LONG, 1, 3250.5), "not on the tick grid"),
        (request("IF2612", Exchange.CFFEX, LONG, 1, 4100.1), "not on the tick grid"),
        (request("rb2701", Exchange.SHFE, LONG, 0, 3250), "positive whole number"),
        (request("rb2701", Exchange.SHFE, LONG, -2, 3250), "positive whole number"),
        (request("rb2701", Exchange.SHFE, LONG, 1.5, 3250), "positive whole number"),
        (request("rb2701", Exchange.SHFE, LONG, 1, 9000), "outside the daily limits"),
        (request("rb2701", Exchange.SHFE, LONG, 1, -3250), "must be above 0"),
        (request("IF2612", Exchange.CFFEX, LONG, 21, 4100.2), "exceeds the exchange maximum"),
        (request("IF2612", Exchange.CFFEX, LONG, 20, 4100.2), "not enough available funds"),
        (request("rb2701", Exchange.SHFE, SHORT, 1, 3250, Offset.CLOSE),
         "not enough long position"),
    ],
)
def test_orders_that_cannot_be_accepted_are_rejected_with_a_reason(sim, req, reason):
    exchange, recorder = sim
    order = submit(exchange, req)
    assert order.status == Status.REJECTED
    assert reason in order.extra["reason"]
    assert recorder.orders[-1].status == Status.REJECTED
    assert recorder.trades == [] and exchange.working == {}


def test_marketable_limit_fills_at_book_prices_across_levels(sim):
    exchange, recorder = sim
    order = submit(exchange, request("rb2701", Exchange.SHFE, LONG, 15, 3253))
    assert order.status == Status.ALLTRADED
    assert [(t.price, t.volume) for t in recorder.trades] == [(3251, 10), (3252, 5)]
    position = recorder.positions[-1]
    assert position.direction == LONG and position.volume == 15 and position.yd_volume == 0
    assert position.price == pytest.approx((3251 * 10 + 3252 * 5) / 15)


def test_partial_fill_rests_and_fills_on_a_later_book(sim):
    exchange, recorder = sim
    order = submit(exchange, request("rb2701", Exchange.SHFE, LONG, 25, 3251))
    assert order.status == Status.PARTTRADED and order.traded == 10
    assert order.vt_orderid in exchange.working
    exchange.on_book(book("rb2701", Exchange.SHFE, 3250, 3251, 1, volume=10), NOW)
    assert order.traded == 20 and order.status == Status.PARTTRADED
    exchange.on_book(book("rb2701", Exchange.SHFE, 3249, 3250, 1, volume=10), NOW)
    assert order.status == Status.ALLTRADED
    assert recorder.trades[-1].price == 3250  # the book moved through: filled at the better price
    assert exchange.working == {}


def test_passive_order_fills_when_the_market_trades_through(sim):
    exchange, recorder = sim
    order = submit(exchange, request("rb2701", Exchange.SHFE, LONG, 3, 3248))
    assert order.status == Status.NOTTRADED
    exchange.on_book(book("rb2701", Exchange.SHFE, 3249, 3250, 1, last=3247, last_volume=2), NOW)
    assert order.traded == 2 and recorder.trades[-1].price == 3248


def test_fak_fills_what_it_can_and_cancels_the_rest(sim):
    exchange, recorder = sim
    order = submit(exchange, request("IF2612", Exchange.CFFEX, SHORT, 3, 4099.8,
                                     order_type=OrderType.FAK))
    assert order.status == Status.ALLTRADED and recorder.trades[-1].price == 4100.0
    # 2 lots are left at 4100.0 in this snapshot; the rest of a FAK at 4100.0 is cancelled
    order = submit(exchange, request("IF2612", Exchange.CFFEX, SHORT, 3, 4100.0,
                                     order_type=OrderType.FAK), "2")
    assert order.traded == 2 and order.status == Status.CANCELLED
    assert "rest cancelled" in order.extra["reason"]


def test_fok_is_all_or_nothing(sim):
    exchange, recorder = sim
    order = submit(exchange, request("rb2701", Exchange.SHFE, LONG, 21, 3252,
                                     order_type=OrderType.FOK))
    assert order.status == Status.CANCELLED and order.traded == 0 and recorder.trades == []
    order = submit(exchange, request("rb2701", Exchange.SHFE, LONG, 20, 3252,
                                     order_type=OrderType.FOK), "2")
    assert order.status == Status.ALLTRADED and order.traded == 20


def test_market_order_sweeps_five_levels_and_cancels_the_rest(sim):
    exchange, recorder = sim
    order = submit(exchange,
                   request("rb2701", Exchange.SHFE, LONG, 60, order_type=OrderType.MARKET))
    assert order.traded == 50 and order.status == Status.CANCELLED
    assert [t.price for t in recorder.trades] == [3251, 3252, 3253, 3254, 3255]


def test_stop_order_waits_for_the_trigger_then_executes(sim):
    exchange, recorder = sim
    order = submit(exchange,
                   request("rb2701", Exchange.SHFE, LONG, 2, 3260, order_type=OrderType.STOP))
    assert order.status == Status.NOTTRADED and recorder.trades == []
    exchange.on_book(book("rb2701", Exchange.SHFE, 3255, 3256, 1, last=3259), NOW)
    assert order.status == Status.NOTTRADED
    exchange.on_book(book("rb2701", Exchange.SHFE, 3260, 3261, 1, last=3260), NOW)
    assert order.status == Status.ALLTRADED and recorder.trades[-1].price == 3261


def test_cancel_releases_frozen_funds(sim):
    exchange, recorder = sim
    available = exchange.available()
    order = submit(exchange, request("rb2701", Exchange.SHFE, LONG, 5, 3200))
    frozen = RB.margin(3200, 5) + RB.commission(3200, 5)
    assert exchange.available() == pytest.approx(available - frozen)
    assert exchange.cancel(order.vt_orderid, NOW)
    assert recorder.last_order(order.vt_orderid).status == Status.CANCELLED
    assert exchange.available() == pytest.approx(available)
    assert not exchange.cancel(order.vt_orderid, NOW)


def test_commission_margin_and_balance_follow_the_market(sim):
    exchange, recorder = sim
    submit(exchange, request("m2705", Exchange.DCE, LONG, 4, 2951))   # fee 1.5 per lot
    assert exchange.account.commission == pytest.approx(6.0)
    exchange.on_book(book("m2705", Exchange.DCE, 2960, 2961, 1, last=2961), NOW)
    account = recorder.accounts[-1]
    floating = (2961 - 2951) * 4 * 10
    assert account.extra["float_pnl"] == pytest.approx(floating)
    assert account.balance == pytest.approx(1_000_000 + floating - 6.0)
    assert account.extra["margin"] == pytest.approx(2961 * 4 * 10 * M.margin_rate)
    assert account.available == pytest.approx(account.balance - account.extra["margin"])
    assert recorder.positions[-1].pnl == pytest.approx(floating)


def test_closing_realises_pnl_and_frees_margin(sim):
    exchange, recorder = sim
    submit(exchange, request("IF2612", Exchange.CFFEX, LONG, 2, 4100.2))
    exchange.on_book(book("IF2612", Exchange.CFFEX, 4110.0, 4110.2, 0.2), NOW)
    submit(exchange, request("IF2612", Exchange.CFFEX, SHORT, 2, 4110.0, Offset.CLOSE), "2")
    assert exchange.account.close_pnl == pytest.approx((4110.0 - 4100.2) * 2 * 300)
    assert exchange.position_margin() == 0
    assert recorder.positions[-1].volume == 0


def test_shfe_close_today_and_yesterday_are_distinct(sim):
    exchange, _recorder = sim
    submit(exchange, request("rb2701", Exchange.SHFE, LONG, 3, 3251), "1")
    exchange.roll_trading_day()
    submit(exchange, request("rb2701", Exchange.SHFE, LONG, 2, 3251), "2")
    leg = exchange.legs[("rb2701.SHFE", LONG)]
    assert (leg.yesterday, leg.today) == (3, 2)
    # CLOSE on SHFE closes yesterday's volume only
    rejected = submit(exchange, request("rb2701", Exchange.SHFE, SHORT, 4, 3250, Offset.CLOSE), "3")
    assert rejected.status == Status.REJECTED and "3 yesterday" in rejected.extra["reason"]
    submit(exchange, request("rb2701", Exchange.SHFE, SHORT, 2, 3250, Offset.CLOSETODAY), "4")
    submit(exchange, request("rb2701", Exchange.SHFE, SHORT, 3, 3250, Offset.CLOSEYESTERDAY), "5")
    assert (leg.yesterday, leg.today) == (0, 0)


def test_close_elsewhere_takes_yesterday_first(sim):
    exchange, recorder = sim
    submit(exchange, request("m2705", Exchange.DCE, SHORT, 2, 2950), "1")
    exchange.roll_trading_day()
    submit(exchange, request("m2705", Exchange.DCE, SHORT, 3, 2950), "2")
    submit(exchange, request("m2705", Exchange.DCE, LONG, 4, 2951, Offset.CLOSE), "3")
    leg = exchange.legs[("m2705.DCE", SHORT)]
    assert (leg.yesterday, leg.today) == (0, 1)
    assert recorder.positions[-1].volume == 1 and recorder.positions[-1].yd_volume == 0


def test_working_close_order_freezes_position(sim):
    exchange, recorder = sim
    submit(exchange, request("m2705", Exchange.DCE, LONG, 2, 2951), "1")
    submit(exchange, request("m2705", Exchange.DCE, SHORT, 2, 3000, Offset.CLOSE), "2")
    assert recorder.positions[-1].frozen == 2
    again = submit(exchange, request("m2705", Exchange.DCE, SHORT, 1, 3000, Offset.CLOSE), "3")
    assert again.status == Status.REJECTED
    exchange.cancel("SIM.2", NOW)
    assert recorder.positions[-1].frozen == 0


def test_roll_carries_the_balance_and_resets_the_day(sim):
    exchange, recorder = sim
    submit(exchange, request("m2705", Exchange.DCE, LONG, 1, 2951))
    balance = exchange.balance()
    exchange.roll_trading_day()
    assert exchange.balance() == pytest.approx(balance)
    assert exchange.account.commission == 0 and exchange.account.close_pnl == 0
    assert recorder.positions[-1].yd_volume == 1


def test_emitted_objects_are_snapshots(sim):
    exchange, recorder = sim
    order = submit(exchange, request("rb2701", Exchange.SHFE, LONG, 25, 3251))
    first = recorder.orders[0]
    assert first.status == Status.NOTTRADED and first.traded == 0
    assert first is not order


def test_held_positions_are_marked_four_times_a_second_and_fills_report_at_once(sim):
    """200 snapshots a second of a held symbol send its position and the account marked to
    the market at most every 250 ms of exchange time; a fill reports at once."""
    from datetime import timedelta

    exchange, recorder = sim
    submit(exchange, request("rb2701", Exchange.SHFE, LONG, 1, 3251))
    recorder.positions.clear()
    recorder.accounts.clear()
    for step in range(200):                                  # one second of snapshots
        at = NOW + timedelta(milliseconds=300 + 5 * step)
        exchange.on_book(book("rb2701", Exchange.SHFE, 3250 + step % 7, 3251 + step % 7, 1), at)
    marks = [p for p in recorder.positions if p.direction == LONG]
    assert 4 <= len(marks) <= 5
    assert recorder.accounts and len(recorder.accounts) <= 5
    recorder.positions.clear()
    at = NOW + timedelta(milliseconds=1301)                  # within the interval of the last mark
    exchange.submit(request("rb2701", Exchange.SHFE, LONG, 1, 3260), "2", at)
    assert [p.volume for p in recorder.positions if p.direction == LONG] == [2]


def test_resting_orders_do_not_send_the_account_with_every_snapshot(sim):
    """Resting orders that neither fill nor end leave the account as it was: no message for
    each snapshot of their symbol; a fill on a later snapshot still sends it at once."""
    exchange, recorder = sim
    for k in range(5):
        submit(exchange, request("rb2701", Exchange.SHFE, LONG, 1, 3240 - k), str(k))
    recorder.accounts.clear()
    for step in range(100):
        exchange.on_book(book("rb2701", Exchange.SHFE, 3250 + step % 3, 3251 + step % 3, 1), NOW)
    assert recorder.accounts == []
    exchange.on_book(book("rb2701", Exchange.SHFE, 3238, 3239, 1, volume=10), NOW)
    assert len(recorder.trades) == 2                     # the orders at 3240 and 3239
    assert len(recorder.accounts) == 1
    assert recorder.accounts[-1].extra["commission"] > 0


# ---------------------------------------------------------------------- stops, partial fills
def stop(exchange, direction, price, volume=2, orderid="s"):
    return exchange.submit(request("rb2701", Exchange.SHFE, direction, volume, price,
                                   order_type=OrderType.STOP), orderid, NOW)


def rb(bid, last, volume=10):
    return book("rb2701", Exchange.SHFE, bid, bid + 1, 1, volume=volume, last=last)


def test_stops_trigger_on_the_last_price_not_on_the_bid_or_ask(sim):
    """A quote touching the stop (the ask at a buy stop, the bid at a sell stop) triggers
    nothing; a trade at the stop does, whatever the book."""
    exchange, recorder = sim
    buy, sell = stop(exchange, LONG, 3260, orderid="b"), stop(exchange, SHORT, 3240, orderid="s")
    exchange.on_book(rb(3259, last=3259), NOW)           # ask 3260 at the buy stop
    exchange.on_book(rb(3240, last=3241), NOW)           # bid 3240 at the sell stop
    exchange.on_book(rb(3239, last=3241), NOW)           # bid through it, last not
    assert buy.status == sell.status == Status.NOTTRADED and recorder.trades == []
    exchange.on_book(rb(3239, last=3240), NOW)           # a trade at the sell stop
    assert sell.status == Status.ALLTRADED and buy.status == Status.NOTTRADED
    assert [(t.vt_orderid, t.price) for t in recorder.trades] == [(sell.vt_orderid, 3239)]
    exchange.on_book(rb(3258, last=3260), NOW)           # a trade at the buy stop
    assert buy.status == Status.ALLTRADED and recorder.trades[-1].price == 3259


@pytest.mark.parametrize(("direction", "gap_bid", "prices"),
                         [(SHORT, 3230, [3230, 3229]), (LONG, 3270, [3271, 3272])])
def test_a_gap_through_the_stop_fills_at_the_book_never_at_the_stop(sim, direction, gap_bid,
                                                                    prices):
    exchange, recorder = sim
    order = stop(exchange, direction, 3240 if direction == SHORT else 3260, volume=15)
    exchange.on_book(rb(gap_bid, last=gap_bid), NOW)      # the market opens through the stop
    assert order.status == Status.ALLTRADED
    assert [(t.price, t.volume) for t in recorder.trades] == [(prices[0], 10), (prices[1], 5)]


def test_a_book_with_no_trade_triggers_no_stop(sim):
    """A pre-open snapshot or a replayed series without prices has last price 0: a sell stop
    is not reached by it."""
    exchange, recorder = sim
    order = stop(exchange, SHORT, 3240)
    exchange.on_book(rb(3250, last=0.0), NOW)
    assert order.status == Status.NOTTRADED and recorder.trades == []


def test_a_stop_already_crossed_when_it_arrives_triggers_at_once(sim):
    exchange, recorder = sim
    order = stop(exchange, SHORT, 3255)                  # last 3250, at or below 3255
    assert order.status == Status.ALLTRADED and recorder.trades[-1].price == 3250


def test_partial_fills_report_parttraded_once_each_and_a_cancel_keeps_what_traded(sim):
    exchange, recorder = sim
    order = submit(exchange, request("rb2701", Exchange.SHFE, LONG, 25, 3251))
    exchange.on_book(rb(3252, last=3252), NOW)           # the market moves away: no fill
    exchange.on_book(rb(3253, last=3253), NOW)
    exchange.on_book(rb(3250, last=3250, volume=7), NOW)
    states = [(o.status, o.traded) for o in recorder.orders if o.vt_orderid == order.vt_orderid]
    assert states == [(Status.NOTTRADED, 0), (Status.PARTTRADED, 10), (Status.PARTTRADED, 17)]
    assert exchange.cancel(order.vt_orderid, NOW)
    last = recorder.last_order(order.vt_orderid)
    assert last.status == Status.CANCELLED and last.traded == 17
    assert exchange.ended[order.vt_orderid] == Status.CANCELLED
    assert not exchange.cancel(order.vt_orderid, NOW)    # nothing working: nothing sent
    assert recorder.last_order(order.vt_orderid) == last and len(recorder.orders) == 4


def test_orders_and_trades_carry_the_exchange_time_given(sim):
    """Accepted orders carry the time they were accepted (CTP's InsertTime) through fills and
    cancels; each trade the time of its fill."""
    from datetime import timedelta

    exchange, recorder = sim
    later = NOW + timedelta(minutes=7)
    order = submit(exchange, request("rb2701", Exchange.SHFE, LONG, 25, 3251))
    exchange.on_book(rb(3250, last=3250), later)
    assert [t.datetime for t in recorder.trades] == [NOW, later]
    assert {o.datetime for o in recorder.orders} == {NOW} and order.datetime == NOW
