"""Price arithmetic on a tick grid, exact for decimal ticks such as 0.2 or 0.005."""

from __future__ import annotations

import functools
import math

_EPSILON = 1e-7


def is_on_tick(price: float, pricetick: float) -> bool:
    if pricetick <= 0 or not math.isfinite(price):
        return False
    steps = price / pricetick
    if not math.isfinite(steps):  # a price too large for its steps to be counted
        return False
    return abs(steps - round(steps)) < _EPSILON * max(1.0, abs(steps))


def round_to_tick(price: float, pricetick: float) -> float:
    """Nearest price on the grid, with the float noise of the multiplication removed."""
    return round(round(price / pricetick) * pricetick, decimals_for(pricetick))


@functools.lru_cache(maxsize=1024)
def price_decimals(pricetick: float) -> int:
    """Digits to show a price with: the tick's, or 6 when the tick is unknown (0) or finer
    than 1e-4 (one rule for the alert texts, their dialog and their dock)."""
    return decimals_for(pricetick) if pricetick >= 1e-4 else 6


def decimals_for(pricetick: float) -> int:
    """Digits needed to show every price on the grid (cached: the simulated exchange asks
    eleven times a quote, thousands of quotes a second, for a few dozen ticks)."""
    text = f"{pricetick:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0
