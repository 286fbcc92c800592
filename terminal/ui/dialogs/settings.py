"""File → Settings…: every field of settings.json with a typed editor and its help text, the
theme and the keyboard shortcuts. Labels, choices, help and the range and default shown in each
editor's tooltip come from the settings' one description (`core.settings.SPECS`).

Nothing is applied or saved until every value checks out: the values go through
`core.settings.parse` (the same checks as loading the file), plus what only the GUI can check
(a plugin folder that exists, watchlist symbols of the form SYMBOL.EXCHANGE, shortcuts that
Qt can read and no two actions sharing one). A bad value is named and its editor marked; the
dialog stays open. Good values are saved atomically, then handed to `apply` (the main window)
which applies what can change live; the dialog says which changes wait for a restart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QHeaderView, QKeySequenceEdit, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from terminal.core import settings as settings_file
from terminal.core.fields import Spec
from terminal.core.settings import Settings
from terminal.ui import shortcuts
from terminal.ui.theme import THEMES
from terminal.core.symbols import BadSymbol, canonical_vt_symbol
from terminal.ui.colours import ERROR_FIELD_STYLE, ERROR_TEXT_STYLE

# Changes that take effect the next time the terminal starts; the others apply at once.
RESTART = {"sim_quote_rate", "sim_capital", "sim_seed", "record_market_data",
           "record_simulator", "plugin_folder", "plugin_check_seconds"}


def label(name: str) -> str:
    return settings_file.SPECS[name].label


def form_label(name: str) -> str:
    """The label beside a field's editor: its name and unit."""
    spec = settings_file.SPECS[name]
    return f"{spec.label} ({spec.unit})" if spec.unit else spec.label


def _number(text: str):
    """What the trader typed, as a number when it reads as one (the checks name the rest)."""
    text = text.strip().replace(",", "").replace("_", "")
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _symbols(text: str) -> list[str]:
    return [s for s in text.replace(",", " ").split() if s]


class SettingsDialog(QDialog):
    def __init__(self, current: Settings, path: Path,
                 apply: Callable[[Settings], list[str]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.current = current
        self.path = Path(path)
        self.apply = apply
        self.saved: Settings | None = None
        self.message = ""                       # what was applied / what waits for a restart
        self.changed: list[str] = []
        self.editors: dict[str, QWidget] = {}

        general = QWidget()
        form = QFormLayout(general)
        appearance = QWidget()
        appearance_form = QFormLayout(appearance)
        for item in dataclasses.fields(Settings):
            if item.name == "shortcuts":
                continue
            editor = self._editor(item.name, getattr(current, item.name))
            self.editors[item.name] = editor
            holder = QWidget()
            column = QVBoxLayout(holder)
            column.setContentsMargins(0, 0, 0, 6)
            column.setSpacing(2)
            column.addWidget(editor if item.name != "plugin_folder" else self._with_browse(editor))
            help_label = QLabel(settings_file.SPECS[item.name].help
                                + (" (applies after a restart)" if item.name in RESTART else ""))
            help_label.setWordWrap(True)
            help_label.setEnabled(False)            # drawn in the palette's quieter colour
            column.addWidget(help_label)
            (appearance_form if item.name == "theme" else form).addRow(form_label(item.name),
                                                                       holder)

        keyboard = QWidget()
        self.shortcut_edits: dict[str, QKeySequenceEdit] = {}
        self.shortcut_table = QTableWidget(len(shortcuts.REGISTRY), 3)
        self.shortcut_table.setHorizontalHeaderLabels(["Action", "Shortcut", "Default"])
        self.shortcut_table.verticalHeader().hide()
        keys, _ = shortcuts.effective(current.shortcuts)
        for row, shortcut in enumerate(shortcuts.REGISTRY):
            self.shortcut_table.setItem(row, 0, QTableWidgetItem(shortcut.title))
            edit = QKeySequenceEdit(QKeySequence.fromString(keys[shortcut.id], shortcuts.PORTABLE))
            edit.setClearButtonEnabled(True)
            edit.setMaximumSequenceLength(1)
            edit.setObjectName(f"shortcut:{shortcut.id}")
            edit.editingFinished.connect(self.check_shortcuts)
            self.shortcut_edits[shortcut.id] = edit
            self.shortcut_table.setCellWidget(row, 1, edit)
            default = QKeySequence.fromString(shortcut.default, shortcuts.PORTABLE)
            self.shortcut_table.setItem(row, 2, QTableWidgetItem(
                default.toString(QKeySequence.SequenceFormat.NativeText)))
        header = self.shortcut_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.shortcut_table.setColumnWidth(1, 180)
        self.reset_shortcuts_button = QPushButton("Reset to defaults")
        self.reset_shortcuts_button.clicked.connect(self.reset_shortcuts)
        keyboard_layout = QVBoxLayout(keyboard)
        keyboard_layout.addWidget(QLabel(
            "Click a shortcut and press the keys; the × clears it. Two actions cannot share "
            "one. Letters, digits and editing keys need Ctrl or Alt."))
        keyboard_layout.addWidget(self.shortcut_table, 1)
        reset_row = QHBoxLayout()
        reset_row.addStretch(1)
        reset_row.addWidget(self.reset_shortcuts_button)
        keyboard_layout.addLayout(reset_row)

        self.tabs = QTabWidget()
        self.tabs.addTab(general, "General")
        self.tabs.addTab(appearance, "Appearance")
        self.tabs.addTab(keyboard, "Keyboard")

        self.errors = QLabel()
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet(ERROR_TEXT_STYLE)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.errors)
        layout.addWidget(self.buttons)
        self.resize(720, 620)

    # ------------------------------------------------------------------ editors
    def _editor(self, name: str, value) -> QWidget:
        editor = self._typed_editor(settings_file.SPECS[name], value)
        editor.setToolTip(settings_file.SPECS[name].tooltip())
        return editor

    @staticmethod
    def _typed_editor(spec: Spec, value) -> QWidget:
        if spec.choices:
            box = QComboBox()
            for choice in spec.choices:
                box.addItem(THEMES[choice].title if spec.name == "theme" else choice, choice)
            box.setCurrentIndex(max(0, box.findData(value)))
            return box
        if spec.kind is bool:
            box = QCheckBox()
            box.setChecked(value)
            return box
        if spec.kind == list[str]:
            edit = QPlainTextEdit("\n".join(value))
            edit.setPlaceholderText("one symbol a line, e.g. rb2701.SHFE; empty: every "
                                    "contract of the simulated exchange")
            edit.setFixedHeight(110)
            return edit
        if spec.numeric:
            edit = QLineEdit(f"{value:.15g}" if isinstance(value, float) else str(value))
            edit.setPlaceholderText(f"{spec.range_text()}, default {spec.default_text()}")
            return edit
        return QLineEdit(str(value))

    def _with_browse(self, edit: QLineEdit) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(edit))
        row.addWidget(browse)
        return holder

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Strategy plugin folder", edit.text())
        if folder:
            edit.setText(folder)

    def set_text(self, name: str, text: str) -> None:
        """Type `text` into a field's editor (used by tests and scripted set-ups)."""
        editor = self.editors[name]
        if isinstance(editor, QPlainTextEdit):
            editor.setPlainText(text)
        else:
            editor.setText(text)

    def value(self, name: str):
        editor = self.editors[name]
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QPlainTextEdit):
            return _symbols(editor.toPlainText())
        text = editor.text()
        if settings_file.SPECS[name].numeric:
            return _number(text)
        return text.strip()

    # ------------------------------------------------------------------ shortcuts
    def shortcut_keys(self) -> tuple[dict[str, str], dict[str, str]]:
        """(id -> portable key text, id -> problem) as entered."""
        keys, problems = {}, {}
        for action_id, edit in self.shortcut_edits.items():
            text = edit.keySequence().toString(shortcuts.PORTABLE)
            try:
                keys[action_id] = shortcuts.normalise(text)
            except shortcuts.ShortcutError as exc:
                problems[action_id] = f"{shortcuts.BY_ID[action_id].title}: {exc}"
                keys[action_id] = ""
        for first, second, sequence in shortcuts.conflicts(keys):
            problems[second] = shortcuts.conflict_message(first, second, sequence)
        return keys, problems

    def check_shortcuts(self) -> bool:
        _, problems = self.shortcut_keys()
        for action_id, edit in self.shortcut_edits.items():
            edit.setStyleSheet(ERROR_FIELD_STYLE if action_id in problems else "")
        self.errors.setText("\n".join(problems.values()))
        return not problems

    def reset_shortcuts(self) -> None:
        for shortcut in shortcuts.REGISTRY:
            self.shortcut_edits[shortcut.id].setKeySequence(
                QKeySequence.fromString(shortcut.default, shortcuts.PORTABLE))
        self.check_shortcuts()

    # ------------------------------------------------------------------ checking, saving
    def problems(self) -> tuple[Settings | None, dict[str, str]]:
        """The settings as entered and every problem by field (empty when all is well)."""
        data = {item.name: self.value(item.name) for item in dataclasses.fields(Settings)
                if item.name in self.editors}
        problems: dict[str, str] = {}
        keys, shortcut_problems = self.shortcut_keys()
        if shortcut_problems:
            problems["shortcuts"] = "; ".join(shortcut_problems.values())
        data["shortcuts"] = shortcuts.overrides(keys)
        parsed, warnings = settings_file.parse(data)
        for warning in warnings:
            name, _, reason = warning.partition(": ")
            reason = reason.split("; using the default")[0]
            problems[name] = f"{label(name)} ({name}): {reason}"
        for symbol in data["watchlist"]:
            try:
                written_as = canonical_vt_symbol(symbol)
            except BadSymbol as exc:
                problems.setdefault("watchlist", f"{label('watchlist')}: {exc}")
                continue
            if written_as != symbol:      # quotes and contracts are found by the exact text
                problems.setdefault("watchlist", f"{label('watchlist')}: write {symbol!r} "
                                                 f"as {written_as}")
        folder = data["plugin_folder"]
        if isinstance(folder, str) and folder and not Path(folder).expanduser().is_dir():
            problems.setdefault("plugin_folder",
                                f"{label('plugin_folder')}: {folder!r} is not a folder")
        return (None if problems else parsed), problems

    def accept(self) -> None:
        parsed, problems = self.problems()
        for name, editor in self.editors.items():
            editor.setStyleSheet(ERROR_FIELD_STYLE if name in problems else "")
        _, shortcut_problems = self.shortcut_keys()
        for action_id, edit in self.shortcut_edits.items():
            edit.setStyleSheet(ERROR_FIELD_STYLE if action_id in shortcut_problems else "")
        if parsed is None:
            self.errors.setText("Not saved:\n" + "\n".join(problems.values()))
            return
        try:
            settings_file.save(self.path, parsed)
        except OSError as exc:
            self.errors.setText(f"Not saved: {self.path} cannot be written ({exc})")
            return
        changed = [item.name for item in dataclasses.fields(Settings)
                   if getattr(parsed, item.name) != getattr(self.current, item.name)]
        notes = list(self.apply(parsed)) if self.apply is not None else []
        waiting = [label(name) for name in changed if name in RESTART]
        lines = []
        if changed:
            lines.append(f"Saved {len(changed)} change(s).")
        if waiting:
            lines.append("These apply after a restart: " + ", ".join(waiting) + ".")
        lines += notes
        self.message = " ".join(lines)
        self.saved = parsed
        self.changed = changed
        super().accept()
