"""Drawings benchmark: the chart with 1,000 drawings on its symbol beside the same chart with
none (today's chart, no drawing layer), in one run.

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/bench_drawings.py                 # 100,000 bars, 1,000 drawings
    .venv/bin/python benchmarks/bench_drawings.py --bars 1000000 --drawings 1000 --profile
    .venv/bin/python benchmarks/bench_drawings.py --before be40ffc   # and the layer of a commit

Each case runs in its own subprocess and data directory (the harness), on the harness's seeded
synthetic rb 1-minute bars, in a 1400x800 window, as `chart.py` measures the chart: a pan frame
is the visible range moved by 3 bars and a synchronous repaint of the chart's viewport, at the
default zoom (200 bars) and zoomed out to all bars; a live update is the last bar changed in
place (`put_bar`) and the layer told (`bars_changed`, as the chart dock does), with and without
the repaint; an append is a new minute. The drawings: every kind in turn, 900 spread over the
whole history, 100 over the last 200 bars (on screen at the default zoom, as a trader's recent
work is), 20 of them ending past the last bar (the ones a new bar can move). "remap" is the
cost of mapping all their anchors again (a new history or a change of the book). With
`--before REV` the drawings run a second time on the code of REV (its tree exported with git
archive), in the same run: the layer before and after a change, beside the chart with none.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

from chart import APPENDS, PAN_STEP, Ours, live_values
from harness import (ROOT, child_command, child_main, export_tree, load_average, met,
                     profile_text, run_child, scratch, spread, steal_share, synthetic_columns)

CASES = ("none", "drawings", "before")
TARGET_FRAME_MS = 16.0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=100_000, help="history size")
    parser.add_argument("--drawings", type=int, default=1000, help="drawings on the symbol")
    parser.add_argument("--updates", type=int, default=200, help="live updates")
    parser.add_argument("--pans", type=int, default=200, help="pan frames per zoom")
    parser.add_argument("--size", default="1400x800", help="window size, WxH")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the drawings' pans, all bars")
    parser.add_argument("--before", metavar="REV",
                        help="also the drawings on the code of this commit")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    return args


def make_drawings(columns: dict, count: int) -> list:
    """`count` drawings of every kind in turn, seeded: most over the history, a tenth over
    the last 200 bars, a fiftieth reaching past the last bar."""
    import numpy as np

    from terminal.market.drawings import ANCHORS, KINDS, Anchor, new_drawing

    rng = np.random.default_rng(18)
    times, close = columns["datetime"], columns["close_price"]
    bars, minute = len(times), 60_000_000_000
    recent = max(1, count // 10)
    made = []
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        first = int(rng.integers(bars - 200, bars - 20)) if number < recent \
            else int(rng.integers(0, bars - 200))
        spots = sorted(first + int(rng.integers(0, 60)) * k for k in range(ANCHORS[kind]))
        anchors = []
        for k, spot in enumerate(spots):
            beyond = number < count // 50 and k == len(spots) - 1
            at = int(times[-1]) + (spot - bars + 80) * minute if beyond \
                else int(times[min(spot, bars - 1)])
            anchors.append(Anchor(at, float(close[min(spot, bars - 1)]) + float(
                rng.normal(0, 8))))
        made.append(new_drawing(kind, anchors, text="note" if kind == "text" else ""))
    return made


def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, args.tree or str(ROOT))
    from terminal.core import paths

    paths.prepare(Path(args.home))
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    columns = synthetic_columns(args.bars)
    changed, added = live_values(columns, args.updates, APPENDS)
    target = Ours(columns, [0])
    widget, view = target.widget, target.view
    layer = None
    result: dict = {}
    if args.child != "none":
        from terminal.core.timezone import CHINA_TZ
        from terminal.market.bar_positions import NS_PER_MINUTE, BarPositions
        from terminal.market.drawings import Drawings
        from terminal.ui.chart.drawing_layer import DrawingLayer

        book = Drawings(Path(args.home) / "drawings").book("rb2701.SHFE")
        book.add_missing(make_drawings(columns, args.drawings))
        layer = DrawingLayer(BarPositions(widget.series, NS_PER_MINUTE, False, CHINA_TZ))
        widget.price.addItem(layer, ignoreBounds=True)
    widget.resize(args.width, args.height)
    widget.show()
    QTest.qWaitForWindowExposed(widget, 5000)
    target.load()
    if layer is not None:
        start = time.perf_counter()
        layer.show(book, "1m")
        result["show"] = time.perf_counter() - start
        remaps = []
        for _ in range(20):
            start = time.perf_counter()
            layer.remap()
            remaps.append(time.perf_counter() - start)
        result["remap"] = spread(remaps)
    for _ in range(3):
        app.processEvents()

    def apply(item) -> None:
        target.apply(item)
        if layer is not None:
            layer.bars_changed()

    def frames(items: list, act, repaint: bool) -> dict:
        gc.collect()
        times = []
        for item in items:
            app.processEvents()
            start = time.perf_counter()
            act(item)
            if repaint:
                view.repaint()
            times.append(time.perf_counter() - start)
        app.processEvents()
        return spread(times)

    result["repaint"] = frames([None] * args.updates, lambda _: None, repaint=True)
    result["update"] = frames(changed, apply, repaint=False)
    result["update_repaint"] = frames(changed, apply, repaint=True)
    result["append"] = frames(added[:APPENDS // 2], apply, repaint=False)
    result["append_repaint"] = frames(added[APPENDS // 2:], apply, repaint=True)
    steps = [-PAN_STEP] * (args.pans // 2) + [PAN_STEP] * (args.pans - args.pans // 2)
    result["pan"] = frames(steps, target.pan, repaint=True)
    if layer is not None:
        result["hit"] = hits(layer, widget)
    target.zoom_all()
    app.processEvents()
    wide = max(PAN_STEP, args.bars // 500)
    steps_all = [-wide] * (args.pans // 2) + [wide] * (args.pans - args.pans // 2)
    result["pan_all"] = frames(steps_all, target.pan, repaint=True)
    if args.profile and layer is not None:
        import cProfile

        profiler = cProfile.Profile()
        for step in steps_all:
            app.processEvents()
            profiler.enable()
            target.pan(step)
            view.repaint()
            profiler.disable()
        result["profile"] = profile_text(profiler, top=12, cumulative=14)
    return result


def hits(layer, widget, count: int = 200) -> dict:
    """Seconds a hit test takes (what the mouse asks at a press), at seeded points of the
    view: half anywhere, half by an anchor on screen (on a handle or a body, mostly)."""
    import numpy as np

    (left, right), (low, high) = widget.price.getViewBox().viewRange()
    rng = np.random.default_rng(5)
    shown = np.flatnonzero((layer._x >= left) & (layer._x <= right))
    points = [(rng.uniform(left, right), rng.uniform(low, high)) for _ in range(count // 2)]
    points += [(layer._x[anchor] + rng.normal(0, (right - left) / 300),
                layer._prices[anchor] + rng.normal(0, (high - low) / 200))
               for anchor in (rng.choice(shown, count - len(points)) if len(shown) else [])]
    times = []
    for x, y in points:
        start = time.perf_counter()
        layer.hit(float(x), float(y))
        times.append(time.perf_counter() - start)
    return spread(times)


def run_case(case: str, args: argparse.Namespace, tree: Path | None = None) -> dict:
    print(f"running {case} ...", file=sys.stderr, flush=True)
    with scratch(f"bench-drawings-{case}-") as (home, env):
        if tree is not None:
            env["PYTHONPATH"] = str(tree)
        return run_child(child_command(
            __file__, "--child", case, ("--bars", args.bars), ("--drawings", args.drawings),
            ("--updates", args.updates), ("--pans", args.pans), ("--size", args.size),
            ("--home", home), ("--profile", args.profile and case == "drawings"),
            ("--tree", tree)), timeout=3600, env=env)


ROWS = [  # label, key, statistic
    ("repaint alone p50", "repaint", "p50"),
    ("live update, apply p50", "update", "p50"),
    ("live update, apply p99", "update", "p99"),
    ("live update + repaint p50", "update_repaint", "p50"),
    ("live update + repaint p99", "update_repaint", "p99"),
    ("append + repaint p50", "append_repaint", "p50"),
    ("pan frame, default p50", "pan", "p50"),
    ("pan frame, default p99", "pan", "p99"),
    ("pan frame, all bars p50", "pan_all", "p50"),
    ("pan frame, all bars p99", "pan_all", "p99"),
]


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
    with tempfile.TemporaryDirectory(prefix="bench-drawings-before-") as work:
        tree = export_tree(args.before, Path(work)) if args.before else None
        load, started = load_average(), time.perf_counter()
        sys.path.insert(0, str(ROOT))
        from terminal.core.health import host_steal_seconds

        stolen = host_steal_seconds()
        results = {case: run_case(case, args, tree if case == "before" else None)
                   for case in CASES if case != "before" or tree is not None}
        load = f"{load} -> {load_average()}"
        steal = steal_share(stolen, time.perf_counter() - started)
    for case, result in results.items():
        if result.get("error"):
            print(f"{case} failed: {result['error']}")
            return
    none, drawn, before = results["none"], results["drawings"], results.get("before")
    print(f"\n{args.bars:,} bars, {args.drawings:,} drawings; window {args.size}, "
          f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM', 'offscreen')}, "
          f"{os.cpu_count()} CPUs, load average {load}, host steal "
          f"{'?' if steal is None else f'{steal:.1f}%'}; ms")
    heads = f"{'none':>10}" + (f"{'before':>10}" if before else "") + f"{'drawings':>10}"
    print(f"  {'':28}{heads}   ratio" + ("   before ratio" if before else ""))
    for label, key, stat in ROWS:
        a, b = none[key][stat] * 1000, drawn[key][stat] * 1000
        old = f"{before[key][stat] * 1000:10.2f}" if before else ""
        versus = f"   {before[key][stat] * 1000 / a:12.2f}" if before else ""
        print(f"  {label:28}{a:10.2f}{old}{b:10.2f}   {b / a:5.2f}{versus}")
    print(f"  layer shown (map {args.drawings:,}): {drawn['show'] * 1000:.2f} ms; "
          f"remap p50 {drawn['remap']['p50'] * 1000:.2f} ms")
    for label, result in (("before", before), ("now", drawn)):
        if result is not None:
            print(f"  hit test at the default zoom, {label}: p50 "
                  f"{result['hit']['p50'] * 1000:.2f} ms, p99 {result['hit']['p99'] * 1000:.2f} ms")
    worst = max(drawn["pan"]["p99"], drawn["pan_all"]["p99"]) * 1000
    print(f"  pan frame p99 < {TARGET_FRAME_MS:g} ms with {args.drawings:,} drawings: "
          f"{met(worst < TARGET_FRAME_MS)} (worst {worst:.2f} ms)")
    ratio = drawn["update_repaint"]["p50"] / none["update_repaint"]["p50"]
    print(f"  live update + repaint, drawings / none p50: {ratio:.2f}")
    if "profile" in drawn:
        print(f"\ncProfile of the drawings' pans, all bars:\n{drawn['profile']}")


if __name__ == "__main__":
    main()
