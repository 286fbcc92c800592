"""Connecting gateways and knowing how each connection stands, for the status bar and the log.

States: not connected -> connecting -> connected <-> reconnecting; connecting -> failed;
any -> disconnected (closed by the trader).

CTP (and the gateways built on its API) reports everything through log lines in Chinese, so
its state is read from them: the trade and market data fronts each answer, authenticate and
log in; "connected" means both are logged in. CTP's API never reports a front that does not
answer (it retries silently), so two things bound the wait:

- a TCP probe of each address as the attempt starts: "connection refused", an unknown host or
  an unreachable network fails the attempt at once, with that reason;
- a watchdog: not logged in on both fronts within `ctp_timeout` seconds (8) fails it with
  "cannot reach trade server tcp://...: no answer within 8 s".

A failed or replaced attempt closes its gateway instance and takes it out of the MainEngine
(vnpy_ctp crashes on a second close or a query after closing, and cannot reconnect an instance
once its API is created); the next attempt gets a fresh instance. A lost connection is retried
by CTP's API itself; once both fronts are logged in again, the market watch's symbols are
subscribed again. Other gateways are "connected" when their first contract or account
arrives, with a `generic_timeout` watchdog.

Every change of state runs on vn.py's event thread (commands, probe results and watchdog
expiries are posted as events), so no locks are needed; the GUI reads `status()` snapshots.
"""

from __future__ import annotations

import itertools
import logging
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from vnpy.event import Event
from vnpy.trader.event import EVENT_ACCOUNT, EVENT_CONTRACT, EVENT_LOG, EVENT_TIMER
from vnpy.trader.gateway import BaseGateway
from vnpy.trader.object import LogData

from terminal.core.kernel import Kernel
from terminal.gateways.catalog import (
    MD_ADDRESS,
    TD_ADDRESS,
    GatewayEntry,
    is_secret,
    parse_address,
)
from terminal.gateways.credentials import account_of
from terminal.market.watchlist import Watchlist

log = logging.getLogger(__name__)

EVENT_CONNECTION = "eTerminalConnection"
CTP_TIMEOUT = 8.0
GENERIC_TIMEOUT = 15.0
PROBE_TIMEOUT = 3.0

# CTP's OnFrontDisconnected reasons
DISCONNECT_REASONS = {
    0x1001: "network read failed",
    0x1002: "network write failed",
    0x2001: "heartbeat timed out",
    0x2002: "heartbeat could not be sent",
    0x2003: "bad packet received",
}
_ERROR = re.compile(r"^(?P<what>.+?)，代码：(?P<code>-?\d+)，信息：(?P<info>.*)$", re.S)
_DISCONNECTED = re.compile(r"^(?P<side>交易|行情)服务器连接断开，原因(?P<reason>-?\d+)")


class State(str, Enum):
    IDLE = "not connected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True)
class Status:
    gateway: str
    state: State
    detail: str = ""
    since: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        head = f"{self.gateway}: {self.state.value}"
        return f"{head} — {self.detail}" if self.detail else head


@dataclass
class _Front:
    role: str  # "trade server" / "market data server"
    address: str
    answered: bool = False
    logged_in: bool = False
    probe_note: str = ""


class _Attempt:
    def __init__(self, number: int, entry: GatewayEntry, account: str, timeout: float,
                 fronts: dict[str, _Front]) -> None:
        self.number = number
        self.entry = entry
        self.name = entry.name
        self.account = account
        self.timeout = timeout
        self.fronts = fronts  # "td"/"md" for CTP-like gateways, empty otherwise
        self.gateway: BaseGateway | None = None
        self.timer: threading.Timer | None = None
        self.connect_thread: threading.Thread | None = None
        self.lock = threading.Lock()  # between the connect thread's end and a shutdown
        self.connect_finished = False
        self.abandoned = False  # shut down while its connect call was still running
        self.done = False  # failed, replaced or disconnected: ignore its gateway's news
        self.ever_connected = False
        self.last_error = ""
        self.last_message = ""
        self.subscribed: set[str] = set()

    @property
    def ctp(self) -> bool:
        return bool(self.fronts)

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class ConnectionManager:
    def __init__(self, kernel: Kernel, watchlist: Watchlist | None = None,
                 ctp_timeout: float = CTP_TIMEOUT, generic_timeout: float = GENERIC_TIMEOUT,
                 probe: bool = True) -> None:
        self.kernel = kernel
        self.main_engine = kernel.main_engine
        self.event_engine = kernel.event_engine
        self.watchlist = watchlist
        self.ctp_timeout = ctp_timeout
        self.generic_timeout = generic_timeout
        self.probe = probe
        self._statuses: dict[str, Status] = {}
        self._attempts: dict[str, _Attempt] = {}
        self._numbers = itertools.count(1)
        self._used: weakref.WeakSet[BaseGateway] = weakref.WeakSet()
        self._closers: list[threading.Thread] = []
        self._closed = False
        # Told of every change of state (the risk monitor alerts on a lost connection).
        self.listeners: list[Callable[[Status], None]] = []
        self.event_engine.register(EVENT_CONNECTION, self._on_command)
        self.event_engine.register(EVENT_LOG, self._on_log)
        self.event_engine.register(EVENT_CONTRACT, self._on_contract)
        self.event_engine.register(EVENT_ACCOUNT, self._on_account)

    # ------------------------------------------------------------------ any thread
    def connect(self, entry: GatewayEntry, setting: dict) -> None:
        """Start connecting `entry` with `setting` (passwords included; kept only in memory).

        Returns at once; follow `status(entry.name)`. A live connection of the same gateway
        is closed first."""
        if not entry.available:
            raise ValueError(f"{entry.label} cannot be connected: {entry.error or 'no gateway'}")
        if self._closed:
            raise RuntimeError("the terminal is closing")
        self._set(entry.name, State.CONNECTING, "starting…")
        self.event_engine.put(Event(EVENT_CONNECTION, ("connect", entry, dict(setting))))

    def disconnect(self, name: str) -> None:
        self.event_engine.put(Event(EVENT_CONNECTION, ("disconnect", name)))

    def status(self, name: str) -> Status:
        status = self._statuses.get(name)
        if status is not None:
            return status
        gateway = self.main_engine.gateways.get(name)
        connected = getattr(gateway, "connected", None)
        if isinstance(connected, threading.Event) and connected.is_set():
            return Status(name, State.CONNECTED)
        return Status(name, State.IDLE)

    def statuses(self) -> list[Status]:
        """Every gateway in the engine, and the managed ones that failed or were closed."""
        names = list(self.main_engine.gateways)
        names += [name for name in list(self._statuses) if name not in names]
        return [self.status(name) for name in names]

    def managed(self) -> list[str]:
        """Gateways connecting, connected or reconnecting through this manager."""
        return [name for name, attempt in list(self._attempts.items()) if not attempt.done]

    def close(self) -> None:
        """Stop the watchdogs and wait (briefly) for gateways being closed; the MainEngine
        closes the live ones."""
        self._closed = True
        for attempt in list(self._attempts.values()):
            attempt.cancel_timer()
        for thread in list(self._closers):
            thread.join(timeout=5)

    # ------------------------------------------------------------------ event thread
    def _post(self, *command) -> None:
        if not self._closed:
            self.event_engine.put(Event(EVENT_CONNECTION, command))

    def _set(self, name: str, state: State, detail: str = "") -> None:
        previous = self._statuses.get(name)
        if previous is not None and previous.state == state and previous.detail == detail:
            return
        status = self._statuses[name] = Status(name, state, detail)
        log.info("connection %s: %s%s", name, state.value, f" ({detail})" if detail else "")
        for listener in self.listeners:
            try:
                listener(status)
            except Exception:  # a listener must not break the connection
                log.exception("connection listener failed on %s", status.text)

    def _log(self, msg: str, source: str, level: int = logging.INFO) -> None:
        """A line in the Log dock (and vn.py's log file) under the gateway's name."""
        self.event_engine.put(Event(EVENT_LOG, LogData(msg=msg, gateway_name=source,
                                                       level=level)))

    def _on_command(self, event: Event) -> None:
        kind, *args = event.data
        if kind == "connect":
            self._start(*args)
            return
        if kind == "disconnect":
            attempt = self._attempts.get(args[0])
            if attempt is not None and not attempt.done:
                self._shutdown(attempt)
                self._set(attempt.name, State.DISCONNECTED, "closed")
                self._log("disconnected", attempt.name)
            return
        name, number, *rest = args
        attempt = self._attempts.get(name)
        if attempt is None or attempt.number != number or attempt.done:
            return  # news of an attempt that is over
        if kind == "timeout":
            self._timed_out(attempt)
        elif kind == "probe":
            self._probed(attempt, *rest)
        elif kind == "connect_failed":
            self._fail(attempt, f"the gateway refused the settings: {rest[0]}")

    def _start(self, entry: GatewayEntry, setting: dict) -> None:
        previous = self._attempts.get(entry.name)
        if previous is not None and not previous.done:
            self._shutdown(previous)
            self._log("closed the previous connection to reconnect", entry.name)
        fronts = {}
        if entry.ctp_like:
            fronts = {"td": _Front("trade server", _with_scheme(setting.get(TD_ADDRESS, ""))),
                      "md": _Front("market data server",
                                   _with_scheme(setting.get(MD_ADDRESS, "")))}
        timeout = self.ctp_timeout if fronts else self.generic_timeout
        attempt = _Attempt(next(self._numbers), entry, account_of(entry.name, setting),
                           timeout, fronts)
        self._attempts[entry.name] = attempt
        gateway = self.main_engine.gateways.get(entry.name)
        if gateway is None or type(gateway) is not entry.gateway_class or gateway in self._used:
            gateway = self.kernel.add_gateway(entry.gateway_class, entry.name)
        self._used.add(gateway)
        attempt.gateway = gateway
        if fronts:
            where = f"{fronts['td'].address} and {fronts['md'].address}"
            self._set(entry.name, State.CONNECTING, f"{attempt.account} at {where}")
        else:
            self._set(entry.name, State.CONNECTING, attempt.account)
        self._log(f"connecting as {attempt.account}", entry.name)
        attempt.timer = threading.Timer(timeout, self._post,
                                        ("timeout", entry.name, attempt.number))
        attempt.timer.daemon = True
        attempt.timer.start()
        if self.probe:
            for key, front in fronts.items():
                threading.Thread(target=self._probe, args=(attempt, key, front.address),
                                 name=f"probe-{entry.name}-{key}", daemon=True).start()
        attempt.connect_thread = threading.Thread(
            target=self._call_connect, args=(attempt, gateway, setting),
            name=f"connect-{entry.name}", daemon=True)
        attempt.connect_thread.start()

    def _call_connect(self, attempt: _Attempt, gateway: BaseGateway, setting: dict) -> None:
        """On its own thread: a gateway's connect may block (CTP's returns at once)."""
        try:
            config = dict(gateway.get_default_setting())
            config.update(setting)
            gateway.connect(config)
        except Exception as exc:  # noqa: BLE001 - a gateway raising is a failed attempt
            text = f"{type(exc).__name__}: {exc}"
            for key, value in setting.items():  # never echo a password, wherever it hides
                if is_secret(str(key)) and isinstance(value, str) and value:
                    text = text.replace(value, "***")
            log.warning("%s connect raised %s", attempt.name, text)
            self._post("connect_failed", attempt.name, attempt.number, text)
        with attempt.lock:
            attempt.connect_finished = True
            close_now = attempt.abandoned
        if close_now:
            self._close_gateway(gateway)

    def _probe(self, attempt: _Attempt, key: str, address: str) -> None:
        fatal, note = probe_address(address)
        self._post("probe", attempt.name, attempt.number, key, fatal, note)

    def _probed(self, attempt: _Attempt, key: str, fatal: bool, note: str) -> None:
        front = attempt.fronts[key]
        front.probe_note = note
        if fatal and not front.answered:
            self._fail(attempt, f"cannot reach {front.role} {front.address}: {note}")

    def _timed_out(self, attempt: _Attempt) -> None:
        attempt.timer = None
        state = self._statuses.get(attempt.name)
        if state is None or state.state != State.CONNECTING:
            return
        seconds = f"{attempt.timeout:g} s"
        if not attempt.ctp:
            last = f" (last message: {attempt.last_message})" if attempt.last_message else ""
            self._fail(attempt, f"no contracts or account from {attempt.name} within "
                                f"{seconds}{last}; check the settings")
            return
        problems = []
        for front in attempt.fronts.values():
            if front.logged_in:
                continue
            if front.answered:
                problems.append(f"{front.role} {front.address} answered but the login did not "
                                f"complete within {seconds}")
            else:
                note = f" ({front.probe_note})" if front.probe_note else ""
                problems.append(f"cannot reach {front.role} {front.address}: no answer within "
                                f"{seconds}{note}")
        if attempt.last_error:
            problems.append(f"last error: {attempt.last_error}")
        self._fail(attempt, "; ".join(problems))

    def _fail(self, attempt: _Attempt, reason: str) -> None:
        self._shutdown(attempt)
        self._set(attempt.name, State.FAILED, reason)
        self._log(f"connection failed: {reason}", attempt.name, logging.ERROR)

    def _shutdown(self, attempt: _Attempt) -> None:
        """Stop an attempt and close its gateway instance (once) without waiting on it."""
        attempt.done = True
        attempt.cancel_timer()
        gateway = attempt.gateway
        if gateway is None:
            return
        if self.main_engine.gateways.get(attempt.name) is gateway:
            del self.main_engine.gateways[attempt.name]
        with attempt.lock:
            if not attempt.connect_finished:
                attempt.abandoned = True  # the connect thread closes it when its call returns
                return
        self._detach(gateway)
        # Closing joins the gateway's threads (CTP's API): not on the event thread.
        closer = threading.Thread(target=self._close_gateway, args=(gateway,),
                                  name=f"close-{attempt.name}", daemon=True)
        self._closers = [t for t in self._closers if t.is_alive()] + [closer]
        closer.start()

    def _detach(self, gateway: BaseGateway) -> None:
        """Take the gateway's own handlers off the event engine."""
        timer = getattr(gateway, "process_timer_event", None)
        if timer is not None:  # vnpy_ctp queries its released API on every timer otherwise
            self.event_engine.unregister(EVENT_TIMER, timer)
        for handlers in list(getattr(self.event_engine, "_handlers", {}).values()):
            for handler in list(handlers):
                if getattr(handler, "__self__", None) is gateway and handler in handlers:
                    handlers.remove(handler)

    def _close_gateway(self, gateway: BaseGateway) -> None:
        """Close once (vnpy_ctp crashes on a second close or on a query after closing)."""
        self._detach(gateway)
        try:
            gateway.close()
        except Exception:  # a gateway failing to close must not stop the terminal
            log.exception("closing gateway %s failed", gateway.gateway_name)
        for api_name in ("td_api", "md_api"):  # vnpy_ctp crashes on a second close
            api = getattr(gateway, api_name, None)
            if api is not None and hasattr(api, "connect_status"):
                api.connect_status = False

    # ------------------------------------------------------------------ gateway news
    def _on_log(self, event: Event) -> None:
        data = event.data
        attempt = self._attempts.get(getattr(data, "gateway_name", ""))
        if attempt is None or attempt.done:
            return
        msg = str(data.msg)
        attempt.last_message = msg
        if attempt.ctp:
            self._ctp_log(attempt, msg)

    def _ctp_log(self, attempt: _Attempt, msg: str) -> None:
        td, md = attempt.fronts["td"], attempt.fronts["md"]
        if msg == "交易服务器连接成功":
            td.answered = True
            self._progress(attempt, "trade server answered, logging in…")
        elif msg == "行情服务器连接成功":
            md.answered = True
        elif msg == "交易服务器授权验证成功":
            self._progress(attempt, "authenticated, logging in…")
        elif msg == "交易服务器登录成功":
            td.answered = td.logged_in = True
            self._logged_in(attempt)
        elif msg == "行情服务器登录成功":
            md.answered = md.logged_in = True
            if attempt.ever_connected and self.watchlist is not None:
                self.watchlist.resubscribe(attempt.name)  # vnpy_ctp does it too; be sure
            self._logged_in(attempt)
        elif msg == "合约信息查询成功":
            state = self._statuses.get(attempt.name)
            if state is not None and state.state == State.CONNECTED:
                self._set(attempt.name, State.CONNECTED, self._connected_detail(attempt))
        elif (match := _DISCONNECTED.match(msg)) is not None:
            front = td if match["side"] == "交易" else md
            front.logged_in = False
            reason = _reason(int(match["reason"]))
            state = self._statuses.get(attempt.name)
            if state is not None and state.state in (State.CONNECTED, State.RECONNECTING):
                self._set(attempt.name, State.RECONNECTING,
                          f"{front.role} connection lost ({reason}); reconnecting…")
            else:
                attempt.last_error = f"{front.role} disconnected ({reason})"
        elif (match := _ERROR.match(msg)) is not None:
            self._ctp_error(attempt, match["what"], match["code"], match["info"].strip())

    def _ctp_error(self, attempt: _Attempt, what: str, code: str, info: str) -> None:
        text = f"{info} (code {code})"
        if what == "交易服务器授权验证失败":
            self._fail(attempt, f"the trade server refused the authentication: {text}; "
                                "check the app ID and auth code")
        elif what == "交易服务器登录失败":
            self._fail(attempt, f"the trade server refused the login: {text}; "
                                "check the broker ID, user ID and password")
        elif what == "行情服务器登录失败":
            self._fail(attempt, f"the market data server refused the login: {text}; "
                                "check the broker ID, user ID and password")
        else:
            attempt.last_error = f"{what}: {text}" if what else text

    def _progress(self, attempt: _Attempt, detail: str) -> None:
        state = self._statuses.get(attempt.name)
        if state is not None and state.state == State.CONNECTING:
            self._set(attempt.name, State.CONNECTING, detail)

    def _logged_in(self, attempt: _Attempt) -> None:
        td, md = attempt.fronts["td"], attempt.fronts["md"]
        if not (td.logged_in and md.logged_in):
            waiting = "market data" if td.logged_in else "trade"
            self._progress(attempt, f"logged in on one front, waiting for the {waiting} server…")
            return
        attempt.cancel_timer()
        again = attempt.ever_connected
        attempt.ever_connected = True
        count = 0
        if again and self.watchlist is not None:
            count = self.watchlist.resubscribe(attempt.name)
        self._set(attempt.name, State.CONNECTED, self._connected_detail(attempt))
        if again:
            self._log(
                f"reconnected; {count} watched symbol(s) subscribed again", attempt.name)
        else:
            self._log(f"logged in as {attempt.account}", attempt.name)

    def _connected_detail(self, attempt: _Attempt) -> str:
        detail = attempt.account
        if attempt.subscribed:
            detail += f", {len(attempt.subscribed)} watched symbol(s) subscribed"
        return detail

    def _on_contract(self, event: Event) -> None:
        contract = event.data
        attempt = self._attempts.get(contract.gateway_name)
        if attempt is None or attempt.done:
            return
        if self.watchlist is not None and contract.vt_symbol in self.watchlist:  # noqa: SIM102
            # resubscribing acts, so it is not folded into the test above
            if self.watchlist.resubscribe(attempt.name, [contract.vt_symbol]):
                attempt.subscribed.add(contract.vt_symbol)
        if not attempt.ctp:
            self._generic_alive(attempt)

    def _on_account(self, event: Event) -> None:
        attempt = self._attempts.get(event.data.gateway_name)
        if attempt is not None and not attempt.done and not attempt.ctp:
            self._generic_alive(attempt)

    def _generic_alive(self, attempt: _Attempt) -> None:
        state = self._statuses.get(attempt.name)
        if state is not None and state.state == State.CONNECTING:
            attempt.cancel_timer()
            attempt.ever_connected = True
            self._set(attempt.name, State.CONNECTED, attempt.account)
            self._log(f"connected as {attempt.account}", attempt.name)


def _reason(code: int) -> str:
    text = DISCONNECT_REASONS.get(code)
    return f"{text}, 0x{code:04x}" if text else f"reason {code}"


def _with_scheme(address: str) -> str:
    address = str(address or "").strip()
    if address and not address.startswith(("tcp://", "ssl://", "socks")):
        address = "tcp://" + address
    return address


def probe_address(address: str, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """Try a TCP connection to a front: (fatal, note). Fatal: nobody can be reached there
    (refused, unknown host, no route); not fatal: it accepts connections ("" note) or the
    answer did not come in time."""
    target = parse_address(address)
    if target is None:
        return False, ""  # a proxy (socks) or an odd form: leave it to the gateway
    host, port = target
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return False, "the port accepts connections but no CTP front answered"
    except ConnectionRefusedError:
        return True, "connection refused (nothing listens on that port)"
    except socket.gaierror:
        return True, f"unknown host {host!r}"
    except TimeoutError:
        return False, f"no TCP answer within {timeout:g} s"
    except OSError as exc:
        return True, exc.strerror or type(exc).__name__
