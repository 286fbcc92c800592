"""Market replay: the virtual clock, bars turned into ticks, and the recorded IF2101 session
driving the simulated exchange's quotes and fills."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.event import EVENT_ORDER, EVENT_TICK, EVENT_TRADE
from vnpy.trader.object import SubscribeRequest

from terminal.gateways.sim import replay
from terminal.gateways.sim.replay import NS, ReplayError, ReplayFeed
from terminal.market import contracts
from terminal.storage.csv_import import import_file
from terminal.storage.market_store import CHINA_TZ, MarketStore
from terminal.core.timezone import to_ns
from tests.helpers import SHARED_DATA

from tests.helpers import drained, request, simulator

IF_FILE = SHARED_DATA / "cn_fut_CFFEX_IF2101_tick_20210104-06_wondertrader.csv"
needs_if = pytest.mark.skipif(not IF_FILE.exists(), reason=f"{IF_FILE} is not there")


def feed_of(*stamps: str, prices=None) -> ReplayFeed:
    times = np.array([to_ns(datetime.fromisoformat(s)) for s in stamps])
    prices = np.asarray(prices or [100.0 + i for i in range(len(times))])
    columns = {"datetime": times, "last_price": prices, "volume": np.arange(len(times)) * 2.0,
               "bid_price_1": prices - 1, "ask_price_1": prices + 1}
    spec = contracts.spec_for("rb2401", Exchange.SHFE, float(prices[0]))
    return ReplayFeed(spec, date(2023, 9, 25), "tick", columns, CHINA_TZ, "SIM")


def test_virtual_clock_plays_pauses_seeks_and_changes_speed():
    feed = feed_of("2023-09-25 09:00:00", "2023-09-25 09:00:10", "2023-09-25 09:00:20",
                   "2023-09-25 09:01:00")
    assert feed.due(0.0) == [] and feed.wait(0.0) is None          # paused until played
    feed.play(100.0)
    assert [t.last_price for t in feed.due(100.0)] == [100.0]
    assert feed.wait(100.0) == pytest.approx(10.0)
    feed.set_speed(10.0, 100.0)
    assert feed.wait(100.0) == pytest.approx(1.0)                   # 10 s of market in 1 s
    assert [t.last_price for t in feed.due(102.0)] == [101.0, 102.0]
    feed.pause(102.0)
    frozen = feed.virtual_now(102.0)
    assert feed.virtual_now(500.0) == frozen and feed.due(500.0) == []
    feed.seek(to_ns(datetime.fromisoformat("2023-09-25 09:00:15")), 500.0)
    assert feed.position == 1                                       # the tick in force at :15
    feed.play(500.0)
    assert [t.last_price for t in feed.due(500.0)] == [101.0]
    ticks = feed.due(510.0)
    assert [t.last_price for t in ticks] == [102.0, 103.0] and feed.finished
    assert feed.status(510.0).state == "finished"
    # What matching needs and the file did not have: traded volume and daily limits.
    assert [t.last_volume for t in ticks] == [2.0, 2.0]
    assert ticks[0].limit_up == 107.0 and ticks[0].limit_down == 93.0   # rb: +-7% of 100
    with pytest.raises(ReplayError, match="speed"):
        feed.set_speed(0, 510.0)


def test_one_minute_bars_become_four_ticks_each():
    bars = {"datetime": np.array([0, 60 * NS]), "open_price": np.array([10.0, 12.0]),
            "high_price": np.array([13.0, 12.0]), "low_price": np.array([9.0, 8.0]),
            "close_price": np.array([12.0, 8.0]), "volume": np.array([8.0, 4.0])}
    ticks = replay.ticks_from_bars(bars, 1.0)
    assert list(ticks["last_price"]) == [10, 9, 13, 12, 12, 12, 8, 8]
    assert list(ticks["datetime"] // NS) == [0, 15, 30, 45, 60, 75, 90, 105]
    assert ticks["volume"][-1] == 12.0 and list(ticks["bid_price_1"][:2]) == [9.0, 8.0]


@pytest.fixture(scope="module")
def if_store(tmp_path_factory):
    store = MarketStore(tmp_path_factory.mktemp("replay-store"))
    import_file(store, IF_FILE)
    yield store
    store.close()


@needs_if
def test_days_and_refusals(if_store):
    assert replay.available_days(if_store, "IF2101", Exchange.CFFEX, "tick") == [
        date(2021, 1, 4), date(2021, 1, 5), date(2021, 1, 6)]
    with pytest.raises(ReplayError, match=r"no tick data .* for the trading day 2021-01-07"):
        replay.load(if_store, "IF2101", Exchange.CFFEX, date(2021, 1, 7), "tick", "SIM")
    with pytest.raises(ReplayError, match="holds no 1m data"):
        replay.load(if_store, "IF2101", Exchange.CFFEX, date(2021, 1, 4), "1m", "SIM")


@needs_if
def test_replay_of_if2101_drives_quotes_and_fills(if_store):
    feed = replay.load(if_store, "IF2101", Exchange.CFFEX, date(2021, 1, 4), "tick", "SIM")
    assert len(feed.times) > 20_000
    engine, gateway = simulator(2, capital=2_000_000, seed=3)   # plays as the test moves it
    ticks, trades, orders = [], [], {}
    engine.register(EVENT_TICK, lambda e: ticks.append(e.data)
                    if e.data.symbol == "IF2101" else None)
    engine.register(EVENT_TRADE, lambda e: trades.append(e.data))
    engine.register(EVENT_ORDER, lambda e: orders.__setitem__(e.data.vt_orderid, e.data))

    def settled() -> None:
        """Every command sent is carried out and its events dispatched."""
        gateway.advance(0)
        drained(engine)

    try:
        start = to_ns(datetime(2021, 1, 4, 10, 0))
        gateway.start_replay(feed)
        settled()                           # the contract exists: it can be subscribed
        gateway.subscribe(SubscribeRequest("IF2101", Exchange.CFFEX))
        gateway.control_replay("seek", start)
        gateway.control_replay("speed", 300)
        settled()
        assert gateway.replay_status().played > 0 and gateway.replay_status().state == "paused"
        book = gateway.exchange.books["IF2101.CFFEX"]
        assert book.datetime.date() == date(2021, 1, 4) and book.datetime.hour == 9

        # A sell that rests above the market and fills once the recorded bids reach it.
        first = int(np.searchsorted(feed.times, start, "right")) - 1
        window = slice(first + 1, int(np.searchsorted(feed.times, start + 600 * NS)))
        target = float(feed.columns["bid_price_1"][window].max())
        assert target > feed.columns["bid_price_1"][first]
        buy = gateway.send_order(request("IF2101", Exchange.CFFEX, Direction.LONG, 1,
                                         float(feed.columns["ask_price_1"][first])))
        settled()
        assert orders[buy].status == Status.ALLTRADED, orders
        sell = gateway.send_order(request("IF2101", Exchange.CFFEX, Direction.SHORT, 1, target,
                                          Offset.CLOSE))
        settled()
        assert orders[sell].status == Status.NOTTRADED
        gateway.control_replay("play")
        gateway.advance(600 / 300)          # ten minutes of the day at 300 times real time
        drained(engine)
        assert orders[sell].status == Status.ALLTRADED, orders[sell]

        bought, sold = trades
        assert bought.vt_orderid == buy and bought.price == feed.columns["ask_price_1"][first]
        assert sold.vt_orderid == sell and sold.price >= target
        assert start <= to_ns(sold.datetime) <= start + 600 * NS   # stamped on the replay clock
        # Quotes are the recorded ones, in order, none twice, and all of those ten minutes.
        stamps = [to_ns(t.datetime) for t in ticks]
        assert stamps == sorted(set(stamps))
        index = np.searchsorted(feed.times, stamps)
        assert np.array_equal(feed.times[index], stamps)
        assert [t.last_price for t in ticks] == list(feed.columns["last_price"][index])
        assert stamps[-1] == feed.times[np.searchsorted(feed.times, start + 600 * NS,
                                                        "right") - 1]

        gateway.control_replay("pause")
        settled()
        paused_at = len(ticks)
        gateway.advance(5.0)
        drained(engine)
        status = gateway.replay_status()
        assert len(ticks) == paused_at and status.state == "paused" and status.speed == 300
        gateway.control_replay("stop")
        settled()
        assert gateway.replay_status() is None
    finally:
        gateway.close()
        engine.stop()


# ---------------------------------------------------------------------- orders on the replay clock
PATH_START = datetime(2023, 9, 25, 9, 0, tzinfo=CHINA_TZ)


def path_feed(lasts, bids=None) -> ReplayFeed:
    """rb2401 ticks 10 s apart from 09:00:00: `lasts`, a one-tick book either side (or the
    bids given) with 5 lots on each side, 1 lot traded a tick."""
    n = len(lasts)
    lasts = np.asarray(lasts, float)
    bids = np.asarray(bids if bids is not None else lasts - 1, float)
    columns = {"datetime": to_ns(PATH_START) + np.arange(n, dtype=np.int64) * 10 * NS,
               "last_price": lasts, "volume": np.arange(1, n + 1, dtype=float),
               "bid_price_1": bids, "ask_price_1": bids + 2,
               "bid_volume_1": np.full(n, 5.0), "ask_volume_1": np.full(n, 5.0)}
    spec = contracts.spec_for("rb2401", Exchange.SHFE, float(lasts[0]))
    return ReplayFeed(spec, date(2023, 9, 25), "tick", columns, CHINA_TZ, "SIM")


class Replayed:
    """A simulator on a ManualClock replaying `feed`, paused at its first tick, with what
    reaches the engine: the replayed contract's ticks, orders (latest), trades."""

    def __init__(self, feed: ReplayFeed) -> None:
        self.engine, self.gateway = simulator(2)
        self.ticks, self.trades, self.orders = [], [], {}
        self.engine.register(EVENT_TICK, lambda e: self.ticks.append(e.data)
                             if e.data.vt_symbol == feed.vt_symbol else None)
        self.engine.register(EVENT_TRADE, lambda e: self.trades.append(e.data))
        self.engine.register(EVENT_ORDER, lambda e: self.orders.__setitem__(e.data.vt_orderid,
                                                                            e.data))
        self.gateway.start_replay(feed)
        self.settled()
        self.gateway.subscribe(SubscribeRequest("rb2401", Exchange.SHFE))
        self.settled()

    def settled(self) -> None:
        self.gateway.advance(0)
        drained(self.engine)

    def send(self, direction, price, order_type=OrderType.LIMIT) -> str:
        return self.gateway.send_order(request("rb2401", Exchange.SHFE, direction, 1, price,
                                               order_type=order_type))

    def close(self) -> None:
        self.gateway.close()
        self.engine.stop()


def test_a_replayed_stop_triggers_on_the_recorded_last_price_and_fills_at_the_recorded_book():
    """The same rule as the live simulator, on the replay's clock: the bid touching a sell
    stop does nothing, a trade at or through it triggers, the fill is at the recorded bid of
    the gap (not the stop), and the order and trade carry the replay's time."""
    from datetime import timedelta

    #                   0 s   10 s  20 s  30 s  40 s
    run = Replayed(path_feed([3700, 3701, 3702, 3700, 3690],
                             bids=[3699, 3700, 3701, 3697, 3688]))
    try:
        stop = run.send(Direction.SHORT, 3697, OrderType.STOP)
        run.settled()
        assert run.orders[stop].status == Status.NOTTRADED
        run.gateway.control_replay("play")
        run.gateway.advance(35)
        drained(run.engine)
        assert run.orders[stop].status == Status.NOTTRADED      # bid 3697 at 30 s, last 3700
        run.gateway.advance(5)
        drained(run.engine)
    finally:
        run.close()
    assert run.orders[stop].status == Status.ALLTRADED
    assert [(t.price, t.datetime) for t in run.trades] == [
        (3688, PATH_START + timedelta(seconds=40))]
    assert run.orders[stop].datetime == PATH_START                  # accepted at the first tick


def test_an_order_meets_the_book_of_the_replay_time_it_is_stamped_with():
    """The exchange thread was busy while two recorded ticks fell due (the clock moved
    without it, as on a loaded machine): an order that comes then is matched against the book
    of its time, after those ticks, not against the older book still in place."""
    from datetime import timedelta

    run = Replayed(path_feed([3700, 3702, 3704, 3706]))   # asks 3701, 3703, 3705, 3707
    try:
        run.gateway.control_replay("play")
        run.settled()
        run.gateway.clock.seconds += 25     # the thread waits for a command: it does not see
        buy = run.send(Direction.LONG, 3701)                # the ask at 09:00:00
        run.settled()
    finally:
        run.close()
    assert run.trades == [] and run.orders[buy].status == Status.NOTTRADED
    assert run.orders[buy].datetime == PATH_START + timedelta(seconds=25)
    assert [t.last_price for t in run.ticks][-2:] == [3702, 3704]
    assert run.ticks[-1].datetime == PATH_START + timedelta(seconds=20)
