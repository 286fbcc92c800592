"""Live strategies: add an instance of a plugin strategy on a symbol with its parameters; init,
start, stop, edit and remove it; its variables and log update live. Plugin files that are not
loaded (their check found them raising, exiting, crashing or hanging while importing) are
named above the table and greyed out in the Add dialog, with the reason. The dialog reads the
parameters by the one parser (terminal.plugins.parameters): a value that does not fit its
type is named beside its field and nothing goes to the engine.

The table follows the CTA engine's strategy events (through the bridge); the buttons call the
engine. A strategy that raises is stopped by the engine and shows as stopped here, with the
traceback in the log below and a severe alert.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QSplitter, QVBoxLayout, QWidget)
from vnpy_ctastrategy.base import EVENT_CTA_LOG, EVENT_CTA_STRATEGY

from terminal.core.bridge import Batch
from terminal.plugins.live import TerminalCtaEngine
from terminal.ui import strategy_choices
from terminal.ui.docks.common import make_table, selected_records
from terminal.ui.models.table import Column, RecordTableModel
from terminal.ui.colours import ERROR_BRUSH, ERROR_TEXT_STYLE, RUNNING_BRUSH
from terminal.ui.parameter_fields import ParameterFields

MAX_LOG_LINES = 5000


def _state(data: dict) -> str:
    variables = data.get("variables", {})
    if variables.get("trading"):
        return "trading"
    return "initialised" if variables.get("inited") else "stopped"


def _pairs(values: dict, skip=("inited", "trading")) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items() if k not in skip)


class StrategiesModel(RecordTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(
            [
                Column("Strategy", lambda d: d["strategy_name"], width=140),
                Column("Class", lambda d: d["class_name"], width=170),
                Column("Symbol", lambda d: d["vt_symbol"], width=118),
                Column("State", _state, color=lambda d: RUNNING_BRUSH if _state(d) == "trading"
                       else ERROR_BRUSH if _state(d) == "stopped" else None),
                Column("Parameters", lambda d: _pairs(d.get("parameters", {})), width=300),
                Column("Variables", lambda d: _pairs(d.get("variables", {})), width=300),
            ],
            key=lambda d: d["strategy_name"],
            parent=parent,
        )


class StrategyDialog(QDialog):
    """Add a strategy (class, name, symbol, parameters) or edit one's parameters.

    The classes are the plugin catalog's, listed without importing them; files that are not
    loaded are listed greyed out with the reason, and the list fills in as checks end. The
    class is imported when the strategy is added (`TerminalCtaEngine.add_strategy`)."""

    def __init__(self, engine: TerminalCtaEngine, symbols: list[str], editing: dict | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.catalog = engine.catalog
        self.editing = editing
        self.setWindowTitle("Edit strategy" if editing else "Add strategy")
        self.class_box = QComboBox()
        self.name_edit = QLineEdit()
        self.symbol_box = QComboBox()
        self.symbol_box.setEditable(True)
        self.symbol_box.addItems(symbols)
        self.params_form = QFormLayout()
        self.fields = ParameterFields(self.params_form)
        self._shown_defaults: dict = {}
        self.error = QLabel()
        self.error.setStyleSheet(ERROR_TEXT_STYLE)
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Strategy class", self.class_box)
        form.addRow("Name", self.name_edit)
        form.addRow("Symbol", self.symbol_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Parameters"))
        layout.addLayout(self.params_form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._fill_classes()
        self.class_box.currentIndexChanged.connect(lambda _: self._class_changed(
            self.class_name()))
        if editing:
            if self.class_box.findData(editing["class_name"]) < 0:
                self.class_box.insertItem(0, editing["class_name"], editing["class_name"])
            self.select_class(editing["class_name"])
            self.name_edit.setText(editing["strategy_name"])
            self.symbol_box.setEditText(editing["vt_symbol"])
            for widget in (self.class_box, self.name_edit, self.symbol_box):
                widget.setEnabled(False)
        else:
            self.watch = strategy_choices.CatalogWatch(self.catalog, self)
            self.watch.changed.connect(self._catalog_changed)
        self._class_changed(self.class_name())

    def class_name(self) -> str:
        return self.class_box.currentData() or ""

    def select_class(self, name: str) -> bool:
        index = self.class_box.findData(name)
        if index >= 0:
            self.class_box.setCurrentIndex(index)
        return index >= 0

    def _fill_classes(self, keep: str = "") -> bool:
        """List the classes; True when `keep` is listed and chosen again."""
        self.class_box.blockSignals(True)
        try:
            strategy_choices.fill(self.class_box, self.catalog, show_file=False)
            return bool(keep) and self.select_class(keep)
        finally:
            self.class_box.blockSignals(False)

    def _catalog_changed(self) -> None:
        """A check ended: the list again, the choice kept; the parameters redone only when
        the chosen class's defaults changed (or it is gone)."""
        if self._fill_classes(keep=self.class_name()) and \
                self.defaults() == self._shown_defaults:
            return
        self._class_changed(self.class_name())

    def defaults(self) -> dict:
        entry = self.catalog.entries.get(self.class_name())
        return dict(entry.parameters) if entry is not None else {}

    def _class_changed(self, name: str) -> None:
        self._shown_defaults = self.defaults()
        self.fields.build(self._shown_defaults,
                          self.editing.get("parameters", {}) if self.editing else None)
        if not self.editing and name:
            base, number = name, 1
            while f"{base}_{number}" in self.engine.strategies:
                number += 1
            self.name_edit.setText(f"{base}_{number}")

    def setting(self) -> dict:
        """The parameters typed by the one parser; ParameterValueError (a ValueError) naming
        the first that does not fit, each shown beside its field."""
        return self.fields.values()

    def accept(self) -> None:
        try:
            setting = self.setting()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        name = self.name_edit.text().strip()
        symbol = self.symbol_box.currentText().strip()
        if self.editing:
            self.engine.edit_strategy(self.editing["strategy_name"], setting)
            super().accept()
            return
        if not name or name in self.engine.strategies:
            self.error.setText(f"name {name!r} is empty or taken")
            return
        if not self.class_name():
            self.error.setText("choose a strategy class")
            return
        if "." not in symbol:
            self.error.setText(f"{symbol!r} is not SYMBOL.EXCHANGE (e.g. rb2701.SHFE)")
            return
        self.engine.add_strategy(self.class_name(), name, symbol, setting)
        if name not in self.engine.strategies:
            self.error.setText("the engine refused it; see the log below the table")
            return
        super().accept()


class StrategiesDock(QWidget):
    def __init__(self, engine: TerminalCtaEngine, symbols=list, parent=None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.symbols = symbols
        self.model = StrategiesModel(self)
        self.view = make_table(self.model)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(MAX_LOG_LINES)
        buttons = QHBoxLayout()
        for text, slot in (("Add…", self.add), ("Init", self.init_selected),
                           ("Start", self.start_selected), ("Stop", self.stop_selected),
                           ("Edit…", self.edit_selected), ("Remove", self.remove_selected),
                           ("Start all", self.start_all), ("Stop all", self.stop_all)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.log)
        self.plugins_label = QLabel("")          # plugin files not loaded, and why
        self.plugins_label.setWordWrap(True)
        self.plugins_label.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.plugins_label)
        layout.addWidget(splitter, 1)
        self.watch = strategy_choices.CatalogWatch(engine.catalog, self)
        self.watch.changed.connect(self.show_plugins)
        self.show_plugins()
        self.dialog: StrategyDialog | None = None
        self.model.upsert([s.get_data() for s in engine.strategies.values()])

    def check_plugins_later(self, signal) -> None:
        """Check new and changed plugin files when `signal` fires (the main window's
        `settled`): the check process then takes no CPU from the start; the lists and the
        line above the table fill in when it ends."""
        signal.connect(self.engine.catalog.check_in_background)

    def show_plugins(self) -> None:
        """One line on the plugin files that are not loaded (the reasons in its tooltip)."""
        catalog = self.engine.catalog
        text = strategy_choices.summary(catalog)
        self.plugins_label.setText(text)
        self.plugins_label.setStyleSheet(ERROR_TEXT_STYLE if catalog.errors
                                         else "color: #8a9099")
        self.plugins_label.setToolTip("\n".join(f"{path}: {reason}" for path, reason
                                                 in strategy_choices.not_loaded(catalog)))
        self.plugins_label.setVisible(bool(text))

    def apply(self, batch: Batch) -> None:
        states = batch.routed.get(EVENT_CTA_STRATEGY)
        if states:
            self.model.upsert(list(states.values()))
        for line in batch.routed.get(EVENT_CTA_LOG, []):
            self.log.appendPlainText(f"{line.time:%H:%M:%S}  {line.msg}")

    def selected(self) -> list[str]:
        return [d["strategy_name"] for d in selected_records(self.view)]

    def add(self) -> StrategyDialog:
        self.engine.catalog.refresh(wait=False)   # plugin files changed since: checked again
        self.dialog = StrategyDialog(self.engine, self.symbols(), parent=self)
        self.dialog.open()
        return self.dialog

    def edit_selected(self) -> StrategyDialog | None:
        names = self.selected()
        if not names:
            return None
        data = self.engine.strategies[names[0]].get_data()
        if data["variables"].get("trading"):
            self.log.appendPlainText(f"stop {names[0]} before editing it")
            return None
        self.dialog = StrategyDialog(self.engine, self.symbols(), editing=data, parent=self)
        self.dialog.open()
        return self.dialog

    def init_selected(self) -> None:
        for name in self.selected():
            self.engine.init_strategy(name)

    def start_selected(self) -> None:
        for name in self.selected():
            self.engine.start_strategy(name)

    def stop_selected(self) -> None:
        for name in self.selected():
            self.engine.stop_strategy(name)

    def remove_selected(self) -> None:
        for name in self.selected():
            self.engine.remove_strategy(name)         # refused (and logged) while trading
        self.model.set_filter(lambda d: d["strategy_name"] in self.engine.strategies)

    def start_all(self) -> None:
        self.engine.start_all_strategies()

    def stop_all(self) -> None:
        self.engine.stop_all_strategies()
