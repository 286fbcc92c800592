"""Which vn.py gateways can be connected: the installed `vnpy_*` packages and the simulator.

Discovery is lazy (the Connect menu asks for it when first opened) and isolated: a package
whose import fails (a missing native library, a broken install) is listed with its error and
every other package is still offered. Packages whose Python sources never mention
`BaseGateway` (databases, apps such as vnpy_ctastrategy) are not imported at all.

A gateway's connect form is a list of `Field`s: CTP and its relatives (same setting keys)
get English labels over vnpy_ctp's Chinese keys and SimNow presets; any other gateway gets a
form built from its `default_setting`.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vnpy.trader.gateway import BaseGateway

from terminal.gateways.sim import SimGateway

log = logging.getLogger(__name__)

PACKAGE_PREFIX = "vnpy_"
_SCAN_LIMIT = 400  # .py files read per package when looking for "BaseGateway"

# vnpy_ctp's setting keys (CtpGateway.default_setting).
USER = "用户名"
PASSWORD = "密码"  # noqa: S105 - the name of the setting, not a password
BROKER = "经纪商代码"
TD_ADDRESS = "交易服务器"
MD_ADDRESS = "行情服务器"
APP_ID = "产品名称"
AUTH_CODE = "授权编码"
ENVIRONMENT = "柜台环境"
PRODUCTION, TEST = "实盘", "测试"
CTP_KEYS = frozenset({USER, PASSWORD, BROKER, TD_ADDRESS, MD_ADDRESS})


@dataclass(frozen=True)
class Field:
    """One input of a connect form, bound to a key of the gateway's setting dict."""

    key: str
    label: str
    kind: str  # "text", "password", "choice", "int", "float", "bool"
    default: Any = ""
    choices: tuple[tuple[Any, str], ...] = ()  # (value, label) for "choice"
    placeholder: str = ""
    required: bool = False
    address: bool = False  # a front address: tcp://host:port


# SimNow's fronts (broker 9999). They have moved before (from 180.168.146.187:10201/10211,
# 10202/10212 and the 7x24 10130/10131 to the addresses below in 2024) and may move again;
# check simnow.com.cn. SimNow is reached with the production API ("实盘"), not the test one.
SIMNOW_COMMON = {BROKER: "9999", APP_ID: "simnow_client_test", AUTH_CODE: "0000000000000000",
                 ENVIRONMENT: PRODUCTION}
SIMNOW_PRESETS: dict[str, dict[str, str]] = {
    "SimNow 7x24 (evenings and weekends)": {
        **SIMNOW_COMMON, TD_ADDRESS: "tcp://182.254.243.31:40001",
        MD_ADDRESS: "tcp://182.254.243.31:40011"},
    "SimNow trading hours, group 1": {
        **SIMNOW_COMMON, TD_ADDRESS: "tcp://182.254.243.31:30001",
        MD_ADDRESS: "tcp://182.254.243.31:30011"},
    "SimNow trading hours, group 2": {
        **SIMNOW_COMMON, TD_ADDRESS: "tcp://182.254.243.31:30002",
        MD_ADDRESS: "tcp://182.254.243.31:30012"},
    "SimNow trading hours, group 3": {
        **SIMNOW_COMMON, TD_ADDRESS: "tcp://182.254.243.31:30003",
        MD_ADDRESS: "tcp://182.254.243.31:30013"},
}

CTP_FIELDS: tuple[Field, ...] = (
    Field(BROKER, "Broker ID", "text", placeholder="e.g. 9999 for SimNow", required=True),
    Field(USER, "User ID", "text", required=True),
    Field(PASSWORD, "Password", "password", required=True),
    Field(AUTH_CODE, "Auth code", "password", placeholder="from your broker"),
    Field(APP_ID, "App ID", "text", placeholder="from your broker"),
    Field(TD_ADDRESS, "Trade server", "text", placeholder="tcp://host:port", required=True,
          address=True),
    Field(MD_ADDRESS, "Market data server", "text", placeholder="tcp://host:port",
          required=True, address=True),
    Field(ENVIRONMENT, "API", "choice", PRODUCTION,
          ((PRODUCTION, "Production (brokers and SimNow)"),
           (TEST, "Test (broker's evaluation environment)"))),
)

# A setting is secret when its name (lower case, without spaces, "_" and "-") holds one of
# these: passwords, CTP's auth code (授权编码), API secrets, tokens. Kept in the keyring or
# asked each time, never written to a file (DESIGN.md §7).
SECRET_MARKERS = ("密码", "口令", "授权编码", "授权码", "认证码", "令牌", "password", "passwd",
                  "passphrase", "secret", "token", "authcode", "authenticationcode",
                  "authorizationcode")


_ADDRESS = re.compile(r"^(?:(?:tcp|ssl)://)?\[?(?P<host>[A-Za-z0-9.\-:]+?)\]?:(?P<port>\d{1,5})/?$")


def parse_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a front address such as ``tcp://180.168.146.187:10201``."""
    match = _ADDRESS.match(str(address or "").strip())
    if match is None or not 0 < int(match["port"]) < 65536:
        return None
    return match["host"], int(match["port"])


def address_problem(address: str) -> str:
    """Why `address` is not a front address ("" when it is one)."""
    address = str(address or "").strip()
    if not address:
        return "required"
    if address.startswith("socks"):
        return ""
    if parse_address(address) is None:
        return "expected tcp://host:port"
    return ""


def is_secret(key: str) -> bool:
    """A setting that must never be written to a file (passwords, auth codes, API secrets,
    tokens). The one rule: the connect form, the profiles file and the keyring follow it."""
    plain = re.sub(r"[\s_\-]", "", str(key)).lower()
    return any(marker in plain for marker in SECRET_MARKERS)


@dataclass(frozen=True)
class GatewayEntry:
    """One connectable gateway, or an installed package that failed to load."""

    name: str  # the gateway name in vn.py's MainEngine, e.g. "CTP"
    package: str  # "vnpy_ctp", or "terminal" for the simulator
    gateway_class: type[BaseGateway] | None = None
    error: str = ""
    builtin: bool = False
    fields: tuple[Field, ...] = field(default=(), compare=False)

    @property
    def available(self) -> bool:
        return self.gateway_class is not None and not self.error

    @property
    def ctp_like(self) -> bool:
        return self.gateway_class is not None and is_ctp_like(self.gateway_class)

    @property
    def label(self) -> str:
        if self.builtin:
            return "Simulated exchange (built in)"
        if self.error:
            return f"{self.package} (cannot load)"
        return f"{self.name} ({self.package})"

    @property
    def presets(self) -> dict[str, dict[str, str]]:
        return SIMNOW_PRESETS if self.package == "vnpy_ctp" else {}


def is_ctp_like(gateway_class: type[BaseGateway]) -> bool:
    """CTP and the gateways built on its API (vnpy_ctptest, vnpy_mini, ...): same setting
    keys, same log messages."""
    return set(getattr(gateway_class, "default_setting", {}) or {}) >= CTP_KEYS


def fields_for(gateway_class: type[BaseGateway]) -> tuple[Field, ...]:
    if is_ctp_like(gateway_class):
        known = {f.key for f in CTP_FIELDS}
        extra = {k: v for k, v in gateway_class.default_setting.items() if k not in known}
        defaults = gateway_class.default_setting
        ctp = tuple(f for f in CTP_FIELDS if f.key in defaults)
        return _secrets_hidden(ctp) + fields_from_setting(extra)
    return fields_from_setting(getattr(gateway_class, "default_setting", {}) or {})


def _secrets_hidden(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    """Every secret text setting is typed into a password box (and so kept like a password:
    in the keyring or nowhere)."""
    return tuple(replace(f, kind="password", default="")
                 if f.kind == "text" and is_secret(f.key) else f for f in fields)


def fields_from_setting(setting: dict) -> tuple[Field, ...]:
    """A form from a vn.py `default_setting`: str -> text (password for secret keys), list ->
    choice, bool -> check box, int/float -> number."""
    fields = []
    for name, value in setting.items():
        key = str(name)
        if isinstance(value, bool):
            fields.append(Field(key, key, "bool", value))
        elif isinstance(value, int):
            fields.append(Field(key, key, "int", value))
        elif isinstance(value, float):
            fields.append(Field(key, key, "float", value))
        elif isinstance(value, (list, tuple)):
            choices = tuple((item, str(item)) for item in value)
            fields.append(Field(key, key, "choice", value[0] if value else "", choices))
        else:
            fields.append(Field(key, key, "text", "" if value is None else str(value)))
    return _secrets_hidden(tuple(fields))


# ---------------------------------------------------------------------------- discovery
_lock = threading.Lock()
_cache: list[GatewayEntry] | None = None


def discover(refresh: bool = False) -> list[GatewayEntry]:
    """The simulator, then every installed `vnpy_*` gateway package (sorted by package).

    Imports the candidate packages on the first call (cached afterwards)."""
    global _cache  # noqa: PLW0603 - one list of installed packages per process
    with _lock:
        if _cache is None or refresh:
            _cache = [_simulator_entry(), *_scan_packages()]
        return list(_cache)


def find(name: str, refresh: bool = False) -> GatewayEntry | None:
    for entry in discover(refresh):
        if entry.name == name and entry.available:
            return entry
    return None


def _simulator_entry() -> GatewayEntry:
    return GatewayEntry(SimGateway.default_name, "terminal", SimGateway, builtin=True,
                        fields=fields_from_setting(SimGateway.default_setting))


def _scan_packages() -> list[GatewayEntry]:
    names = sorted({module.name for module in pkgutil.iter_modules()
                    if module.ispkg and module.name.startswith(PACKAGE_PREFIX)})
    entries: list[GatewayEntry] = []
    taken = {SimGateway.default_name}
    for package in names:
        if not _mentions_gateway(package):
            continue
        try:
            module = importlib.import_module(package)
        except Exception as exc:  # noqa: BLE001 - one broken package never hides the others
            log.warning("gateway package %s cannot be loaded: %s", package, exc)
            entries.append(GatewayEntry(package, package, error=f"{type(exc).__name__}: {exc}"))
            continue
        classes = [value for value in vars(module).values()
                   if isinstance(value, type) and issubclass(value, BaseGateway)
                   and value is not BaseGateway and value.__module__.startswith(package)]
        for gateway_class in sorted(set(classes), key=lambda cls: cls.__name__):
            name = str(getattr(gateway_class, "default_name", "") or gateway_class.__name__)
            if name in taken:
                name = f"{name}_{package.removeprefix(PACKAGE_PREFIX).upper()}"
            taken.add(name)
            entries.append(GatewayEntry(name, package, gateway_class,
                                        fields=fields_for(gateway_class)))
    return entries


def _mentions_gateway(package: str) -> bool:
    """True when the package's sources mention BaseGateway, or when it has no sources to read
    (compiled only: import it to find out)."""
    try:
        spec = importlib.util.find_spec(package)
    except Exception:  # noqa: BLE001 - a broken finder: let the import report it
        return True
    locations = list(spec.submodule_search_locations or []) if spec else []
    sources = 0
    for location in locations:
        for path in Path(location).rglob("*.py"):
            sources += 1
            if sources > _SCAN_LIMIT:
                return True
            try:
                if "BaseGateway" in path.read_text(encoding="utf-8", errors="ignore"):
                    return True
            except OSError:
                continue
    return sources == 0
