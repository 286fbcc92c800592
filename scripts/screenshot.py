"""The README's screenshot: the terminal as a trader sees it a few seconds after the start,
with a chart of real stored bars (a trend line, a line with a price alert, the volume
profile) and one filled order.

Run under a real X server or Xvfb (the offscreen platform draws no native widgets):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot.py \
        ../shared/data/cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv docs/images/terminal.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(csv_file: str, out: str) -> int:
    out = str(Path(out).resolve())           # vn.py changes the working directory
    csv_file = str(Path(csv_file).resolve())
    home = Path(tempfile.mkdtemp(prefix="terminal-screenshot-"))
    from terminal.core import paths

    paths.prepare(home)          # before vn.py is imported
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    from terminal.app.main import start
    from terminal.storage.csv_import import import_file

    runtime, window = start(home, show=True)
    window.resize(1600, 1000)
    import_file(runtime.store, Path(csv_file))
    chart = window.open_chart("rb2401.SHFE", "5m")
    chart.add_indicator("BOLL")
    chart.add_indicator("MACD")

    def pump(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)

    pump(4)                      # quotes from the simulated exchange fill the market watch
    draw_on(runtime, chart)
    ticket = window.ticket
    ticket.load_symbol("rb2701.SHFE")
    tick = runtime.kernel.main_engine.get_tick("rb2701.SHFE")
    if tick is not None:
        ticket.price_edit.setText(f"{tick.ask_price_1:g}")
        ticket.volume_edit.setText("2")
        ticket.buy()
    pump(3)
    window.grab().save(out)
    window.close()
    runtime.close()
    print(f"saved {out}")
    return 0


def draw_on(runtime, chart) -> None:
    """What a trader puts on a chart: a trend line along the lows, a resistance line carrying
    a price alert (its bell), and the volume profile of the bars on screen."""
    from terminal.market.drawings import Anchor, Style, new_drawing
    from terminal.market.price_alerts import CROSS_UP, new_alert

    series = chart.chart.series
    if len(series) < 120:
        return
    times, high, low = series.times, series.column("high_price"), series.column("low_price")
    last = len(series) - 1
    first = max(0, last - 160)
    book = runtime.drawings.book(chart.vt_symbol)
    one = first + int(low[first:first + 60].argmin())
    two = last - 50 + int(low[last - 50:].argmin())
    book.add(new_drawing("trend", (Anchor(int(times[one]), float(low[one])),
                                   Anchor(int(times[two]), float(low[two])))))
    top = float(high[first:].max())
    resistance = new_drawing("hline", (Anchor(int(times[last]), top),),
                             style=Style(color="#e67e22", width=1.5))
    book.add(resistance)
    runtime.price_alerts.add(new_alert(chart.vt_symbol, CROSS_UP, drawing=resistance,
                                       note="breakout"))
    chart.profile.set_mode("visible")


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
