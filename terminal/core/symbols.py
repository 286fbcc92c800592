"""vn.py's `vt_symbol` ("rb2701.SHFE"): the one place it is taken apart and checked.

The symbol keeps its case (exchanges differ: rb2701, SR701, IF2701); the exchange is matched
without regard to case, so "rb2701.shfe" typed in a form or on the command line is
"rb2701.SHFE"."""

from __future__ import annotations

from vnpy.trader.constant import Exchange

EXAMPLE = "rb2701.SHFE"


class BadSymbol(ValueError):
    """Text that is not SYMBOL.EXCHANGE with an exchange vn.py knows."""


def split_vt_symbol(vt_symbol: str) -> tuple[str, Exchange]:
    """(symbol, exchange) of `vt_symbol`, or `BadSymbol` naming the text."""
    text = vt_symbol.strip() if isinstance(vt_symbol, str) else vt_symbol
    if isinstance(text, str):
        symbol, dot, exchange = text.rpartition(".")
        member = Exchange._value2member_map_.get(exchange.upper())
        if symbol and dot and member is not None and symbol == symbol.strip():
            return symbol, member
    raise BadSymbol(f"{vt_symbol!r} is not SYMBOL.EXCHANGE (e.g. {EXAMPLE})")


def is_vt_symbol(text: str) -> bool:
    try:
        split_vt_symbol(text)
    except BadSymbol:
        return False
    return True


def vt_symbol_of(symbol: str, exchange: Exchange) -> str:
    return f"{symbol}.{exchange.value}"


def canonical_vt_symbol(text: str) -> str:
    """`text` as vn.py writes it ("rb2701.shfe " -> "rb2701.SHFE"), or `BadSymbol`."""
    return vt_symbol_of(*split_vt_symbol(text))
