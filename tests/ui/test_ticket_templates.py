"""The order ticket with a bracket template: Buy places the entry with the template's stop
and targets; a template on a closing ticket is refused before anything is sent."""

from __future__ import annotations

from vnpy.trader.constant import Offset, OrderType

from terminal.orders import BracketTemplate, Target
from tests.helpers.gui import RB, WAIT, wait_for_quotes


def test_buy_with_a_template_places_a_bracket_and_a_closing_one_is_refused(qtbot, terminal):
    runtime, window = terminal
    wait_for_quotes(qtbot, window, RB)
    runtime.order_templates.save(BracketTemplate("Scalp", stop_ticks=4,
                                                 targets=(Target(6, 1), Target(12, 1))))
    ticket = window.widget("order_ticket")
    ticket.load_symbol(RB)
    assert ticket.template_box.choose("Scalp")
    ticket.type_box.setCurrentIndex(ticket.type_box.findData(OrderType.MARKET))
    ticket.volume_edit.setText("2")

    ticket.offset_box.setCurrentIndex(ticket.offset_box.findData(Offset.CLOSE))
    assert ticket.buy() is None
    assert "a bracket opens a position" in ticket.error_label.text()
    assert runtime.managed.views() == []

    ticket.offset_box.setCurrentIndex(ticket.offset_box.findData(Offset.OPEN))
    group = ticket.buy()
    assert group and group.startswith("M") and "Stops and brackets" in \
        ticket.status_label.text()
    qtbot.waitUntil(lambda: {v.role for v in runtime.managed.views()} ==
                    {"stop", "target 1", "target 2"}, timeout=WAIT)
    assert {v.template for v in runtime.managed.views()} == {"Scalp"}
