"""The soak's stock side: VeighNa Trader's stock main window (`vnpy.trader.ui.MainWindow`, stock
EventEngine and MainEngine, its TickMonitor) fed by the same simulated exchange as ours
(`SimGateway` added to the stock MainEngine, every contract subscribed, same rate and seed),
with the same 20 ms lag probe (driven by a Qt timer there, no qasync) and the same rows; GUI
backlog there is the tick events emitted to the GUI and not yet processed (the stock monitor
queues one Qt signal per tick). It runs as a child process (this file, `benchmarks/soak.py
--stock` starts it) in a throw-away folder holding `.vntrader`, with HOME and the XDG folders
pointing into it, so nothing reaches the real home."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

from harness import ROOT, QtTimerLag, child_command, scratch
from soak_report import lag_figures, print_row


def stock_child(args: argparse.Namespace) -> None:
    """VeighNa Trader's main window fed by the simulated exchange; one JSON line per row.
    Runs with the working directory holding `.vntrader` (see `run_stock`)."""
    sys.path.insert(0, str(ROOT))
    import psutil
    from hoststeal import StealTaggedLag, steal_figures
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication
    from vnpy.event import EventEngine
    from vnpy.trader.engine import MainEngine
    from vnpy.trader.event import EVENT_TICK
    from vnpy.trader.object import SubscribeRequest
    from vnpy.trader.ui import MainWindow
    from vnpy.trader.ui.widget import TickMonitor

    from terminal.gateways.sim import SimGateway
    from terminal.market import contracts

    shown = [0]
    original = TickMonitor.process_event

    def process_event(self, event) -> None:  # TickMonitor connects its signal to this
        original(self, event)
        shown[0] += 1

    TickMonitor.process_event = process_event
    app = QApplication([sys.argv[0]])
    event_engine = EventEngine()
    main_engine = MainEngine(event_engine)
    main_engine.add_gateway(SimGateway)
    window = MainWindow(main_engine, event_engine)
    window.resize(1500, 900)
    window.show()
    received = [0]
    event_engine.register(EVENT_TICK, lambda event: received.__setitem__(0, received[0] + 1))
    main_engine.connect({"quote_rate": args.rate / len(contracts.SPECS), "capital": 100_000_000.0,
                         "seed": 7}, "SIM")
    for spec in contracts.SPECS:
        main_engine.subscribe(SubscribeRequest(spec.symbol, spec.exchange), "SIM")

    lag = StealTaggedLag()            # its bookkeeping; driven by a Qt timer (no qasync here)
    probe = QtTimerLag(round(lag.interval * 1000), lag.record, precise=False)
    probe.start()
    process = psutil.Process()
    start = time.monotonic()
    end = start + args.minutes * 60
    state = {"mark": start, "marks": (0, 0, time.process_time(), time.thread_time())}
    peaks = {"event_queue": 0, "gui_backlog": 0}     # largest 1-second samples in the row

    def sample() -> None:
        peaks["event_queue"] = max(peaks["event_queue"], event_engine._queue.qsize())
        peaks["gui_backlog"] = max(peaks["gui_backlog"], received[0] - shown[0])

    sampler = QTimer()
    sampler.timeout.connect(sample)
    sampler.start(1000)
    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)

    def row() -> None:
        now = time.monotonic()
        mark, (ticks0, shown0, cpu0, gui0) = state["mark"], state["marks"]
        span = now - mark
        ticks, gui, cpu, gui_cpu = received[0], shown[0], time.process_time(), time.thread_time()
        sample()
        print(json.dumps({
            "t": round(now - start, 1), "rss_mb": round(process.memory_info().rss / 2**20, 1),
            "engine_ticks_s": round((ticks - ticks0) / span, 1),
            "gui_ticks_s": round((gui - shown0) / span, 1),
            "event_queue": peaks["event_queue"], "bridge_pending": None,
            "journal_queue": None, "recorder_queue": None,
            "gui_backlog": max(0, peaks["gui_backlog"]), **lag_figures(lag.recent(span)),
            **steal_figures(lag.recent_tagged(span, now), span),
            "cpu": round((cpu - cpu0) / span, 2), "gui_cpu": round((gui_cpu - gui0) / span, 2),
            "threads": process.num_threads(),
            "journaled": None, "trades": None, "gc_full": None, "gc_full_ms": None,
        }), flush=True)
        state["mark"], state["marks"] = now, (ticks, gui, cpu, gui_cpu)
        peaks.update(event_queue=0, gui_backlog=0)
        if now >= end - 0.5:
            os._exit(0)               # skips the close confirmation and the engines' shutdown

    ticker.timeout.connect(row)
    ticker.start(round(args.interval * 1000))
    print(json.dumps({"info": f"Qt platform {app.platformName()}, Python "
                               f"{sys.version.split()[0]}"}), flush=True)
    app.exec()


def run_stock(args: argparse.Namespace, stop) -> tuple[list[dict], list[str]]:
    """The stock window's rows, printed as they come; Ctrl-C (`stop.asked`) ends it early."""
    with scratch("soak-stock-", isolated=True) as (folder, env):
        print(f"stock: VeighNa Trader main window in a subprocess, folder {folder}", flush=True)
        command = child_command(__file__, ("--minutes", args.minutes), ("--rate", args.rate),
                                ("--interval", args.interval))
        child = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)   # Ctrl-C reaches the parent only
        return follow(child, stop)


def follow(child: subprocess.Popen, stop) -> tuple[list[dict], list[str]]:
    rows: list[dict] = []
    notes: list[str] = []
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(child.stderr), daemon=True)
    reader.start()
    try:
        for line in child.stdout:
            if not line.startswith("{"):
                continue
            data = json.loads(line)
            if "info" in data:
                print(f"stock: {data['info']}", flush=True)
                continue
            rows.append(data)
            print_row(data, len(rows) == 1)
            if stop.asked:
                child.terminate()
                break
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    if child.returncode not in (0, -15) or not rows:
        notes.append(f"stock child exit {child.returncode}: {''.join(errors)[-800:]}")
    return rows, notes


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--interval", type=float, required=True)
    stock_child(parser.parse_args())
