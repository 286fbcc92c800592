"""Link groups: windows that show one symbol together, by colour.

Each window (a "member", named by its dock's object name: "market_watch", "chart_2") is in
at most one group, or in none. When a member announces the symbol the trader chose in it,
every other member of its group is given that symbol (`link_symbol`); a member in no group
keeps its own. This model holds no widgets: the docks register a receiver and announce, and
`ui.links` joins them to it, so any dock (the price ladder to come) links by implementing the
same two halves.

No echo: a member given a symbol usually announces its change in turn (its symbol box
changed); announcements made while a symbol is being handed round are ignored, and a group
is handed a symbol only when it differs from the one it last shared. A receiver that raises
is logged and skipped; the others still get the symbol.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from terminal.core.symbols import canonical_vt_symbol

log = logging.getLogger(__name__)

NONE = ""
GROUPS = ("red", "green", "blue", "yellow", "purple")

Receiver = Callable[[str], None]
Watcher = Callable[[str, str], None]        # (member, its group now)


class LinkError(ValueError):
    """A group that does not exist."""


def check_group(group: str) -> str:
    if group != NONE and group not in GROUPS:
        raise LinkError(f"{group!r} is not a link group (one of {', '.join(GROUPS)}, or none)")
    return group


class LinkGroups:
    def __init__(self) -> None:
        self._receivers: dict[str, Receiver] = {}
        self._groups: dict[str, str] = {}       # member -> group; members in none left out
        self._shared: dict[str, str] = {}       # group -> the symbol it last shared
        self._watchers: list[Watcher] = []
        self._handing = False

    # ------------------------------------------------------------------ members
    def add(self, member: str, receiver: Receiver) -> None:
        """`member` takes part: `receiver(vt_symbol)` is how it is given its group's symbol.
        A group it was put in before (a saved layout, for a dock built later) is kept."""
        self._receivers[member] = receiver

    def remove(self, member: str) -> None:
        """`member` is gone (its chart closed): out of its group, given nothing more."""
        self._receivers.pop(member, None)
        if self._groups.pop(member, NONE) != NONE:
            self._tell(member, NONE)

    def watch(self, watcher: Watcher) -> None:
        """`watcher(member, group)` after each change of a member's group."""
        self._watchers.append(watcher)

    def join(self, member: str, group: str, adopt: bool = True) -> None:
        """Put `member` in `group` (NONE: in no group). With `adopt`, a member joining a group
        that has shared a symbol is given it at once, so the group agrees from then on."""
        check_group(group)
        if self.group_of(member) == group:
            return
        if group == NONE:
            del self._groups[member]
        else:
            self._groups[member] = group
        self._tell(member, group)
        shared = self._shared.get(group, "")
        if adopt and group != NONE and shared and member in self._receivers:
            self._hand(shared, [member])

    def group_of(self, member: str) -> str:
        return self._groups.get(member, NONE)

    def members(self, group: str) -> list[str]:
        return [member for member, joined in self._groups.items() if joined == group]

    def assignments(self) -> dict[str, str]:
        """Every member in a group, with its group (members in none are left out)."""
        return dict(self._groups)

    def shared(self, group: str) -> str:
        """The symbol `group` last shared ("" none yet)."""
        return self._shared.get(group, "")

    def forget_shared(self) -> None:
        """No group has shared a symbol yet (a layout is being restored: the windows it
        brings keep the symbols they were saved with)."""
        self._shared.clear()

    # ------------------------------------------------------------------ symbols
    def announce(self, member: str, vt_symbol: str) -> list[str]:
        """`member` now shows `vt_symbol`, chosen there by the trader: the others of its group
        are given it. Returns the members given it ([] in no group, while handing round, or
        when the group shares it already). BadSymbol for text that is not a vt_symbol."""
        vt_symbol = canonical_vt_symbol(vt_symbol)
        group = self.group_of(member)
        if self._handing or group == NONE or self._shared.get(group) == vt_symbol:
            return []
        self._shared[group] = vt_symbol
        others = [other for other in self.members(group)
                  if other != member and other in self._receivers]
        return self._hand(vt_symbol, others)

    def _hand(self, vt_symbol: str, members: list[str]) -> list[str]:
        given = []
        self._handing = True
        try:
            for member in members:
                try:
                    self._receivers[member](vt_symbol)
                except Exception:  # one window failing must not keep the symbol from others
                    log.exception("link: %s could not show %s", member, vt_symbol)
                    continue
                given.append(member)
        finally:
            self._handing = False
        return given

    def _tell(self, member: str, group: str) -> None:
        for watcher in self._watchers:
            try:
                watcher(member, group)
            except Exception:
                log.exception("link: a watcher of %s failed", member)
