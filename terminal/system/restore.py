"""What the terminal knew before it stopped: the journal's orders, trades, alerts, positions
and accounts shown again, and what could not be restored said as alerts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from vnpy.event import Event, EventEngine
from vnpy.trader.constant import Status
from vnpy.trader.event import EVENT_ACCOUNT, EVENT_ORDER, EVENT_POSITION, EVENT_TRADE

from terminal.core.alerts import EVENT_ALERT, SEVERE, WARNING, Alert
from terminal.core.timezone import CHINA_TZ
from terminal.gateways.sim import SimGateway
from terminal.storage.journal import JournalState, SetAside

SIM = SimGateway.default_name     # its orders and account live in its process only


def publish_restored(event_engine: EventEngine, state: JournalState) -> None:
    """Show today's orders, trades and alerts, and the last known positions and accounts,
    as they were before the terminal stopped (or was killed). The simulated exchange's working
    orders did not survive its process: they come back cancelled, saying so."""
    put = event_engine.put
    for order in state.orders:
        if order.gateway_name == SIM and order.is_active():
            order.status = Status.CANCELLED
            order.extra = {**(order.extra or {}),
                           "reason": "cancelled: the simulated exchange was restarted"}
        put(Event(EVENT_ORDER, order))
    for trade in state.trades:
        put(Event(EVENT_TRADE, trade))
    for alert in state.alerts:
        put(Event(EVENT_ALERT, alert))
    for position in state.positions:
        if position.gateway_name != SIM and position.volume:
            put(Event(EVENT_POSITION, position))
    for account in state.accounts:
        if account.gateway_name != SIM:
            put(Event(EVENT_ACCOUNT, account))


def kept_aside_alert(path: Path, set_aside: SetAside) -> Alert:
    """The journal could not be used and a new one was started: severe, shown at once."""
    return Alert(datetime.now(CHINA_TZ), SEVERE, "journal", "", (
        f"The trading journal {path} could not be used ({set_aside.reason}). It is kept, "
        f"untouched, as {set_aside.kept.name} in the same folder, and a new journal was "
        "started. Orders, trades and positions from before may be missing from the "
        "terminal's view: the broker's records are the reference."))


def unreadable_alert(path: Path, count: int) -> Alert:
    return Alert(datetime.now(CHINA_TZ), WARNING, "journal", "", (
        f"{count} record(s) of the trading journal {path} could not "
        "be read and are not shown (they stay in the file; the log names them)"))
