"""Named workspaces: the dock layout, the window geometry and the open charts with their
indicators, saved under a name and loaded back (View → Workspaces, `WorkspacesMenu`).

Each workspace is one INI file, `workspaces/<name>.ini` in the data directory, holding what
the main window keeps in `layout.ini` plus the name as typed. The name is the file name, so it
is checked first, by the rule every name the trader gives follows (`core.names`: no path
separators or characters Windows refuses, no names Windows reserves, not empty, not too long;
the error says which rule it broke). Names are compared without regard to case (Windows and
macOS file systems do the same). The built-in default layout is always there and is not a
file.

A workspace also holds the drawings of the symbols of its charts (as they were when saved).
Loading it puts back those the symbol's drawings lack, by id, as one undo step per symbol; a
drawing there now, maybe changed or newer, is left as it is, and none is deleted. A symbol
whose saved drawings cannot all be read gets none of them, and the menu says so.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QStatusBar, QWidget

from terminal.core import names
from terminal.market.drawings import Drawing, DrawingError, Drawings

log = logging.getLogger(__name__)

DEFAULT_NAME = "Default layout"
SUFFIX = ".ini"


class WorkspaceError(ValueError):
    pass


class LayoutOwner(Protocol):
    def save_layout(self, target: QSettings | None = None) -> None: ...

    def restore_layout(self, source: QSettings | None = None,
                       replace_charts: bool = False) -> bool: ...


class LayoutWindow(LayoutOwner, Protocol):
    """The main window: the parent of the menu's dialogs."""

    def reset_layout(self) -> None: ...

    def statusBar(self) -> QStatusBar: ...


def check_name(name: str) -> str:
    """The name as it will be kept (spaces trimmed); WorkspaceError says what is wrong."""
    try:
        name = names.check_name(name, "workspace")
    except names.BadName as exc:
        raise WorkspaceError(str(exc)) from None
    if name.casefold() in (DEFAULT_NAME.casefold(), "default"):
        raise WorkspaceError(f"{name!r} is the built-in layout; choose another name")
    return name


class Workspaces:
    def __init__(self, folder: Path, drawings: Drawings | None = None) -> None:
        self.folder = Path(folder)
        self.drawings = drawings
        self.problems: list[str] = []      # what the last load could not put back

    def _files(self) -> dict[str, tuple[str, Path]]:
        """casefolded name -> (name as saved, file)."""
        found: dict[str, tuple[str, Path]] = {}
        if not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob(f"*{SUFFIX}")):
            stored = QSettings(str(path), QSettings.Format.IniFormat).value("workspace/name")
            name = stored if isinstance(stored, str) and stored.strip() else path.stem
            found[name.casefold()] = (name, path)
        return found

    def names(self) -> list[str]:
        return sorted((name for name, _ in self._files().values()), key=str.casefold)

    def exists(self, name: str) -> bool:
        return name.strip().casefold() in self._files()

    def path(self, name: str) -> Path:
        """The file of `name` (an existing one whatever its case, else a new one)."""
        name = check_name(name)
        known = self._files().get(name.casefold())
        return known[1] if known else self.folder / f"{name}{SUFFIX}"

    def save(self, window: LayoutOwner, name: str) -> Path:
        """Save the window's layout and charts as `name`, replacing one of that name."""
        name = check_name(name)
        path = self.path(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        target = QSettings(str(path), QSettings.Format.IniFormat)   # written atomically
        target.clear()
        target.setValue("workspace/name", name)
        window.save_layout(target)
        if self.drawings is not None:
            target.setValue("drawings/state", json.dumps(self._drawings_of(target)))
            target.sync()
        if target.status() != QSettings.Status.NoError:
            raise WorkspaceError(f"workspace {name!r} could not be written to {path}")
        return path

    def load(self, window: LayoutOwner, name: str) -> bool:
        """Replace the window's charts and layout with the workspace's. False when the dock
        arrangement could not be restored (the charts still were)."""
        known = self._files().get(name.strip().casefold())
        if known is None:
            raise WorkspaceError(f"there is no workspace named {name!r}")
        source = QSettings(str(known[1]), QSettings.Format.IniFormat)
        if source.status() != QSettings.Status.NoError:
            raise WorkspaceError(f"workspace {name!r} ({known[1]}) cannot be read")
        self.problems = self._put_back_drawings(source) if self.drawings is not None else []
        return window.restore_layout(source, replace_charts=True)

    def _drawings_of(self, target: QSettings) -> dict[str, list[dict]]:
        """The drawings of the symbols of the charts just saved into `target`."""
        try:
            charts = json.loads(target.value("charts/state") or "[]")
        except (TypeError, ValueError):
            charts = []
        symbols = {c.get("symbol") for c in charts if isinstance(c, dict)} - {"", None}
        return {symbol: [d.to_dict() for d in self.drawings.book(symbol).drawings()]
                for symbol in sorted(symbols)}

    def _put_back_drawings(self, source: QSettings) -> list[str]:
        """Add the saved drawings each symbol lacks; what could not be read, said."""
        try:
            saved = json.loads(source.value("drawings/state") or "{}")
        except (TypeError, ValueError) as exc:
            return [f"the drawings in {Path(source.fileName()).name} are unreadable ({exc})"]
        if not isinstance(saved, dict):
            return [f"the drawings in {Path(source.fileName()).name} are not by symbol"]
        problems = []
        for symbol, items in saved.items():
            try:
                if not isinstance(items, list):
                    raise DrawingError("not a list of drawings")
                drawings = []
                for index, item in enumerate(items):
                    try:
                        drawings.append(Drawing.from_dict(item))
                    except DrawingError as exc:
                        raise DrawingError(f"drawing {index + 1}: {exc}") from None
                self.drawings.book(symbol).add_missing(drawings)
            except DrawingError as exc:
                problems.append(f"{symbol}: {exc}; none of its saved drawings were put back")
        return problems

    def delete(self, name: str) -> None:
        known = self._files().get(name.strip().casefold())
        if known is None:
            raise WorkspaceError(f"there is no workspace named {name!r}")
        known[1].unlink()


class WorkspacesMenu(QMenu):
    """View → Workspaces: Save as…, Load (the default layout, then each saved one) and Delete,
    listed afresh each time the menu opens. What went wrong is said in a message box, what
    was done in the status bar."""

    def __init__(self, workspaces: Workspaces, owner: LayoutWindow,
                 parent: QWidget | None = None) -> None:
        super().__init__("&Workspaces", parent)
        self.workspaces = workspaces
        self.owner = owner
        self.save_action = QAction("&Save as…", self)
        self.save_action.triggered.connect(self.ask_save)
        self.addAction(self.save_action)
        self.load_menu = self.addMenu("&Load")
        self.delete_menu = self.addMenu("&Delete")
        self.aboutToShow.connect(self.fill)
        self.fill()

    def fill(self) -> None:
        load, delete = self.load_menu, self.delete_menu
        load.clear()
        delete.clear()
        load.addAction(DEFAULT_NAME, self.owner.reset_layout)
        names = self.workspaces.names()
        if names:
            load.addSeparator()
        for name in names:
            load.addAction(name, lambda n=name: self.load(n))
        delete.setEnabled(bool(names))
        for name in names:
            delete.addAction(name, lambda n=name: self.delete(n))

    def ask_save(self) -> None:
        parent = self.owner
        name, ok = QInputDialog.getText(parent, "Save workspace",
                                        "Name (the layout, the window and the open charts):")
        if not ok:
            return
        try:
            if self.workspaces.exists(name) and QMessageBox.question(
                    parent, "Save workspace", f"Replace the workspace {name.strip()!r}?") \
                    != QMessageBox.StandardButton.Yes:
                return
            self.save(name)
        except WorkspaceError as exc:
            QMessageBox.warning(parent, "Workspace not saved", str(exc))

    def save(self, name: str) -> Path:
        path = self.workspaces.save(self.owner, name)
        self.owner.statusBar().showMessage(f"Workspace {name.strip()!r} saved", 5000)
        return path

    def load(self, name: str) -> bool:
        try:
            restored = self.workspaces.load(self.owner, name)
        except WorkspaceError as exc:
            QMessageBox.warning(self.owner, "Workspace not loaded", str(exc))
            return False
        if not restored:
            log.warning("workspace %r: the dock arrangement could not be restored", name)
        if self.workspaces.problems:
            QMessageBox.warning(self.owner, "Workspace drawings",
                                "\n".join(self.workspaces.problems))
        self.owner.statusBar().showMessage(f"Workspace {name!r} loaded", 5000)
        return restored

    def delete(self, name: str) -> None:
        try:
            self.workspaces.delete(name)
        except (WorkspaceError, OSError) as exc:
            QMessageBox.warning(self.owner, "Workspace not deleted", str(exc))
            return
        self.owner.statusBar().showMessage(f"Workspace {name!r} deleted", 5000)
