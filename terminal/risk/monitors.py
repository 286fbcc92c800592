"""Live risk monitors, on the event thread: they watch positions, the account, the clock and
the quotes, and raise alerts (and act) when a limit is crossed.

- Floating loss per position (P&L already carries the contract multiplier) against a limit;
  optionally the position is flattened at once.
- Daily loss (balance against the trading day's opening balance): trading goes REDUCE_ONLY
  (nothing can open; the trader's Flatten and Close, and strategies' exits, still work), a
  severe alert says why, and going ACTIVE again the same day needs the limits reviewed.
- Margin usage (margin / balance) above a threshold.
- Quotes gone stale: a subscribed symbol with no tick for a while during its trading hours.
- A gateway that disconnects (reported by whoever tracks connections, via `gateway_down`).

Each condition alerts once when it starts, and again only after it has cleared.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from vnpy.event import Event, EventEngine
from vnpy.trader.event import EVENT_ACCOUNT, EVENT_POSITION, EVENT_TICK, EVENT_TIMER
from vnpy.trader.object import AccountData, PositionData, TickData

from terminal.core.alerts import EVENT_ALERT, SEVERE, WARNING, Alert
from terminal.core.timezone import CHINA_TZ
from terminal.risk.gate import RiskGate
from terminal.risk.limits import MonitorLimits, TradingState


class RiskMonitor:
    def __init__(self, event_engine: EventEngine, gate: RiskGate, limits: MonitorLimits,
                 in_session: Callable[[str, datetime], bool],
                 trading_day: Callable[[], object],
                 flatten: Callable[[str], None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(CHINA_TZ),
                 restrict: Callable[[TradingState, str], object] | None = None,
                 openings: dict[str, tuple[object, float]] | None = None,
                 opened: Callable[[str, object, float], None] | None = None) -> None:
        """`restrict(state, reason)`: make trading at least that strict (the risk service
        also asks for a review before ACTIVE); by default the gate's state is set.
        `openings`: each account's trading day and opening balance as kept from earlier in
        the day (a restart must not reset the day's loss budget); `opened(account, day,
        balance)` hears each new one, to keep it."""
        self.event_engine = event_engine
        self.gate = gate
        self.limits = limits
        self.in_session = in_session
        self.flatten = flatten
        self.trading_day = trading_day
        self.clock = clock
        self.restrict = restrict or (lambda state, reason: gate.set_state(state))
        self.opened = opened
        self._active: set[tuple[str, str]] = set()       # (rule, key) conditions alerted
        self._opening: dict[str, tuple[object, float]] = dict(openings or {})  # (day, balance)
        self._last_tick: dict[str, datetime] = {}
        self._seen_at: dict[str, datetime] = {}
        event_engine.register(EVENT_POSITION, self._on_position)
        event_engine.register(EVENT_ACCOUNT, self._on_account)
        event_engine.register(EVENT_TICK, self._on_tick)
        event_engine.register(EVENT_TIMER, self._on_timer)

    # ------------------------------------------------------------------ conditions
    def _raise(self, rule: str, key: str, symbol: str, severity: str, message: str) -> bool:
        if (rule, key) in self._active:
            return False
        self._active.add((rule, key))
        self.event_engine.put(Event(EVENT_ALERT, Alert(self.clock(), severity, rule, symbol,
                                                       message)))
        return True

    def _clear(self, rule: str, key: str) -> None:
        self._active.discard((rule, key))

    def _on_position(self, event: Event) -> None:
        position: PositionData = event.data
        limit = self.limits.position_loss
        key = position.vt_positionid
        if not limit or not position.volume or position.pnl > -limit:
            self._clear("position_loss", key)
            return
        action = ""
        if self.limits.flatten_on_position_loss and self.flatten is not None:
            action = "; flattening it"
        if self._raise("position_loss", key, position.vt_symbol, SEVERE,
                       f"{position.direction.value} {position.volume:g} lots are losing "
                       f"{-position.pnl:,.0f}, over the limit of {limit:,.0f}{action}") and action:
            self.flatten(position.vt_symbol)

    def _on_account(self, event: Event) -> None:
        account: AccountData = event.data
        day = self.trading_day()
        opening = self._opening.get(account.vt_accountid)
        if opening is None or str(opening[0]) != str(day):
            start = (account.extra or {}).get("pre_balance", account.balance)
            opening = self._opening[account.vt_accountid] = (day, start)
            self._clear("daily_loss", account.vt_accountid)
            if self.opened is not None:
                self.opened(account.vt_accountid, day, start)
        loss = opening[1] - account.balance
        limit = self.limits.daily_loss
        if limit and loss >= limit:
            breach = (f"account {account.accountid} has lost {loss:,.0f} today, over the "
                      f"daily limit of {limit:,.0f} (ACTIVE again today only with a higher "
                      "limit)")
            if ("daily_loss", account.vt_accountid) not in self._active:
                self.restrict(TradingState.REDUCE_ONLY, breach)
                state = self.gate.state.value.replace("_", "-")
                self._raise("daily_loss", account.vt_accountid, "", SEVERE,
                            f"{breach}: trading is {state} (nothing can open; Flatten, Close "
                            "and cancels work)")
        margin = (account.extra or {}).get("margin", account.frozen)
        usage = margin / account.balance if account.balance > 0 else 0.0
        if self.limits.margin_usage and usage >= self.limits.margin_usage:
            self._raise("margin_usage", account.vt_accountid, "", WARNING,
                        f"margin is {usage:.0%} of the balance of account {account.accountid},"
                        f" over {self.limits.margin_usage:.0%}")
        elif usage < self.limits.margin_usage * 0.95:
            self._clear("margin_usage", account.vt_accountid)

    def _on_tick(self, event: Event) -> None:
        tick: TickData = event.data
        now = self.clock()
        self._last_tick[tick.vt_symbol] = now
        self._seen_at.setdefault(tick.vt_symbol, now)     # quoting: expected to go on
        if ("stale_quotes", tick.vt_symbol) in self._active:
            self._clear("stale_quotes", tick.vt_symbol)

    def rearm(self) -> None:
        """Judge the daily loss again at the next account report (the limits were reviewed:
        a loss still over the limit restricts trading again)."""
        self._active = {(rule, key) for rule, key in self._active if rule != "daily_loss"}

    def watch_quotes(self, vt_symbol: str) -> None:
        """Expect quotes for `vt_symbol` from now on (it was subscribed)."""
        self._seen_at.setdefault(vt_symbol, self.clock())

    def _on_timer(self, event: Event) -> None:
        seconds = self.limits.stale_seconds
        if not seconds:
            return
        now = self.clock()
        for vt_symbol, since in self._seen_at.items():
            last = self._last_tick.get(vt_symbol, since)
            quiet = (now - last).total_seconds()
            if quiet >= seconds and self.in_session(vt_symbol, now):
                self._raise("stale_quotes", vt_symbol, vt_symbol, WARNING,
                            f"no quote for {vt_symbol} for {quiet:.0f} s during its trading "
                            "hours")

    def gateway_down(self, gateway_name: str, reason: str) -> None:
        self._raise("gateway_disconnected", gateway_name, "", SEVERE,
                    f"gateway {gateway_name} disconnected: {reason}")

    def gateway_up(self, gateway_name: str) -> None:
        self._clear("gateway_disconnected", gateway_name)
