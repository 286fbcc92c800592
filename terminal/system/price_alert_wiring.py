"""The price alerts put together for the runtime: read from the data directory, checked on the
event thread at every tick, following the trader's drawings, published as alerts when they
fire, saved after every change (on a thread of their own: `Saver`).

A firing is an `Alert` (rule `price_alert`, severity info) on the event engine: the journal
keeps it and the Alerts dock shows it, with a sound and a tray message. Alerts that could not
be read at start, or cannot be saved, are said in a severe alert: the trader is told what is
not being watched.
"""

from __future__ import annotations

import functools
import logging
import threading
from datetime import datetime

from vnpy.event import Event
from vnpy.trader.event import EVENT_TICK

from terminal.core.alerts import EVENT_ALERT, INFO, SEVERE, Alert
from terminal.core.kernel import Kernel
from terminal.core.paths import DataPaths
from terminal.core.symbols import BadSymbol, split_vt_symbol
from terminal.core.timezone import CHINA_TZ
from terminal.market import contracts, price_alert_file
from terminal.market.alert_book import PriceAlerts
from terminal.market.drawings import Drawings
from terminal.market.price_alerts import (ALERT_RULE, CONDITIONS, EVENT_PRICE_ALERTS, KIND_LABELS,
                                          PriceAlert)
from terminal.market.prices import price_decimals
from terminal.market.trading import Trading

log = logging.getLogger(__name__)

PROBLEM_RULE = "price_alerts"


def build_price_alerts(kernel: Kernel, paths: DataPaths, trading: Trading,
                       drawings: Drawings) -> tuple[PriceAlerts, list[Alert]]:
    """The alerts, checking ticks from now on; and the alerts to raise about them at start
    (a file that could not be read)."""
    path = paths.price_alerts_file
    refused = ""
    try:
        alerts, problem = price_alert_file.read(path)
    except price_alert_file.NewerFormat as exc:
        alerts, problem = [], str(exc)
        refused = (f"the price alerts file ({path.name}) is of a newer version of the "
                   f"terminal: no alert can be set or changed until it is dealt with")
    startup = [Alert(datetime.now(CHINA_TZ), SEVERE, PROBLEM_RULE, "", problem)] if problem \
        else []
    engine = kernel.event_engine
    saver = Saver(path, engine)
    book = PriceAlerts(alerts, pricetick=functools.partial(pricetick, trading),
                       save=saver, close=saver.close,
                       on_fire=functools.partial(publish, engine, trading),
                       last_price=functools.partial(last_price, trading), refused=refused)
    engine.register(EVENT_TICK, lambda event: book.on_tick(event.data))
    # A change, from the event thread (a firing) or the GUI (an edit), reaches the views the
    # way every engine event does: through the bridge, the latest per symbol.
    book.listen(lambda vt_symbol: engine.put(Event(EVENT_PRICE_ALERTS, vt_symbol)))
    kernel.bridge.route_latest(EVENT_PRICE_ALERTS, str)
    for vt_symbol in {alert.vt_symbol for alert in alerts if alert.drawing is not None}:
        book.follow(vt_symbol, drawings.book(vt_symbol))   # changed while the terminal was off
    drawings.listen(book.follow)
    return book, startup


def pricetick(trading: Trading, vt_symbol: str) -> float | None:
    """The contract's tick: the gateway's contract, else the product's specification."""
    contract = trading.contract(vt_symbol)
    if contract is not None and contract.pricetick > 0:
        return contract.pricetick
    try:
        symbol, exchange = split_vt_symbol(vt_symbol)
        return contracts.spec_for(symbol, exchange, 1.0).pricetick
    except (BadSymbol, KeyError):
        return None


def last_price(trading: Trading, vt_symbol: str) -> float | None:
    tick = trading.main_engine.get_tick(vt_symbol)
    return tick.last_price if tick is not None else None


def fired_message(alert: PriceAlert, line: float, price: float, tick: float) -> str:
    """"rb2701.SHFE crossed up 3,650 (trend line), last 3,651: note"."""
    digits = price_decimals(tick)
    text = (f"{alert.vt_symbol} {CONDITIONS[alert.condition]} {line:,.{digits}f} "
            f"({KIND_LABELS[alert.kind]}), last {price:,.{digits}f}")
    return f"{text}: {alert.note}" if alert.note else text


def publish(engine, trading: Trading, alert: PriceAlert, line: float, price: float,
            when: datetime) -> None:
    """The firing as an alert on the event engine (journalled, shown, sounded), stamped
    with the tick's time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=CHINA_TZ)
    tick = pricetick(trading, alert.vt_symbol) or 0.0
    engine.put(Event(EVENT_ALERT, Alert(when, INFO, ALERT_RULE, alert.vt_symbol,
                                        fired_message(alert, line, price, tick))))


class Saver:
    """Writes the alerts' file on a thread of its own, so that a firing never waits for the
    disk on the event thread (nor a change on the GUI thread). Each change hands over the
    whole list and only the newest is kept: the writer writes the latest it has, and the
    changes made while it writes are written together next. A write that fails is a severe
    alert, once until one works again (the alerts are still watched, and written with the
    next change). `close` returns once the last list handed over is on disk (or said to have
    failed); a change after it is written at once, on the caller's thread."""

    def __init__(self, path, engine, write=None) -> None:
        self.path = path
        self.engine = engine
        self.failing = False
        self._write = write or price_alert_file.write
        self._pending: list[PriceAlert] | None = None
        self._writing = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()

    def __call__(self, alerts: list[PriceAlert]) -> None:
        with self._cond:
            if not self._closed:
                self._pending = alerts
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, daemon=True,
                                                    name="price-alerts-saver")
                    self._thread.start()
                self._cond.notify_all()
                return
        self._save(alerts)                  # closed: nobody else would write it

    def flush(self) -> None:
        """Wait until the last list handed over is written (or failed)."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending is None and not self._writing)

    def close(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._pending is None and not self._writing)
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None:
                    return                  # closed, everything written
                alerts, self._pending, self._writing = self._pending, None, True
            try:
                self._save(alerts)
            finally:
                with self._cond:
                    self._writing = False
                    self._cond.notify_all()

    def _save(self, alerts: list[PriceAlert]) -> None:
        try:
            self._write(self.path, alerts)
        except OSError as exc:
            log.error("the price alerts could not be saved to %s: %s", self.path, exc)
            if not self.failing:
                self.failing = True
                self.engine.put(Event(EVENT_ALERT, Alert(
                    datetime.now(CHINA_TZ), SEVERE, PROBLEM_RULE, "",
                    f"The price alerts could not be saved to {self.path.name} ({exc}): "
                    f"they are watched now, but a restart would lose the changes.")))
            return
        except Exception:   # a bug in writing never kills the writer: logged, said
            log.exception("saving the price alerts failed")
            return
        self.failing = False
