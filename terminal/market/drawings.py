"""What a trader draws on a symbol's charts: lines, zones, Fibonacci levels and notes anchored
on time and price, so one drawing shows on every chart of the symbol at every timeframe.

A `Drawing` is an immutable value, validated when made: a bad one cannot exist, and the error
names the field. A `DrawingBook` holds one symbol's drawings in z order with undo and redo,
and tells its listeners after every change. `Drawings` is every symbol's books, read lazily
from the data directory (one JSON file per symbol) and written atomically after each change.

Fields this version does not know (written by a newer one) are kept: read into `extra` and
written back unchanged, so opening a data directory with an older terminal loses nothing. A
file of a newer *format* (an incompatible change) is not read and never overwritten: its book
is empty and refuses changes, and the problem is reported.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from terminal.core.aside import set_aside
from terminal.core.jsonfile import write_json

log = logging.getLogger(__name__)

KINDS = ("trend", "ray", "extended", "hline", "hray", "vline", "rectangle", "channel",
         "fib", "text")
ANCHORS = {"trend": 2, "ray": 2, "extended": 2, "hline": 1, "hray": 1, "vline": 1,
           "rectangle": 2, "channel": 3, "fib": 2, "text": 1}
FIB_LEVELS = (0.0, 0.236, 0.382, 0.5, 0.618, 0.786, 1.0)
DASHES = ("solid", "dash", "dot")
WIDTHS = (0.5, 8.0)
MAX_TEXT = 500
MAX_LEVELS = 24
LEVEL_RANGE = (-10.0, 10.0)       # a fib level is a fraction of the span: 1.618, -0.272 ...
UNDO_DEPTH = 200
FORMAT = 1                        # of a symbol's file; a newer number is not read
# The times an anchor read from a file may have (UTC epoch ns, 1990-01-01 .. 2100-01-01): a
# number far outside is damage, and would overflow the trading-minute arithmetic.
TIME_RANGE_NS = (631_152_000 * 10**9, 4_102_444_800 * 10**9)
TIME_RANGE_TEXT = "1990-01-01 to 2100-01-01"

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_FIELDS = ("id", "kind", "anchors", "style", "locked", "text", "levels")


class DrawingError(ValueError):
    """A drawing (or a change to one) that cannot be: the message names the field."""


def _finite(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise DrawingError(f"{name}: {value!r} is not a finite number")
    return float(value)


@dataclass(frozen=True)
class Anchor:
    time_ns: int          # UTC epoch ns of the bar's start time (as BarSeries.times holds)
    price: float

    def __post_init__(self) -> None:
        if isinstance(self.time_ns, bool) or not isinstance(self.time_ns, int):
            raise DrawingError(f"time_ns: {self.time_ns!r} is not an integer")
        object.__setattr__(self, "price", _finite(self.price, "price"))


@dataclass(frozen=True)
class Style:
    color: str = "#2f80ed"   # "#rrggbb"
    width: float = 1.5       # 0.5 .. 8
    dash: str = "solid"      # one of DASHES

    def __post_init__(self) -> None:
        if not isinstance(self.color, str) or not _COLOR.match(self.color):
            raise DrawingError(f"style.color: {self.color!r} is not a colour like #2f80ed")
        width = _finite(self.width, "style.width")
        if not WIDTHS[0] <= width <= WIDTHS[1]:
            raise DrawingError(f"style.width: {width:g} is outside {WIDTHS[0]:g}..{WIDTHS[1]:g}")
        object.__setattr__(self, "color", self.color.lower())
        object.__setattr__(self, "width", width)
        if self.dash not in DASHES:
            raise DrawingError(f"style.dash: {self.dash!r} is not one of {', '.join(DASHES)}")


@dataclass(frozen=True)
class Drawing:
    id: str                          # uuid4().hex, made by `new_drawing`
    kind: str                        # one of KINDS
    anchors: tuple[Anchor, ...]      # ANCHORS[kind] of them; channel: two points of the
                                     # first line and one point the parallel line goes through
    style: Style = Style()
    locked: bool = False             # a locked drawing is not moved/edited/deleted by the mouse
    text: str = ""                   # the note of a "text" drawing (<= 500 chars)
    levels: tuple[float, ...] = ()   # fib levels; () means FIB_LEVELS
    # Fields of a newer version, as (name, JSON text) pairs: kept and written back unchanged.
    extra: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise DrawingError(f"id: {self.id!r} is not 1-64 letters, digits, '-' or '_'")
        if self.kind not in KINDS:
            raise DrawingError(f"kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        anchors = tuple(self.anchors)
        if len(anchors) != ANCHORS[self.kind]:
            raise DrawingError(f"anchors: a {self.kind} has {ANCHORS[self.kind]}, "
                               f"not {len(anchors)}")
        for index, anchor in enumerate(anchors):
            if not isinstance(anchor, Anchor):
                raise DrawingError(f"anchors[{index}]: {anchor!r} is not an Anchor")
        object.__setattr__(self, "anchors", anchors)
        if not isinstance(self.style, Style):
            raise DrawingError(f"style: {self.style!r} is not a Style")
        if not isinstance(self.locked, bool):
            raise DrawingError(f"locked: {self.locked!r} is not true or false")
        if not isinstance(self.text, str) or len(self.text) > MAX_TEXT:
            raise DrawingError(f"text: not a text of at most {MAX_TEXT} characters")
        object.__setattr__(self, "levels", _levels(self.kind, self.levels))

    @property
    def fib_levels(self) -> tuple[float, ...]:
        """The levels a fib draws (its own, or the standard ones)."""
        return self.levels or FIB_LEVELS

    def moved(self, dt_ns: int, dprice: float) -> Drawing:
        """Every anchor shifted by `dt_ns` and `dprice`."""
        return replace(self, anchors=tuple(Anchor(a.time_ns + int(dt_ns), a.price + dprice)
                                           for a in self.anchors))

    def with_anchor(self, index: int, anchor: Anchor) -> Drawing:
        if not 0 <= index < len(self.anchors):
            raise DrawingError(f"anchors[{index}]: a {self.kind} has {len(self.anchors)}")
        anchors = list(self.anchors)
        anchors[index] = anchor
        return replace(self, anchors=tuple(anchors))

    def to_dict(self) -> dict:
        """Plain JSON-able data; `from_dict` reads it back equal."""
        raw: dict[str, Any] = {name: json.loads(text) for name, text in self.extra}
        raw.update({
            "id": self.id, "kind": self.kind,
            "anchors": [{"time_ns": a.time_ns, "price": a.price} for a in self.anchors],
            "style": {"color": self.style.color, "width": self.style.width,
                      "dash": self.style.dash},
            "locked": self.locked, "text": self.text, "levels": list(self.levels),
        })
        return raw

    @classmethod
    def from_dict(cls, raw: dict) -> Drawing:
        """The drawing `raw` describes; `DrawingError` naming the field when it cannot be."""
        if not isinstance(raw, dict):
            raise DrawingError(f"a drawing is an object, not {type(raw).__name__}")
        for name in ("id", "kind", "anchors"):
            if name not in raw:
                raise DrawingError(f"{name}: missing")
        anchors = raw["anchors"]
        if not isinstance(anchors, list):
            raise DrawingError("anchors: not a list")
        style = raw.get("style", {})
        if not isinstance(style, dict):
            raise DrawingError("style: not an object")
        levels = raw.get("levels", [])
        if not isinstance(levels, list):
            raise DrawingError("levels: not a list")
        try:
            extra = tuple((name, json.dumps(value, ensure_ascii=False))
                          for name, value in raw.items() if name not in _FIELDS)
        except (TypeError, ValueError) as exc:
            raise DrawingError(f"a field of a newer version cannot be kept: {exc}") from None
        return cls(
            id=raw["id"], kind=raw["kind"],
            anchors=tuple(_anchor(item, f"anchors[{index}]")
                          for index, item in enumerate(anchors)),
            style=_style(style), locked=raw.get("locked", False), text=raw.get("text", ""),
            levels=tuple(levels), extra=extra)


def _anchor(raw: Any, name: str) -> Anchor:
    if not isinstance(raw, dict):
        raise DrawingError(f"{name}: not an object with time_ns and price")
    for key in ("time_ns", "price"):
        if key not in raw:
            raise DrawingError(f"{name}.{key}: missing")
    try:
        anchor = Anchor(raw["time_ns"], raw["price"])
    except DrawingError as exc:
        raise DrawingError(f"{name}.{exc}") from None
    if not TIME_RANGE_NS[0] <= anchor.time_ns < TIME_RANGE_NS[1]:
        raise DrawingError(f"{name}.time_ns: {anchor.time_ns} is not a time from "
                           f"{TIME_RANGE_TEXT} UTC")
    return anchor


def _style(raw: dict) -> Style:
    known = {key: raw[key] for key in ("color", "width", "dash") if key in raw}
    return Style(**known)


def _levels(kind: str, levels: Iterable[Any]) -> tuple[float, ...]:
    levels = tuple(levels)
    if levels and kind != "fib":
        raise DrawingError(f"levels: only a fib has levels, not a {kind}")
    if len(levels) > MAX_LEVELS:
        raise DrawingError(f"levels: {len(levels)} of them, at most {MAX_LEVELS}")
    out = []
    for index, level in enumerate(levels):
        value = _finite(level, f"levels[{index}]")
        if not LEVEL_RANGE[0] <= value <= LEVEL_RANGE[1]:
            raise DrawingError(f"levels[{index}]: {value:g} is outside "
                               f"{LEVEL_RANGE[0]:g}..{LEVEL_RANGE[1]:g}")
        if value in out:
            raise DrawingError(f"levels[{index}]: {value:g} is there twice")
        out.append(value)
    return tuple(out)


def new_drawing(kind: str, anchors: Iterable[Anchor], **fields: Any) -> Drawing:
    """A new drawing with a fresh id; `DrawingError` naming the field when it cannot be."""
    if "id" in fields:
        raise DrawingError("id: a new drawing gets its own")
    return Drawing(id=uuid.uuid4().hex, kind=kind, anchors=tuple(anchors), **fields)


# One change of a book: the drawing at z index `index` was `before` and became `after`
# (None: absent). An undo step is a tuple of them, undone last first.
@dataclass(frozen=True)
class _Change:
    index: int
    before: Drawing | None
    after: Drawing | None


class DrawingBook:
    """One symbol's drawings, with undo and redo. Every change notifies listeners.

    Changes come from the GUI thread; other threads (the alert checks) may read at any time:
    reads see a whole change or none of it."""

    def __init__(self, vt_symbol: str, drawings: Iterable[Drawing] = (),
                 refused: str = "") -> None:
        self.vt_symbol = vt_symbol
        # Why the book takes no change ("" when it does): its file is of a newer format.
        self.refused = refused
        self._drawings: list[Drawing] = []
        self._index: dict[str, Drawing] = {}
        for drawing in drawings:
            if drawing.id in self._index:
                raise DrawingError(f"id: {drawing.id} is there twice")
            self._drawings.append(drawing)
            self._index[drawing.id] = drawing
        self._undo: list[tuple[_Change, ...]] = []
        self._redo: list[tuple[_Change, ...]] = []
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.RLock()

    def drawings(self) -> list[Drawing]:
        """In z order (oldest first); a copy."""
        with self._lock:
            return list(self._drawings)

    def get(self, drawing_id: str) -> Drawing | None:
        return self._index.get(drawing_id)

    def __len__(self) -> int:
        return len(self._drawings)

    def __contains__(self, drawing_id: object) -> bool:
        return drawing_id in self._index

    def add(self, drawing: Drawing) -> None:
        self._require(isinstance(drawing, Drawing), f"{drawing!r} is not a Drawing")
        self._require(drawing.id not in self._index, f"id: {drawing.id} is there already")
        self._step((_Change(len(self._drawings), None, drawing),))

    def replace(self, drawing: Drawing) -> None:
        """Same id, new geometry/style/lock/text; keeps its place in z order."""
        self._require(isinstance(drawing, Drawing), f"{drawing!r} is not a Drawing")
        before = self._index.get(drawing.id)
        self._require(before is not None, f"id: no drawing {drawing.id} on {self.vt_symbol}")
        if before == drawing:
            return
        self._step((_Change(self._drawings.index(before), before, drawing),))

    def remove(self, drawing_id: str) -> None:
        before = self._index.get(drawing_id)
        self._require(before is not None, f"id: no drawing {drawing_id} on {self.vt_symbol}")
        self._step((_Change(self._drawings.index(before), before, None),))

    def remove_many(self, drawing_ids: Iterable[str]) -> int:
        """Remove those of `drawing_ids` that are here, as one undo step; how many."""
        with self._lock:
            present = {i for i in drawing_ids if i in self._index}
            indices = [i for i, d in enumerate(self._drawings) if d.id in present]
        changes = tuple(_Change(i, self._drawings[i], None) for i in reversed(indices))
        if changes:
            self._require(True, "")          # a refused book takes none
            self._step(changes)
        return len(changes)

    def add_missing(self, drawings: Iterable[Drawing]) -> int:
        """Add, as one undo step, those of `drawings` whose id the book lacks (a workspace
        put back: drawings already here, maybe changed since, are left as they are)."""
        changes, seen = [], set(self._index)
        for drawing in drawings:
            if drawing.id not in seen:
                seen.add(drawing.id)
                changes.append(_Change(len(self._drawings) + len(changes), None, drawing))
        if changes:
            self._require(True, "")          # a refused book takes none
            self._step(tuple(changes))
        return len(changes)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and not self.refused

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and not self.refused

    def undo(self) -> bool:
        """Undo the last change; False when there is none."""
        if not self.can_undo:
            return False
        step = self._undo.pop()
        self._apply(tuple(_Change(c.index, c.after, c.before) for c in reversed(step)))
        self._redo.append(step)
        self._notify()
        return True

    def redo(self) -> bool:
        if not self.can_redo:
            return False
        step = self._redo.pop()
        self._apply(step)
        self._undo.append(step)
        self._notify()
        return True

    def listen(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """`callback(vt_symbol)` after every change; returns the function that stops it."""
        self._listeners.append(callback)

        def unlisten() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)
        return unlisten

    def _require(self, condition: bool, message: str) -> None:
        if self.refused:
            raise DrawingError(self.refused)
        if not condition:
            raise DrawingError(message)

    def _step(self, step: tuple[_Change, ...]) -> None:
        self._apply(step)
        self._undo.append(step)
        del self._undo[:-UNDO_DEPTH]
        self._redo.clear()
        self._notify()

    def _apply(self, step: tuple[_Change, ...]) -> None:
        with self._lock:
            for change in step:
                if change.before is not None and change.after is not None:
                    self._drawings[change.index] = change.after
                elif change.before is not None:
                    del self._drawings[change.index]
                else:
                    self._drawings.insert(change.index, change.after)
                if change.before is not None:
                    del self._index[change.before.id]
                if change.after is not None:
                    self._index[change.after.id] = change.after

    def _notify(self) -> None:
        for callback in list(self._listeners):
            try:
                callback(self.vt_symbol)
            except Exception:  # one failing view never stops the others
                log.exception("a listener of %s's drawings failed", self.vt_symbol)


def line_price(drawing: Drawing, time_ns: int,
               minutes: Callable[[int, int], float]) -> float | None:
    """The price of a line drawing at `time_ns`, linear in trading minutes from its first
    anchor (`minutes(a_ns, b_ns)`: trading minutes from a to b, signed). None where the line
    is not: before a ray or horizontal ray starts, outside a trend segment's span, a line
    whose anchors are at one time, or a drawing that is not a line."""
    first = drawing.anchors[0]
    if drawing.kind == "hline":
        return first.price
    if drawing.kind == "hray":
        return first.price if time_ns >= first.time_ns else None
    if drawing.kind not in ("trend", "ray", "extended"):
        return None
    second = drawing.anchors[1]
    span = minutes(first.time_ns, second.time_ns)
    if span == 0:
        return None
    at = minutes(first.time_ns, time_ns)
    fraction = at / span
    if drawing.kind == "trend" and not 0.0 <= fraction <= 1.0:
        return None
    if drawing.kind == "ray" and fraction < 0.0:
        return None
    return first.price + (second.price - first.price) * fraction


class Drawings:
    """Every symbol's drawings, read lazily from the data directory and written (atomically)
    after each change. Built once in system/runtime.build and kept as runtime.drawings.

    A file that cannot be read whole is never half-read: it is kept aside (`<name>.broken-
    <time>`, as every file the terminal cannot use), the symbol starts with no drawings, and
    `on_problem(vt_symbol, text)` says so (the runtime raises an alert); a change that cannot
    be written is reported the same way and written with the next one."""

    def __init__(self, folder: Path,
                 on_problem: Callable[[str, str], None] | None = None) -> None:
        self.folder = Path(folder)
        self._on_problem = on_problem or (lambda vt_symbol, text: log.error("%s", text))
        self._books: dict[str, DrawingBook] = {}
        self._kept: dict[str, dict] = {}   # top-level fields of a newer version, per symbol
        self._listeners: list[Callable[[str, DrawingBook], None]] = []
        self._lock = threading.Lock()

    def path(self, vt_symbol: str) -> Path:
        """The symbol's file: its name with anything but letters, digits and . - _ escaped."""
        name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else f"%{ord(c):02X}"
                       for c in vt_symbol)
        if not vt_symbol or name.startswith("."):
            raise DrawingError(f"vt_symbol: {vt_symbol!r} cannot name a drawings file")
        return self.folder / f"{name}.json"

    def book(self, vt_symbol: str) -> DrawingBook:
        """The symbol's book, the same object every time."""
        with self._lock:
            book = self._books.get(vt_symbol)
            if book is None:
                book = self._books[vt_symbol] = self._read(vt_symbol)
                book.listen(self._changed)
            return book

    def listen(self, callback: Callable[[str, DrawingBook], None]) -> Callable[[], None]:
        """`callback(vt_symbol, book)` after any symbol's change (once it is written)."""
        self._listeners.append(callback)

        def unlisten() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)
        return unlisten

    def _read(self, vt_symbol: str) -> DrawingBook:
        path = self.path(vt_symbol)
        if not path.exists():
            return DrawingBook(vt_symbol)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            kept, drawings = _file_contents(raw, vt_symbol)
            if kept is None:
                self._on_problem(vt_symbol, (
                    f"The drawings of {vt_symbol} were saved by a newer version of the "
                    f"terminal ({path.name}, format {raw['format']}): they are not shown and "
                    f"cannot be changed here."))
                return DrawingBook(vt_symbol, refused=f"the drawings of {vt_symbol} are of a "
                                                      f"newer format; not changed")
            book = DrawingBook(vt_symbol, drawings)
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            try:
                kept_as = f"kept as {set_aside(path).name}"
            except OSError:
                kept_as = "could not be moved aside"
            self._on_problem(vt_symbol, (
                f"The drawings of {vt_symbol} could not be read ({path.name}: {exc}); the "
                f"file is {kept_as} and the symbol starts with none."))
            return DrawingBook(vt_symbol)
        self._kept[vt_symbol] = kept
        return book

    def _changed(self, vt_symbol: str) -> None:
        book = self._books[vt_symbol]
        data = {**self._kept.get(vt_symbol, {}), "format": FORMAT, "vt_symbol": vt_symbol,
                "drawings": [drawing.to_dict() for drawing in book.drawings()]}
        try:
            write_json(self.path(vt_symbol), data, indent=1)
        except OSError as exc:
            self._on_problem(vt_symbol, (
                f"The drawings of {vt_symbol} could not be saved ({exc}); they are kept in "
                f"memory and saved with the next change."))
        for callback in list(self._listeners):
            try:
                callback(vt_symbol, book)
            except Exception:  # one failing listener never stops the others
                log.exception("a listener of the drawings failed on %s", vt_symbol)


def _file_contents(raw: Any, vt_symbol: str) -> tuple[dict | None, list[Drawing]]:
    """(top-level fields to keep, drawings) of a symbol's file; (None, []) for a newer
    format; ValueError (a DrawingError naming the drawing and field) when damaged."""
    if not isinstance(raw, dict):
        raise DrawingError("not an object")
    version = raw.get("format")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise DrawingError(f"format: {version!r} is not a format number")
    if version > FORMAT:
        return None, []
    if raw.get("vt_symbol") != vt_symbol:
        raise DrawingError(f"vt_symbol: {raw.get('vt_symbol')!r}, not {vt_symbol}")
    items = raw.get("drawings")
    if not isinstance(items, list):
        raise DrawingError("drawings: not a list")
    drawings, ids = [], set()
    for index, item in enumerate(items):
        try:
            drawing = Drawing.from_dict(item)
        except DrawingError as exc:
            raise DrawingError(f"drawings[{index}]: {exc}") from None
        if drawing.id in ids:
            raise DrawingError(f"drawings[{index}]: id {drawing.id} is there twice")
        ids.add(drawing.id)
        drawings.append(drawing)
    kept = {key: value for key, value in raw.items()
            if key not in ("format", "vt_symbol", "drawings")}
    return kept, drawings
