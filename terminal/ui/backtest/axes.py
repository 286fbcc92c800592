"""Axes of the workbench's plots: trading days side by side (`DayAxis`) and money read as
money (`MoneyAxis`: 1,020,000, never pyqtgraph's 1.02e+06 or an SI prefix)."""

from __future__ import annotations

import math

import pyqtgraph as pg

from terminal.core.money import money_text


class DayAxis(pg.AxisItem):
    """Trading days side by side: x is the day's position, labels are its date."""

    def __init__(self) -> None:
        super().__init__(orientation="bottom")
        self.days: list[str] = []

    def tickStrings(self, values, scale, spacing):
        out = []
        for value in values:
            index = int(round(value))  # noqa: RUF046 - pyqtgraph may pass numpy floats
            out.append(self.days[index] if 0 <= index < len(self.days)
                       and abs(value - index) < 1e-6 else "")
        return out

    def tickValues(self, minVal, maxVal, size):
        count = len(self.days)
        if not count or size <= 0:
            return []
        wanted = max(1.0, (maxVal - minVal) * 90 / size)
        step = 1
        while step < wanted:
            step *= 2
        first = max(0, int(math.ceil(max(minVal, 0) / step)) * step)  # noqa: RUF046 - as above
        last = min(count - 1, int(maxVal))
        return [(step, list(range(first, last + 1, step)))]


class MoneyAxis(pg.AxisItem):
    """A value axis in money: thousands separators, no exponent, no SI prefix."""

    def __init__(self, orientation: str = "left") -> None:
        super().__init__(orientation=orientation)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values, scale, spacing):
        return [money_text(value * scale, spacing * scale) for value in values]
