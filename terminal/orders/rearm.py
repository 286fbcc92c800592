"""After a restart: what happened to a managed group's orders while the terminal was down.

An order the book says was being sent is looked for by its reference; found, it is adopted;
not found, the leg is "in doubt": it may have reached the exchange, so it is never sent again,
and a severe alert asks the trader to check. An order that ended meanwhile (the simulated
exchange loses its working orders when it restarts) leaves its leg to send again, unless it
was an entry or a plain limit order: a restart never opens new exposure.
"""

from __future__ import annotations

from collections.abc import Callable

from terminal.core.alerts import SEVERE, WARNING
from terminal.orders.broker import EngineBroker
from terminal.orders.model import Child, Group, GroupKind, Kind, Leg, State


def reconcile(group: Group, broker: EngineBroker, unwatch: Callable[[Leg], None],
              alert: Callable[[str, str, str, str], None]) -> None:
    for leg in group.legs:
        if leg.state is State.SENDING and leg.tag:
            order = broker.order_by_reference(leg.tag)
            if order is None:
                leg.state = State.IN_DOUBT
                leg.reason = (f"it was sending order {leg.tag} when the terminal stopped; "
                              "whether it reached the exchange is unknown, so it is not "
                              "sent again")
                unwatch(leg)
                alert(SEVERE, "managed_order", group.vt_symbol,
                      f"{leg.role} of {group.id}: {leg.reason}. Check the orders and "
                      "position at the broker.")
                continue
            child = Child(order.vt_orderid, order.volume, order.price, traded=order.traded)
            leg.children.append(child)
            leg.tag = ""
            leg.state = State.WORKING
        for child in leg.children:
            if not child.active:
                continue
            order = broker.order(child.vt_orderid)
            if order is None and broker.orders_survive(group.gateway_name):
                # Sent, and not reported before the kill: it may well work at the exchange.
                # Kept as working (nothing more is sent for it) until the gateway reports it.
                alert(WARNING, "managed_order", group.vt_symbol,
                      f"{leg.role} of {group.id}: its order {child.vt_orderid} was sent "
                      "before the terminal stopped and is not reported yet; it is kept as "
                      "working until the broker reports it")
                continue
            if order is not None:
                child.traded = max(child.traded, order.traded)
            if order is None or not order.is_active():
                child.active = False
                if leg.role == "entry" or (group.kind is GroupKind.SINGLE
                                           and leg.kind is Kind.LIMIT):
                    # never re-sent: a restart opens no new exposure
                    leg.cancelled = True
                    leg.reason = leg.reason or (
                        f"its order {child.vt_orderid} ended while the terminal was "
                        "stopped")
