"""A chart's history is asked in order: the store, the contract's gateway (vn.py's
MainEngine.query_history), the configured datafeed; the answer says where it came from, and
what was fetched is not written to the store."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from vnpy.trader.constant import Exchange

from terminal.core.timezone import CHINA_TZ
from terminal.gateways.sim.history import bars_of, simulated_columns
from terminal.market import contracts
from terminal.services.chart_history import ChartSources
from terminal.storage.market_store import MarketStore

from tests.helpers.threads import Call, WatchedLock

NOW = datetime(2026, 12, 9, 15, 30, tzinfo=CHINA_TZ)
RB = contracts.find("rb2701.SHFE")
COLUMNS = simulated_columns(RB, 3, NOW, RB.base_price, days=3)


class Contract:
    gateway_name = "CTP"


class Engine:
    """The part of vn.py's MainEngine a chart asks: a contract of the CTP gateway."""

    def __init__(self, bars):
        self.bars, self.asked = bars, []

    def get_contract(self, vt_symbol):
        return Contract() if vt_symbol == RB.vt_symbol else None

    def query_history(self, request, gateway_name):
        self.asked.append((request.vt_symbol, gateway_name))
        return self.bars

    def get_gateway(self, name):
        return object()


class Feed:
    def query_bar_history(self, request, output):
        return bars_of(RB, COLUMNS, "DATAFEED")


@pytest.fixture
def store(tmp_path):
    market = MarketStore(tmp_path / "market")
    yield market
    market.close()


def test_the_store_comes_first_and_a_simulated_series_says_so(store):
    store.save_columns("rb2701", Exchange.SHFE, "1m", COLUMNS, "sim")
    engine = Engine(bars_of(RB, COLUMNS, "CTP"))
    got = ChartSources(store, engine).history("rb2701", Exchange.SHFE, "5m", NOW)
    assert got.source == "simulated history" and len(got.bars["datetime"]) > 100
    assert engine.asked == []


def test_then_the_gateway_and_nothing_is_written_to_the_store(store):
    engine = Engine(bars_of(RB, COLUMNS, "CTP"))
    got = ChartSources(store, engine).history("rb2701", Exchange.SHFE, "1m", NOW)
    assert got.source == "from the CTP gateway"
    assert list(got.bars["close_price"]) == list(COLUMNS["close_price"])
    assert list(got.tail["datetime"]) == list(COLUMNS["datetime"][-3000:])
    assert engine.asked == [("rb2701.SHFE", "CTP")] and store.series() == []


def test_then_the_datafeed_and_a_failing_source_is_said(store):
    opened = []

    def opener():
        opened.append(1)
        return "rqdata", Feed()

    engine = Engine([])
    got = ChartSources(store, engine, opener).history("rb2701", Exchange.SHFE, "15m", NOW)
    assert got.source == "from datafeed rqdata" and len(got.bars["datetime"]) > 10
    ChartSources(store, engine, opener).history("rb2701", Exchange.SHFE, "1m", NOW)

    def missing():
        raise ValueError("the package vnpy_nosuchfeed is not installed")

    none = ChartSources(store, Engine([]), missing).history("rb2701", Exchange.SHFE, "1m", NOW)
    assert none.source == "" and len(none.bars["datetime"]) == 0
    assert none.problems == ("the package vnpy_nosuchfeed is not installed",)
    assert store.series() == []


class BlockingOpener:
    """Opens the datafeed (or fails to) only once a second chart has got as far as it can:
    into an opening of its own, or waiting for this one."""

    def __init__(self, failure: Exception | None = None):
        self.failure, self.calls = failure, 0
        self.second_arrived = threading.Event()
        self._count = threading.Lock()

    def __call__(self):
        with self._count:
            self.calls += 1
            first = self.calls == 1
        if first:
            assert self.second_arrived.wait(30)
        else:
            self.second_arrived.set()
        if self.failure is not None:
            raise self.failure
        return "rqdata", Feed()


def _two_charts_at_once(store, opener):
    sources = ChartSources(store, Engine([]), opener)
    sources._opening = WatchedLock(opener.second_arrived.set)
    charts = [Call(lambda: sources.history("rb2701", Exchange.SHFE, "1m", NOW))
              for _ in range(2)]
    for chart in charts:
        chart.start()
    return sources, [chart.finish() for chart in charts]


def test_two_charts_loading_at_once_open_the_datafeed_once(store):
    opener = BlockingOpener()
    _, got = _two_charts_at_once(store, opener)
    assert opener.calls == 1
    assert [history.source for history in got] == ["from datafeed rqdata"] * 2


def test_a_chart_waiting_on_a_failed_opening_shares_its_failure_and_a_later_one_tries_again(
        store):
    opener = BlockingOpener(ValueError("datafeed rqdata did not log in: wrong password"))
    sources, got = _two_charts_at_once(store, opener)
    assert opener.calls == 1                     # one failed login, not one per chart
    assert [history.problems for history in got] == [
        ("datafeed rqdata did not log in: wrong password",)] * 2
    opener.failure = None                        # the trader has fixed the password
    later = sources.history("rb2701", Exchange.SHFE, "1m", NOW)
    assert opener.calls == 2 and later.source == "from datafeed rqdata"
