"""Chart benchmark: this terminal's ChartWidget against vn.py's stock vnpy.chart.ChartWidget.

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/chart.py                   # 10k, 100k, 300k and 1,000,000 bars
    .venv/bin/python benchmarks/chart.py --bars 1000000 --only ours --profile
    xvfb-run -a env QT_QPA_PLATFORM=xcb .venv/bin/python benchmarks/chart.py   # a real X server

The bars are synthetic and the same on every run: a seeded random walk of rb2701.SHFE 1-minute
bars on rb's trading sessions (the harness's, as every benchmark), datetime as int64 ns UTC for ours
and tz-aware (Asia/Shanghai) BarData for vn.py. Each (target, size) runs in its own subprocess
and temporary data directory and reports JSON to this process; QT_QPA_PLATFORM is offscreen
unless set (raster painting into memory; `xvfb-run -a` with QT_QPA_PLATFORM=xcb gives the figure
on a real X server). Both charts are top-level windows of the same size (--size, 1400x800 by
default) with a candle pane over a volume pane, no indicators, shown; vn.py's is set up as in its
own example (add_plot candle + volume, CandleItem, VolumeItem, add_cursor).

load + first draw: from handing the history over (ours `set_history(columns)`, vn.py
`update_history(bars)`; vn.py's BarData list is built before the timer starts) until a forced
synchronous repaint of the window (`repaint()`, then `processEvents()`) has finished.
live update: the last bar changed in place (ours `put_bar` with the last bar's time, vn.py
`update_bar` with a bar of the last bar's datetime), --updates times; "apply" is the call
alone, "apply + repaint" is the call and a synchronous repaint of the chart's QGraphicsView
viewport (ours `chart.graphics.viewport()`, vn.py's ChartWidget is itself the view). Pending
events are processed between samples, outside the timer. append: the same with a new minute.
pan: --pans frames, each moving the visible x-range by a few bars (half of them left, then back)
and repainting the viewport synchronously; ours through its ViewBox.setXRange, vn.py through its
own mechanics (its right index moved, then `_update_x_range()`), at each chart's default zoom
(ours shows 200 bars, vn.py 100) and, for ours, zoomed out to all bars.
vn.py beyond --vnpy-max bars is skipped (each of its live updates is O(history)), and every
phase stops after --phase-cap seconds of measured time (at least 20 samples).
repaint alone: the same synchronous repaint with nothing changed, what a frame costs anyway.
--profile adds a cProfile of ours' repaint alone, update + repaint and all-bars panning, run
after the timings (so they do not slow the figures).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

from harness import (EXCHANGE, PRICE_FIELDS, ROOT, SEED, SYMBOL, child_command, child_main,
                     met, profile_text, run_child, scratch, spread, synthetic_columns)

TARGETS = ("ours", "vnpy")
APPENDS = 20
PAN_STEP = 3                 # bars a pan frame moves at the default zoom
TARGET_LIVE_MS, TARGET_LOAD_MS, TARGET_FRAME_MS = 2.0, 1000.0, 16.0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", default="10000,100000,300000,1000000",
                        help="comma-separated history sizes")
    parser.add_argument("--vnpy-max", type=int, default=300_000,
                        help="largest history vn.py's chart is run with")
    parser.add_argument("--updates", type=int, default=200, help="live updates per way")
    parser.add_argument("--pans", type=int, default=100, help="pan frames per zoom")
    parser.add_argument("--phase-cap", type=float, default=30.0,
                        help="measured seconds after which a phase stops (>= 20 samples)")
    parser.add_argument("--size", default="1400x800", help="window size, WxH")
    parser.add_argument("--only", choices=TARGETS, help="run one target only")
    parser.add_argument("--profile", action="store_true", help="cProfile ours (after timing)")
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.bars.split(",") if s.strip()]
    args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    return args


# ---------------------------------------------------------------------------------- child side
def live_values(columns: dict, updates: int, appends: int) -> tuple[list, list]:
    """Deterministic changes of the last bar, then `appends` new minutes: (time_ns, values)."""
    import numpy as np

    rng = np.random.default_rng(SEED + 1)
    last_time = int(columns["datetime"][-1])
    bar = {name: float(columns[name][-1]) for name in PRICE_FIELDS}
    changed = []
    for _ in range(updates):
        close = bar["close_price"] + float(rng.integers(-2, 3))
        bar = {**bar, "close_price": close, "high_price": max(bar["high_price"], close),
               "low_price": min(bar["low_price"], close),
               "volume": bar["volume"] + float(rng.integers(1, 20))}
        bar["turnover"] = bar["volume"] * close * 10
        changed.append((last_time, bar))
    added = []
    for k in range(1, appends + 1):
        close = bar["close_price"] + float(rng.integers(-2, 3))
        bar = {**bar, "open_price": bar["close_price"], "close_price": close,
               "high_price": max(bar["close_price"], close) + 1,
               "low_price": min(bar["close_price"], close) - 1,
               "volume": float(rng.integers(1, 3000))}
        bar["turnover"] = bar["volume"] * close * 10
        added.append((last_time + k * 60_000_000_000, bar))
    return changed, added


def count_paints(cls, counter: list[int]) -> None:
    """Count the calls of the candle item's paint: a timed frame that drew no candles is void."""
    original = cls.paint

    def paint(self, *args):
        counter[0] += 1
        return original(self, *args)

    cls.paint = paint


class Ours:
    name = "terminal.ui.chart.widget.ChartWidget"

    def __init__(self, columns: dict, counter: list[int]) -> None:
        from zoneinfo import ZoneInfo

        from terminal.ui.chart import items
        from terminal.ui.chart.widget import ChartWidget

        count_paints(items.CandleItem, counter)
        self.columns = columns
        self.widget = ChartWidget(ZoneInfo("Asia/Shanghai"))
        self.view = self.widget.graphics.viewport()
        self.box = self.widget.price.getViewBox()

    def load(self) -> None:
        self.widget.set_history(self.columns)

    @staticmethod
    def prepare(time_ns: int, values: dict):
        return time_ns, values

    def apply(self, prepared) -> None:
        self.widget.put_bar(*prepared)

    def x_range(self) -> tuple[float, float]:
        return tuple(self.box.viewRange()[0])

    def pan(self, bars: float) -> None:
        left, right = self.box.viewRange()[0]
        self.box.setXRange(left + bars, right + bars, padding=0)

    def zoom_all(self) -> None:
        self.box.setXRange(-0.5, len(self.widget.series) + 2, padding=0)


class Vnpy:
    name = "vnpy.chart.ChartWidget"

    def __init__(self, columns: dict, counter: list[int]) -> None:
        from datetime import datetime
        from zoneinfo import ZoneInfo

        from vnpy.chart import CandleItem, ChartWidget, VolumeItem
        from vnpy.trader.constant import Exchange, Interval
        from vnpy.trader.object import BarData

        count_paints(CandleItem, counter)
        self.BarData, self.tz = BarData, ZoneInfo("Asia/Shanghai")
        self.exchange, self.interval = Exchange(EXCHANGE), Interval.MINUTE
        self.fromtimestamp = datetime.fromtimestamp
        widget = self.widget = ChartWidget()           # as vn.py's examples/candle_chart
        widget.add_plot("candle", hide_x_axis=True)
        widget.add_plot("volume", maximum_height=200)
        widget.add_item(CandleItem, "candle", "candle")
        widget.add_item(VolumeItem, "volume", "volume")
        widget.add_cursor()
        self.view = widget.viewport()                  # the ChartWidget is the QGraphicsView
        self.box = widget.get_plot("candle").getViewBox()
        seconds = (columns["datetime"] // 1_000_000_000).tolist()
        self.bars = [  # before the timer
            self._bar(s, dict(zip(PRICE_FIELDS, row, strict=True))) for s, *row in zip(
                seconds, *(columns[name].tolist() for name in PRICE_FIELDS), strict=True)]

    def _bar(self, seconds: float, values: dict):
        return self.BarData(gateway_name="BENCH", symbol=SYMBOL, exchange=self.exchange,
                            datetime=self.fromtimestamp(seconds, self.tz),
                            interval=self.interval, **values)

    def load(self) -> None:
        self.widget.update_history(self.bars)

    def prepare(self, time_ns: int, values: dict):
        return self._bar(time_ns // 1_000_000_000, values)

    def apply(self, prepared) -> None:
        self.widget.update_bar(prepared)

    def x_range(self) -> tuple[float, float]:
        return tuple(self.box.viewRange()[0])

    def pan(self, bars: float) -> None:
        widget = self.widget                        # as its _on_key_left/_right, by `bars`
        widget._right_ix = min(max(self.box.viewRange()[0][1] + bars, widget._bar_count),
                               widget._manager.get_count())
        widget._update_x_range()


def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    paths.prepare(Path(args.home))  # before vn.py is imported and Qt starts
    import pyqtgraph as pg
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    columns = synthetic_columns(args.count)
    changed, added = live_values(columns, args.updates, APPENDS)
    counter = [0]
    started = time.perf_counter()
    target = (Ours if args.child == "ours" else Vnpy)(columns, counter)
    build_s = time.perf_counter() - started
    widget, view = target.widget, target.view
    widget.resize(args.width, args.height)
    widget.show()
    QTest.qWaitForWindowExposed(widget, 5000)
    for _ in range(3):
        app.processEvents()
    result: dict = {"build_s": build_s, "antialias": bool(pg.getConfigOption("antialias")),
                    "platform": app.platformName(), "view": [view.width(), view.height()]}

    gc.collect()
    before = counter[0]
    start = time.perf_counter()
    target.load()
    widget.repaint()
    app.processEvents()
    result["load"] = time.perf_counter() - start
    result["load_painted"] = counter[0] > before
    left, right = target.x_range()
    result["visible"] = right - left

    def frames(items: list, act, repaint: bool) -> dict:
        """Time `act(item)` (and a synchronous repaint of the view) for each item."""
        gc.collect()
        times, painted, spent = [], 0, 0.0
        for item in items:
            app.processEvents()
            before = counter[0]
            start = time.perf_counter()
            act(item)
            if repaint:
                view.repaint()
            seconds = time.perf_counter() - start
            times.append(seconds)
            painted += counter[0] > before
            spent += seconds
            if spent > args.phase_cap and len(times) >= 20:
                break
        app.processEvents()
        return {**spread(times), "painted": painted}

    result["repaint"] = frames([None] * args.updates, lambda _: None, repaint=True)
    prepared = [target.prepare(*bar) for bar in changed]
    result["update"] = frames(prepared, target.apply, repaint=False)
    result["update_repaint"] = frames(prepared, target.apply, repaint=True)
    prepared = [target.prepare(*bar) for bar in added]
    result["append"] = frames(prepared[:APPENDS // 2], target.apply, repaint=False)
    result["append_repaint"] = frames(prepared[APPENDS // 2:], target.apply, repaint=True)
    steps = [-PAN_STEP] * (args.pans // 2) + [PAN_STEP] * (args.pans - args.pans // 2)
    result["pan"] = frames(steps, target.pan, repaint=True)
    if isinstance(target, Ours):
        target.zoom_all()
        app.processEvents()
        step = max(PAN_STEP, args.count // 500)
        steps = [-step] * (args.pans // 2) + [step] * (args.pans - args.pans // 2)
        result["pan_all"] = frames(steps, target.pan, repaint=True)
        result["pan_all_step"] = step
        if args.profile:
            result["profile"] = profile(app, target, view, changed, steps)
    return result


def profile(app, target: Ours, view, changed: list, steps: list) -> dict:
    """cProfile of ours' live update + repaint and of all-bars panning (timings already taken)."""
    import cProfile

    texts = {}
    for phase, items, act in (("repaint alone", changed, lambda _: None),
                              ("update + repaint", changed, target.apply),
                              ("pan, all bars", steps, target.pan)):
        profiler = cProfile.Profile()
        for item in items:
            app.processEvents()
            profiler.enable()
            act(item)
            view.repaint()
            profiler.disable()
        texts[phase] = profile_text(profiler, top=12, cumulative=14)
    return texts


# ---------------------------------------------------------------------------------- parent side
def run_case(target: str, count: int, args: argparse.Namespace) -> dict:
    print(f"running {target} with {count:,} bars ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    with scratch(f"bench-chart-{target}-") as (home, env):
        result = run_child(child_command(
            __file__, "--child", target, ("--count", count), ("--updates", args.updates),
            ("--pans", args.pans), ("--phase-cap", args.phase_cap), ("--size", args.size),
            ("--home", home), ("--profile", args.profile)), timeout=3600, env=env)
    return result if result.get("error") else {**result, "wall_s": time.perf_counter() - started}


ROWS = [  # label, key, statistic (None: a number of seconds)
    ("load + first draw (ms)", "load", None),
    ("repaint alone, no change p50 (ms)", "repaint", "p50"),
    ("live update, apply p50 (ms)", "update", "p50"),
    ("live update, apply p99 (ms)", "update", "p99"),
    ("live update + repaint p50 (ms)", "update_repaint", "p50"),
    ("live update + repaint p99 (ms)", "update_repaint", "p99"),
    ("append, apply p50 (ms)", "append", "p50"),
    ("append + repaint p50 (ms)", "append_repaint", "p50"),
    ("append + repaint max (ms)", "append_repaint", "max"),
    ("pan frame, default p50 (ms)", "pan", "p50"),
    ("pan frame, default p99 (ms)", "pan", "p99"),
    ("pan frame, all bars p50 (ms)", "pan_all", "p50"),
    ("pan frame, all bars p99 (ms)", "pan_all", "p99"),
]


def cell(result: dict | None, key: str, stat: str | None) -> float | None:
    if not result or result.get("error") or key not in result:
        return None
    value = result[key] if stat is None else result[key][stat]
    return None if value is None else value * 1000


def show(count: int, results: dict[str, dict | None]) -> None:
    print(f"\n{count:,} bars")
    print(f"  {'':32}{'ours':>12}{'vnpy':>12}   vnpy/ours")
    for label, key, stat in ROWS:
        texts, values = [], []
        for target in TARGETS:
            result = results.get(target)
            value = cell(result, key, stat)
            values.append(value)
            if result is None:
                texts.append("-")
            elif result.get("skipped"):
                texts.append("skipped")
            elif result.get("error"):
                texts.append("error")
            else:
                texts.append("-" if value is None else f"{value:,.2f}")
        ratio = (f"{values[1] / values[0]:>10,.1f}x"
                 if None not in values and values[0] else "")
        print(f"  {label:32}{texts[0]:>12}{texts[1]:>12}{ratio}")
    samples = [f"{t}: {r['update']['n']}+{r['update_repaint']['n']} updates, "
               f"{r['pan']['n']} pan frames, {r['visible']:.0f} bars visible, "
               f"run {r['wall_s']:.0f} s" for t, r in results.items()
               if r and not r.get("error") and not r.get("skipped")]
    if samples:
        print("  (" + "; ".join(samples) + ")")
    for target, result in results.items():
        if result and result.get("skipped"):
            print(f"  {target}: skipped (too slow) above --vnpy-max")
        elif result and result.get("error"):
            print(f"  {target}: {result['error']}")
        elif result:
            void = [key for key in ("update_repaint", "append_repaint", "pan", "pan_all")
                    if key in result and result[key]["painted"] < result[key]["n"]]
            if void or not result["load_painted"]:
                print(f"  WARNING {target}: candles not painted in every timed frame of "
                      f"{', '.join(void) or 'the load'}")


def verdicts(table: dict[int, dict[str, dict | None]]) -> None:
    ours = {n: r["ours"] for n, r in table.items()
            if r.get("ours") and not r["ours"].get("error")}
    if not ours:
        return
    top = max(ours)
    at = f"at {top:,} bars" + ("" if top >= 1_000_000 else " (1,000,000 not measured)")
    r = ours[top]

    apply, live, bare = r["update"], r["update_repaint"], r["repaint"]
    print(f"\ntargets ({at}):")
    print(f"  live update < {TARGET_LIVE_MS:g} ms, apply: {met(apply['p50'] * 1000 < 2)} "
          f"(p50 {apply['p50'] * 1000:.2f} ms, p99 {apply['p99'] * 1000:.2f} ms); "
          f"apply + repaint: {met(live['p50'] * 1000 < 2)} (p50 {live['p50'] * 1000:.2f} ms, "
          f"p99 {live['p99'] * 1000:.2f} ms; the repaint alone p50 {bare['p50'] * 1000:.2f} ms)")
    if len(ours) > 1:
        low = min(ours)
        growth = [r[key]["p50"] / ours[low][key]["p50"] for key in ("update", "update_repaint")]
        print(f"  live update cost independent of history: p50 at {top:,} bars is "
              f"{growth[0]:.2f}x (apply), {growth[1]:.2f}x (apply + repaint) that at "
              f"{low:,} bars, with {top // low:,}x the bars")
    print(f"  first draw < {TARGET_LOAD_MS:g} ms: {met(r['load'] * 1000 < TARGET_LOAD_MS)} "
          f"({r['load'] * 1000:.1f} ms)")
    worst = max((res[key]["p99"], n, key) for n, res in ours.items()
                for key in ("pan", "pan_all") if key in res)
    frame_ok = all(res[key]["p99"] * 1000 < TARGET_FRAME_MS for res in ours.values()
                   for key in ("pan", "pan_all") if key in res)
    print(f"  pan frame p99 < {TARGET_FRAME_MS:g} ms, every size and zoom: {met(frame_ok)} "
          f"(worst {worst[0] * 1000:.2f} ms: {worst[2]} at {worst[1]:,} bars)")
    vnpy = [(n, res["vnpy"]) for n, res in table.items()
            if res.get("vnpy") and not res["vnpy"].get("error") and not res["vnpy"].get("skipped")]
    if vnpy:
        print("  vn.py live update + repaint p50: " + " / ".join(
            f"{v['update_repaint']['p50'] * 1000:.0f} ms at {n:,}" for n, v in vnpy))


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))   # no Qt teardown of the shown chart
    targets = [args.only] if args.only else list(TARGETS)
    table: dict[int, dict[str, dict | None]] = {}
    for count in args.sizes:
        table[count] = {}
        for target in targets:
            if target == "vnpy" and count > args.vnpy_max:
                table[count][target] = {"skipped": True}
            else:
                table[count][target] = run_case(target, count, args)
    first = next((r for row in table.values() for r in row.values()
                  if r and not r.get("error") and not r.get("skipped")), {})
    print(f"\nours = terminal.ui.chart.widget.ChartWidget, vnpy = stock vnpy.chart.ChartWidget "
          f"(candle + volume panes, cursor); window {args.size}, "
          f"QT_QPA_PLATFORM={first.get('platform', os.environ.get('QT_QPA_PLATFORM'))}, "
          f"{os.cpu_count()} CPUs")
    print("seeded synthetic rb 1-minute bars; times in ms; repaint = synchronous repaint of the "
          "chart's view; vn.py's BarData built before the timer")
    for count, results in table.items():
        show(count, results)
    verdicts(table)
    for count, results in table.items():
        ours = results.get("ours") or {}
        for phase, text in (ours.get("profile") or {}).items():
            print(f"\ncProfile of ours, {phase}, {count:,} bars:\n{text}")


if __name__ == "__main__":
    main()
