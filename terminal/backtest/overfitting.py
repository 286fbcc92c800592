"""How likely the best of many tried settings is luck: the deflated Sharpe ratio and the
probability of backtest overfitting.

An optimisation that tries N settings and keeps the best one picks, among other things, the
luckiest. Two measures say how much of the best setting's result may be that luck:

**Deflated Sharpe ratio** (Bailey & López de Prado, 2014, "The Deflated Sharpe Ratio:
Correcting for Selection Bias, Backtest Overfitting and Non-Normality"). With the best
setting's T daily returns r:

- SR = mean(r) / std(r, T - 1), the DAILY Sharpe ratio, not annualised: the formulas below
  hold for the Sharpe ratio of the returns' own frequency, so every Sharpe ratio here (the
  trials' too) is per day. Annualising would multiply each by sqrt(240) and change nothing
  but the units, except that the formula's T - 1 counts days.
- g3 = m3 / m2**1.5 the skewness and g4 = m4 / m2**2 the kurtosis (not excess: 3 for a normal
  distribution) of r, m_k the k-th central moment (plain averages), as in the paper.
- PSR(SR*) = Phi((SR - SR*) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR**2)): the
  probability that the true Sharpe ratio is above SR* (`stats.probabilistic_sharpe_ratio`).
- SR0 = sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e))): the Sharpe
  ratio the best of N settings reaches by luck alone, V the variance of the N settings'
  (daily) Sharpe ratios, gamma the Euler-Mascheroni constant, e Euler's number. With N = 1
  nothing was selected and SR0 = 0.
- DSR = PSR(SR0): the probability that the best setting's true Sharpe ratio is above what
  the search would have found by luck.

N is the number of settings tried (the paper's number of independent trials; settings that
differ only a little are not independent, so N overstates it and the DSR errs low, the safe
side). V from the trials' Sharpe ratios is their sample variance (N - 1).

**Probability of backtest overfitting** by combinatorially symmetric cross-validation
(Bailey, Borwein, López de Prado & Zhu, 2015, "The Probability of Backtest Overfitting"). From
a T x N matrix of daily returns, one column per setting tried:

- The rows are cut into S blocks (S = 16) of equal length in time order; the first T mod S
  rows (the oldest days) are left out so the blocks are equal.
- Each of the C(S, S/2) ways to pick S/2 blocks (12,870 for S = 16) is a split: the picked
  blocks are in-sample, the others out-of-sample, each kept in time order.
- In each split every setting's daily Sharpe ratio is computed in-sample and out-of-sample;
  n* is the setting with the highest in-sample Sharpe (the first on a tie). Its
  out-of-sample rank among the N settings is w = rank / (N + 1) (rank 1 the worst, ties
  share their average rank), and the split's logit is ln(w / (1 - w)).
- PBO is the fraction of splits whose logit is at or below 0: the in-sample best was at or
  below the median out-of-sample. About 0.5 when no setting has an edge (the best in-sample
  is then a random draw out-of-sample); near 0 when one has.

A setting whose returns do not vary within a sample has Sharpe 0 there when its mean is 0
(it did not trade) and +/- infinity otherwise.

The verdict puts both in words (`verdict`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist

import numpy as np

from terminal.backtest.stats import probabilistic_sharpe_ratio

EULER_GAMMA = 0.5772156649015329
CSCV_BLOCKS = 16
# verdict thresholds (see `verdict`)
DSR_REAL = 0.95
DSR_LUCK = 0.50
PBO_LOW = 0.10
PBO_HIGH = 0.50

_NORMAL = NormalDist()


def _returns(returns, what: str) -> np.ndarray:
    r = np.asarray(returns, dtype=float)
    if r.ndim != 1:
        raise ValueError(f"{what}: expected one series of daily returns, got shape {r.shape}")
    if len(r) < 3:
        raise ValueError(f"{what}: {len(r)} daily returns; at least 3 are needed")
    bad = np.flatnonzero(~np.isfinite(r))
    if len(bad):
        raise ValueError(f"{what}: day {bad[0]} is {r[bad[0]]}, not a finite number")
    if not r.std() > 0:
        raise ValueError(f"{what}: every daily return is {r[0]}; a Sharpe ratio needs them "
                         f"to vary")
    return r


def daily_sharpe(returns) -> float:
    """mean / sample standard deviation of daily returns: the per-day Sharpe ratio."""
    r = _returns(returns, "returns")
    return float(r.mean() / r.std(ddof=1))


def _trials(n_trials) -> int:
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) \
            or n_trials < 1:
        raise ValueError(f"settings tried: {n_trials!r}; a whole number of at least 1 is "
                         f"needed")
    return int(n_trials)


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """SR0: the Sharpe ratio the best of `n_trials` settings reaches by luck alone."""
    n = _trials(n_trials)
    if not (math.isfinite(sharpe_variance) and sharpe_variance >= 0):
        raise ValueError(f"variance of the settings' Sharpe ratios: {sharpe_variance!r}; a "
                         f"finite number of at least 0 is needed")
    if n == 1:
        return 0.0
    return math.sqrt(sharpe_variance) * (
        (1.0 - EULER_GAMMA) * _NORMAL.inv_cdf(1.0 - 1.0 / n)
        + EULER_GAMMA * _NORMAL.inv_cdf(1.0 - 1.0 / (n * math.e)))


@dataclass(frozen=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio of the best setting and what went into it."""

    sharpe: float                # SR, daily
    skewness: float              # g3
    kurtosis: float              # g4, not excess
    days: int                    # T
    trials: int                  # N
    sharpe_variance: float       # V, of the trials' daily Sharpe ratios
    expected_max_sharpe: float   # SR0, daily
    psr: float                   # PSR(0): the true Sharpe ratio is above 0
    dsr: float                   # PSR(SR0)


def deflated_sharpe_ratio(best_returns, n_trials: int | None = None, *,
                          sharpe_variance: float | None = None,
                          trial_sharpes=None) -> DeflatedSharpe:
    """DSR of the best setting from its daily returns, and either the number of settings
    tried and the variance of their daily Sharpe ratios, or their daily Sharpe ratios (then
    `n_trials` defaults to how many there are)."""
    r = _returns(best_returns, "best setting's returns")
    if (sharpe_variance is None) == (trial_sharpes is None):
        raise ValueError("give either the variance of the settings' Sharpe ratios or the "
                         "Sharpe ratios themselves, not both or neither")
    if n_trials is not None:
        n_trials = _trials(n_trials)
    if trial_sharpes is not None:
        sharpes = np.asarray(trial_sharpes, dtype=float).ravel()
        if len(sharpes) < 2:
            raise ValueError(f"settings' Sharpe ratios: {len(sharpes)} given; their "
                             f"variance needs at least 2")
        bad = np.flatnonzero(~np.isfinite(sharpes))
        if len(bad):
            raise ValueError(f"settings' Sharpe ratios: number {bad[0]} is "
                             f"{sharpes[bad[0]]}, not a finite number")
        sharpe_variance = float(sharpes.var(ddof=1))
        if n_trials is None:
            n_trials = len(sharpes)
        elif n_trials < len(sharpes):
            raise ValueError(f"settings tried: {n_trials}, fewer than the {len(sharpes)} "
                             f"Sharpe ratios given")
    if n_trials is None:
        raise ValueError("settings tried: not given")
    sr0 = expected_max_sharpe(n_trials, float(sharpe_variance))
    centred = r - r.mean()
    m2 = np.mean(centred ** 2)
    psr = probabilistic_sharpe_ratio(r, 0.0)
    dsr = probabilistic_sharpe_ratio(r, sr0)
    return DeflatedSharpe(
        sharpe=float(r.mean() / r.std(ddof=1)),
        skewness=float(np.mean(centred ** 3) / m2 ** 1.5),
        kurtosis=float(np.mean(centred ** 4) / m2 ** 2),
        days=len(r), trials=int(n_trials), sharpe_variance=float(sharpe_variance),
        expected_max_sharpe=sr0, psr=psr, dsr=dsr)


@dataclass(frozen=True)
class Overfitting:
    """The result of combinatorially symmetric cross-validation."""

    pbo: float                   # fraction of splits with logit <= 0
    logits: np.ndarray           # one per split, in the order of itertools.combinations
    best_in_sample: np.ndarray   # n* of each split (column index)
    out_of_sample_sharpe: np.ndarray  # n*'s daily Sharpe out-of-sample, per split
    blocks: int                  # S
    block_days: int              # rows per block
    dropped_days: int            # oldest rows left out so the blocks are equal


def _block_sums(matrix: np.ndarray, blocks: int, block_days: int):
    """Per block and column: the sum and the sum of squares of returns centred on the
    column's mean (centring keeps the variance from sums accurate)."""
    centred = matrix - matrix.mean(axis=0)
    shaped = centred.reshape(blocks, block_days, matrix.shape[1])
    return shaped.sum(axis=1), (shaped ** 2).sum(axis=1)


def _sharpe_from_sums(column_mean, sums, squares, days: int) -> np.ndarray:
    mean = sums / days
    variance = np.maximum(squares - sums * mean, 0.0) / (days - 1)
    std = np.sqrt(variance)
    raw_mean = column_mean + mean
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = raw_mean / std
    flat = std <= 1e-12 * np.maximum(1.0, np.abs(raw_mean))
    sharpe[flat] = np.where(raw_mean[flat] == 0, 0.0, np.copysign(np.inf, raw_mean[flat]))
    return sharpe


def _rank_of(values: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Average rank (1 = lowest) of values[i, chosen[i]] within row i."""
    picked = values[np.arange(len(values)), chosen][:, None]
    below = (values < picked).sum(axis=1)
    equal = (values == picked).sum(axis=1)
    return below + (equal + 1) / 2.0


def probability_of_overfitting(returns, blocks: int = CSCV_BLOCKS,
                               chunk: int = 1024) -> Overfitting:
    """PBO by CSCV from a T x N matrix of daily returns (rows days in time order, one
    column per setting tried)."""
    matrix = np.asarray(returns, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"returns: expected a days x settings table, got shape "
                         f"{matrix.shape}")
    days, settings = matrix.shape
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 2 or blocks % 2:
        raise ValueError(f"blocks: {blocks!r}; an even whole number of at least 2 is needed")
    if settings < 2:
        raise ValueError(f"returns: {settings} setting(s); ranking needs at least 2")
    if days < 2 * blocks:
        raise ValueError(f"returns: {days} days; {blocks} blocks need at least "
                         f"{2 * blocks} (2 a block)")
    bad = np.argwhere(~np.isfinite(matrix))
    if len(bad):
        day, column = bad[0]
        raise ValueError(f"returns: day {day} of setting {column} is {matrix[day, column]}, "
                         f"not a finite number")
    block_days = days // blocks
    dropped = days - block_days * blocks
    matrix = matrix[dropped:]
    column_mean = matrix.mean(axis=0)
    sums, squares = _block_sums(matrix, blocks, block_days)
    total_sums, total_squares = sums.sum(axis=0), squares.sum(axis=0)
    half_days = block_days * blocks // 2
    splits = np.array(list(combinations(range(blocks), blocks // 2)))
    picks = np.zeros((len(splits), blocks))
    picks[np.arange(len(splits))[:, None], splits] = 1.0
    logits, chosen, oos_sharpe = [], [], []
    for start in range(0, len(picks), chunk):
        part = picks[start:start + chunk]
        in_sums, in_squares = part @ sums, part @ squares
        in_sharpe = _sharpe_from_sums(column_mean, in_sums, in_squares, half_days)
        out_sharpe = _sharpe_from_sums(column_mean, total_sums - in_sums,
                                       total_squares - in_squares, half_days)
        best = np.argmax(in_sharpe, axis=1)
        relative = _rank_of(out_sharpe, best) / (settings + 1)
        logits.append(np.log(relative / (1.0 - relative)))
        chosen.append(best)
        oos_sharpe.append(out_sharpe[np.arange(len(best)), best])
    logit = np.concatenate(logits)
    return Overfitting(pbo=float(np.mean(logit <= 0.0)), logits=logit,
                       best_in_sample=np.concatenate(chosen),
                       out_of_sample_sharpe=np.concatenate(oos_sharpe),
                       blocks=blocks, block_days=block_days, dropped_days=dropped)


@dataclass(frozen=True)
class Verdict:
    """Plain words for a trader: a headline and one line per measure."""

    headline: str
    lines: tuple[str, ...]


def _dsr_line(dsr: float) -> tuple[str, str]:
    if not math.isfinite(dsr):
        return "unknown", "Deflated Sharpe ratio: cannot be computed for these returns."
    share = f"{dsr:.0%}"
    if dsr >= DSR_REAL:
        return "real", (f"Deflated Sharpe ratio {share}: the best setting's edge is likely "
                        f"real, even after allowing for the settings tried.")
    if dsr >= DSR_LUCK:
        return "unsure", (f"Deflated Sharpe ratio {share}: below {DSR_REAL:.0%}; the edge "
                          f"may be luck from trying many settings.")
    return "luck", (f"Deflated Sharpe ratio {share}: the best setting's result is likely "
                    f"luck from trying many settings.")


def _pbo_line(pbo: float) -> tuple[str, str]:
    if not math.isfinite(pbo):
        return "unknown", "Probability of backtest overfitting: cannot be computed."
    share = f"{pbo:.0%}"
    if pbo <= PBO_LOW:
        return "real", (f"Probability of backtest overfitting {share}: the best in-sample "
                        f"setting usually stays above the median out of sample.")
    if pbo < PBO_HIGH:
        return "unsure", (f"Probability of backtest overfitting {share}: the best in-sample "
                          f"setting often falls to the median or below out of sample.")
    return "luck", (f"Probability of backtest overfitting {share}: the best in-sample "
                    f"setting does no better than a random one out of sample; likely "
                    f"overfit.")


def verdict(dsr: float | None = None, pbo: float | None = None) -> Verdict:
    """Words for the DSR and/or the PBO.

    DSR >= 0.95 "likely real", 0.50..0.95 "could be luck", below 0.50 "likely luck".
    PBO <= 0.10 "likely real", 0.10..0.50 "could be luck", 0.50 and above "likely overfit".
    With both, the headline is the worse of the two (a NaN is "cannot tell"): an edge is
    called real only when every measure given says so.
    """
    if dsr is None and pbo is None:
        raise ValueError("verdict: give a deflated Sharpe ratio, a PBO or both")
    parts = []
    if dsr is not None:
        parts.append(_dsr_line(float(dsr)))
    if pbo is not None:
        parts.append(_pbo_line(float(pbo)))
    kinds = {kind for kind, _ in parts}
    for kind, headline in (("unknown", "Cannot tell: a measure could not be computed."),
                           ("luck", "Likely luck or overfit: do not trust this setting."),
                           ("unsure", "Could be luck: treat this setting with suspicion."),
                           ("real", "Likely real: the edge survives the settings tried.")):
        if kind in kinds:
            return Verdict(headline, tuple(line for _, line in parts))
    raise AssertionError(kinds)


@dataclass(frozen=True)
class Odds:
    """Both measures for one optimisation, and their verdict."""

    deflated: DeflatedSharpe
    overfitting: Overfitting
    verdict: Verdict


def optimisation_odds(returns, best: int, n_trials: int | None = None,
                      blocks: int = CSCV_BLOCKS) -> Odds:
    """DSR of setting `best` and PBO, from the T x N table of every setting's daily returns.

    The trials' Sharpe ratios are the columns' daily Sharpe ratios (0 for a column whose
    returns never vary, as in CSCV); `n_trials` defaults to the number of columns and may be
    larger when settings were tried whose returns were not kept.
    """
    table = np.asarray(returns, dtype=float)
    pbo = probability_of_overfitting(table, blocks)      # checks the table first
    if isinstance(best, bool) or not isinstance(best, (int, np.integer)) \
            or not 0 <= best < table.shape[1]:
        raise ValueError(f"best setting: {best!r} is not a column of the {table.shape[1]} "
                         f"settings")
    std = table.std(axis=0, ddof=1)
    sharpes = np.divide(table.mean(axis=0), std, out=np.zeros(table.shape[1]),
                        where=std > 0)
    deflated = deflated_sharpe_ratio(table[:, best], n_trials, trial_sharpes=sharpes)
    return Odds(deflated, pbo, verdict(deflated.dsr, pbo.pbo))
