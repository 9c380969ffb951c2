"""Ensemble detector: combine member detectors' scores (max or weighted mean)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vsmml.anomaly.base import Detector, DetectorConfig, FloatArray
from vsmml.anomaly.registry import build_detector, register
from vsmml.errors import ConfigError


def _default_members() -> tuple[dict[str, Any], ...]:
    return ({"name": "seasonal_zscore"}, {"name": "robust_zscore"}, {"name": "cusum"})


@dataclass(frozen=True)
class EnsembleConfig(DetectorConfig):
    """Ensemble of detectors given as plain dicts.

    Attributes:
        members: member specs, e.g. ({"name": "stl"}, {"name": "cusum", "drift": 1.0}).
        combine: "max" (any member alarms) or "mean" (weighted average).
        weights: one weight per member for "mean" (empty: equal weights).
    """

    members: tuple[dict[str, Any], ...] = field(default_factory=_default_members)
    combine: str = "max"
    weights: tuple[float, ...] = ()


@register
class Ensemble(Detector):
    """Scores every member on the same rows and combines them row by row (stays causal)."""

    name = "ensemble"
    config_class = EnsembleConfig

    def _score(self, secs: FloatArray, values: FloatArray) -> FloatArray:
        cfg = self.config
        assert isinstance(cfg, EnsembleConfig)
        if not cfg.members:
            raise ConfigError("ensemble: 'members' is empty")
        stack = np.vstack([build_detector(m).score_arrays(secs, values) for m in cfg.members])
        if cfg.combine == "max":
            out: FloatArray = stack.max(axis=0)
            return out
        if cfg.combine != "mean":
            raise ConfigError(f"ensemble: 'combine' must be 'max' or 'mean', got {cfg.combine!r}")
        weights = np.asarray(cfg.weights or [1.0] * len(cfg.members), dtype=np.float64)
        if weights.size != len(cfg.members):
            raise ConfigError(f"ensemble: {len(cfg.members)} members but {weights.size} weights")
        mean: FloatArray = weights @ stack / weights.sum()
        return mean
