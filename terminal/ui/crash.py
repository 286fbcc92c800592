"""Unhandled exceptions: logged in full, the journal committed, and one dialog for the trader.

`CrashHandler.install` takes over `sys.excepthook` (exceptions escaping a Qt slot or virtual
method end there), `threading.excepthook` and the asyncio (qasync) loop's exception handler.
For every unhandled exception, on whatever thread:

1. the full traceback goes to the log file;
2. the trading journal commits what it has queued (`Journal.flush` is one transaction, so a
   crash never leaves half a batch written);
3. the GUI thread shows the crash dialog: the traceback, "Copy details", "Open log folder",
   "Continue" and "Quit" (Quit closes the main window through its normal close path).

The dialog is not modal and never blocks (no nested event loop): the terminal keeps running
behind it and the trader can still flatten positions. Exceptions arriving while it is open
are counted and added to it, never stacked as more dialogs.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

log = logging.getLogger(__name__)

KEPT_REPORTS = 20          # tracebacks kept in the dialog; the log has every one


class CrashDialog(QDialog):
    continue_clicked = Signal()
    quit_clicked = Signal()

    def __init__(self, log_dir: Path, open_folder: Callable[[Path], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unexpected error")
        self.setModal(False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.log_dir = log_dir
        self._open_folder = open_folder
        self.reports: list[str] = []
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.more = QLabel("")
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.clicked.connect(self.copy_details)
        self.folder_button = QPushButton("Open log folder")
        self.folder_button.clicked.connect(lambda: self._open_folder(self.log_dir))
        self.continue_button = QPushButton("Continue")
        self.continue_button.setDefault(True)
        self.continue_button.clicked.connect(self._continue)
        self.quit_button = QPushButton("Quit")
        self.quit_button.clicked.connect(self._quit)
        buttons = QHBoxLayout()
        for button in (self.copy_button, self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.continue_button, self.quit_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.details, 1)
        layout.addWidget(self.more)
        layout.addLayout(buttons)
        self.resize(760, 460)

    def add_report(self, where: str, text: str, total: int) -> None:
        if not self.reports:
            self.summary.setText(
                f"An unexpected error occurred in {where}. The trading journal has been saved "
                f"and the full details are in the log ({self.log_dir}).\n"
                "You can continue working, or quit the terminal.")
        self.reports.append(f"[{where}]\n{text}")
        del self.reports[:-KEPT_REPORTS]
        self.details.setPlainText("\n".join(self.reports))
        extra = total - 1
        self.more.setText(f"{extra} more unexpected error(s) since the first one; see the log."
                          if extra else "")

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(
            f"{self.summary.text()}\n\n{self.details.toPlainText()}")

    def _continue(self) -> None:
        self.continue_clicked.emit()
        self.close()

    def _quit(self) -> None:
        self.quit_clicked.emit()
        self.close()


def _open_folder(folder: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class CrashHandler(QObject):
    """Reports unhandled exceptions; `install` / `uninstall` the hooks."""

    _report = Signal(str, str)          # where, traceback text: to the GUI thread

    def __init__(self, log_dir: Path, flush_journal: Callable[[], object] | None = None,
                 quit_app: Callable[[], object] | None = None, parent: QWidget | None = None,
                 open_folder: Callable[[Path], object] = _open_folder,
                 show_dialog: bool = True) -> None:
        super().__init__()
        self.log_dir = Path(log_dir)
        self.flush_journal = flush_journal
        self.quit = quit_app
        self.parent_widget = parent
        self.open_folder = open_folder
        self.show_dialog = show_dialog
        self.count = 0               # since the dialog opened
        self.total = 0               # since the start
        self.dialog: CrashDialog | None = None
        self._handling = threading.local()
        self._lock = threading.Lock()
        self._previous: tuple | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------------ hooks
    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> CrashHandler:
        self._previous = (sys.excepthook, threading.excepthook, None)
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook
        if loop is not None:
            self.watch_loop(loop)
        return self

    def watch_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Also catch what the asyncio loop's tasks raise (the loop is made after the first
        paint, so after `install`)."""
        if self._previous is not None:
            self._previous = (*self._previous[:2], loop.get_exception_handler())
        loop.set_exception_handler(self._loop_hook)
        self._loop = loop

    def uninstall(self) -> None:
        if self._previous is None:
            return
        sys_hook, thread_hook, loop_hook = self._previous
        if sys.excepthook == self._sys_hook:
            sys.excepthook = sys_hook
        if threading.excepthook == self._thread_hook:
            threading.excepthook = thread_hook
        if self._loop is not None and not self._loop.is_closed():
            self._loop.set_exception_handler(loop_hook)
        self._previous = None
        self._loop = None

    def _sys_hook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.handle(exc_type, exc, tb, "the main thread")

    def _thread_hook(self, args) -> None:
        if issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "a thread"
        self.handle(args.exc_type, args.exc_value, args.exc_traceback, f"thread {name}")

    def _loop_hook(self, loop, context: dict) -> None:
        exc = context.get("exception")
        if exc is None or isinstance(exc, asyncio.CancelledError):
            loop.default_exception_handler(context)
            return
        self.handle(type(exc), exc, exc.__traceback__,
                    f"asyncio: {context.get('message', 'unhandled exception')}")

    # ------------------------------------------------------------------ reporting
    def handle(self, exc_type, exc, tb, where: str = "the main thread") -> None:
        """Log, commit the journal, and ask the GUI thread for the dialog. Safe on any thread;
        never raises."""
        if getattr(self._handling, "active", False):       # failing while reporting a failure
            sys.__excepthook__(exc_type, exc, tb)
            return
        self._handling.active = True
        try:
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            with self._lock:
                self.count += 1
                self.total += 1
            try:
                log.critical("unhandled exception in %s:\n%s", where, text.rstrip())
            except Exception:  # noqa: BLE001 - the log itself failing: still go on
                sys.__excepthook__(exc_type, exc, tb)
            self._commit_journal()
            if self.show_dialog:
                self._report.emit(where, text)
        except Exception:  # noqa: BLE001 - the handler must never raise
            sys.__excepthook__(*sys.exc_info())
        finally:
            self._handling.active = False

    def _commit_journal(self) -> None:
        if self.flush_journal is None:
            return
        try:
            self.flush_journal()
        except Exception:  # reported; the journal retries on its own thread
            log.exception("the journal could not commit after an unhandled exception")

    def _show(self, where: str, text: str) -> None:
        if self.dialog is None:
            self.dialog = CrashDialog(self.log_dir, self.open_folder, self.parent_widget)
            self.dialog.quit_clicked.connect(self._quit)
            self.dialog.finished.connect(self._dialog_closed)
        self.dialog.add_report(where, text, self.count)
        self.dialog.show()
        self.dialog.raise_()

    def _dialog_closed(self, _result: int = 0) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.deleteLater()
        with self._lock:
            self.count = 0

    def _quit(self) -> None:
        if self.quit is not None:
            self.quit()
            return
        app = QGuiApplication.instance()
        if app is not None:
            app.quit()


def install(window, runtime, loop: asyncio.AbstractEventLoop | None = None,
            **options) -> CrashHandler:
    """The handler for the terminal: its log folder, its journal, its main window."""
    handler = CrashHandler(runtime.kernel.paths.log_dir, runtime.journal.flush, window.close,
                           window, **options)
    window.crash_handler = handler
    return handler.install(loop)
