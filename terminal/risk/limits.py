"""The pre-trade risk settings: limits per order, per symbol and per account, and the trading
state, stored in `risk.json`.

Every limit has a global value and may be overridden per symbol (vt_symbol) by a partial set
of keys. A numeric limit of 0 (or null in the file) switches its rule off.

Loading fails closed. A single bad value is reported by key (and symbol) and replaced by its
default (for a symbol override, the global value applies). A file that cannot be trusted as a
whole (not valid JSON, not an object, a state or a section that cannot be read, or missing
when the terminal has run here before) never falls back to permissive defaults: the trading
state becomes REDUCE_ONLY (HALTED stays HALTED), the reason is given as `LoadedRisk.unusable`,
and an unreadable file is moved aside (kept for the user).

File layout::

    {
      "state": "ACTIVE",
      "global": {"max_order_volume": 50, "price_band": 0.05, ...},
      "symbols": {"IF2612.CFFEX": {"max_order_volume": 5}},
      "monitors": {"position_loss": 20000, "daily_loss": 50000, ...}
    }
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any

from vnpy.trader.constant import Exchange

from terminal.core.jsonfile import MISSING, read_or_set_aside, write_json


class TradingState(Enum):
    """ACTIVE: every rule applies. REDUCE_ONLY: only orders that close part of an existing
    position pass, whoever sends them. HALTED: nothing new passes but the trader's own Flatten
    and Close actions. Cancels are never blocked by the state."""

    ACTIVE = "ACTIVE"
    REDUCE_ONLY = "REDUCE_ONLY"
    HALTED = "HALTED"

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]

    def at_least(self, other: TradingState) -> TradingState:
        """The stricter of the two states."""
        return self if self.strictness >= other.strictness else other


_STRICTNESS = {TradingState.ACTIVE: 0, TradingState.REDUCE_ONLY: 1, TradingState.HALTED: 2}


@dataclass(frozen=True)
class RiskLimits:
    """One set of limits; 0 switches a numeric rule off."""

    # Largest order, in lots.
    max_order_volume: int = 50
    # Largest order value (price x volume x multiplier), in CNY.
    max_order_notional: float = 5_000_000.0
    # Largest share of the available funds one opening order's margin + commission may use.
    max_funds_share: float = 0.10
    # Largest gross position per symbol, in lots: long + short + working opening orders + the
    # order. Gross rather than net, so a locked (long and short) position counts twice.
    max_position: int = 100
    # Largest number of working orders, all symbols together.
    max_working_orders: int = 50
    # Most orders sent within any one second, all symbols together.
    max_orders_per_second: int = 20
    # Most cancels per symbol per trading day; at the limit new orders in that symbol are
    # denied (SHFE/DCE/CZCE/CFFEX flag more than 500 cancels per contract per day).
    max_cancels_per_day: int = 400
    # Fat-finger band: a priced order may be at most this share away from the last price.
    price_band: float = 0.05
    # An order identical to one sent within this many seconds (symbol, direction, offset,
    # type, price, volume) is a duplicate.
    duplicate_seconds: float = 1.0
    # Price on the contract's tick, volume a whole number within its minimum and maximum.
    contract_limits: bool = True


LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(RiskLimits))
EXCHANGES = frozenset(exchange.value for exchange in Exchange)
DEFAULT_LIMITS = RiskLimits()

# Allowed range of each numeric limit (0 always means "off").
_RANGES: dict[str, tuple[float, float]] = {
    "max_order_volume": (0, 1_000_000),
    "max_order_notional": (0.0, 1e13),
    "max_funds_share": (0.0, 1.0),
    "max_position": (0, 1_000_000),
    "max_working_orders": (0, 100_000),
    "max_orders_per_second": (0, 10_000),
    "max_cancels_per_day": (0, 1_000_000),
    "price_band": (0.0, 1.0),
    "duplicate_seconds": (0.0, 3600.0),
}

# Label and unit of each limit, for the dialog.
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "max_order_volume": ("Maximum volume per order", "lots"),
    "max_order_notional": ("Maximum value per order", "CNY"),
    "max_funds_share": ("Maximum share of available funds per order", "share (0.1 = 10%)"),
    "max_position": ("Position limit per symbol (long + short)", "lots"),
    "max_working_orders": ("Maximum working orders", "orders"),
    "max_orders_per_second": ("Maximum orders per second", "orders/s"),
    "max_cancels_per_day": ("Maximum cancels per symbol per day", "cancels"),
    "price_band": ("Price band around the last price", "share (0.05 = 5%)"),
    "duplicate_seconds": ("Duplicate-order window", "seconds"),
    "contract_limits": ("Check price tick and contract volume limits", "on/off"),
}


class RiskConfigError(ValueError):
    """A risk setting is wrong; `problems` lists one message per bad key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_value(name: str, value: Any) -> Any:
    """The value of limit `name` as stored, or `RiskConfigError` naming the key and value."""
    if name not in _RANGES and name != "contract_limits":
        raise RiskConfigError([f"{name}: unknown risk limit"])
    default = getattr(DEFAULT_LIMITS, name)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise RiskConfigError([f"{name}: expected true or false, got {value!r}"])
        return value
    if value is None:
        return type(default)(0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (isinstance(value, float) and math.isnan(value)):  # an int may exceed any float
        raise RiskConfigError([f"{name}: expected a number, got {value!r}"])
    low, high = _RANGES[name]
    if not low <= value <= high:
        raise RiskConfigError([f"{name}: {value!r} is outside {low:g}..{high:g} (0 is off)"])
    if isinstance(default, int):
        if float(value) != int(value):
            raise RiskConfigError([f"{name}: expected a whole number, got {value!r}"])
        return int(value)
    return float(value)


def _parse_limits(data: dict, where: str, base: RiskLimits, problems: list[str],
                  fallback: str, unreadable: list[str]) -> dict[str, Any]:
    """The valid keys of one limits object; one problem per bad value; an unknown key (a
    misspelt limit, whose value would be lost) makes the file unreadable."""
    good: dict[str, Any] = {}
    for key, value in data.items():
        if key not in LIMIT_NAMES:
            unreadable.append(f"{where}.{key}: not a risk limit (misspelt?)")
            continue
        try:
            good[key] = check_value(key, value)
        except RiskConfigError as exc:
            problems.append(f"{where}.{exc.problems[0]}; {fallback} {getattr(base, key)!r}")
    return good


@dataclass(frozen=True)
class MonitorLimits:
    """What the live monitors watch for; 0 switches a monitor off."""

    # Floating loss of one position, in CNY (P&L includes the contract multiplier).
    position_loss: float = 20_000.0
    # Flatten a position at once when it crosses `position_loss`.
    flatten_on_position_loss: bool = False
    # Loss since the trading day's opening balance, in CNY: trading is then HALTED.
    daily_loss: float = 50_000.0
    # Margin held as a share of the balance.
    margin_usage: float = 0.8
    # Seconds without a quote for a subscribed symbol during its trading hours.
    stale_seconds: float = 30.0


_MONITOR_RANGES = {"position_loss": (0, 1e12), "daily_loss": (0, 1e12),
                   "margin_usage": (0, 1), "stale_seconds": (0, 86_400)}


def _parse_monitors(data: dict, problems: list[str], unreadable: list[str]) -> MonitorLimits:
    defaults, good = MonitorLimits(), {}
    for key, value in data.items():
        if key == "flatten_on_position_loss":
            if isinstance(value, bool):
                good[key] = value
            else:
                problems.append(f"monitors.{key}: expected true or false, got {value!r}; "
                                f"using the default {defaults.flatten_on_position_loss}")
        elif key in _MONITOR_RANGES:
            low, high = _MONITOR_RANGES[key]
            number = 0.0 if value is None else value
            if isinstance(number, bool) or not isinstance(number, (int, float)) \
                    or not low <= number <= high:
                problems.append(f"monitors.{key}: {value!r} is not a number in "
                                f"{low:g}..{high:g} (0 is off); using the default "
                                f"{getattr(defaults, key)!r}")
            else:
                good[key] = float(number)
        else:
            unreadable.append(f"monitors.{key}: not a monitor setting (misspelt?)")
    return replace(defaults, **good)


@dataclass(frozen=True)
class RiskConfig:
    """The trading state, the global limits and per-symbol partial overrides.

    Immutable: change it with `dataclasses.replace` and hand the new one to the gate."""

    state: TradingState = TradingState.ACTIVE
    global_limits: RiskLimits = field(default_factory=RiskLimits)
    symbols: dict[str, dict[str, Any]] = field(default_factory=dict)
    monitors: MonitorLimits = field(default_factory=MonitorLimits)
    # Why trading must not go ACTIVE before the trader reviews the limits (a daily-loss breach,
    # a file that could not be used), kept so that a restart does not forget it.
    review: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for vt_symbol, overrides in self.symbols.items():
            unknown = set(overrides) - set(LIMIT_NAMES)
            if unknown:
                names = ", ".join(sorted(unknown))
                raise RiskConfigError([f"symbols.{vt_symbol}: unknown risk limits {names}"])

    def limits_for(self, vt_symbol: str) -> RiskLimits:
        """The global limits with this symbol's overrides applied."""
        overrides = self.symbols.get(vt_symbol)
        if not overrides:
            return self.global_limits
        return replace(self.global_limits, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "global": asdict(self.global_limits),
            "symbols": {vt: dict(overrides) for vt, overrides in sorted(self.symbols.items())},
            "monitors": asdict(self.monitors),
            **({"review": list(self.review)} if self.review else {}),
        }

    @classmethod
    def from_dict(cls, data: object) -> RiskConfig:
        """Strict: the config, or `RiskConfigError` listing every bad key (for the dialog)."""
        loaded = parse(data)
        problems = [loaded.unusable, *loaded.problems] if loaded.unusable \
            else list(loaded.problems)
        if problems:
            raise RiskConfigError(problems)
        return loaded.config


@dataclass(frozen=True)
class LoadedRisk:
    """What `risk.json` gave: the config to use, a problem per bad value (each replaced by its
    default), and why the file as a whole cannot be trusted (empty when it can)."""

    config: RiskConfig
    problems: tuple[str, ...] = ()
    unusable: str = ""


def parse(data: object) -> LoadedRisk:
    """The config from decoded JSON. A bad value is a problem and takes its default (a bad
    symbol override falls back to the global value). A state, section, key or symbol that
    cannot be read (a misspelt key's limit would be silently lost) makes the whole file
    unusable, and the state at least REDUCE_ONLY."""
    problems: list[str] = []
    unreadable: list[str] = []
    if not isinstance(data, dict):
        return LoadedRisk(RiskConfig(state=TradingState.REDUCE_ONLY), (),
                          f"risk settings must be a JSON object, got {type(data).__name__}")
    for key in data:
        if key not in ("state", "global", "symbols", "monitors", "review"):
            unreadable.append(f"{key}: not a risk setting (misspelt?)")

    state = TradingState.ACTIVE
    if "state" in data:
        raw = data["state"]
        try:
            state = TradingState(str(raw).strip().upper().replace("-", "_").replace(" ", "_"))
        except ValueError:
            choices = ", ".join(s.value for s in TradingState)
            unreadable.append(f"state: expected one of {choices}, got {raw!r}")

    global_limits = DEFAULT_LIMITS
    if "global" in data:
        if isinstance(data["global"], dict):
            good = _parse_limits(data["global"], "global", DEFAULT_LIMITS, problems,
                                 "using the default", unreadable)
            global_limits = replace(DEFAULT_LIMITS, **good)
        else:
            unreadable.append(f"global: expected an object of limits, got "
                              f"{type(data['global']).__name__}")

    symbols: dict[str, dict[str, Any]] = {}
    raw_symbols = data.get("symbols", {})
    if not isinstance(raw_symbols, dict):
        unreadable.append(f"symbols: expected an object keyed by vt_symbol, got "
                          f"{type(raw_symbols).__name__}")
        raw_symbols = {}
    for vt_symbol, overrides in raw_symbols.items():
        symbol, dot, exchange = vt_symbol.rpartition(".")
        if not (symbol and dot and exchange in EXCHANGES):
            unreadable.append(f"symbols.{vt_symbol}: not a vt_symbol such as rb2701.SHFE "
                              "(its limits would never apply)")
            continue
        if not isinstance(overrides, dict):
            unreadable.append(f"symbols.{vt_symbol}: expected an object of limits, got "
                              f"{type(overrides).__name__}")
            continue
        good = _parse_limits(overrides, f"symbols.{vt_symbol}", global_limits, problems,
                             "using the global value", unreadable)
        if good:
            symbols[vt_symbol] = good
    monitors = MonitorLimits()
    if "monitors" in data:
        if isinstance(data["monitors"], dict):
            monitors = _parse_monitors(data["monitors"], problems, unreadable)
        else:
            unreadable.append(f"monitors: expected an object, got "
                              f"{type(data['monitors']).__name__}")
    review: tuple[str, ...] = ()
    if "review" in data:
        raw = data["review"]
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            review = tuple(raw)
        else:
            unreadable.append(f"review: expected a list of reasons, got {raw!r:.60}")
    if unreadable:
        state = state.at_least(TradingState.REDUCE_ONLY)
    return LoadedRisk(RiskConfig(state, global_limits, symbols, monitors, review),
                      tuple(problems), "; ".join(unreadable))


def load(path: Path, expected: bool = False) -> LoadedRisk:
    """The config in `path`. No file gives the defaults, unless one was `expected` (the
    terminal ran here before, so the trader's limits and state are gone): then, as for a file
    that cannot be read (moved aside), the state is REDUCE_ONLY and `unusable` says why."""
    path = Path(path)
    data, problem = read_or_set_aside(path)
    if data is MISSING:
        if problem:
            return LoadedRisk(RiskConfig(state=TradingState.REDUCE_ONLY), (), problem)
        if expected:
            return LoadedRisk(RiskConfig(state=TradingState.REDUCE_ONLY), (),
                              f"{path.name} is missing from {path.parent}, where the terminal "
                              "has run before")
        return LoadedRisk(RiskConfig())
    return parse(data)


def save(path: Path, config: RiskConfig) -> None:
    """Write atomically (`terminal.core.jsonfile.write_json`)."""
    write_json(path, config.to_dict())
