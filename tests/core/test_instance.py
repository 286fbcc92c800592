"""One terminal per data directory: the lock, who holds it, and that a forked worker does
not keep it after the terminal is gone."""

from __future__ import annotations

import os

import pytest

from terminal.core.instance import AlreadyRunning, InstanceLock


def test_a_second_lock_is_refused_naming_the_holder_and_released_on_release(tmp_path):
    first = InstanceLock(tmp_path)
    first.acquire()
    with pytest.raises(AlreadyRunning, match=f"process {os.getpid()}"):
        InstanceLock(tmp_path).acquire()
    first.release()
    again = InstanceLock(tmp_path)
    again.acquire()
    again.release()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_worker_does_not_hold_the_lock_once_the_terminal_lets_go(tmp_path):
    lock = InstanceLock(tmp_path)
    lock.acquire()
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:                           # the worker: its fork hooks have run by now
        os.write(ready_w, b"x")
        os.read(done_r, 1)
        os._exit(0)
    try:
        assert os.read(ready_r, 1) == b"x"
        lock.release()                     # the terminal ends; the worker still runs
        after = InstanceLock(tmp_path)
        after.acquire()                    # a new terminal may start
        after.release()
    finally:
        os.write(done_w, b"x")
        os.waitpid(pid, 0)
        for fd in (ready_r, ready_w, done_r, done_w):
            os.close(fd)
