"""Charts for the HTML reports as inline SVG: lines and shaded bands over a money axis,
labelled at steps of 1, 2 or 5 times a power of ten. No script, no font file, no network:
the text of a chart is the same for the same data (coordinates to one decimal)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from terminal.core.money import money_text

WIDTH, HEIGHT = 900, 300
LEFT, RIGHT, TOP, BOTTOM = 100, 20, 28, 40


@dataclass(frozen=True)
class Line:
    values: Sequence[float] | np.ndarray
    colour: str
    label: str
    width: float = 1.5
    fill_to_zero: bool = False


@dataclass(frozen=True)
class Band:
    low: Sequence[float] | np.ndarray
    high: Sequence[float] | np.ndarray
    colour: str
    opacity: float
    label: str


def ticks(low: float, high: float, count: int = 6) -> tuple[list[float], float]:
    """Round values between low and high, about `count` of them, and their step."""
    span = high - low
    if not span > 0:
        span = abs(high) or 1.0
        low, high = low - span / 2, high + span / 2
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.8)
    first = math.ceil(low / step) * step
    values = []
    value = first
    while value <= high + step * 1e-9:
        values.append(round(value / step) * step)
        value += step
    return values, step


def chart(title: str, labels: Sequence[str], lines: Sequence[Line] = (),
          bands: Sequence[Band] = (), width: int = WIDTH, height: int = HEIGHT) -> str:
    """A chart: x is the position in `labels` (days, trades), y is money."""
    count = len(labels)
    arrays = [np.asarray(line.values, float) for line in lines]
    arrays += [np.asarray(b.low, float) for b in bands] + [np.asarray(b.high, float)
                                                           for b in bands]
    finite = np.concatenate([a[np.isfinite(a)] for a in arrays] or [np.zeros(0)])
    parts = [(f'<svg viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'),
             f'<text x="{LEFT}" y="18" class="title">{escape(title)}</text>']
    if count == 0 or finite.size == 0:
        parts.append(f'<text x="{width / 2:.1f}" y="{height / 2:.1f}" text-anchor="middle">'
                     'no data</text></svg>')
        return "".join(parts)
    low, high = float(finite.min()), float(finite.max())
    if any(line.fill_to_zero for line in lines):
        low, high = min(low, 0.0), max(high, 0.0)
    pad = (high - low) * 0.04                   # lines clear of the frame (a drawdown's 0
    zero_top = high == 0.0 and any(line.fill_to_zero for line in lines)   # stays on top)
    low, high = low - pad, high if zero_top else high + pad
    values, step = ticks(low, high)
    inner_w, inner_h = width - LEFT - RIGHT, height - TOP - BOTTOM

    def x_of(index: float) -> float:
        return LEFT + (index / (count - 1) * inner_w if count > 1 else inner_w / 2)

    def y_of(value: float) -> float:
        return TOP + (high - value) / (high - low) * inner_h if high > low else TOP + inner_h / 2

    for value in values:
        y = y_of(value)
        parts.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     'class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(money_text(value, step))}</text>')
    positions = _label_positions(count)
    parts.extend(f'<text x="{x_of(index):.1f}" y="{height - BOTTOM + 16}" '
                 f'text-anchor="{_anchor(index, count)}">{escape(str(labels[index]))}</text>'
                 for index in positions)
    for band in bands:
        low_a, high_a = np.asarray(band.low, float), np.asarray(band.high, float)
        upper = [(x_of(i), y_of(v)) for i, v in enumerate(high_a)]
        lower = [(x_of(i), y_of(v)) for i, v in reversed(list(enumerate(low_a)))]
        parts.append(f'<polygon points="{_points(upper + lower)}" fill="{band.colour}" '
                     f'fill-opacity="{band.opacity}" stroke="none"><title>{escape(band.label)}'
                     '</title></polygon>')
    for line, array in zip(lines, arrays, strict=False):
        points = [(x_of(i), y_of(v)) for i, v in enumerate(array) if math.isfinite(v)]
        if line.fill_to_zero and points:
            zero = y_of(0.0)
            area = [(points[0][0], zero), *points, (points[-1][0], zero)]
            parts.append(f'<polygon points="{_points(area)}" fill="{line.colour}" '
                         'fill-opacity="0.3" stroke="none"/>')
        parts.append(f'<polyline points="{_points(points)}" fill="none" '
                     f'stroke="{line.colour}" stroke-width="{line.width}">'
                     f'<title>{escape(line.label)}</title></polyline>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" '
                 'class="frame"/>')
    parts.append(_legend([(b.colour, b.opacity, b.label) for b in bands]
                         + [(line.colour, 1.0, line.label) for line in lines], width))
    parts.append("</svg>")
    return "".join(parts)


def _anchor(index: int, count: int) -> str:
    """The first label starts at its point and the last ends there: both stay inside."""
    if count > 1 and index == 0:
        return "start"
    return "end" if count > 1 and index == count - 1 else "middle"


def _label_positions(count: int, wanted: int = 6) -> list[int]:
    if count <= wanted:
        return list(range(count))
    return sorted({round(i * (count - 1) / (wanted - 1)) for i in range(wanted)})


def _points(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def _legend(entries: list[tuple[str, float, str]], width: int) -> str:
    parts, x = [], width - RIGHT
    for colour, opacity, label in reversed(entries):
        text = escape(label)
        x -= 7 * len(label) + 24
        parts.append(f'<rect x="{x}" y="9" width="12" height="8" fill="{colour}" '
                     f'fill-opacity="{opacity}"/><text x="{x + 16}" y="17">{text}</text>')
    return "".join(parts)
