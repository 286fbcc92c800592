"""Where the settings of an optimisation are evaluated: a set of worker processes on this
machine, or a Dask cluster. An executor holds `evaluate` and the shared data for several maps
(a genetic search maps every generation on the same workers) and hands back statistics by
position, None for what a cancel left unevaluated."""

from __future__ import annotations

import gc
import multiprocessing as mp
import threading
import time
import traceback
import uuid
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_ready
from typing import Any

from terminal.backtest.optimisation.evaluation import Evaluate, evaluate_chunk
from terminal.backtest.optimisation.ranking import OptimisationError
from terminal.backtest.pool import Report
from terminal.core.processes import isolate_worker


class Executor:
    def map(self, settings: list[dict], chunk: int, progress: Report | None,
            cancel: threading.Event) -> list[dict | None]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def split_chunks(settings: list[dict], size: int) -> list[list[tuple[int, dict]]]:
    indexed = list(enumerate(settings))
    return [indexed[i:i + size] for i in range(0, len(indexed), size)]


def report_done(progress: Report | None, done: int, total: int) -> None:
    if progress is not None:
        progress(100.0 * done / total, f"{done}/{total} settings evaluated")


# -- local: forked workers that inherit the data
_SHARED: dict[str, tuple[Evaluate, Any]] = {}


def _local_worker(conn, token: str, shared: tuple | None) -> None:
    isolate_worker(new_group=False)
    evaluate, data = shared if shared is not None else _SHARED[token]
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return
        if chunk is None:
            return
        conn.send(evaluate_chunk(evaluate, data, chunk))


@dataclass
class _Worker:
    process: Any
    conn: Any
    chunk: list | None = None


class LocalExecutor(Executor):
    def __init__(self, evaluate: Evaluate, data: Any, workers: int, context: str) -> None:
        self._ctx = mp.get_context(context)
        self._fork = context == "fork"
        self._token = uuid.uuid4().hex
        self._evaluate, self._data = evaluate, data
        _SHARED[self._token] = (evaluate, data)
        self._workers: list[_Worker] = []
        try:
            self._workers = [self._start() for _ in range(workers)]
        except BaseException:
            self.terminate()
            raise

    def _start(self) -> _Worker:
        ours, theirs = self._ctx.Pipe()
        shared = None if self._fork else (self._evaluate, self._data)
        process = self._ctx.Process(target=_local_worker, args=(theirs, self._token, shared),
                                    name="optimiser-worker", daemon=True)
        if self._fork:
            gc.freeze()         # inherited objects stay out of the children's collections
        try:
            process.start()
        finally:
            if self._fork:
                gc.unfreeze()
        theirs.close()
        return _Worker(process, ours)

    def map(self, settings: list[dict], chunk: int, progress: Report | None,
            cancel: threading.Event) -> list[dict | None]:
        results: list[dict | None] = [None] * len(settings)
        todo = deque(split_chunks(settings, chunk))
        done = 0
        while (todo or any(w.chunk is not None for w in self._workers)) and not cancel.is_set():
            for worker in self._workers:
                if worker.chunk is None and todo:
                    worker.chunk = todo.popleft()
                    worker.conn.send(worker.chunk)
            busy = [w for w in self._workers if w.chunk is not None]
            ready = wait_ready([w.conn for w in busy] + [w.process.sentinel for w in busy], 0.1)
            for number, worker in enumerate(self._workers):
                if worker.chunk is None:
                    continue
                if worker.conn in ready:
                    try:
                        for index, stats in worker.conn.recv():
                            results[index] = stats
                            done += 1
                        worker.chunk = None
                        report_done(progress, done, len(settings))
                        continue
                    except (EOFError, OSError):
                        pass
                if worker.conn in ready or worker.process.sentinel in ready:
                    # The worker died in the middle of its chunk: those settings fail, a new
                    # worker takes its place.
                    worker.process.join()
                    reason = f"the worker died (exit code {worker.process.exitcode})"
                    for index, _ in worker.chunk:
                        results[index] = {"error": reason}
                        done += 1
                    worker.conn.close()
                    self._workers[number] = self._start()
                    report_done(progress, done, len(settings))
        if cancel.is_set():
            self.terminate()
        return results

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self._workers:
            worker.process.join(2)
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers = []
        _SHARED.pop(self._token, None)

    def terminate(self) -> None:
        for worker in self._workers:
            worker.process.kill()
        for worker in self._workers:
            worker.process.join()
            worker.conn.close()
        self._workers = []
        _SHARED.pop(self._token, None)


# -- dask: the data scattered once to every worker
def _dask_chunk(shared: tuple, chunk: list[tuple[int, dict]]) -> list[tuple[int, dict]]:
    evaluate, data = shared
    return evaluate_chunk(evaluate, data, chunk)


class DaskExecutor(Executor):
    def __init__(self, evaluate: Evaluate, data: Any, address: str | None, client: Any) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise OptimisationError("the dask backend needs dask[distributed] installed "
                                    "(pip install 'trading-terminal[cluster]')") from exc
        self._own = client is None
        self.client = client or Client(address, set_as_default=False, timeout="10s")
        self._shared = self.client.scatter([(evaluate, data)], broadcast=True, hash=False)[0]

    def map(self, settings: list[dict], chunk: int, progress: Report | None,
            cancel: threading.Event) -> list[dict | None]:
        results: list[dict | None] = [None] * len(settings)
        parts = split_chunks(settings, chunk)
        futures = self.client.map(_dask_chunk, [self._shared] * len(parts), parts,
                                  pure=False)
        position = {future.key: number for number, future in enumerate(futures)}
        pending = set(futures)
        done = 0
        while pending and not cancel.is_set():
            finished = [f for f in pending if f.done()]
            if not finished:
                time.sleep(0.02)
                continue
            for future in finished:
                pending.discard(future)
                if future.status == "finished":
                    for index, stats in future.result():
                        results[index] = stats
                        done += 1
                else:
                    for index, _ in parts[position[future.key]]:
                        results[index] = {"error": _future_error(future)}
                        done += 1
            report_done(progress, done, len(settings))
        if pending:
            self.client.cancel(list(pending))
        return results

    def close(self) -> None:
        try:
            self.client.cancel([self._shared])
        finally:
            if self._own:
                self.client.close()


def _future_error(future) -> str:
    try:
        future.result()
    except Exception:
        return traceback.format_exc()
    return f"the task ended as {future.status}"

