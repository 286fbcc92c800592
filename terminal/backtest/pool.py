"""Worker processes for backtests and other CPU-heavy jobs: one process per job, at most
`max_workers` at once, each with a time limit, its progress and result sent back as messages.

    pool = BacktestPool(max_workers=2, time_limit=600)
    handle = pool.submit(run_backtest, kwargs={"params": {...}}, on_progress=show)
    handle.cancel()                    # terminates the worker (and anything it started)
    handle.result(timeout=5)           # the job's return value, or JobFailed / JobCancelled

A job is a function called in the worker as `job(report, *args, **kwargs)`; `report(percent,
text)` sends its progress (0..100, throttled to about 20 messages a second). It can be given as
the function itself or as `(module, function_name, kwargs)`, which always pickles (needed for the
"spawn" and "forkserver" contexts, where functions and arguments travel to the worker by
pickle; with "fork" anything goes, lambdas and closures included).

The one pool of worker processes: the workbench's and the CLI's backtest and optimisation jobs
run in it, and an optimisation's own workers are jobs of a pool of its own
(optimisation/executors.py), each serving many settings through its inbox (`inbox=True`,
`handle.send`, `on_message`; the worker side is pool_worker.py).

States: queued -> running -> done | failed | cancelled (a queued job can be cancelled too).
`handle.error` holds the worker's traceback when the job raised, "time limit of N s exceeded"
when it ran out of time, or how the worker died ("worker exited with code -9 before it
returned a result") when it died without a word. `handle.status_text` reads
"failed: time limit of N s exceeded".

One thread of the pool (the scheduler) does everything with processes: it starts queued jobs up
to the limit, reads their messages, enforces time limits, terminates cancelled workers and reaps
every process it started, so no zombie is left. `on_progress`, `on_finished` and the pool's
`on_change` are called on that thread; the GUI turns them into Qt signals (queued connections)
and never waits on a handle. `cancel()` returns at once; the state becomes "cancelled" a moment
later, when the worker is gone.

Decisions
- Start method: "fork" on Linux, so that bars loaded in the terminal are inherited copy-on-write
  by the worker instead of being pickled or re-read; "spawn" elsewhere (macOS frameworks are
  not fork-safe). A caller may pass `context="forkserver"` to get workers from a clean,
  single-threaded server when it has nothing to share.
- Forking a process that has threads (Qt's, vn.py's event and timer threads, this scheduler)
  copies only the forking thread; locks held by the others stay locked in the child forever.
  That is safe as long as the child touches none of them, so the rule for jobs is: pure
  Python, numpy, pandas and vn.py's BacktestingEngine; never Qt, never the EventEngine or
  MainEngine, never a database connection opened by the parent (open a new one if needed).
  What CPython itself needs is made fork-safe by CPython (import lock, GIL, `threading`,
  `logging` handler locks; loguru, vn.py's logger, registers its own at-fork hooks), and
  multiprocessing runs the child from its bootstrap and leaves with os._exit, so no atexit
  handler or Qt destructor of the parent runs in the child. We did not fork from a separate
  clean helper process: the helper would have to receive the data by pickle, which is what
  "fork" is here to avoid; `context="forkserver"` is that helper when wanted.
- Messages go through one pipe per job, not a shared queue: a worker terminated while writing
  can only corrupt its own pipe (a multiprocessing.Queue shares a lock between writers, and a
  writer killed while holding it would block every other job).
- Each worker starts its own process group and asks the kernel to kill it when the pool's
  scheduler thread (its parent) dies (Linux PR_SET_PDEATHSIG). Cancel and time limit send
  SIGTERM, then SIGKILL after a grace period, to the whole group: an optimisation that forked
  its own pool goes with it (that pool's workers stay in the job's group, `own_groups=False`).
  The process is then joined (reaped).
- With "fork", the pool freezes the collector's view of the heap (`gc.freeze`) around the
  fork, so a worker's garbage collections never write to the objects it inherited (which
  would copy every page of shared bars into each worker).
"""

from __future__ import annotations

import gc
import itertools
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_ready
from typing import Any

from terminal.backtest.pool_worker import worker_main
from terminal.core.processes import exit_text, own_group, signal_group

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINAL_STATES = (DONE, FAILED, CANCELLED)
TERMINATE_GRACE = 1.0          # seconds between SIGTERM and SIGKILL
POLL_INTERVAL = 0.2            # the scheduler looks at its processes at least this often

Report = Callable[[float, str], None]
_DEFAULT = object()


class JobFailed(RuntimeError):
    """The job raised, ran out of time or its worker died; the message says which (with the
    worker's traceback when it raised)."""


class JobCancelled(RuntimeError):
    """The job was cancelled."""


def default_context() -> str:
    """"fork" on Linux (data loaded in the parent is shared copy-on-write), else "spawn"."""
    if sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods():
        return "fork"
    return "spawn"


@dataclass(frozen=True)
class JobProgress:
    """A job's last progress report."""

    percent: float = 0.0
    text: str = ""


class JobHandle:
    """What the caller holds of a submitted job. Attributes are written only by the pool's
    scheduler thread; read them from anywhere."""

    def __init__(self, pool: BacktestPool, job_id: int, name: str, target: Any, args: tuple,
                 kwargs: dict, time_limit: float | None, on_progress, on_finished,
                 on_message, inbox) -> None:
        self.id = job_id
        self.name = name
        self.state = QUEUED
        self.error = ""
        self.progress = JobProgress()
        self.pid: int | None = None
        self.exit_code: int | None = None      # the worker's, once it was reaped
        self.submitted = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self.time_limit = time_limit
        self._pool = pool
        self._target = target
        self._args = args
        self._kwargs = kwargs
        self._on_progress = on_progress
        self._on_finished = on_finished
        self._on_message = on_message
        self._inbox_reader, self._inbox = inbox if inbox else (None, None)
        self._result: Any = None
        self._process = None
        self._conn = None
        self._deadline: float | None = None
        self._outcome: tuple | None = None     # ("result", value) | ("error", text) from the worker
        self._cancel_requested = False
        self._final = threading.Event()

    @property
    def done(self) -> bool:
        """The job has finished, one way or another."""
        return self._final.is_set()

    @property
    def status_text(self) -> str:
        return f"{self.state}: {self.error.strip().splitlines()[-1]}" if self.error \
            and self.state == FAILED else self.state

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    def cancel(self) -> None:
        """Terminate the worker (or drop the job if it has not started). Returns at once."""
        self._pool._cancel(self)

    def send(self, message: Any) -> None:
        """A message for the job (submitted with inbox=True), read there with
        `report.receive()`; sent at once, also while the job is still queued."""
        inbox = self._inbox
        if inbox is None:
            raise RuntimeError(f"job {self.name} has no inbox (none asked for, or finished)")
        inbox.send(message)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the job has finished; False if `timeout` passed first. Never call this
        on the GUI thread."""
        return self._final.wait(timeout)

    def result(self, timeout: float | None = None) -> Any:
        if not self._final.wait(timeout):
            raise TimeoutError(f"job {self.name} still {self.state} after {timeout} s")
        if self.state == DONE:
            return self._result
        if self.state == CANCELLED:
            raise JobCancelled(f"job {self.name} was cancelled")
        raise JobFailed(f"job {self.name} failed: {self.error}")

    def __repr__(self) -> str:
        return (f"<JobHandle {self.id} {self.name!r} {self.status_text} "
                f"{self.progress.percent:.0f}%>")


class BacktestPool:
    def __init__(self, max_workers: int = 2, time_limit: float | None = None,
                 context: str | None = None,
                 on_change: Callable[[JobHandle], None] | None = None,
                 own_groups: bool = True, freeze_on_fork: bool = False) -> None:
        """`own_groups`: each worker leads a process group of its own, and cancel ends the
        group (what the worker started goes too). The optimiser's pool, inside a job, passes
        False: its workers stay in that job's group, so cancelling the job ends them too.
        `freeze_on_fork`: the objects of this process are kept out of the workers' collections
        (so forked workers share their pages instead of copying them), for a pool in a process
        of its own (the optimiser's); never done while anything else is frozen, since
        unfreezing afterwards would undo that freeze too (the GUI's, `core.interpreter`)."""
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, not {max_workers}")
        if time_limit is not None and time_limit <= 0:
            raise ValueError(f"time_limit must be positive seconds or None, not {time_limit}")
        self._max_workers = max_workers
        self.time_limit = time_limit
        self.context_name = context or default_context()
        self._ctx = mp.get_context(self.context_name)
        self.on_change = on_change
        self.own_groups = own_groups
        self.freeze_on_fork = freeze_on_fork
        self._lock = threading.Lock()
        self._queued: deque[JobHandle] = deque()
        self._running: list[JobHandle] = []
        self._ids = itertools.count(1)
        self._closing = False
        self._wake_r, self._wake_w = mp.Pipe(duplex=False)
        try:    # a full wake pipe means a wake is pending: never block the caller (GUI)
            os.set_blocking(self._wake_w.fileno(), False)
        except (AttributeError, OSError):
            pass
        self._thread = threading.Thread(target=self._loop, name="backtest-pool", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ public
    @property
    def max_workers(self) -> int:
        return self._max_workers

    @max_workers.setter
    def max_workers(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"max_workers must be at least 1, not {value}")
        self._max_workers = value
        self._wake()

    def submit(self, job: Callable | tuple, args: tuple = (), kwargs: dict | None = None, *,
               name: str | None = None, time_limit: float | None = _DEFAULT,  # type: ignore[assignment]
               on_progress: Callable[[JobHandle, float, str], None] | None = None,
               on_finished: Callable[[JobHandle], None] | None = None,
               on_message: Callable[[JobHandle, Any], None] | None = None,
               inbox: bool = False) -> JobHandle:
        """Queue `job`; it runs as `job(report, *args, **kwargs)` in a worker process.
        `time_limit` (seconds, None for none) defaults to the pool's. With `inbox`, the job
        reads what `handle.send` sends (`report.receive()`); what it sends with
        `report.send` reaches `on_message` (pool_worker.py)."""
        target = _check_target(job)
        if isinstance(job, tuple):
            kwargs = {**job[2], **(kwargs or {})}
        limit = self.time_limit if time_limit is _DEFAULT else time_limit
        if limit is not None and limit <= 0:
            raise ValueError(f"time_limit must be positive seconds or None, not {limit}")
        with self._lock:
            if self._closing:
                raise RuntimeError("the pool is closed")
            job_id = next(self._ids)
            handle = JobHandle(self, job_id, name or _name_of(target, job_id), target, tuple(args),
                               dict(kwargs or {}), limit, on_progress, on_finished,
                               on_message, self._ctx.Pipe(duplex=False) if inbox else None)
            self._queued.append(handle)
        self._wake()
        return handle

    def jobs(self) -> list[JobHandle]:
        """Running jobs, then queued ones in order."""
        with self._lock:
            return [*self._running, *self._queued]

    def close(self, cancel: bool = True, timeout: float | None = None) -> None:
        """Stop taking jobs; cancel the rest (or, with cancel=False, let them finish) and wait
        for the scheduler to reap every worker."""
        with self._lock:
            self._closing = True
            handles = [*self._running, *self._queued]
        if cancel:
            for handle in handles:
                self._cancel(handle)
        self._wake()
        self._thread.join(timeout)

    def __enter__(self) -> BacktestPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ scheduler thread
    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"!")
        except OSError:     # closed: the scheduler has ended
            pass

    def _cancel(self, handle: JobHandle) -> None:
        with self._lock:
            if handle.done:
                return
            if handle in self._queued:
                self._queued.remove(handle)
                self._finish_locked(handle, CANCELLED, "")
                queued = True
            else:
                handle._cancel_requested = True
                queued = False
        if queued:
            self._notify_finished(handle)
        else:
            self._wake()

    def _loop(self) -> None:
        while True:
            while True:     # start queued jobs up to the limit (forking outside the lock)
                with self._lock:
                    if not self._queued or len(self._running) >= self._max_workers:
                        break
                    handle = self._queued.popleft()
                    self._running.append(handle)
                try:
                    self._start(handle)
                except Exception:  # noqa: BLE001 - that job fails, the pool goes on
                    self._finish(handle, FAILED, "the worker could not be started:\n"
                                 + traceback.format_exc())
                else:
                    self._changed(handle)
            with self._lock:
                if self._closing and not self._running and not self._queued:
                    break
                running = list(self._running)
            now = time.monotonic()
            deadlines = [h._deadline - now for h in running if h._deadline is not None]
            timeout = max(0.0, min([POLL_INTERVAL, *deadlines]))
            waitables = [self._wake_r, *(h._conn for h in running if h._conn is not None),
                         *(h._process.sentinel for h in running)]
            ready = wait_ready(waitables, timeout)
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            for handle in running:
                self._service(handle, ready)
        self._wake_r.close()    # (the write end closes with the pool: others may still wake)

    def _start(self, handle: JobHandle) -> None:
        reader, writer = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(
            target=worker_main, name=f"backtest-job-{handle.id}",
            args=(writer, handle._inbox_reader, self.own_groups, handle._target, handle._args,
                  handle._kwargs), daemon=False)
        forking = self.context_name == "fork" and self.freeze_on_fork \
            and gc.get_freeze_count() == 0
        if forking:
            gc.freeze()         # inherited objects stay out of the worker's collections
        try:
            process.start()
        finally:
            if forking:
                gc.unfreeze()
        writer.close()
        if handle._inbox_reader is not None:
            handle._inbox_reader.close()    # the worker has it
            handle._inbox_reader = None
        if self.own_groups:
            own_group(process.pid)
        handle._process, handle._conn, handle.pid = process, reader, process.pid
        handle._args = handle._kwargs = None    # the worker has them; let the parent's go
        handle.state = RUNNING
        handle.started = time.time()
        if handle.time_limit is not None:
            handle._deadline = time.monotonic() + handle.time_limit

    def _service(self, handle: JobHandle, ready: list) -> None:
        """Read what the worker sent, then see whether it finished, ran out of time or was
        cancelled."""
        process = handle._process
        if handle._conn is not None and handle._conn in ready:
            self._read(handle)
        exited = process.sentinel in ready or process.exitcode is not None
        if exited:
            self._read(handle)
            process.join()
            handle.exit_code = process.exitcode
            if handle._outcome and handle._outcome[0] == "result":
                self._finish(handle, DONE, "", handle._outcome[1])
            elif handle._outcome:
                self._finish(handle, FAILED, handle._outcome[1])
            elif handle._cancel_requested:
                self._finish(handle, CANCELLED, "")
            else:
                self._finish(handle, FAILED, f"worker {exit_text(process.exitcode)} before it "
                                             "returned a result")
        elif handle._cancel_requested:
            handle.exit_code = _terminate(process)
            self._finish(handle, CANCELLED, "")
        elif handle._deadline is not None and time.monotonic() >= handle._deadline:
            handle.exit_code = _terminate(process)
            self._finish(handle, FAILED, f"time limit of {handle.time_limit:g} s exceeded")

    def _read(self, handle: JobHandle) -> None:
        conn = handle._conn
        if conn is None:
            return
        try:
            while conn.poll():
                kind, *payload = conn.recv()
                if kind == "progress":
                    percent, text = payload
                    handle.progress = JobProgress(percent, text)
                    self._call(handle._on_progress, handle, percent, text)
                    self._changed(handle)
                elif kind == "message":
                    self._call(handle._on_message, handle, payload[0])
                else:
                    handle._outcome = (kind, payload[0])
        except (EOFError, OSError):
            conn.close()
            handle._conn = None
        except Exception:  # noqa: BLE001 - a message that does not unpickle fails its job
            handle._outcome = ("error", "a message from the worker could not be read:\n"
                               + traceback.format_exc())

    def _finish(self, handle: JobHandle, state: str, error: str, result: Any = None) -> None:
        with self._lock:
            if handle in self._running:
                self._running.remove(handle)
            self._finish_locked(handle, state, error, result)
        self._notify_finished(handle)

    def _finish_locked(self, handle: JobHandle, state: str, error: str,
                       result: Any = None) -> None:
        for end in ("_conn", "_inbox", "_inbox_reader"):
            if getattr(handle, end) is not None:
                getattr(handle, end).close()
                setattr(handle, end, None)
        handle._process = None
        handle._result = result
        handle.error = error
        handle.state = state
        handle.finished = time.time()
        if state == DONE:
            handle.progress = JobProgress(100.0, handle.progress.text)

    def _notify_finished(self, handle: JobHandle) -> None:
        handle._final.set()
        self._call(handle._on_finished, handle)
        self._changed(handle)

    def _changed(self, handle: JobHandle) -> None:
        self._call(self.on_change, handle)

    @staticmethod
    def _call(callback, *args) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            log.exception("a backtest pool callback raised")


# ---------------------------------------------------------------------- helpers (parent)
def _check_target(job) -> Any:
    if isinstance(job, tuple):
        if len(job) != 3 or not all(isinstance(part, str) for part in job[:2]) \
                or not isinstance(job[2], dict):
            raise TypeError(f"a job given as a tuple must be (module, function, kwargs), "
                            f"not {job!r}")
        return job[:2]
    if not callable(job):
        raise TypeError(f"a job must be callable or (module, function, kwargs), not {job!r}")
    return job


def _name_of(target, job_id: int) -> str:
    if isinstance(target, tuple):
        return f"{target[0]}.{target[1]}"
    return getattr(target, "__qualname__", None) or f"job {job_id}"


def _terminate(process) -> int | None:
    """SIGTERM to the worker's process group, SIGKILL after a grace period, then reap."""
    pid = process.pid
    grouped = signal_group(pid, signal.SIGTERM)
    if not grouped:
        process.terminate()
    # The sentinel turns ready when the worker (and anything it forked) has exited, without
    # reaping it: the group id stays reserved until the join below.
    if not wait_ready([process.sentinel], TERMINATE_GRACE):
        if not (grouped and signal_group(pid, signal.SIGKILL)):
            process.kill()
    elif grouped:
        signal_group(pid, signal.SIGKILL)      # stragglers that ignored SIGTERM
    process.join()
    return process.exitcode
