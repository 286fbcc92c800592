"""The trader's own orders and position on a chart, as lines to trade from.

- Every working order of the chart's symbol and every managed order (stops, a bracket's stop
  and targets, OCO legs: `terminal.orders`) is a line with a label at the right: what it is,
  lots, price, and where it lives: "local" (it dies with the terminal or the connection;
  drawn dashed) or "at the exchange" (solid). Stops are orange, targets blue, other orders
  in their side's colour.
- Drag a line up or down to move the order: the price snaps to the tick and the label shows
  where it would go; on release the move goes to `ManagedOrders.modify`, which asks the risk
  gate first. A denied move snaps back and says why (the chart's message line and a tooltip);
  an allowed one shows "replacing" until the order or the managed view changes. Esc cancels
  a drag; dragging a line never pans the chart; a line being replaced does not move.
- The × on an order's label cancels it.
- Each position has a line at its average price with the open P&L in money (CNY, times the
  contract multiplier) and in ticks, from the last price at the chart's paced draw rate.

The gestures are read by an event filter on the chart's scene, installed after the drawing
tools' and so ahead of them and of pyqtgraph's panning; a drawing tool being used keeps its
own presses. `ui.chart.order_line_item` paints the lines and says what is under a point.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QToolTip
from vnpy.trader.constant import Direction, OrderType
from vnpy.trader.object import OrderData, PositionData

from terminal.core.bridge import Batch
from terminal.market.pnl import is_long, open_pnl
from terminal.market.prices import price_decimals, round_to_tick
from terminal.orders import EVENT_MANAGED, ManagedOrderError, ManagedView
from terminal.ui.chart.order_entry import OrderEntry
from terminal.orders.model import AT_EXCHANGE, LOCAL
from terminal.ui.chart.order_line_item import Line, OrderLinesItem
from terminal.ui.formats import pnl_text
from terminal.ui.colours import (DOWN_HEX, ERROR_HEX, MUTED_HEX, ORDER_STOP_HEX,
                                 ORDER_TARGET_HEX, UP_HEX)
from terminal.ui.theme import current as current_theme

if TYPE_CHECKING:
    from terminal.orders import ManagedOrders, OrderTemplates

log = logging.getLogger(__name__)

HIT_PIXELS = 5.0           # a press this close to a line takes it
DRAG_PIXELS = 3.0          # a press that moves further is a drag
TOOLTIP_MS = 4000          # a refused move's reason, by the cursor
# Managed states whose line cannot be dragged, and the word for why.
FIXED_STATES = {"replacing": "it is being replaced", "sending": "it is being sent",
                "in doubt": "its state is in doubt", "filled": "it has filled",
                "cancelled": "it is cancelled", "failed": "it failed"}
_PRESSES = (QEvent.Type.GraphicsSceneMousePress, QEvent.Type.GraphicsSceneMouseDoubleClick)
SHOWN_STATES = ("waiting", "sending", "replacing", "in doubt", "failed")
STOP_KINDS = ("stop", "stop limit")


def side_word(direction: Direction) -> str:
    return "Buy" if direction == Direction.LONG else "Sell"


def order_text(order: OrderData, decimals: int) -> str:
    """A plain working order's label, e.g. "Buy 1 limit @ 3512 · at the exchange"."""
    left = order.volume - order.traded
    kind = order.type.value.lower()
    price = f"{order.price:.{decimals}f}"
    return f"{side_word(order.direction)} {left:g} {kind} @ {price} · {AT_EXCHANGE}"


def view_text(view: ManagedView, decimals: int) -> str:
    """A managed order's label by its role, e.g. "Stop 2 @ 3498 · local", "Target 1 · 1 lot
    @ 3530 · at the exchange", "Buy 1 limit entry @ 3512 · at the exchange", with what the
    view's own text adds after its first part (a stop-limit's limit, how it trails, a pending
    breakeven) and the state when it is not simply working."""
    lots = f"{view.volume:g} lot{'' if view.volume == 1 else 's'}"
    if view.role == "stop":
        title = f"Stop {view.volume:g}"
    elif view.role.startswith("target"):
        title = f"{view.role.capitalize()} · {lots}"
    elif view.role == "entry":
        title = f"{side_word(view.direction)} {view.volume:g} {view.kind} entry"
    elif view.role.startswith("oco"):
        title = f"{side_word(view.direction)} {view.volume:g} {view.kind} (OCO)"
    else:
        title = f"{side_word(view.direction)} {view.volume:g} {view.kind}"
    extras = [part for part in view.text.split(" · ")[1:] if part != view.where]
    text = " · ".join([f"{title} @ {view.price:.{decimals}f}", *extras, view.where])
    if view.state in SHOWN_STATES:
        text += f" · {view.state}"
    return text


def view_colour(view: ManagedView) -> str:
    if view.state in ("failed", "in doubt"):
        return ERROR_HEX
    if view.kind in STOP_KINDS and view.role != "entry":     # every stop that protects
        return ORDER_STOP_HEX
    if view.role.startswith("target") or (view.role.startswith("oco")
                                          and view.kind == "limit"):
        return ORDER_TARGET_HEX
    return UP_HEX if view.direction == Direction.LONG else DOWN_HEX


def position_text(position: PositionData, decimals: int,
                  pnl: tuple[float, float] | None) -> str:
    """"Long 2 @ 3512.5 · +1,240 CNY · +12 ticks" (without a last price: no P&L)."""
    price = f"{position.price:.{decimals + 1}f}"
    text = f"{'Long' if is_long(position) else 'Short'} {abs(position.volume):g} @ {price}"
    if pnl is not None:
        text += f" · {pnl_text(*pnl)}"
    return text


@dataclass
class _Drag:
    key: str
    origin: float          # the order's price when pressed
    press: QPointF         # scene position of the press
    price: float | None = None    # where it would go (None until it moved DRAG_PIXELS)


class ChartOrders(QObject):
    """A chart dock's own orders and position as lines, and the right-click order entry
    (`entry`). `managed` None: the lines only show and cancel plain orders (no moves)."""

    def __init__(self, dock, managed: ManagedOrders | None = None,
                 templates: OrderTemplates | None = None,
                 busy: Callable[[], bool] = lambda: False) -> None:
        super().__init__(dock)
        self.dock = dock
        self.chart = dock.chart
        self.trading = dock.trading
        self.managed = managed
        self.busy = busy                  # a drawing tool is in use: its presses, not ours
        self.entry = OrderEntry(dock, managed, templates)
        self.item = OrderLinesItem()
        self.chart.price.addItem(self.item, ignoreBounds=True)
        self.orders: dict[str, OrderData] = {}           # plain working orders, by vt_orderid
        self.views: dict[str, ManagedView] = {}          # active managed orders, by id
        self.positions: dict[str, PositionData] = {}
        self.lines: dict[str, Line] = {}                 # what is drawn, by key
        # Moves the gate allowed, until done: key -> (new price, the order's state when asked).
        self.replacing: dict[str, tuple[float, object]] = {}
        self.last_refusal = ""
        self._drag: _Drag | None = None
        self._close_press: str | None = None              # the × pressed, until released
        self._last_price: float | None = None
        self.chart.graphics.scene().installEventFilter(self)
        self.chart.graphics.installEventFilter(self)
        dock.title_changed.connect(lambda _title: self.reload())

    # ------------------------------------------------------------------ state
    @property
    def vt_symbol(self) -> str:
        return self.dock.vt_symbol

    def reload(self) -> None:
        """The chart's symbol (re)loaded: its orders, managed orders and positions now."""
        vt_symbol = self.vt_symbol
        engine = self.trading.main_engine
        self.cancel_drag()
        self.replacing.clear()
        self.orders = {o.vt_orderid: o for o in engine.get_all_active_orders()
                       if o.vt_symbol == vt_symbol}
        self.views = {v.id: v for v in self.managed.views(vt_symbol)} \
            if self.managed is not None and vt_symbol else {}
        self.positions = {p.vt_positionid: p for p in engine.get_all_positions()
                          if p.vt_symbol == vt_symbol and p.volume}
        self._last_price = self._last()
        self._redraw()

    def apply(self, batch: Batch) -> None:
        vt_symbol = self.vt_symbol
        if not vt_symbol:
            return
        changed = False
        for view in batch.routed.get(EVENT_MANAGED, {}).values():
            if view.vt_symbol != vt_symbol:
                continue
            changed = True
            if view.state != "replacing" or not view.active:
                self.replacing.pop(view.id, None)
            elif view.vt_orderid in self.replacing:      # a plain order adopted to move it
                self.replacing[view.id] = self.replacing[view.vt_orderid]
            if view.active:
                self.views[view.id] = view
            else:
                self.views.pop(view.id, None)
        for order in batch.orders.values():
            if order.vt_symbol != vt_symbol:
                continue
            changed = True
            before = self.orders.get(order.vt_orderid)
            if order.is_active():
                self.orders[order.vt_orderid] = order
            else:
                self.orders.pop(order.vt_orderid, None)
            moved = self.replacing.get(order.vt_orderid)
            if moved is not None and (not order.is_active() or before is None
                                      or _state(order) != moved[1]):
                del self.replacing[order.vt_orderid]
        for position in batch.positions.values():
            if position.vt_symbol != vt_symbol:
                continue
            # Gateways publish the position at every tick of its symbol (its P&L moves); the
            # line changes only with its lots or price (the P&L follows the paced draw).
            shown = self.positions.get(position.vt_positionid)
            if shown is not None and (shown.volume, shown.price) == (position.volume,
                                                                     position.price):
                continue
            changed = True
            if position.volume:
                self.positions[position.vt_positionid] = position
            else:
                self.positions.pop(position.vt_positionid, None)
        if changed:
            self._redraw()

    def paced(self) -> None:
        """At the chart's paced draw: the positions' P&L from the last price (not per tick)."""
        last = self._last()
        if last != self._last_price:
            self._last_price = last
            if self.positions:
                self._redraw()

    def _last(self) -> float | None:
        tick = self.trading.main_engine.get_tick(self.vt_symbol) if self.vt_symbol else None
        return tick.last_price if tick is not None and tick.last_price > 0 else None

    def _pricetick(self) -> float:
        contract = self.trading.contract(self.vt_symbol) if self.vt_symbol else None
        return float(contract.pricetick) if contract is not None else 0.0

    # ------------------------------------------------------------------ lines
    def _redraw(self) -> None:
        contract = self.trading.contract(self.vt_symbol) if self.vt_symbol else None
        tick = float(contract.pricetick) if contract is not None else 0.0
        decimals = price_decimals(tick)
        lines: dict[str, Line] = {}
        children = {v.vt_orderid for v in self.views.values() if v.vt_orderid}
        for order in self.orders.values():
            if order.type == OrderType.MARKET or order.vt_orderid in children or (
                    self.managed is not None
                    and self.managed.view_of_order(order.vt_orderid) is not None):
                continue                           # a managed leg's child: its view shows it
            moved = self.replacing.get(order.vt_orderid)
            text = order_text(order, decimals) if moved is None else \
                f"{order_text(order, decimals)} · replacing → {moved[0]:.{decimals}f}"
            lines[order.vt_orderid] = Line(
                order.vt_orderid, order.price, text,
                UP_HEX if order.direction == Direction.LONG else DOWN_HEX,
                replacing=moved is not None)
        for view in self.views.values():
            if view.price <= 0:
                continue                           # an entry at the market: no price to show
            moved = self.replacing.get(view.id)
            text = view_text(view, decimals) if moved is None else \
                f"{view_text(view, decimals)} · replacing → {moved[0]:.{decimals}f}"
            lines[view.id] = Line(view.id, view.price, text,
                                  MUTED_HEX if moved is not None else view_colour(view),
                                  local=view.where == LOCAL,
                                  replacing=moved is not None or view.state == "replacing")
        colours = current_theme().chart
        for key, position in self.positions.items():
            pnl = None
            if self._last_price is not None and contract is not None:
                pnl = open_pnl(position, self._last_price, float(contract.size), tick)
            sign = 0.0 if pnl is None else pnl[0]
            lines[f"position {key}"] = Line(
                f"position {key}", position.price, position_text(position, decimals, pnl),
                colours.position,
                text_colour=UP_HEX if sign > 0 else DOWN_HEX if sign < 0 else colours.position,
                closable=False, width=1.5)
        self.lines = lines
        self.item.set_lines(list(lines.values()))

    def apply_theme(self) -> None:
        self._redraw()
        self.item.update()

    # ------------------------------------------------------------------ what a line allows
    def why_fixed(self, key: str) -> str:
        """Why the line `key` cannot be dragged ("" when it can)."""
        line = self.lines.get(key)
        if line is None or key.startswith("position "):
            return "a position line does not move"
        if self.managed is None:
            return "orders move from a chart of the main window"
        if key in self.replacing or line.replacing:
            return "it is being replaced: wait until it is at its new price"
        view = self.views.get(key)
        if view is not None:
            return FIXED_STATES.get(view.state, "")
        order = self.orders.get(key)
        if order is not None and order.type != OrderType.LIMIT:
            return f"a {order.type.value} order cannot be moved"
        return ""

    def move(self, key: str, price: float) -> bool:
        """Ask for the order `key` at `price` (on the tick): True when the gate allowed it
        (the line shows "replacing" until the order or its view changes); False, with the
        reason shown, when it did not (nothing changed)."""
        why = self.why_fixed(key)
        if why:
            return self._refuse(f"not moved: {why}")
        try:
            decision = self.managed.modify(key, price)
        except ManagedOrderError as exc:
            return self._refuse(f"not moved: {exc}")
        if not decision:
            return self._refuse(f"not moved: {decision.message}")
        self.replacing[key] = (price, self._state_of(key))
        self.dock._note(f"moving {self.lines[key].text.split(' · ')[0]} to "
                        f"{price:.{price_decimals(self._pricetick())}f}", MUTED_HEX)
        self._redraw()
        return True

    def _state_of(self, key: str) -> object:
        order = self.orders.get(key)
        return _state(order) if order is not None else None

    def cancel(self, key: str) -> bool:
        """The × of the line `key`: cancel that order (a managed one, or a plain one)."""
        if key.startswith("position "):
            return False
        try:
            done = self.managed.cancel(key) if self.managed is not None \
                else self.trading.cancel(key)
        except ManagedOrderError as exc:
            return self._refuse(f"not cancelled: {exc}")
        if not done:
            return self._refuse("not cancelled: the order is no longer working")
        self.dock._note(f"cancelling {self.lines[key].text.split(' · ')[0]}"
                        if key in self.lines else "cancelling", MUTED_HEX)
        return True

    def _refuse(self, message: str) -> bool:
        """The reason on the chart's message line and, briefly, by the cursor."""
        self.last_refusal = message
        self.dock._fail(message)
        viewport = self.chart.graphics.viewport()
        QToolTip.showText(QCursor.pos(), message, viewport, QRect(), TOOLTIP_MS)
        return False

    # ------------------------------------------------------------------ gestures
    def cancel_drag(self) -> bool:
        """Esc: the line goes back where it was; False when no drag was under way."""
        if self._drag is None:
            return False
        self._drag = None
        self.item.clear_preview()
        self.chart.graphics.viewport().unsetCursor()
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        try:
            if kind in _PRESSES:              # a quick second press is a double click
                return self._pressed(event)
            if kind == QEvent.Type.GraphicsSceneMouseMove:
                self._mouse_moved(event)
                return False                  # the crosshair follows
            if kind == QEvent.Type.GraphicsSceneMouseRelease:
                return self._released(event)
            if kind in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) \
                    and self._drag is not None and event.key() == Qt.Key.Key_Escape:
                if kind == QEvent.Type.KeyPress:
                    self.cancel_drag()
                    self.dock._note("move cancelled", MUTED_HEX)
                event.accept()
                return True
        except Exception:   # an order gesture never takes the chart down
            log.exception("chart orders: %s failed", kind)
            self.cancel_drag()
            self.dock._fail("the order action failed (see the log)")
            return True
        return False

    def _pressed(self, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton or self.busy() or not self.vt_symbol:
            return False
        scene_pos = event.scenePos()
        if not self.chart.price.getViewBox().sceneBoundingRect().contains(scene_pos):
            return False
        hit = self.item.hit(scene_pos, HIT_PIXELS)
        if hit is None:
            return False
        key, part = hit
        if part == "close":
            self._close_press = key
            return True
        if key.startswith("position "):
            return False                          # the chart pans as usual
        why = self.why_fixed(key)
        if why:
            self._refuse(f"not moved: {why}")
            return True
        self._drag = _Drag(key, self.lines[key].price, scene_pos)
        return True

    def _mouse_moved(self, event) -> None:
        drag = self._drag
        if drag is None or not event.buttons() & Qt.MouseButton.LeftButton:
            return
        scene_pos = event.scenePos()
        if drag.price is None and abs(scene_pos.y() - drag.press.y()) < DRAG_PIXELS:
            return
        tick = self._pricetick()
        if tick <= 0:
            return
        price = round_to_tick(
            self.chart.price.getViewBox().mapSceneToView(scene_pos).y(), tick)
        if price <= 0:
            return
        drag.price = price
        self.chart.graphics.viewport().setCursor(Qt.CursorShape.SizeVerCursor)
        decimals = price_decimals(tick)
        base = self.lines[drag.key].text.split(" · ")[0] if drag.key in self.lines else ""
        ticks = round((price - drag.origin) / tick)
        self.item.set_preview(drag.key, price, f"{base} → {price:.{decimals}f} "
                                               f"({ticks:+d} ticks)")

    def _released(self, event) -> bool:
        if event.button() != Qt.MouseButton.LeftButton:
            return False
        if self._close_press is not None:
            key, self._close_press = self._close_press, None
            hit = self.item.hit(event.scenePos(), HIT_PIXELS)
            if hit == (key, "close"):
                self.cancel(key)
            return True
        drag = self._drag
        if drag is None:
            return False
        self.cancel_drag()
        if drag.price is not None and drag.price != drag.origin and drag.key in self.lines:
            self.move(drag.key, drag.price)
        return True


def _state(order: OrderData) -> tuple:
    """What a move's answer changes in a plain order: its status, price or fills."""
    return order.status, order.price, order.traded
