"""The soak's hypervisor-steal figures (benchmarks/hoststeal.py): the steal given to the wake
whose window it fell in, and the lag p99 of the wakes with none."""

import sys

import pytest

from tests.helpers import PROJECT

sys.path.insert(0, str(PROJECT / "benchmarks"))

from hoststeal import StealTaggedLag, steal_figures


class FakeSteal:
    def __init__(self, start=5.0):
        self.total = start

    def __call__(self):
        return self.total


def test_each_wake_gets_the_steal_of_its_own_window():
    clock = FakeSteal()
    monitor = StealTaggedLag(read=clock)
    lags_and_steal = [(0.001, 0.0), (0.020, 0.03), (0.002, 0.0), (0.018, 0.0), (0.001, 0.01)]
    for moment, (lag, stolen) in enumerate(lags_and_steal, start=1):
        clock.total += stolen
        monitor.record(lag, now=float(moment))
    assert [round(s, 6) for _, _, s in monitor.tagged] == [0.0, 0.03, 0.0, 0.0, 0.01]
    assert monitor.recent(now=5.0) == [lag for lag, _ in lags_and_steal]
    assert [lag for lag, _ in monitor.recent_tagged(1.5, now=5.0)] == [0.018, 0.001]


def test_figures_leave_out_the_wakes_the_host_took_time_from():
    # 200 wakes over 4 s on 2 CPUs: three late ones, two of them with steal.
    tagged = [(0.001, 0.0)] * 197 + [(0.025, 0.02), (0.030, 0.01), (0.017, 0.0)]
    figures = steal_figures(tagged, span=4.0, cpus=2)
    assert figures["steal_pct"] == pytest.approx(0.03 / 8 * 100, abs=0.01)
    assert figures["unstolen_samples"] == 198
    assert figures["lag_p99_unstolen_ms"] == pytest.approx(1.0)   # 2 of 198 over: p99 is 1 ms
    tagged[-2] = (0.030, 0.0)                                      # now 2 unstolen late wakes
    assert steal_figures(tagged, span=4.0, cpus=2)["lag_p99_unstolen_ms"] == pytest.approx(17.0)


def test_no_proc_stat_gives_no_figures_rather_than_zero_steal():
    monitor = StealTaggedLag(read=lambda: None)
    monitor.record(0.02, now=1.0)
    assert monitor.tagged[-1][2] is None
    figures = steal_figures(monitor.recent_tagged(10, now=1.0), span=10)
    assert figures == {"steal_pct": None, "lag_p99_unstolen_ms": None, "unstolen_samples": None}


def test_the_soak_verdict_counts_the_intervals_the_host_left_alone():
    import argparse

    import soak

    def row(t, p99, steal):
        return {"t": t, "rss_mb": 300.0, "engine_ticks_s": 5000.0, "gui_ticks_s": 5000.0,
                "lag_p50_ms": 1.0, "lag_p99_ms": p99, "lag_max_ms": p99 + 5,
                "steal_pct": steal, "lag_p99_unstolen_ms": min(p99, 12.0),
                "cpu": 0.6, "gui_cpu": 0.25}

    rows = [row(10, 12.0, 0.2), row(20, 30.0, 8.0), row(30, 15.9, 0.9), row(40, 17.0, 1.0),
            row(50, 14.0, None)]
    rows[-1]["lag_p99_unstolen_ms"] = None                 # no /proc/stat for that row
    figures = soak.summary(rows, argparse.Namespace(interval=10.0, rate=5000.0))
    assert (figures["quiet_intervals"], figures["quiet_intervals_over"]) == (2, 0)
    assert figures["quiet_p99_worst"] == 15.9           # 1% itself is not quiet
    assert figures["lag_intervals_over"] == 2 and figures["unstolen_intervals"] == 4
