"""A thread job delivers its result even when nothing else holds it while the work runs."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QThreadPool

from terminal.ui.thread_jobs import ThreadJob
from tests.helpers.gui import WAIT


def test_a_job_nobody_holds_still_delivers_its_result(qtbot):
    release = threading.Event()
    results = []

    def start() -> None:                      # the only reference ends with this call
        job = ThreadJob(lambda job: release.wait(WAIT / 1000) and 42, name="dropped")
        job.succeeded.connect(results.append)
        job.start(QThreadPool.globalInstance())

    start()
    gc.collect()
    assert ThreadJob.live() == 1
    release.set()
    qtbot.waitUntil(lambda: results == [42], timeout=WAIT)
    assert ThreadJob.live() == 0
