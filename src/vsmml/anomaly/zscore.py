"""Robust z-scores: against a trailing median, and against the same phase of past seasons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsmml.anomaly.base import Detector, DetectorConfig, FloatArray
from vsmml.anomaly.registry import register
from vsmml.anomaly.robust import one_sided, past_median, past_scale, squash


@dataclass(frozen=True)
class RobustZScoreConfig(DetectorConfig):
    """Trailing robust z-score.

    Attributes:
        window: rows in the trailing median and MAD.
        direction: "up", "down" or "both" (which deviations count).
        half: |z| that maps to a score of 0.5.
        rel_floor: smallest scale as a share of the level (avoids alarms on tiny wiggles).
    """

    window: int = 240
    direction: str = "both"
    half: float = 6.0
    rel_floor: float = 0.01


@register
class RobustZScore(Detector):
    """(x - trailing median) / trailing MAD, squashed to [0, 1]."""

    name = "robust_zscore"
    config_class = RobustZScoreConfig

    def _score(self, secs: FloatArray, values: FloatArray) -> FloatArray:
        cfg = self.config
        assert isinstance(cfg, RobustZScoreConfig)
        return squash(robust_z(values, cfg.window, cfg.rel_floor, cfg.direction), cfg.half)


def robust_z(values: FloatArray, window: int, rel_floor: float, direction: str) -> FloatArray:
    """Signed-then-one-sided z of each row against the trailing `window` rows."""
    return z_about(values, past_median(values, window), window, rel_floor, direction)


def z_about(
    values: FloatArray, level: FloatArray, window: int, rel_floor: float, direction: str
) -> FloatArray:
    """One-sided z of each row's deviation from its expected `level`, scaled by the trailing
    robust sigma of those deviations (never below `rel_floor` times the level)."""
    resid = values - level
    scale = past_scale(resid, window, rel_floor=rel_floor * np.abs(np.nan_to_num(level)))
    return one_sided(resid / scale, direction)


@dataclass(frozen=True)
class SeasonalZScoreConfig(DetectorConfig):
    """Seasonal robust z-score.

    Attributes:
        period: season length in seconds (86400 = daily, 604800 = weekly).
        seasons: how many past seasons give the expected value (their median).
        tolerance: how far (share of the period) a past row may sit from the exact lag.
        window: rows in the trailing MAD of the seasonal residuals.
        direction, half, rel_floor: as for the robust z-score.
    """

    period: float = 86400.0
    seasons: int = 4
    tolerance: float = 0.02
    window: int = 240
    direction: str = "both"
    half: float = 6.0
    rel_floor: float = 0.01


@register
class SeasonalZScore(Detector):
    """(x - median of the same phase in past seasons) / trailing MAD of those residuals.

    Rows are matched to past seasons by timestamp (the last row at or before t - k·period,
    within a tolerance), so irregular spacing and gaps need no resampling. Until a season of
    history exists the trailing median stands in for the seasonal expectation.
    """

    name = "seasonal_zscore"
    config_class = SeasonalZScoreConfig

    def _score(self, secs: FloatArray, values: FloatArray) -> FloatArray:
        cfg = self.config
        assert isinstance(cfg, SeasonalZScoreConfig)
        expected = seasonal_expectation(secs, values, cfg.period, cfg.seasons, cfg.tolerance)
        fallback = past_median(values, cfg.window)
        expected = np.where(np.isnan(expected), fallback, expected)
        z = z_about(values, expected, cfg.window, cfg.rel_floor, cfg.direction)
        return squash(z, cfg.half)


def seasonal_expectation(
    secs: FloatArray, values: FloatArray, period: float, seasons: int, tolerance: float
) -> FloatArray:
    """Median of the values one, two, ... `seasons` periods before each row (NaN if none)."""
    n = values.size
    lagged = np.full((max(seasons, 1), n), np.nan)
    tol = tolerance * period
    for k in range(1, seasons + 1):
        target = secs - k * period
        idx = np.searchsorted(secs, target, side="right") - 1
        ok = idx >= 0
        safe = np.where(ok, idx, 0)
        ok &= (target - secs[safe]) <= tol
        lagged[k - 1] = np.where(ok, values[safe], np.nan)
    return nan_median(lagged)


def nan_median(stack: FloatArray) -> FloatArray:
    """Median over axis 0 ignoring NaN (NaN where a column has none); ~10x np.nanmedian's speed
    for a few rows of many columns."""
    ordered = np.sort(stack, axis=0)  # NaN sort last
    count = (~np.isnan(stack)).sum(axis=0)
    lo = np.take_along_axis(ordered, np.maximum(count - 1, 0)[None, :] // 2, axis=0)[0]
    hi = np.take_along_axis(ordered, (count // 2)[None, :], axis=0)[0]
    out: FloatArray = np.where(count > 0, (lo + hi) / 2.0, np.nan)
    return out
