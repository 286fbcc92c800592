"""The bracket template chooser of the ticket and the ladder: "none" first, then the named
templates, read afresh each time it opens (they are edited in Trading → Order templates…);
the default template is chosen at first."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from terminal.orders import OrderTemplates

NO_TEMPLATE = "none"


class TemplateBox(QComboBox):
    """The bracket templates by name, "none" first; read afresh each time it opens (they
    are edited in Trading → Order templates…)."""

    def __init__(self, templates: OrderTemplates | None) -> None:
        super().__init__()
        self.templates = templates
        self.setMinimumContentsLength(10)
        self._fill()
        if templates is not None and templates.default:
            self.choose(templates.default)

    def _names(self) -> list[str]:
        return [] if self.templates is None else self.templates.names()

    def _fill(self) -> None:
        current = self.chosen()
        self.blockSignals(True)
        self.clear()
        self.addItem(NO_TEMPLATE, None)
        for name in self._names():
            self.addItem(name, name)
        index = self.findData(current) if current else 0
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)

    def showPopup(self) -> None:
        self._fill()
        super().showPopup()

    def chosen(self) -> str | None:
        return self.currentData()

    def choose(self, name: str) -> bool:
        """Choose template `name` ("" none); False when there is no such template."""
        self._fill()
        if not name:
            self.setCurrentIndex(0)
            return True
        index = self.findData(name)
        if index < 0:
            self.setCurrentIndex(0)
            return False
        self.setCurrentIndex(index)
        return True
