"""The order ticket's checks name the field and send nothing when a field is wrong."""

from __future__ import annotations

import pytest
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Product
from vnpy.trader.object import ContractData

from terminal.market.ticket import Ticket, TicketError, check, to_request

IF = ContractData("SIM", "IF2612", Exchange.CFFEX, "CSI 300", Product.FUTURES, 300, 0.2,
                  max_volume=20)


def ticket(**changes) -> Ticket:
    fields = dict(vt_symbol="IF2612.CFFEX", direction=Direction.LONG, offset=Offset.OPEN,
                  order_type=OrderType.LIMIT, price="4100.2", volume="2")
    fields.update(changes)
    return Ticket(**fields)


def test_valid_ticket_becomes_a_request():
    req = to_request(ticket(price="4,100.4"), IF)
    assert (req.symbol, req.exchange, req.price, req.volume) == ("IF2612", Exchange.CFFEX,
                                                                  4100.4, 2)
    assert req.type == OrderType.LIMIT and req.offset == Offset.OPEN


@pytest.mark.parametrize(
    ("changes", "contract", "field", "words"),
    [
        ({"price": "4100.1"}, IF, "price", "not a multiple of the tick 0.2"),
        ({"price": "abc"}, IF, "price", "not a number"),
        ({"price": "-1"}, IF, "price", "above 0"),
        ({"price": "nan"}, IF, "price", "not a number"),
        ({"volume": "0"}, IF, "volume", "whole number"),
        ({"volume": "1.5"}, IF, "volume", "whole number"),
        ({"volume": ""}, IF, "volume", "not a number"),
        ({"volume": "21"}, IF, "volume", "maximum of 20"),
        ({"vt_symbol": "XX1.CFFEX"}, None, "symbol", "unknown symbol 'XX1.CFFEX'"),
        ({"vt_symbol": " "}, None, "symbol", "choose a symbol"),
    ],
)
def test_bad_fields_are_named(changes, contract, field, words):
    errors = check(ticket(**changes), contract)
    assert words in errors[field]
    with pytest.raises(TicketError) as raised:
        to_request(ticket(**changes), contract)
    assert field in raised.value.errors


def test_market_order_needs_no_price():
    req = to_request(ticket(order_type=OrderType.MARKET, price=""), IF)
    assert req.price == 0.0


def test_several_errors_at_once():
    errors = check(ticket(price="1.1", volume="0"), IF)
    assert set(errors) == {"price", "volume"}
