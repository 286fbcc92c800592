"""Asking before a deletion that cannot be undone, the same way everywhere."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox

_YES = QMessageBox.StandardButton.Yes
_CANCEL = QMessageBox.StandardButton.Cancel


def delete_on_yes(box: QMessageBox, delete: Callable[[], object]) -> None:
    """Gives `box` a Delete button (Yes) that runs `delete`, and Cancel, the default, so that
    Enter pressed without reading keeps everything."""
    box.setStandardButtons(_YES | _CANCEL)
    box.setDefaultButton(_CANCEL)
    box.button(_YES).setText("Delete")
    box.accepted.connect(delete)
