"""Chart indicators over bar columns: MA, EMA, Bollinger bands, MACD, RSI, ATR and volume MA.

Why it is written this way:
- Vectorised with numpy, with no Python step per bar, so a million bars recompute in
  milliseconds whenever the chart changes period, symbol or parameters.
- The same numbers as TA-Lib (which ships with vn.py), down to its seeding and to the bars it
  leaves empty, so traders see the values they know from other terminals. Leading values an
  indicator does not define are NaN, and leading NaN inputs are skipped the way talib does.

The recursive averages (EMA, Wilder's smoothing in RSI and ATR) are the linear recurrence
y[i] = d * y[i-1] + b[i]. Inside blocks short enough that d ** -L stays far from overflow it
has the closed form y[k] = d**k * cumsum(b[j] * d**-j), one cumsum per block; the value
carried from block to block is a recurrence of one step per block (under ten thousand
steps for a million bars). No term grows with the length of the series, so the result agrees
with TA-Lib's bar-by-bar loop to about 1e-15 of the price level, even over a million bars.

Rolling sums (SMA, Bollinger) are differences of cumulative sums taken per block of at least
512 windows and centred on a value of that block, so the sums never grow with the length of
the series and the variance does not lose its digits to cancellation; a window whose values
are all equal gets a deviation of exactly zero.

The registry at the end (`SPECS`, `IndicatorSpec`, `compute`) is what the chart uses to offer,
configure, draw and save indicators.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MAX_PERIOD = 100_000          # TA-Lib's own upper limit for every period
_ZERO = 1e-14                 # TA-Lib's TA_EPSILON: below it a variance or a sum is zero
_MAX_GROWTH_DIGITS = 50       # d ** -L stays below 1e50 inside one recurrence block
_MAX_BLOCK = 4096


# ---------------------------------------------------------------------------- helpers

def _series(values, name: str) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _period(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not minimum <= value <= MAX_PERIOD:
        raise ValueError(f"{name} must be between {minimum} and {MAX_PERIOD}, got {value!r}")
    return int(value)


def _real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _skipping_leading_nan(core: Callable[..., tuple[np.ndarray, ...]],
                          *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Run `core` from the first bar where every input is a number, as talib does, and pad
    the outputs back to full length with NaN."""
    length = len(arrays[0])
    if any(len(array) != length for array in arrays):
        raise ValueError(f"inputs differ in length: {[len(array) for array in arrays]}")
    start = 0
    if length and any(math.isnan(array[0]) for array in arrays):
        valid = ~np.logical_or.reduce([np.isnan(array) for array in arrays])
        start = int(np.argmax(valid)) if valid.any() else length
    if start == 0:
        return core(*arrays)
    results = core(*(array[start:] for array in arrays))
    padded = []
    for result in results:
        full = np.full(length, np.nan)
        full[start:] = result
        padded.append(full)
    return tuple(padded)


def _recurrence(out: np.ndarray, values: np.ndarray, alpha: float, y0: float) -> None:
    """out[i] = out[i-1] + alpha * (values[i] - out[i-1]) with out[-1] = y0, written into the
    contiguous `out` without a loop per element.

    With d = 1 - alpha this is out[i] = d * out[i-1] + alpha * values[i]. In a block of L
    elements it is out[k] = d**k * (cumsum(alpha * values[j] * d**-j)[k] + d * c), where c is
    the value carried in from the previous block; L keeps d**-L below 1e50.
    """
    m = len(values)
    if m == 0:
        return
    d = 1.0 - alpha
    if d == 0.0:
        out[:] = values
        return
    block = int(_MAX_GROWTH_DIGITS * math.log(10.0) / -math.log(d))
    block = max(1, min(_MAX_BLOCK, block, m))
    rows, tail = divmod(m, block)
    steps = np.arange(block, dtype=np.float64)
    growth = np.power(d, -steps) * alpha
    decay = np.power(d, steps)
    parts = []
    if rows:
        parts.append((out[:rows * block].reshape(rows, block),
                      values[:rows * block].reshape(rows, block)))
    if tail:
        parts.append((out[rows * block:].reshape(1, tail), values[rows * block:].reshape(1, tail)))
    for target, source in parts:
        width = target.shape[1]
        np.multiply(source, growth[:width], out=target)
        np.cumsum(target, axis=1, out=target)
    # The value each block ends on, with nothing carried in, then what is carried in.
    ends = (parts[0][0][:, -1] * decay[-1]).tolist() if rows else []
    decay_block = d ** block
    carried = np.fromiter(
        accumulate(ends, lambda carry, end: end + decay_block * carry, initial=float(y0)),
        dtype=np.float64, count=rows + 1)
    carried *= d
    if rows:
        head = parts[0][0]
        head += carried[:rows, None]
        head *= decay
    if tail:
        last = parts[-1][0]
        last += carried[rows]
        last *= decay[:tail]


def _smoothed(values: np.ndarray, n: int, alpha: float, out: np.ndarray, first: int) -> None:
    """out[first] = mean(values[first-n+1 : first+1]), then out[i] = out[i-1] + alpha * (values[i]
    - out[i-1]) to the end: TA-Lib's seeding of both its EMA and Wilder's smoothing."""
    seed = float(np.sum(values[first - n + 1:first + 1])) / n
    out[first] = seed
    _recurrence(out[first + 1:], values[first + 1:], alpha, seed)


def _rolling(x: np.ndarray, n: int, mean: np.ndarray, variance: np.ndarray | None = None) -> None:
    """mean[i] (and the population variance[i]) of x[i : i+n], for every full window.

    Sums are differences of cumulative sums taken per block of windows and centred on the
    block's first value, so they stay small whatever the length or level of the series.
    """
    count = len(x) - n + 1
    block = max(512, 4 * n)
    rows, tail = divmod(count, block)
    if rows:
        segments = sliding_window_view(x[:rows * block + n - 1], block + n - 1)[::block]
        _block_moments(segments, n, mean[:rows * block].reshape(rows, block),
                       None if variance is None else variance[:rows * block].reshape(rows, block))
    if tail:
        _block_moments(x[rows * block:].reshape(1, -1), n, mean[rows * block:].reshape(1, tail),
                       None if variance is None else variance[rows * block:].reshape(1, tail))


def _flat_windows(x: np.ndarray, n: int) -> np.ndarray:
    """True for each window of n values that are all the same, counted exactly in integers: its
    deviation is zero, where the difference of sums would leave a trace of rounding."""
    counter = np.int32 if len(x) < 2**31 else np.int64
    changes = np.zeros(len(x), dtype=counter)
    np.cumsum(x[1:] != x[:-1], out=changes[1:], dtype=counter)
    return changes[n - 1:] == changes[:len(x) - n + 1]


def _block_moments(segments: np.ndarray, n: int, mean: np.ndarray,
                   variance: np.ndarray | None) -> None:
    reference = segments[:, :1]
    cumulative = np.empty((segments.shape[0], segments.shape[1] + 1))
    cumulative[:, 0] = 0.0
    running = cumulative[:, 1:]
    np.subtract(segments, reference, out=running)
    if variance is not None:
        np.square(running, out=running)
        np.cumsum(running, axis=1, out=running)
        np.subtract(cumulative[:, n:], cumulative[:, :-n], out=variance)
        variance /= n
        np.subtract(segments, reference, out=running)
    np.cumsum(running, axis=1, out=running)
    np.subtract(cumulative[:, n:], cumulative[:, :-n], out=mean)
    mean /= n
    if variance is not None:
        variance -= np.square(mean, out=running[:, :mean.shape[1]])
    mean += reference


# ---------------------------------------------------------------------------- indicators

def sma(close, n: int) -> np.ndarray:
    """Simple moving average of the last n values (TA-Lib SMA); first n-1 values NaN."""
    n = _period("n", n, 1)
    x = _series(close, "close")

    def core(x):
        out = np.full(len(x), np.nan)
        if len(x) >= n:
            _rolling(x, n, out[n - 1:])
        return (out,)

    return _skipping_leading_nan(core, x)[0]


def ema(close, n: int) -> np.ndarray:
    """Exponential moving average, k = 2 / (n + 1), seeded with the SMA of the first n values
    (TA-Lib EMA); first n-1 values NaN."""
    n = _period("n", n, 1)
    x = _series(close, "close")

    def core(x):
        out = np.full(len(x), np.nan)
        if len(x) >= n:
            _smoothed(x, n, 2.0 / (n + 1), out, n - 1)
        return (out,)

    return _skipping_leading_nan(core, x)[0]


def bollinger(close, n: int = 20, k: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mid, upper, lower): SMA(n) plus and minus k population standard deviations
    (TA-Lib BBANDS with matype=0 and nbdevup = nbdevdn = k)."""
    n = _period("n", n, 2)
    k = _real("k", k)
    x = _series(close, "close")

    def core(x):
        mid, upper, lower = (np.full(len(x), np.nan) for _ in range(3))
        if len(x) >= n:
            # The variance goes into `upper` first, then becomes k standard deviations.
            deviation = upper[n - 1:]
            _rolling(x, n, mid[n - 1:], deviation)
            deviation[deviation < _ZERO] = 0.0
            deviation[_flat_windows(x, n)] = 0.0
            np.sqrt(deviation, out=deviation)
            deviation *= k
            np.subtract(mid[n - 1:], deviation, out=lower[n - 1:])
            deviation += mid[n - 1:]
        return mid, upper, lower

    return _skipping_leading_nan(core, x)


def macd(close, fast: int = 12, slow: int = 26, signal: int = 9
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(macd, signal, hist) as talib.MACD: both EMAs are seeded on bar slow-1 (the fast one
    with the SMA of its last `fast` values there), the signal EMA on the MACD line from that
    bar; the first slow + signal - 2 values are NaN."""
    fast = _period("fast", fast, 2)
    slow = _period("slow", slow, 2)
    signal = _period("signal", signal, 1)
    if fast >= slow:
        raise ValueError(f"fast must be shorter than slow, got fast={fast} and slow={slow}")
    x = _series(close, "close")

    def core(x):
        length = len(x)
        line, signal_line, hist = (np.full(length, np.nan) for _ in range(3))
        start = slow - 1
        first = start + signal - 1
        if length > first:
            _smoothed(x, fast, 2.0 / (fast + 1), line, start)
            _smoothed(x, slow, 2.0 / (slow + 1), hist, start)      # hist holds the slow EMA
            line[start:] -= hist[start:]
            _smoothed(line, signal, 2.0 / (signal + 1), signal_line, first)
            line[:first] = np.nan
            np.subtract(line, signal_line, out=hist)
        return line, signal_line, hist

    return _skipping_leading_nan(core, x)


def rsi(close, n: int = 14) -> np.ndarray:
    """Relative strength index with Wilder's smoothing seeded by the mean of the first n
    changes (TA-Lib RSI); first n values NaN, 0 where there is no movement at all."""
    n = _period("n", n, 2)
    x = _series(close, "close")

    def core(x):
        out = np.full(len(x), np.nan)
        if len(x) > n:
            loss = np.empty(len(x))
            loss[0] = np.nan
            np.subtract(x[1:], x[:-1], out=loss[1:])
            gain = np.maximum(loss, 0.0)
            np.negative(loss, out=loss)
            np.maximum(loss, 0.0, out=loss)
            _smoothed(gain, n, 1.0 / n, gain, n)        # smoothed in place
            _smoothed(loss, n, 1.0 / n, loss, n)
            total = np.add(gain[n:], loss[n:], out=loss[n:])
            still = np.abs(total) < _ZERO
            gain[n:] *= 100.0
            np.divide(gain[n:], total, out=out[n:], where=~still)
            out[n:][still] = 0.0
        return (out,)

    return _skipping_leading_nan(core, x)[0]


def atr(high, low, close, n: int = 14) -> np.ndarray:
    """Average true range with Wilder's smoothing seeded by the mean of the first n true ranges
    (TA-Lib ATR); first n values NaN."""
    n = _period("n", n, 1)
    h, lo, c = _series(high, "high"), _series(low, "low"), _series(close, "close")

    def core(h, lo, c):
        if len(c) <= n:
            return (np.full(len(c), np.nan),)
        true_range = np.empty(len(c))
        spread = true_range[1:]
        previous = c[:-1]
        np.subtract(h[1:], lo[1:], out=spread)
        gap = np.subtract(h[1:], previous)
        np.abs(gap, out=gap)
        np.maximum(spread, gap, out=spread)
        np.subtract(lo[1:], previous, out=gap)
        np.abs(gap, out=gap)
        np.maximum(spread, gap, out=spread)
        _smoothed(true_range, n, 1.0 / n, true_range, n)   # smoothed in place
        true_range[:n] = np.nan
        return (true_range,)

    return _skipping_leading_nan(core, h, lo, c)[0]


def volume_ma(volume, n: int) -> np.ndarray:
    """Simple moving average of volume (TA-Lib SMA over the volume column)."""
    return sma(volume, n)


# ---------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class Param:
    """One parameter of an indicator: its default and allowed closed range. The default's
    type says whether it is an integer (a period) or a float (a multiple)."""

    name: str
    label: str
    default: int | float
    minimum: int | float
    maximum: int | float

    @property
    def is_integer(self) -> bool:
        return isinstance(self.default, int)

    def check(self, value) -> int | float:
        """The value as int or float; ValueError naming the parameter when it is not allowed."""
        if isinstance(value, bool):
            raise ValueError(f"{self.name} must be a number, got {value!r}")
        if self.is_integer:
            if not isinstance(value, numbers.Integral):
                raise ValueError(f"{self.name} must be an integer, got {value!r}")
            value = int(value)
        else:
            if not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ValueError(f"{self.name} must be a finite number, got {value!r}")
            value = float(value)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"{self.name} must be between {self.minimum} and {self.maximum}, "
                             f"got {value!r}")
        return value


@dataclass(frozen=True)
class IndicatorSpec:
    """What the chart needs to offer an indicator: its kind (the key saved with the layout),
    display name, whether it overlays the price pane or gets a pane of its own, and its
    parameters."""

    kind: str
    name: str
    overlay: bool
    params: tuple[Param, ...]

    def defaults(self) -> dict[str, int | float]:
        return {param.name: param.default for param in self.params}

    def validate(self, params: Mapping[str, int | float] | None = None) -> dict[str, int | float]:
        """Every parameter, defaults filled in; ValueError for unknown or invalid ones."""
        given = dict(params or {})
        known = {param.name for param in self.params}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"{self.kind} has no parameter {unknown[0]!r} "
                             f"(it takes {', '.join(sorted(known))})")
        checked = {param.name: param.check(given.get(param.name, param.default))
                   for param in self.params}
        if self.kind == "MACD" and checked["fast"] >= checked["slow"]:
            raise ValueError(f"fast must be shorter than slow, got fast={checked['fast']} "
                             f"and slow={checked['slow']}")
        return checked

    def label(self, params: Mapping[str, int | float] | None = None) -> str:
        """Short title such as "MA(20)" or "BOLL(20,2)"."""
        values = self.validate(params)
        return f"{self.kind}({','.join(f'{value:g}' for value in values.values())})"


def _period_param(default: int, minimum: int = 1) -> Param:
    return Param("n", "Period", default, minimum, MAX_PERIOD)


SPECS: dict[str, IndicatorSpec] = {spec.kind: spec for spec in (
    IndicatorSpec("MA", "Moving average", True, (_period_param(20),)),
    IndicatorSpec("EMA", "Exponential moving average", True, (_period_param(20),)),
    IndicatorSpec("BOLL", "Bollinger bands", True,
                  (_period_param(20, 2), Param("k", "Standard deviations", 2.0, 0.1, 10.0))),
    IndicatorSpec("MACD", "MACD", False, (
        Param("fast", "Fast period", 12, 2, MAX_PERIOD),
        Param("slow", "Slow period", 26, 2, MAX_PERIOD),
        Param("signal", "Signal period", 9, 1, MAX_PERIOD))),
    IndicatorSpec("RSI", "Relative strength index", False, (_period_param(14, 2),)),
    IndicatorSpec("ATR", "Average true range", False, (_period_param(14),)),
    IndicatorSpec("VOLMA", "Volume moving average", False, (_period_param(5),)),
)}


def compute(kind: str, params: Mapping[str, int | float] | None,
            columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The named lines of one indicator over bar columns ("open_price", "high_price",
    "low_price", "close_price", "volume"), each as long as the columns.

    Single-line indicators name their line by its label ("MA(20)"); BOLL gives "upper", "mid"
    and "lower"; MACD gives "macd", "signal" and "hist".
    """
    spec = SPECS.get(kind)
    if spec is None:
        raise ValueError(f"unknown indicator kind {kind!r} (known: {', '.join(SPECS)})")
    p = spec.validate(params)
    label = spec.label(p)
    close = columns["close_price"]
    if kind == "MA":
        return {label: sma(close, p["n"])}
    if kind == "EMA":
        return {label: ema(close, p["n"])}
    if kind == "BOLL":
        mid, upper, lower = bollinger(close, p["n"], p["k"])
        return {"upper": upper, "mid": mid, "lower": lower}
    if kind == "MACD":
        line, signal_line, hist = macd(close, p["fast"], p["slow"], p["signal"])
        return {"macd": line, "signal": signal_line, "hist": hist}
    if kind == "RSI":
        return {label: rsi(close, p["n"])}
    if kind == "ATR":
        return {label: atr(columns["high_price"], columns["low_price"], close, p["n"])}
    return {label: volume_ma(columns["volume"], p["n"])}
