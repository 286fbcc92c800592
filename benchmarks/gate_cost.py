"""What the risk gate adds to one order, end to end: `MainEngine.send_order` down to the
gateway's own `send_order`, with the gate on, against the same call with the guard disabled.

Hand-run from a project root (not a test); run it from two checkouts to compare them:

    .venv/bin/python benchmarks/gate_cost.py
    .venv/bin/python /path/to/other/checkout/benchmarks/gate_cost.py     # imports that one

The engine is vn.py's `MainEngine` with the terminal's `RiskService` built as the runtime
builds it, a gateway whose own `send_order` only returns an id (so the figure is the gate's,
not an exchange's), one contract, a tick, an account and a position, and 50 working orders
followed by the guard (25 buys below the market and 25 sells above it, so the self-trade
check meets a real best price on the other side). Every limit that counts orders over time
(orders per second, duplicate window, cancels, working orders) is switched off so that every
order is allowed, and the orders + cancels per second and per day are set as high as they go
(counted and checked, never reached); the per-order rules (tick, volume, band, notional,
funds, position, self-trade) are all checked. A key the checkout does not know (an older
one's) is left out, so the same script runs against the code before a change. Each figure
is the median of `--repeat` timeit runs of `--number` orders, in microseconds per order:
"gate on" and "guard disabled" (`guard.enabled = False`: the boundary and the engine's entry
still run), and the difference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import timeit
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from harness import ROOT, met


def build(home: Path):
    sys.path.insert(0, str(ROOT))
    from terminal.core import paths

    paths.prepare(home)
    from vnpy.event import EventEngine
    from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Product, Status
    from vnpy.trader.engine import MainEngine
    from vnpy.trader.gateway import BaseGateway
    from vnpy.trader.object import (AccountData, ContractData, OrderData, OrderRequest,
                                    PositionData, TickData)

    from terminal.risk import limits as risk_limits
    from terminal.risk.service import RiskService

    class QuietGateway(BaseGateway):
        default_name = "QUIET"
        default_setting: ClassVar[dict] = {}
        exchanges: ClassVar[list[Exchange]] = [Exchange.SHFE]

        def __init__(self, event_engine, gateway_name):
            super().__init__(event_engine, gateway_name)
            self.count = 0

        def connect(self, setting): ...
        def close(self): ...
        def subscribe(self, req): ...
        def query_account(self): ...
        def query_position(self): ...

        def send_order(self, req):
            self.count += 1
            return f"{self.gateway_name}.{self.count}"

        def cancel_order(self, req): ...

    event_engine = EventEngine()
    engine = MainEngine(event_engine)
    gateway = engine.add_gateway(QuietGateway, "QUIET")
    oms = engine.get_engine("oms")
    contract = ContractData("QUIET", "rb2701", Exchange.SHFE, "rebar", Product.FUTURES, 10, 1.0,
                            max_volume=500)
    oms.contracts[contract.vt_symbol] = contract
    oms.ticks[contract.vt_symbol] = TickData("QUIET", "rb2701", Exchange.SHFE, datetime.now(),
                                             last_price=3250.0)
    account = AccountData("QUIET", "A1", balance=10_000_000.0)
    oms.accounts[account.vt_accountid] = account
    position = PositionData("QUIET", "rb2701", Exchange.SHFE, Direction.LONG, volume=5)
    oms.positions[position.vt_positionid] = position
    for number in range(50):
        buy = number % 2 == 0
        order = OrderData("QUIET", "rb2701", Exchange.SHFE, f"w{number}", OrderType.LIMIT,
                          Direction.LONG if buy else Direction.SHORT, Offset.OPEN,
                          3000.0 if buy else 3500.0, 1, 0, Status.NOTTRADED)
        oms.orders[order.vt_orderid] = order
        oms.active_orders[order.vt_orderid] = order

    off = dict(max_orders_per_second=0, duplicate_seconds=0.0, max_cancels_per_day=0,
               max_working_orders=0, max_position=0, max_actions_per_second=100_000,
               max_actions_per_day=100_000_000)
    known = {key: value for key, value in off.items() if key in risk_limits.LIMIT_NAMES}
    config = risk_limits.RiskConfig(global_limits=risk_limits.RiskLimits(**known))
    path = home / "risk.json"
    risk_limits.save(path, config)
    risk = RiskService(engine, event_engine, path, lambda vt: (0.1, 0.0001, 0.0),
                       lambda vt, now: True, lambda: "day")
    risk.apply(config, save=False)
    prices = [3200.0 + i for i in range(100)]
    requests = [OrderRequest("rb2701", Exchange.SHFE, Direction.LONG, OrderType.LIMIT, 1.0,
                             price, Offset.OPEN) for price in prices]
    return engine, gateway, risk, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        engine, gateway, risk, requests = build(Path(home))
        index = [0]

        def one() -> None:
            req = requests[index[0] % 100]
            index[0] += 1
            engine.send_order(req, "QUIET")

        def median_us() -> float:
            runs = timeit.repeat(one, number=args.number, repeat=args.repeat)
            return statistics.median(runs) / args.number * 1e6

        sent = gateway.count
        on = median_us()
        allowed = gateway.count - sent
        risk.guard.enabled = False
        disabled = median_us()
        engine.close()
    print(f"{ROOT.name} @ {ROOT}")
    print(f"  gate on:        {on:7.2f} us per order ({allowed} of {args.number * args.repeat} "
          f"reached the gateway)")
    print(f"  guard disabled: {disabled:7.2f} us per order")
    print(f"  the gate adds:  {on - disabled:7.2f} us per order (target: under 50: "
          f"{met(on - disabled < 50)})")


if __name__ == "__main__":
    main()
