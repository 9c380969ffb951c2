"""Expected effects, computed from the what-if graph, re-timed changes or re-scored changes.

Intervals are prediction intervals for what the next period will show, not only confidence
intervals for the past: a bootstrap interval describes the uncertainty of the estimate from the
observed changes, and the changes of the next period vary as much again, so the bootstrap's
half-widths are widened by √2 (two independent samples of the same size). See
docs/recommendations.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from vsmml.graph.flow import FlowData
from vsmml.graph.whatif import WhatIfResult, what_if
from vsmml.recommend.records import ExpectedEffect

FloatArray = npt.NDArray[np.float64]

WIDEN: Final[float] = math.sqrt(2.0)
N_BOOT: Final[int] = 400
LEVEL: Final[float] = 0.9
LEAD_TIME: Final[str] = "median lead time"


def prediction_interval(value: float, low: float, high: float) -> tuple[float, float]:
    """Widen a bootstrap interval around `value` by √2 (and make sure it holds `value`)."""
    lo = value - WIDEN * max(value - low, 0.0)
    hi = value + WIDEN * max(high - value, 0.0)
    return min(lo, value), max(hi, value)


@dataclass(frozen=True)
class Bootstrap:
    """A statistic, its bootstrap interval and the share of resamples that improve."""

    value: float
    low: float
    high: float
    p_better: float


def bootstrap_median_change(
    old: FloatArray, new: FloatArray, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0
) -> Bootstrap:
    """Relative change (%) of the median from `old` to `new` (paired per change).

    The resampling is `vsmml.graph.whatif.what_if`'s (changes resampled with their pair), so a
    re-timing done outside the what-if graph gets the same kind of interval.
    """
    base, after = float(np.median(old)), float(np.median(new))
    value = 100.0 * (after - base) / max(base, 1e-9)
    rng = np.random.default_rng(seed + 1)
    pick = rng.integers(0, old.size, size=(n_boot, old.size))
    b_old = np.median(old[pick], axis=1)
    b_new = np.median(new[pick], axis=1)
    rel = 100.0 * (b_new - b_old) / np.maximum(b_old, 1e-9)
    lo, hi = np.quantile(rel, [(1 - level) / 2, (1 + level) / 2])
    return Bootstrap(value, float(lo), float(hi), float(np.mean(rel < 0)))


def bootstrap_mean(
    values: FloatArray, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0
) -> Bootstrap:
    """Mean of `values` with a bootstrap interval; `p_better` = share of resamples below 0."""
    rng = np.random.default_rng(seed + 2)
    pick = rng.integers(0, values.size, size=(n_boot, values.size))
    means = values[pick].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Bootstrap(float(values.mean()), float(lo), float(hi), float(np.mean(means < 0)))


def lead_time_effect(
    flow: FlowData,
    scenario: str,
    horizon: str,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> tuple[ExpectedEffect, WhatIfResult]:
    """The median-lead-time change of a what-if scenario on `flow`, as an expected effect."""
    r = what_if(flow, scenario, n_boot=n_boot, confidence=LEVEL, seed=seed)
    lo, hi = prediction_interval(r.delta_pct, r.delta_pct_low, r.delta_pct_high)
    effect = ExpectedEffect(
        metric=LEAD_TIME,
        value=r.delta_pct,
        low=lo,
        high=hi,
        unit="%",
        horizon=horizon,
        baseline=r.baseline_median_h,
        method=(
            f"what-if '{scenario}' re-timing {r.n_changes} changes "
            f"({r.baseline_median_h:.1f} h -> {r.new_median_h:.1f} h); "
            f"{LEVEL:.0%} bootstrap interval widened x1.41 for the next period"
        ),
    )
    return effect, r


def retimed_effect(
    old: FloatArray, new: FloatArray, horizon: str, method: str, *, seed: int = 0
) -> tuple[ExpectedEffect, Bootstrap]:
    """The median-lead-time change when each change's lead time goes from `old` to `new`."""
    b = bootstrap_median_change(old, new, seed=seed)
    lo, hi = prediction_interval(b.value, b.low, b.high)
    effect = ExpectedEffect(
        metric=LEAD_TIME,
        value=b.value,
        low=lo,
        high=hi,
        unit="%",
        horizon=horizon,
        baseline=float(np.median(old)),
        method=f"{method}; {LEVEL:.0%} bootstrap interval widened x1.41 for the next period",
    )
    return effect, b


def sufficiency(n: float, enough: float) -> float:
    """How much data there is, as a factor in [0, 1]: n / enough, capped at 1."""
    return float(min(max(n, 0.0) / enough, 1.0)) if enough > 0 else 1.0
