"""Property tests of the managed orders: random sequences of ticks, partial fills (order and
trade reports in either order), late reports, cancels, rejects, modifies and disconnects,
against a strict exchange (tests/helpers/fake_exchange.py).

Whatever happens, a bracket or an OCO group never sends a close for more lots than are free
at the exchange (so protective orders never cover more than the position and two exits can
never fill beyond it), never has a replacement working beside the order it replaces, and when
everything has been reported, its stop never protects more than the position holds."""

from __future__ import annotations


from hypothesis import HealthCheck, given, settings, strategies as st
from vnpy.trader.constant import Direction

from terminal.orders.manager import ManagedOrderError, ManagedOrders
from terminal.orders.templates import BracketTemplate, Target
from tests.helpers.fake_exchange import MARKET_ACTIONS, VT, FakeExchange, held, market_step
from tests.helpers.managed import market


templates = st.builds(
    lambda stop, targets, be, trail: BracketTemplate(
        "T", stop_ticks=stop, targets=tuple(Target(t, v) for t, v in targets),
        breakeven_after=be, breakeven_offset=min(1, be - 1) if be > 1 else 0,
        trail_ticks=trail),
    st.integers(1, 6),
    st.lists(st.tuples(st.integers(1, 12), st.integers(1, 3)), max_size=3,
             unique_by=lambda t: t[0]).map(lambda ts: sorted(ts)),
    st.sampled_from([0, 0, 3, 5]),
    st.sampled_from([0, 0, 2, 4]),
)

ACTIONS = ("tick", "tick", "tick", "fill", "fill", "deliver", "deliver", "cancels", "reject",
           "modify", "cancel_leg", "deny_next", "disconnect")


def check_always(x: FakeExchange) -> None:
    assert not x.violations, x.violations
    for side in (Direction.LONG, Direction.SHORT):
        assert x.truth.volume[side] >= -1e-9
        assert x.truth.frozen[side] <= x.truth.volume[side] + 1e-9


def check_settled(x: FakeExchange, engine: ManagedOrders, exit_side: Direction) -> None:
    """Everything reported: local stops protect at most the position they close."""
    position = x.truth.volume[held(exit_side)]
    for view in engine.views(VT):
        if view.role.startswith(("stop", "oco")) and view.where == "local" and \
                view.state == "armed":
            assert view.volume <= position + 1e-9, (view, position)


def run_steps(data, x: FakeExchange, engine: ManagedOrders, exit_side: Direction) -> None:
    for _ in range(data.draw(st.integers(5, 60), label="steps")):
        action = data.draw(st.sampled_from(ACTIONS), label="action")
        if action in MARKET_ACTIONS:
            market_step(data, x, action)
        elif action in ("modify", "cancel_leg"):
            views = engine.views(VT)
            if not views:
                continue
            view = data.draw(st.sampled_from(views), label="leg")
            if action == "cancel_leg":
                engine.cancel(view.id)
                continue
            price = x.last + data.draw(st.integers(-8, 8), label="to")
            if price <= 0:
                continue
            live = {v for v, o in x.orders.items() if o.is_active()
                    and o.reference.startswith(view.id + "#")}
            before = engine.views(VT)
            decision = engine.modify(view.id, price)
            if decision and view.where == "at the exchange" and live:
                x.replacing[view.id] = live
            if not decision:
                assert engine.views(VT) == before        # a denial changes nothing
            x.preview_denies = False
        elif action == "deny_next":
            x.preview_denies = True
        elif action == "disconnect":
            engine.on_connection("SIM", False, "test")
        check_always(x)
    # everything reported, every cancel confirmed
    for _ in range(4):
        x.deliver()
        x.confirm_cancels()
    x.deliver()
    check_always(x)
    check_settled(x, engine, exit_side)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_bracket_never_closes_more_than_the_position_whatever_happens(data):
    x, engine, _ = market()
    direction = data.draw(st.sampled_from([Direction.LONG, Direction.SHORT]), label="side")
    template = data.draw(templates, label="template")
    volume = data.draw(st.integers(1, 6), label="volume")
    at_market = data.draw(st.booleans(), label="at market")
    price = None if at_market else x.last + data.draw(st.integers(-3, 3), label="entry")
    try:
        engine.place_bracket(VT, direction, volume, price, template)
    except ManagedOrderError:
        return
    x.deliver()
    exit_side = Direction.SHORT if direction == Direction.LONG else Direction.LONG
    run_steps(data, x, engine, exit_side)
    engine.book.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_an_oco_exit_on_a_position_never_closes_more_than_it_holds(data):
    x, engine, _ = market()
    lots = data.draw(st.integers(1, 5), label="position")
    x.truth.volume[Direction.LONG] = lots
    x._emit_position()
    x.deliver()
    stop = x.last - data.draw(st.integers(1, 5), label="stop")
    target = x.last + data.draw(st.integers(1, 5), label="target")
    extra = data.draw(st.booleans(), label="second stop")
    legs = [(Direction.SHORT, "stop", stop), (Direction.SHORT, "limit", target)]
    if extra:
        legs.append((Direction.SHORT, "stop", stop - 2))
    engine.place_oco(VT, data.draw(st.integers(1, lots + 2), label="volume"), legs)
    x.deliver()
    run_steps(data, x, engine, Direction.SHORT)
    engine.book.close()
