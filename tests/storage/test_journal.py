"""The trading journal: records come back as the same objects, it commits ahead of the GUI,
a restart shows the same orders, trades and positions, and a killed process trading at speed
loses no acknowledged fill."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime

import pytest
from PySide6.QtCore import Qt
from vnpy.event import Event
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.event import EVENT_ORDER, EVENT_TRADE
from vnpy.trader.object import AccountData, OrderData, PositionData, TradeData

from terminal.core.alerts import SEVERE, Alert
from terminal.core.trading_day import trading_day
from terminal.risk.limits import RiskConfig
from terminal.risk.limits import save as save_risk
from terminal.storage.journal import Journal, JournalError, open_journal
from tests.helpers import PROJECT
from tests.helpers.gui import RB, WAIT, fill_ticket, marketable_buy_price



def test_records_come_back_as_the_same_objects(tmp_path):
    journal = Journal(tmp_path / "journal.db", trading_day)
    moment = datetime(2026, 11, 20, 21, 5, 1, 500)
    order = OrderData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE, orderid="1",
                      type=OrderType.LIMIT, direction=Direction.LONG, offset=Offset.OPEN,
                      price=3250.0, volume=2, traded=0, status=Status.NOTTRADED,
                      datetime=moment, reference="ticket")
    order.extra = {"reason": ""}
    journal.record("orders", order)
    order.status, order.traded = Status.ALLTRADED, 2
    journal.record("orders", order)                          # the latest state replaces it
    trade = TradeData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE, orderid="1",
                      tradeid="7", direction=Direction.LONG, offset=Offset.OPEN, price=3250.0,
                      volume=2, datetime=moment)
    journal.record("trades", trade)
    position = PositionData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE,
                            direction=Direction.LONG, volume=2, price=3250.0, pnl=40.0)
    journal.record("positions", position)
    account = AccountData(gateway_name="SIM", accountid="A", balance=1e6, frozen=1.0)
    journal.record("accounts", account)
    alert = Alert(moment, SEVERE, "daily_loss", "", "daily loss limit reached")
    journal.record("alerts", alert)
    journal.close()

    state = Journal(tmp_path / "journal.db", trading_day).load(date(2026, 11, 23))  # Monday
    assert state.orders == [order] and state.orders[0].vt_orderid == "SIM.1"
    assert state.trades == [trade] and state.positions == [position]
    assert state.accounts == [account] and state.alerts == [alert]
    assert Journal(tmp_path / "journal.db", trading_day).load(date(2026, 11, 20)).orders == []


def test_the_journal_commits_before_the_gui_sees_an_order(terminal):
    runtime, _ = terminal
    handlers = runtime.kernel.event_engine._handlers
    for event_type in (EVENT_ORDER, EVENT_TRADE):
        assert handlers[event_type][0] == runtime.journal.handler
    # A drained batch is on disk: the bridge commits the journal before handing it out.
    journal, bridge = runtime.journal, runtime.kernel.bridge
    journal._stop.set()                                   # no background commits from here
    journal._flusher.join()
    order = OrderData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE,
                      orderid="x1", type=OrderType.LIMIT, direction=Direction.LONG,
                      offset=Offset.OPEN, price=1.0, volume=1, status=Status.REJECTED)
    runtime.kernel.event_engine.put(Event(EVENT_ORDER, order))
    deadline = time.monotonic() + 5
    while "SIM.x1" not in bridge._pending.orders:         # journalled, then handed to the bridge
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert journal._pending                                # queued, not yet committed
    batch = bridge.drain()
    assert "SIM.x1" in batch.orders and not journal._pending
    on_disk = journal.db.execute("SELECT key FROM orders WHERE key = 'SIM.x1'").fetchall()
    assert on_disk == [("SIM.x1",)]


def test_a_restart_shows_the_same_orders_trades_and_positions(qtbot, data_dir):
    from terminal.app.main import start

    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.market_watch.model.find(RB) is not None, timeout=WAIT)
    ticket = fill_ticket(window, price=marketable_buy_price(runtime), volume="2")
    qtbot.mouseClick(ticket.buy_button, Qt.MouseButton.LeftButton)
    bid = runtime.kernel.main_engine.get_tick(RB).bid_price_1
    far = fill_ticket(window, price=f"{bid - 100:.0f}")
    qtbot.mouseClick(far.buy_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.positions.model.rowCount() == 1
                    and window.orders.model.rowCount() == 2
                    and sum(t.volume for t in window.trades.model.records()) == 2, timeout=WAIT)
    trades = sorted(t.vt_tradeid for t in window.trades.model.records())
    position = window.positions.model.record(0)
    assert position.volume == 2
    window.close()
    runtime.close()

    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    try:
        def restored() -> bool:
            return (window.positions.model.rowCount() == 1
                    and window.orders.model.rowCount() == 2
                    and window.trades.model.rowCount() == len(trades))

        try:
            qtbot.waitUntil(restored, timeout=WAIT)
        except qtbot.TimeoutError:
            raise AssertionError(
                f"positions {window.positions.model.records()}, orders "
                f"{[(o.vt_orderid, o.status) for o in window.orders.model.records()]}, trades "
                f"{[t.vt_tradeid for t in window.trades.model.records()]} vs {trades}") from None
        assert sorted(t.vt_tradeid for t in window.trades.model.records()) == trades
        again = window.positions.model.record(0)
        assert (again.vt_positionid, again.volume, again.price) == (
            position.vt_positionid, 2, position.price)
        statuses = {o.status for o in window.orders.model.records()}
        assert statuses == {Status.ALLTRADED, Status.CANCELLED}
        cancelled = next(o for o in window.orders.model.records()
                         if o.status == Status.CANCELLED)
        assert "restarted" in cancelled.extra["reason"]
        # The position is the exchange's again: it can be closed.
        window.positions.view.selectRow(0)
        assert window.positions.close_selected()
        qtbot.waitUntil(lambda: window.positions.model.rowCount() == 0, timeout=WAIT)
    finally:
        window.close()
        runtime.close()


TRADER = r"""
import sys
from pathlib import Path
from terminal.core import paths
from terminal.core.settings import Settings
data = paths.prepare(Path(sys.argv[1]))
from vnpy.trader.constant import Direction, Offset, OrderType
from vnpy.trader.event import EVENT_TRADE
from terminal.system import runtime as runtime_module
from terminal.market.ticket import Ticket
runtime = runtime_module.build(data, Settings(sim_quote_rate=50.0, sim_seed=5))

runtime.connect_simulator()
import time
while runtime.kernel.main_engine.get_tick("rb2701.SHFE") is None:
    runtime.kernel.main_engine.subscribe(
        __import__("vnpy.trader.object", fromlist=["SubscribeRequest"]).SubscribeRequest(
            "rb2701", __import__("vnpy.trader.constant", fromlist=["Exchange"]).Exchange.SHFE),
        "SIM")
    time.sleep(0.05)
side = 0
while True:
    # What the GUI shows is what the bridge hands out: a trade in a drained batch counts as
    # acknowledged (the drain commits the journal first).
    for trade in runtime.kernel.bridge.drain().trades:
        print("ack", trade.vt_tradeid, flush=True)
    tick = runtime.kernel.main_engine.get_tick("rb2701.SHFE")
    buy = side % 2 == 0
    price = tick.ask_price_1 + 5 if buy else tick.bid_price_1 - 5
    runtime.trading.send_ticket(Ticket("rb2701.SHFE", Direction.LONG if buy else Direction.SHORT,
                                       Offset.OPEN if buy else Offset.CLOSETODAY,
                                       OrderType.LIMIT, price, 1))
    side += 1
    time.sleep(0.002)
"""


@pytest.mark.slow
def test_every_acknowledged_fill_survives_a_hard_kill(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen([sys.executable, "-c", TRADER, str(home)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=env, cwd=tmp_path, text=True)
    acknowledged = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if line.startswith("ack "):
            acknowledged.append(line.split()[1])
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert len(acknowledged) >= 300, "the trading process did not fill fast enough"
    journal = Journal(home / "journal.db", trading_day)
    kept = {t.vt_tradeid for t in journal.load().trades}
    journal.close()
    assert set(acknowledged) <= kept


def garbage(path) -> None:
    path.write_bytes(b"this is not a database, it was overwritten by something else\n" * 50)


def truncated(path) -> None:
    """A real journal with trades in it, cut off part way (a copy that stopped, a full disk)."""
    journal = Journal(path, trading_day)
    for number in range(2000):
        trade = TradeData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE,
                          orderid=str(number), tradeid=str(number), direction=Direction.LONG,
                          offset=Offset.OPEN, price=3250.0, volume=1,
                          datetime=datetime(2026, 11, 20, 21, 5))
        journal.record("trades", trade)
    journal.close()
    whole = path.read_bytes()
    assert len(whole) > 100_000
    path.write_bytes(whole[: len(whole) * 2 // 3])


def a_directory(path) -> None:
    path.mkdir()
    (path / "something").write_text("kept")


@pytest.mark.parametrize("damage", [garbage, truncated, a_directory])
def test_a_journal_that_cannot_be_used_is_kept_aside_and_the_terminal_starts(qtbot, data_dir,
                                                                            damage):
    from terminal.app.main import start

    data_dir.mkdir(parents=True)
    save_risk(data_dir / "risk.json", RiskConfig())       # the terminal ran here before
    path = data_dir / "journal.db"
    damage(path)
    before = path.read_bytes() if path.is_file() else None
    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    try:
        assert window.isVisible()
        (kept,) = data_dir.glob("journal.db.broken-*")
        if before is not None:
            assert kept.read_bytes() == before                    # kept untouched
        else:
            assert (kept / "something").read_text() == "kept"
        assert path.is_file() and runtime.journal.path == path   # a new journal, working
        assert window.startup_box.isVisible()
        text = window.startup_box.text()
        assert kept.name in text and "broker's records are the reference" in text
        window.startup_box.close()                              # read: the trader closes it
        alerts = window.alerts.model
        qtbot.waitUntil(lambda: any(a.rule == "journal" for a in alerts.records()),
                        timeout=WAIT)
        alert = next(a for a in alerts.records() if a.rule == "journal")
        assert alert.severity == SEVERE and kept.name in alert.message
        # The new journal records (the alert itself, and trading from now on).
        qtbot.waitUntil(lambda: any(a.rule == "journal" for a in runtime.journal.load().alerts),
                        timeout=WAIT)
        # It was a journal found broken, not risk settings gone: trading is not restricted.
        assert runtime.risk.config.state.value == "ACTIVE"
    finally:
        window.close()
        runtime.close()


def test_the_integrity_check_finds_a_damaged_page(tmp_path):
    """Bytes changed inside the file (not its header) are found by SQLite's own check."""
    path = tmp_path / "journal.db"
    truncated(path)
    path.unlink()
    journal = Journal(path, trading_day)
    for number in range(500):
        journal.record("alerts", Alert(datetime(2026, 11, 20, 21, 5), SEVERE, "x", "",
                                       f"message {number}"))
    journal.close()
    data = bytearray(path.read_bytes())
    for offset in range(4096 + 100, len(data), 4096):        # a byte in every page but the first
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match=r"integrity check|malformed|not a database"):
        Journal(path, trading_day, check=True)
    journal, aside = open_journal(path, trading_day)
    try:
        assert aside is not None and aside.kept.read_bytes() == bytes(data)
        assert journal.load().alerts == []
    finally:
        journal.close()


def test_a_second_terminal_on_the_same_data_directory_is_refused_and_moves_nothing(qtbot,
                                                                                  data_dir):
    """Two terminals on one folder would each run a risk gate and write one journal; the
    second must not start, and above all must not move the first one's journal aside."""
    from terminal.app.main import start
    from terminal.core.instance import AlreadyRunning
    from terminal.gateways.sim.clock import ManualClock

    runtime, window = start(data_dir, show=False, sim_clock=ManualClock())
    qtbot.addWidget(window)
    try:
        child = subprocess.run(
            [sys.executable, "-m", "terminal", "--home", str(data_dir), "--smoke", "1"],
            cwd=PROJECT, capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        assert child.returncode == 2, child.stdout + child.stderr
        assert "another trading terminal (process" in child.stderr
        assert str(os.getpid()) in child.stderr
        with pytest.raises(AlreadyRunning):
            start(data_dir, show=False, sim_clock=ManualClock())
        assert not list(data_dir.glob("journal.db.broken-*"))
        assert runtime.journal.path.exists()
    finally:
        window.close()
        runtime.close()
    again, window = start(data_dir, show=False, sim_clock=ManualClock())  # released on close
    qtbot.addWidget(window)
    window.close()
    again.close()


def test_a_journal_out_of_reach_is_not_taken_for_damaged(tmp_path, monkeypatch):
    """Locked by another process, no permission, a failing disk: SQLite's OperationalError.
    The file may be sound and in use: it is never moved aside; the start stops, saying why."""
    path = tmp_path / "journal.db"
    Journal(path, trading_day).close()

    def out_of_reach(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(sqlite3, "connect", out_of_reach)
    with pytest.raises(JournalError) as raised:
        open_journal(path, trading_day)
    assert not raised.value.damaged and "locked" in raised.value.why
    assert path.exists() and not list(tmp_path.glob("journal.db.broken-*"))


def test_a_row_that_cannot_be_decoded_is_skipped_and_counted(tmp_path):
    """A flipped high bit inside a row's text passes SQLite's integrity check; it must not
    stop the start, only that row is lost from the view."""
    path = tmp_path / "journal.db"
    journal = Journal(path, trading_day)
    for number in range(3):
        journal.record("alerts", Alert(datetime(2026, 11, 20, 21, 5), SEVERE, "x", "",
                                       f"message {number}"))
    journal.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE alerts SET data = CAST(? AS TEXT) WHERE rowid = 2",
               (b'{"message": "\xff\xfe"}',))
    db.commit()
    db.close()
    journal, aside = open_journal(path, trading_day)
    try:
        assert aside is None                             # the file itself is sound
        state = journal.load()
        assert [a.message for a in state.alerts] == ["message 0", "message 2"]
        assert state.unreadable == 1
    finally:
        journal.close()
