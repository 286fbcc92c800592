"""Where the settings of an optimisation are evaluated: a set of worker processes on this
machine, or a Dask cluster. An executor holds `evaluate` and the shared data for several maps
(a genetic search maps every generation on the same workers) and hands back statistics by
position, None for what a cancel left unevaluated."""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections import deque
from typing import Any

from terminal.backtest.optimisation.evaluation import Chunk, Evaluate, evaluate_chunk
from terminal.backtest.optimisation.ranking import OptimisationError
from terminal.backtest.pool import BacktestPool, JobHandle, Report


class Executor:
    """Workers holding `evaluate` and the shared data, for one or more maps."""

    def map(self, settings: list[dict], chunk: int, progress: Report | None,
            cancel: threading.Event) -> list[dict | None]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def split_chunks(settings: list[dict], size: int) -> list[Chunk]:
    indexed = list(enumerate(settings))
    return [indexed[i:i + size] for i in range(0, len(indexed), size)]


def report_done(progress: Report | None, done: int, total: int) -> None:
    if progress is not None:
        progress(100.0 * done / total, f"{done}/{total} settings evaluated")


# -- local: worker processes of a BacktestPool, each serving many chunks
def serve_chunks(report: Any, evaluate: Evaluate, data: Any) -> None:
    """A local worker: evaluates the chunks the executor sends until it sends None. With
    "fork", `evaluate` and `data` are the parent's objects, inherited copy-on-write; with
    "spawn" they were pickled to this worker once, at its start."""
    while (chunk := report.receive()) is not None:
        report.send(evaluate_chunk(evaluate, data, chunk))


class LocalExecutor(Executor):
    """`workers` jobs of a BacktestPool of its own, each a worker process holding `evaluate`
    and the data and serving chunk after chunk (one process per worker, not per chunk: the
    data is inherited or pickled once). The workers stay in the caller's process group, so
    cancelling a pool job that runs an optimisation ends them with it; a worker that dies
    fails the settings of its chunk and another takes its place."""

    def __init__(self, evaluate: Evaluate, data: Any, workers: int, context: str) -> None:
        self._evaluate, self._data = evaluate, data
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._pool = BacktestPool(max_workers=workers, context=context, own_groups=False,
                                  freeze_on_fork=True)
        self._workers: dict[JobHandle, Chunk | None] = {}     # worker -> its chunk
        try:
            for _ in range(workers):
                self._start()
        except BaseException:
            self.terminate()
            raise

    def _start(self) -> None:
        handle = self._pool.submit(
            serve_chunks, (self._evaluate, self._data), name="optimiser-worker",
            time_limit=None, inbox=True,
            on_message=lambda worker, results: self._events.put((worker, results)),
            on_finished=lambda worker: self._events.put((worker, None)))
        self._workers[handle] = None

    def map(self, settings: list[dict], chunk: int, progress: Report | None,
            cancel: threading.Event) -> list[dict | None]:
        results: list[dict | None] = [None] * len(settings)
        todo = deque(split_chunks(settings, chunk))
        done = 0
        while (todo or any(c is not None for c in self._workers.values())) \
                and not cancel.is_set():
            for worker, held in self._workers.items():
                if held is None and todo:
                    self._workers[worker] = todo.popleft()
                    try:
                        worker.send(self._workers[worker])
                    except (RuntimeError, OSError):   # it has just ended: see below
                        pass
            try:
                worker, message = self._events.get(timeout=0.1)
            except queue.Empty:
                continue
            if worker not in self._workers:
                continue
            held = self._workers[worker]
            if message is None:
                # The worker ended (died, or raised outside an evaluation): the settings of
                # its chunk fail, a new worker takes its place.
                del self._workers[worker]
                self._start()
                if held is None:
                    continue
                reason = (worker.error if "Traceback" in worker.error
                          else f"the worker died (exit code {worker.exit_code})")
                message = [(index, {"error": reason}) for index, _ in held]
            for index, stats in message:
                results[index] = stats
            done += len(message)
            if worker in self._workers:
                self._workers[worker] = None
            report_done(progress, done, len(settings))
        if cancel.is_set():
            self.terminate()
        return results

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.send(None)
            except (RuntimeError, OSError):     # it has ended
                pass
        for worker in self._workers:
            worker.wait(2)
        self.terminate()

    def terminate(self) -> None:
        """End every worker now and reap them."""
        self._workers = {}
        self._pool.close(cancel=True)


# -- dask: the data scattered once to every worker
def _dask_chunk(shared: tuple, chunk: Chunk) -> list[tuple[int, dict]]:
    evaluate, data = shared
    return evaluate_chunk(evaluate, data, chunk)


class DaskExecutor(Executor):
    """A Dask cluster: `Client(address)`, the evaluator and the data scattered once to every
    worker (`broadcast=True`), tasks mapped over chunks. Its workers need this package, vn.py
    and the strategy importable: give a plugin strategy as
    `functools.partial(load_class, source_path, class_name)` (terminal.plugins.loader), not
    as a class from a generated plugin module."""

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
    except Exception:  # noqa: BLE001 - whatever the task raised is its row's error
        return traceback.format_exc()
    return f"the task ended as {future.status}"

