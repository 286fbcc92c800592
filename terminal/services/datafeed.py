"""vn.py's datafeed (`vnpy.trader.datafeed`), opened from the terminal's settings.

vn.py reads `SETTINGS["datafeed.name"]` (and the user name and password) and imports the
package `vnpy_<name>`; when that fails it prints a line and carries on with a datafeed that
answers nothing. Here a name with no package installed is a clear error naming the package to
install, and a datafeed that will not log in says what it said. The settings are filled in
right before the datafeed is made; the password (kept in the system keyring under the service
"trading-terminal:datafeed:<name>", never in settings.json) is taken out of vn.py's SETTINGS
again once the datafeed has logged in, so that nothing vn.py saves later can hold it.
SETTINGS is vn.py's one global, so datafeeds are opened one at a time: two charts (or a chart
and a download) opening at once would otherwise log in twice and one's clearing of the
password could blank it while the other is still logging in with it.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import threading

from terminal.gateways.credentials import Secrets
from terminal.services.errors import BadInput

SECRETS_GATEWAY = "datafeed"         # the keyring's service is trading-terminal:datafeed:<name>
SECRET_KEY = "password"  # noqa: S105 - the keyring entry's name, not a password
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_OPENING = threading.Lock()          # held from filling vn.py's SETTINGS to clearing them


class DatafeedMissing(BadInput):
    """A datafeed is configured whose package is not installed."""


def package_of(name: str) -> str:
    return f"vnpy_{name}"


def check_name(name: str) -> str:
    """The configured name, checked; BadInput when none is set or it is not a package name."""
    name = name.strip()
    if not name:
        raise BadInput("no history datafeed is configured: set \"History datafeed\" in "
                       "Settings (datafeed_name, e.g. rqdata for vnpy_rqdata)")
    if not _NAME.fullmatch(name):
        raise BadInput(f"datafeed name {name!r} is not a package name such as rqdata or "
                       "tushare")
    return name


def installed(name: str) -> bool:
    return importlib.util.find_spec(package_of(name)) is not None


def stored_password(name: str, secrets: Secrets | None = None) -> str | None:
    return (secrets or Secrets()).get(SECRETS_GATEWAY, name, SECRET_KEY)


def keep_password(name: str, password: str, secrets: Secrets | None = None) -> bool:
    """The datafeed's password or token into the keyring; False when there is none (then it
    is asked each time)."""
    return (secrets or Secrets()).set(SECRETS_GATEWAY, check_name(name), SECRET_KEY, password)


def open_datafeed(name: str, username: str, password: str):
    """vn.py's datafeed `vnpy_<name>`, logged in. DatafeedMissing names the package to install
    when it is not; BadInput says what the datafeed said when it will not start."""
    name = check_name(name)
    package = package_of(name)
    if not installed(name):
        raise DatafeedMissing(f"the history datafeed {name!r} needs the package {package}, "
                              f"which is not installed: pip install {package}")
    from vnpy.trader.setting import SETTINGS

    messages: list[str] = []
    with _OPENING:
        SETTINGS["datafeed.name"] = name
        SETTINGS["datafeed.username"] = username
        SETTINGS["datafeed.password"] = password
        try:
            module = importlib.import_module(package)
            datafeed = module.Datafeed()
            started = datafeed.init(messages.append)
        except Exception as exc:  # a third-party package fails in its own ways
            raise BadInput(f"datafeed {name} ({package}) failed to start: "
                           f"{type(exc).__name__}: {exc}") from exc
        finally:
            SETTINGS["datafeed.password"] = ""
    if not started:
        raise BadInput(f"datafeed {name} did not log in"
                       + (": " + "; ".join(map(str, messages)) if messages else ""))
    return datafeed


def opener(name: str, username: str):
    """What a chart calls to open the configured datafeed when the store and the gateway have
    no history: (name, datafeed) with the keyring's password, or None when no datafeed is
    set. Raises as open_datafeed does (the chart shows why)."""
    if not name.strip():
        return None

    def open_configured():
        checked = check_name(name)
        password = stored_password(checked) if installed(checked) else ""
        return checked, open_datafeed(checked, username, password or "")

    return open_configured
