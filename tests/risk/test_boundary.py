"""The gate on the gateway boundary: with trading HALTED, no order reaches the exchange by any
route a window, a strategy or a plugin can take, and each comes back REJECTED with the rule."""

from __future__ import annotations

import json
import time
from dataclasses import replace

from PySide6.QtCore import Qt
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.engine import MainEngine
from vnpy.trader.object import OrderRequest, QuoteRequest

from terminal.core.alerts import WARNING
from terminal.gateways.sim import SimGateway
from terminal.gateways.sim.clock import ManualClock
from terminal.risk.limits import TradingState
from tests.helpers import Submissions, next_quotes
from tests.helpers.gui import RB, WAIT, fill_ticket, marketable_buy_price, wait_for_quotes


def wait(predicate, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def marketable(runtime, volume=1) -> OrderRequest:
    tick = runtime.kernel.main_engine.get_tick(RB)
    return OrderRequest(symbol="rb2701", exchange=Exchange.SHFE, direction=Direction.LONG,
                        type=OrderType.LIMIT, volume=volume, price=tick.ask_price_1 + 5,
                        offset=Offset.OPEN)


SENDER = '''
from vnpy.trader.constant import Direction, Offset, OrderType, Status
from vnpy.trader.engine import MainEngine
from vnpy.trader.object import OrderRequest
from vnpy_ctastrategy import CtaTemplate


class Sender(CtaTemplate):
    """Sends, from on_tick, the way the test tells it to: the ways a plugin could."""

    author = "tests"
    route = ""
    results = []
    rejected = []

    def on_init(self):
        pass

    def on_order(self, order):
        if order.status == Status.REJECTED:
            Sender.rejected.append(order)

    def on_bar(self, bar):
        pass

    def on_tick(self, tick):
        route, Sender.route = Sender.route, ""
        if not route:
            return
        req = OrderRequest(symbol=tick.symbol, exchange=tick.exchange,
                           direction=Direction.LONG, type=OrderType.LIMIT, volume=1,
                           price=tick.ask_price_1 + 5, offset=Offset.OPEN, reference=route)
        engine = self.cta_engine.main_engine
        if route == "cta":
            result = self.buy(tick.ask_price_1 + 5, 1)
        elif route == "main_engine":
            result = engine.send_order(req, "SIM")
        elif route == "gateway":
            result = engine.get_gateway("SIM").send_order(req)
        elif route == "class":
            result = MainEngine.send_order(engine, req, "SIM")
        else:
            raise AssertionError(route)
        Sender.results.append((route, result))
'''


def test_with_trading_halted_no_order_path_reaches_the_exchange(qtbot, data_dir, tmp_path):
    from terminal.app.main import start

    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "sender.py").write_text(SENDER)            # a strategy plugin, as a user adds
    data_dir.mkdir(parents=True)
    (data_dir / "settings.json").write_text(json.dumps({"plugin_folder": str(folder)}))
    runtime, window = start(data_dir, show=True, sim_clock=ManualClock())
    qtbot.addWidget(window)
    try:
        check_every_path(qtbot, runtime, window)
    finally:
        window.close()
        runtime.close()


def check_every_path(qtbot, runtime, window) -> None:
    wait_for_quotes(qtbot, window)
    engine = runtime.kernel.main_engine
    gateway = engine.get_gateway("SIM")
    reached = Submissions(gateway)
    cta = runtime.cta
    cta.add_strategy("Sender", "sender", RB, {})
    Sender = type(cta.strategies["sender"])
    cta.init_strategy("sender")
    wait(lambda: cta.strategies["sender"].inited)
    cta.start_strategy("sender")
    runtime.risk.set_state(TradingState.HALTED)

    # The order ticket, its hotkey (F2), and the chart's order menu.
    fill_ticket(window, price=marketable_buy_price(runtime))
    qtbot.mouseClick(window.ticket.buy_button, Qt.MouseButton.LeftButton)
    window.ticket.activateWindow()
    window.menu_bar.shortcut_actions["trading.buy"].trigger()
    chart = window.open_chart(RB, "1m")
    qtbot.waitUntil(lambda: chart.vt_symbol == RB, timeout=WAIT)
    tick = engine.get_tick(RB)
    assert chart.send(Direction.LONG, OrderType.LIMIT, tick.ask_price_1 + 5, 1)

    # A strategy: through CtaEngine, the main engine, the gateway object, and the class method.
    for route in ("cta", "main_engine", "gateway", "class"):
        Sender.route = route
        next_quotes(runtime)                              # the strategy sends on the next tick
        wait(lambda route=route: Sender.route == "" and Sender.results
             and Sender.results[-1][0] == route)
    # And from outside any strategy: the class method, and the gateway class's own method.
    MainEngine.send_order(engine, marketable(runtime), "SIM")
    vt_orderid = type(gateway).send_order(gateway, marketable(runtime))
    assert vt_orderid.startswith("SIM.RISK-")

    model = window.orders.model
    qtbot.waitUntil(lambda: sum(o.status == Status.REJECTED for o in model.records()) == 9,
                    timeout=WAIT)
    for order in model.records():
        assert order.status == Status.REJECTED
        assert order.extra["risk_rule"] == "halted"
        assert order.extra["reason"].startswith("risk halted: trading is halted")
    assert {route for route, _ in Sender.results} == {"cta", "main_engine", "gateway", "class"}
    for route, result in Sender.results:
        ids = result if isinstance(result, list) else [result]
        assert ids and all(i.startswith("SIM.RISK-") for i in ids), (route, result)
    # vn.py tells a strategy of the orders CtaEngine sent for it: that one is seen rejected.
    wait(lambda: len(Sender.rejected) == 1)
    assert Sender.rejected[0].extra["risk_rule"] == "halted"
    assert reached.requests == []
    assert runtime.risk.guard.denied == 9
    cta.stop_strategy("sender")


def test_a_gateway_class_defined_and_added_later_is_gated_too(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)

    class LaterGateway(SimGateway):                       # a vnpy_xxx package loaded late
        default_name = "LATER"

        def send_order(self, req):                        # its own method, calling up
            return super().send_order(req)

    engine = runtime.kernel.main_engine
    later = engine.add_gateway(LaterGateway, "LATER")
    runtime.risk.set_state(TradingState.HALTED)
    req = marketable(runtime)
    vt_orderid = later.send_order(req)
    assert vt_orderid.startswith("LATER.RISK-")
    assert runtime.risk.guard.denied == 1                 # once, not once per class level

    runtime.risk.set_state(TradingState.ACTIVE)           # allowed: checked once, sent once
    sim = engine.get_gateway("SIM")
    reached = Submissions(sim)
    vt_orderid = sim.send_order(marketable(runtime, volume=2))
    assert vt_orderid.startswith("SIM.") and "RISK" not in vt_orderid
    wait(lambda: len(reached.requests) == 1)
    assert runtime.risk.guard.denied == 1


def test_quotes_are_never_sent_and_say_why(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    engine = runtime.kernel.main_engine
    gateway = engine.get_gateway("SIM")
    reached = Submissions(gateway)
    req = QuoteRequest(symbol="rb2701", exchange=Exchange.SHFE, bid_price=3000, bid_volume=1,
                       ask_price=3010, ask_volume=1)
    assert engine.send_quote(req, "SIM") == ""
    assert gateway.send_quote(req) == ""
    assert reached.requests == []
    qtbot.waitUntil(lambda: sum(a.rule == "quotes_not_supported"
                                for a in window.alerts.model.records()) == 2, timeout=WAIT)
    alert = next(a for a in window.alerts.model.records() if a.rule == "quotes_not_supported")
    assert alert.severity == WARNING and "does not check quotes" in alert.message


def test_gateways_that_dodge_the_class_wrapping_are_gated_when_added_or_used(qtbot, terminal):
    """A gateway that sets send_order on the object, one whose plugin base class forgets to
    call super().__init_subclass__, and one put into the engine's table by hand."""
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    engine = runtime.kernel.main_engine
    raw_calls: list[str] = []

    class OwnMethod(SimGateway):
        default_name = "OWN"

        def __init__(self, event_engine, gateway_name):
            super().__init__(event_engine, gateway_name)
            self.send_order = self._send          # shadows the (gated) class method

        def _send(self, req):
            raw_calls.append(self.gateway_name)
            return f"{self.gateway_name}.raw"

    class PluginBase(SimGateway):
        def __init_subclass__(cls, **kwargs):     # forgets super(): BaseGateway's never runs
            pass

    class Dodger(PluginBase):
        default_name = "DODGER"

        def send_order(self, req):
            raw_calls.append(self.gateway_name)
            return f"{self.gateway_name}.raw"

    assert not getattr(Dodger.send_order, "__risk_gated__", False)
    own = engine.add_gateway(OwnMethod, "OWN")
    dodger = engine.add_gateway(Dodger, "DODGER")
    by_hand = OwnMethod(runtime.kernel.event_engine, "HAND")
    engine.gateways["HAND"] = by_hand                 # not through add_gateway
    runtime.risk.set_state(TradingState.HALTED)

    assert own.send_order(marketable(runtime)).startswith("OWN.RISK-")
    assert dodger.send_order(marketable(runtime)).startswith("DODGER.RISK-")
    assert MainEngine.send_order(engine, marketable(runtime), "HAND").startswith("HAND.RISK-")
    assert engine.send_order(marketable(runtime), "HAND").startswith("HAND.RISK-")
    assert raw_calls == [] and runtime.risk.guard.denied == 4
    config = runtime.risk.config                  # OWN has no account to fund an order
    runtime.risk.apply(replace(config, state=TradingState.ACTIVE, global_limits=replace(
        config.global_limits, max_funds_share=0.0)), save=False)
    assert own.send_order(marketable(runtime)) == "OWN.raw" and raw_calls == ["OWN"]


def test_the_gate_reads_the_books_of_the_gateway_the_order_goes_to(qtbot, terminal):
    """vn.py keeps one contract per symbol, from whichever gateway sent it last; positions
    and working orders are the called gateway's, not the contract's."""
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    engine = runtime.kernel.main_engine
    other = engine.add_gateway(SimGateway, "OTHER")          # CTP, say, on the same symbols
    other.clock = ManualClock()
    other.connect({"quote_rate": 1, "capital": 1_000_000, "seed": 3})
    wait(lambda: engine.get_contract(RB).gateway_name == "OTHER")
    config = runtime.risk.config
    runtime.risk.apply(replace(config, global_limits=replace(
        config.global_limits, max_position=3, duplicate_seconds=0.0)), save=False)
    sim = engine.get_gateway("SIM")
    for _ in range(3):
        sim.send_order(marketable(runtime))                     # working or filled at SIM
    fourth = sim.send_order(marketable(runtime))
    assert fourth.startswith("SIM.RISK-")
    wait(lambda: engine.get_order(fourth) is not None)
    assert engine.get_order(fourth).extra["risk_rule"] == "max_position"
    other.close()


def test_on_a_net_gateway_a_close_beyond_the_position_counts_against_the_limit(qtbot,
                                                                              terminal):
    """Net-position gateways take CLOSE and NONE orders as plain buys or sells: the lots
    beyond the position open, and while they work they count as opening lots."""
    runtime, window = terminal
    wait_for_quotes(qtbot, window)
    engine = runtime.kernel.main_engine

    class NetGateway(SimGateway):                   # accepts and rests, says nothing more
        default_name = "NET"
        count = 0

        def send_order(self, req):
            NetGateway.count += 1
            return f"{self.gateway_name}.{NetGateway.count}"

    net = engine.add_gateway(NetGateway, "NET")
    config = runtime.risk.config
    runtime.risk.apply(replace(config, global_limits=replace(
        config.global_limits, max_position=5, duplicate_seconds=0.0, max_funds_share=0.0)),
        save=False)
    bid = engine.get_tick(RB).bid_price_1
    resting = OrderRequest(symbol="rb2701", exchange=Exchange.SHFE, direction=Direction.LONG,
                           type=OrderType.LIMIT, volume=5, price=bid - 20, offset=Offset.NONE)
    assert net.send_order(resting) == "NET.1"       # flat: all 5 would open
    for offset in (Offset.NONE, Offset.CLOSE, Offset.OPEN):
        denied = net.send_order(replace(resting, offset=offset))
        assert denied.startswith("NET.RISK-"), offset
        wait(lambda denied=denied: engine.get_order(denied) is not None)
        assert engine.get_order(denied).extra["risk_rule"] == "max_position"
