"""The Data dock's "Download history…": a symbol, an interval, a range and a source, downloaded
into the store in the background (services.history_download) with a progress bar and Cancel.

Sources offered: each connected gateway (through vn.py's MainEngine.query_history; the
simulator's bars are stored marked simulated), the configured datafeed (its password or token
typed here and, when asked, kept in the system keyring, never in settings.json), and the
simulator's history for the settings' seed without a connection. A cancelled download keeps
the whole requests already stored and says so.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from PySide6.QtCore import QDateTime, QThreadPool, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateTimeEdit, QDialog, QDialogButtonBox,
                               QFormLayout, QLabel, QLineEdit, QProgressBar, QVBoxLayout)

from terminal.core.timezone import CHINA_TZ
from terminal.market import contracts
from terminal.services import datafeed, history_download
from terminal.services.errors import BadInput
from terminal.storage.market_store import MarketStore, StoreError
from terminal.ui.colours import ERROR_TEXT_STYLE
from terminal.ui.thread_jobs import ThreadJob

log = logging.getLogger(__name__)

SIM_OFFLINE = "sim"
DATAFEED = "datafeed"


class DownloadHistoryDialog(QDialog):
    downloaded = Signal(object)          # history_download.Downloaded, when anything was stored

    def __init__(self, store: MarketStore, pool: QThreadPool, main_engine=None, settings=None,
                 parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Download history")
        self.store, self.pool = store, pool
        self.main_engine, self.settings = main_engine, settings
        self.job: ThreadJob | None = None
        self.outcome: history_download.Downloaded | None = None

        self.symbol_box = QComboBox()
        self.symbol_box.setEditable(True)
        self.symbol_box.addItems(self.known_symbols())
        self.interval_box = QComboBox()
        for interval, text in (("1m", "1 minute"), ("1h", "1 hour"), ("d", "1 day")):
            self.interval_box.addItem(text, interval)
        now = datetime.now(CHINA_TZ).replace(second=0, microsecond=0, tzinfo=None)
        self.start_edit = QDateTimeEdit(QDateTime(now - timedelta(
            days=history_download.DEFAULT_DAYS)))
        self.end_edit = QDateTimeEdit(QDateTime(now))
        for edit in (self.start_edit, self.end_edit):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setCalendarPopup(True)
        self.source_box = QComboBox()
        self._fill_sources()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("from the keyring when kept there")
        self.keep_box = QCheckBox("Keep in the system keyring")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Download",
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.source_box.currentIndexChanged.connect(self._source_changed)

        form = QFormLayout()
        form.addRow("Symbol", self.symbol_box)
        form.addRow("Interval", self.interval_box)
        form.addRow("From", self.start_edit)
        form.addRow("To", self.end_edit)
        form.addRow("Source", self.source_box)
        form.addRow("Datafeed password", self.password_edit)
        form.addRow("", self.keep_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._source_changed()

    def known_symbols(self) -> list[str]:
        """The contracts the connected gateways list, the simulator's and the stored ones."""
        known = {spec.vt_symbol for spec in contracts.SPECS}
        if self.main_engine is not None:
            known |= {c.vt_symbol for c in self.main_engine.get_all_contracts()}
        known |= {f"{s.symbol}.{s.exchange.value}" for s in self.store.series()
                  if s.interval != "tick"}
        return sorted(known)

    def _fill_sources(self) -> None:
        if self.main_engine is not None:
            for name in self.main_engine.get_all_gateway_names():
                self.source_box.addItem(f"Gateway {name}", f"gateway:{name}")
        name = getattr(self.settings, "datafeed_name", "")
        if name:
            self.source_box.addItem(f"Datafeed {name}", DATAFEED)
        self.source_box.addItem("Simulator history (offline, the settings' seed)", SIM_OFFLINE)

    def _source_changed(self, *_) -> None:
        feed = self.source_box.currentData() == DATAFEED
        self.password_edit.setEnabled(feed)
        self.keep_box.setEnabled(feed)

    # ------------------------------------------------------------------ running
    def start(self) -> ThreadJob | None:
        if self.job is not None and self.job.running:
            return self.job
        start = self.start_edit.dateTime().toPython()
        end = self.end_edit.dateTime().toPython()
        try:
            request = history_download.check_download(
                self.symbol_box.currentText().strip(), self.interval_box.currentData(),
                start, end)
        except BadInput as exc:
            self._said(str(exc), error=True)
            return None
        chosen = self.source_box.currentData()
        password = self.password_edit.text()
        if chosen == DATAFEED and password and self.keep_box.isChecked() \
                and not datafeed.keep_password(self.settings.datafeed_name, password):
            self._said("no system keyring: the password is used now and not kept")
        store = self.store

        def work(job: ThreadJob):
            source = self._source(chosen, password)
            return history_download.download_history(
                store, request, source, lambda percent, text: job.progress.emit(percent, text),
                lambda: job.cancel_requested)

        self.outcome = None
        job = self.job = ThreadJob(work, name=f"download {request.vt_symbol}")
        job.progress.connect(self._progressed)
        job.succeeded.connect(self._done)
        job.failed.connect(self._failed)
        self.start_button.setEnabled(False)
        self.progress.setValue(0)
        self._said(f"downloading {request.vt_symbol} {request.interval}…")
        job.start(self.pool)
        return job

    def _source(self, chosen: str, password: str) -> history_download.Source:
        """Made on the worker thread: a datafeed logs in over the network."""
        settings = self.settings
        if chosen == SIM_OFFLINE:
            return history_download.sim_source(getattr(settings, "sim_seed", 0))
        if chosen == DATAFEED:
            name = datafeed.check_name(settings.datafeed_name)
            if not password and datafeed.installed(name):
                password = datafeed.stored_password(name) or ""
            feed = datafeed.open_datafeed(name, settings.datafeed_username, password)
            return history_download.datafeed_source(feed, name)
        return history_download.gateway_source(self.main_engine, chosen.split(":", 1)[1])

    def cancel(self) -> None:
        """Stop a running download (between two requests), else close."""
        if self.job is not None and self.job.running:
            self.job.cancel()
            self._said("cancelling after the request under way…")
        else:
            self.reject()

    def _progressed(self, percent: int, text: str) -> None:
        self.progress.setValue(percent)
        self.status.setText(text)

    def _done(self, outcome: history_download.Downloaded) -> None:
        self.outcome = outcome
        self.start_button.setEnabled(True)
        if outcome.complete:
            self.progress.setValue(100)
        self._said(outcome.summary())
        if outcome.rows:
            self.downloaded.emit(outcome)

    def _failed(self, exc: Exception) -> None:
        self.start_button.setEnabled(True)
        if not isinstance(exc, (BadInput, StoreError, OSError)):
            log.error("history download failed", exc_info=exc)
        self._said(f"download failed: {exc}", error=True)
        self.downloaded.emit(None)      # whole requests stored before the failure are kept

    def _said(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(ERROR_TEXT_STYLE if error else "")
        self.status.setText(text)
