"""STL/MSTL residual detector: seasonal profile refitted at intervals, robust z of the rest."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsmml.anomaly.base import Detector, DetectorConfig, FloatArray
from vsmml.anomaly.registry import register
from vsmml.anomaly.robust import squash
from vsmml.anomaly.seasonal_fit import fit_profile
from vsmml.anomaly.zscore import robust_z


@dataclass(frozen=True)
class STLConfig(DetectorConfig):
    """STL residual detector.

    Attributes:
        periods: season lengths in seconds; one gives STL, several give MSTL.
        fit_seasons: seasons of history (of the longest period) each fit uses.
        refit_every: seconds between refits (0: half the longest period). A refit
            happens at the first row of each new interval and uses rows before it only.
        max_points_per_period: grid resolution cap of a fit (speed).
        min_strength: below this seasonal strength the profile is ignored (no seasonality).
        window: rows in the trailing median (level) and MAD (scale) of the deseasonalised series.
        direction, half, rel_floor: as for the robust z-score.
    """

    periods: tuple[float, ...] = (86400.0,)
    fit_seasons: int = 4
    refit_every: float = 0.0
    max_points_per_period: int = 96
    min_strength: float = 0.3
    window: int = 240
    direction: str = "both"
    half: float = 6.0
    rel_floor: float = 0.01


@register
class STLDetector(Detector):
    """Subtract a causally fitted seasonal profile, then score a trailing robust z-score."""

    name = "stl"
    config_class = STLConfig

    def _score(self, secs: FloatArray, values: FloatArray) -> FloatArray:
        cfg = self.config
        assert isinstance(cfg, STLConfig)
        seasonal = seasonal_component(secs, values, cfg)
        z = robust_z(values - seasonal, cfg.window, cfg.rel_floor, cfg.direction)
        return squash(z, cfg.half)


def refit_starts(secs: FloatArray, every: float) -> FloatArray:
    """Row indices where a new refit interval begins (decided by each row's own timestamp)."""
    bucket = np.floor(secs / every)
    starts = np.flatnonzero(np.diff(bucket) > 0) + 1
    out: FloatArray = starts.astype(np.float64)
    return out


def seasonal_component(secs: FloatArray, values: FloatArray, cfg: STLConfig) -> FloatArray:
    """Seasonal estimate for each row from the latest fit on earlier rows (0 if none)."""
    n = values.size
    longest = max(cfg.periods)
    every = cfg.refit_every if cfg.refit_every > 0 else longest / 2.0
    seasonal = np.zeros(n)
    starts = [int(i) for i in refit_starts(secs, every)]
    bounds = [*starts, n]
    for b, end in zip(starts, bounds[1:], strict=False):
        lo = int(np.searchsorted(secs, secs[b - 1] - cfg.fit_seasons * longest, side="right"))
        if b - lo < 8:
            continue
        profile = fit_profile(secs[lo:b], values[lo:b], cfg.periods, cfg.max_points_per_period)
        if profile is None or profile.strength < cfg.min_strength:
            continue
        seasonal[b:end] = profile.at(secs[b:end])
    return seasonal
