"""Connection profiles without their secrets, and the secrets in the system keyring.

A profile is everything the connect dialog asks for except the secret fields (passwords, CTP's
auth code, API secrets, tokens; `catalog.is_secret` is the rule); profiles are kept in
`connections.json` in the data directory. Secrets go to the system keyring when there is a
usable one (Secret Service, macOS Keychain, Windows Credential Locker), under the service
``trading-terminal:<gateway>:<account>`` with the setting's key as the user name. Without a
keyring they are asked each time and stored nowhere. vn.py's own connect dialog writes
`connect_<gateway>.json` with the password in it; the terminal never uses that dialog.

Older versions kept the auth code in `connections.json`. A profiles file that holds a secret is
migrated as it is read: each secret goes to the keyring (unless the keyring already holds one
for that account), then the file is rewritten without them (atomically). With no keyring the
secret is dropped from the file all the same, and is asked for when connecting.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from terminal.core.jsonfile import write_json
from terminal.gateways.catalog import BROKER, USER, is_secret

log = logging.getLogger(__name__)

PROFILES_FILE = "connections.json"
SERVICE_PREFIX = "trading-terminal"
MAX_PROFILES = 10  # per gateway, most recent first
_ACCOUNT_MARKERS = ("用户", "账号", "账户", "user", "account", "login", "key")


def strip_secrets(setting: dict) -> dict:
    return {key: value for key, value in setting.items() if not is_secret(str(key))}


def account_of(gateway: str, setting: dict) -> str:
    """What tells two accounts of one gateway apart: ``user@broker`` for CTP, otherwise the
    first user-like setting, else "default"."""
    user = str(setting.get(USER, "") or "").strip()
    if user:
        broker = str(setting.get(BROKER, "") or "").strip()
        return f"{user}@{broker}" if broker else user
    for key, value in setting.items():
        lowered = str(key).lower()
        if (not is_secret(str(key)) and any(m in lowered for m in _ACCOUNT_MARKERS)
                and isinstance(value, str) and value.strip()):
            return value.strip()
    return "default"


def service_name(gateway: str, account: str) -> str:
    return f"{SERVICE_PREFIX}:{gateway}:{account}"


# ---------------------------------------------------------------------------- profiles
class ProfileStore:
    """Saved connection settings per gateway, never with a secret in them."""

    def __init__(self, root: Path, secrets: Secrets | None = None) -> None:
        self.path = Path(root) / PROFILES_FILE
        self.secrets = secrets if secrets is not None else Secrets()
        # gateway -> what migrating an older file did that the trader should hear of
        self.notes: dict[str, list[str]] = {}

    def _read(self) -> dict[str, list[dict]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("connection profiles in %s are unreadable (%s); starting afresh",
                        self.path, exc)
            return {}
        profiles = data.get("profiles") if isinstance(data, dict) else None
        if not isinstance(profiles, dict):
            return {}
        raw = {str(gateway): [p for p in items if isinstance(p, dict)]
               for gateway, items in profiles.items() if isinstance(items, list)}
        clean = {gateway: [strip_secrets(p) for p in items] for gateway, items in raw.items()}
        if clean != raw:
            self._migrate(raw, clean)
        return clean

    def migrate(self) -> None:
        """Move secrets an older version left in the file to the keyring (see the module's
        note); reading the file does it, this is for doing it at start-up."""
        self._read()

    def _migrate(self, raw: dict[str, list[dict]], clean: dict[str, list[dict]]) -> None:
        for gateway, items in raw.items():
            for profile in items:
                account = account_of(gateway, profile)
                for key, value in profile.items():
                    if is_secret(str(key)) and value not in ("", None):
                        self._move_to_keyring(gateway, account, str(key), str(value))
        try:
            self._write(clean)
        except OSError as exc:
            log.error("could not remove the secrets from %s: %s", self.path, exc)
            for gateway in raw:
                self.notes.setdefault(gateway, []).append(
                    f"{self.path.name} still holds a secret in plain text and cannot be "
                    f"rewritten ({exc.strerror or exc})")
            return
        log.warning("moved the secrets an older version kept in %s out of it", self.path)

    def _move_to_keyring(self, gateway: str, account: str, key: str, value: str) -> None:
        if self.secrets.get(gateway, account, key) is not None:
            moved = "the keyring already held one"
        elif self.secrets.set(gateway, account, key, value):
            moved = "moved to the system keyring"
        else:
            moved = "no keyring to keep it, so it is asked for when connecting"
        note = (f"the {key} of {account} was kept in {self.path.name} by an older version: "
                f"removed from the file ({moved})")
        log.warning("%s: %s", gateway, note)
        self.notes.setdefault(gateway, []).append(note)

    def profiles(self, gateway: str) -> list[dict]:
        """Saved settings for `gateway`, the most recently used first."""
        return self._read().get(gateway, [])

    def last(self, gateway: str) -> dict | None:
        profiles = self.profiles(gateway)
        return profiles[0] if profiles else None

    def save(self, gateway: str, setting: dict) -> dict:
        """Remember `setting` (without its secrets) as the most recent profile of `gateway`."""
        clean = strip_secrets(setting)
        account = account_of(gateway, clean)
        data = self._read()
        others = [p for p in data.get(gateway, []) if account_of(gateway, p) != account]
        data[gateway] = [clean, *others][:MAX_PROFILES]
        self._write(data)
        return clean

    def forget(self, gateway: str, account: str) -> None:
        data = self._read()
        data[gateway] = [p for p in data.get(gateway, []) if account_of(gateway, p) != account]
        self._write(data)

    def _write(self, profiles: dict[str, list[dict]]) -> None:
        for items in profiles.values():  # the last guard: nothing secret reaches the disk
            for profile in items:
                if any(is_secret(str(key)) for key in profile):
                    raise ValueError("a secret setting reached the profiles file")
        write_json(self.path, {"version": 1, "profiles": profiles})


# ---------------------------------------------------------------------------- keyring
def _insecure(backend) -> str:
    """Why `backend` cannot hold passwords ("" when it can)."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return "no system keyring"
    if type(backend).__module__.startswith("keyrings.alt"):
        # file backends: plain text, or encrypted with a password asked on the console
        return f"{type(backend).__name__} keeps passwords in a file"
    if isinstance(backend, chainer.ChainerBackend):
        chained = list(backend.backends)
        if not chained:
            return "no system keyring"
        reasons = [reason for reason in map(_insecure, chained) if reason]
        return reasons[0] if reasons else ""
    try:
        if backend.priority <= 0:
            return "no system keyring"
    except Exception as exc:  # noqa: BLE001 - a backend that cannot tell is not usable
        return f"keyring unavailable: {exc}"
    return ""


class Secrets:
    """Passwords, auth codes and other secrets in the system keyring, or nowhere (asked each
    time)."""

    def backend(self):
        """The usable keyring backend, or None."""
        try:
            import keyring

            backend = keyring.get_keyring()
        except Exception as exc:  # noqa: BLE001 - no keyring is a normal case
            log.info("no keyring: %s", exc)
            return None
        return None if _insecure(backend) else backend

    @property
    def available(self) -> bool:
        return self.backend() is not None

    def describe(self) -> str:
        backend = self.backend()
        if backend is None:
            return ("no system keyring: passwords and auth codes are asked each time and "
                    "stored nowhere")
        name = getattr(backend, "name", "") or type(backend).__name__
        return f"system keyring ({name})"

    def get(self, gateway: str, account: str, key: str) -> str | None:
        backend = self.backend()
        if backend is None:
            return None
        try:
            return backend.get_password(service_name(gateway, account), key)
        except Exception as exc:  # noqa: BLE001 - a locked or broken keyring: ask instead
            log.warning("could not read the %s password of %s from the keyring: %s",
                        gateway, account, type(exc).__name__)
            return None

    def set(self, gateway: str, account: str, key: str, password: str) -> bool:
        """Store a password; False when there is no usable keyring (nothing is written)."""
        backend = self.backend()
        if backend is None or not password:
            return False
        try:
            backend.set_password(service_name(gateway, account), key, password)
            return True
        except Exception as exc:  # noqa: BLE001
            log.warning("could not store the %s password of %s in the keyring: %s",
                        gateway, account, type(exc).__name__)
            return False

    def delete(self, gateway: str, account: str, key: str) -> None:
        backend = self.backend()
        if backend is None:
            return
        try:
            backend.delete_password(service_name(gateway, account), key)
        except Exception:  # noqa: BLE001, S110 - nothing stored, or the keyring refuses: fine
            pass
