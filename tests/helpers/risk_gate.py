"""Orders, contexts and a clock for the risk gate's tests (`tests/risk/`): one compliant
rebar order with every rule on, changed per test."""

from __future__ import annotations

from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Product
from vnpy.trader.object import ContractData, OrderRequest

from terminal.risk import Decision, OrderContext

RB = ContractData("SIM", "rb2701", Exchange.SHFE, "Rebar", Product.FUTURES, 10, 1, max_volume=500)
IF = ContractData("SIM", "IF2612", Exchange.CFFEX, "CSI 300", Product.FUTURES, 300, 0.2,
                  max_volume=20)
CONTRACTS = {"rb2701": RB, "IF2612": IF}


class FakeClock:
    """A monotonic clock the test sets (`now`)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def req(**changes) -> OrderRequest:
    """A buy of 2 rb2701 at 3250 that passes every default rule, with `changes`."""
    fields = dict(symbol="rb2701", exchange=Exchange.SHFE, direction=Direction.LONG,
                  type=OrderType.LIMIT, volume=2.0, price=3250.0, offset=Offset.OPEN)
    fields.update(changes)
    return OrderRequest(**fields)


def ctx(request: OrderRequest | None = None, **changes) -> OrderContext:
    """What the gate knows besides the order: its contract (of `request`), a quote at 3250,
    ample funds, no position; with `changes`."""
    contract = CONTRACTS[request.symbol] if request is not None else RB
    fields = dict(contract=contract, last_price=3250.0, available=10_000_000.0, margin_rate=0.10,
                  commission_rate=0.0001, commission_per_lot=0.0)
    fields.update(changes)
    return OrderContext(**fields)



def assert_denied(decision: Decision, rule: str, *words: str) -> None:
    assert not decision.allowed and not decision
    assert decision.rule == rule, decision
    for word in words:
        assert word in decision.reason, decision.reason


def assert_allowed(decision: Decision) -> None:
    assert decision.allowed and decision, decision
    assert decision.rule == "" and decision.reason == ""
