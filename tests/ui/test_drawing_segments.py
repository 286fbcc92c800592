"""The drawings' segments made for many drawings at once are the shapes `shape_segments` makes
one drawing at a time (the preview, the selected drawing and hit testing use that one), and
lines to the edge of the view are cut exactly at its edges."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF

from terminal.market.drawings import Anchor, new_drawing
from terminal.ui.chart import drawing_segments
from terminal.ui.chart.drawing_shapes import shape_segments
from terminal.ui.chart.drawing_segments import Layout

VIEW = (0.0, 100.0, 3600.0, 3800.0)          # left, right, low, high


def arrays(drawings):
    """The layer's arrays for `drawings`: layout, anchor X and prices (X = time here)."""
    kinds = [d.kind for d in drawings]
    starts = np.r_[0, np.cumsum([len(d.anchors) for d in drawings])].astype(np.int64)
    levels = {i: d.fib_levels for i, d in enumerate(drawings) if d.kind == "fib"}
    x = np.array([float(a.time_ns) for d in drawings for a in d.anchors])
    y = np.array([a.price for d in drawings for a in d.anchors])
    return Layout.of(kinds, starts, levels), x, y


def one_by_one(drawings):
    view = QRectF(QPointF(VIEW[0], VIEW[2]), QPointF(VIEW[1], VIEW[3]))
    rows = set()
    for index, drawing in enumerate(drawings):
        points = [QPointF(a.time_ns, a.price) for a in drawing.anchors]
        for a, b in shape_segments(drawing, points, view):
            rows.add((index, *np.round([a.x(), a.y(), b.x(), b.y()], 6)))
    return rows


def together(segments, owners):
    return {(int(owner), *np.round(row, 6)) for row, owner in zip(segments, owners,
                                                                  strict=True)}


def test_bounded_shapes_match_the_shapes_of_each_drawing():
    drawings = [
        new_drawing("trend", [Anchor(10, 3700.0), Anchor(30, 3720.0)]),
        new_drawing("rectangle", [Anchor(40, 3710.0), Anchor(20, 3690.0)]),
        new_drawing("channel", [Anchor(10, 3700.0), Anchor(50, 3740.0), Anchor(30, 3690.0)]),
        new_drawing("channel", [Anchor(10, 3700.0), Anchor(10, 3740.0), Anchor(30, 3690.0)]),
        new_drawing("fib", [Anchor(60, 3750.0), Anchor(45, 3700.0)]),
        new_drawing("fib", [Anchor(5, 3650.0), Anchor(25, 3700.0)], levels=(0.0, 0.5, 1.618)),
        new_drawing("text", [Anchor(70, 3705.0)], text="note"),
    ]
    layout, x, y = arrays(drawings)
    segments, owners = drawing_segments.bounded(layout, x, y)
    assert together(segments, owners) == one_by_one(drawings)
    assert len(segments) == 1 + 4 + 3 + 3 + 8 + 4


def test_a_drawing_off_the_chart_has_no_segments():
    drawings = [new_drawing("trend", [Anchor(10, 3700.0), Anchor(30, 3720.0)]),
                new_drawing("fib", [Anchor(60, 3750.0), Anchor(45, 3700.0)])]
    layout, x, y = arrays(drawings)
    x[2] = np.nan                                # no bars yet to place the fib's anchor on
    _, owners = drawing_segments.bounded(layout, x, y)
    assert owners.tolist() == [0]


@pytest.mark.parametrize(("kind", "anchors", "expected"), [
    ("hline", [(50, 3700.0)], (0.0, 3700.0, 100.0, 3700.0)),
    ("hray", [(50, 3700.0)], (50.0, 3700.0, 100.0, 3700.0)),
    ("hray", [(150, 3700.0)], (150.0, 3700.0, 150.0, 3700.0)),    # starts past the view
    ("vline", [(50, 3700.0)], (50.0, 3600.0, 50.0, 3800.0)),
    # through (10, 3700) and (20, 3710): one price a bar
    ("extended", [(10, 3700.0), (20, 3710.0)], (0.0, 3690.0, 100.0, 3790.0)),
    ("ray", [(10, 3700.0), (20, 3710.0)], (10.0, 3700.0, 100.0, 3790.0)),
    ("ray", [(50, 3700.0), (40, 3700.0)], (50.0, 3700.0, 0.0, 3700.0)),     # to the left
    ("ray", [(50, 3700.0), (50, 3650.0)], (50.0, 3700.0, 50.0, 3600.0)),    # straight down
    ("extended", [(50, 3700.0), (60, 4000.0)], (46.66666667, 3600.0, 53.33333333, 3800.0)),
    ("ray", [(50, 3700.0), (40, 3900.0)], (50.0, 3700.0, 45.0, 3800.0)),   # out at the top
])
def test_lines_to_the_edge_are_cut_at_the_view(kind, anchors, expected):
    drawing = new_drawing(kind, [Anchor(t, p) for t, p in anchors])
    layout, x, y = arrays([drawing])
    segments, owners = drawing_segments.unbounded(layout, x, y, np.ones(1, bool), VIEW)
    assert owners.tolist() == [0]
    assert segments[0] == pytest.approx(expected)


@pytest.mark.parametrize(("kind", "anchors", "view"), [
    ("ray", [(50, 3700.0), (50, 3700.0)], VIEW),                 # no direction
    ("extended", [(50, 3700.0), (50, 3700.0)], VIEW),
    ("ray", [(10, 3900.0), (20, 3910.0)], VIEW),                 # above the view, going up
    ("ray", [(50, 3700.0), (40, 3710.0)], (60.0, 100.0, 3600.0, 3800.0)),   # away from it
    # up 15 a bar from (50, 3700): at 3750 only at bar 53.3, past the view's right edge
    ("extended", [(50, 3700.0), (60, 3850.0)], (0.0, 52.0, 3750.0, 3800.0)),
])
def test_lines_that_miss_the_view_have_no_segment(kind, anchors, view):
    drawing = new_drawing(kind, [Anchor(t, p) for t, p in anchors])
    layout, x, y = arrays([drawing])
    segments, owners = drawing_segments.unbounded(layout, x, y, np.ones(1, bool), view)
    assert len(segments) == len(owners) == 0


def test_only_kept_lines_are_cut():
    drawings = [new_drawing("hline", [Anchor(50, 3700.0)]),
                new_drawing("vline", [Anchor(50, 3700.0)]),
                new_drawing("trend", [Anchor(10, 3700.0), Anchor(30, 3720.0)])]
    layout, x, y = arrays(drawings)
    _, owners = drawing_segments.unbounded(layout, x, y, np.array([False, True, True]), VIEW)
    assert owners.tolist() == [1]
