"""Diagnostics of the GUI thread for the benchmarks, each behind a flag (not part of any
figure): what the GUI thread was doing in each stall (`StallSampler`, soak --stalls), a timer
around each GUI entry point that does real work (`EntryPoints`, soak --entry-points), and the
slow Qt events and paints (`slow_event_app`, order_path --slow-events)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from terminal.core.looplag import percentile

STALL = 0.016                  # a loop lag over one frame


class StallSampler(threading.Thread):
    """Diagnostic (--stalls): the GUI thread's Python stack every 2 ms, kept for a minute;
    `report` lists what it was in during the loop lags over one frame."""

    def __init__(self, lag) -> None:
        super().__init__(name="stall-sampler", daemon=True)
        from collections import Counter, deque

        self.lag, self.main = lag, threading.main_thread().ident
        self.samples: deque = deque(maxlen=30_000)
        self.counts: Counter = Counter()
        self.stalls = 0
        self.stop = threading.Event()

    def run(self) -> None:
        names: dict = {}                  # code object -> "file:function" (made once each)
        while not self.stop.wait(0.002):
            frame = sys._current_frames().get(self.main)
            stack = []
            while frame is not None and len(stack) < 40:
                code = frame.f_code
                name = names.get(code)
                if name is None:
                    name = names[code] = f"{Path(code.co_filename).name}:{code.co_name}"
                stack.append(f"{name}:{frame.f_lineno}")
                frame = frame.f_back
            self.samples.append((time.monotonic(), tuple(stack)))

    def collect(self, since: float) -> None:
        """Count the stacks seen inside every lag over 16 ms recorded after `since`. Samples
        are in time order: each lag finds its own by bisection (a scan of every sample for
        every lag ran on the GUI thread for seconds once stalls were many, and made more)."""
        import bisect

        lags = [(moment, lag) for moment, lag in list(self.lag._recent)
                if moment > since and lag > STALL]
        samples = list(self.samples)
        times = [at for at, _ in samples]
        for moment, lag in lags:
            self.stalls += 1
            start = moment - lag - self.lag.interval
            first, end = bisect.bisect_left(times, start), bisect.bisect_right(times, moment)
            for _, stack in samples[first:end]:
                self.counts[self.summary(stack)] += 1

    @staticmethod
    def summary(stack: tuple[str, ...]) -> str:
        skip = ("events.py:_run", "base_events.py", "qasync", "soak.py", "gui_diagnostics.py",
                "<frozen")
        useful = [f for f in stack if not any(s in f for s in skip)]
        return " < ".join(useful[:5]) or (stack[0] if stack else "?")

    def report(self) -> list[str]:
        total = sum(self.counts.values()) or 1
        lines = [(f"stalls over {STALL * 1000:.0f} ms: {self.stalls}; GUI thread stack "
                  f"samples inside them ({total}), most frequent first:")]
        for stack, count in self.counts.most_common(25):
            lines.append(f"  {count * 100 / total:5.1f}%  {stack}")
        return lines


class EntryPoints:
    """Diagnostic (--entry-points): a timer around each GUI entry point that does real work
    (chart paints and live draws, table refreshes and paints, pump drains, the health dock),
    reported as calls a second, mean, p99 and max duration and share of the wall clock; a
    stall is a run of these back to back, so their sizes say what to cut."""

    TARGETS = (
        ("pyqtgraph.widgets.GraphicsView", "GraphicsView", "paintEvent"),
        ("terminal.ui.docks.chart", "ChartDock", "_draw_live"),
        ("terminal.ui.mirror_view", "MirrorTableView", "refresh"),
        ("terminal.ui.table_view", "FastTableView", "paintEvent"),
        ("terminal.ui.pump", "BridgePump", "drain"),
        ("terminal.ui.docks.health", "HealthDock", "refresh"),
    )

    def __init__(self) -> None:
        import importlib

        self.spans: dict[str, list[float]] = {}
        self.started = time.perf_counter()
        for module_name, class_name, method in self.TARGETS:
            cls = getattr(importlib.import_module(module_name), class_name)
            setattr(cls, method, self._timed(getattr(cls, method), f"{class_name}.{method}"))

    def _timed(self, call, name: str):
        spans = self.spans.setdefault(name, [])

        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                spans.append(time.perf_counter() - began)
        return timed

    def report(self) -> list[str]:
        wall = time.perf_counter() - self.started
        lines = ["GUI entry points: calls/s, mean ms, p99 ms, max ms, share of the wall clock"]
        for name, spans in sorted(self.spans.items(), key=lambda item: -sum(item[1])):
            if spans:
                lines.append(f"  {name:28s} {len(spans) / wall:6.1f} "
                             f"{sum(spans) / len(spans) * 1000:6.2f} "
                             f"{percentile(spans, 99) * 1000:6.2f} "
                             f"{max(spans) * 1000:6.2f} {sum(spans) / wall * 100:5.1f}%")
        return lines


def slow_event_app():
    """--slow-events: a QApplication that prints (stderr) every top-level event over 3 ms and
    every widget paint over 1 ms, naming the receiver and its dock."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication, QDockWidget

    class Timed(QApplication):
        depth = 0

        def notify(self, receiver, event):
            Timed.depth += 1
            start = time.perf_counter()
            try:
                return super().notify(receiver, event)
            finally:
                Timed.depth -= 1
                took = (time.perf_counter() - start) * 1000
                paint = event.type() == QEvent.Type.Paint
                if (took > 3 and Timed.depth == 0) or (paint and took > 1):
                    try:
                        name = receiver.objectName() or type(receiver).__name__
                        parent = receiver.parent()
                        if parent is not None:
                            name += " in " + (parent.objectName() or type(parent).__name__)
                        kind = event.type().name
                        widget = receiver
                        while paint and widget is not None and not isinstance(
                                widget, QDockWidget):
                            widget = widget.parent()
                        if paint and widget is not None:
                            name += " of " + widget.objectName()
                    except (RuntimeError, AttributeError):
                        name, kind = "?", "?"
                    print(f"slow event {took:6.1f} ms {kind} -> {name}", file=sys.stderr,
                          flush=True)

    return Timed([sys.argv[0]])


def summarize_slow_events(label: str, stderr: str) -> None:
    """Per kind of event and receiver in a child's `stderr`: how many, total and worst ms."""
    seen: dict[str, list[float]] = {}
    for line in stderr.splitlines():
        if line.startswith("slow event"):
            _, _, took, _, what = line.split(maxsplit=4)
            seen.setdefault(what, []).append(float(took))
    print(f"\nslow GUI events, {label} (whole run, start-up included):", file=sys.stderr)
    for what, took in sorted(seen.items(), key=lambda item: -sum(item[1]))[:15]:
        print(f"  {len(took):5} x, {sum(took):8.1f} ms, worst {max(took):6.1f} ms: {what}",
              file=sys.stderr)
