"""Named order templates: the stop distance, 1 to 3 profit targets with their lots, the move
to breakeven and the trailing of a bracket, chosen in the ticket, on the chart and on the
ladder.

Distances are in ticks of the contract, so one template serves every symbol. Target lots are
for the template's own total; an order of another size shares its lots out in the same
proportions (`Target.lots_for`), the largest remainders first, and a target left with no lot
is dropped (never a zero-lot order).

One JSON file (`DataPaths.order_templates_file`), written whole and atomically after every
change. A file that cannot be read, or holds a template that breaks a rule, is kept aside and
named in `problem`; the terminal starts with none rather than a part of them.

Format: {"version": 1, "default": "<name>" or null,
         "templates": [{"name": "Scalp", "stop_ticks": 8, "targets": [[8, 1], [16, 1]],
                        "breakeven_after": 6, "breakeven_offset": 1, "trail_ticks": 0,
                        "trail_atr": 0.0, "atr_period": 14, "stop_limit_ticks": null}]}
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from terminal.core import names
from terminal.core.jsonfile import MISSING, read_or_set_aside, write_json

VERSION = 1
MAX_TARGETS = 3
MAX_TICKS = 100_000


class TemplateError(ValueError):
    """A template or a file that cannot be used; the message names the field and value."""


@dataclass(frozen=True)
class Target:
    ticks: int          # from the entry's fill price, in the profit direction
    volume: int         # lots, of the template's total


@dataclass(frozen=True)
class BracketTemplate:
    name: str
    stop_ticks: int                         # stop loss distance from the entry's fill
    targets: tuple[Target, ...] = ()        # 0 to 3
    breakeven_after: int = 0                # ticks of profit that move the stop; 0 = off
    breakeven_offset: int = 0               # ticks beyond the entry the stop moves to
    trail_ticks: int = 0                    # trailing distance in ticks; 0 = off
    trail_atr: float = 0.0                  # trailing distance as a multiple of ATR; 0 = off
    atr_period: int = 14                    # ATR of this many 1-minute bars
    stop_limit_ticks: int | None = None     # None: the stop sends a marketable order;
                                            # n: a limit n ticks through the trigger

    def __post_init__(self) -> None:
        check(self)

    @property
    def total(self) -> int:
        return sum(target.volume for target in self.targets)

    def target_lots(self, volume: int) -> list[tuple[int, int]]:
        """(ticks, lots) of each target for an order of `volume` lots, lots in proportion to
        the template's and summing to `volume` (largest remainders first); no zero-lot
        target."""
        total = self.total
        if not self.targets or total <= 0:
            return []
        shares = [volume * t.volume / total for t in self.targets]
        lots = [math.floor(s) for s in shares]
        order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - lots[i]), i))
        for i in order[:int(volume - sum(lots))]:
            lots[i] += 1
        return [(t.ticks, n) for t, n in zip(self.targets, lots, strict=True) if n > 0]

    def describe(self) -> str:
        parts = [f"stop {self.stop_ticks} ticks"]
        if self.targets:
            parts.append("targets " + ", ".join(f"{t.ticks}t x{t.volume}" for t in self.targets))
        if self.breakeven_after:
            parts.append(f"breakeven after {self.breakeven_after}t (+{self.breakeven_offset})")
        if self.trail_ticks:
            parts.append(f"trailing {self.trail_ticks}t")
        elif self.trail_atr:
            parts.append(f"trailing {self.trail_atr:g} x ATR{self.atr_period}")
        if self.stop_limit_ticks is not None:
            parts.append(f"stop-limit {self.stop_limit_ticks}t")
        return " · ".join(parts)


def _whole(value: Any, field: str, low: int, high: int = MAX_TICKS) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TemplateError(f"{field} must be a whole number from {low} to {high}, "
                            f"not {value!r}")


def check(t: BracketTemplate) -> None:
    """TemplateError naming the first field that breaks a rule."""
    try:
        names.check_name(t.name, "template")
    except names.BadName as exc:
        raise TemplateError(str(exc)) from None
    _whole(t.stop_ticks, "stop_ticks", 1)
    if not isinstance(t.targets, tuple) or len(t.targets) > MAX_TARGETS:
        raise TemplateError(f"a template has 0 to {MAX_TARGETS} targets, not "
                            f"{len(t.targets) if isinstance(t.targets, tuple) else t.targets!r}")
    for n, target in enumerate(t.targets, 1):
        if not isinstance(target, Target):
            raise TemplateError(f"target {n} is not a (ticks, lots) pair: {target!r}")
        _whole(target.ticks, f"target {n} ticks", 1)
        _whole(target.volume, f"target {n} lots", 1, 10_000)
    ticks = [target.ticks for target in t.targets]
    if ticks != sorted(set(ticks)):
        raise TemplateError(f"targets must be further and further away: {ticks}")
    _whole(t.breakeven_after, "breakeven_after", 0)
    _whole(t.breakeven_offset, "breakeven_offset", 0)
    if t.breakeven_after and t.breakeven_offset >= t.breakeven_after:
        raise TemplateError(f"breakeven_offset ({t.breakeven_offset}) must be below "
                            f"breakeven_after ({t.breakeven_after}): the stop would pass the "
                            "price")
    _whole(t.trail_ticks, "trail_ticks", 0)
    if isinstance(t.trail_atr, bool) or not isinstance(t.trail_atr, (int, float)) \
            or not 0 <= t.trail_atr <= 100:
        raise TemplateError(f"trail_atr must be a number from 0 to 100, not {t.trail_atr!r}")
    if t.trail_ticks and t.trail_atr:
        raise TemplateError("trail by ticks or by ATR, not both")
    _whole(t.atr_period, "atr_period", 2, 1000)
    if t.stop_limit_ticks is not None:
        _whole(t.stop_limit_ticks, "stop_limit_ticks", 0)


def to_dict(t: BracketTemplate) -> dict[str, Any]:
    data = asdict(t)
    data["targets"] = [[target.ticks, target.volume] for target in t.targets]
    return data


def from_dict(data: Any) -> BracketTemplate:
    if not isinstance(data, dict):
        raise TemplateError(f"a template must be an object, not {data!r:.60}")
    known = set(BracketTemplate.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise TemplateError(f"template {data.get('name')!r}: unknown field(s) {unknown}")
    values = dict(data)
    targets = values.get("targets", [])
    if not isinstance(targets, list) or not all(
            isinstance(pair, list) and len(pair) == 2 for pair in targets):
        raise TemplateError(f"template {data.get('name')!r}: targets must be [ticks, lots] "
                            f"pairs, not {targets!r:.80}")
    values["targets"] = tuple(Target(*pair) for pair in targets)
    try:
        return BracketTemplate(**values)
    except TypeError as exc:
        raise TemplateError(f"template {data.get('name')!r}: {exc}") from None


class OrderTemplates:
    """The named templates, kept in one file. Thread-safe (GUI windows read it)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._templates: dict[str, BracketTemplate] = {}
        self._default: str | None = None
        self.problem = ""
        self._read()

    def _read(self) -> None:
        data, why = read_or_set_aside(self.path)
        if data is MISSING:
            self.problem = why
            return
        try:
            if not isinstance(data, dict) or data.get("version") != VERSION:
                raise TemplateError(f"not a version {VERSION} order templates file")
            found = [from_dict(item) for item in data.get("templates", [])]
            default = data.get("default")
        except TemplateError as exc:
            from terminal.core.aside import set_aside
            try:
                kept = f"kept as {set_aside(self.path).name}"
            except OSError:
                kept = "could not be moved aside"
            self.problem = f"{self.path.name} cannot be used ({exc}); the file {kept}"
            return
        self._templates = {t.name.casefold(): t for t in found}
        self._default = default if isinstance(default, str) and \
            default.casefold() in self._templates else None

    def _write(self) -> None:
        write_json(self.path, {"version": VERSION, "default": self._default,
                               "templates": [to_dict(t) for t in self._templates.values()]})

    def names(self) -> list[str]:
        with self._lock:
            return [t.name for t in self._templates.values()]

    def get(self, name: str) -> BracketTemplate:
        with self._lock:
            found = self._templates.get(str(name).strip().casefold())
        if found is None:
            raise TemplateError(f"no order template named {name!r}")
        return found

    def save(self, template: BracketTemplate) -> None:
        check(template)
        with self._lock:
            self._templates[template.name.casefold()] = template
            self._write()

    def put(self, template: BracketTemplate, replaces: str = "",
            default: bool | None = None) -> None:
        """Save `template` in one write: instead of the one named `replaces` (a rename),
        and the default or no longer (`default` None: as it was)."""
        check(template)
        with self._lock:
            key = template.name.casefold()
            was_default = self._default is not None and self._default.casefold() in (
                key, replaces.strip().casefold())
            if replaces and replaces.strip().casefold() != key:
                self._templates.pop(replaces.strip().casefold(), None)
            self._templates[key] = template
            if default or (default is None and was_default):
                self._default = template.name
            elif was_default:
                self._default = None
            self._write()

    def delete(self, name: str) -> None:
        with self._lock:
            if self._templates.pop(str(name).strip().casefold(), None) is None:
                raise TemplateError(f"no order template named {name!r}")
            if self._default and self._default.casefold() == name.strip().casefold():
                self._default = None
            self._write()

    @property
    def default(self) -> str | None:
        return self._default

    @default.setter
    def default(self, name: str | None) -> None:
        with self._lock:
            if name is not None and str(name).strip().casefold() not in self._templates:
                raise TemplateError(f"no order template named {name!r}")
            self._default = None if name is None else \
                self._templates[str(name).strip().casefold()].name
            self._write()
