"""The symbols the trader watches, and keeping them subscribed at their gateway.

A symbol is subscribed once its contract is known (gateways publish contracts after login),
so a watchlist loaded before connecting subscribes itself as soon as the market arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from vnpy.trader.engine import MainEngine
from vnpy.trader.object import ContractData, SubscribeRequest


class Watchlist:
    def __init__(
        self,
        main_engine: MainEngine,
        symbols: Iterable[str],
        on_change: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.main_engine = main_engine
        self.symbols: list[str] = list(dict.fromkeys(symbols))
        self._members: set[str] = set(self.symbols)
        self.subscribed: set[str] = set()
        self._on_change = on_change or (lambda symbols: None)

    def __contains__(self, vt_symbol: object) -> bool:
        return vt_symbol in self._members

    def add(self, vt_symbol: str) -> str:
        """Add a symbol; returns an error message, or "" when it was added."""
        vt_symbol = vt_symbol.strip()
        contract = self.main_engine.get_contract(vt_symbol)
        if contract is None:
            return f"unknown symbol {vt_symbol!r} (use the form rb2701.SHFE)"
        if vt_symbol in self.symbols:
            return ""
        self.symbols.append(vt_symbol)
        self._members.add(vt_symbol)
        self._subscribe(contract)
        self._on_change(list(self.symbols))
        return ""

    def remove(self, vt_symbol: str) -> None:
        if vt_symbol in self.symbols:
            self.symbols.remove(vt_symbol)
            self._members.discard(vt_symbol)
            self._on_change(list(self.symbols))

    def contracts_arrived(self, contracts: Iterable[ContractData]) -> None:
        for contract in contracts:
            if contract.vt_symbol in self._members and contract.vt_symbol not in self.subscribed:
                self._subscribe(contract)

    def resubscribe(self, gateway_name: str, vt_symbols: Iterable[str] | None = None) -> int:
        """Subscribe again, at `gateway_name`, the watched symbols (of `vt_symbols`, or all)
        whose contract is now that gateway's: after a login or a reconnect, and when a broker's
        contract replaces the simulator's. Returns how many; safe on the event thread."""
        count = 0
        for vt_symbol in list(self.symbols if vt_symbols is None else vt_symbols):
            if vt_symbol not in self._members:
                continue
            contract = self.main_engine.get_contract(vt_symbol)
            if contract is not None and contract.gateway_name == gateway_name:
                self._subscribe(contract)
                count += 1
        return count

    def _subscribe(self, contract: ContractData) -> None:
        req = SubscribeRequest(symbol=contract.symbol, exchange=contract.exchange)
        self.main_engine.subscribe(req, contract.gateway_name)
        self.subscribed.add(contract.vt_symbol)
