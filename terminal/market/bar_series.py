"""The bars a chart shows, as growable numpy columns.

A chart of a million bars must take a live update in constant time: the columns have spare
capacity (doubling when full), the bar in progress is overwritten in place, and views are
slices, never copies. X on the chart is the bar's position, so nights, lunch breaks and
weekends take no room.
"""

from __future__ import annotations

import numpy as np

FIELDS = ("open_price", "high_price", "low_price", "close_price", "volume", "turnover",
          "open_interest")


class BarSeries:
    def __init__(self, capacity: int = 1024) -> None:
        self._times = np.zeros(capacity, np.int64)
        self._values = {name: np.zeros(capacity) for name in FIELDS}
        self.count = 0

    def __len__(self) -> int:
        return self.count

    @property
    def times(self) -> np.ndarray:
        """Start of each bar, ns since the epoch."""
        return self._times[:self.count]

    def column(self, name: str) -> np.ndarray:
        return self._values[name][:self.count]

    def columns(self) -> dict[str, np.ndarray]:
        return {"datetime": self.times, **{name: self.column(name) for name in FIELDS}}

    def replace(self, columns: dict[str, np.ndarray]) -> None:
        """All bars at once (history), in time order."""
        times = np.asarray(columns["datetime"], np.int64)
        self.count = 0
        self._reserve(len(times) + 1024)
        self._times[:len(times)] = times
        for name in FIELDS:
            values = columns.get(name)
            self._values[name][:len(times)] = 0.0 if values is None else values
        self.count = len(times)

    def put(self, time_ns: int, values: dict[str, float]) -> str:
        """A bar from a live feed: the last bar updated in place when it has the same start,
        a new bar appended when it is later. Returns "updated", "appended" or "stale"."""
        if self.count and time_ns < self._times[self.count - 1]:
            return "stale"
        if self.count and time_ns == self._times[self.count - 1]:
            index, outcome = self.count - 1, "updated"
        else:
            self._reserve(self.count + 1)
            index, outcome = self.count, "appended"
            self._times[index] = time_ns
            self.count += 1
        for name in FIELDS:
            self._values[name][index] = values.get(name, 0.0)
        return outcome

    def index_at_or_before(self, time_ns: int) -> int:
        """Position of the bar holding `time_ns` (-1 before the first)."""
        return int(np.searchsorted(self.times, time_ns, "right")) - 1

    def _reserve(self, size: int) -> None:
        if size <= len(self._times):
            return
        capacity = max(size, 2 * len(self._times))
        times = np.zeros(capacity, np.int64)
        times[:self.count] = self._times[:self.count]
        self._times = times
        for name in FIELDS:
            grown = np.zeros(capacity)
            grown[:self.count] = self._values[name][:self.count]
            self._values[name] = grown
