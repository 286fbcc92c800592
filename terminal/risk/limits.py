"""The pre-trade risk settings: limits per order, per symbol and per account, and the trading
state, stored in `risk.json`.

Every limit has a global value and may be overridden per symbol (vt_symbol) by a partial set
of keys. A numeric limit of 0 (or null in the file) switches its rule off. Each limit and
monitor setting is described once beside its field (`terminal.core.fields`: range, default,
label, help); loading checks values with that description and the risk dialog shows it.

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

from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any


from terminal.core.fields import FieldError, Spec, described, specs
from terminal.core.jsonfile import MISSING, read_or_set_aside, write_json
from terminal.core.symbols import BadSymbol, canonical_vt_symbol


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


# The exchanges' published conduct thresholds (README: "Exchange conduct rules", with the
# documents), what each default keeps back from its threshold, and so the default.
CONDUCT_THRESHOLDS: dict[str, int] = {
    # DCE's notice on program trading (No. 305 of 2025; the other futures exchanges' 2025
    # program-trading rules say the same): an account with 10 or more orders and cancels
    # within 1 s, 10 or more times in a trading day, must report as a program trader.
    "max_actions_per_second": 10,
    # SSE/SZSE program-trading rules (2025-04-03): 20,000 orders and cancels a day is
    # high-frequency. CFFEX's rules (2025-08-08) leave the futures figure to a later notice,
    # which was not found: this one is not verified for futures.
    "max_actions_per_day": 20_000,
    # CFFEX stock-index futures: 400 cancels in one contract in one day is abnormal trading
    # (500 at SHFE, INE, DCE, CZCE and for CFFEX's other products).
    "max_cancels_per_day": 400,
}
CONDUCT_MARGINS: dict[str, int] = {
    "max_actions_per_second": 1,      # stay below 10: at most 9
    "max_actions_per_day": 1_000,     # 5%: cancels pass the limit, and the day is long
    # the 50 orders that may still work (and be cancelled) once the limit stops new ones, and
    # 10 to spare
    "max_cancels_per_day": 60,
}
CONDUCT_DEFAULTS: dict[str, int] = {key: CONDUCT_THRESHOLDS[key] - CONDUCT_MARGINS[key]
                                    for key in CONDUCT_THRESHOLDS}


@dataclass(frozen=True)
class RiskLimits:
    """One set of limits; 0 switches a numeric rule off."""

    max_order_volume: int = described(
        50, "Largest order, in lots.", label="Maximum volume per order", unit="lots",
        low=0, high=1_000_000, off=True)
    max_order_notional: float = described(
        5_000_000.0, "Largest order value (price x volume x contract multiplier), in CNY.",
        label="Maximum value per order", unit="CNY", low=0.0, high=1e13, off=True)
    max_funds_share: float = described(
        0.10, "Largest share of the available funds one opening order's margin and "
        "commission may use.", label="Maximum share of available funds per order",
        unit="share (0.1 = 10%)", low=0.0, high=1.0, off=True)
    # Gross rather than net, so a locked (long and short) position counts twice.
    max_position: int = described(
        100, "Largest gross position per symbol, in lots: long + short + working opening "
        "orders + the order.", label="Position limit per symbol (long + short)", unit="lots",
        low=0, high=1_000_000, off=True)
    max_working_orders: int = described(
        50, "Largest number of working orders, all symbols together.",
        label="Maximum working orders", unit="orders", low=0, high=100_000, off=True)
    max_orders_per_second: int = described(
        20, "Most orders sent within any one second, all symbols together.",
        label="Maximum orders per second", unit="orders/s", low=0, high=10_000, off=True)
    max_cancels_per_day: int = described(
        CONDUCT_DEFAULTS["max_cancels_per_day"], "Most cancels per symbol per trading day; then "
        "new orders in it are denied, cancels pass. The exchanges' abnormal-trading rules flag "
        "400 (CFFEX stock-index futures) or 500 (SHFE, INE, DCE, CZCE) cancels in one contract "
        "in one day.",
        label="Maximum cancels per symbol per day", unit="cancels", low=0, high=1_000_000,
        off=True)
    price_band: float = described(
        0.05, "Fat-finger band: a priced order may be at most this share away from the last "
        "price.", label="Price band around the last price", unit="share (0.05 = 5%)",
        low=0.0, high=1.0, off=True)
    duplicate_seconds: float = described(
        1.0, "An order identical to one sent within this many seconds (symbol, direction, "
        "offset, type, price, volume) is refused as a duplicate.",
        label="Duplicate-order window", unit="seconds", low=0.0, high=3600.0, off=True)
    contract_limits: bool = described(
        True, "Refuse an order whose price is off the contract's tick or whose volume is "
        "outside the contract's minimum and maximum.",
        label="Check price tick and contract volume limits",
        unit="on/off")
    self_trade: bool = described(
        True, "Refuse an order that would trade against the account's own resting limit "
        "order in the same contract (the exchanges' abnormal-trading rules flag 5 self-trades "
        "in one contract in one day).", label="Self-trade prevention", unit="on/off")
    # Account-wide (ACCOUNT_WIDE): set under "global" only.
    max_actions_per_second: int = described(
        CONDUCT_DEFAULTS["max_actions_per_second"], "Most orders + cancels of the account "
        "within one second; then new orders are denied, cancels pass. The futures exchanges' "
        "program-trading rules (2025) make an account with 10 in a second, 10 times a day, "
        "report. Account-wide: set under global only.",
        label="Maximum orders + cancels per second (account)", unit="actions/s", low=0,
        high=100_000, off=True)
    max_actions_per_day: int = described(
        CONDUCT_DEFAULTS["max_actions_per_day"], "Most orders + cancels of the account in one "
        "trading day; then new orders are denied, cancels pass. 20,000 is the SSE/SZSE "
        "high-frequency level (2025); no futures figure was verified. Account-wide: set under "
        "global only.", label="Maximum orders + cancels per day (account)", unit="actions",
        low=0, high=100_000_000, off=True)
    conduct_warning_share: float = described(
        0.8, "Warn once per crossing when orders + cancels per second or per day, or a "
        "symbol's cancels per day, reach this share of their limit. Account-wide: set under "
        "global only.", label="Warn at this share of a conduct limit",
        unit="share (0.8 = 80%)", low=0.0, high=1.0, off=True)


# The description of every limit by name (checks, labels and help for the dialog).
LIMIT_SPECS = specs(RiskLimits)
LIMIT_NAMES: tuple[str, ...] = tuple(LIMIT_SPECS)
DEFAULT_LIMITS = RiskLimits()
# Limits that count the whole account's activity: a per-symbol value would mean nothing, so
# one under "symbols" is refused (the global value applies).
ACCOUNT_WIDE: frozenset[str] = frozenset(
    {"max_actions_per_second", "max_actions_per_day", "conduct_warning_share"})


def account_wide_problem(where: str, key: str) -> str:
    return (f"{where}.{key}: counts the whole account's orders and cancels, so it has no "
            f"per-symbol value; set it under global")


class RiskConfigError(ValueError):
    """A risk setting is wrong; `problems` lists one message per bad key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class MonitorLimits:
    """What the live monitors watch for; 0 switches a monitor off."""

    position_loss: float = described(
        20_000.0, "Alert when one position's floating loss (contract multiplier included) "
        "exceeds this, in CNY.", label="Floating loss per position", unit="CNY",
        low=0.0, high=1e12, off=True)
    flatten_on_position_loss: bool = described(
        False, "Flatten a position at once when its floating loss crosses the limit above.",
        label="Flatten a position over its loss limit", unit="true/false")
    daily_loss: float = described(
        50_000.0, "Loss since the trading day's opening balance, in CNY, at which trading "
        "turns reduce-only until the limits are reviewed.",
        label="Daily loss that stops opening: reduce-only", unit="CNY", low=0.0, high=1e12,
        off=True)
    margin_usage: float = described(
        0.8, "Alert when the margin held exceeds this share of the balance.",
        label="Margin usage alert", unit="share of balance", low=0.0, high=1.0, off=True)
    stale_seconds: float = described(
        30.0, "Alert when a subscribed symbol has no quote for this many seconds during its "
        "trading hours.", label="Quotes stale after", unit="seconds", low=0.0, high=86_400.0,
        off=True)


# The description of every monitor setting by name.
MONITOR_SPECS = specs(MonitorLimits)


def _parse_values(data: dict, where: str, section: dict[str, Spec], what: str, base: Any,
                  fallback: str, problems: list[str], unreadable: list[str]) -> dict[str, Any]:
    """The valid keys of one section (limits or monitors); one problem per bad value, which
    `base`'s value replaces; an unknown key (misspelt, its value would be lost) makes the file
    unreadable."""
    good: dict[str, Any] = {}
    for key, value in data.items():
        spec = section.get(key)
        if spec is None:
            unreadable.append(f"{where}.{key}: not a {what} (misspelt?)")
            continue
        try:
            good[key] = spec.check(value)
        except FieldError as exc:
            problems.append(f"{where}.{exc}; {fallback} {getattr(base, key)!r}")
    return good


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
            wide = sorted(set(overrides) & ACCOUNT_WIDE)
            if wide:
                raise RiskConfigError([account_wide_problem(f"symbols.{vt_symbol}", key)
                                       for key in wide])

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
    unreadable.extend(f"{key}: not a risk setting (misspelt?)" for key in data
                      if key not in ("state", "global", "symbols", "monitors", "review"))

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
            good = _parse_values(data["global"], "global", LIMIT_SPECS, "risk limit",
                                 DEFAULT_LIMITS, "using the default", problems, unreadable)
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
        try:
            written_as = canonical_vt_symbol(vt_symbol)
        except BadSymbol:
            written_as = None
        if written_as != vt_symbol:       # limits are found by the orders' exact vt_symbol
            unreadable.append(f"symbols.{vt_symbol}: not a vt_symbol such as rb2701.SHFE"
                              + (f" (write it {written_as})" if written_as else "")
                              + " (its limits would never apply)")
            continue
        if not isinstance(overrides, dict):
            unreadable.append(f"symbols.{vt_symbol}: expected an object of limits, got "
                              f"{type(overrides).__name__}")
            continue
        problems.extend(account_wide_problem(f"symbols.{vt_symbol}", key)
                        + f"; using the global value {getattr(global_limits, key)!r}"
                        for key in sorted(set(overrides) & ACCOUNT_WIDE))
        per_symbol = {k: v for k, v in overrides.items() if k not in ACCOUNT_WIDE}
        good = _parse_values(per_symbol, f"symbols.{vt_symbol}", LIMIT_SPECS, "risk limit",
                             global_limits, "using the global value", problems, unreadable)
        if good:
            symbols[vt_symbol] = good
    monitors = MonitorLimits()
    if "monitors" in data:
        if isinstance(data["monitors"], dict):
            monitors = replace(monitors, **_parse_values(
                data["monitors"], "monitors", MONITOR_SPECS, "monitor setting", monitors,
                "using the default", problems, unreadable))
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
