"""The statistics of the canary judge: Kayenta's IQR outlier fences, the inverted Mann-Whitney
shift test with its confidence interval, and the effect sizes (ratio of means, CLES).

Changes when a statistic changes; `vsmml.canary.judge` decides with them (its docstring says what
follows Kayenta and where this differs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri
from scipy.stats import rankdata

from vsmml.errors import DataError


@dataclass(frozen=True)
class ShiftTest:
    """Inverted Mann-Whitney test: shift estimate, its confidence interval and the p-value."""

    estimate: float
    lower: float
    upper: float
    p_value: float


def remove_outliers(values: np.ndarray, factor: float = 3.0) -> np.ndarray:
    """Drop values outside Kayenta's reduced-sensitivity IQR fences.

    Fences: min(P1, Q1 - factor·IQR) and max(P99, Q3 + factor·IQR), percentiles estimated at
    position p·(n + 1) as Apache Commons Math does.
    """
    if values.size == 0:
        return values
    p1, q1, q3, p99 = np.percentile(values, [1, 25, 75, 99], method="weibull")
    iqr = q3 - q1
    lo, hi = min(p1, q1 - factor * iqr), max(p99, q3 + factor * iqr)
    out: np.ndarray = values[(values >= lo) & (values <= hi)]
    return out


def rank_sum_z(mu: float, x: np.ndarray, y: np.ndarray) -> float:
    """Standardised rank-sum statistic of x - mu against y (tie and continuity corrected)."""
    n, m = x.size, y.size
    ranks = rankdata(np.concatenate([x - mu, y]))
    dz = float(ranks[:n].sum()) - n * (n + 1) / 2 - n * m / 2
    _, counts = np.unique(ranks, return_counts=True)
    ties = float(np.sum(counts.astype(np.float64) ** 3 - counts))
    sigma = math.sqrt(n * m / 12 * ((n + m + 1) - ties / ((n + m) * (n + m - 1))))
    if sigma == 0:
        return 0.0
    return float((dz - 0.5 * np.sign(dz)) / sigma)


def shift_test(canary: np.ndarray, baseline: np.ndarray, confidence: float = 0.98) -> ShiftTest:
    """Invert the Mann-Whitney test for the location shift canary - baseline.

    z(μ) does not increase with μ; the estimate solves z = 0 and the interval ends solve
    z = ±q with q the (1 + confidence) / 2 normal quantile, over [min c - max b, max c - min b].
    """
    if canary.size == 0 or baseline.size == 0:
        raise DataError("shift_test: both samples need at least one value")
    q = float(ndtri(0.5 + confidence / 2))
    lo, hi = float(canary.min() - baseline.max()), float(canary.max() - baseline.min())

    def root(level: float) -> float:
        f_lo = rank_sum_z(lo, canary, baseline) - level
        f_hi = rank_sum_z(hi, canary, baseline) - level
        if f_lo <= 0:
            return lo
        if f_hi >= 0:
            return hi
        mu = float(brentq(lambda m: rank_sum_z(m, canary, baseline) - level, lo, hi, xtol=1e-12))
        return _snap(mu, canary, baseline)

    p = float(2.0 * ndtr(-abs(rank_sum_z(0.0, canary, baseline))))
    return ShiftTest(root(0.0), root(q), root(-q), min(1.0, p))


def _snap(mu: float, canary: np.ndarray, baseline: np.ndarray) -> float:
    """The pairwise difference c_i - b_j nearest to `mu` when it is within rounding of it.

    z(μ) is a step function that jumps at pairwise differences, so a root is one of them; the
    solver returns it only to within its tolerance, on either side of the jump.
    """
    b = np.sort(baseline)
    k = np.clip(np.searchsorted(b, canary - mu), 1, b.size - 1) if b.size > 1 else np.zeros(1, int)
    cand = np.concatenate([canary - b[k], canary - b[k - 1]]) if b.size > 1 else canary - b[0]
    best = float(cand[np.argmin(np.abs(cand - mu))])
    return best if abs(best - mu) <= 1e-9 * (1.0 + abs(mu)) else mu


def mean_ratio(canary: np.ndarray, baseline: np.ndarray) -> float:
    """Canary mean / baseline mean; NaN when either mean is 0 (Kayenta's rule)."""
    c, b = float(np.mean(canary)), float(np.mean(baseline))
    return c / b if c != 0 and b != 0 else math.nan


def cles(canary: np.ndarray, baseline: np.ndarray) -> float:
    """Common-language effect size: P(canary > baseline) + ½ P(tie) (Vargha & Delaney)."""
    m, n = canary.size, baseline.size
    r1 = rankdata(np.concatenate([canary, baseline]))[:m].sum()
    return float((2 * r1 - m * (m + 1)) / (2 * n * m))
