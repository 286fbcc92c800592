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
from terminal.core.jsonfile import MISSING, read_or_set_aside, write_json
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
        self.day_path = self.path.with_name("risk_day.json")
        self._lock = threading.Lock()
        loaded = risk_file.load(self.path, expected)
        # Why the limits must be reviewed before ACTIVE, one reason each; kept in risk.json
        # (a daily-loss breach survives a restart).
        self._reasons: list[str] = list(loaded.config.review)
        self.startup_alerts: list[Alert] = []       # published by the runtime
        now = datetime.now(CHINA_TZ)
        for problem in loaded.problems:
            log.warning("risk settings: %s", problem)
            self.startup_alerts.append(Alert(now, WARNING, RULE, "",
                                             f"{self.path.name}: {problem}"))
        if loaded.unusable:
            reason = (f"{self.path} cannot be used ({loaded.unusable}); trading started "
                      f"{loaded.config.state.value.replace('_', '-')}")
            self._reasons.append(reason)
            log.error("risk settings: %s", reason)
            self.startup_alerts.append(Alert(now, SEVERE, RULE, "", (
                f"{reason}: only closing orders pass. Review the limits in Trading → Risk "
                "settings… before going ACTIVE.")))
        elif not self.path.exists():
            risk_file.save(self.path, loaded.config)      # first start: a missing file is news
        self.gate = RiskGate(loaded.config, trading_day=trading_day)
        self.guard = RiskGuard(main_engine, event_engine, self.gate, rates)
        self._openings, problem = _read_openings(self.day_path)
        if problem:
            self.startup_alerts.append(Alert(now, WARNING, RULE, "", (
                f"{problem}: the day's opening balances are lost, so today's loss is counted "
                "from each account's next report (the daily-loss limit may be reached later "
                "than it should)")))
        self.monitor = RiskMonitor(event_engine, self.gate, loaded.config.monitors, in_session,
                                   trading_day, flatten, restrict=self.restrict,
                                   openings=self._openings, opened=self._opened)

    @property
    def config(self) -> RiskConfig:
        return self.gate.config

    @property
    def review(self) -> str:
        """Why the limits must be reviewed before trading goes ACTIVE; empty when not."""
        return "; ".join(self._reasons)

    def apply(self, config: RiskConfig, save: bool = True, reviewed: str | None = None) -> None:
        """Use `config` from now on (and keep it in risk.json).

        `reviewed`: the review the trader saw with these limits (the risk dialog's banner when
        it opened; "" for none). It clears the review when it is still the one pending. When
        trading was restricted since (a loss breach while the dialog was open), a config less
        strict than now raises `ReviewRequired` with the new reason, and nothing changes.
        Without `reviewed` (the state menu, code), going ACTIVE while a review is pending
        raises `ReviewRequired`."""
        with self._lock, self.guard.lock:
            current = self.gate.state
            looser = config.state.strictness < current.strictness
            if reviewed is None:
                if self._reasons and config.state is TradingState.ACTIVE and looser:
                    raise ReviewRequired(self.review)
            elif reviewed != self.review:
                if looser:
                    raise ReviewRequired(self.review)
            else:
                self._reasons.clear()
                self.monitor.rearm()
            config = replace(config, review=tuple(self._reasons))
            self.gate.set_config(config)
            self.monitor.limits = config.monitors
            if save:                  # in the lock: the file ends as the last change left it
                risk_file.save(self.path, config)

    def set_state(self, state: TradingState) -> None:
        self.apply(replace(self.gate.config, state=state))

    def restrict(self, state: TradingState, reason: str) -> bool:
        """At least `state` from now on, and a review before ACTIVE again; both kept in
        risk.json. False when trading was already that strict."""
        with self._lock, self.guard.lock:
            current = self.gate.state
            if reason not in self._reasons:
                self._reasons.append(reason)
            stricter = current.at_least(state)
            config = replace(self.gate.config, state=stricter, review=tuple(self._reasons))
            self.gate.set_config(config)
            try:
                risk_file.save(self.path, config)
            except OSError:
                log.exception("could not keep the restricted state in %s", self.path)
        return stricter is not current

    def _opened(self, account: str, day: object, balance: float) -> None:
        """Keep each account's opening balance of the day (a restart must not reset it)."""
        self._openings[account] = (str(day), balance)
        try:
            write_json(self.day_path, {key: {"day": day, "balance": balance}
                                       for key, (day, balance) in self._openings.items()})
        except OSError:
            log.exception("could not keep the day's opening balances in %s", self.day_path)


def _read_openings(path: Path) -> tuple[dict[str, tuple[str, float]], str]:
    """Opening balances kept earlier (account -> (trading day, balance)), and what was wrong
    with the file if anything (then each account's next report opens the day)."""
    data, problem = read_or_set_aside(path)
    openings: dict[str, tuple[str, float]] = {}
    if data is not MISSING and not isinstance(data, dict):
        problem = f"{path.name} holds {type(data).__name__}, not an object"
    if isinstance(data, dict):
        for account, entry in data.items():
            if isinstance(entry, dict) and isinstance(entry.get("day"), str) \
                    and isinstance(entry.get("balance"), (int, float)) \
                    and not isinstance(entry.get("balance"), bool):
                openings[account] = (entry["day"], float(entry["balance"]))
            else:
                problem = problem or f"{path.name}: the entry of {account} cannot be read"
    if problem:
        log.warning("risk: %s", problem)
    return openings, problem
