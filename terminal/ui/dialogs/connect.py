"""The Connect menu, the connect dialog and the connection status in the status bar.

The menu lists the gateways `gateways.catalog` finds (on first opening, so nothing is imported
at start-up): CTP with English labels and SimNow presets, any other installed vn.py gateway
with a form built from its default settings, packages that failed to load (greyed out, with
their error), and *Disconnect* entries for live connections.

The dialog saves what it asked for as a profile without the secrets (`connections.json`);
the secrets (password, CTP's auth code, any setting `catalog.is_secret` names) go to the
system keyring when the trader ticks *Remember* and there is one, otherwise they live only in
memory for the one attempt. vn.py's own dialog, which writes the password to
`connect_<gateway>.json`, is never used.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from terminal.core.kernel import Kernel
from terminal.gateways import catalog
from terminal.gateways.catalog import Field, GatewayEntry
from terminal.gateways.connection import ConnectionManager, State, Status
from terminal.gateways.credentials import ProfileStore, Secrets, account_of
from terminal.ui.colours import ERROR_HEX, ERROR_TEXT_STYLE, PENDING_HEX

log = logging.getLogger(__name__)

NEW_PROFILE = "New connection"
CUSTOM = "Custom"


class ConnectDialog(QDialog):
    """A form for one gateway's settings. `connect_requested(entry, setting)` on Connect."""

    connect_requested = Signal(object, dict)

    def __init__(self, entry: GatewayEntry, profiles: ProfileStore, secrets: Secrets,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry = entry
        self.profiles = profiles
        self.secrets = secrets
        self.fields = entry.fields or catalog.fields_for(entry.gateway_class)
        self.setWindowTitle(f"Connect {entry.name}")
        self.setObjectName(f"connect_{entry.name}")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.saved = profiles.profiles(entry.name)
        self.profile_box = QComboBox()
        self.profile_box.addItem(NEW_PROFILE, None)
        for profile in self.saved:
            self.profile_box.addItem(account_of(entry.name, profile), profile)
        form.addRow("Profile", self.profile_box)
        self.preset_box: QComboBox | None = None
        if entry.presets:
            self.preset_box = QComboBox()
            self.preset_box.addItem(CUSTOM, None)
            for name, values in entry.presets.items():
                self.preset_box.addItem(name, values)
            self.preset_box.setToolTip("Fills the broker ID, servers, app ID and auth code; "
                                       "SimNow's addresses change from time to time")
            form.addRow("Preset", self.preset_box)

        self.widgets: dict[str, QWidget] = {}
        self.field_errors: dict[str, QLabel] = {}
        for spec in self.fields:
            widget = self._make_widget(spec)
            self.widgets[spec.key] = widget
            error = QLabel()
            error.setStyleSheet(ERROR_TEXT_STYLE)
            error.hide()
            self.field_errors[spec.key] = error
            box = QWidget()
            inner = QVBoxLayout(box)
            inner.setContentsMargins(0, 0, 0, 0)
            inner.setSpacing(1)
            inner.addWidget(widget)
            inner.addWidget(error)
            form.addRow(spec.label, box)
            if spec.label != spec.key:
                box.setToolTip(f"vn.py setting “{spec.key}”")

        self.has_secret = any(spec.kind == "password" for spec in self.fields)
        secret_names = [_in_a_sentence(spec.label) for spec in self.fields
                        if spec.kind == "password"]
        self.remember = QCheckBox(f"Remember the {' and '.join(secret_names)} in the system "
                                  "keyring")
        # and what moving an older version's plain-text secrets out of the profiles did
        self.keyring_note = QLabel("\n".join([secrets.describe(),
                                              *profiles.notes.get(entry.name, [])]))
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setStyleSheet("color: gray")
        if self.has_secret:
            available = secrets.available
            self.remember.setEnabled(available)
            self.remember.setChecked(available)
            layout.addWidget(self.remember)
            layout.addWidget(self.keyring_note)
        else:
            self.remember.hide()
            self.keyring_note.hide()

        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_TEXT_STYLE)
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.connect_button.setText("Connect")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.profile_box.currentIndexChanged.connect(self._profile_chosen)
        if self.preset_box is not None:
            self.preset_box.currentIndexChanged.connect(self._preset_chosen)
        if self.saved:
            self.profile_box.setCurrentIndex(1)  # the last one used
            self._profile_chosen(1)

    # ------------------------------------------------------------------ widgets
    def _make_widget(self, spec: Field) -> QWidget:
        if spec.kind == "bool":
            widget = QCheckBox()
            widget.setChecked(bool(spec.default))
        elif spec.kind == "int":
            widget = QSpinBox()
            widget.setRange(-2_000_000_000, 2_000_000_000)
            widget.setValue(int(spec.default or 0))
        elif spec.kind == "float":
            widget = QDoubleSpinBox()
            widget.setDecimals(6)
            widget.setRange(-1e15, 1e15)
            widget.setValue(float(spec.default or 0))
        elif spec.kind == "choice":
            widget = QComboBox()
            for value, text in spec.choices:
                widget.addItem(text, value)
            index = widget.findData(spec.default)
            widget.setCurrentIndex(max(index, 0))
        else:
            widget = QLineEdit(str(spec.default or ""))
            widget.setPlaceholderText(spec.placeholder)
            if spec.kind == "password":
                widget.setEchoMode(QLineEdit.EchoMode.Password)
        widget.setObjectName(spec.key)
        return widget

    def value(self, key: str):
        widget = self.widgets[key]
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            return widget.value()
        if isinstance(widget, QComboBox):
            return widget.currentData()
        return widget.text().strip() if isinstance(widget, QLineEdit) else None

    def set_value(self, key: str, value) -> None:
        widget = self.widgets.get(key)
        if widget is None or value is None:
            return
        try:
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            elif isinstance(widget, QSpinBox):
                widget.setValue(int(value))
            elif isinstance(widget, QDoubleSpinBox):
                widget.setValue(float(value))
            elif isinstance(widget, QComboBox):
                index = widget.findData(value)
                if index >= 0:
                    widget.setCurrentIndex(index)
            elif isinstance(widget, QLineEdit):
                widget.setText(str(value))
        except (TypeError, ValueError):
            log.info("saved value of %s ignored: %r", key, value)

    def _secret_keys(self) -> list[str]:
        return [spec.key for spec in self.fields if spec.kind == "password"]

    def _profile_chosen(self, index: int) -> None:
        profile = self.profile_box.itemData(index)
        if not isinstance(profile, dict):
            return
        for key, value in profile.items():
            self.set_value(key, value)
        self._show_stored_passwords()

    def _preset_chosen(self, index: int) -> None:
        values = self.preset_box.itemData(index) if self.preset_box is not None else None
        if isinstance(values, dict):
            for key, value in values.items():
                self.set_value(key, value)

    def _show_stored_passwords(self) -> None:
        account = self.account()
        placeholders = {spec.key: spec.placeholder for spec in self.fields}
        for key in self._secret_keys():
            widget = self.widgets[key]
            stored = self.secrets.get(self.entry.name, account, key) is not None
            widget.setPlaceholderText("stored in the system keyring" if stored
                                      else placeholders[key])

    def account(self) -> str:
        return account_of(self.entry.name, self._plain_values())

    def _plain_values(self) -> dict:
        return {spec.key: self.value(spec.key) for spec in self.fields
                if spec.kind != "password"}

    # ------------------------------------------------------------------ submitting
    def problems(self) -> dict[str, str]:
        """Field key -> what is wrong with it."""
        account = self.account()
        found: dict[str, str] = {}
        for spec in self.fields:
            value = self.value(spec.key)
            if spec.address:
                problem = catalog.address_problem(value)
                if problem:
                    found[spec.key] = problem
            elif spec.required and value in ("", None):
                if spec.kind == "password" and self.secrets.get(self.entry.name, account,
                                                                spec.key):
                    continue
                found[spec.key] = "required"
        return found

    def submit(self) -> dict | None:
        """Check the form; save the profile and (when asked) the password in the keyring;
        return the full setting, or None with the problems shown."""
        problems = self.problems()
        for key, label in self.field_errors.items():
            label.setText(problems.get(key, ""))
            label.setVisible(key in problems)
        if problems:
            names = {spec.key: spec.label for spec in self.fields}
            self.error_label.setText(
                "Check " + ", ".join(names[key] for key in problems) + ".")
            return None
        self.error_label.setText("")
        account = self.account()
        setting = self._plain_values()
        for key in self._secret_keys():
            typed = self.value(key)
            stored = self.secrets.get(self.entry.name, account, key)
            setting[key] = typed or stored or ""
            if self.remember.isChecked() and typed:
                self.secrets.set(self.entry.name, account, key, typed)
            elif not self.remember.isChecked() and stored is not None:
                self.secrets.delete(self.entry.name, account, key)
        try:
            self.profiles.save(self.entry.name, setting)
        except (OSError, ValueError) as exc:
            log.warning("could not save the connection profile: %s", exc)
        return setting

    def accept(self) -> None:
        setting = self.submit()
        if setting is None:
            return
        for key in self._secret_keys():  # nothing of it stays in the widget
            self.widgets[key].clear()
        super().accept()
        self.connect_requested.emit(self.entry, setting)


def _in_a_sentence(label: str) -> str:
    """"Password" -> "password", "Auth code" -> "auth code"; "API Secret" stays."""
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


class ConnectMenu(QMenu):
    """The Connect menu; filled from the gateway catalogue each time it opens."""

    def __init__(self, kernel: Kernel, connections: ConnectionManager | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("&Connect", parent)
        self.kernel = kernel
        self.connections = connections
        self.secrets = Secrets()
        self.profiles = ProfileStore(kernel.paths.root, self.secrets)
        try:  # an older version's plain-text auth code leaves the disk at start-up
            self.profiles.migrate()
        except Exception:  # the Connect menu must come up regardless
            log.exception("could not migrate the connection profiles")
        self.dialog: ConnectDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self.populate)
        self.addAction("Finding gateways…").setEnabled(False)

    def populate(self) -> None:
        self.clear()
        for entry in catalog.discover():
            if entry.builtin:
                action = self.addAction(entry.label)
                action.setEnabled(False)
                action.setToolTip("Connected at start; needs no account")
            elif not entry.available:
                action = self.addAction(entry.label)
                action.setEnabled(False)
                action.setToolTip(entry.error)
            else:
                action = self.addAction(f"{entry.name} ({entry.package})…")
                action.setObjectName(f"connect_{entry.name}")
                action.triggered.connect(lambda _=False, e=entry: self.open_dialog(e))
        if self.connections is not None:
            managed = self.connections.managed()
            if managed:
                self.addSeparator()
            for name in managed:
                action = self.addAction(f"Disconnect {name}")
                action.triggered.connect(lambda _=False, n=name: self.connections.disconnect(n))

    def open_dialog(self, entry: GatewayEntry) -> ConnectDialog:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
        self.dialog = ConnectDialog(entry, self.profiles, self.secrets, self.parentWidget())
        self.dialog.connect_requested.connect(self.start)
        self.dialog.open()
        return self.dialog

    def start(self, entry: GatewayEntry, setting: dict) -> None:
        if self.connections is None:
            return
        state = self.connections.status(entry.name).state
        if state in (State.CONNECTED, State.RECONNECTING):
            box = QMessageBox(
                QMessageBox.Icon.Question, "Reconnect",
                f"{entry.name} is {state.value}. Close that connection and connect again?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                self.parentWidget())
            box.accepted.connect(lambda: self.connections.connect(entry, setting))
            self.confirm_box = box
            box.open()
            return
        self.connections.connect(entry, setting)


class ConnectionStatusLabel(QLabel):
    """The gateways' connection states in the status bar; red with the reason on failure."""

    COLOURS: ClassVar[dict[State, str]] = {
        State.FAILED: ERROR_HEX, State.CONNECTING: PENDING_HEX, State.RECONNECTING: PENDING_HEX}

    def __init__(self, kernel: Kernel, connections: ConnectionManager | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Not connected", parent)
        self.kernel = kernel
        self.connections = connections
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(250)
        self.refresh()

    def refresh(self) -> None:
        if self.connections is not None:
            statuses = self.connections.statuses()
        else:  # a kernel without a connection manager: what the gateways say of themselves
            statuses = []
            for name, gateway in list(self.kernel.main_engine.gateways.items()):
                connected = getattr(gateway, "connected", None)
                if connected is not None:
                    state = State.CONNECTED if connected.is_set() else State.IDLE
                    statuses.append(Status(name, state))
        text = " | ".join(status.text for status in statuses) or "No gateway"
        if text != self.text():
            self.setText(text)
            self.setToolTip("\n".join(status.text for status in statuses))
            worst = next((s.state for s in statuses if s.state == State.FAILED), None) or next(
                (s.state for s in statuses if s.state in self.COLOURS), None)
            colour = self.COLOURS.get(worst)
            self.setStyleSheet(f"color: {colour}" if colour else "")
