"""Keyboard shortcuts: every action that can have one, under a stable id, with its default.

The trader's changes are kept in settings.json (`shortcuts`: id -> key sequence in Qt's
portable text, "" for none); only the ones that differ from the default are stored. An id
this version does not know, or a key sequence Qt cannot read, is reported and left out.
Two actions never share a key sequence: `conflicts` names both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from terminal.ui.chart.tool_table import TOOLS
from terminal.ui.docks.registry import DOCKS

log = logging.getLogger(__name__)

PORTABLE = QKeySequence.SequenceFormat.PortableText


@dataclass(frozen=True)
class Shortcut:
    id: str
    title: str           # as in the menu
    default: str         # portable text ("Ctrl+N"), "" for none


REGISTRY: tuple[Shortcut, ...] = (
    Shortcut("file.settings", "Settings…", "Ctrl+,"),
    Shortcut("file.import", "Import market data…", ""),
    Shortcut("file.quit", "Quit", "Ctrl+Q"),
    Shortcut("view.new_chart", "New chart", "Ctrl+N"),
    Shortcut("view.next_chart", "Next chart", "Ctrl+PgDown"),
    Shortcut("view.previous_chart", "Previous chart", "Ctrl+PgUp"),
    # A dock's View menu action, one per dock with `menu` in the dock table (`view.<id>`).
    *(Shortcut(dock.shortcut_id, dock.menu.replace("&", ""), dock.shortcut)
      for dock in DOCKS if dock.menu),
    Shortcut("view.save_workspace", "Save workspace as…", "Ctrl+Shift+S"),
    Shortcut("view.reset_layout", "Reset layout", ""),
    Shortcut("view.theme_dark", "Dark theme", ""),
    Shortcut("view.theme_light", "Light theme", ""),
    Shortcut("trading.buy", "Buy", "F2"),
    Shortcut("trading.sell", "Sell", "F3"),
    Shortcut("trading.cancel_all", "Cancel all orders", "F4"),
    Shortcut("trading.flatten_all", "Flatten all positions", "Ctrl+Shift+F4"),
    Shortcut("trading.focus_ticket", "Focus the order ticket", "Ctrl+T"),
    Shortcut("trading.risk_settings", "Risk settings…", ""),
    Shortcut("help.about", "About", ""),
    # A chart's drawing tools, while the chart has the keyboard focus (ui.chart.drawing_tools).
    *(Shortcut(tool.shortcut_id, f"Chart: {tool.title}", tool.key) for tool in TOOLS),
)
BY_ID = {shortcut.id: shortcut for shortcut in REGISTRY}


# Keys that edit text or move in tables: never an application shortcut without Ctrl or Alt.
_EDITING_KEYS = {Qt.Key.Key_Escape, Qt.Key.Key_Tab, Qt.Key.Key_Backtab, Qt.Key.Key_Backspace,
                 Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Delete, Qt.Key.Key_Home,
                 Qt.Key.Key_End, Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up,
                 Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}


class ShortcutError(ValueError):
    pass


def normalise(text: str) -> str:
    """`text` as Qt's portable text ("ctrl+n" -> "Ctrl+N"); ShortcutError when Qt cannot
    read it. "" stays "" (no shortcut)."""
    text = text.strip()
    if not text:
        return ""
    sequence = QKeySequence.fromString(text, PORTABLE)
    portable = sequence.toString(PORTABLE)
    if sequence.isEmpty() or sequence.count() != 1 or "\ufffd" in portable \
            or QKeySequence.fromString(portable, PORTABLE) != sequence:
        raise ShortcutError(f"{text!r} is not a key sequence (e.g. Ctrl+Shift+B or F5)")
    combination = sequence[0]
    modifiers = combination.keyboardModifiers()
    typing = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier \
        | Qt.KeyboardModifier.MetaModifier
    key = combination.key()
    if (key.value < Qt.Key.Key_Escape.value or key in _EDITING_KEYS) and not modifiers & typing:
        raise ShortcutError(f"{portable} would take a key used for typing or moving; add Ctrl or "
                            "Alt (or use a function key)")
    return portable


def effective(overrides: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Every id's key sequence: the defaults with the stored overrides, and one warning per
    override left out (unknown id, unreadable keys, or keys another action already has)."""
    keys = {shortcut.id: shortcut.default for shortcut in REGISTRY}
    warnings: list[str] = []
    for action_id, text in overrides.items():
        if action_id not in BY_ID:
            warnings.append(f"shortcuts: unknown action {action_id!r}, ignored")
            continue
        try:
            keys[action_id] = normalise(text)
        except ShortcutError as exc:
            warnings.append(f"shortcuts: {BY_ID[action_id].title}: {exc}; default used")
    for problem in conflicts(keys):
        first, second, sequence = problem
        warnings.append(f"shortcuts: {sequence} is set for both {BY_ID[first].title!r} and "
                        f"{BY_ID[second].title!r}; {BY_ID[second].title!r} gets its default")
        keys[second] = BY_ID[second].default
    while found := conflicts(keys):   # a default the trader gave to another action: none then
        for _, second, _ in found:
            keys[second] = ""
    return keys, warnings


def conflicts(keys: dict[str, str]) -> list[tuple[str, str, str]]:
    """(first id, second id, key sequence) for every key sequence two actions share."""
    owner: dict[str, str] = {}
    found = []
    for action_id in (s.id for s in REGISTRY if s.id in keys):
        sequence = keys[action_id]
        if not sequence:
            continue
        if sequence in owner:
            found.append((owner[sequence], action_id, sequence))
        else:
            owner[sequence] = action_id
    return found


def conflict_message(first: str, second: str, sequence: str) -> str:
    return (f"{QKeySequence(sequence).toString(QKeySequence.SequenceFormat.NativeText)} is "
            f"used by both “{BY_ID[first].title}” and “{BY_ID[second].title}”")


def overrides(keys: dict[str, str]) -> dict[str, str]:
    """What settings.json keeps: only the ids whose keys differ from the default."""
    return {action_id: sequence for action_id, sequence in keys.items()
            if action_id in BY_ID and sequence != BY_ID[action_id].default}
