"""What a live update costs: a chart redraws only the bar that changed and keeps its axes, draws
live bars on its own clock, and the simulated exchange makes fast quotes in batches at
the asked rate (found by the soak benchmark, benchmarks/soak.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from vnpy.trader.constant import Direction, Exchange, Status
from vnpy.trader.event import EVENT_ORDER, EVENT_TICK
from vnpy.trader.object import TickData

from terminal.core.bridge import Batch
from tests.helpers import next_quotes
from tests.helpers.gui import WAIT
import itertools

CHINA_TZ = ZoneInfo("Asia/Shanghai")
SIM = "rb2701.SHFE"


def history(count: int = 5_000) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    close = 3_000 + np.cumsum(rng.normal(0, 1, count)).round()
    return {"datetime": 1_700_000_000 * 10**9 + np.arange(count, dtype=np.int64) * 60 * 10**9,
            "open_price": close, "high_price": close + 2, "low_price": close - 2,
            "close_price": close, "volume": rng.integers(10, 500, count).astype(float)}


def shown_chart(qtbot, height: int = 420):
    """A chart on screen holding `history()`; returns it and the columns."""
    from terminal.ui.chart.widget import ChartWidget

    chart = ChartWidget(CHINA_TZ)
    qtbot.addWidget(chart)
    chart.resize(900, height)
    chart.show()
    qtbot.waitExposed(chart)
    columns = history()
    chart.set_history(columns)
    return chart, columns


def test_a_live_bar_changed_in_place_repaints_its_column_and_keeps_the_axes(qtbot):
    chart, columns = shown_chart(qtbot)
    qtbot.wait(20)
    price_box, volume_box = chart.price.getViewBox(), chart.volume.getViewBox()
    ranges, updates, moves = [], [], []
    for box in (price_box, volume_box):
        original = box.setYRange
        box.setYRange = lambda *a, _o=original, **k: (ranges.append(a), _o(*a, **k))
    original_update = chart.candles.update
    chart.candles.update = lambda *a: (updates.append(a), original_update(*a))
    original_set = chart.last_line.setValue
    chart.last_line.setValue = lambda v: (moves.append(v), original_set(v))
    last = int(columns["datetime"][-1])
    close = float(columns["close_price"][-1])
    bounds = chart.candles.boundingRect()

    shown = price_box.viewRange()[1]
    for step in range(5):               # the live bar moves inside what the axes show
        outcome = chart.put_bar(last, {"open_price": close, "high_price": close + 2,
                                       "low_price": close - 2, "close_price": close + step % 2,
                                       "volume": 10.0 + step})
        assert outcome == "updated"
    assert ranges == []                 # neither axis redrawn
    assert price_box.viewRange()[1] == shown
    assert chart.candles.boundingRect() == bounds
    assert len(updates) == 5 and all(len(a) == 1 and a[0].width() == 2.0 for a in updates)
    assert updates[0][0].left() == len(chart.series) - 2     # the last bar's column
    assert moves == [close + 1, close, close + 1, close]     # only when the price changed

    top = shown[1] + 50                 # a new high above the axis: the axis follows
    chart.put_bar(last, {"open_price": close, "high_price": top, "low_price": close - 2,
                         "close_price": top, "volume": 10.0})
    assert len(ranges) == 1 and price_box.viewRange()[1][1] >= top
    assert updates[-1] == ()            # the item grew: repainted whole

    (left, right), _ = price_box.viewRange()
    box_ranges = len(ranges)
    chart.put_bar(last + 60 * 10**9, {"open_price": top, "high_price": top, "low_price": top,
                                      "close_price": top, "volume": 1.0})
    assert price_box.viewRange()[0] == [left + 1, right + 1]     # a new bar scrolls by one
    # Fitted exactly once, through the x range (the live fit's headroom goes).
    assert len(ranges) == box_ranges + 1 and price_box.viewRange()[1][1] < top + 10
    chart.fit_y()                       # exact fits still skip an unchanged range
    assert len(ranges) == box_ranges + 1

    # Zoomed out, a bar is drawn merged with its neighbours: the pixel columns around it
    # are repainted, over the whole height.
    price_box.setXRange(0, len(chart.series), padding=0)
    qtbot.wait(20)
    per_pixel = chart.candles.pixelWidth()
    assert per_pixel > 2
    chart.put_bar(last + 60 * 10**9, {"open_price": top, "high_price": top, "low_price": top,
                                      "close_price": top - 1, "volume": 2.0})
    rect = updates[-1][0]
    assert rect.width() >= 4 * per_pixel and rect.height() == chart.candles.boundingRect().height()


def test_a_live_bar_trending_out_of_the_axes_refits_them_with_room_to_spare(qtbot):
    """Each re-fit redraws the axes and the whole pane: a price making a new high at every
    tick, and a live bar's volume growing all minute, re-fit a few times, not every tick."""
    chart, columns = shown_chart(qtbot)
    price_box, volume_box = chart.price.getViewBox(), chart.volume.getViewBox()
    fits = {"price": 0, "volume": 0}
    for name, box in (("price", price_box), ("volume", volume_box)):
        original = box.setYRange
        box.setYRange = lambda *a, _o=original, _n=name, **k: (
            fits.__setitem__(_n, fits[_n] + 1), _o(*a, **k))
    last = int(columns["datetime"][-1])
    close = float(columns["close_price"][-1])
    low_shown, high_shown = price_box.viewRange()[1]
    step = (high_shown - low_shown) / 100
    high, volume = high_shown, float(volume_box.viewRange()[1][1])
    for _ in range(200):                # up by 1% of the range at every tick, volume too
        high += step
        volume *= 1.01
        chart.put_bar(last, {"open_price": close, "high_price": high, "low_price": close - 2,
                             "close_price": high, "volume": volume})
        assert price_box.viewRange()[1][1] >= high
        assert volume_box.viewRange()[1][1] >= volume
    assert 1 <= fits["price"] <= 12
    assert 1 <= fits["volume"] <= 12


def test_a_live_update_draws_only_the_bars_in_the_repainted_parts_and_the_same_pixels(qtbot):
    """Qt gives each item the bounding rect of all it repaints: for a live update (the last
    price line across the width, the last bar's column in each pane) most of the chart. The
    items draw only the bars inside the actual parts, and the window looks exactly as after
    a full repaint."""
    from PySide6.QtGui import QGuiApplication

    from terminal.ui.chart import items

    chart, columns = shown_chart(qtbot, height=500)
    qtbot.wait(50)
    drawn = []
    original = items._segment_path
    items._segment_path = lambda x, y0, y1: (drawn.append(len(x)), original(x, y0, y1))[1]
    try:
        last = int(columns["datetime"][-1])
        close = float(columns["close_price"][-1])
        for step in range(6):
            drawn.clear()
            chart.put_bar(last, {"open_price": close, "high_price": close + 3,
                                 "low_price": close - 3, "close_price": close + step % 3 - 1,
                                 "volume": 10.0 + step})
            qtbot.wait(20)
            if step:        # (the first grew the bar's range: the whole pane repainted)
                # Candles and volume, rising and falling: well under the 200 bars on screen.
                assert 0 < sum(drawn) < 100, drawn
    finally:
        items._segment_path = original

    screen = QGuiApplication.primaryScreen()
    live = screen.grabWindow(chart.winId()).toImage()
    chart.graphics.viewport().repaint()               # everything, from scratch
    assert screen.grabWindow(chart.winId()).toImage() == live


def test_chart_draws_live_bars_on_its_own_clock(qtbot, terminal):
    from terminal.ui.docks import chart as chart_module

    runtime, window = terminal
    qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick(SIM) is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: window.is_settled, timeout=WAIT)    # start-up imports done
    first, second = window.open_chart(SIM, "1m"), window.open_chart("cu2701.SHFE", "1m")
    qtbot.waitUntil(lambda: not first.loading and not second.loading, timeout=WAIT)
    interval = 1 / chart_module.LIVE_DRAWS_PER_SECOND
    offset = (first.live_draws.clock.origin - second.live_draws.clock.origin) % interval
    assert 0.1 * interval < offset < 0.9 * interval     # the two charts draw in turns
    next_quotes(runtime)                # a live bar from the quotes after the charts opened
    qtbot.waitUntil(lambda: len(first.chart.series) >= 1, timeout=WAIT)

    drawn = []
    original = first._live_bars
    first._live_bars = lambda: (drawn.append(first.live_draws.due), original())
    batch = Batch(ticks={SIM: runtime.kernel.main_engine.get_tick(SIM)})
    for burst in range(2):
        for _ in range(30):
            first.apply(batch)          # a burst of frames: nothing drawn in the pump's call
        assert len(drawn) == burst and first.live_draws.pending
        qtbot.waitUntil(lambda: not first.live_draws.pending, timeout=WAIT)
        assert len(drawn) == burst + 1  # one draw a burst
    steps = (drawn[1] - drawn[0]) / interval     # on ticks of the chart's clock, not one twice
    assert steps > 0.999 and abs(steps - round(steps)) < 1e-6

    # Fill markers are placed by bar position: redrawn when a bar is added, not every draw.
    fills = []
    first._draw_fills = lambda: fills.append(len(first.chart.series))
    first._fills = [(int(first.chart.series.times[-1]), 1.0, True)]
    first._fills_drawn_for = len(first.chart.series)
    first._fills_moved()
    assert fills == []
    first._fills_drawn_for = -1         # as after a new bar
    first._fills_moved()
    assert fills == [len(first.chart.series)]
    first.close_chart()
    assert not first.live_draws.pending


def test_fast_quotes_come_in_batches_at_the_asked_rate_and_orders_still_fill_at_once():
    """At 2,400 quotes a second the exchange thread wakes once a batch (BATCH_SECONDS), not
    once a quote, and makes every quote due by then; an order sent meanwhile is matched at
    the next wake-up, before any more quotes. On a clock the test moves: the wake-ups are
    those of an idle machine, whatever this one is doing."""
    from terminal.gateways.sim.gateway import BATCH_SECONDS
    from terminal.market import contracts
    from tests.helpers import drained, request, simulator

    rate = 100.0                        # 2,400 quotes a second over 24 contracts
    assert 1 / (rate * len(contracts.SPECS)) < BATCH_SECONDS
    engine, gateway = simulator(rate, [spec.vt_symbol for spec in contracts.SPECS])
    seen: list = []
    try:
        engine.register(EVENT_TICK, lambda event: seen.append(event.data))
        engine.register(EVENT_ORDER, lambda event: seen.append(event.data))
        gateway.advance(1.5)
        drained(engine)
        assert len(seen) == 1.5 * rate * len(contracts.SPECS)
        wakeups = sorted({tick.datetime for tick in seen})
        assert len(wakeups) == round(1.5 / BATCH_SECONDS)
        assert [(b - a).total_seconds() for a, b in itertools.pairwise(wakeups)] \
            == pytest.approx([BATCH_SECONDS] * (len(wakeups) - 1), abs=1e-6)

        seen.clear()
        book = gateway.exchange.books["m2705.DCE"]
        vt_orderid = gateway.send_order(request("m2705", Exchange.DCE, Direction.LONG, 1,
                                                book.ask_price_1 + 5))
        gateway.advance(10 * BATCH_SECONDS)
        drained(engine)
    finally:
        gateway.close()
        engine.stop()
    orders = [n for n, data in enumerate(seen) if not isinstance(data, TickData)]
    assert [seen[n].vt_orderid for n in orders] == 3 * [vt_orderid]   # sent, accepted, filled
    assert seen[orders[-1]].status == Status.ALLTRADED
    assert orders == [0, 1, 2]          # before the next batch of quotes
    assert len(seen) == 3 + 10 * BATCH_SECONDS * rate * len(contracts.SPECS)


def test_quote_books_keep_every_level():
    import random

    from terminal.gateways.sim.quotes import LEVEL_FIELDS, QuoteModel
    from terminal.market import contracts

    model = QuoteModel(contracts.find(SIM), random.Random(3), "SIM")
    tick: TickData = model.step(datetime(2026, 11, 20, 10, tzinfo=CHINA_TZ))
    bids = [getattr(tick, names[0]) for names in LEVEL_FIELDS]
    asks = [getattr(tick, names[1]) for names in LEVEL_FIELDS]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert asks[0] > bids[0] and all(getattr(tick, n[2]) >= 1 for n in LEVEL_FIELDS)


def test_a_position_or_order_line_is_made_again_only_when_it_changes(qtbot, terminal):
    """Gateways publish a position on every tick of its symbol (its P&L moves)."""
    from dataclasses import replace

    from vnpy.trader.constant import OrderType, Status
    from vnpy.trader.object import OrderData, PositionData

    runtime, window = terminal
    qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_tick(SIM) is not None, timeout=WAIT)
    chart = window.open_chart(SIM, "1m")
    qtbot.waitUntil(lambda: not chart.loading, timeout=WAIT)
    position = PositionData("TEST", "rb2701", Exchange.SHFE, Direction.LONG, volume=2,
                            price=3250.0, pnl=10.0)
    key = f"position {position.vt_positionid}"
    chart.apply(Batch(positions={position.vt_positionid: position}))
    drawn = chart.orders.item.lines
    assert chart.orders.lines[key].text.startswith("Long 2 @ 3250")
    for pnl in range(20):
        chart.apply(Batch(positions={position.vt_positionid: replace(position, pnl=pnl)}))
    assert chart.orders.item.lines is drawn
    chart.apply(Batch(positions={position.vt_positionid: replace(position, volume=3)}))
    assert chart.orders.item.lines is not drawn
    assert chart.orders.lines[key].text.startswith("Long 3 @ 3250")
    chart.apply(Batch(positions={position.vt_positionid: replace(position, volume=0)}))
    assert chart.orders.lines == {}

    order = OrderData("TEST", "rb2701", Exchange.SHFE, "7", type=OrderType.LIMIT,
                      direction=Direction.LONG, price=3200.0, volume=2,
                      status=Status.NOTTRADED)
    chart.apply(Batch(orders={order.vt_orderid: order}))
    drawn = chart.orders.item.lines
    chart.apply(Batch(orders={order.vt_orderid: replace(order)}))
    assert chart.orders.item.lines is drawn
    chart.apply(Batch(orders={order.vt_orderid: replace(order, traded=1,
                                                          status=Status.PARTTRADED)}))
    assert chart.orders.lines[order.vt_orderid].text.startswith("Buy 1 limit @ 3200")
    chart.apply(Batch(orders={order.vt_orderid: replace(order, status=Status.CANCELLED)}))
    assert chart.orders.lines == {}
