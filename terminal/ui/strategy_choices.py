"""The strategy classes a trader can pick, as the items of a combo box (the backtest workbench,
the Strategies dock's Add dialog): the catalog's classes, then the plugin files that are not
loaded, greyed out with the reason (they exited, hung, crashed or raised while their check
imported them), then those still being checked. `CatalogWatch.changed` fires on the GUI
thread when the catalog learns something (its checks end on a thread of their own).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox
from shiboken6 import isValid

from terminal.plugins.loader import StrategyCatalog

ERROR_ROLE = Qt.ItemDataRole.UserRole + 1       # the reason a greyed-out file is not loaded
CHECKING = "being checked…"


class CatalogWatch(QObject):
    """Re-emits the catalog's changes as a Qt signal, always queued to this object's thread:
    from a check's thread, and from the GUI's own calls too (a refresh the panel asks for
    never rebuilds it while it is still reading the catalog)."""

    changed = Signal()
    _heard = Signal()

    def __init__(self, catalog: StrategyCatalog, parent: QObject) -> None:
        super().__init__(parent)
        self._heard.connect(self.changed, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = catalog.subscribe(self._changed)
        self.destroyed.connect(self._unsubscribe)

    def _changed(self) -> None:
        if isValid(self):
            self._heard.emit()


def not_loaded(catalog: StrategyCatalog) -> list[tuple[str, str]]:
    """(file, reason) of every file that is not loaded, then (file, CHECKING) of those being
    checked."""
    errors = dict(catalog.errors)
    return [*errors.items(), *((p, CHECKING) for p in catalog.pending if p not in errors)]


def fill(box: QComboBox, catalog: StrategyCatalog, show_file: bool = True) -> list[str]:
    """Put the catalog's classes (data: the class name) into `box`, then the files not
    loaded, disabled (data None); returns the class names."""
    names = catalog.names()
    box.clear()
    for name in names:
        entry = catalog.entries.get(name)
        where = "" if entry is None or not show_file else \
            "vn.py" if entry.bundled else Path(entry.path).name
        box.addItem(f"{name}  ({where})" if where else name, name)
        if entry is not None:
            tip = "\n".join(p for p in (entry.summary, "vn.py bundled" if entry.bundled
                                        else str(entry.path)) if p)
            box.setItemData(box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
    failed = not_loaded(catalog)
    if failed:
        box.insertSeparator(box.count())
    model = box.model()
    for path, reason in failed:
        mark = "⌛" if reason == CHECKING else "⚠"
        box.addItem(f"{mark} {Path(path).name}: {reason}", None)
        row = box.count() - 1
        box.setItemData(row, f"{path}\n{reason}", Qt.ItemDataRole.ToolTipRole)
        box.setItemData(row, reason, ERROR_ROLE)
        if isinstance(model, QStandardItemModel):
            model.item(row).setEnabled(False)
    return names


def summary(catalog: StrategyCatalog) -> str:
    """One line on the files that are not loaded or still being checked ("" for none)."""
    errors = dict(catalog.errors)
    checking = [p for p in catalog.pending if p not in errors]
    parts = []
    if errors:
        parts.append(f"{len(errors)} strategy file(s) not loaded: " + "; ".join(
            f"{Path(p).name}: {e}" for p, e in errors.items()))
    if checking:
        parts.append(f"{len(checking)} being checked: "
                     + ", ".join(Path(p).name for p in checking))
    return ". ".join(parts)
