"""Hostile review of the managed orders (issue 19) in the built terminal, on the simulated
exchange on a still clock: wiring and exchange-rule bugs the strict fake exchange cannot
show. Each now guards its fix."""

from __future__ import annotations

import copy
from datetime import datetime

from vnpy.trader.constant import Direction, Exchange, Offset, OrderType
from vnpy.trader.object import OrderRequest, SubscribeRequest

from terminal.core import paths
from terminal.core.alerts import SEVERE
from terminal.core.timezone import CHINA_TZ
from terminal.orders import BracketTemplate, Target
from tests.helpers import drained

RB = "rb2701.SHFE"
BEFORE_THE_EVENING = datetime(2026, 12, 7, 19, 59, 30, tzinfo=CHINA_TZ)   # a Monday


def settle(runtime) -> None:
    """Every event handled, the exchange's commands done, their reports handled."""
    drained(runtime.kernel.event_engine)
    runtime.kernel.main_engine.get_gateway("SIM").advance(0)
    drained(runtime.kernel.event_engine)


def carrying_a_yesterday_lot(data_dir):
    """A terminal whose account holds 1 long rb2701 lot from yesterday (bought at 19:59:30,
    the trading day turned at 20:00)."""
    runtime = build_at(data_dir, BEFORE_THE_EVENING)
    runtime.connect_simulator()
    gateway = runtime.kernel.main_engine.get_gateway("SIM")
    gateway.subscribe(SubscribeRequest("rb2701", Exchange.SHFE))
    settle(runtime)
    engine = runtime.kernel.main_engine
    tick = engine.get_tick(RB)
    runtime.trading.send(OrderRequest("rb2701", Exchange.SHFE, Direction.LONG,
                                      OrderType.LIMIT, 1, tick.ask_price_1 + 5,
                                      Offset.OPEN, "carried"))
    settle(runtime)
    gateway.advance(60)                     # 20:00: the night session's trading day
    settle(runtime)
    held = engine.get_position(f"SIM.{RB}.{Direction.LONG.value}")
    assert (held.volume, held.yd_volume) == (1, 1)
    runtime.kernel.bridge.drain()
    return runtime, gateway


def build_at(data_dir, start: datetime):
    from terminal.core.settings import Settings
    from terminal.gateways.sim.clock import ManualClock
    from terminal.system import runtime as runtime_module

    return runtime_module.build(paths.prepare(data_dir), Settings(sim_seed=7),
                                sim_clock=ManualClock(start))


def test_a_bracket_on_top_of_a_yesterday_lot_gets_both_targets_working(data_dir):
    runtime, _ = carrying_a_yesterday_lot(data_dir)
    try:
        engine = runtime.kernel.main_engine
        runtime.managed.place_bracket(RB, Direction.LONG, 2, None, BracketTemplate(
            "Two", stop_ticks=10, targets=(Target(20, 1), Target(40, 1))))
        settle(runtime)
        settle(runtime)
        states = {v.role: v.state for v in runtime.managed.views(RB)}
        alerts = [a.message for a in runtime.kernel.bridge.drain().alerts
                  if a.severity == SEVERE]
        assert states == {"stop": "armed", "target 1": "working", "target 2": "working"}, \
            (states, alerts)
        offsets = sorted(o.offset.name for o in engine.get_all_active_orders())
        assert offsets == ["CLOSETODAY", "CLOSEYESTERDAY"]
    finally:
        runtime.close()


def test_a_bracket_stop_still_closes_todays_lot_when_yesterdays_is_held_by_a_close(data_dir):
    runtime, gateway = carrying_a_yesterday_lot(data_dir)
    try:
        engine = runtime.kernel.main_engine
        last = engine.get_tick(RB).last_price
        runtime.trading.send(OrderRequest("rb2701", Exchange.SHFE, Direction.SHORT,
                                          OrderType.LIMIT, 1, last + 50,
                                          Offset.CLOSEYESTERDAY, "take profit"))
        runtime.managed.place_bracket(RB, Direction.LONG, 1, None,
                                      BracketTemplate("Stop", stop_ticks=5))
        settle(runtime)
        stop = runtime.managed.views(RB)[0]
        assert (stop.role, stop.state) == ("stop", "armed")
        crash = copy.copy(engine.get_tick(RB))
        crash.last_price = crash.bid_price_1 = stop.price - 2
        crash.ask_price_1 = stop.price - 1
        gateway.quote(crash)
        settle(runtime)
        settle(runtime)
        exits = [o for o in engine.get_all_orders() if ".stop#" in o.reference]
        alerts = [a.message for a in runtime.kernel.bridge.drain().alerts
                  if a.severity == SEVERE]
        assert [(o.offset, o.status.name) for o in exits if o.offset != Offset.CLOSETODAY] \
            == [], alerts
        held = engine.get_position(f"SIM.{RB}.{Direction.LONG.value}")
        assert held.volume == 1, "today's lot closed by the stop; yesterday's held by its close"
    finally:
        runtime.close()
