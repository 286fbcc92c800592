"""Close orders are split the way China exchanges want them and priced to fill."""

from __future__ import annotations

from types import SimpleNamespace

from vnpy.trader.constant import Direction, Exchange, Offset, Product
from vnpy.trader.object import ContractData, PositionData

from terminal.market.trading import Trading

from helpers import book


def trading_with(contract: ContractData, tick) -> Trading:
    engine = SimpleNamespace(get_contract=lambda vt: contract if vt == contract.vt_symbol else None,
                             get_tick=lambda vt: tick)
    return Trading(engine)  # type: ignore[arg-type]


def test_shfe_close_is_split_into_yesterday_and_today():
    rb = ContractData("SIM", "rb2701", Exchange.SHFE, "Rebar", Product.FUTURES, 10, 1)
    trading = trading_with(rb, book("rb2701", Exchange.SHFE, 3250, 3251, 1))
    position = PositionData("SIM", "rb2701", Exchange.SHFE, Direction.LONG, volume=5, yd_volume=3)
    reqs = trading.close_requests(position)
    assert [(r.offset, r.volume, r.direction) for r in reqs] == [
        (Offset.CLOSEYESTERDAY, 3, Direction.SHORT), (Offset.CLOSETODAY, 2, Direction.SHORT)]
    assert all(r.price == 3245 for r in reqs)  # bid 3250 minus 5 ticks


def test_other_exchanges_close_in_one_order_inside_the_limits():
    m = ContractData("SIM", "m2705", Exchange.DCE, "Meal", Product.FUTURES, 10, 1)
    tick = book("m2705", Exchange.DCE, 2950, 2951, 1)
    tick.limit_up = 2953
    trading = trading_with(m, tick)
    position = PositionData("SIM", "m2705", Exchange.DCE, Direction.SHORT, volume=4, yd_volume=1,
                            frozen=1)
    (req,) = trading.close_requests(position)
    assert (req.offset, req.volume, req.direction, req.price) == (Offset.CLOSE, 3, Direction.LONG, 2953)
