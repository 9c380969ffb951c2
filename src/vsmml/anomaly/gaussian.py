"""Windowed Gaussian baseline: how far a value sits in the tail of the trailing window's normal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from vsmml.anomaly.base import Detector, DetectorConfig, FloatArray
from vsmml.anomaly.registry import register


@dataclass(frozen=True)
class WindowedGaussianConfig(DetectorConfig):
    """Windowed Gaussian baseline (the simple reference detector NAB reports).

    Attributes:
        window: trailing rows whose mean and standard deviation define "normal".
        min_rows: rows needed before anything is scored.
    """

    window: int = 6400
    min_rows: int = 10


@register
class WindowedGaussian(Detector):
    """Score 2·Φ(|x - mean| / std) - 1 against the trailing window (row itself excluded)."""

    name = "windowed_gaussian"
    config_class = WindowedGaussianConfig

    def _score(self, secs: FloatArray, values: FloatArray) -> FloatArray:
        cfg = self.config
        assert isinstance(cfg, WindowedGaussianConfig)
        roll = pd.Series(values).rolling(cfg.window, min_periods=cfg.min_rows)
        mean = roll.mean().shift(1).to_numpy(dtype=np.float64)
        std = roll.std().shift(1).to_numpy(dtype=np.float64)
        with np.errstate(all="ignore"):
            z = np.abs(values - mean) / std
        z = np.where(std > 0, z, np.where(values == mean, 0.0, np.inf))
        z = np.where(np.isnan(std), 0.0, z)  # too little history: no score
        out: FloatArray = 2.0 * ndtr(np.nan_to_num(z, nan=0.0, posinf=40.0)) - 1.0
        return out
