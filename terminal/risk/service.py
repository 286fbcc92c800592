"""The risk engine as the terminal runs it: the gate in the order path, the live monitors,
and `risk.json` (loaded at start, saved by the risk dialog, applied at once)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from vnpy.event import EventEngine
from vnpy.trader.engine import MainEngine

from terminal.risk import limits as risk_file
from terminal.risk.gate import RiskGate
from terminal.risk.guard import Rates, RiskGuard
from terminal.risk.limits import RiskConfig, TradingState
from terminal.risk.monitors import RiskMonitor

log = logging.getLogger(__name__)


class RiskService:
    def __init__(self, main_engine: MainEngine, event_engine: EventEngine, path: Path,
                 rates: Rates, in_session: Callable[[str, datetime], bool],
                 trading_day: Callable[[], object],
                 flatten: Callable[[str], None] | None = None) -> None:
        self.path = path
        config, warnings = risk_file.load(path)
        for warning in warnings:
            log.warning("risk settings: %s", warning)
        self.gate = RiskGate(config, trading_day=trading_day)
        self.guard = RiskGuard(main_engine, event_engine, self.gate, rates)
        self.monitor = RiskMonitor(event_engine, self.gate, config.monitors, in_session,
                                   trading_day, flatten)

    @property
    def config(self) -> RiskConfig:
        return self.gate.config

    def apply(self, config: RiskConfig, save: bool = True) -> None:
        """Use `config` from now on (and keep it in risk.json)."""
        self.gate.set_config(config)
        self.monitor.limits = config.monitors
        if save:
            risk_file.save(self.path, config)

    def set_state(self, state: TradingState) -> None:
        self.apply(replace(self.gate.config, state=state))
