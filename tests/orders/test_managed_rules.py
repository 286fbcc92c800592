"""The managed orders' rules, one scenario each, on the strict simulated exchange: trailing
and breakeven, modify as cancel-then-replace, stops and stop-limits, a stop that would trade
against the trader's own order, OCO reduction, and the alert when the connection drops."""

from __future__ import annotations


import pytest

from vnpy.trader.constant import Direction, Offset, OrderType, Status
from vnpy.trader.object import OrderRequest

from terminal.core.alerts import EVENT_ALERT, SEVERE, WARNING
from terminal.orders.manager import ManagedOrderError
from terminal.orders.templates import BracketTemplate, Target
from tests.helpers.fake_exchange import VT
from tests.helpers.managed import long_bracket, market, move_to, views

LONG, SHORT = Direction.LONG, Direction.SHORT


def test_a_trailing_stop_follows_the_price_up_never_down_and_fires_at_its_level():
    x, engine, _ = market()
    long_bracket(x, engine, BracketTemplate("Trail", stop_ticks=10, trail_ticks=5))
    fill = x.orders["SIM.1"].price
    assert views(engine)["stop"].price == fill - 10
    move_to(x, fill + 12)
    assert views(engine)["stop"].price == fill + 7           # 5 ticks behind the high
    move_to(x, fill + 9)
    assert views(engine)["stop"].price == fill + 7           # never back down
    assert not [o for o in x.orders.values() if o.offset != Offset.OPEN]
    move_to(x, fill + 7)
    exits = [o for o in x.orders.values() if o.offset != Offset.OPEN]
    assert len(exits) == 1 and exits[0].volume == 2 and exits[0].direction == SHORT
    assert exits[0].price == fill + 7 - 5                     # marketable: 5 ticks through


def test_breakeven_moves_the_stop_to_the_entry_plus_its_offset_once_in_profit():
    x, engine, events = market()
    long_bracket(x, engine, BracketTemplate("BE", stop_ticks=8, breakeven_after=6,
                                            breakeven_offset=1))
    fill = x.orders["SIM.1"].price
    move_to(x, fill + 5)
    assert views(engine)["stop"].price == fill - 8
    move_to(x, fill + 6)
    assert views(engine)["stop"].price == fill + 1
    assert [e for k, e in events if k == EVENT_ALERT and e.rule == "breakeven"]


def test_a_modify_cancels_first_and_replaces_only_the_lots_left_once_confirmed():
    x, engine, _ = market()
    long_bracket(x, engine, BracketTemplate("T", stop_ticks=10, targets=(Target(20, 3),)), 3)
    target = views(engine)["target 1"]
    old = target.vt_orderid
    assert engine.modify(target.id, target.price + 5)
    assert views(engine)["target 1"].state == "replacing"
    assert x.cancels == {old}
    x.fill(old, 1, trade_first=True)          # a fill races the cancel
    x.deliver()
    assert [o for o in x.orders.values() if o.is_active()] == [x.orders[old]]
    x.confirm_cancels()
    x.deliver()
    new = views(engine)["target 1"]
    assert new.vt_orderid != old and new.state == "working"
    replacement = x.orders[new.vt_orderid]
    assert (replacement.price, replacement.volume) == (target.price + 5, 2)
    assert not x.violations


def test_a_modify_the_gate_denies_changes_nothing():
    x, engine, _ = market()
    long_bracket(x, engine, BracketTemplate("T", stop_ticks=10, targets=(Target(20, 2),)))
    before = engine.views(VT)
    x.preview_denies = True
    for view in before:
        decision = engine.modify(view.id, view.price + 1)
        assert not decision and decision.rule == "price_band"
    assert engine.views(VT) == before and not x.cancels


def test_a_stop_limit_sends_at_its_limit_and_a_stop_moved_to_the_wrong_side_is_refused():
    x, engine, _ = market(position=1)
    engine.place_stop(VT, SHORT, 1, 2995.0, limit_price=2993.0, close_only=True)
    stop = views(engine)["stop order"]
    refused = engine.modify(stop.id, 3001.0)
    assert not refused and refused.rule == "stop_side"
    assert engine.modify(stop.id, 2996.0)                 # the limit moves with it
    move_to(x, 2996.0)
    (sent,) = x.orders.values()
    assert (sent.price, sent.volume, sent.offset) == (2994.0, 1, Offset.CLOSETODAY)


def test_a_triggered_stop_first_cancels_the_traders_own_order_it_would_trade_against():
    x, engine, events = market(position=1)
    own_buy = x.accept(OrderRequest("rb2701", x.contract.exchange, LONG, OrderType.LIMIT, 1,
                                    2992.0, Offset.OPEN, "mine"))
    x.deliver()
    engine.place_stop(VT, SHORT, 1, 2995.0, close_only=True)
    move_to(x, 2995.0)                        # marketable: 2990, through the buy at 2992
    assert x.cancels == {own_buy}
    # the stop's order goes at once, behind the cancel (one session's requests keep their
    # order at the exchange); the cancel is not sent twice
    exits = [o for o in x.orders.values() if o.offset != Offset.OPEN]
    assert len(exits) == 1 and exits[0].volume == 1 and exits[0].price == 2990.0
    assert [e for k, e in events if k == EVENT_ALERT and e.rule == "stop_self_trade"
            and e.severity == WARNING]
    x.cancels.clear()
    x.tick(-1)
    x.deliver()
    assert not x.cancels


def test_an_oco_limit_filling_in_part_reduces_the_stop_and_the_stop_cancels_the_limit():
    x, engine, _ = market(position=3)
    engine.place_oco(VT, 3, [(SHORT, "stop", 2990.0), (SHORT, "limit", 3010.0)])
    x.deliver()
    legs = views(engine)
    limit = legs["oco 2"].vt_orderid
    x.fill(limit, 1, trade_first=False)
    x.deliver()
    assert views(engine)["oco 1"].volume == 2
    move_to(x, 2990.0)
    assert x.cancels == {limit}
    x.confirm_cancels()
    x.deliver()
    exits = [o for o in x.orders.values() if o.offset != Offset.OPEN and o.is_active()]
    assert sum(o.volume for o in exits) == 2
    assert x.orders[limit].status == Status.CANCELLED


def test_a_lost_connection_with_local_stops_armed_is_a_severe_alert():
    _, engine, events = market(position=1)
    engine.on_connection("SIM", False, "heartbeat timed out")
    assert not [e for k, e in events if k == EVENT_ALERT]       # nothing armed: nothing said
    engine.place_stop(VT, SHORT, 1, 2990.0, close_only=True)
    engine.on_connection("SIM", False, "heartbeat timed out")
    (alert,) = [e for k, e in events if k == EVENT_ALERT]
    assert alert.severity == SEVERE and "1 local stop(s) are armed" in alert.message
    assert views(engine)["stop order"].where == "local"


def test_an_entry_cancelled_before_any_fill_ends_its_bracket():
    x, engine, _ = market()
    group = engine.place_bracket(VT, LONG, 1, 2990.0, BracketTemplate("T", stop_ticks=5))
    x.deliver()
    assert engine.cancel(group)
    x.confirm_cancels()
    x.deliver()
    assert engine.views(VT) == []


def test_a_trailing_stop_by_atr_keeps_a_multiple_of_the_atr_and_no_atr_is_refused():
    atr = {"rb2701.SHFE": 4.3}
    x, engine, _ = market(atr=lambda vt, n: atr.get(vt))
    template = BracketTemplate("ATR", stop_ticks=20, trail_atr=2.0, atr_period=14)
    long_bracket(x, engine, template)
    fill = x.orders["SIM.1"].price
    stop = views(engine)["stop"]
    assert "trailing 2 x ATR14 = 9" in stop.text              # 8.6 on the 1-point tick: 9
    move_to(x, fill + 30)
    assert views(engine)["stop"].price == fill + 30 - 9
    atr.clear()
    with pytest.raises(ManagedOrderError, match=r"no ATR\(14\)"):
        engine.place_bracket(VT, LONG, 1, None, template)


def test_a_strategys_working_order_is_not_moved_behind_its_back():
    x, engine, _ = market()
    order = x.accept(OrderRequest("rb2701", x.contract.exchange, LONG, OrderType.LIMIT, 1,
                                  2990.0, Offset.OPEN, "CtaStrategy_double_ma"))
    x.deliver()
    refused = engine.modify(order, 2991.0)
    assert not refused and "belongs to the strategy double_ma" in refused.reason
    assert not x.cancels
