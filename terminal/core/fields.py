"""What each field of a settings file takes, said once beside the field: its type (the field's
annotation), range or choices, default (the field's default), label and help text.

`settings.json` and `risk.json` declare their fields with `described`; their loaders check
every value with `Spec.check`, and the dialogs take their labels, choices, ranges, defaults
and tooltips from `specs`, so the file, the GUI and the error messages cannot disagree.

One rule for whole numbers: a count given as 5.0 is taken as 5 (JSON has one kind of number,
and refusing it would put the default in place of what the trader wrote); 5.5 is an error
naming the value.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import typing
from dataclasses import dataclass
from typing import Any

_KEY = "spec"
KINDS = (bool, int, float, str, list[str], dict[str, str])


class FieldError(ValueError):
    """A value a field does not take: "name: what was expected, got value"."""


def shown(value: object, limit: int = 80) -> str:
    """A value as a message quotes it: repr, cut short when long."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 4]}...{text[-1]}"


def number_text(value: float) -> str:
    """A bound or default as a trader reads and types it: 1000, 0.05, 1e13."""
    if float(value).is_integer() and abs(value) < 1e10:
        return str(int(value))
    short = f"{value:g}"
    return (short if float(short) == value else repr(value)).replace("e+", "e")


@dataclass(frozen=True)
class Spec:
    """One field: `kind` is one of `KINDS`; numbers have a range `low..high`; text may have
    `choices`; `off`: 0 (null in the file) switches the rule off."""

    name: str
    kind: Any
    default: Any
    help: str
    label: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    off: bool = False

    def __post_init__(self) -> None:
        numeric = self.kind in (int, float)
        if numeric != (self.low is not None and self.high is not None) \
                or (self.choices and self.kind is not str) or (self.off and not numeric) \
                or not self.help or not self.label:
            raise TypeError(f"{self.name}: a {self.kind} field is described inconsistently")
        self.check(self.default)            # a default the field refuses is a typo

    @property
    def numeric(self) -> bool:
        return self.kind in (int, float)

    def range_text(self) -> str:
        return f"{number_text(self.low)}..{number_text(self.high)}"

    def takes(self) -> str:
        """What the field takes, in words (for tooltips and the docs)."""
        if self.numeric:
            whole = "a whole number" if self.kind is int else "a number"
            return f"{whole} in {self.range_text()}" + (", 0 switches it off" if self.off else "")
        if self.choices:
            return "one of " + ", ".join(self.choices)
        return {bool: "true or false", str: "text", list[str]: "a list of text",
                dict[str, str]: "a table of text to text"}[self.kind]

    def default_text(self) -> str:
        """The default as the file writes it."""
        return number_text(self.default) if self.numeric else json.dumps(self.default)

    def tooltip(self) -> str:
        return f"{self.help}\nTakes {self.takes()}; default {self.default_text()}."

    def check(self, value: Any) -> Any:
        """`value` as the field keeps it, or `FieldError` naming the field and the value."""
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            raise self._error(f"expected true or false, got {shown(value)}")
        if self.kind == dict[str, str]:
            if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                               for k, v in value.items()):
                return dict(value)
            raise self._error(f"expected a table of text to text, got {shown(value)}")
        if self.kind == list[str]:
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return list(value)
            raise self._error(f"expected a list of strings, got {shown(value)}")
        if self.kind is str:
            if not isinstance(value, str):
                raise self._error(f"expected text, got {shown(value)}")
            if self.choices and value not in self.choices:
                raise self._error(f"expected one of {', '.join(self.choices)}, "
                                  f"got {shown(value)}")
            return value
        if value is None and self.off:
            return self.kind(0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or (isinstance(value, float) and math.isnan(value)):
            raise self._error(f"expected a number, got {shown(value)}")
        if not self.low <= value <= self.high:  # compared as given: an int beyond any float
            raise self._error(f"{shown(value)} is outside {self.range_text()}"
                              + (" (0 is off)" if self.off else ""))
        if self.kind is int and isinstance(value, float) and not value.is_integer():
            raise self._error(f"expected a whole number, got {shown(value)}")
        return self.kind(value)

    def _error(self, reason: str) -> FieldError:
        return FieldError(f"{self.name}: {reason}")


def described(default: Any, help_text: str, *, label: str, unit: str = "",
              low: float | None = None, high: float | None = None,
              choices: tuple[str, ...] = (), off: bool = False) -> Any:
    """A dataclass field that carries its description (`specs` reads it back)."""
    about = {"help": help_text, "label": label, "unit": unit, "low": low, "high": high,
             "choices": tuple(choices), "off": off}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.copy(default),
                                 metadata={_KEY: about})
    return dataclasses.field(default=default, metadata={_KEY: about})


def specs(cls: type) -> dict[str, Spec]:
    """Every field of the dataclass `cls` by name, in order; `TypeError` for a field declared
    without `described` or of a type the loaders cannot check."""
    hints = typing.get_type_hints(cls)
    result: dict[str, Spec] = {}
    for item in dataclasses.fields(cls):
        about = item.metadata.get(_KEY)
        if about is None:
            raise TypeError(f"{cls.__name__}.{item.name} has no description (declare it "
                            "with terminal.core.fields.described)")
        kind = hints[item.name]
        if kind not in KINDS:
            raise TypeError(f"{cls.__name__}.{item.name}: {kind} is not one of the kinds a "
                            "settings file holds")
        default = item.default if item.default_factory is dataclasses.MISSING \
            else item.default_factory()
        result[item.name] = Spec(item.name, kind, default, **about)
    return result


def markdown_table(described_specs: dict[str, Spec]) -> str:
    """The fields as the user guide's table (`scripts/settings_tables.py` writes it there, and
    a test checks the guide still says what the program does)."""
    rows = ["| key | takes | unit | default | meaning |", "|---|---|---|---|---|"]
    for spec in described_specs.values():
        unit = spec.unit if spec.numeric else ""
        rows.append(f"| `{spec.name}` | {spec.takes()} | {unit} | `{spec.default_text()}` | "
                    f"{spec.help} |")
    return "\n".join(rows)
