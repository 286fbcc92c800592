"""The terminal's window as a test drives it: the symbol most tests trade, how long to wait for
the GUI, and filling the order ticket."""

from __future__ import annotations

from vnpy.trader.constant import Offset, OrderType

WAIT = 10_000  # ms; generous for a loaded CI machine
RB = "rb2701.SHFE"


def fill_ticket(window, symbol=RB, price=None, volume="1", offset=Offset.OPEN,
                order_type=OrderType.LIMIT):
    ticket = window.ticket
    ticket.load_symbol(symbol)
    ticket.offset_box.setCurrentIndex(ticket.offset_box.findData(offset))
    ticket.type_box.setCurrentIndex(ticket.type_box.findData(order_type))
    if price is not None:
        ticket.price_edit.setText(price)
    ticket.volume_edit.setText(volume)
    return ticket


def marketable_buy_price(runtime, symbol=RB) -> str:
    tick = runtime.kernel.main_engine.get_tick(symbol)
    contract = runtime.trading.contract(symbol)
    return f"{tick.ask_price_1 + 3 * contract.pricetick:.{4}f}"


def wait_for_quotes(qtbot, window, symbol=RB):
    qtbot.waitUntil(lambda: window.market_watch.model.find(symbol) is not None, timeout=WAIT)
