"""The simulated exchange's held cancels serve the race a cancel-then-replace must survive:
the terminal's managed orders move a working limit while the simulator keeps the cancel
unanswered, and the order fills meanwhile, or does not. On a still clock (`ManualClock`) and
books of the test's own (`SimGateway.quote`), so every step happens where the test says."""

from __future__ import annotations

import pytest
from vnpy.trader.constant import Direction, Exchange, Status
from vnpy.trader.event import EVENT_LOG
from vnpy.trader.object import SubscribeRequest

from tests.helpers import book, drained

RB = "rb2701.SHFE"


@pytest.fixture
def terminal(data_dir):
    """The terminal's runtime (risk gate, managed orders) with the simulator on a still
    clock, rb2701 subscribed; yields (runtime, gateway, settle, logs)."""
    from terminal.core import paths
    from terminal.core.settings import Settings
    from terminal.gateways.sim.clock import ManualClock
    from terminal.system import runtime as runtime_module

    runtime = runtime_module.build(paths.prepare(data_dir), Settings(sim_seed=7),
                                   sim_clock=ManualClock())
    engine = runtime.kernel.event_engine
    logs: list[str] = []
    engine.register(EVENT_LOG, lambda event: logs.append(event.data.msg))
    runtime.connect_simulator()
    gateway = runtime.kernel.main_engine.get_gateway("SIM")

    def settle() -> None:
        """Every command carried out, every report dispatched, and what the engine sent in
        answer carried out too."""
        for _ in range(2):
            drained(engine)
            gateway.advance(0)
        drained(engine)

    gateway.subscribe(SubscribeRequest("rb2701", Exchange.SHFE))
    settle()
    try:
        yield runtime, gateway, settle, logs
    finally:
        runtime.close()


def rb_orders(runtime) -> list:
    return sorted((o for o in runtime.kernel.main_engine.get_all_orders()
                   if o.vt_symbol == RB), key=lambda o: o.orderid)


def moved_with_its_cancel_held(runtime, gateway, settle) -> tuple[str, float]:
    """A buy limit 10 ticks under the bid, moved 5 ticks up with the simulator holding
    cancels: (its vt_orderid, the bid then)."""
    bid = gateway.exchange.books[RB].bid_price_1
    vt_orderid = runtime.managed.place_limit(RB, Direction.LONG, 1, bid - 10)
    settle()
    gateway.hold_cancels()
    assert runtime.managed.modify(vt_orderid, bid - 5)
    settle()
    return vt_orderid, bid


def test_an_order_that_fills_while_its_cancel_is_held_is_not_replaced(terminal):
    runtime, gateway, settle, logs = terminal
    vt_orderid, bid = moved_with_its_cancel_held(runtime, gateway, settle)
    assert list(gateway.exchange.working) == [vt_orderid]          # the cancel is held
    assert runtime.managed.view_of_order(vt_orderid).state == "replacing"
    gateway.quote(book("rb2701", Exchange.SHFE, bid - 11, bid - 10, 1, last=bid - 10))
    settle()
    gateway.release_cancels()
    settle()
    orders = rb_orders(runtime)
    assert [(o.vt_orderid, o.status, o.traded) for o in orders] == [
        (vt_orderid, Status.ALLTRADED, 1)]                          # no replacement went out
    assert f"cancel refused: {vt_orderid} is already filled" in logs
    long = runtime.kernel.main_engine.get_position(f"SIM.{RB}.{Direction.LONG.value}")
    assert long.volume == 1 and gateway.exchange.working == {}


def test_a_held_cancel_then_confirmed_sends_the_replacement_never_both_live(terminal):
    runtime, gateway, settle, _ = terminal
    vt_orderid, bid = moved_with_its_cancel_held(runtime, gateway, settle)
    assert list(gateway.exchange.working) == [vt_orderid]          # not replaced yet
    gateway.release_cancels()
    settle()
    original, replacement = rb_orders(runtime)
    assert original.vt_orderid == vt_orderid and original.status == Status.CANCELLED
    assert replacement.status == Status.NOTTRADED and replacement.price == bid - 5
    assert list(gateway.exchange.working) == [replacement.vt_orderid]
