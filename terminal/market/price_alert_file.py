"""The price alerts' file in the data directory: one JSON file, written atomically after each
change, read at start.

Failing closed here means the trader is told, never that alerts silently vanish: a damaged
file is kept aside as `<name>.broken-<time>` and the problem is returned for the runtime to
raise as a severe alert; a file with some entries that cannot be read keeps its readable
alerts, the whole file is kept aside all the same, and the message names each entry left out
and why. A file of a newer format is neither read nor moved: `NewerFormat` is raised, and the
runtime refuses every change (nothing is written over it) until the trader deals with it.
"""

from __future__ import annotations

from pathlib import Path

from terminal.core.aside import set_aside
from terminal.core.jsonfile import MISSING, read_or_set_aside, write_json
from terminal.market.price_alerts import PriceAlert, PriceAlertError

FORMAT = 1


class NewerFormat(PriceAlertError):
    """The file was written by a newer terminal: not read, and not to be written over."""


def read(path: Path) -> tuple[list[PriceAlert], str]:
    """(the alerts, "") ; ([], "") when there is no file; (what could be read, the problem)
    when the file or some of its entries could not be read (the file is then kept aside);
    `NewerFormat` (the file left where it is) when a newer terminal wrote it."""
    raw, why = read_or_set_aside(path)
    if raw is MISSING:
        return [], (f"The price alerts could not be read: {why}. No price alert is being "
                    f"watched until they are set again." if why else "")
    alerts, problems, ids = [], [], set()
    try:
        items = _items(raw)
    except NewerFormat as exc:
        raise NewerFormat(f"The price alerts in {path.name} were saved by a newer version of "
                          f"the terminal ({exc}): none is watched, and none can be set or "
                          f"changed here until the file is dealt with (open it with that "
                          f"version, or move it out of {path.parent})") from None
    except PriceAlertError as exc:
        return [], _kept_aside(path, f"{path.name}: {exc}", "No price alert is being watched "
                               "until they are set again.")
    for index, item in enumerate(items):
        try:
            alert = PriceAlert.from_dict(item)
            if alert.id in ids:
                raise PriceAlertError(f"id: {alert.id} is there twice")
        except PriceAlertError as exc:
            name = item.get("id", "") if isinstance(item, dict) else ""
            problems.append(f"alerts[{index}]{f' ({name})' if name else ''}: {exc}")
            continue
        ids.add(alert.id)
        alerts.append(alert)
    if problems:
        return alerts, _kept_aside(path, f"{len(problems)} of the price alerts in {path.name} "
                                   f"could not be read ({'; '.join(problems)})",
                                   f"The other {len(alerts)} are watched.")
    return alerts, ""


def _items(raw) -> list:
    if not isinstance(raw, dict):
        raise PriceAlertError("not an object")
    version = raw.get("format")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise PriceAlertError(f"format: {version!r} is not a format number")
    if version > FORMAT:
        raise NewerFormat(f"format {version}, this version reads {FORMAT}")
    items = raw.get("alerts")
    if not isinstance(items, list):
        raise PriceAlertError("alerts: not a list")
    return items


def _kept_aside(path: Path, problem: str, consequence: str) -> str:
    try:
        kept = f"the file is kept as {set_aside(path).name}"
    except OSError as exc:
        kept = f"the file could not be kept aside ({exc})"
    return f"{problem}; {kept}. {consequence}"


def write(path: Path, alerts: list[PriceAlert]) -> None:
    """Atomically (OSError when it cannot)."""
    write_json(path, {"format": FORMAT, "alerts": [alert.to_dict() for alert in alerts]},
               indent=1)
