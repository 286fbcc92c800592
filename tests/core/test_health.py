"""The health view: what the sampler reads, when a measure turns amber or red, and the dock
showing it live against a running terminal."""

from __future__ import annotations

import contextlib
import math
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from vnpy.event import Event
from vnpy.trader.constant import Exchange
from vnpy.trader.event import EVENT_LOG, EVENT_TICK
from vnpy.trader.object import LogData, TickData

from terminal.core.bridge import EventBridge
from terminal.core.events import IsolatedEventEngine
from terminal.core.health import (BAD, OK, WARN, HealthSample, HealthSampler, assess, growing,
                                  memory_growth, status_text)
from terminal.core.looplag import LoopLagMonitor, percentile
from tests.helpers import next_quotes

WAIT = 15_000
CHINA_TZ = ZoneInfo("Asia/Shanghai")


class FakeProcess:
    def __init__(self, rss: int = 100 * 2**20, threads: int = 12) -> None:
        self.rss, self.threads = rss, threads

    def oneshot(self):
        return contextlib.nullcontext()

    def memory_info(self):
        return SimpleNamespace(rss=self.rss)

    def num_threads(self) -> int:
        return self.threads

    def cpu_percent(self) -> float:
        return 12.5


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Queue:
    def __init__(self, depth: int = 0) -> None:
        self.queue_depth = depth


def status(gateway: str, state: str, detail: str = ""):
    return SimpleNamespace(gateway=gateway, state=SimpleNamespace(value=state), detail=detail)


def tick(symbol: str, price: float) -> TickData:
    return TickData("SIM", symbol, Exchange.SHFE, datetime.now(), last_price=price)


def sample(n: int = 0, **values) -> HealthSample:
    return HealthSample(at=1e9 + n, monotonic=float(n), **values)


# ---------------------------------------------------------------------------------- sources
def test_loop_lag_keeps_a_bounded_minute_and_its_percentiles():
    lag = LoopLagMonitor(interval=0.02, window=60.0)
    for i in range(10_000):                               # 200 s of 20 ms samples
        lag.record(0.001 if i % 50 else 0.050, now=i * 0.02)
    assert len(lag._recent) <= 3001                       # one minute, not the whole run
    assert lag.last == 0.001 and lag.worst == 0.050 and lag.count == 10_000
    now = 9_999 * 0.02
    minute = lag.recent(now=now)
    assert 2990 <= len(minute) <= 3001
    assert lag.percentile(99, now=now) == 0.050          # 2% of the samples are 50 ms
    assert lag.percentile(50, now=now) == 0.001
    assert 500 <= len(lag.recent(10.0, now=now)) <= 501
    assert LoopLagMonitor().percentile(99) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([], 99) is None
    assert percentile(list(range(1, 101)), 99) == 99


def test_bridge_counts_ticks_and_what_waits_for_the_gui():
    engine = IsolatedEventEngine()                        # not started: handlers called below
    bridge = EventBridge(engine)
    for i in range(500):
        engine._process(Event(EVENT_TICK, tick(f"s{i % 10}", float(i))))
    engine._process(Event(EVENT_LOG, LogData("SIM", "hello")))
    assert bridge.ticks_received == 500
    assert bridge.pending == 11                           # 10 latest ticks and a log line
    bridge.drain()
    assert bridge.pending == 0 and bridge.ticks_received == 500


def test_journal_and_recorder_queue_depths(tmp_path):
    from vnpy.trader.constant import Direction, Status
    from vnpy.trader.object import OrderData

    from terminal.core.trading_day import trading_day
    from terminal.market.bars import MinuteBarBuilder
    from terminal.storage.journal import Journal
    from terminal.storage.market_store import MarketStore
    from terminal.storage.recorder import Recorder

    journal = Journal(tmp_path / "journal.db", trading_day)
    try:
        journal._stop.set()                               # no flusher: the queue stays put
        journal._flusher.join()
        for i in range(3):
            journal.record("orders", OrderData("CTP", "rb2701", Exchange.SHFE, str(i),
                                               direction=Direction.LONG, status=Status.NOTTRADED,
                                               datetime=datetime.now(CHINA_TZ)))
        assert journal.queue_depth == 3
        journal.flush()
        assert journal.queue_depth == 0
    finally:
        journal.close()

    store = MarketStore(tmp_path / "market")
    recorder = Recorder(store, tmp_path / "recording.db", {"SIM"}, MinuteBarBuilder)
    live = TickData("CTP", "rb2701", Exchange.SHFE, datetime.now(CHINA_TZ),
                    last_price=3500.0)
    recorder.on_tick(live)
    recorder.on_tick(live)
    recorder.on_tick(tick("rb2701", 1.0))                 # the simulator's: not recorded
    assert recorder.queue_depth == 2
    recorder.flush()
    assert recorder.queue_depth == 0
    recorder.journal.close()
    store.close()


# ---------------------------------------------------------------------------------- sampler
def test_sampler_reads_every_source_and_keeps_a_bounded_history():
    clock, count = Clock(), [0]
    lag = LoopLagMonitor()
    for i in range(200):
        lag.record(0.030 if i < 3 else 0.002)
    connections = SimpleNamespace(statuses=lambda: [status("SIM", "connected", "1,000,000"),
                                                    status("CTP", "reconnecting", "md lost")])
    sampler = HealthSampler(
        event_engine=Queue(7), bridge=SimpleNamespace(pending=24, ticks_received=0),
        connections=connections, journal=Queue(2), recorder=None, lag=lag,
        tick_count=lambda: count[0], history_seconds=5, clock=clock, wall=clock,
        process=FakeProcess())
    first = sampler.sample()
    assert first.ticks_per_second is None                 # no rate before a second sample
    count[0], clock.now = 5_000, clock.now + 2.0
    second = sampler.sample()
    assert second.ticks_per_second == 2_500.0
    assert (second.event_queue, second.bridge_pending, second.journal_queue,
            second.recorder_queue) == (7, 24, 2, None)
    assert second.connections == (("SIM", "connected", "1,000,000"),
                                  ("CTP", "reconnecting", "md lost"))
    assert second.lag_last == 0.002 and second.lag_p99 == 0.030
    assert (second.rss, second.threads, second.cpu) == (100 * 2**20, 12, 12.5)
    for _ in range(10):
        clock.now += 1.0
        sampler.sample()
    assert len(sampler.history) == 5 and sampler.latest.monotonic == clock.now
    times, rates = sampler.series("recorder_queue")
    assert len(times) == 5 and all(math.isnan(r) for r in rates)  # None is NaN
    levels = sampler.levels()
    assert levels["connection:SIM"] == OK and levels["connection:CTP"] == WARN
    assert levels["lag_p99"] == WARN and levels["overall"] == WARN
    assert "CTP reconnecting" in status_text(sampler.latest)


def test_sampler_of_a_bridge_counts_the_bridge_ticks_and_the_real_process():
    engine = IsolatedEventEngine()
    bridge = EventBridge(engine)
    sampler = HealthSampler(event_engine=engine, bridge=bridge)
    sampler.sample()
    for i in range(100):
        engine._process(Event(EVENT_TICK, tick("rb", float(i))))
    latest = sampler.sample()
    assert latest.ticks_per_second > 0 and latest.bridge_pending == 1
    assert latest.rss > 10 * 2**20 and latest.threads >= 1
    assert latest.lag_p99 is None and latest.journal_queue is None


def test_host_steal_is_the_share_of_all_cpus_time_since_the_last_sample():
    clock, stolen = Clock(), [120.0]
    sampler = HealthSampler(host_steal=lambda: stolen[0], cpus=2, clock=clock, wall=clock,
                            process=FakeProcess())
    assert sampler.sample().host_steal is None            # a share needs two readings
    stolen[0] += 0.15                                      # 150 ms of 2 CPUs x 1 s
    clock.now += 1.0
    assert sampler.sample().host_steal == pytest.approx(7.5)
    assert sampler.levels()["host_steal"] == WARN
    assert "host steal 8%" in status_text(sampler.latest)
    stolen[0] += 0.02
    clock.now += 2.0
    assert sampler.sample().host_steal == pytest.approx(0.5)
    assert sampler.levels()["host_steal"] == OK
    assert "steal" not in status_text(sampler.latest)
    off_linux = HealthSampler(host_steal=lambda: None, clock=clock, process=FakeProcess())
    off_linux.sample()
    clock.now += 1.0
    assert off_linux.sample().host_steal is None and "host_steal" not in off_linux.levels()


# ---------------------------------------------------------------------------------- levels
def test_a_queue_warns_when_it_keeps_growing_and_is_bad_past_its_limit():
    steady = [sample(n, event_queue=50 + (n % 3) * 40) for n in range(30)]
    assert assess(steady)["event_queue"] == OK
    rising = [sample(n, event_queue=100 + 20 * n) for n in range(30)]
    assert assess(rising)["event_queue"] == WARN
    small = [sample(n, event_queue=n) for n in range(30)]  # rising, but below the floor
    assert assess(small)["event_queue"] == OK
    assert assess([*steady, sample(31, event_queue=6_000)])["event_queue"] == BAD
    assert assess([sample(0, recorder_queue=60_000)])["recorder_queue"] == BAD
    assert growing([1, 2, 3, 4], floor=0, samples=4) and not growing([1, 2], 0, samples=4)
    assert not growing([1, 5, 2, 6], floor=0, samples=4)


def test_lag_connection_memory_and_overall_levels():
    assert assess([sample(lag_p99=0.012, lag_last=0.002)])["lag_p99"] == OK
    assert assess([sample(lag_p99=0.020)])["lag_p99"] == WARN
    levels = assess([sample(lag_p99=0.150, connections=(("CTP", "failed", "refused"),))])
    assert levels["lag_p99"] == BAD and levels["connection:CTP"] == BAD
    assert levels["overall"] == BAD
    flat = [sample(n, rss=500 * 2**20) for n in range(120)]
    assert assess(flat)["rss"] == OK and memory_growth(flat) == 0.0
    leaking = [sample(n, rss=(500 + n) * 2**20) for n in range(120)]
    assert memory_growth(leaking) > 0.2 and assess(leaking)["rss"] == WARN
    assert assess([])["overall"] == OK
    text = status_text(sample(ticks_per_second=5012.4, event_queue=0, bridge_pending=24,
                              journal_queue=0, recorder_queue=None, lag_p99=0.0031,
                              rss=312 * 2**20))
    assert text == "5,012 ticks/s · queues 0/24/0/- · lag p99 3.1 ms · 312 MB"


# ---------------------------------------------------------------------------------- the dock
def test_dock_shows_values_in_warning_colours_and_feeds_the_status_label(qtbot):
    from terminal.ui.docks.health import LEVEL_COLORS, PLOT_EVERY, HealthDock, HealthStatusLabel

    clock, queue = Clock(), Queue(0)
    states = {"SIM": "connected"}
    connections = SimpleNamespace(
        statuses=lambda: [status(name, state) for name, state in states.items()])
    lag = LoopLagMonitor()
    for _ in range(100):
        lag.record(0.003)
    sampler = HealthSampler(event_engine=queue, connections=connections, lag=lag,
                            tick_count=lambda: int(clock.now * 100), clock=clock, wall=clock,
                            process=FakeProcess(), host_steal=lambda: clock.now * 0.02,
                            cpus=2)
    dock = HealthDock(sampler, interval_ms=60_000)
    qtbot.addWidget(dock)
    label = HealthStatusLabel(dock)
    qtbot.addWidget(label)
    dock.show()
    for _ in range(3):
        clock.now += 1.0
        dock.refresh()
    assert dock.value_text("connection:SIM") == "connected"
    assert dock.value_text("ticks_per_second") == "100"
    assert dock.value_text("lag_p99") == "3.0 ms"
    assert dock.value_text("rss") == "100 MB"
    assert dock.value_text("host_steal") == "1.0%"
    assert dock.level_color("event_queue") is None and "color" not in label.styleSheet()
    assert "100 ticks/s" in label.text() and "lag p99 3.0 ms" in label.text()

    for n in range(25):                                   # the event queue backs up
        queue.queue_depth = 200 + 50 * n
        clock.now += 1.0
        dock.refresh()
    assert dock.level_color("event_queue") == LEVEL_COLORS[WARN]
    for _ in range(10):
        lag.record(0.250)
    states["SIM"] = "disconnected"
    states["CTP"] = "connecting"
    clock.now += 1.0
    dock.refresh()
    assert dock.value_text("connection:CTP") == "connecting"
    assert dock.level_color("connection:SIM") == LEVEL_COLORS[BAD]
    assert dock.level_color("connection:CTP") == LEVEL_COLORS[WARN]
    assert dock.level_color("lag_p99") == LEVEL_COLORS[BAD]
    assert LEVEL_COLORS[BAD] in label.styleSheet() and "SIM disconnected" in label.text()
    # The plots are redrawn every PLOT_EVERY samples (and when the dock is shown).
    drawn = len(dock.memory_curve.getData()[0])
    assert len(sampler.history) - PLOT_EVERY < drawn <= len(sampler.history)
    dock.update_plots()
    assert len(dock.memory_curve.getData()[0]) == len(sampler.history)
    assert dock.memory_curve.getData()[1][-1] == 100.0        # MB
    # One plot a sample, in turn: three short paints, not one long one every PLOT_EVERY.
    drawn_at = []
    dock._plotters = tuple(lambda k=k, plot=plot: (drawn_at.append((dock._samples, k)), plot())
                           for k, plot in enumerate(dock._plotters))
    for _ in range(2 * PLOT_EVERY):
        clock.now += 1.0
        dock.refresh()
    assert sorted(k for _, k in drawn_at) == [0, 0, 1, 1, 2, 2]
    assert len({sample for sample, _ in drawn_at}) == 6
    dock.stop()


def test_dock_on_a_running_terminal(terminal, qtbot):
    from terminal.ui.docks.health import HealthDock

    runtime, _window = terminal
    lag = LoopLagMonitor()
    lag.record(0.001)
    dock = HealthDock(HealthSampler.for_runtime(runtime, lag), interval_ms=100)
    qtbot.addWidget(dock)
    dock.show()
    qtbot.waitUntil(lambda: dock.sampler.latest is not None, timeout=WAIT)
    next_quotes(runtime)                # ticks after the first sample: counted in a later one
    qtbot.waitUntil(lambda: (dock.sampler.latest.ticks_per_second or 0) > 0, timeout=WAIT)
    latest = dock.sampler.latest
    assert ("SIM", "connected") in [(g, s) for g, s, _ in latest.connections]
    assert latest.event_queue is not None and latest.journal_queue is not None
    assert latest.rss > 50 * 2**20 and latest.threads > 3
    assert dock.value_text("connection:SIM") == "connected"
    dock.stop()


def test_main_window_status_bar_and_health_dock(terminal, qtbot):
    """The status bar shows the health from the start; the dock is built when first shown
    and samples from then on (one sample a second, not two)."""
    from terminal.ui.docks.health import HealthDock

    _runtime, window = terminal
    assert window.health is not None and "health" not in window.widgets
    qtbot.waitUntil(lambda: "ticks/s" in window.status_bar.health_label.text(), timeout=WAIT)
    assert "MB" in window.status_bar.health_label.text()
    window.show_dock("health")
    qtbot.waitUntil(lambda: isinstance(window.docks["health"].widget(), HealthDock),
                    timeout=WAIT)
    dock = window.widget("health")
    assert dock.timer.isActive() and dock.timer.interval() == 1000
    before = len(window.health.history)
    window.status_bar.refresh()         # the status bar's second: the dock samples, not it
    assert len(window.health.history) == before
    dock.refresh()                      # the dock's second
    assert len(window.health.history) == before + 1
    assert dock.value_text("connection:SIM") == "connected"
    assert window.status_bar.health_label.text() == status_text(window.health.latest)
