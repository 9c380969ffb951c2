"""Causal robust statistics shared by the detectors: past-only medians, MAD scales, squashing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsmml.anomaly.base import FloatArray

MAD_TO_SIGMA = 1.4826
MEAN_ABS_TO_SIGMA = 1.2533


def past_median(values: FloatArray, window: int, min_periods: int = 3) -> FloatArray:
    """Median of the `window` rows before each row (the row itself excluded); NaN when too few."""
    series = pd.Series(values)
    med = series.rolling(window, min_periods=min(min_periods, window)).median().shift(1)
    return med.to_numpy(dtype=np.float64)


def past_scale(
    residuals: FloatArray,
    window: int,
    *,
    rel_floor: FloatArray | float = 0.0,
    abs_floor: float = 1e-9,
    min_periods: int = 12,
) -> FloatArray:
    """Robust sigma of the residuals in the `window` rows before each row.

    The MAD (scaled to sigma) is used, falling back to the mean absolute residual when more than
    half the residuals are zero (count series with long constant stretches), and never below
    `rel_floor` (e.g. a share of the level) or `abs_floor`, so constant data yields no division
    by zero.
    """
    absres = pd.Series(np.abs(residuals))
    roll = absres.rolling(window, min_periods=min(min_periods, window))
    mad = roll.median().shift(1).to_numpy(dtype=np.float64) * MAD_TO_SIGMA
    mean_abs = roll.mean().shift(1).to_numpy(dtype=np.float64) * MEAN_ABS_TO_SIGMA
    scale = np.where(mad > 0, mad, mean_abs)
    scale = np.maximum(scale, np.nan_to_num(rel_floor))
    return np.maximum(scale, abs_floor)  # NaN (too little history) stays NaN: score 0


def squash(z: FloatArray, half: float) -> FloatArray:
    """Map |z| to [0, 1) monotonically: 0 at 0, 0.5 at `half`, slowly towards 1 beyond."""
    z2 = np.square(np.nan_to_num(z, nan=0.0, posinf=1e12, neginf=1e12))
    out: FloatArray = z2 / (z2 + half * half)
    return out


def one_sided(z: FloatArray, direction: str) -> FloatArray:
    """Keep the deviations in the watched direction ("up", "down" or "both")."""
    if direction == "up":
        return np.fmax(z, 0.0)
    if direction == "down":
        return np.fmax(-z, 0.0)
    return np.abs(z)
