"""The one percentile definition (terminal.core.looplag.percentile): nearest rank, the
smallest value that at least q% of the values are at or under. The Health dock's lag p99 and
every benchmark's figures come from it."""

import pytest

from terminal.core.looplag import percentile


def test_nearest_rank_known_answers():
    hundred = list(range(1, 101))                    # 1..100: the qth percentile is q
    assert [percentile(hundred, q) for q in (1, 50, 99, 100)] == [1, 50, 99, 100]
    assert percentile(hundred, 99.5) == 100          # ceil(99.5) = 100th value
    assert percentile(hundred, 0) == 1               # q = 0: the least value
    ten = [15, 20, 35, 40, 50, 0, 5, 10, 25, 30]     # order does not matter
    assert percentile(ten, 50) == 20                 # ceil(5) = 5th: 20, not 22.5 (no mean)
    assert percentile(ten, 30) == 10                 # ceil(3) = 3rd
    assert percentile(ten, 31) == 15                 # ceil(3.1) = 4th
    assert percentile(ten, 90) == 40 and percentile(ten, 91) == 50


def test_a_percentile_is_always_one_of_the_values():
    lags = [0.001] * 98 + [0.020, 0.150]             # 2 late wakes of 100
    assert percentile(lags, 98) == 0.001
    assert percentile(lags, 99) == 0.020             # not 0.150 (the max), nor a blend
    assert percentile([7.0], 1) == 7.0 and percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("q", [0, 50, 99])
def test_no_values_give_none(q):
    assert percentile([], q) is None
