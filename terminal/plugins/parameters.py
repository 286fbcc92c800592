"""A strategy parameter typed by a trader, read one way everywhere (the command line, the
workbench's form, the Strategies dock's dialog, the optimiser's ranges).

The type is the default's in the strategy class:
- int: whole numbers only ("3", " -3 "); "1.0" and "3.5" are refused;
- float: any finite number ("2", "0.5", "1e-3"); "nan" and "inf" are refused;
- bool: true/false, yes/no, on/off, 1/0 in any case; "" and any other text are refused;
- str (and anything else): the text without the spaces at its ends.
A refused value raises ParameterValueError naming the parameter and the text, so a wrong
value never becomes a quiet default (a bool read as False, a float cut to an int).
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")
_WHOLE = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class ParameterValueError(ValueError):
    """A parameter's text that does not fit its type; the message names both."""


def kind_of(default: Any) -> str:
    """"bool", "int", "float" or "text": how a parameter with this default is read."""
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    return "text"


def parse_param(name: str, text: str, default: Any) -> Any:
    """`text` as a value of the parameter `name`, by the type of its `default`."""
    kind = kind_of(default)
    given = text.strip()
    if kind == "text":
        return given
    if kind == "bool":
        lowered = given.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise ParameterValueError(f"{name}: {text!r} is not true or false (true/false, "
                                  f"yes/no, on/off or 1/0; the default is {default!r})")
    if kind == "int":
        if not _WHOLE.fullmatch(given):
            raise ParameterValueError(f"{name}: {text!r} is not a whole number (the default "
                                      f"is {default!r})")
        return int(given)
    if not _NUMBER.fullmatch(given):
        raise ParameterValueError(f"{name}: {text!r} is not a number (the default is "
                                  f"{default!r})")
    value = float(given)
    if not math.isfinite(value):
        raise ParameterValueError(f"{name}: {text!r} is not a finite number (the default is "
                                  f"{default!r})")
    return value


def param_text(value: Any) -> str:
    """A parameter's value as a field shows it, read back by parse_param to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(float(value))       # a numpy float's repr names its type
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return str(value)


def parse_range(name: str, text: str, default: Any) -> tuple | list:
    """An optimisation range of the parameter: "START:STOP:STEP" (numbers, STOP included) as
    (start, stop, step), or "V1,V2,..." as the list of values, each read by parse_param."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ParameterValueError(f"{name}: {text!r} is not START:STOP:STEP or V1,V2,...")
        if kind_of(default) not in ("int", "float"):
            raise ParameterValueError(f"{name}: {text!r}: {name} is not a number (the default "
                                      f"is {default!r}); give its values as a list V1,V2,...")
        return range_bounds(name, *parts, default)
    values = [parse_param(name, part, default) for part in text.split(",") if part.strip()]
    if not values:
        raise ParameterValueError(f"{name}: no values given")
    return values


def range_bounds(name: str, start: str, stop: str, step: str, default: Any) -> tuple:
    """(start, stop, step) of a number parameter from their texts: the step above 0, the
    start not above the stop."""
    first, last, size = (parse_param(name, part, default) for part in (start, stop, step))
    if not size > 0:
        raise ParameterValueError(f"{name}: the step {step.strip()!r} must be above 0")
    if first > last:
        raise ParameterValueError(f"{name}: start {first!r} is above stop {last!r}")
    return (first, last, size)


def parameter_list(defaults: dict) -> str:
    """The parameters and their defaults, for a message."""
    return ", ".join(f"{name} (default {value!r})" for name, value in defaults.items()) \
        or "it has none"


def check_name(strategy: str, defaults: dict, name: str) -> None:
    """ParameterValueError unless the strategy has a parameter `name`."""
    if name not in defaults:
        raise ParameterValueError(f"{strategy} has no parameter {name!r}; its parameters: "
                                  f"{parameter_list(defaults)}")
