"""Alerts: what the risk engine (and anything else that must reach the trader at once) raises.

An alert travels as an `EVENT_ALERT` event, so it is journalled and reaches the GUI on the
same path as orders and trades.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

EVENT_ALERT = "eAlert"
INFO, WARNING, SEVERE = "info", "warning", "severe"
SEVERITIES = (INFO, WARNING, SEVERE)
_ids = itertools.count(1)


@dataclass
class Alert:
    time: datetime
    severity: str           # info, warning or severe
    rule: str               # short stable id, e.g. "daily_loss"
    symbol: str             # vt_symbol, or "" for the account or the connection
    message: str
    id: str = field(default_factory=lambda: f"{datetime.now():%Y%m%d%H%M%S%f}-{next(_ids)}")
    acknowledged: bool = False
