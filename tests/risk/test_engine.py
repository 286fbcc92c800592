"""The risk engine in the running terminal: the gate in front of every sender (a strategy
included), trading states, and the live monitors raising alerts and halting trading."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import ClassVar

import pytest
from vnpy.event import Event
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.event import EVENT_ACCOUNT, EVENT_POSITION
from vnpy.trader.object import AccountData, OrderRequest, PositionData, TickData
from vnpy_ctastrategy import CtaTemplate

from terminal.core.alerts import SEVERE, WARNING
from terminal.risk.limits import TradingState
from terminal.risk.service import ReviewRequired
from tests.helpers import drained
from tests.helpers.gui import RB, WAIT, wait_for_quotes


def wait(predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def status(engine, vt_orderid: str):
    order = engine.get_order(vt_orderid)
    return order.status if order else None


def request(direction=Direction.LONG, volume=1, price=None, offset=Offset.OPEN, runtime=None):
    tick = runtime.kernel.main_engine.get_tick(RB)
    if price is None:
        price = tick.ask_price_1 + 5 if direction == Direction.LONG else tick.bid_price_1 - 5
    return OrderRequest(symbol="rb2701", exchange=Exchange.SHFE, direction=direction,
                        type=OrderType.LIMIT, volume=volume, price=price, offset=offset)


class BigOrder(CtaTemplate):
    """Sends what it is told from the test; the gate must stop the oversized one."""

    author = "tests"
    rejected: ClassVar[list] = []

    def on_init(self) -> None:
        pass

    def on_order(self, order) -> None:
        if order.status == Status.REJECTED:
            BigOrder.rejected.append(order)

    def on_tick(self, tick) -> None:
        pass

    def on_bar(self, bar) -> None:
        pass


def test_a_strategys_order_is_denied_by_the_gate(qtbot, terminal):
    from vnpy_ctastrategy import CtaStrategyApp

    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    cta = runtime.kernel.main_engine.add_app(CtaStrategyApp)
    cta.init_engine()
    cta.classes["BigOrder"] = BigOrder
    cta.add_strategy("BigOrder", "big", RB, {})
    cta.init_strategy("big")
    wait(lambda: cta.strategies["big"].inited)
    cta.start_strategy("big")
    strategy = cta.strategies["big"]
    sent_before = runtime.kernel.main_engine.get_gateway("SIM").exchange._trade_count
    tick = runtime.kernel.main_engine.get_tick(RB)
    vt_orderids = strategy.buy(tick.ask_price_1 + 5, 80)         # 80 lots > 50 per order
    assert len(vt_orderids) == 1 and vt_orderids[0].startswith("SIM.RISK-")
    wait(lambda: BigOrder.rejected)
    (order,) = BigOrder.rejected
    assert order.extra["reason"].startswith("risk max_order_volume: volume 80")
    assert runtime.risk.guard.denied == 1
    gateway = runtime.kernel.main_engine.get_gateway("SIM")
    assert not any(w.order.volume == 80 for w in gateway.exchange.working.values())
    assert gateway.exchange._trade_count == sent_before
    qtbot.waitUntil(lambda: any(a.rule == "max_order_volume"
                                for a in window.alerts.model.records()), timeout=WAIT)
    cta.stop_strategy("big")


def test_halted_and_reduce_only(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    engine, risk = runtime.kernel.main_engine, runtime.risk
    bought = engine.send_order(request(volume=2, runtime=runtime), "SIM")
    wait(lambda: status(engine, bought) == Status.ALLTRADED)
    wait(lambda: (p := engine.get_position(f"SIM.{RB}.{Direction.LONG.value}")) and p.volume == 2)

    risk.set_state(TradingState.REDUCE_ONLY)
    opened = engine.send_order(request(runtime=runtime), "SIM")
    wait(lambda: engine.get_order(opened) is not None)
    assert engine.get_order(opened).status == Status.REJECTED
    assert engine.get_order(opened).extra["risk_rule"] == "reduce_only"
    too_much = engine.send_order(request(Direction.SHORT, 3, offset=Offset.CLOSETODAY,
                                         runtime=runtime), "SIM")
    wait(lambda: engine.get_order(too_much) is not None)
    assert engine.get_order(too_much).extra["risk_rule"] == "reduce_only"
    closed = engine.send_order(request(Direction.SHORT, 1, offset=Offset.CLOSETODAY,
                                       runtime=runtime), "SIM")
    wait(lambda: status(engine, closed) == Status.ALLTRADED)

    risk.set_state(TradingState.HALTED)
    assert runtime.risk.config.state == TradingState.HALTED
    halted = engine.send_order(request(Direction.SHORT, 1, offset=Offset.CLOSETODAY,
                                       runtime=runtime), "SIM")
    wait(lambda: engine.get_order(halted) is not None)
    assert engine.get_order(halted).extra["risk_rule"] == "halted"
    # Cancels still go through while halted.
    risk.set_state(TradingState.ACTIVE)
    resting = engine.send_order(request(price=engine.get_tick(RB).bid_price_1 - 60,
                                        runtime=runtime), "SIM")
    wait(lambda: status(engine, resting) == Status.NOTTRADED)
    risk.set_state(TradingState.HALTED)
    runtime.trading.cancel(resting)
    wait(lambda: status(engine, resting) == Status.CANCELLED)
    # The state is kept in risk.json.
    assert '"state": "HALTED"' in runtime.risk.path.read_text()


def test_daily_loss_goes_reduce_only_and_position_loss_alerts(qtbot, terminal):
    runtime, window = terminal
    put = runtime.kernel.event_engine.put
    account = AccountData(gateway_name="CTP", accountid="8001", balance=1_000_000.0)
    account.extra = {"pre_balance": 1_000_000.0, "margin": 100_000.0}
    put(Event(EVENT_ACCOUNT, account))
    losing = replace(account, balance=940_000.0)
    losing.extra = {"pre_balance": 1_000_000.0, "margin": 900_000.0}
    put(Event(EVENT_ACCOUNT, losing))
    wait(lambda: runtime.risk.config.state == TradingState.REDUCE_ONLY)
    position = PositionData(gateway_name="CTP", symbol="rb2701", exchange=Exchange.SHFE,
                            direction=Direction.LONG, volume=10, price=3300, pnl=-25_000.0)
    put(Event(EVENT_POSITION, position))
    put(Event(EVENT_POSITION, position))                                   # alerted once
    alerts = window.alerts.model
    qtbot.waitUntil(lambda: {a.rule for a in alerts.records()} >= {
        "daily_loss", "margin_usage", "position_loss"}, timeout=WAIT)
    records = alerts.records()
    assert sum(a.rule == "position_loss" for a in records) == 1
    daily = next(a for a in records if a.rule == "daily_loss")
    assert daily.severity == SEVERE and "60,000" in daily.message
    assert "REDUCE-ONLY (nothing can open; Flatten, Close" in daily.message
    assert "25,000" in next(a for a in records if a.rule == "position_loss").message
    assert "60,000" in runtime.risk.review
    kept = json.loads(runtime.risk.path.read_text())            # a restart keeps the breach
    assert kept["state"] == "REDUCE_ONLY" and "lost 60,000 today" in kept["review"][0]


def test_stale_quotes_are_reported_in_trading_hours(terminal):
    runtime, _ = terminal
    monitor = runtime.risk.monitor
    now = datetime(2026, 11, 20, 10, 0, tzinfo=monitor.clock().tzinfo)     # a Friday morning
    monitor.clock = lambda: now
    alerts = []
    runtime.kernel.event_engine.register("eAlert", lambda event: alerts.append(event.data))
    monitor._on_tick(Event("eTick.", TickData(gateway_name="CTP", symbol="cu2701",
                                              exchange=Exchange.SHFE, datetime=now)))
    monitor.clock = lambda: now + timedelta(seconds=40)
    monitor._on_timer(Event("eTimer"))
    wait(lambda: any(a.rule == "stale_quotes" for a in alerts))
    assert "cu2701.SHFE" in next(a for a in alerts if a.rule == "stale_quotes").message
    # Not during the lunch break (the clock first: the engine's own timer runs meanwhile;
    # a timer call that read the old clock is over, and what it raised dispatched, after
    # two rounds of the queue).
    monitor.clock = lambda: datetime(2026, 11, 20, 12, 30, tzinfo=now.tzinfo)
    drained(runtime.kernel.event_engine)
    drained(runtime.kernel.event_engine)
    monitor._active.clear()
    alerts.clear()
    monitor._on_timer(Event("eTimer"))
    drained(runtime.kernel.event_engine)
    assert not any(a.rule == "stale_quotes" for a in alerts)


def test_risk_dialog_checks_and_applies_and_alerts_are_acknowledged(qtbot, terminal):
    runtime, window = terminal
    dialog = window.open_risk_settings()
    dialog.cell("max_order_volume").setText("lots")
    dialog.monitor_edits["daily_loss"].setText("-5")
    dialog.accept()
    assert dialog.isVisible()
    assert "global.max_order_volume: expected a number, got 'lots'" in dialog.errors.text()
    assert "monitors.daily_loss" in dialog.errors.text()
    assert runtime.risk.config.global_limits.max_order_volume == 50      # nothing applied
    dialog.cell("max_order_volume").setText("30")
    dialog.monitor_edits["daily_loss"].setText("80000")
    dialog.add_symbol("IF2612.CFFEX")
    dialog.cell("max_order_volume", 1).setText("2")
    dialog.state_box.setCurrentIndex(dialog.state_box.findData("REDUCE_ONLY"))
    dialog.accept()
    assert not dialog.isVisible()
    config = runtime.risk.config
    assert config.global_limits.max_order_volume == 30
    assert config.limits_for("IF2612.CFFEX").max_order_volume == 2
    assert config.monitors.daily_loss == 80_000 and config.state == TradingState.REDUCE_ONLY
    assert '"IF2612.CFFEX": {' in runtime.risk.path.read_text()
    assert window.status_bar.risk_label.text().startswith("Risk: REDUCE-ONLY")

    window.set_trading_state(TradingState.ACTIVE)
    position = PositionData(gateway_name="CTP", symbol="rb2701", exchange=Exchange.SHFE,
                            direction=Direction.SHORT, volume=3, price=3300, pnl=-30_000.0)
    runtime.kernel.event_engine.put(Event(EVENT_POSITION, position))
    qtbot.waitUntil(lambda: len(window.alerts.unacknowledged()) == 1, timeout=WAIT)
    assert window.alerts.notified == 1                        # severe: sound and tray
    assert window.alerts.acknowledge_all() == 1
    qtbot.waitUntil(lambda: not window.alerts.unacknowledged(), timeout=WAIT)
    kept = runtime.journal.load().alerts
    assert [a.acknowledged for a in kept if a.rule == "position_loss"] == [True]


def test_working_orders_are_followed_from_order_events(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    engine, risk = runtime.kernel.main_engine, runtime.risk
    config = risk.config
    risk.apply(replace(config, global_limits=replace(config.global_limits,
                                                     max_working_orders=2)), save=False)
    bid = engine.get_tick(RB).bid_price_1
    resting = [engine.send_order(request(price=bid - 50 - i, runtime=runtime), "SIM")
               for i in range(2)]
    wait(lambda: all(status(engine, o) == Status.NOTTRADED for o in resting))
    context = risk.guard.context(request(price=bid - 60, runtime=runtime),
                                 engine.get_contract(RB))
    assert context.working_orders == 2 and context.pending_open == 2
    third = engine.send_order(request(price=bid - 60, runtime=runtime), "SIM")
    wait(lambda: status(engine, third) == Status.REJECTED)
    assert engine.get_order(third).extra["risk_rule"] == "max_working_orders"
    runtime.trading.cancel(resting[0])
    wait(lambda: status(engine, resting[0]) == Status.CANCELLED)
    wait(lambda: risk.guard.context(request(runtime=runtime),
                                    engine.get_contract(RB)).working_orders == 1)
    fourth = engine.send_order(request(price=bid - 61, runtime=runtime), "SIM")
    wait(lambda: status(engine, fourth) == Status.NOTTRADED)


def long_position(engine):
    return engine.get_position(f"SIM.{RB}.{Direction.LONG.value}")


def hold_long(runtime, lots: int) -> None:
    """Buy `lots` at a price well through the ask (the live book may move meanwhile)."""
    engine = runtime.kernel.main_engine
    bought = engine.send_order(request(volume=lots, price=engine.get_tick(RB).ask_price_1 + 50,
                                       runtime=runtime), "SIM")
    wait(lambda: status(engine, bought) == Status.ALLTRADED)
    wait(lambda: (p := long_position(engine)) is not None and p.volume == lots)


def breach_daily_loss(runtime) -> None:
    put = runtime.kernel.event_engine.put
    account = AccountData(gateway_name="CTP", accountid="8001", balance=1_000_000.0)
    account.extra = {"pre_balance": 1_000_000.0}
    put(Event(EVENT_ACCOUNT, account))
    put(Event(EVENT_ACCOUNT, replace(account, balance=900_000.0)))
    wait(lambda: runtime.risk.config.state == TradingState.REDUCE_ONLY)


def test_after_a_loss_breach_nothing_opens_and_flatten_gets_flat_in_one_action(qtbot,
                                                                               terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    engine = runtime.kernel.main_engine
    hold_long(runtime, 3)
    # A resting take-profit holds 2 of the 3 lots.
    target = engine.send_order(request(Direction.SHORT, 2, price=engine.get_tick(RB).ask_price_1
                                       + 60, offset=Offset.CLOSETODAY, runtime=runtime), "SIM")
    wait(lambda: status(engine, target) == Status.NOTTRADED)
    wait(lambda: long_position(engine).frozen == 2)

    breach_daily_loss(runtime)
    opened = engine.send_order(request(runtime=runtime), "SIM")
    wait(lambda: status(engine, opened) == Status.REJECTED)
    assert engine.get_order(opened).extra["risk_rule"] == "reduce_only"

    window.ticket.load_symbol(RB)
    window.ticket.flatten()                                         # the one action
    wait(lambda: long_position(engine).volume == 0)
    assert status(engine, target) == Status.CANCELLED
    closes = [o for o in engine.get_all_orders() if o.reference == "trader close"]
    assert sum(o.traded for o in closes) == 3 and all(o.status != Status.REJECTED for o in closes)
    wait(lambda: not runtime.trading.flattener.active(long_position(engine).vt_positionid))

    # Back to ACTIVE the same day only through a review of the limits.
    window.set_trading_state(TradingState.ACTIVE)
    assert runtime.risk.config.state == TradingState.REDUCE_ONLY
    dialog = window.risk_dialog
    assert dialog.isVisible() and dialog.review.isVisible()
    assert "900,000" not in dialog.review.text() and "100,000" in dialog.review.text()
    assert dialog.state_box.currentData() == "ACTIVE"
    dialog.accept()
    assert runtime.risk.config.state == TradingState.ACTIVE and runtime.risk.review == ""


def test_halted_stops_strategies_and_the_ticket_but_not_the_traders_close(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    engine = runtime.kernel.main_engine
    hold_long(runtime, 2)
    window.set_trading_state(TradingState.HALTED)

    exit_ = engine.send_order(request(Direction.SHORT, 1, offset=Offset.CLOSETODAY,
                                      runtime=runtime), "SIM")     # a strategy's exit
    wait(lambda: status(engine, exit_) == Status.REJECTED)
    assert engine.get_order(exit_).extra["risk_rule"] == "halted"

    positions = window.positions
    qtbot.waitUntil(lambda: positions.model.rowCount() == 1, timeout=WAIT)
    positions.view.selectRow(0)
    assert positions.close_selected()                              # the Close action
    wait(lambda: long_position(engine).volume == 0)
    assert positions.message.text() == ""
    assert runtime.risk.config.state == TradingState.HALTED


def test_a_single_bad_value_takes_its_default_with_an_alert(qtbot, data_dir):
    from terminal.app.main import start

    data_dir.mkdir(parents=True)
    (data_dir / "risk.json").write_text(
        '{"state": "ACTIVE", "global": {"max_order_volume": "5 lots", "max_position": 7}}',
        encoding="utf-8")
    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    try:
        config = runtime.risk.config
        assert config.state == TradingState.ACTIVE and runtime.risk.review == ""
        assert config.global_limits.max_order_volume == 50         # the default
        assert config.global_limits.max_position == 7
        alerts = window.alerts.model
        qtbot.waitUntil(lambda: any(a.rule == "risk_settings" for a in alerts.records()),
                        timeout=WAIT)
        (alert,) = [a for a in alerts.records() if a.rule == "risk_settings"]
        assert alert.severity == WARNING
        assert "global.max_order_volume: expected a number, got '5 lots'" in alert.message
        assert not hasattr(window, "startup_box")                   # no dialog for a warning
    finally:
        window.close()
        runtime.close()


def account_report(runtime, balance: float) -> None:
    account = AccountData(gateway_name="CTP", accountid="8001", balance=balance)
    runtime.kernel.event_engine.put(Event(EVENT_ACCOUNT, account))     # no opening balance
    drained(runtime.kernel.event_engine)


def test_a_breach_while_the_risk_dialog_is_open_is_not_undone_unseen(qtbot, terminal):
    runtime, window = terminal
    dialog = window.open_risk_settings()                  # opened while ACTIVE, no review
    assert not dialog.review.isVisible()
    account_report(runtime, 1_000_000.0)
    account_report(runtime, 900_000.0)                    # the breach, with the dialog open
    assert runtime.risk.config.state == TradingState.REDUCE_ONLY
    dialog.accept()                                       # the trader presses OK
    assert dialog.isVisible() and runtime.risk.config.state == TradingState.REDUCE_ONLY
    assert dialog.review.isVisible() and "lost 100,000 today" in dialog.review.text()
    assert "Not applied" in dialog.errors.text()
    # Now seen: OK goes ACTIVE. The monitor judges again, against the limit now set.
    dialog.monitor_edits["daily_loss"].setText("200000")
    dialog.accept()
    assert not dialog.isVisible() and runtime.risk.config.state == TradingState.ACTIVE
    account_report(runtime, 850_000.0)                    # 150,000 down: under the new limit
    assert runtime.risk.config.state == TradingState.ACTIVE
    account_report(runtime, 750_000.0)                    # 250,000 down: over it
    assert runtime.risk.config.state == TradingState.REDUCE_ONLY
    assert "lost 250,000 today" in runtime.risk.review


def test_a_restart_keeps_the_days_loss_budget_and_a_breach(qtbot, data_dir):
    from terminal.app.main import start
    from terminal.gateways.sim.clock import ManualClock

    def started():
        runtime, window = start(data_dir, show=False, sim_clock=ManualClock())
        qtbot.addWidget(window)
        return runtime, window

    runtime, window = started()
    account_report(runtime, 1_000_000.0)                  # the day opens at 1,000,000
    account_report(runtime, 970_000.0)
    window.close()
    runtime.close()

    runtime, window = started()                            # a restart: CTP's first report is
    try:                                                   # not the day's opening balance
        assert runtime.risk.config.state == TradingState.ACTIVE
        account_report(runtime, 940_000.0)                 # 60,000 down on the day
        assert runtime.risk.config.state == TradingState.REDUCE_ONLY
    finally:
        window.close()
        runtime.close()

    runtime, window = started()                            # and the breach stays
    try:
        assert runtime.risk.config.state == TradingState.REDUCE_ONLY
        assert "lost 60,000 today" in runtime.risk.review
        with pytest.raises(ReviewRequired):
            runtime.risk.set_state(TradingState.ACTIVE)
    finally:
        window.close()
        runtime.close()


def test_lost_opening_balances_are_said_not_silently_reset(qtbot, data_dir):
    from terminal.app.main import start
    from terminal.gateways.sim.clock import ManualClock

    data_dir.mkdir(parents=True)
    (data_dir / "risk_day.json").write_text('{"CTP.8001": {"day": "2026-12', encoding="utf-8")
    runtime, window = start(data_dir, show=False, sim_clock=ManualClock())
    qtbot.addWidget(window)
    try:
        alerts = window.alerts.model
        qtbot.waitUntil(lambda: any("opening balances are lost" in a.message
                                    for a in alerts.records()), timeout=WAIT)
        assert list(data_dir.glob("risk_day.json.broken-*"))
    finally:
        window.close()
        runtime.close()
