"""Close orders are split the way China exchanges want them and priced to fill."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from vnpy.trader.constant import Direction, Exchange, Offset, Product
from vnpy.trader.object import ContractData, PositionData

from terminal.market.trading import Trading, TradingError

from tests.helpers import book


def trading_with(contract: ContractData, tick) -> Trading:
    engine = SimpleNamespace(get_contract=lambda vt: contract if vt == contract.vt_symbol else None,
                             get_tick=lambda vt: tick, get_all_active_orders=list,
                             get_order=lambda vt: None)
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
    assert (req.offset, req.volume, req.direction, req.price) == (Offset.CLOSE, 3,
                                                                  Direction.LONG, 2953)


def test_a_net_position_is_closed_by_its_sign():
    """Net-position gateways (vn.py's Direction.NET) hold one signed volume: +5 is sold, -5 is
    bought back; neither may be doubled by a buy that opens more."""
    m = ContractData("IB", "m2705", Exchange.DCE, "Meal", Product.FUTURES, 10, 1)
    trading = trading_with(m, book("m2705", Exchange.DCE, 2950, 2951, 1))
    long_net = PositionData("IB", "m2705", Exchange.DCE, Direction.NET, volume=5)
    (req,) = trading.close_requests(long_net)
    assert (req.direction, req.volume, req.offset) == (Direction.SHORT, 5, Offset.CLOSE)
    short_net = PositionData("IB", "m2705", Exchange.DCE, Direction.NET, volume=-5)
    (req,) = trading.close_requests(short_net)
    assert (req.direction, req.volume) == (Direction.LONG, 5)
    assert trading.close_requests(short_net, volume=9)[0].volume == 5    # never past flat


def test_a_close_larger_than_the_exchange_takes_is_split():
    IF = ContractData("SIM", "IF2612", Exchange.CFFEX, "CSI 300", Product.FUTURES, 300, 0.2,
                      max_volume=20)
    trading = trading_with(IF, book("IF2612", Exchange.CFFEX, 4000, 4000.2, 0.2))
    position = PositionData("SIM", "IF2612", Exchange.CFFEX, Direction.LONG, volume=45)
    assert [r.volume for r in trading.close_requests(position)] == [20, 20, 5]


def test_closes_go_to_the_gateway_that_holds_the_position_and_flatten_goes_on_past_a_failure():
    """vn.py keeps one contract per symbol, from whichever gateway sent it last: a position of
    the simulator must still be closed at the simulator, not at CTP."""
    rb = ContractData("CTP", "rb2701", Exchange.SHFE, "Rebar", Product.FUTURES, 10, 1)
    hc = ContractData("CTP", "hc2701", Exchange.SHFE, "Coil", Product.FUTURES, 10, 1)
    sent: list[tuple[str, str]] = []
    positions = [PositionData("SIM", "hc2701", Exchange.SHFE, Direction.LONG, volume=1),
                 PositionData("SIM", "rb2701", Exchange.SHFE, Direction.LONG, volume=2)]
    engine = SimpleNamespace(
        get_contract=lambda vt: {rb.vt_symbol: rb, hc.vt_symbol: hc}.get(vt),
        get_tick=lambda vt: book("rb2701", Exchange.SHFE, 3250, 3251, 1)
        if vt == rb.vt_symbol else None,                                # no quote for hc
        get_all_active_orders=list, get_all_positions=lambda: positions,
        send_order=lambda req, gateway: sent.append((req.vt_symbol, gateway)) or f"{gateway}.1",
        get_order=lambda vt: None, get_position=lambda vt: None)
    trading = Trading(engine)  # type: ignore[arg-type]
    with pytest.raises(TradingError, match=r"SIM\.hc2701\.SHFE\.Long: no quote for hc2701"):
        trading.flatten()
    assert sent == [("rb2701.SHFE", "SIM")]                   # rb closed all the same, at SIM
