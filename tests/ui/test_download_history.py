"""The Data dock's "Download history…": the simulator's history downloaded in the background
with its progress, the tree showing the new series (marked simulated); Cancel before the
first request stores nothing; bad input named in the dialog; a connected gateway offered as
a source. The pool is held by a job the test releases, so nothing depends on timing."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QDateTime, QThreadPool

from terminal.core.settings import Settings
from terminal.ui.docks.data_manager import DataManagerDock
from terminal.ui.thread_jobs import ThreadJob

WAIT = 20_000


@pytest.fixture
def dock(qtbot, store):
    widget = DataManagerDock(store, settings=Settings(sim_seed=7))
    qtbot.addWidget(widget)
    yield widget
    widget.pool.waitForDone(WAIT)


def _choose(dialog, vt_symbol="rb2701.SHFE", source="sim"):
    dialog.symbol_box.setEditText(vt_symbol)
    dialog.source_box.setCurrentIndex(dialog.source_box.findData(source))


def test_the_simulators_history_is_downloaded_in_the_background_and_shown(qtbot, dock):
    dialog = dock.open_download()
    qtbot.addWidget(dialog)
    assert "rb2701.SHFE" in dialog.known_symbols()
    _choose(dialog)
    seen = []
    job = dialog.start()
    job.progress.connect(lambda percent, text: seen.append(percent))
    qtbot.waitUntil(lambda: job.done, timeout=WAIT)
    assert dialog.outcome.complete and dialog.outcome.rows > 3000
    assert dialog.progress.value() == 100 and "stored" in dialog.status.text()
    leaf = dock.item_for("rb2701", "SHFE", "1m")
    assert leaf is not None and leaf.isSelected() and leaf.text(0) == "1m · simulated"


def test_cancel_before_the_first_request_stores_nothing(qtbot, dock):
    release = threading.Event()
    dock.pool.setMaxThreadCount(1)
    blocker = ThreadJob(lambda job: release.wait(WAIT / 1000), name="holds the pool")
    blocker.start(dock.pool)                   # the download waits behind it
    dialog = dock.open_download()
    qtbot.addWidget(dialog)
    _choose(dialog)
    job = dialog.start()
    dialog.cancel()                            # Cancel while it waits
    assert "cancelling" in dialog.status.text() and dialog.isVisible()
    release.set()
    qtbot.waitUntil(lambda: job.done, timeout=WAIT)
    assert dialog.outcome.cancelled and dialog.outcome.rows == 0
    assert dialog.status.text() == "cancelled: nothing stored"
    assert dock.store.series() == []


def test_bad_input_is_named_in_the_dialog_and_nothing_starts(qtbot, dock):
    dialog = dock.open_download()
    qtbot.addWidget(dialog)
    _choose(dialog, "rb2701")
    assert dialog.start() is None and "rb2701" in dialog.status.text()
    _choose(dialog)
    dialog.start_edit.setDateTime(dialog.end_edit.dateTime().addDays(1))
    assert dialog.start() is None and "is not before end" in dialog.status.text()
    dialog.end_edit.setDateTime(QDateTime(dialog.start_edit.dateTime().addDays(2)))
    _choose(dialog, "rb2401.SHFE")
    job = dialog.start()
    qtbot.waitUntil(lambda: job.done, timeout=WAIT)
    assert "rb2401.SHFE is not a contract the simulated exchange lists" in dialog.status.text()
    assert dock.store.series() == []


def test_a_connected_gateway_and_the_configured_datafeed_are_offered(qtbot, store):
    class Engine:
        def get_all_gateway_names(self):
            return ["SIM"]

        def get_all_contracts(self):
            return []

    dock = DataManagerDock(store, Engine(), Settings(datafeed_name="nosuchfeed"))
    qtbot.addWidget(dock)
    dialog = dock.open_download()
    qtbot.addWidget(dialog)
    try:
        sources = [dialog.source_box.itemData(i) for i in range(dialog.source_box.count())]
        assert sources == ["gateway:SIM", "datafeed", "sim"]
        _choose(dialog, source="datafeed")
        assert dialog.password_edit.isEnabled()
        job = dialog.start()
        qtbot.waitUntil(lambda: job.done, timeout=WAIT)
        assert "pip install vnpy_nosuchfeed" in dialog.status.text()
    finally:
        dialog.close()
        dock.pool.waitForDone(WAIT)
        QThreadPool.globalInstance().waitForDone(WAIT)
