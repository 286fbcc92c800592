"""The price ladder as a trader works in it, photographed: a simulated contract with today's
bars in the store (the volume column), a position, resting orders on both sides and a local
stop. Run it under Xvfb and look at the picture:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/ladder_screenshot.py \
        ladder.png [window.png]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

SYMBOL = "rb2701.SHFE"


def main(out: str, window_out: str = "", theme: str = "dark") -> int:
    out = str(Path(out).resolve())           # vn.py changes the working directory
    window_out = str(Path(window_out).resolve()) if window_out else ""
    home = Path(tempfile.mkdtemp(prefix="terminal-ladder-screenshot-"))
    from terminal.core import paths

    paths.prepare(home)          # before vn.py is imported
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from datetime import datetime, timedelta

    from vnpy.trader.constant import Direction, Exchange, Interval
    from vnpy.trader.object import HistoryRequest

    from terminal.app.main import start
    from terminal.core.timezone import CHINA_TZ
    from terminal.gateways.sim.clock import ManualClock

    def pump(seconds: float, until=lambda: False) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not until():
            app.processEvents()
            time.sleep(0.01)

    moment = datetime(2026, 12, 9, 10, 20, tzinfo=CHINA_TZ)
    runtime, window = start(home, show=True, sim_clock=ManualClock(moment))
    window.set_theme(theme, save=False)
    window.resize(1600, 1000)
    engine = runtime.kernel.main_engine
    gateway = engine.get_gateway("SIM")
    pump(10, lambda: engine.get_tick(SYMBOL) is not None)
    # Today's minutes into the store: what the recorder would have kept of the morning.
    bars = gateway.query_history(HistoryRequest("rb2701", Exchange.SHFE,
                                                moment - timedelta(hours=2), moment,
                                                Interval.MINUTE))
    runtime.store.save_bars(bars)
    window.show_dock("ladder")
    ladder = window.widget("ladder")
    ladder.load_symbol(SYMBOL)
    pump(10, lambda: ladder.book.volume is not None and ladder.book.volume.total > 0)
    tick = engine.get_tick(SYMBOL)
    step = ladder.book.pricetick
    ladder.quantity.setValue(2)
    ladder.place_limit(Direction.LONG, tick.ask_price_1 + 2 * step)      # a position
    pump(3, lambda: ladder.summary.net > 0)
    ladder.quantity.setValue(1)
    ladder.place_limit(Direction.LONG, tick.bid_price_1 - 4 * step)
    ladder.place_limit(Direction.SHORT, tick.ask_price_1 + 6 * step)
    stop = ladder.place_stop(False, tick.bid_price_1 - 8 * step)
    for _ in range(6):
        gateway.advance(0.5)
        pump(0.1)
    pump(1)
    ladder.recentre()
    pump(0.5)
    ladder.repaint()
    ladder.grab().save(out)
    print(json.dumps({"rows": ladder.book.ladder.rows, "volume": ladder.book.volume.total,
                      "position": ladder.summary.net, "stop": bool(stop),
                      "error": ladder.error_label.text(), "paints": ladder.view.paints}))
    if window_out:
        window.grab().save(window_out)
    window.close()
    runtime.close()
    print(f"saved {out}", flush=True)
    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
