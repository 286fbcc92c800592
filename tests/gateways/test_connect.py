"""Connecting brokers: the gateway catalogue, the connect dialog, passwords (keyring or asked
each time, never in a file), connection states, failures against a closed port or a silent
front, reconnect and resubscribe."""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import ClassVar

import keyring
import keyring.backend
import pytest
from keyring.backends import chainer, fail, null
from vnpy.trader.constant import Exchange, Product
from vnpy.trader.gateway import BaseGateway
from vnpy.trader.object import AccountData, ContractData

from terminal.gateways import catalog
from terminal.gateways.catalog import (
    BROKER,
    MD_ADDRESS,
    PASSWORD,
    TD_ADDRESS,
    USER,
    GatewayEntry,
    fields_for,
    fields_from_setting,
)
from terminal.gateways.connection import State, probe_address
from terminal.gateways.credentials import ProfileStore, Secrets, _insecure, service_name

WAIT = 10_000  # ms
PASSWORD_TEXT = "Pw-7f3a9c-never-on-disk"
RB = "rb2701.SHFE"


# ---------------------------------------------------------------------------- keyrings
class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-memory system keyring for the tests."""

    priority = 5

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


# ---------------------------------------------------------------------------- helpers
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def files_containing(root: Path, secret: str) -> list[Path]:
    needles = [secret.encode(enc) for enc in ("utf-8", "utf-16-le", "gbk")]
    found = []
    for path in Path(root).rglob("*"):
        if path.is_file():
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if any(needle in data for needle in needles):
                found.append(path)
    return found


@pytest.fixture
def app(qtbot, data_dir):
    """The whole terminal; `close()` shuts it down once (to look at its files afterwards)."""
    from terminal.app.main import start

    runtime, window = start(data_dir, show=True)
    qtbot.addWidget(window)
    closed = []

    def close() -> None:
        if not closed:
            closed.append(True)
            window.close()
            runtime.close()

    yield runtime, window, close
    close()


def ctp_entry() -> GatewayEntry:
    entry = catalog.find("CTP")
    if entry is None:
        problems = [e.error for e in catalog.discover() if e.package == "vnpy_ctp"]
        pytest.skip(f"vnpy_ctp cannot be used here: {problems or 'not installed'}")
    return entry


def fill(dialog, values: dict) -> None:
    for key, value in values.items():
        dialog.set_value(key, value)


# ---------------------------------------------------------------------------- catalogue
@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    """vnpy_fakegw (a gateway with every kind of setting), vnpy_brokengw (raises on import)
    and vnpy_notagw (no gateway; would raise if it were imported)."""
    root = tmp_path / "site"
    (root / "vnpy_fakegw").mkdir(parents=True)
    (root / "vnpy_fakegw" / "__init__.py").write_text(textwrap.dedent('''
        from vnpy.trader.gateway import BaseGateway
        from vnpy.trader.constant import Exchange, Product
        from vnpy.trader.object import ContractData

        class FakeGateway(BaseGateway):
            default_name = "FAKE"
            default_setting = {"API Key": "", "Password": "", "Server": ["REAL", "TEST"],
                               "Port": 443, "Timeout": 1.5, "Proxy": False}
            exchanges = [Exchange.SHFE]
            settings_seen = []

            def connect(self, setting):
                FakeGateway.settings_seen.append(dict(setting))
                self.on_contract(ContractData(
                    symbol="rb2701", exchange=Exchange.SHFE, name="rb", product=Product.FUTURES,
                    size=10, pricetick=1, gateway_name=self.gateway_name))

            def close(self): pass
            def subscribe(self, req): pass
            def send_order(self, req): return ""
            def cancel_order(self, req): pass
            def query_account(self): pass
            def query_position(self): pass
    '''), encoding="utf-8")
    (root / "vnpy_brokengw").mkdir()
    (root / "vnpy_brokengw" / "__init__.py").write_text(
        "from vnpy.trader.gateway import BaseGateway\n"
        "raise ImportError('libbroken.so: cannot open shared object file')\n", encoding="utf-8")
    (root / "vnpy_notagw").mkdir()
    (root / "vnpy_notagw" / "__init__.py").write_text(
        "raise RuntimeError('a database package must not be imported')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    catalog.discover(refresh=True)
    yield root
    for name in ("vnpy_fakegw", "vnpy_brokengw", "vnpy_notagw"):
        sys.modules.pop(name, None)
    monkeypatch.undo()
    catalog.discover(refresh=True)


def test_catalog_lists_installed_gateways_and_isolates_broken_ones(fake_packages):
    entries = {entry.package: entry for entry in catalog.discover(refresh=True)}
    assert entries["terminal"].builtin and entries["terminal"].name == "SIM"
    fake = entries["vnpy_fakegw"]
    assert fake.available and fake.name == "FAKE" and not fake.ctp_like
    assert {f.key: f.kind for f in fake.fields} == {
        "API Key": "text", "Password": "password", "Server": "choice", "Port": "int",
        "Timeout": "float", "Proxy": "bool"}
    broken = entries["vnpy_brokengw"]
    assert not broken.available and "libbroken.so" in broken.error
    assert "vnpy_notagw" not in entries and "vnpy_notagw" not in sys.modules
    assert "vnpy_ctp" in entries  # installed: either usable or listed with its error
    ctp = entries["vnpy_ctp"]
    if ctp.available:
        assert ctp.ctp_like and ctp.presets
        labels = {f.key: f.label for f in ctp.fields}
        assert labels[USER] == "User ID" and labels[PASSWORD] == "Password"
        assert labels[TD_ADDRESS] == "Trade server" and labels[MD_ADDRESS] == "Market data server"


def test_generic_form_from_default_setting():
    fields = fields_from_setting({"用户名": "", "交易密码": "", "环境": ["实盘", "测试"],
                                  "端口": 0, "secret": "", "flag": True})
    kinds = {f.key: f.kind for f in fields}
    assert kinds == {"用户名": "text", "交易密码": "password", "环境": "choice", "端口": "int",
                     "secret": "password", "flag": "bool"}
    assert dict(next(f for f in fields if f.key == "环境").choices) == {"实盘": "实盘",
                                                                          "测试": "测试"}


# ---------------------------------------------------------------------------- credentials
def test_profiles_never_hold_a_password(tmp_path):
    store = ProfileStore(tmp_path)
    store.save("CTP", {USER: "123456", BROKER: "9999", PASSWORD: PASSWORD_TEXT,
                       TD_ADDRESS: "tcp://1.2.3.4:5"})
    store.save("CTP", {USER: "654321", BROKER: "9999", PASSWORD: PASSWORD_TEXT})
    store.save("CTP", {USER: "123456", BROKER: "9999", PASSWORD: "other"})
    assert [p[USER] for p in store.profiles("CTP")] == ["123456", "654321"]
    assert store.last("CTP") == {USER: "123456", BROKER: "9999"}
    text = store.path.read_text(encoding="utf-8")
    assert PASSWORD_TEXT not in text and "other" not in text and PASSWORD not in text


def test_keyring_backends_that_cannot_keep_a_password():
    class PlaintextKeyring(MemoryKeyring):
        pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    assert _insecure(fail.Keyring())
    assert _insecure(null.Keyring())
    assert "file" in _insecure(PlaintextKeyring())
    assert _insecure(MemoryKeyring()) == ""
    empty = chainer.ChainerBackend()
    if not list(empty.backends):
        assert _insecure(empty)


def test_passwords_in_the_keyring_or_nowhere(memory_keyring):
    secrets = Secrets()
    assert secrets.available
    assert secrets.set("CTP", "123456@9999", PASSWORD, PASSWORD_TEXT)
    assert memory_keyring.passwords == {
        (service_name("CTP", "123456@9999"), PASSWORD): PASSWORD_TEXT}
    assert secrets.get("CTP", "123456@9999", PASSWORD) == PASSWORD_TEXT
    keyring.set_keyring(fail.Keyring())
    assert not secrets.available and "asked each time" in secrets.describe()
    assert not secrets.set("CTP", "123456@9999", PASSWORD, "x")
    assert secrets.get("CTP", "123456@9999", PASSWORD) is None


def test_probe_tells_a_closed_port():
    fatal, note = probe_address(f"tcp://127.0.0.1:{closed_port()}")
    assert fatal and "refused" in note
    fatal, note = probe_address("socks5://proxy")
    assert not fatal


# ---------------------------------------------------------------------------- CTP, for real
@pytest.mark.slow
def test_ctp_connect_failure_reported_cleanly(qtbot, app, memory_keyring):
    """A closed port on 127.0.0.1: a clear error in the status bar and the log within seconds;
    the gateway is closed; the simulated market keeps ticking; no password in any file."""
    runtime, window, close = app
    entry = ctp_entry()
    port = closed_port()
    address = f"tcp://127.0.0.1:{port}"
    window.menu_bar.connect_menu.populate()
    dialog = window.menu_bar.connect_menu.open_dialog(entry)
    dialog.preset_box.setCurrentIndex(1)  # SimNow: broker 9999, app id, auth code
    assert dialog.value(BROKER) == "9999"
    fill(dialog, {USER: "123456", PASSWORD: PASSWORD_TEXT, TD_ADDRESS: address,
                  MD_ADDRESS: address})
    assert dialog.remember.isEnabled() and dialog.remember.isChecked()
    dialog.accept()
    assert not dialog.isVisible()
    connections = runtime.connections
    qtbot.waitUntil(lambda: connections.status("CTP").state == State.FAILED, timeout=WAIT)
    status = connections.status("CTP")
    assert f"cannot reach trade server {address}" in status.detail or \
        f"cannot reach market data server {address}" in status.detail
    assert "refused" in status.detail               # found at once, not by the watchdog
    label = window.status_bar.connection_label
    qtbot.waitUntil(lambda: "CTP: failed" in label.text(), timeout=WAIT)
    assert f"127.0.0.1:{port}" in label.text()
    qtbot.waitUntil(lambda: any(
        line.source == "CTP" and line.level == "ERROR" and "connection failed" in line.message
        for line in window.log_view.model.records()), timeout=WAIT)
    assert "CTP" not in runtime.kernel.main_engine.gateways  # closed and taken out
    ticks = window.pump.tick_events
    qtbot.waitUntil(lambda: window.pump.tick_events > ticks + 20, timeout=WAIT)

    # the password went to the keyring, the rest to the profile, nothing to vn.py's file
    assert memory_keyring.passwords[(service_name("CTP", "123456@9999"), PASSWORD)] \
        == PASSWORD_TEXT
    profile = ProfileStore(runtime.kernel.paths.root).last("CTP")
    assert profile[USER] == "123456" and profile[TD_ADDRESS] == address
    assert PASSWORD not in profile

    # a second attempt uses a fresh gateway instance and the stored password
    dialog = window.menu_bar.connect_menu.open_dialog(entry)
    assert dialog.value(USER) == "123456" and dialog.value(PASSWORD) == ""
    assert "keyring" in dialog.widgets[PASSWORD].placeholderText()
    dialog.accept()
    qtbot.waitUntil(lambda: connections.status("CTP").state == State.FAILED
                    and "CTP" not in runtime.kernel.main_engine.gateways, timeout=WAIT)

    root = runtime.kernel.paths.root
    close()
    assert not list(root.rglob("connect_*.json"))
    assert files_containing(root, PASSWORD_TEXT) == []
    assert files_containing(Path(os.environ["HOME"]), PASSWORD_TEXT) == []


@pytest.mark.slow
def test_ctp_silent_front_times_out(qtbot, app, no_keyring):
    """A port that accepts connections but never answers: the watchdog fails the attempt."""
    runtime, window, close = app
    entry = ctp_entry()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    threading.Thread(target=lambda: accepted.extend(_accept_all(server)), daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    runtime.connections.ctp_timeout = 3.0
    dialog = window.menu_bar.connect_menu.open_dialog(entry)
    assert not dialog.remember.isEnabled()
    assert "asked each time" in dialog.keyring_note.text()
    fill(dialog, {BROKER: "9999", USER: "123456", PASSWORD: PASSWORD_TEXT,
                  TD_ADDRESS: address, MD_ADDRESS: address})
    started = time.monotonic()
    dialog.accept()
    qtbot.waitUntil(lambda: runtime.connections.status("CTP").state == State.FAILED,
                    timeout=WAIT)
    elapsed = time.monotonic() - started
    detail = runtime.connections.status("CTP").detail
    assert f"cannot reach trade server {address}: no answer within 3 s" in detail
    assert "accepts connections" in detail
    assert elapsed > 2.5                            # not before the watchdog's 3 s
    server.close()

    # no keyring: the next dialog asks for the password again
    dialog = window.menu_bar.connect_menu.open_dialog(entry)
    assert dialog.value(PASSWORD) == "" and dialog.widgets[PASSWORD].placeholderText() == ""
    assert PASSWORD in dialog.problems()
    dialog.reject()
    root = runtime.kernel.paths.root
    close()
    assert files_containing(root, PASSWORD_TEXT) == []


def _accept_all(server):
    connections = []
    while True:
        try:
            connection, _ = server.accept()
        except OSError:
            return connections
        connections.append(connection)


def test_dialog_checks_addresses(qtbot, app, memory_keyring):
    runtime, window, _close = app
    entry = ctp_entry()
    dialog = window.menu_bar.connect_menu.open_dialog(entry)
    fill(dialog, {BROKER: "9999", USER: "1", PASSWORD: "p", TD_ADDRESS: "180.168.146.187",
                  MD_ADDRESS: "tcp://180.168.146.187:10211"})
    dialog.accept()
    assert dialog.isVisible()
    assert TD_ADDRESS in dialog.problems() and MD_ADDRESS not in dialog.problems()
    assert "tcp://host:port" in dialog.field_errors[TD_ADDRESS].text()
    assert "Trade server" in dialog.error_label.text()
    assert runtime.connections.status("CTP").state == State.IDLE
    dialog.reject()


# ---------------------------------------------------------------------------- state machine
class FakeCtpGateway(BaseGateway):
    """Speaks like vnpy_ctp (same setting keys, same log lines) without a network."""

    default_name = "FAKECTP"
    default_setting: ClassVar[dict] = {USER: "", PASSWORD: "", BROKER: "", TD_ADDRESS: "",
                                       MD_ADDRESS: "", "产品名称": "", "授权编码": ""}
    exchanges: ClassVar[list] = [Exchange.SHFE]
    login_error = ""

    def __init__(self, event_engine, gateway_name):
        super().__init__(event_engine, gateway_name)
        self.subscribed: list[str] = []
        self.closed = 0

    def connect(self, setting):
        self.write_log("交易服务器连接成功")
        if self.login_error:
            self.write_log(f"交易服务器登录失败，代码：3，信息：{self.login_error}")
            return
        self.write_log("交易服务器授权验证成功")
        self.write_log("交易服务器登录成功")
        self.write_log("行情服务器连接成功")
        self.write_log("行情服务器登录成功")
        self.on_contract(ContractData(
            symbol="rb2701", exchange=Exchange.SHFE, name="rb", product=Product.FUTURES,
            size=10, pricetick=1, gateway_name=self.gateway_name))
        self.write_log("合约信息查询成功")

    def close(self):
        self.closed += 1

    def subscribe(self, req):
        self.subscribed.append(req.vt_symbol)

    def send_order(self, req):
        return ""

    def cancel_order(self, req):
        pass

    def query_account(self):
        pass

    def query_position(self):
        pass


def fake_entry(cls=FakeCtpGateway) -> GatewayEntry:
    return GatewayEntry(cls.default_name, "tests", cls, fields=fields_for(cls))


SETTING = {USER: "123456", PASSWORD: PASSWORD_TEXT, BROKER: "9999",
           TD_ADDRESS: "tcp://127.0.0.1:1", MD_ADDRESS: "tcp://127.0.0.1:2"}


def test_login_reconnect_and_resubscribe(qtbot, app):
    runtime, window, _close = app
    connections = runtime.connections
    connections.probe = False
    qtbot.waitUntil(lambda: runtime.kernel.main_engine.get_contract(RB) is not None,
                    timeout=WAIT)
    connections.connect(fake_entry(), SETTING)
    qtbot.waitUntil(lambda: connections.status("FAKECTP").state == State.CONNECTED,
                    timeout=WAIT)
    gateway = runtime.kernel.main_engine.gateways["FAKECTP"]
    qtbot.waitUntil(lambda: RB in gateway.subscribed, timeout=WAIT)  # the watched symbol
    assert "123456@9999" in connections.status("FAKECTP").detail
    qtbot.waitUntil(lambda: "FAKECTP: connected" in window.status_bar.connection_label.text(),
                    timeout=WAIT)

    gateway.write_log("行情服务器连接断开，原因4097")
    qtbot.waitUntil(lambda: connections.status("FAKECTP").state == State.RECONNECTING,
                    timeout=WAIT)
    assert "network read failed" in connections.status("FAKECTP").detail
    # A lost connection is a severe risk alert.
    qtbot.waitUntil(lambda: any(a.rule == "gateway_disconnected" and a.severity == "severe"
                                and "FAKECTP" in a.message
                                for a in window.alerts.model.records()), timeout=WAIT)
    before = len(gateway.subscribed)
    gateway.write_log("行情服务器连接成功")
    gateway.write_log("行情服务器登录成功")
    qtbot.waitUntil(lambda: connections.status("FAKECTP").state == State.CONNECTED,
                    timeout=WAIT)
    qtbot.waitUntil(lambda: gateway.subscribed[before:].count(RB) >= 1, timeout=WAIT)
    qtbot.waitUntil(lambda: any("reconnected" in line.message
                                for line in window.log_view.model.records()), timeout=WAIT)

    window.menu_bar.connect_menu.populate()
    assert "Disconnect FAKECTP" in [a.text() for a in window.menu_bar.connect_menu.actions()]
    connections.disconnect("FAKECTP")
    qtbot.waitUntil(lambda: connections.status("FAKECTP").state == State.DISCONNECTED,
                    timeout=WAIT)
    assert "FAKECTP" not in runtime.kernel.main_engine.gateways
    qtbot.waitUntil(lambda: gateway.closed == 1, timeout=WAIT)
    runtime.connections.close()  # waits for the closing thread
    assert gateway.closed == 1


def test_refused_login_fails_and_closes_once(qtbot, app):
    runtime, window, _close = app

    class RefusingGateway(FakeCtpGateway):
        default_name = "REFUSING"
        login_error = "CTP:不合法的登录"

    connections = runtime.connections
    connections.probe = False
    connections.connect(fake_entry(RefusingGateway), SETTING)
    qtbot.waitUntil(lambda: connections.status("REFUSING").state == State.FAILED,
                    timeout=WAIT)
    detail = connections.status("REFUSING").detail
    assert "refused the login: CTP:不合法的登录 (code 3)" in detail
    assert "password" in detail
    assert "REFUSING" not in runtime.kernel.main_engine.gateways
    label = window.status_bar.connection_label
    qtbot.waitUntil(lambda: "REFUSING: failed" in label.text(), timeout=WAIT)


def test_other_gateway_gets_a_dialog_from_its_settings(qtbot, app, fake_packages,
                                                       memory_keyring):
    runtime, window, close = app
    window.menu_bar.connect_menu.populate()
    texts = [action.text() for action in window.menu_bar.connect_menu.actions()]
    assert "FAKE (vnpy_fakegw)…" in texts
    broken = next(a for a in window.menu_bar.connect_menu.actions() if "vnpy_brokengw" in a.text())
    assert not broken.isEnabled() and "libbroken.so" in broken.toolTip()
    entry = catalog.find("FAKE")
    dialog = window.menu_bar.connect_menu.open_dialog(entry)
    from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

    widgets = dialog.widgets
    assert isinstance(widgets["Server"], QComboBox) and isinstance(widgets["Port"], QSpinBox)
    assert isinstance(widgets["Timeout"], QDoubleSpinBox)
    assert isinstance(widgets["Proxy"], QCheckBox)
    assert widgets["Password"].echoMode() == QLineEdit.EchoMode.Password
    fill(dialog, {"API Key": "key-1", "Password": PASSWORD_TEXT, "Server": "TEST", "Port": 8443})
    dialog.accept()
    connections = runtime.connections
    qtbot.waitUntil(lambda: connections.status("FAKE").state == State.CONNECTED, timeout=WAIT)
    seen = entry.gateway_class.settings_seen[-1]
    assert seen["Server"] == "TEST" and seen["Port"] == 8443 and seen["Password"] == PASSWORD_TEXT
    assert memory_keyring.passwords[(service_name("FAKE", "key-1"), "Password")] == PASSWORD_TEXT
    root = runtime.kernel.paths.root
    close()
    assert files_containing(root, PASSWORD_TEXT) == []


def test_generic_gateway_that_never_answers_fails(qtbot, app):
    runtime, _window, _close = app

    class SilentGateway(FakeCtpGateway):
        default_name = "SILENT"
        default_setting: ClassVar[dict] = {"user": "", "password": ""}

        def connect(self, setting):
            self.write_log("connecting somewhere")

    connections = runtime.connections
    connections.generic_timeout = 1.0
    connections.connect(fake_entry(SilentGateway), {"user": "me", "password": "x"})
    qtbot.waitUntil(lambda: connections.status("SILENT").state == State.FAILED, timeout=WAIT)
    detail = connections.status("SILENT").detail
    assert "no contracts or account from SILENT within 1 s" in detail
    assert "connecting somewhere" in detail


def test_account_event_counts_as_alive(qtbot, app):
    runtime, _window, _close = app

    class AccountGateway(FakeCtpGateway):
        default_name = "ACCT"
        default_setting: ClassVar[dict] = {"user": ""}

        def connect(self, setting):
            self.on_account(AccountData(accountid="A", balance=1, frozen=0,
                                        gateway_name=self.gateway_name))

    connections = runtime.connections
    connections.connect(fake_entry(AccountGateway), {"user": "me"})
    qtbot.waitUntil(lambda: connections.status("ACCT").state == State.CONNECTED, timeout=WAIT)


# ---------------------------------------------------------------------------- the auth code
AUTH_TEXT = "Ac-51d0e2-never-on-disk"


def test_auth_codes_tokens_and_secrets_are_secret_by_one_rule():
    from terminal.gateways.catalog import APP_ID, AUTH_CODE, CTP_FIELDS, is_secret

    assert AUTH_CODE == "授权编码"  # vnpy_ctp's key, as its default_setting spells it
    for key in (PASSWORD, AUTH_CODE, "交易密码", "授权码", "API Secret", "secret_key", "token",
                "Access-Token", "auth code", "AuthCode", "auth_code", "passphrase"):
        assert is_secret(key), key
    for key in (USER, BROKER, APP_ID, TD_ADDRESS, "API Key", "Server", "authority"):
        assert not is_secret(key), key
    # every form follows the rule: a secret text setting is a password box
    assert {f.key for f in CTP_FIELDS if f.kind == "password"} == {PASSWORD, AUTH_CODE}
    kinds = {f.key: f.kind for f in fields_from_setting(
        {"token": "", "授权编码": "", "产品名称": "", "记住密码": True})}
    assert kinds == {"token": "password", "授权编码": "password", "产品名称": "text",
                     "记住密码": "bool"}


def old_profiles_file(root: Path) -> Path:
    """connections.json as the version before this one wrote it: the auth code in it."""
    from terminal.gateways.catalog import APP_ID, AUTH_CODE

    root.mkdir(parents=True, exist_ok=True)
    path = root / "connections.json"
    path.write_text(json.dumps({"version": 1, "profiles": {"CTP": [
        {USER: "123456", BROKER: "9999", APP_ID: "client_app_1.0", AUTH_CODE: AUTH_TEXT,
         TD_ADDRESS: "tcp://1.2.3.4:5"},
        {USER: "654321", BROKER: "4040", AUTH_CODE: "other-code"}]}}, ensure_ascii=False),
        encoding="utf-8")
    return path


def test_a_plain_text_auth_code_is_moved_to_the_keyring(tmp_path, memory_keyring):
    from terminal.gateways.catalog import APP_ID, AUTH_CODE

    path = old_profiles_file(tmp_path)
    memory_keyring.set_password(service_name("CTP", "654321@4040"), AUTH_CODE, "newer-code")
    store = ProfileStore(tmp_path, Secrets())
    assert store.profiles("CTP") == [
        {USER: "123456", BROKER: "9999", APP_ID: "client_app_1.0", TD_ADDRESS: "tcp://1.2.3.4:5"},
        {USER: "654321", BROKER: "4040"}]
    assert memory_keyring.passwords == {
        (service_name("CTP", "123456@9999"), AUTH_CODE): AUTH_TEXT,
        (service_name("CTP", "654321@4040"), AUTH_CODE): "newer-code"}  # not overwritten
    text = path.read_text(encoding="utf-8")
    assert AUTH_TEXT not in text and "other-code" not in text and AUTH_CODE not in text
    assert json.loads(text)["profiles"]["CTP"][0][APP_ID] == "client_app_1.0"
    assert not list(tmp_path.glob("*.tmp"))  # written under another name, then renamed
    notes = store.notes["CTP"]
    assert ("the 授权编码 of 123456@9999 was kept in connections.json by an older version: "
            "removed from the file (moved to the system keyring)") in notes
    assert any("654321@4040" in note and "already held one" in note for note in notes)
    assert files_containing(tmp_path, AUTH_TEXT) == []


def test_a_plain_text_auth_code_leaves_the_file_even_without_a_keyring(tmp_path, no_keyring):
    from terminal.gateways.catalog import AUTH_CODE

    path = old_profiles_file(tmp_path)
    store = ProfileStore(tmp_path, Secrets())
    store.migrate()
    assert AUTH_TEXT not in path.read_text(encoding="utf-8")
    assert store.profiles("CTP")[0][USER] == "123456"
    assert "no keyring to keep it, so it is asked for when connecting" in store.notes["CTP"][0]
    assert AUTH_CODE not in path.read_text(encoding="utf-8")


def test_the_connect_menu_migrates_at_start_and_the_dialog_keeps_the_auth_code(
        qtbot, tmp_path, memory_keyring):
    """At start-up (the Connect menu is built with the main window) the auth code leaves the
    file; the CTP dialog masks it, says it is stored, and sends it from the keyring."""
    from types import SimpleNamespace

    from PySide6.QtWidgets import QLineEdit

    from terminal.gateways.catalog import AUTH_CODE
    from terminal.ui.dialogs.connect import ConnectMenu

    path = old_profiles_file(tmp_path)
    kernel = SimpleNamespace(paths=SimpleNamespace(root=tmp_path), connections=None)
    menu = ConnectMenu(kernel)
    assert AUTH_TEXT not in path.read_text(encoding="utf-8")
    entry = ctp_entry()
    dialog = menu.open_dialog(entry)
    qtbot.addWidget(dialog)
    widget = dialog.widgets[AUTH_CODE]
    assert widget.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.value(USER) == "123456" and dialog.value(AUTH_CODE) == ""
    assert widget.placeholderText() == "stored in the system keyring"
    assert "password and auth code" in dialog.remember.text()
    assert "moved to the system keyring" in dialog.keyring_note.text()
    fill(dialog, {PASSWORD: PASSWORD_TEXT, MD_ADDRESS: "tcp://1.2.3.4:6"})
    setting = dialog.submit()
    assert setting[AUTH_CODE] == AUTH_TEXT and setting[PASSWORD] == PASSWORD_TEXT
    # a new code typed in replaces the stored one; the file never holds either
    dialog.set_value(AUTH_CODE, "typed-code")
    assert dialog.submit()[AUTH_CODE] == "typed-code"
    assert memory_keyring.passwords[(service_name("CTP", "123456@9999"), AUTH_CODE)] \
        == "typed-code"
    assert files_containing(tmp_path, "typed-code") == []
    assert files_containing(tmp_path, AUTH_TEXT) == []
    assert AUTH_CODE not in ProfileStore(tmp_path).last("CTP")
