"""Linked windows in the main window: the colour button each linkable dock shows in its
header, and the docks joined to the link groups (`core.link_groups`).

A dock links by implementing `Linkable`: a `link_button` (a `LinkButton` in its header), a
`symbol_chosen` signal it emits with the symbol the trader chose in it, and
`link_symbol(vt_symbol)`, which shows a symbol its group chose elsewhere. The main window
adds every such dock of the dock table, and the chart docks add each chart; that is all a new
dock (the price ladder) needs to take part.

Where the groups are kept: a chart's in its own saved state (`ChartDock.state()["link"]`), the
dock table's docks' in the window layout (`links/groups` in layout.ini and workspaces).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from terminal.core.link_groups import GROUPS, NONE, LinkGroups, check_group
from terminal.core.symbols import BadSymbol
from terminal.ui.colours import LINK_HEX, MUTED_HEX

log = logging.getLogger(__name__)

SQUARE = 12          # px: the coloured square on the button
NONE_LABEL = "Not linked"
NONE_TIP = ("Not linked: this window keeps its own symbol. Choose a colour to link it with "
            "the other windows of that colour.")


def group_icon(group: str) -> QIcon:
    """A square of the group's colour; an empty outline for no group."""
    pixmap = QPixmap(SQUARE, SQUARE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    if group == NONE:
        painter.setPen(QColor(MUTED_HEX))
        painter.drawRect(1, 1, SQUARE - 3, SQUARE - 3)
    else:
        painter.fillRect(1, 1, SQUARE - 2, SQUARE - 2, QColor(LINK_HEX[group]))
    painter.end()
    return QIcon(pixmap)


def group_tip(group: str) -> str:
    if group == NONE:
        return NONE_TIP
    return (f"Linked: {group}. A symbol chosen here shows in every {group} window, and one "
            f"chosen in any of them shows here. Click to change.")


class LinkButton(QToolButton):
    """The link group of one window: a small coloured square; its menu picks the group."""

    group_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = NONE
        self.setAutoRaise(True)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setAccessibleName("Link group")
        menu = QMenu(self)
        choices = QActionGroup(menu)
        self.actions_by_group: dict[str, QAction] = {}
        for group in (NONE, *GROUPS):
            action = QAction(group_icon(group), group.capitalize() or NONE_LABEL, menu)
            action.setCheckable(True)
            action.triggered.connect(lambda _=False, g=group: self.choose(g))
            choices.addAction(action)
            menu.addAction(action)
            self.actions_by_group[group] = action
        self.setMenu(menu)
        self.show_group(NONE)

    def show_group(self, group: str) -> None:
        """Show `group` (the model changed it); nothing is announced."""
        self.group = check_group(group)
        self.setIcon(group_icon(group))
        self.setToolTip(group_tip(group))
        self.actions_by_group[group].setChecked(True)

    def choose(self, group: str) -> None:
        """The window joins `group` (the trader's choice, or a saved layout's)."""
        self.show_group(group)
        self.group_chosen.emit(group)


class Linkable(Protocol):
    link_button: LinkButton
    symbol_chosen: Any              # Signal(str): the symbol the trader chose in this window

    def link_symbol(self, vt_symbol: str) -> None: ...


def is_linkable(widget: object) -> bool:
    return all(hasattr(widget, name) for name in ("link_button", "symbol_chosen", "link_symbol"))


class WindowLinks:
    """The link groups of one main window and the docks in them."""

    def __init__(self) -> None:
        self.groups = LinkGroups()
        self._buttons: dict[str, LinkButton] = {}
        self._charts: set[str] = set()          # kept in their own state, not the layout's
        self.groups.watch(self._show)

    def add(self, member: str, dock: Linkable, in_layout: bool = True) -> None:
        """`dock` (object name `member`) takes part; `in_layout`: its group is kept in the
        window layout (False for charts, which keep theirs in their own state)."""
        self.groups.add(member, dock.link_symbol)
        self._buttons[member] = dock.link_button
        if not in_layout:
            self._charts.add(member)
        dock.symbol_chosen.connect(lambda vt_symbol: self._announce(member, vt_symbol))
        dock.link_button.group_chosen.connect(lambda group: self.groups.join(member, group))
        dock.link_button.show_group(self.groups.group_of(member))

    def remove(self, member: str) -> None:
        self.groups.remove(member)
        self._buttons.pop(member, None)
        self._charts.discard(member)

    def _announce(self, member: str, vt_symbol: str) -> None:
        try:
            self.groups.announce(member, vt_symbol)
        except BadSymbol as exc:
            log.warning("link: %s announced %s", member, exc)

    def _show(self, member: str, group: str) -> None:
        button = self._buttons.get(member)
        if button is not None and button.group != group:
            button.show_group(group)

    # ------------------------------------------------------------------ the layout's part
    def layout_state(self) -> str:
        """The groups of the docks the layout keeps, as JSON ({dock id: group})."""
        return json.dumps({member: group for member, group in self.groups.assignments().items()
                           if member not in self._charts}, sort_keys=True)

    def restore_layout(self, saved: object, where: str = "the layout") -> None:
        """The groups `layout_state` wrote (None: every dock in none). No group has shared a
        symbol after this: the restored windows keep the symbols they were saved with. A bad
        entry is named in the log and that dock left in no group."""
        self.groups.forget_shared()
        try:
            state = json.loads(saved) if isinstance(saved, str) else {}
        except ValueError:
            state = None
        if not isinstance(state, dict):
            log.warning("link groups in %s are unreadable (%r); no window is linked",
                        where, saved)
            state = {}
        kept = {member for member in self.groups.assignments() if member not in self._charts}
        for member in sorted(kept | set(state)):
            group = state.get(member, NONE)
            if not isinstance(group, str) or group not in (NONE, *GROUPS):
                log.warning("%s: %s is linked to %r, not a link group (one of %s); it is in "
                            "no group", where, member, group, ", ".join(GROUPS))
                group = NONE
            self.groups.join(member, group, adopt=False)
