"""Risk settings: the trading state, every limit globally and per symbol, and the monitors.

The table has one row per limit: the global value, then one column per symbol with
overrides (an empty cell uses the global value). Nothing is applied until every value checks
out: a bad one is named (limit and symbol) and the dialog stays open. Labels, and each cell's
tooltip (help, range, default), come from the limits' one description
(`risk.limits.LIMIT_SPECS`, `MONITOR_SPECS`), which also checks the values.

When a review is pending (risk.json could not be used, or the daily loss limit was hit), a
banner says why at the top; OK then counts as the review, so the state chosen (ACTIVE too)
is applied and the limits are saved. If trading is restricted while it is open (a loss
breach), OK refuses once and shows the new reason instead of undoing the restriction unseen.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QInputDialog, QLabel, QLineEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from terminal.core.fields import Spec, number_text
from terminal.risk.limits import (ACCOUNT_WIDE, LIMIT_NAMES, LIMIT_SPECS, MONITOR_SPECS,
                                  RiskConfig, RiskConfigError, TradingState)
from terminal.risk.service import ReviewRequired, RiskService


def _label(spec: Spec) -> str:
    return f"{spec.label} ({spec.unit})" if spec.unit else spec.label


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # exactly what is kept: a rounded figure would be saved back by OK, a looser limit
    return "" if value is None else number_text(value) if isinstance(value, float) else str(value)


def _value(text: str):
    """What the trader typed, as JSON would read it (numbers, true/false, empty = none)."""
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text.lower() if text.lower() in ("true", "false") else text)
    except ValueError:
        return text


class RiskDialog(QDialog):
    def __init__(self, risk: RiskService, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Risk settings")
        self.risk = risk
        config = risk.config
        self.state_box = QComboBox()
        for state in TradingState:
            self.state_box.addItem(state.value.replace("_", "-"), state.value)
        self.state_box.setCurrentIndex(self.state_box.findData(config.state.value))

        self.symbols = sorted(config.symbols)
        self.table = QTableWidget(len(LIMIT_NAMES), 1 + len(self.symbols))
        self.table.setHorizontalHeaderLabels(["Global", *self.symbols])
        for row, name in enumerate(LIMIT_NAMES):
            header = QTableWidgetItem(_label(LIMIT_SPECS[name]))
            header.setToolTip(LIMIT_SPECS[name].tooltip())
            self.table.setVerticalHeaderItem(row, header)
            self.table.setItem(row, 0, self._item(name, getattr(config.global_limits, name)))
            for column, symbol in enumerate(self.symbols, start=1):
                self.table.setItem(row, column,
                                   self._item(name, config.symbols[symbol].get(name),
                                              per_symbol=True))
        self.table.resizeColumnsToContents()
        add_symbol = QPushButton("Add symbol column…")
        add_symbol.clicked.connect(self._ask_symbol)

        self.monitor_edits: dict[str, QLineEdit] = {}
        monitors = QFormLayout()
        for name, spec in MONITOR_SPECS.items():
            edit = QLineEdit(_text(getattr(config.monitors, name)))
            edit.setToolTip(spec.tooltip())
            self.monitor_edits[name] = edit
            monitors.addRow(_label(spec), edit)

        self.errors = QLabel()
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet("color: #c0392b")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        self.review = QLabel()
        self.review.setWordWrap(True)
        self.review.setStyleSheet("background: #5a4500; color: #ffffff; padding: 6px")
        if risk.review:
            self.review.setText(f"Review needed: {risk.review}. Check every limit below; OK "
                                "applies them with the trading state chosen and saves them "
                                "to risk.json.")
        self.review.setVisible(bool(risk.review))
        self.reviewed = risk.review        # what this dialog showed: OK clears only that

        top = QHBoxLayout()
        top.addWidget(QLabel("Trading state"))
        top.addWidget(self.state_box)
        top.addStretch(1)
        top.addWidget(add_symbol)
        layout = QVBoxLayout(self)
        layout.addWidget(self.review)
        layout.addLayout(top)
        layout.addWidget(QLabel("Limits (0 or empty switches a global rule off; an empty "
                                "symbol cell uses the global value)"))
        layout.addWidget(self.table, 1)
        layout.addWidget(QLabel("Monitors (0 switches one off)"))
        layout.addLayout(monitors)
        layout.addWidget(self.errors)
        layout.addWidget(buttons)
        self.resize(900, 640)

    def _ask_symbol(self) -> None:
        symbol, ok = QInputDialog.getText(self, "Per-symbol limits", "Symbol (e.g. IF2612.CFFEX)")
        if ok and symbol.strip():
            self.add_symbol(symbol.strip())

    def add_symbol(self, vt_symbol: str) -> None:
        if vt_symbol in self.symbols:
            return
        self.symbols.append(vt_symbol)
        column = self.table.columnCount()
        self.table.insertColumn(column)
        self.table.setHorizontalHeaderItem(column, QTableWidgetItem(vt_symbol))
        for row, name in enumerate(LIMIT_NAMES):
            self.table.setItem(row, column, self._item(name, None, per_symbol=True))

    @staticmethod
    def _item(name: str, value, per_symbol: bool = False) -> QTableWidgetItem:
        """A limit's cell: its value (empty: none) and the limit's description as tooltip. An
        account-wide limit (orders + cancels of the whole account) has no per-symbol cell to
        edit."""
        item = QTableWidgetItem(_text(value))
        item.setToolTip(LIMIT_SPECS[name].tooltip())
        if per_symbol and name in ACCOUNT_WIDE:
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        return item

    def cell(self, name: str, column: int = 0) -> QTableWidgetItem:
        return self.table.item(LIMIT_NAMES.index(name), column)

    def config(self) -> RiskConfig:
        """The settings as entered; `RiskConfigError` names every bad one."""
        data = {"state": self.state_box.currentData(), "global": {}, "symbols": {},
                "monitors": {}}
        for row, name in enumerate(LIMIT_NAMES):
            data["global"][name] = _value(self.table.item(row, 0).text())
            for column, symbol in enumerate(self.symbols, start=1):
                value = _value(self.table.item(row, column).text())
                if value is not None:
                    data["symbols"].setdefault(symbol, {})[name] = value
        for name, edit in self.monitor_edits.items():
            value = _value(edit.text())
            spec = MONITOR_SPECS[name]
            data["monitors"][name] = spec.default if value is None and spec.kind is bool \
                else value
        return RiskConfig.from_dict(data)

    def accept(self) -> None:
        try:
            config = self.config()
        except RiskConfigError as exc:
            self.errors.setText("Not applied:\n" + "\n".join(exc.problems))
            return
        try:
            self.risk.apply(config, reviewed=self.reviewed)   # the trader saw every limit here
        except ReviewRequired as exc:                   # restricted while this was open
            self.reviewed = str(exc)
            self.review.setText(f"Review needed: {exc}. Trading was restricted while this "
                                "window was open: check the limits again; OK applies them.")
            self.review.setVisible(True)
            self.errors.setText("Not applied: trading was restricted meanwhile (above).")
            return
        super().accept()
