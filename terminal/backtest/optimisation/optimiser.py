"""The optimiser: grid and genetic search over chosen parameters towards a chosen statistic,
the settings evaluated in parallel by an executor, with progress and cancel."""

from __future__ import annotations

import threading
import time
from typing import Any

from terminal.backtest.optimisation.evaluation import Evaluate
from terminal.backtest.optimisation.executors import Executor, DaskExecutor, LocalExecutor
from terminal.backtest.optimisation.genetic import genetic
from terminal.backtest.optimisation.ranking import OptimisationResult, ranked
from terminal.backtest.optimisation.space import ParameterSpace, grid
from terminal.backtest.pool import Report, default_context


class Optimiser:
    """Runs `evaluate(params, data)` over many settings in parallel processes."""

    def __init__(self, backend: str | None = None, workers: int = 2,
                 scheduler_address: str | None = None, chunk_size: int | None = None,
                 context: str | None = None, client: Any = None) -> None:
        """`backend` defaults to "dask" when a scheduler address (or a distributed Client)
        is given, else "local" with `workers` processes."""
        if backend is None:
            backend = "dask" if scheduler_address or client is not None else "local"
        if backend not in ("local", "dask"):
            raise ValueError(f"backend must be 'local' or 'dask', not {backend!r}")
        if backend == "dask" and not (scheduler_address or client):
            raise ValueError("the dask backend needs a scheduler address")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.backend = backend
        self.workers = workers
        self.scheduler_address = scheduler_address
        self.chunk_size = chunk_size
        self.context = context or default_context()
        self.client = client
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop the running search (from any thread); it returns what it has, cancelled."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def session(self, evaluate: Evaluate, data: Any = None,
                workers: int | None = None) -> Executor:
        """Workers holding `evaluate` and `data`, for several maps (a genetic search maps
        every generation on the same workers)."""
        if self.backend == "dask":
            return DaskExecutor(evaluate, data, self.scheduler_address, self.client)
        return LocalExecutor(evaluate, data, workers or self.workers, self.context)

    def run(self, evaluate: Evaluate, settings: list[dict], target: str, data: Any = None,
            maximise: bool = True, progress: Report | None = None) -> OptimisationResult:
        """Evaluate every setting; rows sorted by the target (ties keep the given order)."""
        self._cancel.clear()
        started = time.perf_counter()
        if not settings:
            return OptimisationResult(target, [], maximise, False, 0.0, 0)
        chunk = self._chunk(len(settings))
        with self.session(evaluate, data, min(self.workers, -(-len(settings) // chunk))) \
                as session:
            stats = session.map(settings, chunk, progress, self._cancel)
        return ranked(target, settings, stats, maximise, self._cancel.is_set(),
                       time.perf_counter() - started, len(settings))

    def grid(self, evaluate: Evaluate, space: ParameterSpace, target: str, data: Any = None,
             maximise: bool = True, progress: Report | None = None) -> OptimisationResult:
        return self.run(evaluate, grid(space), target, data, maximise, progress)

    def genetic(self, evaluate: Evaluate, space: ParameterSpace, target: str,
                data: Any = None, population: int = 20, generations: int = 10,
                seed: int | None = None, maximise: bool = True,
                progress: Report | None = None, **options: Any) -> OptimisationResult:
        self._cancel.clear()
        space.check()
        with self.session(evaluate, data) as session:
            def batch(settings: list[dict]) -> list:
                return session.map(settings, self._chunk(len(settings)), None, self._cancel)

            return genetic(space, None, target, population, generations, seed,
                           maximise=maximise, evaluate_batch=batch, progress=progress,
                           should_stop=self._cancel.is_set, **options)

    def _chunk(self, count: int) -> int:
        if self.chunk_size:
            return self.chunk_size
        return max(1, min(16, count // (self.workers * 8)))

