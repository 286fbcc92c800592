"""Managed orders as the tests drive them: the built terminal on a still simulated clock
(`build`, `connected`, `settle`), and the strict fake exchange with an engine over it
(`market`, `long_bracket`, `move_to`)."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from vnpy.trader.constant import Direction, Exchange, Offset
from vnpy.trader.object import SubscribeRequest

from terminal.core import paths
from terminal.orders import BracketTemplate, Target
from terminal.orders.book import ManagedBook
from terminal.orders.manager import ManagedOrders
from tests.helpers import drained
from tests.helpers.fake_exchange import VT, FakeBroker, FakeExchange

RB = "rb2701.SHFE"
SCALP = BracketTemplate("Scalp", stop_ticks=3, targets=(Target(4, 1), Target(8, 1)))


def build(data_dir):
    from terminal.core.settings import Settings
    from terminal.gateways.sim.clock import ManualClock
    from terminal.system import runtime as runtime_module

    return runtime_module.build(paths.prepare(data_dir), Settings(sim_seed=7),
                                sim_clock=ManualClock())


def connected(runtime):
    runtime.connect_simulator()
    gateway = runtime.kernel.main_engine.get_gateway("SIM")
    gateway.subscribe(SubscribeRequest("rb2701", Exchange.SHFE))
    settle(runtime)
    return gateway


def settle(runtime):
    """Every event handled and the exchange's commands done, twice over: an order the
    managed orders send while handling the first round's reports is acknowledged, and its
    report handled, in the second (one round left it in flight now and then)."""
    engine = runtime.kernel.event_engine
    gateway = runtime.kernel.main_engine.get_gateway("SIM")
    for _ in range(2):
        drained(engine)
        gateway.advance(0)
    drained(engine)


def by_role(runtime):
    return {view.role: view for view in runtime.managed.views(RB)}


# ------------------------------------------------------------------ on the strict fake exchange
_FOLDER = Path(tempfile.mkdtemp(prefix="managed-tests-"))
_files = itertools.count()


def market(position: float = 0.0, atr=None):
    """A fake exchange at 3000 with one quote (and a long `position`), an engine over it with
    its own book, and the list of what the engine published."""
    x = FakeExchange(last=3000.0)
    x.tick(0)
    events: list = []
    engine = ManagedOrders(FakeBroker(x), ManagedBook(_FOLDER / f"b{next(_files)}.db"),
                           lambda kind, data: events.append((kind, data)), atr=atr)
    x.handlers = engine
    if position:
        x.truth.volume[Direction.LONG] = position
        x._emit_position()
    x.deliver()
    return x, engine, events


def views(engine):
    return {v.role: v for v in engine.views(VT)}


def move_to(x, price):
    x.tick(int(price - x.last))
    x.deliver()


def long_bracket(x, engine, template, volume=2):
    """A long bracket at the market whose entry fills at once, reported."""
    group = engine.place_bracket(VT, Direction.LONG, volume, None, template)
    x.deliver()
    entry = next(v for v, o in x.orders.items() if o.offset == Offset.OPEN)
    x.fill(entry, volume, trade_first=False)
    x.deliver()
    return group
