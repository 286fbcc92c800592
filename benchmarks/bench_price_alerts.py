"""What checking price alerts costs a tick: the terminal's book (`market.alert_book`: sorted
line prices and binary searches, sloping lines recomputed once a minute) beside a plain loop
over the symbol's alerts (each line priced and compared at every tick), in one run.

Hand-run from a project root (not a test):

    .venv/bin/python benchmarks/bench_price_alerts.py [--ticks 40000]

The book holds 50 alerts on rb2701.SHFE (30 levels, 10 horizontal lines, 10 rays, crossing up,
crossing down and touching, once and every time with a re-arm distance) and 1,000 on 100 other
symbols. The ticks are a seeded random walk of rb2701 two a second through its sessions, from
3,650 with a one-tick step; the levels lie on both sides, so alerts fire and re-arm along the
way. Each call of `on_tick` is timed alone (perf_counter_ns); figures in microseconds: p50, p99
and mean of all ticks, then apart: the ticks that neither fire nor start a minute, the first
tick of each minute (the rays' prices computed again) and the ticks that fire (the file write
that follows a firing is left out: `save` does nothing here); and a symbol with no alerts.
Target: under 20 us a tick (the mean: what the event thread spends a tick).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta

from harness import ROOT, met, spread

SYMBOL = "rb2701.SHFE"
TARGET_US = 20.0


def alerts_and_ticks(count: int):
    sys.path.insert(0, str(ROOT))
    import numpy as np
    from vnpy.trader.constant import Exchange
    from vnpy.trader.object import TickData

    from terminal.core.timezone import CHINA_TZ
    from terminal.core.timezone import to_ns
    from terminal.market.drawings import Anchor, new_drawing
    from terminal.market.price_alerts import CROSS_DOWN, CROSS_UP, TOUCH, new_alert
    from terminal.market.trading_minutes import is_trading_minute

    rng = np.random.default_rng(2701)
    start = datetime(2026, 11, 16, 9, 0, tzinfo=CHINA_TZ)          # a Monday
    conditions = (CROSS_UP, CROSS_DOWN, TOUCH)
    own = []
    for number in range(50):
        condition = conditions[number % 3]
        every = {"once": False, "rearm": 5.0} if number % 2 else {}
        price = float(3650 + rng.integers(-60, 60))
        if number < 30:
            own.append(new_alert(SYMBOL, condition, level=price, **every))
            continue
        anchor = Anchor(to_ns(start), price)
        if number < 40:
            drawing = new_drawing("hline", [anchor])
        else:
            drawing = new_drawing("ray", [anchor, Anchor(to_ns(start + timedelta(hours=1)),
                                                          price + rng.integers(-20, 20))])
        own.append(new_alert(SYMBOL, condition, drawing=drawing, **every))
    others = [new_alert(f"x{n:02d}2701.SHFE", conditions[i % 3], level=1000.0 + 10 * i)
              for n in range(100) for i in range(10)]
    ticks, moment, price = [], start, 3650.0
    while len(ticks) < count:
        moment += timedelta(milliseconds=500)
        if not is_trading_minute(SYMBOL, to_ns(moment)):
            continue
        price += float(rng.choice((-1.0, 0.0, 1.0)))
        ticks.append(TickData("SIM", "rb2701", Exchange.SHFE, moment, last_price=price))
    quiet = [TickData("SIM", "ag2612", Exchange.SHFE, t.datetime, last_price=t.last_price)
             for t in ticks[: count // 4]]
    return own, others, ticks, quiet


class PlainLoop:
    """The obvious check: at every tick, each of the symbol's alerts priced at the tick's time
    and compared with the previous and the new last price."""

    def __init__(self, alerts, tick: float) -> None:
        from functools import partial

        from terminal.market.price_alerts import CROSS_DOWN, CROSS_UP
        from terminal.market.trading_minutes import trading_minutes_between

        self.up, self.down, self.time_ns = CROSS_UP, CROSS_DOWN

        self.by_symbol: dict[str, list] = {}
        for alert in alerts:
            self.by_symbol.setdefault(alert.vt_symbol, []).append(alert)
        self.minutes = {s: partial(trading_minutes_between, s) for s in self.by_symbol}
        self.tick = tick
        self.last: dict[str, int] = {}
        self.armed = {alert.id: True for alert in alerts}
        self.fired = 0

    def on_tick(self, tick) -> None:
        alerts = self.by_symbol.get(tick.vt_symbol)
        if not alerts:
            return
        now = round(tick.last_price / self.tick)
        before = self.last.get(tick.vt_symbol)
        self.last[tick.vt_symbol] = now
        moment = self.to_ns(tick.datetime)
        minutes = self.minutes[tick.vt_symbol]
        for alert in alerts:
            price = alert.line_at(moment - moment % 60_000_000_000, minutes)
            if price is None:
                continue
            line = round(price / self.tick)
            if not self.armed[alert.id]:
                if not alert.once and abs(now - line) >= round(alert.rearm / self.tick):
                    self.armed[alert.id] = True
                continue
            if before is None or now == before:
                hit = now == line and alert.condition not in (self.up, self.down)
            elif now > before:
                hit = before < line <= now and alert.condition != self.down
            else:
                hit = now <= line < before and alert.condition != self.up
            if hit:
                self.fired += 1
                self.armed[alert.id] = False


def timed(on_tick, ticks, fired: list) -> tuple[list[float], list[bool]]:
    """Microseconds of each call, and whether it fired an alert."""
    clock = time.perf_counter_ns
    out, fires = [], []
    for tick in ticks:
        count = len(fired)
        began = clock()
        on_tick(tick)
        out.append((clock() - began) / 1000)
        fires.append(len(fired) > count)
    return out, fires


def figures(name: str, values: list[float]) -> str:
    s = spread(values)
    if not values:
        return f"  {name:<44} none"
    return (f"  {name:<44} p50 {s['p50']:6.2f}  p99 {s['p99']:7.2f}  "
            f"mean {statistics.fmean(values):6.2f} us  ({s['n']} ticks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=40_000)
    args = parser.parse_args()
    own, others, ticks, quiet = alerts_and_ticks(args.ticks)
    from terminal.market.alert_book import PriceAlerts

    fired: list = []
    book = PriceAlerts([*own, *others], pricetick=lambda vt_symbol: 1.0,
                       on_fire=lambda *args: fired.append(args))
    plain = PlainLoop([*own, *others], 1.0)
    book_us, fires = timed(book.on_tick, ticks, fired)
    plain_us, _ = timed(plain.on_tick, ticks, [])
    book_quiet, _ = timed(book.on_tick, quiet, fired)
    plain_quiet, _ = timed(plain.on_tick, quiet, [])
    minutes = [tick.datetime.replace(second=0, microsecond=0) for tick in ticks]
    new_minute = [i == 0 or minutes[i] != minutes[i - 1] for i in range(len(ticks))]
    print(f"{ROOT.name} @ {ROOT}: 50 alerts on {SYMBOL}, 1,000 on 100 other symbols")
    print(figures("book, rb2701 ticks", book_us) + f", {len(fired)} firings")
    for name, keep in (("  of which no firing, same minute", lambda i: not (fires[i] or
                                                                             new_minute[i])),
                       ("  of which the first of a minute", lambda i: new_minute[i]),
                       ("  of which firing", lambda i: fires[i])):
        print(figures(name, [v for i, v in enumerate(book_us) if keep(i)]))
    print(figures("plain loop, rb2701 ticks", plain_us) + f", {plain.fired} firings")
    print(figures("book, a symbol with no alert", book_quiet))
    print(figures("plain loop, a symbol with no alert", plain_quiet))
    mean = statistics.fmean(book_us)
    print(f"  plain loop / book (mean): {statistics.fmean(plain_us) / mean:.0f}x")
    print(f"  target under {TARGET_US:g} us a tick (mean, what the event thread spends): "
          f"{mean:.2f} us, {met(mean < TARGET_US)}")


if __name__ == "__main__":
    main()
