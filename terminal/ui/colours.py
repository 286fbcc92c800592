"""Colours that carry a meaning, defined once for the chart, the tables and the forms.

Prices, sides and money follow the China convention in both themes: red rises (up, long, a
profit) and green falls (down, short, a loss). Errors, warnings and muted states have their own
colours, so a loss is never mistaken for an error."""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor

UP_HEX = "#e5484d"          # a rise, a long, a profit
DOWN_HEX = "#30a46c"        # a fall, a short, a loss
ERROR_HEX = "#e04040"       # refused, failed, stopped, damaged
WARNING_HEX = "#d4a017"     # needs a look: reduce-only, a warning alert
PENDING_HEX = "#d08000"     # on its way: connecting, reconnecting
RUNNING_HEX = "#30a46c"     # working as it should: a trading strategy, a running job
MUTED_HEX = "#8c8c8c"       # nothing to act on: cancelled, queued
ORDER_STOP_HEX = "#f0852d"   # a protective stop on the chart (orange: neither side's colour)
ORDER_TARGET_HEX = "#3e8ed0"  # a profit target on the chart
PLOT_BACKGROUND = "#101418"  # behind the plots of results and health, in both themes
# Link groups (core.link_groups): windows of one colour show one symbol.
LINK_HEX = {"red": "#e5484d", "green": "#30a46c", "blue": "#3e8ed0", "yellow": "#e2b714",
            "purple": "#9b59d0"}

UP = QColor(UP_HEX)
DOWN = QColor(DOWN_HEX)
UP_BRUSH = QBrush(UP)
DOWN_BRUSH = QBrush(DOWN)
ERROR_BRUSH = QBrush(QColor(ERROR_HEX))
WARNING_BRUSH = QBrush(QColor(WARNING_HEX))
RUNNING_BRUSH = QBrush(QColor(RUNNING_HEX))
MUTED_BRUSH = QBrush(QColor(MUTED_HEX))

ERROR_TEXT_STYLE = f"color: {ERROR_HEX}"            # a label that says what is wrong
ERROR_FIELD_STYLE = f"border: 1px solid {ERROR_HEX};"  # the field it is about


def up_or_down(value: float) -> QBrush | None:
    """The brush of a signed amount: up for above zero, down for below, none at zero."""
    return UP_BRUSH if value > 0 else DOWN_BRUSH if value < 0 else None


def error_html(text: str) -> str:
    return f"<span style='color:{ERROR_HEX}'>{text}</span>"
