"""Money read as money, in every figure the terminal draws or writes (plot axes, reports):
thousands separators, no exponent, as many decimals as the step between values needs."""

from __future__ import annotations

import math


def money_text(value: float, step: float = 1.0) -> str:
    """`value` with thousands separators and the decimals the step between labels needs
    (none for steps of 1 or more, so 1,020,000; steps of 0.5 give 1,020,000.5; 0.25 give
    two). A value that rounds to zero has no minus sign; NaN and infinities give ""."""
    if not math.isfinite(value):
        return ""
    decimals = 0
    if 0 < step < 1:
        decimals = -math.floor(math.log10(step))
        while decimals < 6 and not _whole(step * 10 ** decimals):
            decimals += 1
    text = f"{value:,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def _whole(value: float) -> bool:
    return abs(round(value) - value) < 1e-6
