"""The terminal's own settings file (`settings.json` in the data directory).

A bad value never stops the terminal: it is reported by key and replaced by its default.
A file that is not valid JSON is moved aside (kept for the user) and defaults are used.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from terminal.core.jsonfile import MISSING, read_or_set_aside, write_json

log = logging.getLogger(__name__)


def _doc(text: str) -> dict:
    """A field's help text: shown by the settings dialog, kept beside the field."""
    return {"help": text}


@dataclass
class Settings:
    sim_quote_rate: float = field(default=2.0, metadata=_doc(
        "Simulated exchange: quote snapshots per second per contract (CTP sends about 2)."))
    sim_capital: float = field(default=1_000_000.0, metadata=_doc(
        "Simulated exchange: starting balance of the simulated account, in CNY."))
    sim_seed: int = field(default=0, metadata=_doc(
        "Simulated exchange: seed of the price paths; 0 picks a new one each start."))
    watchlist: list[str] = field(default_factory=list, metadata=_doc(
        "Market watch symbols (vt_symbols); empty means every contract of the simulated "
        "exchange."))
    frame_ms: int = field(default=16, metadata=_doc(
        "Shortest time between two GUI updates, in milliseconds (one frame at 60 Hz)."))
    record_market_data: bool = field(default=True, metadata=_doc(
        "Record ticks and 1-minute bars of subscribed symbols from live gateways to the store."))
    record_simulator: bool = field(default=False, metadata=_doc(
        "Record the simulated exchange's quotes too (made-up prices; off unless testing)."))
    plugin_folder: str = field(default="", metadata=_doc(
        "Your own strategy plugins (a folder of .py files with CtaTemplate subclasses); "
        "\"\" for none."))
    plugin_check_seconds: float = field(default=10.0, metadata=_doc(
        "How long a plugin file may take to import when it is checked (in a separate "
        "process, before the terminal imports it); a file still importing after that is "
        "listed as not loaded."))
    theme: str = field(default="dark", metadata=_doc(
        "Colour theme of the windows and charts: \"dark\" or \"light\"."))
    shortcuts: dict[str, str] = field(default_factory=dict, metadata=_doc(
        "Keyboard shortcuts changed from their defaults: action id -> key sequence "
        "(\"\" for none)."))


def help_text(name: str) -> str:
    """The help text of the setting `name`."""
    return next((f.metadata.get("help", "") for f in fields(Settings) if f.name == name), "")


_CHOICES = {
    "theme": ("dark", "light"),
}
_RANGES = {
    "sim_quote_rate": (0.01, 1000.0),
    "sim_capital": (1.0, 1e13),
    "sim_seed": (0, 2**31 - 1),
    "frame_ms": (1, 1000),
    "plugin_check_seconds": (0.1, 3600.0),
}


class SettingsError(ValueError):
    pass


def _shown(value: object, limit: int = 80) -> str:
    """A value as a warning quotes it: repr, cut short when long."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 4]}...{text[-1]}"


def _check(name: str, value, default):
    if isinstance(default, dict):
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise SettingsError(f"{name}: expected a table of text to text, got {_shown(value)}")
        return dict(value)
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{name}: expected a list of strings, got {_shown(value)}")
        return list(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise SettingsError(f"{name}: expected text, got {_shown(value)}")
        if name in _CHOICES and value not in _CHOICES[name]:
            raise SettingsError(f"{name}: expected one of {', '.join(_CHOICES[name])}, "
                                f"got {_shown(value)}")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise SettingsError(f"{name}: expected true or false, got {_shown(value)}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name}: expected a number, got {_shown(value)}")
    whole = isinstance(default, int) and not isinstance(default, bool)
    if whole and isinstance(value, float) and not value.is_integer():  # NaN and inf too
        raise SettingsError(f"{name}: expected a whole number, got {_shown(value)}")
    low, high = _RANGES[name]
    if not low <= value <= high:  # compared as given: an int beyond any float, or NaN, fails
        raise SettingsError(f"{name}: {_shown(value)} is outside {low}..{high}")
    return int(value) if whole else float(value)


def parse(data: object) -> tuple[Settings, list[str]]:
    """Settings from decoded JSON, with one warning per rejected or unknown key."""
    settings = Settings()
    warnings: list[str] = []
    if not isinstance(data, dict):
        return settings, [f"settings must be a JSON object, got {type(data).__name__}"]
    known = {f.name for f in fields(Settings)}
    for key, value in data.items():
        if key not in known:
            shown = key if len(key) <= 80 else f"{key[:76]}..."
            warnings.append(f"{shown}: unknown setting, ignored")
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
    write_json(path, asdict(settings))
