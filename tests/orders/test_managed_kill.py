"""A hard kill with armed brackets, then restarts: each bracket is re-armed exactly once and
nothing is sent twice; an order the kill caught being sent is "in doubt", said loudly and
never sent again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from vnpy.trader.constant import Direction

from tests.helpers import PROJECT
from tests.helpers.managed import build, connected, settle

SYMBOLS = ("rb2701.SHFE", "MA705.CZCE", "m2705.DCE")

TRADER = r"""
import copy, os, signal, sys, time
from pathlib import Path
from vnpy.trader.constant import Direction
from terminal.orders import BracketTemplate, Target
from tests.helpers.managed import build, connected, settle
from tests.helpers import drained
from vnpy.trader.object import SubscribeRequest
from terminal.core.symbols import split_vt_symbol

runtime = build(Path(sys.argv[1]))
gateway = connected(runtime)
for vt in sys.argv[3:]:
    gateway.subscribe(SubscribeRequest(*split_vt_symbol(vt)))
settle(runtime)
template = BracketTemplate("Two", stop_ticks=10, targets=(Target(20, 1), Target(40, 1)))
groups = [runtime.managed.place_bracket(vt, Direction.LONG, 2, None, template)
          for vt in sys.argv[3:]]
settle(runtime)
runtime.journal.flush()
if sys.argv[2] == "mid-send":    # the stop triggers; killed once the book says "sending"
    from vnpy.event import Event
    from vnpy.trader.event import EVENT_TICK
    send = runtime.managed.broker.send
    def killing_send(req, name):
        if ".stop#" in req.reference:
            os.kill(os.getpid(), signal.SIGKILL)
        return send(req, name)
    runtime.managed.broker.send = killing_send
    stop = next(v for v in runtime.managed.views(sys.argv[3]) if v.role == "stop")
    tick = copy.copy(runtime.kernel.main_engine.get_tick(sys.argv[3]))
    tick.last_price = stop.price - 1
    runtime.kernel.event_engine.put(Event(EVENT_TICK, tick))
    time.sleep(600)
print("armed", *groups, flush=True)
time.sleep(600)
"""


def run_and_kill(home, mode: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen([sys.executable, "-c", TRADER, str(home), mode, *SYMBOLS],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                             text=True)
    watchdog = threading.Timer(120, child.kill)      # a child that never prints: fail, not hang
    watchdog.start()
    try:
        groups = []
        for line in child.stdout:
            if line.startswith("armed"):
                groups = line.split()[1:]
                break
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        return groups
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
        child.stdout.close()


def restarted(home):
    runtime = build(home)
    gateway = connected(runtime)
    from terminal.core.symbols import split_vt_symbol
    from vnpy.trader.object import SubscribeRequest
    for vt in SYMBOLS:
        gateway.subscribe(SubscribeRequest(*split_vt_symbol(vt)))
    settle(runtime)
    return runtime


def test_a_hard_kill_then_restarts_re_arm_each_bracket_once_and_send_nothing_twice(tmp_path):
    home = tmp_path / "home"
    groups = run_and_kill(home, "armed")
    assert len(groups) == 3
    seen: set[str] = set()
    for restart in range(2):
        runtime = restarted(home)
        try:
            engine = runtime.kernel.main_engine
            views = runtime.managed.views()
            assert sorted({v.group for v in views}) == sorted(groups)
            stops = [v for v in views if v.role == "stop"]
            assert len(stops) == 3 and {v.state for v in stops} == {"armed"}
            assert {v.where for v in stops} == {"local"}
            # the simulated exchange lost the targets: sent again, once each, per start
            working = engine.get_all_active_orders()
            assert sorted(o.reference.rsplit(".", 1)[1] for o in working) == \
                ["target1#2"] * 3 + ["target2#2"] * 3 if restart == 0 else \
                ["target1#3"] * 3 + ["target2#3"] * 3
            assert not {o.vt_orderid for o in working} & seen
            # the entries, filled before the kill, are never sent again
            entries = [o for o in engine.get_all_orders() if ".entry#" in o.reference]
            assert sorted(o.reference.rsplit(".", 1)[1] for o in entries) == ["entry#1"] * 3
            assert not [o for o in entries if o.is_active()]
            seen |= {o.vt_orderid for o in engine.get_all_orders()}
            positions = {p.vt_symbol: p.volume for p in engine.get_all_positions()
                         if p.direction == Direction.LONG}
            assert positions == dict.fromkeys(SYMBOLS, 2.0)
        finally:
            runtime.close()


def test_an_order_caught_by_the_kill_while_being_sent_is_in_doubt_and_never_sent_again(
        tmp_path):
    home = tmp_path / "home"
    run_and_kill(home, "mid-send")
    runtime = restarted(home)
    try:
        from terminal.core.alerts import SEVERE
        engine = runtime.kernel.main_engine
        views = runtime.managed.views()
        doubtful = [a for a in runtime.kernel.bridge.drain().alerts
                    if a.severity == SEVERE and "is unknown, so it is not sent again"
                    in a.message]
        assert len(doubtful) == 1 and doubtful[0].symbol == SYMBOLS[0]
        # its stop had triggered: its targets are not sent again either (had the stop's
        # order gone, they would close lots already closed); the trader is told to look
        assert not [v for v in views if v.vt_symbol == SYMBOLS[0]]
        assert "Check the orders and position at the broker" in doubtful[0].message
        assert [v.state for v in views if v.role == "stop"] == ["armed", "armed"]
        assert not [o for o in engine.get_all_orders() if ".stop#" in o.reference]
        working = engine.get_all_active_orders()
        assert len(working) == 4 and all(".target" in o.reference for o in working)
        assert SYMBOLS[0] not in {o.vt_symbol for o in working}
    finally:
        runtime.close()
