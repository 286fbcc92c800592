"""Every symbol's price alerts: listed, changed by the trader, checked at each tick, kept.

`on_tick` runs on the event thread for every tick of every symbol. A symbol with no enabled
alert costs one dict lookup; one with alerts costs a few binary searches however many it has
(`market.alert_watch`), and never more for the alerts of other symbols. Changes come from the
GUI thread (the trader, the drawings followed); one lock keeps the two apart.

After every change (the trader's, or an alert firing) the whole list is handed to `save`, in
the order the changes were made, and listeners are told the symbol. A firing is handed to
`on_fire`, which publishes it. Where the alerts of a drawing go when it is deleted: they stay
in the list, disabled, with the reason `LINE_DELETED` (the trader sees what is no longer
watched, and deletes it); if the drawing comes back (undo), they follow it and are enabled
again.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial

from terminal.core.timezone import CHINA_TZ
from terminal.market.alert_watch import AlertWatch
from terminal.market.drawings import DrawingBook
from terminal.core.timezone import to_ns
from terminal.market.price_alerts import LINE_DELETED, PriceAlert, PriceAlertError
from terminal.market.trading_minutes import trading_minutes_between

log = logging.getLogger(__name__)

# The grid prices are compared on when the contract's tick is not known: a millionth, so
# prices are compared as they are.
UNKNOWN_TICK = 1e-6

Fire = Callable[[PriceAlert, float, float, datetime], None]   # alert, line, last price, when


class ChangedMeanwhile(PriceAlertError):
    """A change made from a copy of an alert that fired, or was changed, since."""

    def __init__(self, current: PriceAlert, based_on: PriceAlert) -> None:
        self.current = current
        if current.fired_ns != based_on.fired_ns and current.fired_ns:
            when = datetime.fromtimestamp(current.fired_ns / 1e9, CHINA_TZ)
            what = f"it fired at {when:%H:%M:%S} (last {current.fired_price:,g})"
        else:
            what = "it was changed"
        super().__init__(f"changed meanwhile: {what}; your change was not kept. It is "
                         f"shown as it is now: change it again if you still want to.")


class PriceAlerts:
    def __init__(self, alerts: Iterable[PriceAlert] = (), *,
                 pricetick: Callable[[str], float | None] = lambda vt_symbol: None,
                 minutes: Callable[[str, int, int], float] = trading_minutes_between,
                 save: Callable[[list[PriceAlert]], None] = lambda alerts: None,
                 close: Callable[[], None] = lambda: None,
                 on_fire: Fire | None = None,
                 last_price: Callable[[str], float | None] = lambda vt_symbol: None,
                 refused: str = "") -> None:
        """`last_price(vt_symbol)`: the last traded price known before the symbol's first
        alert, so the first tick after it can cross (the gateway's latest tick).
        `refused`: why the book takes no change ("" when it does): its file is of a newer
        format, not read and not to be written over.
        `save(alerts)` must return quickly (it runs on the event thread when an alert fires):
        it hands the list to a writer; `close()` waits until that writer wrote the last."""
        self._pricetick = pricetick
        self._last_price = last_price
        self._minutes = minutes
        self._save = save
        self._close = close
        self.refused = refused
        self._on_fire = on_fire
        self._alerts: dict[str, PriceAlert] = {}
        self._watches: dict[str, AlertWatch] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.RLock()
        self._save_lock = threading.Lock()
        for alert in alerts:
            if alert.id in self._alerts:
                raise PriceAlertError(f"id: {alert.id} is there twice")
            self._alerts[alert.id] = alert
        for vt_symbol in {alert.vt_symbol for alert in self._alerts.values()}:
            self._rebuild(vt_symbol)

    # ------------------------------------------------------------------ reading
    def alerts(self, vt_symbol: str | None = None) -> list[PriceAlert]:
        """In the order they were made."""
        with self._lock:
            return [a for a in self._alerts.values()
                    if vt_symbol is None or a.vt_symbol == vt_symbol]

    def get(self, alert_id: str) -> PriceAlert | None:
        return self._alerts.get(alert_id)

    def __len__(self) -> int:
        return len(self._alerts)

    def drawing_ids(self, vt_symbol: str) -> set[str]:
        """The drawings of the symbol that carry an enabled alert (they show a bell)."""
        with self._lock:
            return {a.drawing_id for a in self._alerts.values()
                    if a.vt_symbol == vt_symbol and a.drawing is not None and a.enabled}

    def line_now(self, alert_id: str) -> float | None:
        """The price the alert watches now (at the minute of the symbol's last tick); None when
        its line is not there now, or not known before a tick came."""
        with self._lock:
            alert = self._alerts.get(alert_id)
            watch = None if alert is None else self._watches.get(alert.vt_symbol)
            if watch is None or alert_id not in watch.lines:
                return None
            return watch.lines[alert_id] * watch.tick

    def last_price(self, vt_symbol: str) -> float | None:
        with self._lock:
            watch = self._watches.get(vt_symbol)
            return None if watch is None or watch.last is None else watch.last * watch.tick

    def pricetick(self, vt_symbol: str) -> float:
        return self._pricetick(vt_symbol) or UNKNOWN_TICK

    # ------------------------------------------------------------------ changes
    def add(self, alert: PriceAlert) -> None:
        self._require_changeable()
        with self._lock:
            if alert.id in self._alerts:
                raise PriceAlertError(f"id: {alert.id} is there already")
            self._alerts[alert.id] = alert
            self._rebuild(alert.vt_symbol)
        self._changed(alert.vt_symbol)

    def replace(self, alert: PriceAlert, based_on: PriceAlert | None = None) -> None:
        """Same id, changed by the trader (`PriceAlert.edited`). `based_on`: the alert the
        change was made from; when the alert is no longer that one (it fired, or was changed,
        meanwhile) nothing is changed and `ChangedMeanwhile` says what happened, so a firing
        is never overwritten by an edit made from an older copy."""
        self._require_changeable()
        with self._lock:
            before = self._alerts.get(alert.id)
            if before is None:
                raise PriceAlertError(f"id: no alert {alert.id}")
            if based_on is not None and before != based_on:
                raise ChangedMeanwhile(before, based_on)
            if before.vt_symbol != alert.vt_symbol:
                raise PriceAlertError(f"vt_symbol: an alert stays on {before.vt_symbol}")
            if alert.enabled and before.reason == LINE_DELETED:
                raise PriceAlertError("enabled: its line was deleted; there is nothing to "
                                      "watch")
            if before == alert:
                return
            self._alerts[alert.id] = alert
            self._rebuild(alert.vt_symbol)
        self._changed(alert.vt_symbol)

    def remove(self, alert_id: str) -> None:
        self._require_changeable()
        with self._lock:
            alert = self._alerts.pop(alert_id, None)
            if alert is None:
                raise PriceAlertError(f"id: no alert {alert_id}")
            self._rebuild(alert.vt_symbol)
        self._changed(alert.vt_symbol)

    def set_enabled(self, alert_id: str, enabled: bool) -> PriceAlert:
        with self._lock:
            alert = self._alerts.get(alert_id)
        if alert is None:
            raise PriceAlertError(f"id: no alert {alert_id}")
        changed = alert.edited(enabled=enabled)
        self.replace(changed, based_on=alert)
        return changed

    def follow(self, vt_symbol: str, book: DrawingBook) -> None:
        """The alerts on the symbol's drawings after the drawings changed: each copies its
        drawing's geometry; a deleted drawing's enabled alerts are disabled (`LINE_DELETED`),
        and enabled again if the drawing comes back."""
        with self._lock:
            changes = []
            for alert in self._alerts.values():
                if alert.vt_symbol != vt_symbol or alert.drawing is None:
                    continue
                drawing = book.get(alert.drawing_id)
                if drawing is None:
                    if alert.enabled:
                        changes.append(replace(alert, enabled=False, reason=LINE_DELETED))
                elif drawing != alert.drawing or alert.reason == LINE_DELETED:
                    moved = alert.edited(drawing=drawing)
                    if alert.reason == LINE_DELETED:
                        moved = replace(moved, enabled=True, reason="")
                    changes.append(moved)
            if not changes:
                return
            for alert in changes:
                self._alerts[alert.id] = alert
            self._rebuild(vt_symbol)
        self._changed(vt_symbol)

    def listen(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """`callback(vt_symbol)` after every change, on the thread that made it (an alert
        firing: the event thread); returns the function that stops it."""
        self._listeners.append(callback)

        def unlisten() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)
        return unlisten

    def close(self) -> None:
        """The last change on disk when this returns (once the event thread stopped)."""
        self._close()

    # ------------------------------------------------------------------ the tick
    def on_tick(self, tick) -> None:
        """Check the symbol's alerts against the tick's last price (event thread)."""
        watch = self._watches.get(tick.vt_symbol)
        if watch is None:
            return
        price = tick.last_price
        if not price or math.isnan(price):       # no trade yet (0), or not a number
            return
        with self._lock:
            if self._watches.get(tick.vt_symbol) is not watch:
                return                            # changed meanwhile
            events = watch.check(price, tick.datetime)
            if watch.broken:
                self._disable_broken(tick.vt_symbol, watch)
            elif not events:
                return
            fired = self._apply(watch, tick.vt_symbol, events, price, tick.datetime)
        self._changed(tick.vt_symbol)
        for alert, line in fired:
            self._fire(alert, line, price, tick.datetime)

    def _apply(self, watch: AlertWatch, vt_symbol: str, events, price: float,
               when: datetime) -> list[tuple[PriceAlert, float]]:
        fired, changed = [], []
        moment = to_ns(when)
        for alert_id, line in events:
            alert = self._alerts[alert_id]
            if not alert.enabled:
                continue                  # its line could not be priced: disabled above
            if line is None:
                alert = replace(alert, armed=True)
            else:
                alert = alert.fired(moment, price)
                fired.append((alert, line * watch.tick))
            self._alerts[alert_id] = alert
            changed.append(alert)
        watch.update(changed)
        if not watch.alerts:
            self._watches.pop(vt_symbol, None)
        return fired

    def _disable_broken(self, vt_symbol: str, watch: AlertWatch) -> None:
        """The alerts whose line cannot be priced (a drawing damaged beyond what its checks
        catch): disabled with the reason, once, so the symbol's other alerts go on being
        checked and the trader sees which one is not (under the lock)."""
        broken, watch.broken = watch.broken, {}
        disabled = []
        for alert_id, why in broken.items():
            log.error("price alert %s on %s disabled: %s", alert_id, vt_symbol, why)
            alert = replace(self._alerts[alert_id], enabled=False, reason=why)
            self._alerts[alert_id] = alert
            disabled.append(alert)
        watch.update(disabled)
        if not watch.alerts:
            self._watches.pop(vt_symbol, None)

    def _fire(self, alert: PriceAlert, line: float, price: float, when: datetime) -> None:
        if self._on_fire is None:
            return
        try:
            self._on_fire(alert, line, price, when)
        except Exception:   # a failing publisher never stops the checks
            log.exception("publishing price alert %s failed", alert.id)

    # ------------------------------------------------------------------ inside
    def _require_changeable(self) -> None:
        if self.refused:
            raise PriceAlertError(self.refused)

    def _rebuild(self, vt_symbol: str) -> None:
        """The symbol's watch made again from its alerts (under the lock)."""
        alerts = [a for a in self._alerts.values() if a.vt_symbol == vt_symbol and a.enabled]
        watch = self._watches.get(vt_symbol)
        if not alerts:
            self._watches.pop(vt_symbol, None)
            return
        if watch is None or watch.tick == UNKNOWN_TICK:
            last = self._last_price(vt_symbol) if watch is None or watch.last is None \
                else watch.last * watch.tick
            minute = None if watch is None else watch.minute_ns
            watch = AlertWatch(self.pricetick(vt_symbol), partial(self._minutes, vt_symbol))
            watch.minute_ns = minute
            if last:
                watch.last = round(last / watch.tick)
            self._watches[vt_symbol] = watch
        watch.set_alerts(alerts)
        if watch.broken:
            self._disable_broken(vt_symbol, watch)

    def _changed(self, vt_symbol: str) -> None:
        with self._save_lock:        # saved in the order the changes were made
            with self._lock:
                alerts = list(self._alerts.values())
            try:
                self._save(alerts)
            except Exception:   # the saver reports its own failure; the checks go on
                log.exception("saving the price alerts failed")
        for callback in list(self._listeners):
            try:
                callback(vt_symbol)
            except Exception:   # one failing listener never stops the others
                log.exception("a listener of the price alerts failed on %s", vt_symbol)
