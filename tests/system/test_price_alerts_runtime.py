"""The runtime's price alerts: checked on the event thread at every tick of a replayed real
day, published as alerts the journal keeps, kept across a restart, following the drawings,
and a file that cannot be read said loudly."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest
from vnpy.event import Event
from vnpy.trader.constant import Exchange
from vnpy.trader.event import EVENT_TICK
from vnpy.trader.object import SubscribeRequest, TickData

from terminal.core import paths
from terminal.core.alerts import EVENT_ALERT, SEVERE
from terminal.core.timezone import CHINA_TZ, to_ns
from terminal.market.drawings import Anchor, new_drawing
from terminal.market.prices import round_to_tick
from terminal.market.price_alerts import CROSS_UP, FIRED, LINE_DELETED, TOUCH, new_alert
from tests.helpers import SHARED_DATA, drained

IF_FILE = SHARED_DATA / "cn_fut_CFFEX_IF2101_tick_20210104-06_wondertrader.csv"
IF = "IF2101.CFFEX"
RB = "rb2701.SHFE"
T0 = 1_795_309_200_000_000_000      # 2026-11-20 09:00 +08:00


def build(data_dir, **kwargs):
    from terminal.core.settings import Settings
    from terminal.system import runtime as runtime_module

    return runtime_module.build(paths.prepare(data_dir), Settings(), **kwargs)


@pytest.mark.skipif(not IF_FILE.exists(), reason=f"{IF_FILE} is not there")
def test_a_once_crossing_up_alert_fires_exactly_once_on_a_replayed_day(data_dir):
    from terminal.gateways.sim import replay
    from terminal.gateways.sim.clock import ManualClock
    from terminal.storage.csv_import import import_file

    runtime = build(data_dir, sim_clock=ManualClock())
    try:
        engine = runtime.kernel.event_engine
        import_file(runtime.store, IF_FILE)
        feed = replay.load(runtime.store, "IF2101", Exchange.CFFEX, date(2021, 1, 4), "tick",
                           "SIM")
        prices = feed.columns["last_price"]
        # The level: 1% above the opening auction; the first crossing, found here on its own:
        # the first tick at or above it whose previous tick was below.
        level = round_to_tick(float(prices[0]) * 1.01, 0.2)
        ticks = np.round(prices / 0.2).astype(np.int64)
        line = round(level / 0.2)
        crossings = np.flatnonzero((ticks[1:] >= line) & (ticks[:-1] < line)) + 1
        assert len(crossings) > 1, "the day crosses the level more than once"
        first = int(crossings[0])

        alert = new_alert(IF, CROSS_UP, level=level, note="breakout")
        runtime.price_alerts.add(alert)
        published = []
        engine.register(EVENT_ALERT, lambda event: published.append(event.data)
                        if event.data.rule == "price_alert" else None)
        runtime.connect_simulator()
        gateway = runtime.kernel.main_engine.get_gateway("SIM")
        gateway.start_replay(feed)
        gateway.advance(0)
        drained(engine)
        gateway.subscribe(SubscribeRequest("IF2101", Exchange.CFFEX))
        gateway.control_replay("speed", 2000)
        gateway.control_replay("play")
        for _ in range(200):
            gateway.advance(2.0)            # over an hour of the day each time
            if gateway.replay_status().state == "finished":
                break
        drained(engine)
        assert gateway.replay_status().played == len(feed.times)

        kept = runtime.price_alerts.get(alert.id)
        assert (kept.enabled, kept.reason, kept.fired_count) == (False, FIRED, 1)
        assert kept.fired_ns == int(feed.times[first])
        assert kept.fired_price == float(prices[first])
        assert len(published) == 1
        fired = published[0]
        assert to_ns(fired.time) == int(feed.times[first]) and fired.symbol == IF
        assert fired.message.startswith(f"IF2101.CFFEX crossed up {level:,.1f} (price level), "
                                        f"last {prices[first]:,.1f}")
        assert fired.message.endswith(": breakout")
        runtime.journal.flush()
        assert [a.message for a in runtime.journal.load().alerts
                if a.rule == "price_alert"] == [fired.message]
    finally:
        runtime.close()


def test_alerts_are_kept_across_a_restart_fired_ones_as_fired(data_dir):
    waiting = new_alert(RB, TOUCH, level=3700.0, once=False, rearm=5.0, note="every")
    once = new_alert(RB, CROSS_UP, level=3650.0)
    runtime = build(data_dir)
    try:
        runtime.price_alerts.add(waiting)
        runtime.price_alerts.add(once)
        for price in (3600.0, 3660.0):
            tick = TickData("SIM", "rb2701", Exchange.SHFE, datetime(2026, 11, 20, 9, 1,
                                                                    tzinfo=CHINA_TZ),
                            last_price=price)
            runtime.kernel.event_engine.put(Event(EVENT_TICK, tick))
        drained(runtime.kernel.event_engine)
        kept = runtime.price_alerts.alerts()
        assert kept[1].reason == FIRED
    finally:
        runtime.close()
    runtime = build(data_dir)
    try:
        assert runtime.price_alerts.alerts() == kept
        assert runtime.startup_problems == []
    finally:
        runtime.close()


def test_an_unreadable_alerts_file_is_a_severe_startup_alert(data_dir):
    data = paths.prepare(data_dir)
    data.price_alerts_file.write_text('{"format": 1, "alerts": [{"id": ', encoding="utf-8")
    runtime = build(data_dir)
    try:
        assert len(runtime.price_alerts) == 0
        problems = [a for a in runtime.startup_problems if a.rule == "price_alerts"]
        assert len(problems) == 1 and problems[0].severity == SEVERE
        assert "could not be read" in problems[0].message
        assert "price_alerts.json.broken-" in problems[0].message
        drained(runtime.kernel.event_engine)
        runtime.journal.flush()
        assert any(a.rule == "price_alerts" for a in runtime.journal.load().alerts)
    finally:
        runtime.close()


def test_a_newer_alerts_file_is_not_read_nor_written_over_and_every_change_is_refused(
        data_dir):
    from terminal.market.price_alerts import PriceAlertError

    data = paths.prepare(data_dir)
    newer = '{"format": 2, "alerts": [{"id": "a", "kind": "of the future"}]}'
    data.price_alerts_file.write_text(newer, encoding="utf-8")
    runtime = build(data_dir)
    try:
        assert len(runtime.price_alerts) == 0
        [problem] = [a for a in runtime.startup_problems if a.rule == "price_alerts"]
        assert problem.severity == SEVERE
        assert "saved by a newer version of the terminal (format 2" in problem.message
        assert "none can be set or changed here" in problem.message
        with pytest.raises(PriceAlertError, match="newer version of the terminal: no alert "
                                                  "can be set or changed"):
            runtime.price_alerts.add(new_alert(RB, CROSS_UP, level=3650.0))
        runtime.drawings.book(RB).add(new_drawing("hline", [Anchor(T0, 3650.0)]))
    finally:
        runtime.close()
    assert data.price_alerts_file.read_text(encoding="utf-8") == newer
    assert list(data.root.glob("price_alerts.json.broken-*")) == []


def test_alerts_follow_the_runtimes_drawings_even_across_a_restart(data_dir):
    line = new_drawing("hline", [Anchor(T0, 3650.0)])
    runtime = build(data_dir)
    try:
        book = runtime.drawings.book(RB)
        book.add(line)
        alert = new_alert(RB, CROSS_UP, drawing=line)
        runtime.price_alerts.add(alert)
        book.replace(line.moved(0, 20.0))
        assert runtime.price_alerts.get(alert.id).drawing.anchors[0].price == 3670.0
    finally:
        runtime.close()
    # Deleted while the alerts were not listening (a damaged file, another copy...): the
    # runtime compares at start.
    (paths.prepare(data_dir).drawings_dir / f"{RB}.json").unlink()
    runtime = build(data_dir)
    try:
        kept = runtime.price_alerts.get(alert.id)
        assert (kept.enabled, kept.reason) == (False, LINE_DELETED)
    finally:
        runtime.close()


class Gate:
    """A write that waits until the test opens the gate; the lists written, in order."""

    def __init__(self) -> None:
        import threading

        self.open = threading.Event()
        self.started = threading.Event()
        self.written: list[list] = []

    def __call__(self, path, alerts) -> None:
        self.started.set()
        assert self.open.wait(30), "the gate was never opened"
        self.written.append(alerts)


class Tick:
    def __init__(self, price, minute=1):
        self.vt_symbol, self.last_price = RB, price
        self.datetime = datetime(2026, 11, 20, 9, minute, tzinfo=CHINA_TZ)


def test_a_slow_save_never_holds_up_the_tick_and_changes_made_meanwhile_are_written_once(
        tmp_path):
    import threading

    from terminal.market.alert_book import PriceAlerts
    from terminal.system.price_alert_wiring import Saver

    gate = Gate()
    saver = Saver(tmp_path / "price_alerts.json", engine=None, write=gate)
    book = PriceAlerts(save=saver, close=saver.close)
    every = new_alert(RB, TOUCH, level=3700.0, once=False, rearm=1.0)
    book.add(every)                         # the writer takes it and waits at the gate
    assert gate.started.wait(10)
    done = threading.Event()

    def flap():                             # on "the event thread": one tick each way
        for swing in range(10):
            book.on_tick(Tick(3690.0 if swing % 2 else 3700.0))
        done.set()
    threading.Thread(target=flap, daemon=True).start()
    assert done.wait(10), "the ticks waited for the disk"
    assert book.get(every.id).fired_count == 5
    assert gate.written == []
    gate.open.set()
    book.close()
    # the first list, then only the newest of the twenty changes made while it was written
    assert [len(alerts) for alerts in gate.written] == [1, 1]
    assert gate.written[-1] == book.alerts()
    assert gate.written[-1][0].fired_count == 5


def test_close_returns_once_the_last_change_is_written(tmp_path):
    import threading

    from terminal.market.alert_book import PriceAlerts
    from terminal.system.price_alert_wiring import Saver

    gate = Gate()
    saver = Saver(tmp_path / "price_alerts.json", engine=None, write=gate)
    book = PriceAlerts(save=saver, close=saver.close)
    book.add(new_alert(RB, TOUCH, level=3700.0))
    assert gate.started.wait(10)
    book.add(new_alert(RB, CROSS_UP, level=3800.0))
    closing = threading.Thread(target=book.close, daemon=True)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive(), "close returned before the last change was written"
    gate.open.set()
    closing.join(10)
    assert not closing.is_alive()
    assert gate.written[-1] == book.alerts()
    book.add(new_alert(RB, TOUCH, level=3900.0))   # after close: written at once
    assert gate.written[-1] == book.alerts()


def test_the_runtime_writes_the_last_change_before_close_returns(data_dir, monkeypatch):
    import threading

    from terminal.market import price_alert_file

    gate = Gate()
    real = price_alert_file.write

    def slow(path, alerts):            # the writer is still busy when close is called
        gate(path, alerts)
        real(path, alerts)
    monkeypatch.setattr(price_alert_file, "write", slow)
    runtime = build(data_dir)
    try:
        for level in (3650.0, 3660.0, 3670.0):
            runtime.price_alerts.add(new_alert(RB, CROSS_UP, level=level))
        kept = runtime.price_alerts.alerts()
        assert gate.started.wait(10)
    finally:
        # opened a second after close began: a close that does not wait is over by then
        threading.Timer(1.0, gate.open.set).start()
        runtime.close()
    assert price_alert_file.read(paths.prepare(data_dir).price_alerts_file) == (kept, "")


def test_a_failing_save_is_one_severe_alert_until_a_save_works(tmp_path):
    from terminal.market.alert_book import PriceAlerts
    from terminal.system.price_alert_wiring import Saver

    class Engine:
        def __init__(self):
            self.said = []

        def put(self, event):
            self.said.append(event.data)

    full = [True]

    def write(path, alerts):
        if full[0]:
            raise OSError("disk full")
    engine = Engine()
    saver = Saver(tmp_path / "price_alerts.json", engine, write=write)
    book = PriceAlerts(save=saver, close=saver.flush)
    for level in (3700.0, 3800.0):
        book.add(new_alert(RB, TOUCH, level=level))
        book.close()
    assert [(a.severity, a.rule) for a in engine.said] == [(SEVERE, "price_alerts")]
    assert "disk full" in engine.said[0].message
    full[0] = False
    book.add(new_alert(RB, TOUCH, level=3900.0))
    book.close()
    assert not saver.failing
    saver.close()
