"""A time axis over bar positions: the chart's x is the bar's index, so sessions sit side by
side with no gaps, and the labels read the bar times back."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pyqtgraph as pg

from terminal.market.bar_series import BarSeries

LABEL_PIXELS = 110              # room for one label
NICE_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 480, 1000, 2000, 5000, 10000, 20000,
              50000, 100000, 200000, 500000)


class TimeAxis(pg.AxisItem):
    def __init__(self, series: BarSeries, tz: ZoneInfo, daily: bool = False) -> None:
        super().__init__(orientation="bottom")
        self.series = series
        self.tz = tz
        self.daily = daily

    def tickValues(self, minVal, maxVal, size):
        count = len(self.series)
        if count == 0 or size <= 0:
            return []
        wanted = max(1.0, (maxVal - minVal) * LABEL_PIXELS / size)
        step = next((s for s in NICE_STEPS if s >= wanted), NICE_STEPS[-1])
        first = max(0, int(np.ceil(max(minVal, 0) / step)) * step)
        last = min(count - 1, int(maxVal))
        return [(step, list(range(first, last + 1, step)))]

    def tickStrings(self, values, scale, spacing):
        times = self.series.times
        labels = []
        previous_day = None
        for value in values:
            index = int(value)
            if not 0 <= index < len(times):
                labels.append("")
                continue
            moment = datetime.fromtimestamp(times[index] / 1e9, self.tz)
            if self.daily:
                labels.append(moment.strftime("%Y-%m-%d"))
            elif previous_day != moment.date() or spacing >= 240:
                labels.append(moment.strftime("%m-%d %H:%M"))
            else:
                labels.append(moment.strftime("%H:%M"))
            previous_day = moment.date()
        return labels
