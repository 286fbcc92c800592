"""One symbol's price alerts, arranged so that a tick costs a few binary searches however many
alerts the symbol has.

Prices are counted in ticks of the contract (integers), so equality on the tick grid is exact.
The lines of the armed alerts are kept sorted: the alerts a move from the previous last price
`q` to the new one `p` crosses are the lines between them, found by bisection (a rise crosses
the lines in (q, p], a fall those in [p, q)), and a price that did not move can only touch the
lines equal to it. An every-time alert that fired waits for the price to move its re-arm
distance away from its line: its two thresholds are kept sorted too, so a tick looks only at
the lowest upper one and the highest lower one.

The lines of a trend line, ray or extended line move with time: `refresh` computes every
line of the symbol again (at the first tick of another minute, later or earlier, or when an
alert changes), and reports the alerts a line crossed by moving past a still price. Time that
goes back (a replay sought back) forgets the last price: no crossing is inferred across it.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from terminal.core.timezone import to_ns
from terminal.market.price_alerts import CROSS_DOWN, CROSS_UP, TOUCH, PriceAlert

NS_PER_MINUTE = 60_000_000_000
UP, DOWN, AT = 1, -1, 0           # which way the price went relative to a line

# Which conditions a move fires.
FIRES = {UP: (CROSS_UP, TOUCH), DOWN: (CROSS_DOWN, TOUCH), AT: (TOUCH,)}


def in_ticks(price: float, tick: float) -> int:
    return round(price / tick)


class AlertWatch:
    """The enabled alerts of one symbol, as sorted line prices in ticks."""

    def __init__(self, tick: float, minutes: Callable[[int, int], float]) -> None:
        self.tick = tick
        self.minutes = minutes                 # trading minutes from a to b (ns), signed
        self.alerts: dict[str, PriceAlert] = {}
        self.last: int | None = None           # the last price seen, in ticks
        self.minute_ns: int | None = None      # start of the minute the lines are for
        # the minute of the last tick, [minute_start, refresh_at): a tick outside it prices
        # the lines that depend on time again
        self.minute_start: datetime | None = None
        self.refresh_at: datetime | None = None
        self.timed = False             # some line depends on time
        self.lines: dict[str, int] = {}        # alert id -> its line now, in ticks
        self.unwatched: dict[str, str] = {}    # alert id -> why its line cannot be computed
        self.broken: dict[str, str] = {}       # ... and why it never will: for the book to
                                               # disable (taken by it)
        self._levels: list[tuple[int, str]] = []   # armed alerts' (line, id), sorted
        self._lows: list[tuple[int, str]] = []     # waiting alerts' lower re-arm thresholds
        self._highs: list[tuple[int, str]] = []    # ... and upper ones

    def set_alerts(self, alerts: Iterable[PriceAlert]) -> None:
        """The symbol's alerts as they are now (the disabled ones are left out); the lines are
        computed for the current minute (moving ones wait for a tick when none came yet)."""
        self.alerts = {a.id: a for a in alerts if a.enabled}
        self.timed = any(a.timed for a in self.alerts.values())
        self.lines = self._lines(self.minute_ns)
        self._arrange()

    def check(self, price: float, when: datetime) -> list[tuple[str, int | None]]:
        """(alert id, its line in ticks) of each alert the new last price, traded at `when`,
        fires, and (alert id, None) of each waiting alert it re-arms."""
        now = in_ticks(price, self.tick)
        events: list[tuple[str, int | None]] = []
        if self.refresh_at is None or when >= self.refresh_at or when < self.minute_start:
            events += self._new_minute(when)
        before, self.last = self.last, now
        levels = self._levels
        if levels:
            if before is None or now == before:
                direction, first = AT, bisect_left(levels, (now, ""))
                last = bisect_right(levels, (now, "\uffff"))
            elif now > before:
                direction, first = UP, bisect_right(levels, (before, "\uffff"))
                last = bisect_right(levels, (now, "\uffff"))
            else:
                direction, first = DOWN, bisect_left(levels, (now, ""))
                last = bisect_left(levels, (before, ""))
            if first < last:
                fires = FIRES[direction]
                # an alert its moving line fired above does not fire again at this tick
                done = {alert_id for alert_id, _line in events} if events else ()
                events += [(alert_id, line) for line, alert_id in levels[first:last]
                           if self.alerts[alert_id].condition in fires
                           and alert_id not in done]
        if self._lows and now <= self._lows[-1][0]:
            events += [(alert_id, None) for line, alert_id in self._lows if now <= line]
        if self._highs and now >= self._highs[0][0]:
            events += [(alert_id, None) for line, alert_id in self._highs if now >= line]
        return events

    def _new_minute(self, when: datetime) -> list[tuple[str, int | None]]:
        """The first tick of another minute than the last one's, later or (a replay sought
        back) earlier: the moving lines priced for it; after a jump back the last price is
        forgotten, so no crossing is inferred across the jump."""
        if self.minute_start is not None and when < self.minute_start:
            self.last = None
        # China time is a whole number of hours from UTC: its minutes are UTC's
        self.minute_start = when.replace(second=0, microsecond=0)
        self.refresh_at = self.minute_start + timedelta(minutes=1)
        moment = to_ns(when)
        if self.timed:
            return self.refresh(moment)
        self.minute_ns = moment - moment % NS_PER_MINUTE   # where lines added later start
        return []

    def refresh(self, moment: int) -> list[tuple[str, int | None]]:
        """Compute the lines for the minute holding `moment`; the armed alerts whose moving
        line passed the last price on the way (as `check` reports them)."""
        minute = moment - moment % NS_PER_MINUTE
        if minute == self.minute_ns:
            return []
        old, self.minute_ns = self.lines, minute
        self.lines = {alert_id: line for alert_id, line in old.items()
                      if not self.alerts[alert_id].timed}     # levels stay where they are
        self.lines.update(self._lines(minute, timed_only=True))
        events: list[tuple[str, int | None]] = []
        price = self.last
        if price is not None:
            for alert_id, line in self.lines.items():
                alert, was = self.alerts[alert_id], old.get(alert_id)
                if not alert.moving or not alert.armed or was is None or was == line:
                    continue
                # the price relative to the line: below (-1), on it (0), above (1)
                side_before = (price > was) - (price < was)
                side_now = (price > line) - (price < line)
                if side_before < 0 <= side_now:
                    direction = UP
                elif side_before > 0 >= side_now:
                    direction = DOWN
                else:
                    continue
                if alert.condition in FIRES[direction]:
                    events.append((alert_id, line))
        self._arrange()
        return events

    def _lines(self, minute: int | None, timed_only: bool = False) -> dict[str, int]:
        """The lines at `minute` of every alert (`timed_only`: of those whose line depends
        on time)."""
        lines = {}
        if not timed_only:
            self.unwatched = {}
        for alert in self.alerts.values():
            if not alert.timed and timed_only:
                continue
            if alert.timed and minute is None:
                continue                   # no tick yet: no time to put the line at
            try:
                price = alert.line_at(minute or 0, self.minutes)
            except ValueError as exc:      # the product's sessions are not known
                self.unwatched[alert.id] = str(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - the book disables that alert, the others go on
                self.broken[alert.id] = f"its line cannot be priced ({type(exc).__name__}: {exc})"
                continue
            if price is None:
                continue
            if not math.isfinite(price):
                self.broken[alert.id] = f"its line cannot be priced ({price} at this time)"
                continue
            lines[alert.id] = in_ticks(price, self.tick)
        return lines

    def update(self, alerts: Iterable[PriceAlert]) -> None:
        """Alerts whose state changed but not their line (fired, re-armed): arranged again
        without computing the lines."""
        for alert in alerts:
            if alert.enabled:
                self.alerts[alert.id] = alert
            else:
                self.alerts.pop(alert.id, None)
                self.lines.pop(alert.id, None)
        self._arrange()

    def _arrange(self) -> None:
        levels, lows, highs = [], [], []
        for alert_id, line in self.lines.items():
            alert = self.alerts[alert_id]
            if alert.armed:
                levels.append((line, alert_id))
            else:
                distance = max(1, in_ticks(alert.rearm, self.tick))
                lows.append((line - distance, alert_id))
                highs.append((line + distance, alert_id))
        self._levels, self._lows, self._highs = sorted(levels), sorted(lows), sorted(highs)
