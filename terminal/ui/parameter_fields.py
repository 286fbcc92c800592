"""A strategy's parameters as fields of a form (the backtest workbench's settings, the
Strategies dock's Add and Edit dialog), read by the one parser (terminal.plugins.parameters).

One row per parameter: a text field (a bool's offers true and false to pick, and takes what
is typed), and beside it the error when its text does not fit the type of the parameter's
default; `values()` reads them all, marks every field that does not fit and raises the first
error, so nothing is sent with a value the trader did not mean.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QWidget

from terminal.plugins.parameters import ParameterValueError, kind_of, param_text, parse_param
from terminal.ui.colours import ERROR_FIELD_STYLE, ERROR_TEXT_STYLE

Field = QLineEdit | QComboBox


class ParameterFields:
    """The parameter rows of `form`, rebuilt by `build`."""

    def __init__(self, form: QFormLayout) -> None:
        self.form = form
        self.fields: dict[str, Field] = {}
        self.errors: dict[str, QLabel] = {}
        self.defaults: dict = {}           # what types each field: the class's default

    def build(self, defaults: dict, values: dict | None = None) -> None:
        """One row per parameter, typed by its default (by its value when the class has no
        such parameter), showing `values` where given, else the default."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields, self.errors = {}, {}
        shown = {**defaults, **(values or {})}
        self.defaults = {name: defaults.get(name, value) for name, value in shown.items()}
        for name, value in shown.items():
            default = self.defaults[name]
            kind = kind_of(default)
            if kind == "bool":
                field = QComboBox()
                field.setEditable(True)
                field.addItems(["true", "false"])
            else:
                field = QLineEdit()
            field.setToolTip(f"{name} ({kind}, default {param_text(default)})")
            error = QLabel("")
            error.setStyleSheet(ERROR_TEXT_STYLE)
            error.setWordWrap(True)
            error.hide()
            row = QWidget()
            layout = QHBoxLayout(row)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(field, 1)
            layout.addWidget(error, 1)
            self.fields[name], self.errors[name] = field, error
            self.set_value(name, value)
            self.form.addRow(name, row)

    def text(self, name: str) -> str:
        field = self.fields[name]
        return field.currentText() if isinstance(field, QComboBox) else field.text()

    def set_text(self, name: str, text: str) -> None:
        field = self.fields[name]
        if isinstance(field, QComboBox):
            field.setEditText(text)
        else:
            field.setText(text)

    def set_value(self, name: str, value) -> None:
        """Show a value (a typed one, or text as it was kept) as the field's text."""
        self.set_text(name, value if isinstance(value, str) else param_text(value))

    def texts(self) -> dict[str, str]:
        return {name: self.text(name) for name in self.fields}

    def values(self) -> dict:
        """The parameters typed; every field that does not fit shows its error beside it,
        and ParameterValueError carries the first."""
        values, first = {}, None
        for name in self.fields:
            try:
                values[name] = parse_param(name, self.text(name), self.defaults[name])
            except ParameterValueError as exc:
                self._mark(name, str(exc))
                first = first or exc
            else:
                self._mark(name, "")
        if first is not None:
            raise first
        return values

    def _mark(self, name: str, error: str) -> None:
        label = self.errors[name]
        label.setText(error)
        label.setToolTip(error)
        label.setVisible(bool(error))
        self.fields[name].setStyleSheet(ERROR_FIELD_STYLE if error else "")
