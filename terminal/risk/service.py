"""The risk engine as the terminal runs it: the gate on the gateway boundary, the live
monitors, and `risk.json` (loaded at start, saved by the risk dialog, applied at once).

It fails closed. When `risk.json` cannot be trusted the terminal starts REDUCE_ONLY and
`review` says why; a daily-loss breach does the same. While a review is pending the state
cannot be set back to ACTIVE directly: the trader reviews the limits in the risk dialog,
whose OK applies them (`apply(..., reviewed=True)`) and saves them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from vnpy.event import EventEngine
from vnpy.trader.engine import MainEngine

from terminal.core.alerts import SEVERE, WARNING, Alert
from terminal.risk import limits as risk_file
from terminal.risk.gate import RiskGate
from terminal.risk.guard import CHINA_TZ, Rates, RiskGuard
from terminal.risk.limits import RiskConfig, TradingState
from terminal.risk.monitors import RiskMonitor

log = logging.getLogger(__name__)

RULE = "risk_settings"


class ReviewRequired(RuntimeError):
    """Trading cannot go ACTIVE before the trader has reviewed the limits; says why."""


class RiskService:
    def __init__(self, main_engine: MainEngine, event_engine: EventEngine, path: Path,
                 rates: Rates, in_session: Callable[[str, datetime], bool],
                 trading_day: Callable[[], object],
                 flatten: Callable[[str], None] | None = None,
                 expected: bool = False) -> None:
        """`expected`: the terminal has run in this data directory before, so a missing
        `risk.json` means the trader's settings are gone, not a first start."""
        self.path = Path(path)
        self._lock = threading.Lock()
        loaded = risk_file.load(self.path, expected)
        self.review = ""                  # why the limits must be reviewed before ACTIVE
        self.startup_alerts: list[Alert] = []       # published by the runtime
        now = datetime.now(CHINA_TZ)
        for problem in loaded.problems:
            log.warning("risk settings: %s", problem)
            self.startup_alerts.append(Alert(now, WARNING, RULE, "",
                                             f"{self.path.name}: {problem}"))
        if loaded.unusable:
            self.review = (f"{self.path} cannot be used ({loaded.unusable}); trading started "
                           f"{loaded.config.state.value.replace('_', '-')}")
            log.error("risk settings: %s", self.review)
            self.startup_alerts.append(Alert(now, SEVERE, RULE, "", (
                f"{self.review}: only closing orders pass. Review the limits in Trading → Risk "
                "settings… before going ACTIVE.")))
        elif not self.path.exists():
            risk_file.save(self.path, loaded.config)      # first start: a missing file is news
        self.gate = RiskGate(loaded.config, trading_day=trading_day)
        self.guard = RiskGuard(main_engine, event_engine, self.gate, rates)
        self.monitor = RiskMonitor(event_engine, self.gate, loaded.config.monitors, in_session,
                                   trading_day, flatten, restrict=self.restrict)

    @property
    def config(self) -> RiskConfig:
        return self.gate.config

    def apply(self, config: RiskConfig, save: bool = True, reviewed: bool = False) -> None:
        """Use `config` from now on (and keep it in risk.json). Going ACTIVE while a review is
        pending needs `reviewed` (the trader saw every limit in the dialog)."""
        with self._lock:
            if reviewed:
                self.review = ""
            elif self.review and config.state is TradingState.ACTIVE \
                    and self.gate.state is not TradingState.ACTIVE:
                raise ReviewRequired(self.review)
            self.gate.set_config(config)
            self.monitor.limits = config.monitors
        if save:
            risk_file.save(self.path, config)

    def set_state(self, state: TradingState) -> None:
        self.apply(replace(self.gate.config, state=state))

    def restrict(self, state: TradingState, reason: str) -> bool:
        """At least `state` from now on (not saved), and a review before ACTIVE again; False
        when trading was already that strict."""
        with self._lock:
            current = self.gate.state
            self.review = self.review or reason
            if current.at_least(state) is current:
                return False
            self.gate.set_state(state)
            return True
