"""The line segments of many drawings at once, as numpy rows of x0, y0, x1, y1, and the
drawing each row belongs to: what the drawing layer strokes in one path per style.

The same shapes as `drawing_shapes.shape_segments` draws one drawing at a time (the tools'
preview, the selected drawing, hit testing), made kind by kind over arrays of every anchor, so
a chart of a thousand drawings costs a few numpy calls a frame, not a Python loop per drawing.
Bounded shapes (trend lines, rectangles, channels, fibs) are made once per mapping of the
anchors; lines that reach the edge of the view (rays, extended, horizontal and vertical lines)
are cut to the view at each paint. Nothing here knows Qt: any space whose axes are each an
affine map of the view's (bars and price, or pixels) gives the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EMPTY = np.zeros((0, 4))
NOBODY = np.zeros(0, np.int64)


@dataclass
class Layout:
    """Where each kind's drawings are in the layer's arrays, made when the book changes:
    `rows[kind]` the drawings of that kind, `first[kind]` the index of each one's first anchor
    in the anchor arrays; fib levels flattened (`fib_owner`: the drawing of each level)."""

    rows: dict[str, np.ndarray] = field(default_factory=dict)
    first: dict[str, np.ndarray] = field(default_factory=dict)
    fib_owner: np.ndarray = field(default_factory=lambda: NOBODY)
    fib_first: np.ndarray = field(default_factory=lambda: NOBODY)
    fib_level: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def of(cls, kinds: list[str], starts: np.ndarray,
           levels: dict[int, tuple[float, ...]]) -> Layout:
        """`kinds` of each drawing, `starts` their first anchors (and the end), `levels` each
        fib's levels by drawing."""
        names = np.array(kinds, dtype=object)
        layout = cls()
        for kind in set(kinds):
            rows = np.flatnonzero(names == kind)
            layout.rows[kind], layout.first[kind] = rows, starts[rows]
        fibs = layout.rows.get("fib", NOBODY)
        counts = [len(levels[int(i)]) for i in fibs]
        layout.fib_owner = np.repeat(fibs, counts).astype(np.int64)
        layout.fib_first = starts[layout.fib_owner]
        layout.fib_level = np.fromiter((v for i in fibs for v in levels[int(i)]), np.float64,
                                       sum(counts))
        return layout

    def of_kind(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        return self.rows.get(kind, NOBODY), self.first.get(kind, NOBODY)


def bounded(layout: Layout, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The segments of every trend line, rectangle, channel and fib, from anchors `x`, `y`;
    drawings with an anchor off the chart (not finite) are left out."""
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    rows, first = layout.of_kind("trend")
    parts.append(_pairs(rows, x[first], y[first], x[first + 1], y[first + 1]))
    rows, first = layout.of_kind("rectangle")
    ax, ay, bx, by = x[first], y[first], x[first + 1], y[first + 1]
    parts += [_pairs(rows, ax, ay, bx, ay), _pairs(rows, bx, ay, bx, by),
              _pairs(rows, bx, by, ax, by), _pairs(rows, ax, by, ax, ay)]
    rows, first = layout.of_kind("channel")
    if len(rows):
        ax, ay, bx, by = x[first], y[first], x[first + 1], y[first + 1]
        cx, cy = x[first + 2], y[first + 2]
        upright = bx == ax          # the parallel line then lies beside, through the third
        with np.errstate(divide="ignore", invalid="ignore"):
            y_at_c = ay + (by - ay) * (cx - ax) / (bx - ax)
        shift_x = np.where(upright, cx - ax, 0.0)
        shift_y = np.where(upright, 0.0, cy - y_at_c)
        parts += [_pairs(rows, ax, ay, bx, by),
                  _pairs(rows, ax + shift_x, ay + shift_y, bx + shift_x, by + shift_y),
                  _pairs(rows, ax, ay + shift_y / 2, bx, by + shift_y / 2)]
    if len(layout.fib_owner):
        first = layout.fib_first
        top, bottom = y[first], y[first + 1]
        left, right = np.minimum(x[first], x[first + 1]), np.maximum(x[first], x[first + 1])
        level_y = bottom + (top - bottom) * layout.fib_level
        parts.append(_pairs(layout.fib_owner, left, level_y, right, level_y))
    rows, first = layout.of_kind("fib")
    parts.append(_pairs(rows, x[first], y[first], x[first + 1], y[first + 1]))
    return _joined(parts)


def unbounded(layout: Layout, x: np.ndarray, y: np.ndarray, keep: np.ndarray,
              view: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The segments of the kept rays, extended, horizontal and vertical lines and horizontal
    rays, cut to `view` (left, right, low, high: the part of the plane shown)."""
    left, right, low, high = view
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    rows, first = _kept(layout, "hline", keep)
    level = y[first]
    parts.append(_pairs(rows, np.full(len(rows), left), level, np.full(len(rows), right),
                        level))
    rows, first = _kept(layout, "hray", keep)
    ax, level = x[first], y[first]
    parts.append(_pairs(rows, ax, level, np.maximum(right, ax), level))
    rows, first = _kept(layout, "vline", keep)
    ax = x[first]
    parts.append(_pairs(rows, ax, np.full(len(rows), low), ax, np.full(len(rows), high)))
    for kind in ("ray", "extended"):
        rows, first = _kept(layout, kind, keep)
        parts.append(_cut(rows, x[first], y[first], x[first + 1], y[first + 1],
                          kind == "ray", view))
    return _joined(parts)


def _cut(rows: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray,
         ray: bool, view: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The part inside `view` of each line through a and b (from a on, for a ray): where the
    line's parameter lies inside the view on both axes (Liang-Barsky). A line whose two
    anchors coincide has no direction and no segment."""
    left, right, low, high = view
    dx, dy = bx - ax, by - ay
    start = np.full(len(rows), 0.0 if ray else -np.inf)
    stop = np.full(len(rows), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for origin, step, lower, upper in ((ax, dx, left, right), (ay, dy, low, high)):
            to_lower, to_upper = (lower - origin) / step, (upper - origin) / step
            inside = (origin >= lower) & (origin <= upper)
            moving = step != 0
            start = np.maximum(start, np.where(moving, np.minimum(to_lower, to_upper),
                                               np.where(inside, -np.inf, np.inf)))
            stop = np.minimum(stop, np.where(moving, np.maximum(to_lower, to_upper),
                                             np.where(inside, np.inf, -np.inf)))
    shown = np.isfinite(start) & np.isfinite(stop) & (start <= stop)
    start, stop, ax, ay, dx, dy = (v[shown] for v in (start, stop, ax, ay, dx, dy))
    return _pairs(rows[shown], ax + dx * start, ay + dy * start, ax + dx * stop,
                  ay + dy * stop)


def _kept(layout: Layout, kind: str, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, first = layout.of_kind(kind)
    chosen = keep[rows]
    return rows[chosen], first[chosen]


def _pairs(rows: np.ndarray, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray,
           y1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    segments = np.column_stack([x0, y0, x1, y1]) if len(rows) else EMPTY
    return segments, rows


def _joined(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """All parts' rows in one array, without the ones that are not finite."""
    parts = [part for part in parts if len(part[1])]
    if not parts:
        return EMPTY, NOBODY
    segments = np.concatenate([segments for segments, _ in parts])
    owners = np.concatenate([owners for _, owners in parts]).astype(np.int64)
    finite = np.isfinite(segments).all(axis=1)
    return segments[finite], owners[finite]
