"""Property tests of the order ticket: the checks (`terminal.market.ticket`) and the dock
(`terminal.ui.docks.order_ticket`).

Whatever is typed in the price and volume fields and whatever symbol is chosen, a wrong
ticket shows a message naming the field (and the value), raises nothing and sends nothing;
a valid ticket sends exactly one order with exactly the values typed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from vnpy.trader.constant import Direction, Exchange, Offset, OrderType, Product
from vnpy.trader.object import ContractData

from terminal.market.ticket import (
    PRICED_TYPES,
    TICKET_OFFSETS,
    TICKET_TYPES,
    Ticket,
    TicketError,
    check,
    to_request,
)

# A dock or the whole terminal per test, reused by every example: fewer of them.
GUI_EXAMPLES = max(8, settings.default.max_examples // 3)
GUI_SETTINGS = settings(max_examples=GUI_EXAMPLES,
                        suppress_health_check=[HealthCheck.function_scoped_fixture,
                                               HealthCheck.too_slow])

CONTRACTS = [
    ContractData("SIM", "IF2612", Exchange.CFFEX, "CSI 300", Product.FUTURES, 300, 0.2,
                 min_volume=1, max_volume=20),
    ContractData("SIM", "rb2701", Exchange.SHFE, "rebar", Product.FUTURES, 10, 1,
                 min_volume=1, max_volume=500),
    ContractData("SIM", "au2702", Exchange.SHFE, "gold", Product.FUTURES, 1000, 0.02,
                 min_volume=1, max_volume=100),
    ContractData("SIM", "sc2701", Exchange.INE, "crude", Product.FUTURES, 1000, 0.1,
                 min_volume=1, max_volume=100),
    ContractData("SIM", "T2612", Exchange.CFFEX, "10y", Product.FUTURES, 10000, 0.005,
                 min_volume=1, max_volume=50),
    ContractData("SIM", "m2705", Exchange.DCE, "meal", Product.FUTURES, 10, 1,
                 min_volume=2, max_volume=1000),
]
BY_SYMBOL = {c.vt_symbol: c for c in CONTRACTS}

# Digits in other scripts that a keyboard or an input method may produce (full-width digits
# come from Chinese input methods); Python reads them as the same numbers.
DIGIT_SETS = ["0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩"]
SPACES = st.sampled_from(["", " ", "  ", "\t", "\u3000", "\u00a0"])
NOT_NUMBERS = ["", " ", "abc", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "1" * 400,
               "1e3", "1_000", "1,5", "12,34", "1,000,00", ",", ".", "-", "+", "0x10", "1.2.3",
               "４１００．２", "1 000", "--1", "1e", "½", "²", "Ⅻ", "\x00", "1\x00", "٫"]  # noqa: RUF001


def ticket(contract: ContractData | None = None, **changes) -> Ticket:
    fields = dict(vt_symbol=(contract or CONTRACTS[0]).vt_symbol, direction=Direction.LONG,
                  offset=Offset.OPEN, order_type=OrderType.LIMIT, price="4100.2", volume="2")
    fields.update(changes)
    return Ticket(**fields)


def decimals(tick: float) -> int:
    return max(0, -Decimal(repr(tick)).normalize().as_tuple().exponent)


def grid_text(steps: int, tick: float) -> str:
    """`steps` ticks as a trader types the price: exactly, with the tick's decimals."""
    return f"{Decimal(steps) * Decimal(repr(tick)):.{decimals(tick)}f}"


def with_digits(text: str, digits: str) -> str:
    return text.translate(str.maketrans("0123456789", digits))


def with_commas(text: str) -> str:
    whole, dot, fraction = text.partition(".")
    return f"{int(whole):,}{dot}{fraction}"


@st.composite
def valid_tickets(draw):
    """A ticket that must be sent, and the (price, volume) it must be sent with."""
    contract = draw(st.sampled_from(CONTRACTS))
    order_type = draw(st.sampled_from(TICKET_TYPES))
    steps = draw(st.integers(1, 10**7))
    price_text = grid_text(steps, contract.pricetick)
    volume = draw(st.integers(int(contract.min_volume), int(contract.max_volume)))
    volume_text = str(volume) + draw(st.sampled_from(["", ".0", "."]))
    if draw(st.booleans()):
        price_text = with_commas(price_text)
    digits = draw(st.sampled_from(DIGIT_SETS))
    price_text, volume_text = with_digits(price_text, digits), with_digits(volume_text, digits)
    price_text = draw(SPACES) + price_text + draw(SPACES)
    volume_text = draw(SPACES) + volume_text + draw(SPACES)
    symbol = draw(SPACES.filter(lambda s: s != "\t")) + contract.vt_symbol
    price = float(Decimal(steps) * Decimal(repr(contract.pricetick))) \
        if order_type in PRICED_TYPES else 0.0
    return Ticket(vt_symbol=symbol, direction=draw(st.sampled_from([Direction.LONG,
                                                                    Direction.SHORT])),
                  offset=draw(st.sampled_from(TICKET_OFFSETS)), order_type=order_type,
                  price=price_text, volume=volume_text), contract, price, float(volume)


@given(data=valid_tickets())
@example(data=(ticket(price="4,100.4"), CONTRACTS[0], 4100.4, 2.0))
@example(data=(ticket(price="４１００", volume="２"), CONTRACTS[0], 4100.0, 2.0))
def test_a_valid_ticket_becomes_exactly_its_request(data):
    ticket_, contract, price, volume = data
    assert check(ticket_, contract) == {}
    req = to_request(ticket_, contract)
    assert (req.symbol, req.exchange) == (contract.symbol, contract.exchange)
    assert (req.direction, req.offset, req.type) == \
        (ticket_.direction, ticket_.offset, ticket_.order_type)
    assert req.price == price and req.volume == volume


@st.composite
def bad_tickets(draw):
    """A ticket with one wrong field: (ticket, contract, field, words the message holds)."""
    contract = draw(st.sampled_from(CONTRACTS))
    good = ticket(contract, price=grid_text(draw(st.integers(1, 10**6)), contract.pricetick),
                  volume=str(int(contract.min_volume)))
    kind = draw(st.sampled_from(["price text", "volume text", "off tick", "tiny price",
                                 "price not above 0", "volume not whole", "volume not above 0",
                                 "volume above max", "volume below min", "unknown symbol",
                                 "no symbol"]))
    if kind == "price text":
        text = draw(st.sampled_from(NOT_NUMBERS) | st.text(max_size=60))
        assume(_not_a_plain_number(text))
        return Ticket(**{**good.__dict__, "price": text}), contract, "price", \
            ["not a number", repr(text)[:20]]
    if kind == "volume text":
        text = draw(st.sampled_from(NOT_NUMBERS) | st.text(max_size=60))
        assume(_not_a_plain_number(text))
        return Ticket(**{**good.__dict__, "volume": text}), contract, "volume", \
            ["not a number", repr(text)[:20]]
    if kind == "off tick":  # a price between two ticks, however close to one
        tick = Decimal(repr(contract.pricetick))
        places = draw(st.integers(decimals(contract.pricetick) + 1, 9))
        offset = Decimal(draw(st.integers(1, 10**places - 1))) / 10**places * tick
        assume(offset % tick != 0)
        price = Decimal(draw(st.integers(0, 10**6))) * tick + offset
        return Ticket(**{**good.__dict__, "price": f"{price:f}"}), contract, "price", \
            ["not a multiple of the tick"]
    if kind == "tiny price":
        text = draw(st.sampled_from(["0.00000001", "1e-300", "0.0000000000001"]))
        text = text if "e" not in text else f"{float(text):.320f}"
        return Ticket(**{**good.__dict__, "price": text}), contract, "price", \
            ["not a multiple of the tick"]
    if kind == "price not above 0":
        text = draw(st.sampled_from(["0", "-0", "0.0", "-1", "-4100.2", "-0.00"]))
        return Ticket(**{**good.__dict__, "price": text}), contract, "price", ["above 0"]
    if kind == "volume not whole":
        value = draw(st.floats(min_value=0.001, max_value=1e6).filter(lambda v: v != int(v)))
        return Ticket(**{**good.__dict__, "volume": repr(value)}), contract, "volume", \
            ["whole number"]
    if kind == "volume not above 0":
        text = draw(st.sampled_from(["0", "-0", "-1", "-20", "0.0", "-100000"]))
        return Ticket(**{**good.__dict__, "volume": text}), contract, "volume", ["above 0"]
    if kind == "volume above max":
        value = draw(st.integers(int(contract.max_volume) + 1, 10**300))
        text = str(value) if value < 10**15 else f"{value}"
        assume(float(text) < float("inf"))
        return Ticket(**{**good.__dict__, "volume": text}), contract, "volume", ["maximum"]
    if kind == "volume below min":
        assume(contract.min_volume > 1)
        return Ticket(**{**good.__dict__, "volume": "1"}), contract, "volume", ["minimum"]
    if kind == "unknown symbol":
        symbol = draw(st.text(min_size=1, max_size=40).filter(
            lambda s: s.strip() and s.strip() not in BY_SYMBOL))
        return Ticket(**{**good.__dict__, "vt_symbol": symbol}), None, "symbol", \
            ["unknown symbol", repr(symbol.strip())[:20]]
    symbol = draw(SPACES)
    return Ticket(**{**good.__dict__, "vt_symbol": symbol}), None, "symbol", ["choose a symbol"]


def _not_a_plain_number(text: str) -> bool:
    """True unless `text` is what a trader types for a number (digits, thousands commas)."""
    import re

    plain = re.fullmatch(r"[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d*)?|[+-]?\.\d+", text.strip())
    return plain is None


@settings(max_examples=settings.default.max_examples * 2)
@given(data=bad_tickets())
@example(data=(ticket(price="4100.2003"), CONTRACTS[0], "price", ["not a multiple of the tick"]))
@example(data=(ticket(price="1" + "0" * 308), CONTRACTS[0], "price", ["too large"]))
@example(data=(ticket(volume="1,5"), CONTRACTS[0], "volume", ["not a number", "'1,5'"]))
@example(data=(ticket(volume="1e1"), CONTRACTS[0], "volume", ["not a number", "'1e1'"]))
def test_a_bad_field_is_named_and_nothing_is_built(data):
    ticket_, contract, field, words = data
    errors = check(ticket_, contract)
    assert field in errors, errors
    assert all(word in errors[field] for word in words), (words, errors[field])
    assert all(isinstance(m, str) and 0 < len(m) < 200 for m in errors.values())
    with pytest.raises(TicketError) as raised:
        to_request(ticket_, contract)
    assert raised.value.errors == errors and field in str(raised.value)


@given(symbol=st.text(max_size=30) | st.sampled_from(sorted(BY_SYMBOL)),
       price=st.text(max_size=40) | st.floats() | st.integers() | st.sampled_from(NOT_NUMBERS),
       volume=st.text(max_size=40) | st.floats() | st.integers() | st.sampled_from(NOT_NUMBERS),
       order_type=st.sampled_from(TICKET_TYPES), offset=st.sampled_from(TICKET_OFFSETS))
@example(symbol="IF2612.CFFEX", price=10**400, volume=2, order_type=OrderType.LIMIT,
         offset=Offset.OPEN)
@example(symbol="IF2612.CFFEX", price=4100.2, volume=10**400, order_type=OrderType.LIMIT,
         offset=Offset.OPEN)
def test_anything_typed_gives_a_request_or_field_errors(symbol, price, volume, order_type,
                                                        offset):
    """Never an exception but `TicketError`; a request only for an on-tick price above 0
    and a whole volume within the contract's limits, carrying exactly those numbers."""
    contract = BY_SYMBOL.get(symbol.strip())
    item = Ticket(symbol, Direction.SHORT, offset, order_type, price, volume)
    errors = check(item, contract)
    assert set(errors) <= {"symbol", "price", "volume"}
    if errors:
        with pytest.raises(TicketError) as refused:
            to_request(item, contract)
        assert refused.value.errors == errors
        return
    req = to_request(item, contract)
    assert contract is not None
    assert req.volume == int(req.volume) and \
        contract.min_volume <= req.volume <= contract.max_volume
    if order_type in PRICED_TYPES:
        steps = Decimal(req.price) / Decimal(repr(contract.pricetick))
        assert req.price > 0 and abs(steps - round(steps)) < Decimal("1e-6")
        assert req.price == round(req.price, decimals(contract.pricetick))
    else:
        assert req.price == 0


# ---------------------------------------------------------------------------- the dock
class FakeEngine:
    """What the ticket needs of vn.py's MainEngine; records every order that reaches it."""

    def __init__(self) -> None:
        self.sent: list = []

    def get_contract(self, vt_symbol: str):
        return BY_SYMBOL.get(vt_symbol)

    def get_tick(self, vt_symbol: str):
        return None

    def send_order(self, req, gateway_name: str) -> str:
        self.sent.append((req, gateway_name))
        return f"{gateway_name}.{len(self.sent)}"

    def get_all_active_orders(self) -> list:
        return []


@pytest.fixture
def dock(qtbot):
    from terminal.market.trading import Trading
    from terminal.ui.docks.order_ticket import OrderTicketDock

    engine = FakeEngine()
    widget = OrderTicketDock(Trading(engine))
    widget.set_symbols(sorted(BY_SYMBOL))
    qtbot.addWidget(widget)
    return widget, engine


def fill(widget, item: Ticket) -> None:
    widget.symbol_box.setCurrentText(item.vt_symbol)
    widget.offset_box.setCurrentIndex(widget.offset_box.findData(item.offset))
    widget.type_box.setCurrentIndex(widget.type_box.findData(item.order_type))
    widget.price_edit.setText(str(item.price))
    widget.volume_edit.setText(str(item.volume))


def press(widget, direction: Direction):
    return widget.buy() if direction == Direction.LONG else widget.sell()


@GUI_SETTINGS
@given(data=bad_tickets(), direction=st.sampled_from([Direction.LONG, Direction.SHORT]))
def test_dock_shows_the_bad_field_and_sends_nothing(dock, data, direction):
    widget, engine = dock
    item, _, field, words = data
    assume(field != "price" or item.order_type in PRICED_TYPES)
    fill(widget, item)
    sent = len(engine.sent)
    assert press(widget, direction) is None
    assert len(engine.sent) == sent, "a bad ticket reached the engine"
    shown = widget.error_label.text()
    assert f"{field.capitalize()}: " in shown
    message = widget.fields[field].toolTip()
    assert all(word in message for word in words), (words, message)
    assert message in shown and widget.fields[field].styleSheet()
    assert widget.status_label.text() == ""


@GUI_SETTINGS
@given(data=valid_tickets())
def test_dock_sends_one_order_with_exactly_the_values_typed(dock, data):
    widget, engine = dock
    item, contract, price, volume = data
    fill(widget, item)
    sent = len(engine.sent)
    vt_orderid = press(widget, item.direction)
    assert widget.error_label.text() == ""
    assert vt_orderid == f"SIM.{sent + 1}" and len(engine.sent) == sent + 1
    req, gateway = engine.sent[-1]
    assert gateway == contract.gateway_name
    assert (req.symbol, req.exchange, req.direction, req.offset, req.type) == \
        (contract.symbol, contract.exchange, item.direction, item.offset, item.order_type)
    assert req.price == price and req.volume == volume
    assert all(not w.styleSheet() and not w.toolTip() for w in widget.fields.values())


# ---------------------------------------------------------------------------- the terminal
@st.composite
def terminal_inputs(draw):
    """(price text, volume text, what must happen): bad text, off-tick, unknown symbols,
    zero/negative/huge/NaN/inf volumes, or a valid order."""
    kind = draw(st.sampled_from(["bad price", "bad volume", "off tick", "symbol", "valid"]))
    if kind == "bad price":
        return "rb2701.SHFE", draw(st.sampled_from([*NOT_NUMBERS, "3250.5", "-3250", "0"])), \
            "1", "price"
    if kind == "bad volume":
        return "rb2701.SHFE", None, draw(st.sampled_from(
            [*NOT_NUMBERS, "0", "-1", "1.5", "1e9", "9" * 20, "nan", "-inf"])), "volume"
    if kind == "off tick":
        whole, tenth = draw(st.integers(3000, 6000)), draw(st.sampled_from("13579"))
        return "IF2612.CFFEX", f"{whole}.{tenth}", "1", "price"
    if kind == "symbol":
        return draw(st.text(min_size=1, max_size=20).filter(
            lambda s: s.strip() and s.strip() not in BY_SYMBOL)), "100", "1", "symbol"
    return draw(st.sampled_from(["rb2701.SHFE", "IF2612.CFFEX", "au2702.SHFE"])), None, \
        str(draw(st.integers(1, 3))), None


@settings(max_examples=max(6, GUI_EXAMPLES // 2),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(inputs=terminal_inputs())
def test_terminal_sends_only_valid_tickets_to_the_gateway(qtbot, terminal, inputs):
    """The whole terminal: what reaches the simulated exchange's gateway is exactly the
    valid tickets; a bad one shows its field's message and leaves no order anywhere."""
    runtime, window = terminal
    engine = runtime.kernel.main_engine
    gateway = engine.get_gateway("SIM")
    if not hasattr(gateway, "received"):
        runtime.risk.guard.enabled = False  # the ticket is under test, not the risk rules
        gateway.received = []
        real = gateway.send_order

        def recording(req):
            gateway.received.append(req)
            return real(req)

        gateway.send_order = recording
        qtbot.waitUntil(lambda: all(engine.get_tick(s) for s in
                                    ("rb2701.SHFE", "IF2612.CFFEX", "au2702.SHFE")),
                        timeout=10_000)
    symbol, price, volume, field = inputs
    assume(field != "symbol" or engine.get_contract(symbol.strip()) is None)
    ticket_dock = window.ticket
    ticket_dock.load_symbol(symbol)
    ticket_dock.type_box.setCurrentIndex(ticket_dock.type_box.findData(OrderType.LIMIT))
    if price is None:  # a valid price: a few ticks under the last one
        tick, contract = engine.get_tick(symbol.strip()), engine.get_contract(symbol.strip())
        decimals_ = decimals(contract.pricetick) if contract else 0
        price = f"{tick.last_price - 3 * contract.pricetick:.{decimals_}f}" if tick else "100"
    ticket_dock.price_edit.setText(price)
    ticket_dock.volume_edit.setText(volume)
    before, orders_before = len(gateway.received), len(engine.get_all_orders())
    vt_orderid = ticket_dock.buy()
    if field is not None:
        assert vt_orderid is None
        assert f"{field.capitalize()}: " in ticket_dock.error_label.text()
        qtbot.wait(50)  # an order sent would be on its way to the engine by now
        assert len(gateway.received) == before
        assert len(engine.get_all_orders()) == orders_before
    else:
        assert vt_orderid and ticket_dock.error_label.text() == ""
        assert len(gateway.received) == before + 1
        req = gateway.received[-1]
        assert (req.vt_symbol, req.price, req.volume, req.direction) == \
            (symbol, float(price), float(volume), Direction.LONG)
        qtbot.waitUntil(lambda: engine.get_order(vt_orderid) is not None, timeout=10_000)
