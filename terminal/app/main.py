"""The entry point: the data directory, logging, the command line's verbs, and for the GUI the
Qt application on a qasync loop with the main window built around the runtime (the runtime is
made by the composition root, `terminal.system.runtime.build`).

vn.py is imported only after the data directory is prepared (see `core.paths`), which is why
the imports of everything that touches vn.py sit inside the functions here.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from terminal import cli
from terminal.core import deferred_imports, logs, paths

log = logging.getLogger(__name__)

# Imported by vn.py at start-up, first used by a strategy's indicators: TA-Lib (and the pandas
# it imports) is a quarter of a second before the first paint. See core.deferred_imports.
DEFERRED_MODULES = ("talib",)   # loaded once the window has painted: MainWindow.settled


def start(home: Path | str, show: bool = True, lag=None, sim_clock=None):
    """Prepare `home`, build the runtime and the main window around it, connect the simulator.

    Needs a QApplication. Returns (runtime, window). Used by `main`, the tests and benchmarks;
    tests pass a `ManualClock` as `sim_clock`, so that the simulated market moves only when
    they move it (`SimGateway.advance`).
    """
    from terminal.core import settings as settings_file
    from terminal.system import runtime as runtime_module

    data = paths.prepare(Path(home))
    configure_logging(data)
    settings, warnings = settings_file.load(data.settings_file)
    for warning in warnings:
        log.warning("settings: %s", warning)
    runtime = runtime_module.build(data, settings, sim_clock=sim_clock)
    from terminal.ui import startup_probe
    from terminal.ui.main_window import MainWindow

    window = MainWindow(runtime, lag)
    startup_probe.install(window)  # only with TERMINAL_REPORT_FIRST_PAINT set (cold-start bench)
    for warning in warnings:
        runtime.kernel.main_engine.write_log(f"settings: {warning}", "Settings")
    for note in data.notes:     # the data directory was made private (or could not be)
        runtime.kernel.main_engine.write_log(f"data directory: {note}", "Terminal")
    if show:
        window.show()
    window.show_startup_problems(runtime.startup_problems)
    runtime.connect_simulator()
    return runtime, window


def configure_logging(data: paths.DataPaths) -> None:
    logs.configure(data.log_dir)
    for note in data.notes:
        log.warning("data directory: %s", note)


def _qt_message(mode, context, message: str) -> None:
    """Qt's own warnings go to the log file, not the console (keeps --smoke output to one line)."""
    from PySide6.QtCore import QtMsgType

    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.INFO,
    }.get(mode, logging.ERROR)
    logging.getLogger("qt").log(level, "%s", message)


def paint_first(app, window, limit: float = 5.0) -> None:
    """Run Qt's events until the main window has painted (at most `limit` seconds), so what
    the window does not need (the asyncio loop) is imported after the trader sees it."""
    import time

    from PySide6.QtCore import QEventLoop

    painted: list[bool] = []
    window.first_painted.connect(lambda: painted.append(True))
    deadline = time.monotonic() + limit
    while not painted and window.isVisible() and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)


def main(argv: list[str] | None = None) -> int:
    # Before vn.py is imported: what the first paint does not need loads once it is up.
    for name in DEFERRED_MODULES:
        deferred_imports.defer(name)
    if getattr(sys, "frozen", False):
        # PyInstaller build: multiprocessing's spawn/forkserver helpers re-run this executable
        import multiprocessing

        multiprocessing.freeze_support()
    args = cli.parse(argv)
    root = paths.resolve_root(args.home)
    try:
        data_paths = paths.prepare(root)
    except paths.DataDirError as exc:
        print(f"trading-terminal: {exc}", file=sys.stderr)
        return 2
    if args.command:                    # a verb of the command line: no window
        configure_logging(data_paths)
        return args.run(args, data_paths)
    from terminal.app import qt_libraries

    missing = qt_libraries.problem()    # Qt would end the process without saying what
    if missing:
        print(f"trading-terminal: {missing}", file=sys.stderr)
        return 2

    # Everything that is not Qt is imported before PySide6: once PySide6 is loaded, its import
    # hook reads the source of every Python module imported after it (shiboken's
    # `feature_imported` -> `inspect.getsource`), a cost VeighNa Trader's stock start avoids
    # by importing its engine first too.
    from terminal.system import runtime as _runtime  # noqa: F401
    from terminal.core import health as _health  # noqa: F401

    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from terminal.core.instance import AlreadyRunning
    from terminal.core.interpreter import tune_for_gui
    from terminal.storage.journal import JournalError
    from terminal.core.looplag import LoopLagMonitor

    qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Trading Terminal")
    app.setOrganizationName("TradingTerminal")

    lag = LoopLagMonitor()
    try:
        runtime, window = start(root, show=True, lag=lag)
    except (AlreadyRunning, JournalError) as exc:   # nothing can trade safely: say so, stop
        print(f"trading-terminal: {exc}", file=sys.stderr)
        if not args.smoke:
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.critical(None, "Trading Terminal cannot start", str(exc))
        return 2
    from terminal.ui import crash, startup_probe
    from terminal.ui.main_window import app_icon

    app.setWindowIcon(app_icon())
    crash_handler = crash.install(window, runtime)   # log, commit journal, one dialog
    paint_first(app, window)
    # asyncio and qasync (a tenth of a second of imports) come once the window is up.
    import asyncio

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    crash_handler.watch_loop(loop)
    if startup_probe.quit_wanted():         # asked before this loop ran: ask again
        loop.call_soon(app.quit)
    tune_for_gui()
    lag.start()
    exit_code = 0
    quit_future = loop.create_future()

    def quit_requested() -> None:
        if not quit_future.done():
            quit_future.set_result(None)

    app.aboutToQuit.connect(quit_requested)
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    signal.signal(signal.SIGTERM, lambda *_: app.quit())

    if args.smoke:
        from terminal.app.smoke import run_smoke

        def finished(task: asyncio.Task) -> None:
            nonlocal exit_code
            exit_code = 3 if task.cancelled() else task.result()
            window.close()
            app.quit()

        loop.create_task(run_smoke(runtime, window, lag, args.smoke)).add_done_callback(finished)

    try:
        with loop:
            loop.run_until_complete(quit_future)
    finally:
        lag.stop()
        from terminal.ui.chart.drawing_edits import forget_copied_drawing

        forget_copied_drawing()
        runtime.close()
        crash_handler.uninstall()
    return exit_code
