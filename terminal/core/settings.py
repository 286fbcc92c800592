"""The terminal's own settings file (`settings.json` in the data directory).

A bad value never stops the terminal: it is reported by key and replaced by its default.
A file that is not valid JSON is moved aside (kept for the user) and defaults are used.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from terminal.core.jsonfile import MISSING, read_or_set_aside

log = logging.getLogger(__name__)


@dataclass
class Settings:
    # Simulated exchange: quote snapshots per second per contract (CTP sends about 2).
    sim_quote_rate: float = 2.0
    # Simulated exchange: starting balance of the simulated account, in CNY.
    sim_capital: float = 1_000_000.0
    # Simulated exchange: seed of the price paths; 0 picks a new one each start.
    sim_seed: int = 0
    # Market watch symbols (vt_symbols); empty means every contract of the simulated exchange.
    watchlist: list[str] = field(default_factory=list)
    # Shortest time between two GUI updates, in milliseconds (one frame at 60 Hz).
    frame_ms: int = 16
    # Record ticks and 1-minute bars of subscribed symbols from live gateways to the store.
    record_market_data: bool = True
    # Record the simulated exchange's quotes too (made-up prices; off unless testing).
    record_simulator: bool = False
    # Your own strategy plugins (a folder of .py files with CtaTemplate subclasses); "" for none.
    plugin_folder: str = ""


_RANGES = {
    "sim_quote_rate": (0.01, 1000.0),
    "sim_capital": (1.0, 1e13),
    "sim_seed": (0, 2**31 - 1),
    "frame_ms": (1, 1000),
}


class SettingsError(ValueError):
    pass


def _check(name: str, value, default):
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{name}: expected a list of strings, got {value!r}")
        return list(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise SettingsError(f"{name}: expected text, got {value!r}")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SettingsError(f"{name}: expected true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name}: expected a number, got {value!r}")
    if isinstance(default, int) and not isinstance(default, bool):
        if float(value) != int(value):
            raise SettingsError(f"{name}: expected a whole number, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    low, high = _RANGES[name]
    if not low <= value <= high:
        raise SettingsError(f"{name}: {value!r} is outside {low}..{high}")
    return value


def parse(data: object) -> tuple[Settings, list[str]]:
    """Settings from decoded JSON, with one warning per rejected or unknown key."""
    settings = Settings()
    warnings: list[str] = []
    if not isinstance(data, dict):
        return settings, [f"settings must be a JSON object, got {type(data).__name__}"]
    known = {f.name for f in fields(Settings)}
    for key, value in data.items():
        if key not in known:
            warnings.append(f"{key}: unknown setting, ignored")
            continue
        try:
            setattr(settings, key, _check(key, value, getattr(Settings(), key)))
        except SettingsError as exc:
            warnings.append(f"{exc}; using the default {getattr(Settings(), key)!r}")
    return settings, warnings


def load(path: Path) -> tuple[Settings, list[str]]:
    data, problem = read_or_set_aside(path)
    if data is MISSING:
        return Settings(), [f"{problem}; defaults used"] if problem else []
    return parse(data)


def save(path: Path, settings: Settings) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    os.replace(tmp, path)
