"""Price alerts: a price level, or a line the trader drew, that tells the trader when the last
price crosses or touches it.

A `PriceAlert` is an immutable value, validated when made (the error names the field). What it
watches is a level, or a copy of a line drawing (horizontal line or ray, trend line, ray,
extended line) that follows the drawing as it is moved. Conditions:

- crossing up: the previous last price was below the line and the new one is at or above it;
- crossing down: the previous last price was above the line and the new one at or below it;
- touching: the last price equals the line, or crossed it either way.

Prices are compared on the contract's tick grid (a sloping line's price is rounded to the
nearest tick), so 3,650 typed and 3,650 traded are equal. A line that moves with time (a trend
line, ray or extended line) crosses the price too: a rising line passing through a still price
is that price crossing the line down.

An alert fires once (then it stays in the list, disabled, marked fired) or every time: after
firing it waits until the price has moved `rearm` away from the line, on either side, and then
fires again at the next crossing. The checks themselves are in `market.alert_watch`; the book
of every symbol's alerts is `market.alert_book.PriceAlerts`.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from terminal.market.drawings import Drawing, DrawingError, line_price

ALERT_RULE = "price_alert"                       # the rule of the Alert a firing raises
LEVEL = "level"
LINE_KINDS = ("hline", "hray", "trend", "ray", "extended")
# A symbol's alerts changed (data: its vt_symbol): the views learn it through the event bridge.
EVENT_PRICE_ALERTS = "ePriceAlerts"
MOVING_KINDS = ("trend", "ray", "extended")       # their price changes with time
CROSS_UP, CROSS_DOWN, TOUCH = "cross_up", "cross_down", "touch"
CONDITIONS = {CROSS_UP: "crossed up", CROSS_DOWN: "crossed down", TOUCH: "touched"}
CONDITION_LABELS = {CROSS_UP: "Crossing up", CROSS_DOWN: "Crossing down", TOUCH: "Touching"}
KIND_LABELS = {LEVEL: "price level", "hline": "horizontal line", "hray": "horizontal ray",
               "trend": "trend line", "ray": "ray", "extended": "extended line"}
FIRED = "fired"                                  # why a once alert is disabled
LINE_DELETED = "its line was deleted"            # why a drawing's alert is disabled
MAX_NOTE = 300

_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_FIELDS = ("id", "vt_symbol", "condition", "level", "drawing", "once", "rearm", "enabled",
           "note", "created_ns", "fired_ns", "fired_price", "fired_count", "armed", "reason")



class PriceAlertError(ValueError):
    """An alert (or a change to one) that cannot be: the message names the field."""


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise PriceAlertError(f"{name}: {value!r} is not a finite number")
    return float(value)


def _integer(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PriceAlertError(f"{name}: {value!r} is not a whole number of at least 0")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise PriceAlertError(f"{name}: {value!r} is not true or false")
    return value


@dataclass(frozen=True)
class PriceAlert:
    id: str
    vt_symbol: str
    condition: str                   # one of CONDITIONS
    level: float = 0.0               # the price of a level alert (no drawing)
    drawing: Drawing | None = None   # the line watched: a copy of the trader's drawing
    once: bool = True                # False: every time, re-armed `rearm` away from the line
    rearm: float = 0.0               # price distance; above 0 for an every-time alert
    enabled: bool = True
    note: str = ""
    created_ns: int = 0              # UTC epoch ns
    fired_ns: int = 0                # the last firing (the tick's time); 0: never
    fired_price: float = 0.0         # the last price that fired it
    fired_count: int = 0
    armed: bool = True               # an every-time alert that fired waits for the re-arm
    reason: str = ""                 # why it is disabled ("" when the trader disabled it)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise PriceAlertError(f"id: {self.id!r} is not 1-64 letters, digits, '-' or '_'")
        if not isinstance(self.vt_symbol, str) or "." not in self.vt_symbol.strip(". "):
            raise PriceAlertError(f"vt_symbol: {self.vt_symbol!r} is not SYMBOL.EXCHANGE")
        if self.condition not in CONDITIONS:
            raise PriceAlertError(f"condition: {self.condition!r} is not one of "
                                  f"{', '.join(CONDITIONS)}")
        if self.drawing is None:
            level = _number(self.level, "level")
            if level <= 0:
                raise PriceAlertError(f"level: {level:g} is not a price above 0")
            object.__setattr__(self, "level", level)
        elif not isinstance(self.drawing, Drawing):
            raise PriceAlertError(f"drawing: {self.drawing!r} is not a drawing")
        elif self.drawing.kind not in LINE_KINDS:
            raise PriceAlertError(f"drawing: a {self.drawing.kind} cannot carry an alert; "
                                  f"only {', '.join(LINE_KINDS)}")
        _flag(self.once, "once")
        rearm = _number(self.rearm, "rearm")
        if rearm < 0 or (not self.once and rearm == 0):
            raise PriceAlertError(f"rearm: {rearm:g}; an alert firing every time needs a "
                                  f"re-arm distance above 0")
        object.__setattr__(self, "rearm", rearm)
        for name in ("enabled", "armed"):
            _flag(getattr(self, name), name)
        if not isinstance(self.note, str) or len(self.note) > MAX_NOTE:
            raise PriceAlertError(f"note: not a text of at most {MAX_NOTE} characters")
        for name in ("created_ns", "fired_ns", "fired_count"):
            _integer(getattr(self, name), name)
        object.__setattr__(self, "fired_price", _number(self.fired_price, "fired_price"))
        if not isinstance(self.reason, str):
            raise PriceAlertError(f"reason: {self.reason!r} is not a text")

    # ------------------------------------------------------------------ what it watches
    @property
    def kind(self) -> str:
        return LEVEL if self.drawing is None else self.drawing.kind

    @property
    def drawing_id(self) -> str:
        return "" if self.drawing is None else self.drawing.id

    @property
    def moving(self) -> bool:
        """Whether its line's price changes with time (recomputed each minute)."""
        return self.drawing is not None and self.drawing.kind in MOVING_KINDS

    @property
    def timed(self) -> bool:
        """Whether where its line is depends on time (all but levels and horizontal lines:
        a horizontal ray starts at its anchor)."""
        return self.drawing is not None and self.drawing.kind != "hline"

    def line_at(self, time_ns: int, minutes: Callable[[int, int], float]) -> float | None:
        """The price it watches at `time_ns`; None where its line is not (before a ray
        starts, outside a trend segment)."""
        if self.drawing is None:
            return self.level
        return line_price(self.drawing, time_ns, minutes)

    def describe(self, price_text: Callable[[float], str] = "{:,g}".format) -> str:
        """"crosses up 3,650 (trend line)"-like words for lists and menus."""
        what = KIND_LABELS[self.kind]
        if self.drawing is None:
            return f"{CONDITION_LABELS[self.condition]} {price_text(self.level)} ({what})"
        return f"{CONDITION_LABELS[self.condition]} the {what}"

    # ------------------------------------------------------------------ changes
    def edited(self, **fields: Any) -> PriceAlert:
        """The alert changed by the trader: what it watches or how; armed again, and the
        reason it was disabled gone when it is enabled."""
        changed = replace(self, **fields, armed=True)
        if changed.enabled:
            changed = replace(changed, reason="")
        return changed

    def fired(self, time_ns: int, price: float) -> PriceAlert:
        """The alert after firing at `price`: a once alert disabled (marked fired), an
        every-time alert waiting for its re-arm."""
        done = replace(self, fired_ns=int(time_ns), fired_price=float(price),
                       fired_count=self.fired_count + 1)
        if self.once:
            return replace(done, enabled=False, reason=FIRED)
        return replace(done, armed=False)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        return {
            "id": self.id, "vt_symbol": self.vt_symbol, "condition": self.condition,
            "level": self.level,
            "drawing": None if self.drawing is None else self.drawing.to_dict(),
            "once": self.once, "rearm": self.rearm, "enabled": self.enabled,
            "note": self.note, "created_ns": self.created_ns, "fired_ns": self.fired_ns,
            "fired_price": self.fired_price, "fired_count": self.fired_count,
            "armed": self.armed, "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> PriceAlert:
        """The alert `raw` describes; `PriceAlertError` naming the field when it cannot be.
        Fields this version does not know are refused (no newer version writes any yet)."""
        if not isinstance(raw, dict):
            raise PriceAlertError(f"an alert is an object, not {type(raw).__name__}")
        unknown = sorted(set(raw) - set(_FIELDS))
        if unknown:
            raise PriceAlertError(f"{unknown[0]}: not a field of a price alert")
        for name in ("id", "vt_symbol", "condition"):
            if name not in raw:
                raise PriceAlertError(f"{name}: missing")
        fields = {name: raw[name] for name in _FIELDS if name in raw}
        if fields.get("drawing") is not None:
            try:
                fields["drawing"] = Drawing.from_dict(fields["drawing"])
            except DrawingError as exc:
                raise PriceAlertError(f"drawing: {exc}") from None
        return cls(**fields)


def new_alert(vt_symbol: str, condition: str, *, level: float = 0.0,
              drawing: Drawing | None = None, created_ns: int = 0, **fields: Any) -> PriceAlert:
    """A new alert with a fresh id; `PriceAlertError` naming the field when it cannot be."""
    if "id" in fields:
        raise PriceAlertError("id: a new alert gets its own")
    if (drawing is None) == (not level):
        raise PriceAlertError("level: an alert watches either a level or a drawing")
    return PriceAlert(id=uuid.uuid4().hex, vt_symbol=vt_symbol, condition=condition,
                      level=level, drawing=drawing, created_ns=created_ns, **fields)
