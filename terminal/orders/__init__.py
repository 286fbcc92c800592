"""Managed orders: local stops, OCO groups, brackets with breakeven and trailing, and modify
as cancel-then-replace; journalled in their own book and re-armed once after a restart.

Qt-free domain code beside the risk gate: every order it sends is an ordinary order that
passes the gate (see `manager` for the rules, `templates` for the named brackets)."""

from terminal.orders.manager import ManagedOrderError, ManagedOrders
from terminal.orders.model import EVENT_MANAGED, ManagedView
from terminal.orders.templates import BracketTemplate, OrderTemplates, Target, TemplateError

__all__ = ["EVENT_MANAGED", "BracketTemplate", "ManagedOrderError", "ManagedOrders",
           "ManagedView", "OrderTemplates", "Target", "TemplateError"]
