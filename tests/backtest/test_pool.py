"""Backtest worker processes: jobs run in parallel up to the limit, report progress, can be
cancelled (the worker and anything it started are gone), fail with their traceback or on a
time limit, and hand back their results."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from datetime import datetime

import numpy as np
import pandas as pd
import psutil
import pytest

from terminal.backtest import pool_worker
from terminal.backtest.pool import (
    CANCELLED, DONE, FAILED, QUEUED, RUNNING, BacktestPool, JobCancelled, JobFailed)
from tests.helpers.processes import dead, no_children_left


def sleeper(report, seconds: float, tag: str = "") -> tuple:
    started = time.time()
    report(0, f"{tag} started")
    time.sleep(seconds)
    report(100, f"{tag} finished")
    return started, time.time(), os.getpid()


def counter(report, steps: int) -> int:
    for step in range(steps + 1):
        report(100 * step / steps, f"step {step} of {steps}")
        time.sleep(0.01)
    return steps


def parent_of_sleeper(report) -> None:
    child = subprocess.Popen(["sleep", "60"])
    report(10, str(child.pid))
    time.sleep(60)


def boom(report, message: str) -> None:
    report(50, "about to fail")
    raise ValueError(message)


def gone(pid: int) -> bool:
    """No process with this pid, not even a zombie."""
    try:
        psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    return False


@pytest.fixture
def pool():
    workers = BacktestPool(max_workers=2)
    yield workers
    workers.close()
    assert no_children_left()


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_jobs_run_in_parallel_up_to_the_limit(pool):
    handles = [pool.submit(sleeper, (0.6, f"job {n}")) for n in range(4)]
    wait_for(lambda: sum(h.state == RUNNING for h in handles) == 2)
    assert [h.state for h in handles].count(QUEUED) == 2
    spans = [h.result(timeout=10)[:2] for h in handles]
    assert all(h.state == DONE for h in handles)
    moments = sorted({t for span in spans for t in span})
    most = max(sum(start <= t < end for start, end in spans) for t in moments)
    assert most == 2                      # two at once, never three
    assert len({h.pid for h in handles}) == 4           # one process per job
    assert all(pid != os.getpid() for pid in (h.pid for h in handles))


def test_limit_can_be_raised_while_running(pool):
    handles = [pool.submit(sleeper, (0.5,)) for _ in range(3)]
    wait_for(lambda: sum(h.state == RUNNING for h in handles) == 2)
    pool.max_workers = 3
    wait_for(lambda: all(h.state in (RUNNING, DONE) for h in handles))
    for handle in handles:
        handle.result(timeout=5)


def test_progress_arrives_through_the_callback_and_the_handle(pool):
    heard, threads = [], set()

    def on_progress(handle, percent, text):
        heard.append((percent, text))
        threads.add(threading.current_thread().name)

    finished = threading.Event()
    handle = pool.submit(counter, (20,), on_progress=on_progress,
                         on_finished=lambda h: finished.set())
    assert handle.result(timeout=10) == 20
    assert finished.wait(5)
    percents = [p for p, _ in heard]
    assert percents == sorted(percents) and len(percents) >= 2
    assert heard[-1] == (100.0, "step 20 of 20")      # the last report is never dropped
    assert handle.progress.percent == 100 and handle.progress.text == "step 20 of 20"
    assert threads == {"backtest-pool"}            # the collector thread, not the worker


def test_reports_are_throttled_but_a_big_step_is_sent_at_once(monkeypatch):
    """A run shorter than the interval must still show its stages, not jump 0 -> 100."""
    sent, clock = [], [1000.0]
    monkeypatch.setattr(pool_worker.time, "monotonic", lambda: clock[0])
    report = pool_worker.Reporter(type("Conn", (), {"send": staticmethod(sent.append)})())
    report(0, "start")                 # the first one goes at once
    report(2, "reading")               # same instant, small step: held back
    report(9.9, "still reading")
    report(10, "loaded")               # a step of 10 points: sent although no time passed
    report(15, "replaying")
    assert [p for _, p, _ in sent] == [0.0, 10.0]
    clock[0] += 2 * pool_worker.REPORT_INTERVAL
    report(16, "replaying on")         # the interval passed: sent
    report(17, "more")
    report.flush()                     # the last report before the result is never dropped
    assert [(p, t) for _, p, t in sent][2:] == [(16.0, "replaying on"), (17.0, "more")]


def test_cancel_terminates_the_worker_and_what_it_started(pool):
    handle = pool.submit(parent_of_sleeper)
    wait_for(lambda: handle.progress.text.isdigit())
    worker, grandchild = handle.pid, int(handle.progress.text)
    assert psutil.pid_exists(grandchild)
    started = time.monotonic()
    handle.cancel()
    assert time.monotonic() - started < 0.1          # returns at once (GUI thread)
    assert handle.wait(5)
    assert handle.state == CANCELLED
    assert gone(worker)                   # killed and reaped
    wait_for(lambda: dead(grandchild), 2)     # killed with the worker's process group
    with pytest.raises(JobCancelled):
        handle.result()


def test_cancelling_a_queued_job_never_starts_it():
    with BacktestPool(max_workers=1) as pool:
        first = pool.submit(sleeper, (0.3,))
        second = pool.submit(sleeper, (0.3,))
        second.cancel()
        assert second.state == CANCELLED and second.pid is None
        first.result(timeout=5)
        time.sleep(0.1)
        assert second.pid is None


def test_time_limit_fails_the_job_and_ends_the_worker():
    with BacktestPool(max_workers=2, time_limit=0.5) as pool:
        slow = pool.submit(sleeper, (30,))
        quick = pool.submit(sleeper, (0.1,))
        unlimited = pool.submit(sleeper, (0.8,), time_limit=None)
        assert slow.wait(5)
        assert slow.state == FAILED
        assert slow.error == "time limit of 0.5 s exceeded"
        assert slow.status_text == "failed: time limit of 0.5 s exceeded"
        assert 0.5 <= slow.elapsed < 3
        assert gone(slow.pid)
        with pytest.raises(JobFailed, match=r"time limit of 0\.5 s exceeded"):
            slow.result()
        quick.result(timeout=5)
        unlimited.result(timeout=5)


def test_a_raising_job_fails_with_its_traceback(pool):
    handle = pool.submit(boom, kwargs={"message": "bad parameter"})
    assert handle.wait(5)
    assert handle.state == FAILED
    assert "Traceback (most recent call last)" in handle.error
    assert 'in boom' in handle.error and "ValueError: bad parameter" in handle.error
    assert handle.status_text == "failed: ValueError: bad parameter"
    assert handle.progress.percent == 50
    with pytest.raises(JobFailed, match="ValueError: bad parameter"):
        handle.result()


def test_a_worker_that_dies_fails_the_job(pool):
    handle = pool.submit(lambda report: os._exit(3))
    assert handle.wait(5)
    assert handle.state == FAILED
    assert handle.error == "worker exited with code 3 before it returned a result"
    assert handle.exit_code == 3


def test_results_round_trip(pool):
    frame = pd.DataFrame({"balance": [1.0, 2.5]}, index=["a", "b"])
    captured = {"array": np.arange(5), "frame": frame, "when": datetime(2024, 1, 2, 9, 30)}

    def job(report, extra):                  # a closure: fine with fork
        return {**captured, "extra": extra, "pid": os.getpid()}

    result = pool.submit(job, ("x",)).result(timeout=5)
    assert np.array_equal(result["array"], np.arange(5))
    pd.testing.assert_frame_equal(result["frame"], frame)
    assert result["when"] == datetime(2024, 1, 2, 9, 30) and result["extra"] == "x"
    assert result["pid"] != os.getpid()
    big = pool.submit(lambda report: np.ones(2_000_000)).result(timeout=10)   # > a pipe's buffer
    assert big.shape == (2_000_000,) and big.sum() == 2_000_000


def test_an_unpicklable_result_fails_with_a_reason(pool):
    handle = pool.submit(lambda report: threading.Lock())
    assert handle.wait(5)
    assert handle.state == FAILED and "could not be sent back" in handle.error


def doubler(report) -> int:
    count = 0
    while (value := report.receive()) is not None:
        report.send(value * 2)
        count += 1
    return count


def test_a_job_with_an_inbox_talks_with_the_parent_while_it_runs(pool):
    """What the optimiser's workers do: settings in through the inbox, statistics out as
    messages, many of them in one job."""
    heard = queue.SimpleQueue()
    handle = pool.submit(doubler, inbox=True, on_message=lambda h, m: heard.put((h, m)))
    for value in (1, 2, 3):
        handle.send(value)
    assert [heard.get(timeout=5) for _ in range(3)] == [(handle, 2), (handle, 4), (handle, 6)]
    handle.send(None)
    assert handle.result(timeout=5) == 3
    with pytest.raises(RuntimeError, match="no inbox"):
        handle.send(4)
    without = pool.submit(lambda report: report.receive())
    assert without.wait(5) and without.state == FAILED
    assert "submitted without an inbox" in without.error


def process_group(report) -> int:
    return os.getpgid(0)


def test_workers_lead_their_own_group_unless_told_to_stay_in_ours():
    with BacktestPool(max_workers=1) as pool:
        handle = pool.submit(process_group)
        assert handle.result(timeout=5) == handle.pid
    with BacktestPool(max_workers=1, own_groups=False) as pool:
        assert pool.submit(process_group).result(timeout=5) == os.getpgid(0)
    assert no_children_left()


def echo(report, value: int) -> int:
    report(50, "half way")
    return value * 2


def test_module_function_jobs_run_under_spawn():
    """(module, function, kwargs) pickles, so it also runs where fork is not used."""
    with BacktestPool(max_workers=1, context="spawn") as pool:
        handle = pool.submit((__name__, "echo", {"value": 7}))
        assert handle.result(timeout=60) == 14
        assert handle.name == f"{__name__}.echo"


def test_close_cancels_and_reaps_everything():
    pool = BacktestPool(max_workers=2)
    handles = [pool.submit(sleeper, (30,)) for _ in range(3)]
    wait_for(lambda: sum(h.state == RUNNING for h in handles) == 2)
    pool.close()
    assert [h.state for h in handles] == [CANCELLED] * 3
    assert no_children_left()
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(sleeper, (0,))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="max_workers"):
        BacktestPool(max_workers=0)
    with BacktestPool() as pool:
        with pytest.raises(TypeError, match="module, function, kwargs"):
            pool.submit(("math", "sqrt"))
        with pytest.raises(TypeError, match="callable"):
            pool.submit(42)
        with pytest.raises(ValueError, match="time_limit"):
            pool.submit(sleeper, (0,), time_limit=0)


# ---------------------------------------------------------------------- hostile strategies
@pytest.mark.parametrize("file_name", ["exits.py", "loops.py", "sleeps.py", "crashes.py"])
@pytest.mark.parametrize("job", ["run_backtest", "optimise"])
def test_a_strategy_that_exits_or_hangs_at_import_fails_its_run_with_the_reason(
        pool, tmp_path, file_name, job):
    """The workbench's jobs import the strategy in the worker; a file that ends or hangs the
    process importing it fails that run with a named reason, and the pool goes on."""
    import functools
    from datetime import datetime

    from terminal.backtest import pool_jobs
    from terminal.backtest.engine import BacktestSettings
    from terminal.plugins.loader import load_class
    from tests.helpers.plugin_files import HOSTILE, LIMIT, write_hostile

    folder = tmp_path / "plugins"
    write_hostile(folder)
    name = file_name.removesuffix(".py").capitalize() + "Strategy"
    settings = BacktestSettings("rb2405.SHFE", datetime(2024, 1, 2), datetime(2024, 1, 5))
    kwargs = {"market_root": str(tmp_path / "market"), "settings": settings,
              "strategy": functools.partial(load_class, str(folder / file_name), name, LIMIT)}
    if job == "optimise":
        kwargs.update(space={"fast": [1, 2]}, target="sharpe_ratio")
    else:
        kwargs.update(params={})
    handle = pool.submit(getattr(pool_jobs, job), kwargs=kwargs, time_limit=600)
    assert handle.wait(120)
    assert handle.state == FAILED
    reason = HOSTILE[file_name][1]
    assert handle.status_text == \
        f"failed: terminal.plugins.loader.PluginError: {folder / file_name}: {reason}"
    after = pool.submit(sleeper, kwargs={"seconds": 0})        # the pool carries on
    assert after.wait(60) and after.state == DONE


def test_a_job_leaves_what_the_caller_froze_frozen():
    """The GUI freezes its start-up objects once (core.interpreter.tune_for_gui); starting a
    backtest must not unfreeze them, or every full collection walks them again."""
    import gc

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        for freeze_on_fork in (False, True):
            with BacktestPool(max_workers=1, context="fork",
                              freeze_on_fork=freeze_on_fork) as pool:
                assert pool.submit(counter, (2,)).result(timeout=60) == 2
            assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
