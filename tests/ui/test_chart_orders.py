"""Trading from the chart, as a trader does it, in the whole terminal on the simulated exchange
(a ManualClock: the market moves only when a test says): a working order's line dragged to a
new price is replaced there through the risk gate (checked at the exchange), a drag the gate
denies snaps back and names the rule, Esc cancels a drag and a drag never pans, the × cancels,
the position line's P&L in money and ticks for long and short, and a bracket placed from the
menu with a template draws its stop and targets."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolTip
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Status
from vnpy.trader.object import PositionData

from terminal.core.bridge import Batch
from terminal.market.ticket import Ticket
from terminal.orders import BracketTemplate, Target
from terminal.market.pnl import open_pnl
from terminal.ui.chart.order_lines import position_text
from terminal.ui.colours import DOWN_HEX, UP_HEX
from tests.helpers import drained, next_quotes
from tests.helpers.gui import WAIT

SIM = "rb2701.SHFE"
LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def chart(qtbot, terminal, monkeypatch):
    """A chart of a simulated contract with a few live bars, its price pane showing 300
    ticks either side of the last price (pyqtgraph's mouse-move rate limit off, so a drag's
    moves all arrive whatever the machine's speed)."""
    monkeypatch.setitem(pg.CONFIG_OPTIONS, "mouseRateLimit", 0)
    runtime, window = terminal
    engine = runtime.kernel.main_engine
    qtbot.waitUntil(lambda: engine.get_tick(SIM) is not None, timeout=WAIT)
    dock = window.open_chart(SIM, "1m")
    qtbot.waitUntil(lambda: not dock.loading, timeout=WAIT)
    next_quotes(runtime)
    qtbot.waitUntil(lambda: len(dock.chart.series) >= 1, timeout=WAIT)
    window.docks["chart_1"].raise_()
    qtbot.waitUntil(lambda: dock.chart.graphics.viewport().isVisible(), timeout=WAIT)
    show_prices(dock, engine.get_tick(SIM).last_price, 300)
    return runtime, dock


def show_prices(dock, middle: float, ticks: int) -> None:
    tick = dock.trading.contract(SIM).pricetick
    dock.chart.price.getViewBox().setYRange(middle - ticks * tick, middle + ticks * tick,
                                            padding=0)


def pixel(dock, price: float, x_share: float = 0.3) -> QPoint:
    """The viewport pixel of `price`, `x_share` across the price pane (left of the labels)."""
    box = dock.chart.price.getViewBox()
    (left, right), _ = box.viewRange()
    scene = box.mapViewToScene(QPointF(left + (right - left) * x_share, price))
    return dock.chart.graphics.mapFromScene(scene)


def drag(dock, start: float, end: float, steps: int = 5, release: bool = True,
         x_share: float = 0.3) -> None:
    """Press on `start` (`x_share` across the pane), move to `end` (and sideways, as a hand
    does: a pan would show), release there."""
    viewport = dock.chart.graphics.viewport()
    QTest.mousePress(viewport, LEFT, NONE, pixel(dock, start, x_share))
    for step in range(1, steps + 1):
        QTest.mouseMove(viewport, pixel(dock, start + (end - start) * step / steps,
                                        x_share + 0.2 * step / steps))
    if release:
        QTest.mouseRelease(viewport, LEFT, NONE, pixel(dock, end, 0.5))


def resting_buy(qtbot, runtime, dock, ticks_below: int = 20) -> tuple[str, float]:
    """A one-lot buy limit below the market, working at the exchange, and its line in the
    middle of the price pane."""
    tick = runtime.kernel.main_engine.get_tick(SIM)
    pricetick = dock.trading.contract(SIM).pricetick
    price = tick.bid_price_1 - ticks_below * pricetick
    vt_orderid = runtime.trading.send_ticket(
        Ticket(SIM, Direction.LONG, Offset.OPEN, OrderType.LIMIT, price, 1))
    qtbot.waitUntil(lambda: vt_orderid in dock.orders.lines, timeout=WAIT)
    show_prices(dock, price, 20)                 # a tick is several pixels high
    return vt_orderid, price


def at_exchange(runtime) -> dict:
    """The orders resting at the simulated exchange now: vt_orderid -> (price, volume left)."""
    exchange = runtime.kernel.main_engine.get_gateway("SIM").exchange
    return {vt_orderid: (working.order.price, working.remaining)
            for vt_orderid, working in list(exchange.working.items())}


# ---------------------------------------------------------------------------- dragging
def test_dragging_an_order_line_replaces_the_order_at_the_new_price(qtbot, chart):
    runtime, dock = chart
    pricetick = dock.trading.contract(SIM).pricetick
    old, price = resting_buy(qtbot, runtime, dock)
    assert dock.orders.lines[old].text.startswith("Buy 1 limit @ ")
    assert dock.orders.lines[old].text.endswith("· at the exchange")
    (x_before, _), _ = dock.chart.price.getViewBox().viewRange()
    target = price - 7.4 * pricetick              # the drag ends between two ticks

    drag(dock, price, target, release=False)
    key, shown, label = dock.orders.item.preview
    new_price = price - 7 * pricetick             # snapped to the tick while dragging
    assert (key, shown) == (old, new_price) and "(-7 ticks)" in label
    QTest.mouseRelease(dock.chart.graphics.viewport(), LEFT, NONE, pixel(dock, target, 0.5))
    assert dock.orders.item.preview is None
    assert dock.chart.price.getViewBox().viewRange()[0][0] == x_before    # no pan

    def replaced() -> bool:
        live = at_exchange(runtime)
        return old not in live and list(live.values()) == [(new_price, 1)]

    qtbot.waitUntil(replaced, timeout=WAIT)
    engine = runtime.kernel.main_engine
    assert engine.get_order(old).status == Status.CANCELLED
    new = next(o for o in engine.get_all_active_orders() if o.vt_symbol == SIM)
    # The moved order is managed now (modify adopted it): one line, its view's, at the new
    # price, no longer replacing; the old order's line is gone.
    qtbot.waitUntil(lambda: [(v.vt_orderid, v.state) for v in dock.orders.views.values()]
                    == [(new.vt_orderid, "working")], timeout=WAIT)
    qtbot.waitUntil(lambda: old not in dock.orders.replacing, timeout=WAIT)
    (key, line), = dock.orders.lines.items()
    assert key == next(iter(dock.orders.views)) and line.price == new_price
    assert line.text.startswith("Buy 1 limit @ ") and not line.replacing
    assert not dock.orders.replacing


def test_a_drag_the_gate_denies_snaps_back_and_names_the_rule(qtbot, chart):
    runtime, dock = chart
    engine = runtime.kernel.main_engine
    old, price = resting_buy(qtbot, runtime, dock)
    last = engine.get_tick(SIM).last_price
    far = round(last * 0.93)                      # 7% under the last price: the band is 5%
    show_prices(dock, last, int(last * 0.1 / dock.trading.contract(SIM).pricetick))
    sent = runtime.trading.orders_sent

    drag(dock, price, far)
    assert dock.orders.lines[old].price == price            # snapped back
    assert dock.orders.item.preview is None
    assert "price_band" in dock.message.text() and "not moved" in dock.message.text()
    assert "price_band" in dock.orders.last_refusal
    assert "price_band" in QToolTip.text()                   # by the cursor, briefly
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=WAIT)
    assert at_exchange(runtime) == {old: (price, 1)}         # nothing cancelled or sent
    assert runtime.trading.orders_sent == sent and old not in dock.orders.replacing


def test_esc_cancels_a_drag_and_the_order_stays(qtbot, chart):
    runtime, dock = chart
    old, price = resting_buy(qtbot, runtime, dock)
    pricetick = dock.trading.contract(SIM).pricetick
    dock.chart.graphics.setFocus()
    drag(dock, price, price + 5 * pricetick, release=False)
    assert dock.orders.item.preview is not None
    QTest.keyClick(dock.chart.graphics, Qt.Key.Key_Escape)
    assert dock.orders.item.preview is None
    QTest.mouseRelease(dock.chart.graphics.viewport(), LEFT, NONE,
                       pixel(dock, price + 5 * pricetick))
    assert at_exchange(runtime) == {old: (price, 1)} and not dock.orders.replacing


def test_a_line_being_replaced_does_not_move_again(qtbot, chart):
    runtime, dock = chart
    old, price = resting_buy(qtbot, runtime, dock)
    pricetick = dock.trading.contract(SIM).pricetick
    dock.orders.replacing[old] = (price - pricetick, None)      # a move under way
    dock.orders.apply_theme()                                   # drawn as it is now
    drag(dock, price, price - 5 * pricetick)
    assert "being replaced" in dock.orders.last_refusal and "being replaced" in QToolTip.text()
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=WAIT)
    assert at_exchange(runtime) == {old: (price, 1)}


def test_a_local_stop_moves_at_once_and_never_to_the_wrong_side(qtbot, chart):
    runtime, dock = chart
    engine = runtime.kernel.main_engine
    pricetick = dock.trading.contract(SIM).pricetick
    last = engine.get_tick(SIM).last_price
    trigger = last - 10 * pricetick
    group = dock.orders.entry.place(Direction.SHORT, "stop", trigger, 1)
    assert group
    qtbot.waitUntil(lambda: len(dock.orders.views) == 1, timeout=WAIT)
    key, = dock.orders.views
    line = dock.orders.lines[key]
    assert line.local and line.text == f"Sell 1 stop @ {trigger:.0f} · local"
    show_prices(dock, last, 20)

    drag(dock, trigger, trigger - 4 * pricetick)
    qtbot.waitUntil(lambda: dock.orders.views[key].price == trigger - 4 * pricetick,
                    timeout=WAIT)
    assert dock.orders.lines[key].price == trigger - 4 * pricetick
    assert at_exchange(runtime) == {}                   # a local stop: nothing was sent
    assert not dock.orders.replacing

    # above the last price; pressed away from the first press, so that Qt does not take
    # the two presses for a double click (whether it does depends on the machine's pace),
    # and over the prices shown again: the chart may have fitted its price axis to its bars
    # since the first drag, on its own paced clock (so the line could be out of view)
    show_prices(dock, last, 20)
    drag(dock, trigger - 4 * pricetick, last + 3 * pricetick, x_share=0.1)
    assert "stop_side" in dock.orders.last_refusal
    assert runtime.managed.views(SIM)[0].price == trigger - 4 * pricetick
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=WAIT)


# ---------------------------------------------------------------------------- ×
def test_the_cross_on_a_label_cancels_its_order(qtbot, chart):
    runtime, dock = chart
    old, _ = resting_buy(qtbot, runtime, dock)
    spot = next(s for s in dock.orders.item.placed_in_scene() if s.line.key == old)
    point = dock.chart.graphics.mapFromScene(spot.close.center())
    assert dock.orders.item.hit(spot.close.center(), 5.0) == (old, "close")
    QTest.mouseClick(dock.chart.graphics.viewport(), LEFT, NONE, point)
    qtbot.waitUntil(lambda: old not in dock.orders.lines, timeout=WAIT)
    assert runtime.kernel.main_engine.get_order(old).status == Status.CANCELLED
    assert at_exchange(runtime) == {}


# ---------------------------------------------------------------------------- position P&L
def position(direction: Direction, volume: float, price: float) -> PositionData:
    return PositionData(gateway_name="SIM", symbol="rb2701", exchange=Exchange.SHFE,
                        direction=direction, volume=volume, price=price)


def test_open_pnl_in_money_and_ticks_for_long_and_short():
    long, short = position(Direction.LONG, 2, 3500.0), position(Direction.SHORT, 3, 3500.0)
    # rb: 10 t a lot, 1 CNY a tick
    assert open_pnl(long, 3512.0, 10.0, 1.0) == (240.0, 12.0)
    assert open_pnl(short, 3512.0, 10.0, 1.0) == (-360.0, -12.0)
    assert position_text(long, 0, open_pnl(long, 3512.0, 10.0, 1.0)) \
        == "Long 2 @ 3500.0 · +240 CNY · +12 ticks"
    assert position_text(short, 0, open_pnl(short, 3488.0, 10.0, 1.0)) \
        == "Short 3 @ 3500.0 · +360 CNY · +12 ticks"
    # IF: 300 a point, tick 0.2: 3 ticks of 0.2 = 180 CNY a lot
    index = position(Direction.LONG, 1, 3800.0)
    money, ticks = open_pnl(index, 3800.6, 300.0, 0.2)
    assert round(money, 6) == 180.0 and round(ticks, 9) == 3.0
    assert position_text(long, 0, open_pnl(long, 3499.0, 10.0, 1.0)) \
        == "Long 2 @ 3500.0 · -20 CNY · -1 tick"
    net_short = position(Direction.NET, -2, 100.0)
    assert open_pnl(net_short, 99.0, 5.0, 0.5) == (10.0, 2.0)
    assert position_text(net_short, 1, None) == "Short 2 @ 100.00"


def test_position_lines_show_open_pnl_from_the_last_price_at_the_paced_rate(qtbot, chart):
    runtime, dock = chart
    engine = runtime.kernel.main_engine
    contract = dock.trading.contract(SIM)
    tick = engine.get_tick(SIM)
    through = 10 * contract.pricetick                 # marketable: both fill at once
    # one after the other: the sell sent while the buy still rests would be a self-trade
    for direction, volume, price in ((Direction.LONG, 2, tick.ask_price_1 + through),
                                     (Direction.SHORT, 1, tick.bid_price_1 - through)):
        vt_orderid = runtime.trading.send_ticket(Ticket(SIM, direction, Offset.OPEN,
                                                        OrderType.LIMIT, price, volume))
        qtbot.waitUntil(lambda vt_orderid=vt_orderid: engine.get_order(vt_orderid) is not None
                        and not engine.get_order(vt_orderid).is_active(), timeout=WAIT)
    qtbot.waitUntil(lambda: len([k for k in dock.orders.lines if k.startswith("position")])
                    == 2, timeout=WAIT)

    def expected() -> dict[str, str]:
        last = engine.get_tick(SIM).last_price
        texts = {}
        for p in engine.get_all_positions():
            if p.vt_symbol == SIM and p.volume:
                sign = 1 if p.direction == Direction.LONG else -1
                money = sign * (last - p.price) * p.volume * contract.size
                ticks = sign * (last - p.price) / contract.pricetick
                texts[f"position {p.vt_positionid}"] = position_text(
                    p, 0, (money, ticks))
        return texts

    def shown() -> dict[str, str]:
        return {k: line.text for k, line in dock.orders.lines.items() if k.startswith("position")}

    dock.orders.paced()
    assert shown() == expected()
    assert any(text.startswith("Long 2 @") for text in shown().values())
    assert any(text.startswith("Short 1 @") for text in shown().values())
    # The market moves: a batch of ticks redraws nothing; the chart's paced draw does.
    last = engine.get_tick(SIM).last_price
    for _ in range(100):                         # until a quote trades at another price
        next_quotes(runtime)
        drained(runtime.kernel.event_engine)
        if engine.get_tick(SIM).last_price != last:
            break
    dock.live_draws.cancel()
    drawn, before = dock.orders.item.lines, shown()
    dock.orders.apply(Batch(ticks={SIM: engine.get_tick(SIM)}))
    assert dock.orders.item.lines is drawn
    dock._draw_live()
    assert shown() == expected() != before
    for key, line in dock.orders.lines.items():
        if key.startswith("position"):
            money = float(line.text.split(" · ")[1].split(" CNY")[0].replace(",", ""))
            assert line.text_colour == (UP_HEX if money > 0 else DOWN_HEX if money < 0
                                        else line.colour)


# ---------------------------------------------------------------------------- placing
def test_a_limit_placed_from_the_menu_with_a_template_draws_its_bracket(qtbot, chart):
    runtime, dock = chart
    runtime.order_templates.save(BracketTemplate(
        name="scalp", stop_ticks=8, targets=(Target(ticks=10, volume=1),
                                             Target(ticks=20, volume=1))))
    engine = runtime.kernel.main_engine
    tick = engine.get_tick(SIM)
    pricetick = dock.trading.contract(SIM).pricetick
    menu = dock.orders.entry.menu(tick.bid_price_1 - 10 * pricetick)
    template_menu = next(a.menu() for a in menu.actions() if a.text().startswith("Template"))
    next(a for a in template_menu.actions() if a.text() == "scalp").trigger()
    assert dock.orders.entry.template == "scalp" and dock.orders.entry.volume == 2
    menu = dock.orders.entry.menu(tick.bid_price_1 - 10 * pricetick)
    buy = next(a for a in menu.actions() if a.text().startswith("Buy limit"))
    assert buy.text().endswith("· bracket scalp") and " 2 @ " in buy.text()
    buy.trigger()

    def roles() -> set[str]:
        return {v.role for v in dock.orders.views.values()}

    qtbot.waitUntil(lambda: {"entry", "stop", "target 1", "target 2"} <= roles(),
                    timeout=WAIT)
    texts = [dock.orders.lines[v.id].text for v in dock.orders.views.values()
             if v.id in dock.orders.lines]
    assert any(text.startswith("Stop 2 @") for text in texts), texts
    assert any(text.startswith("Target 1 · 1 lot @") for text in texts), texts
