"""Datafeeds are opened one at a time: vn.py's SETTINGS is one global, so a second opening
while one is logging in must not overwrite it nor have its password blanked by the first's
clearing (a datafeed that sees a blank password fails its login, and failed logins can lock
the trader's account)."""

from __future__ import annotations

import importlib.machinery
import sys
import threading
import types

import pytest
from vnpy.trader.setting import SETTINGS

from terminal.services import datafeed
from terminal.services.errors import BadInput

from tests.helpers.threads import Call, WatchedLock

PACKAGE = "vnpy_blockingfeed"


class Logins:
    """A fake datafeed package whose first login waits until a second opening has got as far
    as it can (inside a login of its own, or waiting for the first), and whose later logins
    wait until the first opening has returned. Each login reads the password as it ends."""

    def __init__(self) -> None:
        self.second_arrived = threading.Event()
        self.first_returned = threading.Event()
        self.passwords: list[str] = []
        self.inside = self.most_inside = 0
        self._count = 0
        self._guard = threading.Lock()
        logins = self

        class Datafeed:
            def init(self, output) -> bool:
                with logins._guard:
                    logins._count += 1
                    first = logins._count == 1
                    logins.inside += 1
                    logins.most_inside = max(logins.most_inside, logins.inside)
                if first:
                    assert logins.second_arrived.wait(30)
                else:
                    logins.second_arrived.set()
                    assert logins.first_returned.wait(30)
                password = SETTINGS["datafeed.password"]
                with logins._guard:
                    logins.inside -= 1
                    logins.passwords.append(password)
                if not password:
                    output("wrong user name or password")
                return bool(password)

        self.module = types.ModuleType(PACKAGE)
        self.module.__spec__ = importlib.machinery.ModuleSpec(PACKAGE, None)
        self.module.Datafeed = Datafeed


@pytest.fixture
def logins(monkeypatch):
    fake = Logins()
    monkeypatch.setitem(sys.modules, PACKAGE, fake.module)
    monkeypatch.setattr(datafeed, "_OPENING", WatchedLock(fake.second_arrived.set),
                        raising=False)
    monkeypatch.setitem(SETTINGS, "datafeed.password", "")
    return fake


def test_two_openings_at_once_log_in_one_after_the_other_each_with_the_password(logins):
    def first():
        try:
            return datafeed.open_datafeed("blockingfeed", "trader", "s3cret")
        finally:
            logins.first_returned.set()

    one = Call(first)
    one.start()
    two = Call(lambda: datafeed.open_datafeed("blockingfeed", "trader", "s3cret"))
    two.start()
    feeds = one.finish(), two.finish()
    assert all(feed is not None for feed in feeds)
    assert logins.passwords == ["s3cret", "s3cret"] and logins.most_inside == 1
    assert SETTINGS["datafeed.password"] == ""          # taken out again after both


def test_a_failed_login_still_clears_the_password_and_frees_the_next(logins):
    logins.second_arrived.set()                          # nothing to wait for here
    logins.first_returned.set()
    with pytest.raises(BadInput, match="did not log in: wrong user name or password"):
        datafeed.open_datafeed("blockingfeed", "trader", "")
    assert datafeed.open_datafeed("blockingfeed", "trader", "s3cret") is not None
    assert SETTINGS["datafeed.password"] == ""
