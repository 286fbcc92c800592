"""A chart's Indicators → Templates menu: save the chart's indicators and volume profile
settings as a named template (`market.chart_templates`), apply one (replacing the chart's
indicators and setting its profile, off when the template holds none), mark the one new charts
open with, delete one. Listed afresh each time it opens; what went wrong is said in a
message box, what was done in the status bar (`notify`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox
from vnpy.event import Event, EventEngine

from terminal.core.alerts import EVENT_ALERT, WARNING, Alert
from terminal.core.timezone import CHINA_TZ
from terminal.market.chart_templates import (
    ChartTemplates,
    Indicators,
    ProfileSettings,
    TemplateError,
)

if TYPE_CHECKING:
    from terminal.ui.docks.chart import ChartDock

log = logging.getLogger(__name__)

NO_DEFAULT = "None: new charts open without indicators"


def replace_indicators(chart: ChartDock, indicators: Indicators) -> None:
    """The chart shows `indicators` (checked already) and no others, in their order."""
    for indicator in list(chart.chart.indicators):
        chart.chart.remove_indicator(indicator)
    for item in indicators:
        chart.add_indicator(item["kind"], item["params"])


def apply_template(chart: ChartDock, indicators: Indicators, profile: ProfileSettings) -> None:
    """The chart looks like the template: its indicators, and its volume profile's settings
    (checked already)."""
    replace_indicators(chart, indicators)
    chart.profile.restore(profile)


def report_problem(templates: ChartTemplates, event_engine: EventEngine) -> None:
    """A templates file that could not be used: in the log and the Alerts dock."""
    if templates.problem:
        log.warning("chart templates: %s", templates.problem)
        event_engine.put(Event(EVENT_ALERT, Alert(datetime.now(CHINA_TZ), WARNING,
                                                  "chart_templates", "", templates.problem)))


class TemplatesMenu(QMenu):
    def __init__(self, templates: ChartTemplates, chart: ChartDock,
                 notify: Callable[[str], None] = lambda text: None) -> None:
        super().__init__("&Templates", chart)
        self.templates = templates
        self.chart = chart
        self.notify = notify
        self.error_box: QMessageBox | None = None
        self.save_action = QAction("&Save as…", self)
        self.save_action.triggered.connect(self.ask_save)
        self.apply_menu = QMenu("&Apply", self)
        self.default_menu = QMenu("Set as &default", self)
        self.delete_menu = QMenu("&Delete", self)
        self.addAction(self.save_action)
        for menu in (self.apply_menu, self.default_menu, self.delete_menu):
            self.addMenu(menu)
        self.aboutToShow.connect(self.fill)
        self.fill()

    def fill(self) -> None:
        names = self.templates.names()
        for menu in (self.apply_menu, self.default_menu, self.delete_menu):
            menu.clear()
        self.apply_menu.setEnabled(bool(names))
        self.delete_menu.setEnabled(bool(names))
        for name in names:
            self.apply_menu.addAction(name, lambda n=name: self.apply(n))
            self.delete_menu.addAction(name, lambda n=name: self.delete(n))
        marks = QActionGroup(self.default_menu)
        for name in (None, *names):
            action = self.default_menu.addAction(name or NO_DEFAULT,
                                                 lambda n=name: self.set_default(n))
            action.setCheckable(True)
            action.setChecked(name == self.templates.default)
            marks.addAction(action)

    # ------------------------------------------------------------------ actions
    def ask_save(self) -> None:
        name, ok = QInputDialog.getText(self.chart, "Save chart template",
                                        "Name (this chart's indicators, their settings and the "
                                        "volume profile):")
        if not ok:
            return
        if self.templates.exists(name) and QMessageBox.question(
                self.chart, "Save chart template", f"Replace the template {name.strip()!r}?") \
                != QMessageBox.StandardButton.Yes:
            return
        self.save(name)

    def save(self, name: str) -> bool:
        indicators = [{"kind": i.kind, "params": i.params} for i in self.chart.chart.indicators]
        profile = self.chart.profile.state()
        return self._do("Template not saved",
                        lambda: self.templates.save(name, indicators, profile),
                        "Template {} saved")

    def apply(self, name: str) -> bool:
        def apply() -> str:
            apply_template(self.chart, self.templates.indicators(name),
                           self.templates.volume_profile(name))
            return name
        return self._do("Template not applied", apply, "Template {} applied")

    def set_default(self, name: str | None) -> bool:
        def mark() -> str:
            self.templates.set_default(name)
            return name or "none"
        return self._do("Default not set", mark, "New charts open with template {}")

    def delete(self, name: str) -> bool:
        def delete() -> str:
            self.templates.delete(name)
            return name
        return self._do("Template not deleted", delete, "Template {} deleted")

    def _do(self, failure: str, action, done: str) -> bool:
        try:
            name = action()
        except TemplateError as exc:
            box = QMessageBox(QMessageBox.Icon.Warning, failure, str(exc),
                              QMessageBox.StandardButton.Ok, self.chart)
            box.open()
            self.error_box = box
            return False
        self.notify(done.format(repr(name)))
        return True
