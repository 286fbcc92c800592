"""Volume profile benchmark: what the profile costs to compute, and what it adds to a chart's
pan frames and live-bar updates, beside the chart without it and the code before it.

Hand-run from the project root (not a test):
    .venv/bin/python benchmarks/bench_volume_profile.py                  # 100k and 1M bars
    .venv/bin/python benchmarks/bench_volume_profile.py --bars 100000 --frames 60   # quick

Compute: `market.volume_profile.build` over N bars (the visible-range profile of N bars on
screen), `by_session` over them (one profile per trading day), and `RangeProfiles` (what the
chart uses: the first range, which lays out its blocks, then a range a pan later), best of
--repeat, in this process.

Frames: each case runs in its own process (the harness's child) with a 1400x800
`ChartWidget` of the harness's synthetic rb 1-minute bars:
- before: the chart at --before (git archive of that revision, first on sys.path), no profile;
- off: this tree's chart with the profile made and off;
- visible / session: the profile on, in that mode.
Frames are paced at 60 a second, as a trader's drag is: each frame handles what is due
(`processEvents`: the profile's paced recomputation runs there when it is due, so its cost is
in the frame it lands in), moves the view by a few bars (or updates the live bar in place) and
repaints the view synchronously; the frame is all of that. Pan frames at the default zoom
(200 bars) and zoomed out to all bars; live frames at the default zoom.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from harness import (ROOT, child_command, child_main, export_tree, load_average, met, run_child,
                     scratch, spread, synthetic_columns)

TARGETS = ("before", "off", "visible", "session")
FRAME_S = 1 / 60
PAN_STEP = 3
TARGET_FRAME_MS, TARGET_BUILD_MS = 16.0, 50.0
BASE = "c58a857"          # main's HEAD when the profile was begun


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--frames", type=int, default=240, help="frames per phase")
    parser.add_argument("--repeat", type=int, default=7, help="compute runs (best taken)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the four cases, interleaved (medians shown)")
    parser.add_argument("--before", default=BASE, help="revision of the code before")
    parser.add_argument("--child", choices=TARGETS, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = [int(s.replace("_", "")) for s in args.bars.split(",") if s.strip()]
    return args


# ---------------------------------------------------------------------------------- compute
def compute(sizes: list[int], repeat: int) -> dict[int, dict]:
    sys.path.insert(0, str(ROOT))
    from terminal.core.timezone import CHINA_TZ
    from terminal.market import volume_profile as vp

    figures = {}
    for count in sizes:
        c = synthetic_columns(count)
        timings = {"build": [], "by_session": [], "ranges_first": [], "ranges": []}
        for _ in range(repeat):
            ranges = vp.RangeProfiles(1.0)
            start = time.perf_counter()
            ranges.profile(c["high_price"], c["low_price"], c["volume"], 0, count)
            timings["ranges_first"].append(time.perf_counter() - start)
            start = time.perf_counter()
            ranges.profile(c["high_price"], c["low_price"], c["volume"], 3, count - 3)
            timings["ranges"].append(time.perf_counter() - start)
            start = time.perf_counter()
            profile = vp.build(c["high_price"], c["low_price"], c["volume"], 1.0)
            timings["build"].append(time.perf_counter() - start)
            start = time.perf_counter()
            found = vp.by_session(c["datetime"], c["high_price"], c["low_price"], c["volume"],
                                  1.0, CHINA_TZ)
            timings["by_session"].append(time.perf_counter() - start)
        figures[count] = {name: min(values) for name, values in timings.items()}
        figures[count].update(rows=profile.rows, ticks=profile.ticks_per_row,
                              sessions=len(found))
    return figures


# ---------------------------------------------------------------------------------- child side
def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, args.tree or str(ROOT))
    from zoneinfo import ZoneInfo

    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    import terminal
    from terminal.ui.chart.widget import ChartWidget

    columns = synthetic_columns(args.count)
    widget = ChartWidget(ZoneInfo("Asia/Shanghai"))
    profile = None
    if args.child != "before":
        from terminal.ui.chart.volume_profile import VolumeProfile

        profile = VolumeProfile(widget, lambda: 1.0, per_second=10)
    widget.resize(1400, 800)
    widget.show()
    QTest.qWaitForWindowExposed(widget, 5000)
    widget.set_history(columns)
    if profile is not None:
        profile.set_mode(args.child)
    for _ in range(5):
        app.processEvents()
    view, box = widget.graphics.viewport(), widget.price.getViewBox()
    computed = [0]
    if profile is not None:
        original = profile._compute

        def counted() -> None:
            computed[0] += 1
            original()

        profile.refresh._timer.timeout.disconnect()
        profile.refresh._timer.timeout.connect(counted)
        from terminal.ui.chart.volume_profile import ProfileItem

        paint = ProfileItem.paint

        def timed_paint(self, *args) -> None:
            start = time.perf_counter()
            paint(self, *args)
            painted.append(time.perf_counter() - start)

        ProfileItem.paint = timed_paint
    painted: list[float] = []

    def frames(acts: list) -> dict:
        times, before = [], computed[0]
        painted.clear()
        slot = time.perf_counter()
        for act in acts:
            slot += FRAME_S
            start = time.perf_counter()
            app.processEvents()
            act()
            view.repaint()
            times.append(time.perf_counter() - start)
            rest = slot - time.perf_counter()
            if rest > 0:
                time.sleep(rest)
            else:
                slot = time.perf_counter()
        for _ in range(3):
            app.processEvents()
        return {**spread(times), "recomputed": computed[0] - before,
                "paint_p50": spread(painted)["p50"] or 0.0}

    def pan(bars: float):
        def act() -> None:
            left, right = box.viewRange()[0]
            box.setXRange(left + bars, right + bars, padding=0)
        return act

    half = args.frames // 2
    result: dict = {"tree": str(Path(terminal.__file__).parents[1])}
    result["pan"] = frames([pan(-PAN_STEP)] * half + [pan(PAN_STEP)] * half)
    last_time = int(columns["datetime"][-1])
    bar = {name: float(columns[name][-1]) for name in
           ("open_price", "high_price", "low_price", "close_price", "volume")}
    updates = []
    for k in range(args.frames):
        close = bar["close_price"] + (k % 5 - 2)
        values = {**bar, "close_price": close, "high_price": max(bar["high_price"], close),
                  "low_price": min(bar["low_price"], close), "volume": bar["volume"] + k}
        updates.append(lambda values=values: widget.put_bar(last_time, values))
    result["live"] = frames(updates)
    box.setXRange(-0.5, len(widget.series) + 2, padding=0)
    for _ in range(3):
        app.processEvents()
    step = max(PAN_STEP, args.count // 500)
    result["pan_all"] = frames([pan(-step)] * half + [pan(step)] * half)
    if profile is not None:
        result["note"] = profile.note
    return result


# ---------------------------------------------------------------------------------- parent side
def run_case(target: str, count: int, args: argparse.Namespace, tree: Path | None) -> dict:
    print(f"running {target} with {count:,} bars ...", file=sys.stderr, flush=True)
    with scratch(f"bench-profile-{target}-") as (_, env):
        return run_child(child_command(__file__, "--child", target, ("--count", count),
                                       ("--frames", args.frames),
                                       ("--tree", tree if target == "before" else None)),
                         timeout=1800, env=env)


def middle(runs: list[dict]) -> dict:
    """Each figure's median over the rounds (an error if any round failed)."""
    import statistics

    failed = next((r for r in runs if r.get("error")), None)
    if failed:
        return failed
    out = dict(runs[0])
    for key in ("pan", "pan_all", "live"):
        out[key] = {stat: statistics.median(r[key][stat] for r in runs)
                    for stat in ("p50", "p99", "max", "recomputed", "paint_p50")}
    return out


ROWS = [("pan frame, default zoom p50", "pan", "p50"),
        ("pan frame, default zoom p99", "pan", "p99"),
        ("pan frame, all bars p50", "pan_all", "p50"),
        ("pan frame, all bars p99", "pan_all", "p99"),
        ("live update frame p50", "live", "p50"),
        ("live update frame p99", "live", "p99"),
        ("profile's own paint p50, pan", "pan", "paint_p50"),
        ("profile's own paint p50, all bars", "pan_all", "paint_p50")]


def show(count: int, results: dict[str, dict]) -> None:
    print(f"\n{count:,} bars (ms; recomputations of the profile in brackets)")
    print(f"  {'':36}" + "".join(f"{t:>16}" for t in TARGETS))
    for label, key, stat in ROWS:
        cells = []
        for target in TARGETS:
            r = results[target]
            if r.get("error"):
                cells.append("error")
                continue
            text = f"{r[key][stat] * 1000:.2f}"
            if target in ("visible", "session") and stat == "p50":
                text += f" [{r[key]['recomputed']:.0f}]"
            cells.append(text)
        print(f"  {label:36}" + "".join(f"{c:>16}" for c in cells))
    for target, r in results.items():
        if r.get("error"):
            print(f"  {target}: {r['error']}")
        elif r.get("note"):
            print(f"  {target}: {r['note']}")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.child:
        child_main(lambda: child(args))
    import os
    import tempfile

    figures = compute(args.sizes, args.repeat)
    print("compute, best of", args.repeat, "(ms):")
    for count, f in figures.items():
        print(f"  {count:>9,} bars: build {f['build'] * 1000:7.2f} ({f['rows']} rows of "
              f"{f['ticks']} ticks), by_session {f['by_session'] * 1000:7.2f} "
              f"({f['sessions']} sessions); RangeProfiles first {f['ranges_first'] * 1000:.2f}"
              f", then a panned range {f['ranges'] * 1000:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-profile-before-") as folder:
        tree = export_tree(args.before, Path(folder), "terminal")
        table = {count: {t: [] for t in TARGETS} for count in args.sizes}
        for _ in range(args.rounds):          # interleaved: a busy spell hits every case
            for count in args.sizes:
                for target in TARGETS:
                    table[count][target].append(run_case(target, count, args, tree))
        table = {count: {t: middle(runs) for t, runs in row.items()}
                 for count, row in table.items()}
    print(f"\nbefore = the chart at {args.before}; off / visible / session = this tree's chart "
          f"with the profile so; 1400x800, {args.frames} frames a phase at 60 a second, "
          f"medians of {args.rounds} interleaved rounds, {os.cpu_count()} CPUs, "
          f"load {load_average()}")
    for count, results in table.items():
        show(count, results)
    print("\ntargets:")
    worst = max(f["build"] for f in figures.values())
    at = max(c for c in figures if c <= 100_000) if any(c <= 100_000 for c in figures) else None
    if at:
        print(f"  build of {at:,} bars < {TARGET_BUILD_MS:g} ms: "
              f"{met(figures[at]['build'] * 1000 < TARGET_BUILD_MS)} "
              f"({figures[at]['build'] * 1000:.2f} ms; largest size {worst * 1000:.1f} ms)")
    for count, results in table.items():
        on = [results[t] for t in ("visible", "session") if not results[t].get("error")]
        if on:
            p99 = max(r[k]["p99"] for r in on for k in ("pan", "pan_all"))
            print(f"  pan frame p99 < {TARGET_FRAME_MS:g} ms with the profile on, {count:,} "
                  f"bars: {met(p99 * 1000 < TARGET_FRAME_MS)} (worst {p99 * 1000:.2f} ms)")


if __name__ == "__main__":
    main()
