"""Canary judgement with the semantics of Kayenta's NetflixACAJudge and Mann-Whitney classifier.

`stats` holds the statistics (outlier fences, the inverted Mann-Whitney shift test, effect
sizes); `judge` classifies metrics and scores groups and the run (its docstring says what follows
Kayenta and where this differs). Everything is importable from here.
"""

from vsmml.canary.judge import (
    CLASSES,
    DIRECTIONS,
    EFFECT_MEASURES,
    NAN_STRATEGIES,
    OUTLIER_STRATEGIES,
    TOLERANCE,
    CanaryResult,
    MetricResult,
    MetricSpec,
    classify_metric,
    judge,
    samples_to_mappings,
)
from vsmml.canary.stats import (
    ShiftTest,
    cles,
    mean_ratio,
    rank_sum_z,
    remove_outliers,
    shift_test,
)

__all__ = [
    "CLASSES",
    "DIRECTIONS",
    "EFFECT_MEASURES",
    "NAN_STRATEGIES",
    "OUTLIER_STRATEGIES",
    "TOLERANCE",
    "CanaryResult",
    "MetricResult",
    "MetricSpec",
    "ShiftTest",
    "classify_metric",
    "cles",
    "judge",
    "mean_ratio",
    "rank_sum_z",
    "remove_outliers",
    "samples_to_mappings",
    "shift_test",
]
