"""Managed orders in the built terminal: a bracket on the simulated exchange (on a still
clock), its child orders through the risk gate, and its re-arming after a restart, once."""

from __future__ import annotations

import pytest
from vnpy.trader.constant import Direction, Exchange, Offset, Status

from terminal.orders import EVENT_MANAGED, BracketTemplate, ManagedOrderError
from tests.helpers.managed import RB, SCALP, build, by_role, connected, settle

def test_a_bracket_at_the_market_fills_then_places_its_targets_and_arms_its_stop(data_dir):
    runtime = build(data_dir)
    try:
        connected(runtime)
        published = []
        runtime.kernel.event_engine.register(EVENT_MANAGED,
                                             lambda event: published.append(event.data))
        last = runtime.kernel.main_engine.get_tick(RB).last_price
        group = runtime.managed.place_bracket(RB, Direction.LONG, 2, None, SCALP,
                                              source="test")
        settle(runtime)
        views = by_role(runtime)
        assert set(views) == {"stop", "target 1", "target 2"}       # the entry has filled
        entry = [o for o in runtime.kernel.main_engine.get_all_orders()
                 if o.reference == f"{group}.entry#1"]
        assert len(entry) == 1 and entry[0].status == Status.ALLTRADED
        fill = next(t.price for t in runtime.kernel.main_engine.get_all_trades()
                    if t.vt_orderid == entry[0].vt_orderid)
        stop, first, second = views["stop"], views["target 1"], views["target 2"]
        assert (stop.state, stop.where, stop.volume, stop.price) == ("armed", "local", 2, fill - 3)
        assert (first.state, first.where, first.volume, first.price) == \
            ("working", "at the exchange", 1, fill + 4)
        assert (second.price, second.volume) == (fill + 8, 1)
        targets = [runtime.kernel.main_engine.get_order(v.vt_orderid) for v in (first, second)]
        assert all(o.offset == Offset.CLOSETODAY and o.direction == Direction.SHORT
                   for o in targets)
        assert last and published and published[-1].group == group
    finally:
        runtime.close()


def test_a_stop_the_gate_would_deny_is_refused_with_the_rule_and_nothing_is_placed(data_dir):
    runtime = build(data_dir)
    try:
        connected(runtime)
        last = runtime.kernel.main_engine.get_tick(RB).last_price
        with pytest.raises(ManagedOrderError) as refused:
            runtime.managed.place_stop(RB, Direction.SHORT, 1, round(last * 0.5))
        assert refused.value.decision.rule == "price_band"
        assert runtime.managed.views() == []
        with pytest.raises(ManagedOrderError, match="below the last price"):
            runtime.managed.place_stop(RB, Direction.SHORT, 1, last + 5)
    finally:
        runtime.close()


def test_after_a_restart_a_bracket_is_re_armed_once_and_its_targets_sent_again(data_dir):
    runtime = build(data_dir)
    try:
        connected(runtime)
        group = runtime.managed.place_bracket(RB, Direction.LONG, 2, None, SCALP)
        settle(runtime)
        before = by_role(runtime)
        sent_before = {o.vt_orderid for o in runtime.kernel.main_engine.get_all_orders()}
    finally:
        runtime.close()
    for _ in range(2):                      # twice: the second start re-arms nothing new
        runtime = build(data_dir)
        try:
            connected(runtime)
            settle(runtime)
            views = by_role(runtime)
            assert {v.group for v in views.values()} == {group}
            assert views["stop"].state == "armed" and views["stop"].price == \
                before["stop"].price and views["stop"].volume == 2
            # the simulated exchange lost its working orders: the targets are sent again,
            # once, and the entry is not
            mine = runtime.kernel.main_engine.get_all_active_orders()
            assert sorted(o.price for o in mine) == [before["target 1"].price,
                                                     before["target 2"].price]
            assert not {o.vt_orderid for o in mine} & sent_before
            entries = [o for o in runtime.kernel.main_engine.get_all_orders()
                       if o.reference.endswith(".entry#1")]
            assert len(entries) == 1
            sent_before |= {o.vt_orderid for o in runtime.kernel.main_engine.get_all_orders()}
        finally:
            runtime.close()


def test_flatten_and_a_cancel_from_the_orders_dock_end_managed_orders_without_alarm(data_dir):
    from terminal.core.alerts import SEVERE

    runtime = build(data_dir)
    try:
        connected(runtime)
        runtime.managed.place_bracket(RB, Direction.LONG, 2, None, SCALP)
        settle(runtime)
        first = by_role(runtime)["target 1"]
        runtime.trading.cancel(first.vt_orderid)             # the Orders dock's Cancel
        settle(runtime)
        views = by_role(runtime)
        assert set(views) == {"stop", "target 2"}
        runtime.trading.flatten(RB)
        settle(runtime)
        settle(runtime)
        assert runtime.managed.views() == []                 # the local stop too
        assert runtime.managed.armed_local() == 0
        position = runtime.kernel.main_engine.get_position(f"SIM.{RB}.{Direction.LONG.value}")
        assert position.volume == 0
        assert not [a for a in runtime.kernel.bridge.drain().alerts if a.severity == SEVERE]
    finally:
        runtime.close()


def test_a_gateway_going_down_with_local_stops_armed_is_said_at_once(data_dir):
    from terminal.core.alerts import SEVERE
    from terminal.gateways.connection import State, Status
    from terminal.system.managed_wiring import watch_managed_connection

    runtime = build(data_dir)
    try:
        connected(runtime)
        last = runtime.kernel.main_engine.get_tick(RB).last_price
        runtime.managed.place_stop(RB, Direction.LONG, 1, last + 20)
        watch_managed_connection(runtime.managed, Status("SIM", State.CONNECTED))
        watch_managed_connection(runtime.managed, Status("SIM", State.RECONNECTING,
                                                         "heartbeat timed out"))
        settle(runtime)
        said = [a for a in runtime.kernel.bridge.drain().alerts
                if a.rule == "local_stops_offline"]
        assert len(said) == 1 and said[0].severity == SEVERE
        assert "heartbeat timed out" in said[0].message and "1 local stop(s)" in said[0].message
    finally:
        runtime.close()


def test_a_stop_through_the_traders_own_bid_cancels_it_and_passes_the_real_gate(data_dir):
    import copy

    from vnpy.trader.constant import OrderType
    from vnpy.trader.object import OrderRequest

    runtime = build(data_dir)
    try:
        gateway = connected(runtime)
        engine = runtime.kernel.main_engine
        runtime.managed.place_bracket(RB, Direction.LONG, 1, None,
                                      BracketTemplate("Stop only", stop_ticks=4))
        settle(runtime)
        tick = engine.get_tick(RB)
        stop = by_role(runtime)["stop"]
        own_bid = runtime.trading.send(OrderRequest("rb2701", Exchange.SHFE, Direction.LONG,
                                                    OrderType.LIMIT, 1, stop.price - 2,
                                                    Offset.OPEN, "mine"))
        settle(runtime)
        assert engine.get_order(own_bid).is_active()
        crossing = copy.copy(tick)                   # the market falls to the stop
        crossing.last_price = stop.price
        crossing.bid_price_1, crossing.ask_price_1 = stop.price - 1, stop.price
        gateway.quote(crossing)
        settle(runtime)
        settle(runtime)
        assert engine.get_order(own_bid).status == Status.CANCELLED
        exits = [o for o in engine.get_all_orders() if ".stop#" in o.reference]
        assert exits and all(o.status != Status.REJECTED for o in exits)
        assert not [o for o in engine.get_all_orders() if o.status == Status.REJECTED]
    finally:
        runtime.close()




def test_closing_the_long_side_leaves_the_short_sides_stop_armed(data_dir):
    runtime = build(data_dir)
    try:
        connected(runtime)
        stop_only = BracketTemplate("Stop only", stop_ticks=8)
        long_group = runtime.managed.place_bracket(RB, Direction.LONG, 1, None, stop_only)
        settle(runtime)
        short_group = runtime.managed.place_bracket(RB, Direction.SHORT, 1, None, stop_only)
        settle(runtime)
        assert {v.group for v in runtime.managed.views()} == {long_group, short_group}
        runtime.trading.close_position(f"SIM.{RB}.{Direction.LONG.value}")
        settle(runtime)
        settle(runtime)
        (left,) = runtime.managed.views()
        assert (left.group, left.role, left.state) == (short_group, "stop", "armed")
    finally:
        runtime.close()
