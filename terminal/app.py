"""Composition root: data directory, logging, the Qt application on a qasync loop, the engines
and the main window.

vn.py is imported only after the data directory is prepared (see `core.paths`), which is why
the imports of everything that touches vn.py sit inside the functions here.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from terminal import cli
from terminal.core import logs, paths

log = logging.getLogger(__name__)


def start(home: Path | str, show: bool = True, lag=None):
    """Prepare `home`, build the engines and the main window, connect the simulator.

    Needs a QApplication. Returns (runtime, window). Used by `main`, the tests and benchmarks.
    """
    from terminal.core import settings as settings_file
    from terminal import runtime as runtime_module

    data = paths.prepare(Path(home))
    logs.configure(data.log_dir)
    settings, warnings = settings_file.load(data.settings_file)
    for warning in warnings:
        log.warning("settings: %s", warning)
    runtime = runtime_module.build(data, settings)
    window = build_window(runtime, lag)
    from terminal.ui import startup_probe

    startup_probe.install(window)  # only with TERMINAL_REPORT_FIRST_PAINT set (cold-start bench)
    for warning in warnings:
        runtime.kernel.main_engine.write_log(f"settings: {warning}", "Settings")
    if show:
        window.show()
    runtime.connect_simulator()
    return runtime, window


def build_window(runtime, lag=None):
    from terminal.ui.main_window import MainWindow
    from terminal.ui.pump import BridgePump

    from terminal.core.health import HealthSampler

    pump = BridgePump(runtime.kernel.bridge, runtime.settings.frame_ms)
    return MainWindow(runtime.kernel, runtime.trading, runtime.watchlist, pump, runtime.store,
                      runtime.live_bars, lag, runtime.risk, runtime.cta,
                      catalog=runtime.catalog,
                      backtests_dir=runtime.kernel.paths.root / "backtests",
                      health=HealthSampler.for_runtime(runtime, lag))


def _qt_message(mode, context, message: str) -> None:
    """Qt's own warnings go to the log file, not the console (keeps --smoke output to one line)."""
    from PySide6.QtCore import QtMsgType

    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.INFO,
    }.get(mode, logging.ERROR)
    logging.getLogger("qt").log(level, "%s", message)


def main(argv: list[str] | None = None) -> int:
    if getattr(sys, "frozen", False):
        # PyInstaller build: multiprocessing's spawn/forkserver helpers re-run this executable
        import multiprocessing

        multiprocessing.freeze_support()
    args = cli.parse(argv)
    root = paths.resolve_root(args.home)
    if args.command == "data":
        from terminal import data_cli

        data_cli.absolutize(args)
    try:
        data_paths = paths.prepare(root)
    except paths.DataDirError as exc:
        print(f"trading-terminal: {exc}", file=sys.stderr)
        return 2
    if args.command == "data":
        logs.configure(data_paths.log_dir)
        return data_cli.run(args, data_paths)
    if args.command in ("backtest", "optimize"):
        from terminal import backtest_cli

        logs.configure(data_paths.log_dir)
        return backtest_cli.run(args, data_paths)

    import qasync
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from terminal.core.interpreter import tune_for_gui
    from terminal.core.looplag import LoopLagMonitor

    qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Trading Terminal")
    app.setOrganizationName("TradingTerminal")
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    lag = LoopLagMonitor()
    runtime, window = start(root, show=True, lag=lag)
    from terminal.ui import crash
    from terminal.ui.main_window import app_icon

    app.setWindowIcon(app_icon())
    crash_handler = crash.install(window, runtime, loop)   # log, commit journal, one dialog
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
        from terminal.smoke import run_smoke

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
        runtime.close()
        crash_handler.uninstall()
    return exit_code
