"""The benchmarks' one harness: what every benchmark in this folder does the same way.

- A case runs in a child process of its own (`run_child` on the parent side, `child_main` and
  `emit` on the child side): a fresh interpreter, one JSON line of figures on its stdout, the
  process ended at once (vn.py's engine threads are not daemons, its window asks before it
  closes), a traceback and exit 1 on any failure.
- Each child gets a throw-away folder (`scratch`): the terminal's data directory, or (for
  stock vn.py, `isolated=True`) a working directory holding `.vntrader` with HOME and the XDG
  folders pointed into it, so nothing reaches the real home.
- The synthetic bars (`synthetic_columns`, `synthetic_bars`): the same seeded random walk of
  rb2701.SHFE 1-minute bars on rb's sessions for every benchmark, on every run.
- Figures: percentiles by the product's one definition (`terminal.core.looplag.percentile`,
  nearest rank), `spread` (n, p50, p99, max), CPU per thread, garbage collections, the host's
  steal (`terminal.core.health.host_steal_seconds`; per wake: `hoststeal.py`), GUI loop lag
  as a Qt timer's lateness, profiles as text, and "met" / "NOT met".

Run from the project root; a benchmark script imports this module from its own folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

# The terminal is imported inside the functions that need it, never on import: a child may
# put another checkout's tree first on sys.path (the code before a change) before it does.
ROOT = Path(__file__).resolve().parents[1]

SYMBOL, EXCHANGE = "rb2701", "SHFE"
SEED = 2701
# rb's sessions in minutes of the day, in the order of a calendar day (bars stamped by start)
SESSIONS = ((9 * 60, 10 * 60 + 15), (10 * 60 + 30, 11 * 60 + 30), (13 * 60 + 30, 15 * 60),
            (21 * 60, 23 * 60))
FIRST_DAY = "2014-01-06"     # a Monday
CHINA_UTC_OFFSET = 8 * 3600  # Asia/Shanghai has kept UTC+8 since 1991
PRICE_FIELDS = ("open_price", "high_price", "low_price", "close_price", "volume", "turnover",
                "open_interest")


# ---------------------------------------------------------------------------------- children
@contextmanager
def scratch(prefix: str, isolated: bool = False) -> Iterator[tuple[Path, dict[str, str]]]:
    """A temporary folder and the environment for a child (Qt offscreen unless the caller set
    QT_QPA_PLATFORM); the folder is deleted afterwards. `isolated`: the folder holds
    `.vntrader` (vn.py writes there when it is the working directory) and HOME and the XDG
    folders point into it, for stock vn.py, which would otherwise write to the home."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    env = dict(os.environ)
    if isolated:
        (folder / ".vntrader").mkdir()
        (folder / ".vntrader" / "vt_setting.json").write_text(
            json.dumps({"log.console": False, "log.file": False}), encoding="utf-8")
        env.update(HOME=str(folder), XDG_CACHE_HOME=str(folder / "cache"),
                   XDG_CONFIG_HOME=str(folder / "config"), XDG_DATA_HOME=str(folder / "data"),
                   XDG_RUNTIME_DIR=str(folder / "runtime"), MPLCONFIGDIR=str(folder / "mpl"))
        (folder / "runtime").mkdir(mode=0o700)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        yield folder, env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def run_child(command: list[str], *, timeout: float, env: dict[str, str] | None = None,
              cwd: Path | None = None, stderr: list[str] | None = None) -> dict:
    """The last JSON line the child printed, or {"error": why} (hung, failed, said nothing).
    `stderr`, when given, receives the child's standard error."""
    try:
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": "the child process hung"}
    if stderr is not None:
        stderr.append(done.stderr)
    lines = json_lines(done.stdout)
    if done.returncode or not lines:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-800:]}"}
    return lines[-1]


def child_command(script: str, *argv: object) -> list[str]:
    """This interpreter running `script` (a benchmark's __file__) with `argv`; None and False
    leave their flag out, True keeps the flag alone."""
    command = [sys.executable, str(Path(script).resolve())]
    for item in argv:
        if isinstance(item, tuple):
            flag, value = item
            if value is None or value is False:
                continue
            command += [flag] if value is True else [flag, str(value)]
        else:
            command.append(str(item))
    return command


def emit(result: dict) -> None:
    """Print the child's figures as one JSON line and end the process at once (no close
    confirmation, no engine shutdown)."""
    print(json.dumps(result), flush=True)
    sys.stderr.flush()
    os._exit(0)


def child_main(run: Callable[[], dict | None]) -> None:
    """The child's side of `run_child`: `run()` returns its figures (emitted), or reports them
    itself with `emit`; returning None without that, or raising, is a failure (exit 1)."""
    try:
        result = run()
        if result is not None:
            emit(result)
    except BaseException:  # noqa: BLE001 - any failure: its traceback, exit 1
        traceback.print_exc()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)


def export_tree(revision: str, folder: Path, *paths: str) -> Path:
    """The source tree of `revision` (or of `paths` in it), written to `folder` (git archive):
    the code before a change, run side by side with this one."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, *paths], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


# ---------------------------------------------------------------------------------- bars
def synthetic_columns(count: int) -> dict:
    """`count` synthetic 1-minute bars of rb2701.SHFE as numpy columns (datetime as int64 ns
    UTC, stamped by their start), identical on every call: a seeded random walk on rb's
    sessions on weekdays (holidays ignored)."""
    import numpy as np

    minutes = np.concatenate([np.arange(start, end) for start, end in SESSIONS])
    span = count * 7 // (5 * len(minutes)) + 14
    days = np.arange(np.datetime64(FIRST_DAY), np.datetime64(FIRST_DAY) + span)
    days = days[(days.astype(np.int64) + 3) % 7 < 5]           # 1970-01-01 was a Thursday
    local = days.astype(np.int64)[:, None] * 86400 + minutes[None, :] * 60
    seconds = local.ravel()[:count] - CHINA_UTC_OFFSET
    assert len(seconds) == count  # noqa: S101 - the generator checks itself

    rng = np.random.default_rng(SEED)
    close = np.round(3500 * np.exp(np.cumsum(rng.normal(0, 0.0006, count))))
    open_ = np.concatenate([[3500.0], close[:-1]])
    high = np.maximum(open_, close) + rng.integers(0, 4, count)
    low = np.minimum(open_, close) - rng.integers(0, 4, count)
    volume = rng.integers(1, 3000, count).astype(np.float64)
    turnover = volume * (open_ + close) * 5          # 10 t a lot, at the mean of open and close
    interest = 1.5e6 + np.cumsum(rng.integers(-40, 41, count)).astype(np.float64)
    return {"datetime": seconds.astype(np.int64) * 1_000_000_000, "open_price": open_,
            "high_price": high, "low_price": low, "close_price": close, "volume": volume,
            "turnover": turnover, "open_interest": interest}


def synthetic_bars(count: int) -> list:
    """The same bars as vn.py `BarData`, tz-aware (Asia/Shanghai)."""
    from vnpy.trader.constant import Exchange, Interval
    from vnpy.trader.object import BarData

    from terminal.storage.market_store import CHINA_TZ

    columns = synthetic_columns(count)
    seconds = (columns["datetime"] // 1_000_000_000).tolist()
    exchange = Exchange(EXCHANGE)
    return [
        BarData(gateway_name="BENCH", symbol=SYMBOL, exchange=exchange,
                datetime=datetime.fromtimestamp(s, CHINA_TZ), interval=Interval.MINUTE,
                **dict(zip(PRICE_FIELDS, row, strict=True)))
        for s, *row in zip(seconds, *(columns[name].tolist() for name in PRICE_FIELDS),
                           strict=True)
    ]


# ---------------------------------------------------------------------------------- figures
def spread(values: list[float]) -> dict:
    """How many, p50, p99 (nearest rank) and max; None figures when there are none."""
    from terminal.core.looplag import percentile

    return {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values) if values else None}


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def load_average() -> str:
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each Python thread of the process, by thread name."""
    used: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            clock = time.pthread_getcpuclockid(thread.ident)
            used[thread.name] = used.get(thread.name, 0.0) + time.clock_gettime(clock)
        except (AttributeError, OSError, TypeError):
            pass
    return used


def busy_threads(before: dict[str, float], after: dict[str, float], seconds: float,
                 floor: float = 0.005) -> str:
    """"name cores, ..." of the threads that used at least `floor` cores in between."""
    cores = {name: (after[name] - before.get(name, 0.0)) / seconds for name in after}
    return ", ".join(f"{name} {c:.2f}" for name, c in sorted(cores.items(), key=lambda i: -i[1])
                     if c >= floor)


def steal_share(stolen_before: float | None, seconds: float) -> float | None:
    """The host's share (percent) of all CPUs' time since the reading `stolen_before`
    (`host_steal_seconds()` then)."""
    from terminal.core.health import host_steal_seconds

    now = host_steal_seconds()
    if stolen_before is None or now is None or seconds <= 0:
        return None
    return 100 * (now - stolen_before) / (seconds * (os.cpu_count() or 1))


class GcWatch:
    """Python's garbage collections: how many, how long, on which thread (a full collection
    on the GUI thread is a loop lag of its own)."""

    def __init__(self) -> None:
        import gc

        self.gc = gc
        self.started = 0.0
        self.durations: list[float] = []   # every collection, seconds
        self.by: dict[tuple[int, str], list] = {}   # (generation, thread) -> [n, total, longest]
        self.full: list[float] = []        # durations of the full collections since `take`
        gc.callbacks.append(self)

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        spent = time.perf_counter() - self.started
        self.durations.append(spent)
        item = self.by.setdefault((info["generation"], threading.current_thread().name),
                                  [0, 0.0, 0.0])
        item[0] += 1
        item[1] += spent
        item[2] = max(item[2], spent)
        if info["generation"] == 2:
            self.full.append(spent)

    def take(self) -> dict:
        """Full (generation 2) collections since the last take: count and longest, in ms."""
        full, self.full = self.full, []
        return {"gc_full": len(full), "gc_full_ms": round(max(full, default=0.0) * 1000, 1)}

    def close(self) -> list[str]:
        self.gc.callbacks.remove(self)
        return [f"gc generation {g} on {thread}: {n} collections, {total * 1000:,.0f} ms in all"
                f", longest {longest * 1000:.1f} ms"
                for (g, thread), (n, total, longest) in sorted(self.by.items())]


class QtTimerLag:
    """GUI loop lag as a single-shot Qt timer's lateness, re-armed at each firing while
    `keep_going()`: each lateness goes to `record`. `precise` is Qt's PreciseTimer (what the
    static `QTimer.singleShot` uses under 2 s); else the default CoarseTimer of a QTimer."""

    def __init__(self, interval_ms: int, record: Callable[[float], None],
                 keep_going: Callable[[], bool] = lambda: True, precise: bool = True) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval_ms, self.record, self.keep_going = interval_ms, record, keep_going
        self.timer = QTimer()
        self.timer.setSingleShot(True)
        if precise:
            self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._fired)
        self._armed = 0.0

    def start(self) -> None:
        self._armed = time.perf_counter()
        self.timer.start(self.interval_ms)

    def _fired(self) -> None:
        self.record(self.open_lag())
        if self.keep_going():
            self.start()

    def open_lag(self) -> float:
        """How late the timer is now; counts a GUI thread that is still busy at the end."""
        return max(0.0, time.perf_counter() - self._armed - self.interval_ms / 1000)


def profile_text(profiler, top: int = 15, cumulative: int = 20) -> str:
    """A cProfile's busiest functions by own time, then by cumulative time."""
    import io
    import pstats

    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(cumulative)
    return text.getvalue()
