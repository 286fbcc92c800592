"""Prices shown with the digits their contract's tick needs (3,254 for rebar, 4,100.2 for IF)."""

from __future__ import annotations

from collections.abc import Iterable

from vnpy.trader.object import ContractData

from terminal.market.prices import decimals_for

DEFAULT_DECIMALS = 2


class PriceDigits:
    """Digits per vt_symbol, learnt from contracts as gateways publish them."""

    def __init__(self) -> None:
        self._digits: dict[str, int] = {}

    def learn(self, contracts: Iterable[ContractData]) -> None:
        for contract in contracts:
            self._digits[contract.vt_symbol] = decimals_for(contract.pricetick)

    def digits(self, vt_symbol: str) -> int:
        return self._digits.get(vt_symbol, DEFAULT_DECIMALS)

    def text(self, value: tuple[float, str] | None) -> str:
        """Text for a (price, vt_symbol) pair, the value of every price column."""
        if value is None:
            return ""
        price, vt_symbol = value
        if not price:
            return ""
        return f"{price:,.{self._digits.get(vt_symbol, DEFAULT_DECIMALS)}f}"


PRICE_DIGITS = PriceDigits()


def _figure(value: float, decimals: int) -> str:
    """A signed figure, its decimals only when it has any (0 shows as 0)."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):+,d}" if round(value) else "0"
    return f"{value:+,.{decimals}f}"


def pnl_text(money: float, ticks: float) -> str:
    """Open P&L as every window says it: "+1,240 CNY · +12 ticks"."""
    unit = "tick" if abs(ticks) == 1 else "ticks"
    return f"{_figure(money, 2)} CNY · {_figure(ticks, 1)} {unit}"
