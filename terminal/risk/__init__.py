"""Pre-trade risk: the limits every order must respect and the gate that checks them.

Pure domain code (no Qt, no threads): `limits` holds the settings and `risk.json`, `gate` the
check every order passes before it reaches a gateway.
"""

from terminal.risk.gate import ALLOWED, RULES, Decision, OrderContext, RiskGate
from terminal.risk.limits import (
    LoadedRisk,
    RiskConfig,
    RiskConfigError,
    RiskLimits,
    TradingState,
    load,
    parse,
    save,
)

__all__ = [
    "ALLOWED",
    "RULES",
    "Decision",
    "LoadedRisk",
    "OrderContext",
    "RiskConfig",
    "RiskConfigError",
    "RiskGate",
    "RiskLimits",
    "TradingState",
    "load",
    "parse",
    "save",
]
