"""A chart as a trader works in it, photographed: a simulated contract's history (from the
simulator's `query_history`), drawings, a price alert with its bell and a volume profile.
The test `tests/app/test_chart_screenshot.py` runs it under Xvfb and checks the picture is
not blank; run it by hand to look at it:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/chart_screenshot.py \
        [--orders] panes.png [window.png]

The first picture is the chart's panes (no header or toolbar, whose colours would hide a
missing line); the second, if named, the whole window. `--orders` trades first: a bracket
bought from the chart with a template (its position, stop and targets), a working buy limit
and a local sell stop, as lines with their labels.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

SYMBOL = "rb2701.SHFE"


def place_orders(runtime, chart, pump) -> bool:
    """A bracket that fills at once (a marketable buy limit with the template "Scalp"), a
    resting buy limit and a local sell stop, placed from the chart's order entry; True once
    the chart shows them all and the position."""
    from vnpy.trader.constant import Direction

    from terminal.orders import BracketTemplate, Target

    tick = runtime.kernel.main_engine.get_tick(SYMBOL)
    step = runtime.trading.contract(SYMBOL).pricetick
    runtime.order_templates.save(BracketTemplate(
        name="Scalp", stop_ticks=15, targets=(Target(ticks=12, volume=1),
                                              Target(ticks=30, volume=1))))
    entry = chart.orders.entry
    entry.choose_template("Scalp")
    entry.place(Direction.LONG, "limit", tick.ask_price_1 + 2 * step, 2)
    entry.choose_template(None)
    entry.place(Direction.LONG, "limit", tick.bid_price_1 - 25 * step, 1)
    entry.place(Direction.SHORT, "stop", tick.bid_price_1 - 45 * step, 1)

    def shown() -> bool:
        keys = chart.orders.lines
        roles = {view.role for view in chart.orders.views.values()}
        return {"stop", "target 1", "target 2", "stop order"} <= roles and \
            any(key.startswith("position") for key in keys) and len(keys) >= 6

    pump(10, shown)
    return shown()


def main(out: str, window_out: str = "", orders: bool = False) -> int:
    out = str(Path(out).resolve())           # vn.py changes the working directory
    window_out = str(Path(window_out).resolve()) if window_out else ""
    home = Path(tempfile.mkdtemp(prefix="terminal-chart-screenshot-"))
    from terminal.core import paths

    paths.prepare(home)          # before vn.py is imported
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from terminal.app.main import start
    from terminal.market.drawings import Anchor, Style, new_drawing
    from terminal.market.price_alerts import CROSS_DOWN, CROSS_UP, new_alert

    def pump(seconds: float, until=lambda: False) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not until():
            app.processEvents()
            time.sleep(0.01)

    from datetime import datetime

    from terminal.core.timezone import CHINA_TZ
    from terminal.gateways.sim.clock import ManualClock

    # A fixed moment, and a market that moves only when told: the same picture on any day,
    # and no live quote crossing the alert's line before it is photographed.
    runtime, window = start(home, show=True,
                            sim_clock=ManualClock(datetime(2026, 12, 9, 10, 20, tzinfo=CHINA_TZ)))
    window.resize(1600, 1000)
    chart = window.open_chart(SYMBOL, "5m")
    pump(30, lambda: not chart.loading)
    series = chart.chart.series
    if len(series) < 200:
        print(f"only {len(series)} bars on the chart: {chart.message.text()}", file=sys.stderr)
        return 1
    times, high, low = series.times, series.column("high_price"), series.column("low_price")
    last = len(series) - 1
    first = last - 150
    book = runtime.drawings.book(SYMBOL)
    low_at = first + int(low[first:first + 60].argmin())
    high_at = last - 60 + int(high[last - 60:].argmax())
    book.add(new_drawing("trend", (Anchor(int(times[low_at]), float(low[low_at])),
                                   Anchor(int(times[high_at]), float(high[high_at])))))
    span_low, span_high = float(low[first:].min()), float(high[first:].max())
    book.add(new_drawing("fib", (Anchor(int(times[first + 20]), span_low),
                                 Anchor(int(times[last - 20]), span_high)),
                         style=Style(color="#9b59b6", width=1.0)))
    level = new_drawing("hline", (Anchor(int(times[last]), span_high),),
                        style=Style(color="#e67e22", width=2.0))
    book.add(level)
    book.add(new_drawing("text", (Anchor(int(times[first + 5]), span_high),),
                         text="breakout level"))
    runtime.price_alerts.add(new_alert(SYMBOL, CROSS_UP, drawing=level,
                                       created_ns=int(times[last])))
    floor = float(low[last - 40:].min())          # a level alert: its own dotted line and bell
    runtime.price_alerts.add(new_alert(SYMBOL, CROSS_DOWN, level=floor,
                                       created_ns=int(times[last])))
    chart.profile.set_mode("visible")            # the volume profile of the bars on screen
    if orders and not place_orders(runtime, chart, pump):
        print(f"the orders never showed: {chart.message.text()}", file=sys.stderr)
        return 1
    chart.chart.show_latest()
    if orders:                    # every order line in view, whatever the market did
        box = chart.chart.price.getViewBox()
        low, high = box.viewRange()[1]
        prices = [line.price for line in chart.orders.lines.values()]
        box.setYRange(min(low, *prices), max(high, *prices))
    def drawn() -> bool:
        return chart.drawing_layer._bells == {level.id} and chart.profile.visible is not None

    pump(10, drawn)
    if not drawn():
        print("the bell or the volume profile never came", file=sys.stderr)
        return 1
    chart.chart.graphics.repaint()
    chart.chart.graphics.grab().save(out)
    facts = {"bells": sorted(chart.drawing_layer._bells) == [level.id],
             "drawings": len(book), "bars": len(series), "source": chart.history_source,
             "profile": chart.profile.visible is not None}
    if orders:
        facts["order_lines"] = sorted(line.text for line in chart.orders.lines.values())
    print(json.dumps(facts))
    if window_out:
        window.grab().save(window_out)
    window.close()
    runtime.close()
    print(f"saved {out}", flush=True)
    # Qt's objects go before Python's end: left to the interpreter's exit, the window and the
    # application were destroyed in no set order, a segfault one exit in eight under load.
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.shutdown()
    return 0


if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if argument != "--orders"]
    sys.exit(main(*arguments[:2], orders="--orders" in sys.argv[1:]))
