"""Causal anomaly detectors for metric and SLI series, their registry and a NAB-style scorer.

`get_detector(name="default")` returns a detector whose `score(frame)` maps a frame with
`timestamp` and `value` columns to one score in [0, 1] per row, using rows up to that row only.
"""

from __future__ import annotations

from vsmml.anomaly.base import Detector, DetectorConfig, prepare_series
from vsmml.anomaly.changepoint import CusumConfig, CusumDetector
from vsmml.anomaly.ensemble import Ensemble, EnsembleConfig
from vsmml.anomaly.gaussian import WindowedGaussian, WindowedGaussianConfig
from vsmml.anomaly.registry import available, build_detector, get_detector, register_alias
from vsmml.anomaly.stl import STLConfig, STLDetector
from vsmml.anomaly.zscore import (
    RobustZScore,
    RobustZScoreConfig,
    SeasonalZScore,
    SeasonalZScoreConfig,
)

MSTL_SPEC: dict[str, object] = {"name": "stl", "periods": (86400.0, 604800.0), "fit_seasons": 2}
# Chosen on half A of the MSFT cloud-monitoring corpus with the NAB-style scorer (see
# bench/RESULTS.md): the mean of a 7-season robust z-score and MSTL residuals, with a 10-row
# refractory damping so that a burst of high scores reads as one alert.
DEFAULT_SPEC: dict[str, object] = {
    "name": "ensemble",
    "members": ({"name": "seasonal_zscore", "seasons": 7}, {"name": "mstl"}),
    "combine": "mean",
    "refractory": 10,
}
register_alias("mstl", MSTL_SPEC)
register_alias("default", DEFAULT_SPEC)

__all__ = [
    "DEFAULT_SPEC",
    "MSTL_SPEC",
    "CusumConfig",
    "CusumDetector",
    "Detector",
    "DetectorConfig",
    "Ensemble",
    "EnsembleConfig",
    "RobustZScore",
    "RobustZScoreConfig",
    "STLConfig",
    "STLDetector",
    "SeasonalZScore",
    "SeasonalZScoreConfig",
    "WindowedGaussian",
    "WindowedGaussianConfig",
    "available",
    "build_detector",
    "get_detector",
    "prepare_series",
]
