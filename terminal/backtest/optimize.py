"""Parameter optimisation: grid and genetic search over chosen parameters towards a chosen
statistic, evaluated in parallel processes with progress and cancel.

    settings = BacktestSettings("rb2401.SHFE", start, end, rate=1e-4, size=10)  # engine.py
    space = ParameterSpace({"fast_window": (5, 20, 5), "slow_window": [30, 40, 60]})
    bars = load_shared_bars(store, settings)        # one read of the store, in this process
    evaluate = BacktestEvaluator(DoubleMaStrategy, settings)
    result = Optimizer(workers=2).grid(evaluate, space, "sharpe_ratio", bars, progress=report)
    result.best, result.frame(), heatmap(result, "fast_window", "slow_window")
    Optimizer(workers=2).genetic(evaluate, space, "sharpe_ratio", bars, population=20,
                                 generations=10, seed=1)

An evaluation is `evaluate(params, data) -> statistics`; `data` is what the optimisation
shares between all of them (the bars), handed over once, never per setting:

- "local" backend: a set of worker processes forked from this one after the data was put in
  a module global (`_SHARED`, keyed by a token, so several optimisations can run at once).
  The workers inherit it copy-on-write; tasks carry only (index, params) chunks, results come
  back as statistics dicts. `gc.freeze()` before the fork keeps the children's collector from
  writing to every inherited object. Without "fork" (macOS, Windows) the data is pickled to
  each worker once, at its start. Vn.py's own optimiser instead starts spawn workers that
  re-read the database (its lru_cache makes that once per worker and date window).
- "dask" backend (`scheduler_address` set): `Client(address)`, the evaluator and the data
  scattered once to every worker (`broadcast=True`), tasks mapped over chunks. Workers need
  this package, vn.py and the strategy importable: give a plugin strategy as
  `functools.partial(load_class, source_path, class_name)` (terminal.plugins.loader), not as a
  class from a generated plugin module.

The fork rules of `pool.py` apply to the local workers: they run Python, numpy and vn.py's
BacktestingEngine only. Each worker asks Linux to kill it when the forking thread ends, and
stays in the caller's process group, so cancelling a pool job that runs an optimisation
takes its workers along.

Progress is reported as `progress(percent, text)`, the same shape as a pool job's `report`,
so an optimisation running in a `BacktestPool` job passes its `report` straight through.
`optimizer.cancel()` (from any thread) stops the search: workers are terminated and the
result holds what was evaluated so far, with `cancelled=True`.

An evaluation that raises (or a strategy that raises inside the backtest) does not stop the
search: its row gets a NaN target and `{"error": traceback}` as statistics, and sorts last.
"""

from __future__ import annotations

import gc
import itertools
import logging
import math
import multiprocessing as mp
import random
import threading
import time
import traceback
import uuid
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import wait as wait_ready
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from vnpy.trader.constant import Exchange, Interval

from terminal.backtest.engine import history_range, run, select_history
from terminal.backtest.pool import default_context
from terminal.core.processes import isolate_worker

log = logging.getLogger(__name__)

MAX_COMBINATIONS = 1_000_000
Progress = Callable[[float, str], None]
Evaluate = Callable[[dict, Any], dict]
Row = tuple[dict, float, dict]

# vn.py's statistics that make sense as a target (BacktestingEngine.calculate_statistics).
TARGETS = ("sharpe_ratio", "ewm_sharpe", "return_drawdown_ratio", "rgr_ratio", "total_return",
           "annual_return", "total_net_pnl", "daily_net_pnl", "end_balance", "max_drawdown",
           "max_ddpercent", "daily_return", "total_trade_count")


class ParameterError(ValueError):
    """A parameter space that cannot be searched; the message names the parameter."""


class OptimisationError(RuntimeError):
    pass


# ---------------------------------------------------------------------- parameter space
class ParameterSpace:
    """Parameter name -> the values to try, from (start, stop, step) with stop included, or an
    explicit list, or one fixed value.

        ParameterSpace({"fast_window": (5, 20, 5), "slow_window": [30, 60], "fixed_size": 1})
    """

    def __init__(self, spec: dict | None = None,
                 max_combinations: int = MAX_COMBINATIONS) -> None:
        self.max_combinations = max_combinations
        self._values: dict[str, tuple] = {}
        for name, value in (spec or {}).items():
            if isinstance(value, dict):
                self.add(name, **value)
            elif isinstance(value, tuple):
                if len(value) != 3:
                    raise ParameterError(f"{name}: a range is (start, stop, step), got {value!r}")
                self.add(name, *value)
            elif isinstance(value, (list, range, np.ndarray)):
                self.add(name, values=list(value))
            else:
                self.add(name, values=[value])

    def add(self, name: str, start: Any = None, stop: Any = None, step: Any = None,
            values: Iterable | None = None) -> ParameterSpace:
        if not isinstance(name, str) or not name.strip():
            raise ParameterError(f"a parameter name must be a non-empty string, not {name!r}")
        if name in self._values:
            raise ParameterError(f"{name}: given twice")
        if values is not None:
            if start is not None or stop is not None or step is not None:
                raise ParameterError(f"{name}: give either start/stop/step or values, not both")
            chosen = tuple(values)
            if not chosen:
                raise ParameterError(f"{name}: the list of values is empty")
            if len(set(map(_hashable, chosen))) != len(chosen):
                raise ParameterError(f"{name}: values repeat in {list(chosen)!r}")
        elif start is not None and stop is None and step is None:
            chosen = (start,)
        else:
            chosen = _range(name, start, stop, step)
        size = self.size * len(chosen)
        if size > self.max_combinations:
            raise ParameterError(f"{name}: the space would have {size:,} combinations, more "
                                 f"than the limit of {self.max_combinations:,}")
        self._values[name] = chosen
        return self

    @property
    def names(self) -> list[str]:
        return list(self._values)

    def values(self, name: str) -> tuple:
        try:
            return self._values[name]
        except KeyError:
            raise ParameterError(f"no parameter {name!r} in the space "
                                 f"({', '.join(self._values) or 'empty'})") from None

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self._values.values())

    def __len__(self) -> int:
        return self.size if self._values else 0

    def params(self, indices: Sequence[int]) -> dict:
        return {name: values[i] for (name, values), i in zip(self._values.items(), indices)}

    def grid_index(self, indices: Sequence[int]) -> int:
        """The position of a combination in `grid(space)`."""
        position = 0
        for values, i in zip(self._values.values(), indices):
            position = position * len(values) + i
        return position

    def check(self, strategy_class: type | None = None) -> None:
        """Raise ParameterError unless the space can be searched (for this strategy: names it
        has among its `parameters`, numbers where its default is a number, whole numbers
        where it is an int)."""
        if strategy_class is None:
            self.check_parameters("", None)
            return
        self.check_parameters(strategy_class.__name__, {
            name: getattr(strategy_class, name, None)
            for name in getattr(strategy_class, "parameters", [])})

    def check_parameters(self, strategy: str, defaults: dict[str, Any] | None) -> None:
        """`check` against a strategy's parameters and their defaults as the plugin catalog
        lists them (so the GUI checks a space without importing the strategy)."""
        if not self._values:
            raise ParameterError("no parameters chosen to optimise")
        if defaults is None:
            return
        known = list(defaults)
        for name, values in self._values.items():
            if name not in known:
                raise ParameterError(f"{name}: not a parameter of {strategy} "
                                     f"({', '.join(known) or 'it has none'})")
            default = defaults[name]
            if isinstance(default, bool):
                bad = [v for v in values if not isinstance(v, bool)]
            elif isinstance(default, int):
                bad = [v for v in values if not _whole(v)]
            elif isinstance(default, float):
                bad = [v for v in values if not isinstance(v, Real) or isinstance(v, bool)]
            else:
                bad = []
            if bad:
                raise ParameterError(f"{name}: {bad[0]!r} does not fit the strategy's "
                                     f"{type(default).__name__} parameter (default {default!r})")

    def __repr__(self) -> str:
        return f"ParameterSpace({dict(self._values)!r})"


def _range(name: str, start: Any, stop: Any, step: Any) -> tuple:
    for label, value in (("start", start), ("stop", stop), ("step", step)):
        if not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value):
            raise ParameterError(f"{name}: {label} must be a finite number, got {value!r}")
    if step <= 0:
        raise ParameterError(f"{name}: step must be positive, got {step!r}")
    if start > stop:
        raise ParameterError(f"{name}: start {start!r} is above stop {stop!r}")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > MAX_COMBINATIONS:
        raise ParameterError(f"{name}: {count:,} values from {start} to {stop} by {step}")
    if all(isinstance(v, int) for v in (start, step)):
        return tuple(start + i * step for i in range(count))
    decimals = max(_decimals(start), _decimals(step))
    return tuple(round(start + i * step, decimals) for i in range(count))


def _decimals(value: Real) -> int:
    text = f"{float(value):.12g}"
    return len(text.split(".")[1]) if "." in text and "e" not in text else 12


def _whole(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and float(value).is_integer()


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def grid(space: ParameterSpace) -> list[dict]:
    """Every combination, the last parameter varying fastest."""
    space.check()
    names = space.names
    return [dict(zip(names, combo)) for combo in itertools.product(*(space.values(n)
                                                                     for n in names))]


# ---------------------------------------------------------------------- results
def target_value(stats: dict | None, target: str) -> float:
    """The target statistic as a float; NaN when missing or not a number."""
    if not stats or "error" in stats:
        return math.nan
    value = stats.get(target)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value


def _sort_key(value: float, maximise: bool) -> tuple:
    if math.isnan(value):
        return (1, 0.0)
    return (0, -value if maximise else value)


@dataclass
class OptimisationResult:
    """Evaluated settings, best first: rows of (params, target value, statistics)."""

    target: str
    rows: list[Row] = field(default_factory=list)
    maximise: bool = True
    cancelled: bool = False
    elapsed: float = 0.0
    total: int = 0            # settings asked for (grid) or the size of the space (genetic)

    @property
    def best(self) -> Row | None:
        return self.rows[0] if self.rows and not math.isnan(self.rows[0][1]) else None

    @property
    def errors(self) -> list[Row]:
        return [row for row in self.rows if "error" in row[2]]

    def frame(self, statistics: Sequence[str] = ()) -> pd.DataFrame:
        """The results table: one row per setting, parameters, the target, then the chosen
        statistics (and an error column when some failed)."""
        records = []
        for params, value, stats in self.rows:
            record = {**params, self.target: value}
            for name in statistics:
                if name != self.target:
                    record[name] = stats.get(name)
            if "error" in stats:
                record["error"] = stats["error"].strip().splitlines()[-1]
            records.append(record)
        return pd.DataFrame.from_records(records)


def _result(target: str, settings: list[dict], stats: list, maximise: bool, cancelled: bool,
            elapsed: float, total: int, order: list[int] | None = None) -> OptimisationResult:
    rows = []
    for position, (params, stat) in enumerate(zip(settings, stats)):
        if stat is None:        # not evaluated (cancelled)
            continue
        tie = order[position] if order is not None else position
        rows.append((tie, (params, target_value(stat, target), stat)))
    present = [stat for _, (_, _, stat) in rows if "error" not in stat]
    if present and not any(target in stat for stat in present):
        raise OptimisationError(f"no statistic named {target!r}; the evaluation gives "
                                f"{', '.join(map(str, present[0]))}")
    rows.sort(key=lambda item: (*_sort_key(item[1][1], maximise), item[0]))
    return OptimisationResult(target, [row for _, row in rows], maximise, cancelled, elapsed,
                              total)


def heatmap(result: OptimisationResult, x_param: str, y_param: str
            ) -> tuple[list, list, np.ndarray]:
    """The target over two parameters: (x values, y values, matrix[y, x]); where other
    parameters vary too, each cell holds the best value over them; NaN where nothing was
    evaluated."""
    if x_param == y_param:
        raise ParameterError(f"the heatmap needs two different parameters, not {x_param} twice")
    for name in (x_param, y_param):
        if result.rows and name not in result.rows[0][0]:
            raise ParameterError(f"{name}: not among the optimised parameters "
                                 f"({', '.join(result.rows[0][0])})")
    xs = sorted({row[0][x_param] for row in result.rows})
    ys = sorted({row[0][y_param] for row in result.rows})
    column = {x: i for i, x in enumerate(xs)}
    line = {y: i for i, y in enumerate(ys)}
    matrix = np.full((len(ys), len(xs)), np.nan)
    better = max if result.maximise else min
    for params, value, _ in result.rows:
        if math.isnan(value):
            continue
        cell = (line[params[y_param]], column[params[x_param]])
        held = matrix[cell]
        matrix[cell] = value if math.isnan(held) else better(held, value)
    return xs, ys, matrix


# ---------------------------------------------------------------------- genetic search
def genetic(space: ParameterSpace, evaluate: Callable[[dict], dict] | None, target: str,
            population: int = 20, generations: int = 10, seed: int | None = None, *,
            crossover: float = 0.8, mutation: float = 0.2, elite: int = 2,
            tournament: int = 3, maximise: bool = True,
            evaluate_batch: Callable[[list[dict]], list[dict | None]] | None = None,
            progress: Progress | None = None,
            should_stop: Callable[[], bool] | None = None) -> OptimisationResult:
    """Search `space` with a genetic algorithm; every setting it evaluated is in the result.

    Individuals are one index per parameter into its values. Each generation keeps the
    `elite` best, then fills the population with children of tournament-selected parents
    (uniform crossover with probability `crossover`, each gene mutated with probability
    `mutation`: half the time a step to a neighbouring value, else any value). A child that
    was already evaluated is mutated again (a few tries) so that generations explore; results
    are cached by setting, so nothing is evaluated twice. The same seed gives the same search.
    `evaluate(params) -> statistics` evaluates one setting in this process; `evaluate_batch`
    (the Optimizer's parallel map) evaluates a generation at once instead, returning None
    for settings it did not evaluate (cancelled). Ties on the target go to the setting that
    comes first in `grid(space)`, as in a grid search.
    """
    space.check()
    if population < 2:
        raise ParameterError(f"population must be at least 2, not {population}")
    if generations < 0:
        raise ParameterError(f"generations cannot be negative ({generations})")
    if not 0 <= crossover <= 1 or not 0 <= mutation <= 1:
        raise ParameterError("crossover and mutation are probabilities between 0 and 1")
    if evaluate_batch is None:
        if evaluate is None:
            raise ParameterError("genetic needs evaluate or evaluate_batch")
        evaluate_batch = lambda batch: [evaluate(params) for params in batch]  # noqa: E731
    started = time.perf_counter()
    rng = random.Random(seed)
    sizes = [len(space.values(name)) for name in space.names]
    total = space.size
    elite = max(0, min(elite, population - 1))
    cache: dict[tuple, dict] = {}
    order: list[tuple] = []
    budget = min(total, population * (generations + 1))
    stop = should_stop or (lambda: False)
    cancelled = False

    def fitness(individual: tuple) -> tuple:
        value = target_value(cache[individual], target)
        return (*_sort_key(value, maximise), space.grid_index(individual))

    def evaluate_missing(individuals: list[tuple]) -> bool:
        missing = list(dict.fromkeys(i for i in individuals if i not in cache))
        if not missing:
            return True
        results = evaluate_batch([space.params(i) for i in missing])
        complete = True
        for individual, stats in zip(missing, results):
            if stats is None:
                complete = False
                continue
            cache[individual] = stats
            order.append(individual)
        if progress is not None:
            progress(min(100.0, 100.0 * len(cache) / budget),
                     f"{len(cache)} settings evaluated")
        return complete

    def random_individual() -> tuple:
        return tuple(rng.randrange(size) for size in sizes)

    def select(pool: list[tuple]) -> tuple:
        return min(rng.sample(pool, min(tournament, len(pool))), key=fitness)

    def mutate(individual: tuple) -> tuple:
        genes = list(individual)
        for k, size in enumerate(sizes):
            if size > 1 and rng.random() < mutation:
                if rng.random() < 0.5:
                    genes[k] = min(size - 1, max(0, genes[k] + rng.choice((-1, 1))))
                else:
                    genes[k] = rng.randrange(size)
        return tuple(genes)

    if total <= population:
        current = list(itertools.product(*(range(size) for size in sizes)))
    else:
        seen: dict[tuple, None] = {}
        while len(seen) < population:
            seen.setdefault(random_individual())
        current = list(seen)
    cancelled = stop() or not evaluate_missing(current)
    for _ in range(generations):
        if cancelled or len(cache) >= total:
            break
        ranked = sorted(dict.fromkeys(current), key=fitness)
        following = ranked[:elite]
        while len(following) < population:
            mother, father = select(ranked), select(ranked)
            if rng.random() < crossover:
                child = tuple(m if rng.random() < 0.5 else f for m, f in zip(mother, father))
            else:
                child = mother
            child = mutate(child)
            for _ in range(10):     # prefer a setting not evaluated yet
                if child not in cache and child not in following:
                    break
                child = mutate(child) if rng.random() < 0.7 else random_individual()
            following.append(child)
        current = following
        cancelled = stop() or not evaluate_missing(current)
    evaluated = list(order)
    return _result(target, [space.params(i) for i in evaluated], [cache[i] for i in evaluated],
                   maximise, cancelled, time.perf_counter() - started, total,
                   order=[space.grid_index(i) for i in evaluated])


# ---------------------------------------------------------------------- the optimiser
class Optimizer:
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
                workers: int | None = None) -> _Session:
        """Workers holding `evaluate` and `data`, for several maps (a genetic search maps
        every generation on the same workers)."""
        if self.backend == "dask":
            return _DaskSession(evaluate, data, self.scheduler_address, self.client)
        return _LocalSession(evaluate, data, workers or self.workers, self.context)

    def run(self, evaluate: Evaluate, settings: list[dict], target: str, data: Any = None,
            maximise: bool = True, progress: Progress | None = None) -> OptimisationResult:
        """Evaluate every setting; rows sorted by the target (ties keep the given order)."""
        self._cancel.clear()
        started = time.perf_counter()
        if not settings:
            return OptimisationResult(target, [], maximise, False, 0.0, 0)
        chunk = self._chunk(len(settings))
        with self.session(evaluate, data, min(self.workers, -(-len(settings) // chunk))) \
                as session:
            stats = session.map(settings, chunk, progress, self._cancel)
        return _result(target, settings, stats, maximise, self._cancel.is_set(),
                       time.perf_counter() - started, len(settings))

    def grid(self, evaluate: Evaluate, space: ParameterSpace, target: str, data: Any = None,
             maximise: bool = True, progress: Progress | None = None) -> OptimisationResult:
        return self.run(evaluate, grid(space), target, data, maximise, progress)

    def genetic(self, evaluate: Evaluate, space: ParameterSpace, target: str,
                data: Any = None, population: int = 20, generations: int = 10,
                seed: int | None = None, maximise: bool = True,
                progress: Progress | None = None, **options: Any) -> OptimisationResult:
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


class _Session:
    def map(self, settings: list[dict], chunk: int, progress: Progress | None,
            cancel: threading.Event) -> list[dict | None]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _evaluate_chunk(evaluate: Evaluate, data: Any, chunk: list[tuple[int, dict]]
                    ) -> list[tuple[int, dict]]:
    out = []
    for index, params in chunk:
        try:
            stats = evaluate(dict(params), data)
            if not isinstance(stats, dict):
                raise TypeError(f"evaluate returned {type(stats).__name__}, not a dict")
        except Exception:
            stats = {"error": traceback.format_exc()}
        out.append((index, stats))
    return out


def _chunks(settings: list[dict], size: int) -> list[list[tuple[int, dict]]]:
    indexed = list(enumerate(settings))
    return [indexed[i:i + size] for i in range(0, len(indexed), size)]


def _report(progress: Progress | None, done: int, total: int) -> None:
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
        conn.send(_evaluate_chunk(evaluate, data, chunk))


@dataclass
class _Worker:
    process: Any
    conn: Any
    chunk: list | None = None


class _LocalSession(_Session):
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

    def map(self, settings: list[dict], chunk: int, progress: Progress | None,
            cancel: threading.Event) -> list[dict | None]:
        results: list[dict | None] = [None] * len(settings)
        todo = deque(_chunks(settings, chunk))
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
                        _report(progress, done, len(settings))
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
                    _report(progress, done, len(settings))
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
    return _evaluate_chunk(evaluate, data, chunk)


class _DaskSession(_Session):
    def __init__(self, evaluate: Evaluate, data: Any, address: str | None, client: Any) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise OptimisationError("the dask backend needs dask[distributed] installed "
                                    "(pip install 'trading-terminal[cluster]')") from exc
        self._own = client is None
        self.client = client or Client(address, set_as_default=False, timeout="10s")
        self._shared = self.client.scatter([(evaluate, data)], broadcast=True, hash=False)[0]

    def map(self, settings: list[dict], chunk: int, progress: Progress | None,
            cancel: threading.Event) -> list[dict | None]:
        results: list[dict | None] = [None] * len(settings)
        chunks = _chunks(settings, chunk)
        futures = self.client.map(_dask_chunk, [self._shared] * len(chunks), chunks,
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
                    for index, _ in chunks[position[future.key]]:
                        results[index] = {"error": _future_error(future)}
                        done += 1
            _report(progress, done, len(settings))
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


# ---------------------------------------------------------------------- backtests
class SharedBars:
    """The bars of an optimisation, read once from the store and shared by every worker:
    the history for the backtest period and the strategy's warm-up (served to `load_bar`
    from the same list). Lookups are prepared lazily in each process."""

    def __init__(self, bars: list) -> None:
        self.bars = bars
        self._times: list[datetime] | None = None
        self._history: dict = {}

    def __getstate__(self) -> dict:
        return {"bars": self.bars}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["bars"])

    def __len__(self) -> int:
        return len(self.bars)

    @property
    def times(self) -> list[datetime]:
        if self._times is None:
            self._times = [bar.datetime for bar in self.bars]
        return self._times

    def between(self, start: datetime, end: datetime) -> list:
        """The bars in [start, end] (naive bounds taken in the bars' zone)."""
        times = self.times
        if not times:
            return []
        zone = times[0].tzinfo
        start, end = (t.replace(tzinfo=zone) if t.tzinfo is None and zone else t
                      for t in (start, end))
        return self.bars[bisect_left(times, start):bisect_right(times, end)]

    def history(self, settings: Any) -> list:
        """The bars vn.py's load_data would give for `settings` (engine.select_history)."""
        key = (settings.start, settings.end, str(settings.interval))
        if key not in self._history:
            self._history[key] = select_history(self.bars, settings)
        return self._history[key]

    def load_bars(self, symbol, exchange, interval, start: datetime, end: datetime) -> list:
        """A `bar_loader` for engine.run: the strategy's warm-up, from memory."""
        return self.between(start, end)


def load_shared_bars(store: Any, settings: Any, warmup_days: int = 30) -> SharedBars:
    """One read of the store covering the backtest period and `warmup_days` before it (for
    strategies whose on_init calls load_bar(days))."""
    symbol, exchange = settings.vt_symbol.rsplit(".", 1)
    start, end = history_range(settings)
    return SharedBars(store.load_bars(symbol, Exchange(exchange), Interval(settings.interval),
                                      start - timedelta(days=warmup_days), end))


class BacktestEvaluator:
    """evaluate(params, bars) for the optimiser: vn.py's BacktestingEngine (through
    `terminal.backtest.engine.run`, quiet) on the shared bars, returning its statistics as
    plain Python numbers. A strategy that raised makes the evaluation raise, so its row is an
    error rather than the statistics of a truncated run.

    `strategy` is a CtaTemplate subclass, or a picklable function returning one (for the dask
    backend and plugins: functools.partial(load_class, source_path, class_name)).
    `fixed` parameters are given to every run, under the optimised ones.
    """

    def __init__(self, strategy: type | Callable[[], type], settings: Any,
                 fixed: dict | None = None) -> None:
        self.strategy = strategy
        self.settings = settings
        self.fixed = dict(fixed or {})
        self._class: type | None = strategy if isinstance(strategy, type) else None

    def __getstate__(self) -> dict:
        return {"strategy": self.strategy, "settings": self.settings, "fixed": self.fixed}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["strategy"], state["settings"], state["fixed"])

    @property
    def strategy_class(self) -> type:
        if self._class is None:
            self._class = self.strategy()
        return self._class

    def __call__(self, params: dict, data: Any) -> dict:
        shared = data if isinstance(data, SharedBars) else _shared_bars(data)
        outcome = run(self.strategy_class, shared.history(self.settings), self.settings,
                      {**self.fixed, **params}, bar_loader=shared.load_bars)
        failure = next((m for m in outcome.engine.messages
                        if m.startswith("Traceback (most recent call last)")), None)
        if failure is not None:
            raise BacktestFailed(f"the strategy raised during the backtest:\n{failure}")
        return plain_statistics(outcome.statistics)


class BacktestFailed(RuntimeError):
    pass


_WRAPPED: dict[int, tuple[Any, SharedBars]] = {}


def _shared_bars(bars: list) -> SharedBars:
    """A list of bars wrapped once per process (the wrapper's lookups are then reused)."""
    held = _WRAPPED.get(id(bars))
    if held is None or held[0] is not bars:
        _WRAPPED.clear()
        held = _WRAPPED[id(bars)] = (bars, SharedBars(bars))
    return held[1]


def plain_statistics(stats: dict) -> dict:
    return {key: value.item() if isinstance(value, np.generic) else value
            for key, value in stats.items()}
