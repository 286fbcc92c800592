"""Overfitting odds: PSR and DSR against the papers' formulas worked by hand here, CSCV's
PBO on a case small enough to rank by hand, on pure noise and on a planted edge."""

from __future__ import annotations

import math
from itertools import combinations
from statistics import NormalDist

import numpy as np
import pytest

from terminal.backtest import overfitting
from terminal.backtest.overfitting import (
    daily_sharpe,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    optimisation_odds,
    probability_of_overfitting,
    verdict,
)

PHI = NormalDist().cdf
PHI_INV = NormalDist().inv_cdf
GAMMA = 0.5772156649015329       # Euler-Mascheroni

# Five daily returns, mean 0.01; centred: +0.02, -0.02, +0.01, -0.03, +0.02.
RETURNS = [0.03, -0.01, 0.02, -0.02, 0.03]
# Sum of squares 4+4+1+9+4 = 22e-4: m2 = 4.4e-4, sample variance 22e-4 / 4 = 5.5e-4.
SR = 0.01 / math.sqrt(5.5e-4)                     # 0.42640...
# Cubes 8-8+1-27+8 = -18e-6: m3 = -3.6e-6.
SKEW = -3.6e-6 / 4.4e-4 ** 1.5                    # -0.39005...
# Fourth powers 16+16+1+81+16 = 130e-8: m4 = 26e-8.
KURT = 26e-8 / 4.4e-4 ** 2                        # 1.34297... (not excess)


def psr_by_hand(sr_star: float) -> float:
    """The paper's PSR for RETURNS, T = 5."""
    return PHI((SR - sr_star) * math.sqrt(5 - 1)
               / math.sqrt(1 - SKEW * SR + (KURT - 1) / 4 * SR ** 2))


def sr0_by_hand(n: int, variance: float) -> float:
    return math.sqrt(variance) * ((1 - GAMMA) * PHI_INV(1 - 1 / n)
                                  + GAMMA * PHI_INV(1 - 1 / (n * math.e)))


def test_the_moments_and_psr_follow_the_paper():
    result = deflated_sharpe_ratio(RETURNS, 1, sharpe_variance=0.0)
    assert result.sharpe == pytest.approx(SR, rel=1e-12)
    assert result.skewness == pytest.approx(SKEW, rel=1e-12)
    assert result.kurtosis == pytest.approx(KURT, rel=1e-12)
    assert result.days == 5
    # one setting: nothing selected, SR0 = 0 and the DSR is the PSR against 0
    assert result.expected_max_sharpe == 0.0
    assert result.psr == pytest.approx(psr_by_hand(0.0), rel=1e-12)
    assert result.dsr == result.psr
    # 1 + 0.39005 * 0.42640 + 0.34298 / 4 * 0.42640**2 = 1.18191; z = 0.85280 / 1.08715
    assert result.psr == pytest.approx(0.7836, abs=1e-4)   # Phi(0.78443)


def test_dsr_is_the_psr_against_the_expected_best_of_n():
    # Ten settings tried, their daily Sharpe ratios with variance 0.04:
    # SR0 = 0.2 * (0.42278 * Phi^-1(0.9) + 0.57722 * Phi^-1(1 - 1/(10e))) = 0.3149...
    sr0 = sr0_by_hand(10, 0.04)
    assert sr0 == pytest.approx(0.2 * (0.4227843 * 1.2815516 + 0.5772157 * 1.7894), abs=2e-4)
    result = deflated_sharpe_ratio(RETURNS, 10, sharpe_variance=0.04)
    assert result.expected_max_sharpe == pytest.approx(sr0, rel=1e-12)
    assert result.dsr == pytest.approx(psr_by_hand(sr0), rel=1e-12)
    assert result.dsr < result.psr
    assert result.trials == 10


def test_dsr_from_the_settings_sharpe_ratios_uses_their_sample_variance():
    # [0.1, 0.3, 0.2]: mean 0.2, squared deviations 0.01 + 0.01 + 0 over N - 1 = 2: 0.01
    result = deflated_sharpe_ratio(RETURNS, trial_sharpes=[0.1, 0.3, 0.2])
    assert result.sharpe_variance == pytest.approx(0.01, rel=1e-12)
    assert result.trials == 3
    assert result.dsr == pytest.approx(psr_by_hand(sr0_by_hand(3, 0.01)), rel=1e-12)
    # more settings tried than Sharpe ratios kept: N is the count tried
    more = deflated_sharpe_ratio(RETURNS, 50, trial_sharpes=[0.1, 0.3, 0.2])
    assert more.dsr == pytest.approx(psr_by_hand(sr0_by_hand(50, 0.01)), rel=1e-12)


def test_the_expected_maximum_grows_with_the_settings_tried():
    values = [expected_max_sharpe(n, 1.0) for n in (2, 10, 100, 1000)]
    assert values == sorted(values)
    assert expected_max_sharpe(1000, 1.0) == pytest.approx(sr0_by_hand(1000, 1.0), rel=1e-12)
    assert daily_sharpe(RETURNS) == pytest.approx(SR, rel=1e-12)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: deflated_sharpe_ratio([0.01, 0.02], 3, sharpe_variance=0.1),
     "2 daily returns; at least 3"),
    (lambda: deflated_sharpe_ratio([0.01, float("nan"), 0.02], 3, sharpe_variance=0.1),
     "day 1 is nan"),
    (lambda: deflated_sharpe_ratio([0.01] * 5, 3, sharpe_variance=0.1),
     "every daily return is 0.01"),
    (lambda: deflated_sharpe_ratio(RETURNS, 0, sharpe_variance=0.1), "settings tried: 0"),
    (lambda: deflated_sharpe_ratio(RETURNS, 2.5, sharpe_variance=0.1), "settings tried: 2.5"),
    (lambda: deflated_sharpe_ratio(RETURNS, 3, sharpe_variance=-0.1), "Sharpe ratios: -0.1"),
    (lambda: deflated_sharpe_ratio(RETURNS, 3), "either the variance"),
    (lambda: deflated_sharpe_ratio(RETURNS, 3, sharpe_variance=0.1, trial_sharpes=[1, 2]),
     "not both"),
    (lambda: deflated_sharpe_ratio(RETURNS, "9", trial_sharpes=[0.1, 0.2]),
     "settings tried: '9'"),
    (lambda: deflated_sharpe_ratio(RETURNS, trial_sharpes=None, sharpe_variance=0.1),
     "settings tried: not given"),
    (lambda: deflated_sharpe_ratio(RETURNS, 2, trial_sharpes=[0.1, 0.2, 0.3]),
     "settings tried: 2, fewer than the 3"),
    (lambda: deflated_sharpe_ratio(RETURNS, trial_sharpes=[0.1, float("inf")]),
     "number 1 is inf"),
    (lambda: deflated_sharpe_ratio(RETURNS, trial_sharpes=[0.1]), "1 given"),
])
def test_bad_input_to_the_dsr_is_named(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call()


# Two blocks (A = days 0-1, B = days 2-3), three settings; daily Sharpe = mean / sample std:
#   setting 0: A [.01 .03] -> .02/.01414 = 1.414   B [-.01 .01] -> 0
#   setting 1: A [0 .02]   -> .01/.01414 = 0.707   B [.02 .04]  -> .03/.01414 = 2.121
#   setting 2: A [-.02 0]  -> -0.707               B [.01 .03]  -> 1.414
# Split {A}: best in-sample setting 0, out-of-sample it ranks 1 of 3: w = 1/4, logit ln(1/3).
# Split {B}: best in-sample setting 1, out-of-sample (A) it ranks 2 of 3: w = 2/4, logit 0.
SMALL = np.array([[0.01, 0.00, -0.02],
                  [0.03, 0.02, 0.00],
                  [-0.01, 0.02, 0.01],
                  [0.01, 0.04, 0.03]])


def test_cscv_ranks_the_in_sample_best_out_of_sample():
    result = probability_of_overfitting(SMALL, blocks=2)
    assert result.logits == pytest.approx([math.log(1 / 3), 0.0], abs=1e-9)
    assert list(result.best_in_sample) == [0, 1]
    assert result.out_of_sample_sharpe == pytest.approx([0.0, 0.01 / math.sqrt(2e-4)],
                                                        abs=1e-9)
    assert result.pbo == 1.0          # a logit of exactly 0 (the median) counts as overfit
    # an older fifth day is left out so the two blocks stay equal
    older = probability_of_overfitting(np.vstack([[9.0, -9.0, 5.0], SMALL]), blocks=2)
    assert older.dropped_days == 1 and older.block_days == 2
    assert older.logits == pytest.approx(result.logits, abs=1e-9)


def test_tied_settings_share_their_rank_and_the_first_is_taken_in_sample():
    # settings 0 and 1 the same (a parameter that changes nothing), setting 2 = SMALL's 1:
    # split {A}: in-sample 1.414, 1.414, 0.707 -> setting 0; out of sample 0, 0, 2.121:
    #   ranks 1 and 2 shared, 1.5: w = 1.5/4, logit ln(0.6)
    # split {B}: in-sample 0, 0, 2.121 -> setting 2; out of sample 1.414, 1.414, 0.707:
    #   rank 1, w = 1/4, logit ln(1/3)
    tied = SMALL[:, [0, 0, 1]]
    result = probability_of_overfitting(tied, blocks=2)
    assert list(result.best_in_sample) == [0, 2]
    assert result.logits == pytest.approx([math.log(0.6), math.log(1 / 3)], abs=1e-9)


def plain_cscv_logits(matrix: np.ndarray, blocks: int) -> list[float]:
    """CSCV the slow, obvious way: cut, join, Sharpe per column, rank."""
    days = len(matrix) // blocks * blocks
    parts = np.split(matrix[len(matrix) - days:], blocks)
    logits = []
    for chosen in combinations(range(blocks), blocks // 2):
        inside = np.vstack([parts[b] for b in chosen])
        outside = np.vstack([parts[b] for b in range(blocks) if b not in chosen])
        in_sharpe = inside.mean(axis=0) / inside.std(axis=0, ddof=1)
        out_sharpe = outside.mean(axis=0) / outside.std(axis=0, ddof=1)
        best = int(np.argmax(in_sharpe))
        rank = 1 + int(np.sum(out_sharpe < out_sharpe[best]))
        w = rank / (matrix.shape[1] + 1)
        logits.append(math.log(w / (1 - w)))
    return logits


def test_all_12870_splits_of_16_blocks_match_the_plain_computation():
    matrix = np.random.default_rng(7).normal(0.0003, 0.01, size=(70, 6))
    result = probability_of_overfitting(matrix, chunk=1000)    # chunks do not divide 12870
    assert len(result.logits) == math.comb(16, 8) == 12870
    assert result.blocks == 16 and result.block_days == 4 and result.dropped_days == 6
    assert result.logits == pytest.approx(plain_cscv_logits(matrix, 16), abs=1e-9)


def test_pbo_is_about_half_on_pure_noise():
    # With no edge the in-sample best is a random draw out of sample: P(logit <= 0) = 1/2
    # for 20 settings. One table's PBO swings widely (its 12,870 splits share 16 blocks):
    # over 200 other seeds its mean was 0.49 and its standard deviation 0.19, so the mean of
    # 40 tables has a standard error of about 0.03 and 0.1 is over three of them.
    pbos = [probability_of_overfitting(
        np.random.default_rng(seed).normal(0.0, 0.01, size=(320, 20))).pbo
        for seed in range(40)]
    assert np.mean(pbos) == pytest.approx(0.5, abs=0.1)


def test_pbo_is_low_with_a_planted_edge():
    matrix = np.random.default_rng(3).normal(0.0, 0.01, size=(1600, 20))
    # daily Sharpe 0.15 (2.3 a year over 240 days) against the others' 0; over seeds 0-9
    # the PBO was 0 to 0.05
    matrix[:, 7] += 0.0015
    result = probability_of_overfitting(matrix)
    assert result.pbo < 0.1
    assert np.mean(result.best_in_sample == 7) > 0.8


def test_a_setting_that_never_trades_has_sharpe_zero_and_a_steady_gain_infinity():
    # SMALL plus setting 3, all days 0 (never traded):
    # split {A}: in-sample 1.414, 0.707, -0.707, 0 -> setting 0; out of sample 0, 2.121,
    #   1.414, 0: ranks 1 and 2 shared with setting 3, 1.5: w = 1.5/5, logit ln(3/7)
    # split {B}: in-sample 0, 2.121, 1.414, 0 -> setting 1; out of sample 1.414, 0.707,
    #   -0.707, 0: rank 3, w = 3/5, logit ln(3/2)
    idle = np.column_stack([SMALL, np.zeros(4)])
    result = probability_of_overfitting(idle, blocks=2)
    assert list(result.best_in_sample) == [0, 1]
    assert result.logits == pytest.approx([math.log(3 / 7), math.log(3 / 2)], abs=1e-9)
    # setting 4 gains 0.001 every day: an infinite Sharpe, best in and out of sample,
    # rank 5 of 5: w = 5/6, logit ln(5)
    steady = probability_of_overfitting(np.column_stack([idle, np.full(4, 0.001)]), blocks=2)
    assert list(steady.best_in_sample) == [4, 4]
    assert steady.logits == pytest.approx([math.log(5)] * 2, abs=1e-9)


@pytest.mark.parametrize(("matrix", "kwargs", "message"), [
    (np.zeros(40), {}, "days x settings table"),
    (np.zeros((40, 1)), {}, "1 setting"),
    (np.zeros((31, 3)), {}, "31 days; 16 blocks need at least 32"),
    (np.zeros((40, 3)), {"blocks": 5}, "blocks: 5"),
    (np.zeros((40, 3)), {"blocks": 0}, "blocks: 0"),
    (np.where(np.arange(120).reshape(40, 3) == 37, np.nan, 0.0), {}, "day 12 of setting 1"),
])
def test_bad_input_to_the_pbo_is_named(matrix, kwargs, message):
    with pytest.raises(ValueError, match=message):
        probability_of_overfitting(matrix, **kwargs)


@pytest.mark.parametrize(("dsr", "pbo", "headline"), [
    (0.96, None, "Likely real"),
    (0.95, 0.10, "Likely real"),
    (0.94, None, "Could be luck"),
    (0.50, None, "Could be luck"),
    (0.49, None, "Likely luck"),
    (None, 0.11, "Could be luck"),
    (None, 0.50, "Likely luck"),
    (0.99, 0.60, "Likely luck"),     # the worse measure decides
    (0.99, 0.30, "Could be luck"),
    (float("nan"), 0.05, "Cannot tell"),
])
def test_the_verdict_takes_the_worse_measure(dsr, pbo, headline):
    result = verdict(dsr, pbo)
    assert result.headline.startswith(headline)
    assert len(result.lines) == (dsr is not None) + (pbo is not None)


def test_the_verdict_needs_a_measure():
    with pytest.raises(ValueError, match="give a deflated Sharpe ratio, a PBO or both"):
        verdict()
    assert overfitting.DSR_REAL == 0.95 and overfitting.PBO_LOW == 0.10


def test_optimisation_odds_take_the_trials_sharpe_ratios_from_the_table():
    table = np.random.default_rng(11).normal(0.0, 0.01, size=(160, 8))
    table[:, 3] += 0.002
    table[:, 5] = 0.0                       # a setting that never traded: Sharpe 0
    sharpes = [0.0 if c == 5 else table[:, c].mean() / table[:, c].std(ddof=1)
               for c in range(8)]
    odds = optimisation_odds(table, 3)
    assert odds.deflated.sharpe_variance == pytest.approx(np.var(sharpes, ddof=1), rel=1e-12)
    assert odds.deflated.trials == 8
    assert odds.deflated.dsr == pytest.approx(deflated_sharpe_ratio(
        table[:, 3], 8, sharpe_variance=float(np.var(sharpes, ddof=1))).dsr, rel=1e-12)
    assert odds.overfitting.pbo == probability_of_overfitting(table).pbo
    assert odds.verdict == verdict(odds.deflated.dsr, odds.overfitting.pbo)
    assert optimisation_odds(table, 3, n_trials=100).deflated.dsr < odds.deflated.dsr
    with pytest.raises(ValueError, match="best setting: 8 is not a column of the 8"):
        optimisation_odds(table, 8)
