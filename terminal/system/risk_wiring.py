"""The risk service wired to the terminal's market knowledge: the contract tables' margin and
fee rates, the exchanges' trading hours, the trading day, Flatten, and the gateways'
connection states (a live gateway going down is a risk event)."""

from __future__ import annotations

import functools
from datetime import datetime

from terminal.core.kernel import Kernel
from terminal.core.paths import DataPaths
from terminal.core.symbols import BadSymbol, split_vt_symbol
from terminal.core.trading_day import current_trading_day
from terminal.gateways.connection import State as ConnectionState
from terminal.gateways.connection import Status as ConnectionStatus
from terminal.market import contracts, sessions
from terminal.market.trading import Trading
from terminal.risk.service import RiskService

_session_map = functools.lru_cache(maxsize=None)(sessions.build)

UNKNOWN_RATES = (0.12, 0.0, 0.0)    # margin rate, fee rate, fee per lot


def build_risk(kernel: Kernel, paths: DataPaths, trading: Trading,
               expected: bool = False) -> RiskService:
    """The gate in front of every order, and the monitors, with the contract tables' margin
    and fee rates and trading hours (products the tables do not know: 12% margin, hours
    not checked)."""
    def flatten(vt_symbol: str) -> None:
        trading.flatten(vt_symbol)

    return RiskService(kernel.main_engine, kernel.event_engine, paths.root / "risk.json",
                       rates, in_session, current_trading_day,
                       flatten, expected=expected)


def rates(vt_symbol: str) -> tuple[float, float, float]:
    """(margin rate, fee rate, fee per lot) of the contract, or of its product."""
    try:
        symbol, exchange = split_vt_symbol(vt_symbol)
    except BadSymbol:
        return UNKNOWN_RATES
    spec = contracts.find(vt_symbol) or next(
        (s for s in contracts.SPECS if s.exchange == exchange
         and s.product == sessions.product_of(symbol)), None)
    return (spec.margin_rate, spec.fee_rate, spec.fee_per_lot) if spec else UNKNOWN_RATES


def in_session(vt_symbol: str, now: datetime) -> bool:
    """Whether the contract's exchange trades it at `now` (False when its hours are unknown)."""
    try:
        symbol, exchange = split_vt_symbol(vt_symbol)
    except BadSymbol:
        return False
    listed = sessions.sessions_for(symbol, exchange)
    if listed is None:
        return False
    minute = now.hour * 60 + now.minute
    return now.weekday() < 5 and _session_map(listed).segment[minute] >= 0


def watch_connection(risk: RiskService, status: ConnectionStatus) -> None:
    """A live gateway going down is a risk event; coming back clears it."""
    if status.state in (ConnectionState.RECONNECTING, ConnectionState.DISCONNECTED):
        risk.monitor.gateway_down(status.gateway, status.detail or status.state.value)
    elif status.state == ConnectionState.CONNECTED:
        risk.monitor.gateway_up(status.gateway)
