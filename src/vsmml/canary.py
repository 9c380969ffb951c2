"""Canary judgement in the manner of Kayenta's NetflixACAJudge with the Mann-Whitney classifier.

Per metric: drop missing values (a metric with at least half its values missing fails), remove
outliers outside [Q1 - k·IQR, Q3 + k·IQR] (k = 3), run a two-sided Mann-Whitney U test at 98 %
confidence, and measure the shift with the Hodges-Lehmann estimator (median of all pairwise
canary - baseline differences) relative to the baseline's median. A metric is High or Low only
when the difference is significant *and* larger than its allowed effect (±25 % by default); it
fails when that deviation is in a direction it watches. Group score = share of passing metrics;
run score = weighted mean of group scores; a failing critical metric fails the run outright.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vsmml.errors import DataError

DIRECTIONS = ("increase", "decrease", "either")
MAX_PAIRS = 4_000_000


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is judged.

    Attributes:
        name: metric name (key in the sample mappings).
        direction: which deviation is bad: "increase" (e.g. error rate, latency), "decrease"
            (e.g. throughput) or "either".
        critical: a failure fails the whole run.
        group: metric group for weighted scoring.
        allowed_increase / allowed_decrease: relative effect tolerated (0.25 = ±25 %).
    """

    name: str
    direction: str = "either"
    critical: bool = False
    group: str = "default"
    allowed_increase: float = 0.25
    allowed_decrease: float = 0.25

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise DataError(
                f"metric {self.name!r}: 'direction' must be one of {DIRECTIONS}, "
                f"got {self.direction!r}"
            )


@dataclass(frozen=True)
class MetricResult:
    """Outcome for one metric: Pass, High, Low or NoData, and whether that fails it.

    `canary_n` / `baseline_n` count the samples judged (after dropping missing values and
    outliers); `effect` is the Hodges-Lehmann shift relative to the baseline's median.
    """

    name: str
    group: str
    classification: str
    failed: bool
    critical: bool
    p_value: float
    hodges_lehmann: float
    effect: float
    canary_n: int
    baseline_n: int
    missing_share: float
    reason: str


@dataclass(frozen=True)
class CanaryResult:
    """Run outcome: score in [0, 100], Pass / Marginal / Fail, per-group scores and metrics."""

    score: float
    classification: str
    group_scores: dict[str, float]
    critical_failed: bool
    metrics: list[MetricResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready apart from NaN floats)."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per metric."""
        return pd.DataFrame([asdict(m) for m in self.metrics])


def remove_outliers(values: np.ndarray, factor: float = 3.0) -> np.ndarray:
    """Keep values within [Q1 - factor·IQR, Q3 + factor·IQR] (all of them when IQR is 0)."""
    if values.size < 4:
        return values
    q1, q3 = np.percentile(values, [25, 75])
    iqr = q3 - q1
    if iqr == 0:
        return values
    keep = (values >= q1 - factor * iqr) & (values <= q3 + factor * iqr)
    out: np.ndarray = values[keep]
    return out


def hodges_lehmann(canary: np.ndarray, baseline: np.ndarray) -> float:
    """Median of all pairwise differences canary_i - baseline_j (subsampled past 4 M pairs)."""
    c, b = canary, baseline
    if c.size * b.size > MAX_PAIRS:
        step_c = max(1, int(np.ceil(c.size / np.sqrt(MAX_PAIRS))))
        step_b = max(1, int(np.ceil(b.size / np.sqrt(MAX_PAIRS))))
        c, b = np.sort(c)[::step_c], np.sort(b)[::step_b]
    return float(np.median(np.subtract.outer(c, b)))


def relative_effect(shift: float, baseline: np.ndarray) -> float:
    """Shift relative to the baseline's median (its mean if the median is 0)."""
    center = float(np.median(baseline))
    if center == 0:
        center = float(np.mean(baseline))
    if center == 0:
        return 0.0 if shift == 0 else float(np.sign(shift)) * np.inf
    return shift / abs(center)


def classify_metric(
    spec: MetricSpec,
    canary: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.98,
    iqr_factor: float = 3.0,
) -> MetricResult:
    """Judge one metric's canary samples against its baseline samples."""
    from scipy.stats import mannwhitneyu

    raw_c = np.asarray(canary, dtype=np.float64)
    raw_b = np.asarray(baseline, dtype=np.float64)
    total = raw_c.size + raw_b.size
    c, b = raw_c[np.isfinite(raw_c)], raw_b[np.isfinite(raw_b)]
    missing = 1.0 - (c.size + b.size) / total if total else 1.0
    worst_side = max(_missing(raw_c), _missing(raw_b))

    def result(cls: str, failed: bool, p: float, hl: float, eff: float, why: str) -> MetricResult:
        return MetricResult(
            spec.name, spec.group, cls, failed, spec.critical, p, hl, eff, int(c.size),
            int(b.size), missing, why,
        )  # fmt: skip

    if worst_side >= 0.5 or c.size == 0 or b.size == 0:
        why = f"{worst_side:.0%} of one side's values missing (>= 50 % fails the metric)"
        return result("NoData", True, np.nan, np.nan, np.nan, why)
    c, b = remove_outliers(c, iqr_factor), remove_outliers(b, iqr_factor)
    if (
        np.array_equal(np.unique(np.concatenate([c, b])), np.unique(c))
        and np.ptp(np.concatenate([c, b])) == 0
    ):
        return result("Pass", False, 1.0, 0.0, 0.0, "canary and baseline identical")
    p = float(mannwhitneyu(c, b, alternative="two-sided").pvalue)
    hl = hodges_lehmann(c, b)
    effect = relative_effect(hl, b)
    significant = p < 1.0 - confidence
    if significant and effect > spec.allowed_increase:
        cls = "High"
    elif significant and effect < -spec.allowed_decrease:
        cls = "Low"
    else:
        cls = "Pass"
    bad = (cls == "High" and spec.direction in ("increase", "either")) or (
        cls == "Low" and spec.direction in ("decrease", "either")
    )
    why = f"p={p:.3g}, Hodges-Lehmann shift {hl:.4g} ({effect:+.1%} of baseline)"
    return result(cls, bad, p, hl, effect, why)


def _missing(values: np.ndarray) -> float:
    return 1.0 - np.isfinite(values).sum() / values.size if values.size else 1.0


def judge(
    canary: Mapping[str, Sequence[float] | np.ndarray],
    baseline: Mapping[str, Sequence[float] | np.ndarray],
    specs: Sequence[MetricSpec],
    *,
    group_weights: Mapping[str, float] | None = None,
    pass_threshold: float = 95.0,
    marginal_threshold: float = 75.0,
    confidence: float = 0.98,
    iqr_factor: float = 3.0,
) -> CanaryResult:
    """Judge a canary run: per-metric classification, weighted group scores, Pass/Marginal/Fail.

    Groups missing from `group_weights` share the weight left over equally (Kayenta's rule); with
    no weights every group counts the same. A metric absent from `canary` or `baseline` is
    NoData (failed).
    """
    if not specs:
        raise DataError("judge: 'specs' is empty; name at least one metric")
    results = [
        classify_metric(
            s,
            canary.get(s.name, []),
            baseline.get(s.name, []),
            confidence=confidence,
            iqr_factor=iqr_factor,
        )
        for s in specs
    ]
    groups: dict[str, list[MetricResult]] = {}
    for r in results:
        groups.setdefault(r.group, []).append(r)
    group_scores = {g: 100.0 * sum(not r.failed for r in rs) / len(rs) for g, rs in groups.items()}
    weights = _group_weights(list(groups), group_weights or {})
    score = sum(weights[g] * group_scores[g] for g in groups) / sum(weights.values())
    critical = any(r.failed and r.critical for r in results)
    if critical:
        score = 0.0
    if score >= pass_threshold:
        verdict = "Pass"
    elif score >= marginal_threshold:
        verdict = "Marginal"
    else:
        verdict = "Fail"
    return CanaryResult(score, verdict, group_scores, critical, results)


def _group_weights(groups: list[str], given: Mapping[str, float]) -> dict[str, float]:
    """Explicit weights, with the rest of 100 shared by unweighted groups (equal if none given)."""
    unknown = set(given) - set(groups)
    if unknown:
        raise DataError(f"judge: weights for unknown group(s) {sorted(unknown)}; groups {groups}")
    if not given:
        return dict.fromkeys(groups, 1.0)
    rest = [g for g in groups if g not in given]
    left = max(0.0, 100.0 - sum(given.values()))
    out = {g: float(w) for g, w in given.items()}
    out.update({g: left / len(rest) for g in rest})
    if sum(out.values()) <= 0:
        raise DataError(f"judge: group weights must sum to > 0, got {out}")
    return out


def samples_to_mappings(
    frame: pd.DataFrame,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Long frame (metric, variant in {"canary", "baseline"}, value) → canary and baseline maps."""
    missing = {"metric", "variant", "value"} - set(frame.columns)
    if missing:
        raise DataError(f"canary samples: missing column(s) {sorted(missing)}")
    out: dict[str, dict[str, np.ndarray]] = {"canary": {}, "baseline": {}}
    for (metric, variant), part in frame.groupby(["metric", "variant"], sort=True):
        if variant not in out:
            raise DataError(f"canary samples: variant must be canary or baseline, got {variant!r}")
        out[str(variant)][str(metric)] = part["value"].to_numpy(dtype=np.float64)
    return out["canary"], out["baseline"]
