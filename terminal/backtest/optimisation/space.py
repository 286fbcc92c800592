"""The parameter space of an optimisation: which values each parameter takes (a range with its
stop included, a list, or one fixed value), checked against the strategy, and the grid of
every combination. A space that cannot be searched is refused with a `ParameterError` naming
the parameter."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from numbers import Real
from typing import Any

import numpy as np

MAX_COMBINATIONS = 1_000_000


class ParameterError(ValueError):
    """A parameter space that cannot be searched; the message names the parameter."""


class ParameterSpace:
    """Parameter name -> the values to try, from (start, stop, step) with stop included, or an
    explicit list, or one fixed value.

        ParameterSpace({"fast_window": (5, 20, 5), "slow_window": [30, 60], "fixed_size": 1})
    """

    def __init__(self, spec: dict | None = None,
                 max_combinations: int = MAX_COMBINATIONS) -> None:
        self.max_combinations = max_combinations
        self._values: dict[str, tuple] = {}
        for name, value in (spec or {}).items():
            if isinstance(value, dict):
                self.add(name, **value)
            elif isinstance(value, tuple):
                if len(value) != 3:
                    raise ParameterError(f"{name}: a range is (start, stop, step), got {value!r}")
                self.add(name, *value)
            elif isinstance(value, (list, range, np.ndarray)):
                self.add(name, values=list(value))
            else:
                self.add(name, values=[value])

    def add(self, name: str, start: Any = None, stop: Any = None, step: Any = None,
            values: Iterable | None = None) -> ParameterSpace:
        if not isinstance(name, str) or not name.strip():
            raise ParameterError(f"a parameter name must be a non-empty string, not {name!r}")
        if name in self._values:
            raise ParameterError(f"{name}: given twice")
        if values is not None:
            if start is not None or stop is not None or step is not None:
                raise ParameterError(f"{name}: give either start/stop/step or values, not both")
            chosen = tuple(values)
            if not chosen:
                raise ParameterError(f"{name}: the list of values is empty")
            if len(set(map(_hashable, chosen))) != len(chosen):
                raise ParameterError(f"{name}: values repeat in {list(chosen)!r}")
        elif start is not None and stop is None and step is None:
            chosen = (start,)
        else:
            chosen = _range(name, start, stop, step)
        size = self.size * len(chosen)
        if size > self.max_combinations:
            raise ParameterError(f"{name}: the space would have {size:,} combinations, more "
                                 f"than the limit of {self.max_combinations:,}")
        self._values[name] = chosen
        return self

    @property
    def names(self) -> list[str]:
        return list(self._values)

    def values(self, name: str) -> tuple:
        try:
            return self._values[name]
        except KeyError:
            raise ParameterError(f"no parameter {name!r} in the space "
                                 f"({', '.join(self._values) or 'empty'})") from None

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self._values.values())

    def __len__(self) -> int:
        return self.size if self._values else 0

    def params(self, indices: Sequence[int]) -> dict:
        return {name: values[i]
                for (name, values), i in zip(self._values.items(), indices, strict=True)}

    def grid_index(self, indices: Sequence[int]) -> int:
        """The position of a combination in `grid(space)`."""
        position = 0
        for values, i in zip(self._values.values(), indices, strict=True):
            position = position * len(values) + i
        return position

    def check(self, strategy_class: type | None = None) -> None:
        """Raise ParameterError unless the space can be searched (for this strategy: names it
        has among its `parameters`, numbers where its default is a number, whole numbers
        where it is an int)."""
        if strategy_class is None:
            self.check_parameters("", None)
            return
        self.check_parameters(strategy_class.__name__, {
            name: getattr(strategy_class, name, None)
            for name in getattr(strategy_class, "parameters", [])})

    def check_parameters(self, strategy: str, defaults: dict[str, Any] | None) -> None:
        """`check` against a strategy's parameters and their defaults as the plugin catalog
        lists them (so the GUI checks a space without importing the strategy)."""
        if not self._values:
            raise ParameterError("no parameters chosen to optimise")
        if defaults is None:
            return
        known = list(defaults)
        for name, values in self._values.items():
            if name not in known:
                raise ParameterError(f"{name}: not a parameter of {strategy} "
                                     f"({', '.join(known) or 'it has none'})")
            default = defaults[name]
            if isinstance(default, bool):
                bad = [v for v in values if not isinstance(v, bool)]
            elif isinstance(default, int):
                bad = [v for v in values if not _whole(v)]
            elif isinstance(default, float):
                bad = [v for v in values if not isinstance(v, Real) or isinstance(v, bool)]
            else:
                bad = []
            if bad:
                raise ParameterError(f"{name}: {bad[0]!r} does not fit the strategy's "
                                     f"{type(default).__name__} parameter (default {default!r})")

    def __repr__(self) -> str:
        return f"ParameterSpace({dict(self._values)!r})"


def _range(name: str, start: Any, stop: Any, step: Any) -> tuple:
    for label, value in (("start", start), ("stop", stop), ("step", step)):
        if not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value):
            raise ParameterError(f"{name}: {label} must be a finite number, got {value!r}")
    if step <= 0:
        raise ParameterError(f"{name}: step must be positive, got {step!r}")
    if start > stop:
        raise ParameterError(f"{name}: start {start!r} is above stop {stop!r}")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_COMBINATIONS:
        raise ParameterError(f"{name}: {count:,} values from {start} to {stop} by {step}")
    if all(isinstance(v, int) for v in (start, step)):
        return tuple(start + i * step for i in range(count))
    decimals = max(_decimals(start), _decimals(step))
    return tuple(round(start + i * step, decimals) for i in range(count))


def _decimals(value: Real) -> int:
    text = f"{float(value):.12g}"
    return len(text.split(".")[1]) if "." in text and "e" not in text else 12


def _whole(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and float(value).is_integer()


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def grid(space: ParameterSpace) -> list[dict]:
    """Every combination, the last parameter varying fastest."""
    space.check()
    names = space.names
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(space.values(n)
                                                                     for n in names))]

