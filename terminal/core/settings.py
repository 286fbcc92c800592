"""The terminal's own settings file (`settings.json` in the data directory).

Each field is declared once with its type, range or choices, default, label and help
(`terminal.core.fields`); the loader checks values with that description and the settings
dialog builds its editors from it (`SPECS`).

A bad value never stops the terminal: it is reported by key and replaced by its default.
A file that is not valid JSON is moved aside (kept for the user) and defaults are used.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from terminal.core.fields import FieldError, described, specs
from terminal.core.jsonfile import MISSING, read_or_set_aside, write_json

log = logging.getLogger(__name__)


@dataclass
class Settings:
    sim_quote_rate: float = described(
        2.0, "Simulated exchange: quote snapshots per second per contract (CTP sends about 2).",
        label="Simulator quote rate", unit="per second", low=0.01, high=1000.0)
    sim_capital: float = described(
        1_000_000.0, "Simulated exchange: starting balance of the simulated account, in CNY.",
        label="Simulator starting capital", unit="CNY", low=1.0, high=1e13)
    sim_seed: int = described(
        0, "Simulated exchange: seed of the price paths; 0 picks a new one each start.",
        label="Simulator price seed", low=0, high=2**31 - 1)
    watchlist: list[str] = described(  # noqa: RUF009 - a list gets a default_factory
        [], "Market watch symbols such as rb2701.SHFE; empty means every contract of the "
        "simulated exchange.", label="Watchlist")
    frame_ms: int = described(
        16, "Shortest time between two GUI updates, in milliseconds (one frame at 60 Hz).",
        label="GUI frame", unit="ms", low=1, high=1000)
    record_market_data: bool = described(
        True, "Record ticks and 1-minute bars of subscribed symbols from live gateways to the "
        "store.", label="Record market data")
    record_simulator: bool = described(
        False, "Record the simulated exchange's quotes too (made-up prices; off unless "
        "testing).", label="Record the simulator's quotes")
    datafeed_name: str = described(
        "", "vn.py datafeed for history downloads and charts, by its package's name without "
        "vnpy_ (rqdata for vnpy_rqdata, tushare, ...); \"\" for none. Its password or token "
        "is kept in the system keyring, never in this file.", label="History datafeed")
    datafeed_username: str = described(
        "", "User name (or account) of the history datafeed.", label="Datafeed user name")
    plugin_folder: str = described(
        "", "Your own strategy plugins (a folder of .py files with CtaTemplate subclasses); "
        "\"\" for none.", label="Strategy plugin folder")
    plugin_check_seconds: float = described(
        10.0, "How long a plugin file may take to import when it is checked (in a separate "
        "process, before the terminal imports it); a file still importing after that is "
        "listed as not loaded.", label="Plugin check time limit", unit="s", low=0.1,
        high=3600.0)
    theme: str = described(
        "dark", "Colour theme of the windows and charts.", label="Theme",
        choices=("dark", "light"))
    shortcuts: dict[str, str] = described(  # noqa: RUF009 - a dict gets a default_factory
        {}, "Keyboard shortcuts changed from their defaults: action id -> key sequence "
        "(\"\" for none).", label="Keyboard shortcuts")


# The description of every field by name, in the file's order.
SPECS = specs(Settings)


def parse(data: object) -> tuple[Settings, list[str]]:
    """Settings from decoded JSON, with one warning per rejected or unknown key."""
    settings = Settings()
    warnings: list[str] = []
    if not isinstance(data, dict):
        return settings, [f"settings must be a JSON object, got {type(data).__name__}"]
    for key, value in data.items():
        spec = SPECS.get(key)
        if spec is None:
            shown = key if len(key) <= 80 else f"{key[:76]}..."
            warnings.append(f"{shown}: unknown setting, ignored")
            continue
        try:
            setattr(settings, key, spec.check(value))
        except FieldError as exc:
            warnings.append(f"{exc}; using the default {spec.default!r}")
    return settings, warnings


def load(path: Path) -> tuple[Settings, list[str]]:
    data, problem = read_or_set_aside(path)
    if data is MISSING:
        return Settings(), [f"{problem}; defaults used"] if problem else []
    return parse(data)


def save(path: Path, settings: Settings) -> None:
    write_json(path, asdict(settings))
