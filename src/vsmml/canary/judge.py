"""Canary judgement with the semantics of Kayenta's NetflixACAJudge and Mann-Whitney classifier.

Followed (Kayenta, spinnaker/kayenta: `docs/canary-config.md` and the judge's
`NetflixACAJudge.scala`, `MannWhitneyClassifier.scala`, `MannWhitney.scala`, `EffectSizes.scala`,
`WeightedSumScorer.scala`, `IQRDetector.scala`; read, not copied):

- Per metric: `nanStrategy` "remove" (drop NaN, the default) or "replace" (NaN → 0); outlier
  removal off by default ("keep"), or "remove" with Kayenta's IQR fences widened to the 1st/99th
  percentiles (factor 3). No data after that: NoData (with "remove"), NodataFailMetric when the
  metric `must_have_data` and is not critical, Pass with "replace". Identical samples, or one
  distinct value across both: Pass.
- The shift is estimated by inverting the two-sided Mann-Whitney (Wilcoxon rank-sum) test: the
  normal approximation with tie and continuity corrections, solved for the location shift μ of
  canary - μ against the baseline. The estimate solves z(μ) = 0 (the Hodges-Lehmann-type centre),
  the confidence interval (98 %) z(μ) = ±z₀.₉₉. A metric is High when the interval lies above
  ±25 % of |estimate| (Kayenta's tolerance) *and* the effect size reaches `allowed_increase`;
  Low symmetrically; only directions the metric watches are classified (else Pass).
- Effect size: the ratio of means canary / baseline (NaN when either mean is 0, then ignored) or
  the common-language effect size (CLES, P(canary > baseline) + ½ P(tie)); defaults 1.0 (0.5 for
  CLES). A critical metric fails the run only when its effect also reaches `critical_increase`
  (`critical_decrease`), or when it has no data.
- Scores: muted metrics are left out; a group's score is Pass / (Pass + High + Low +
  NodataFailMetric), so NoData metrics count for nothing; a group with only NoData scores 100;
  groups without a weight share what is left of 100 equally; the run scores 0 when a critical
  metric fails or when at least half the (unmuted) metrics are NoData. Pass >= 95, Marginal >= 75.

Differences: Kayenta adds random noise when each side is one constant value; here the shift is
exactly the difference of the two constants (deterministic). The High/Low decision evaluates the
test at the tolerance bound instead of comparing Brent's approximate interval end with it, which
is the same except where the statistic jumps (tied data): a zero-inflated error count with a
significant rise but a centre of 0 is High, because every shift <= 0 is rejected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from vsmml.canary.stats import (
    ShiftTest,
    cles,
    mean_ratio,
    rank_sum_z,
    remove_outliers,
    shift_test,
)
from vsmml.errors import DataError

DIRECTIONS = ("increase", "decrease", "either")
NAN_STRATEGIES = ("remove", "replace")
OUTLIER_STRATEGIES = ("keep", "remove")
EFFECT_MEASURES = ("mean_ratio", "cles")
TOLERANCE = 0.25  # Kayenta's fraction of |estimate| the interval must clear
CLASSES = ("Pass", "High", "Low", "NoData", "NodataFailMetric", "Error")


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is judged (Kayenta's `analysisConfigurations.canary`).

    Attributes:
        name: metric name (key in the sample mappings).
        direction: which change fails it: "increase" (errors, latency), "decrease" (throughput)
            or "either".
        critical: a failure (or missing data) fails the whole run with score 0.
        group: the metric's group for weighted scoring; `groups` lists several.
        nan_strategy: "remove" NaN values, or "replace" them by 0 (count metrics).
        outliers: "keep" (Kayenta's default) or "remove" (IQR fences, `outlier_factor`).
        outlier_factor: IQR multiple of the fences.
        must_have_data: no data is a failure of this metric (NodataFailMetric) not NoData.
        muted: judged and reported but left out of the scores.
        effect_measure: "mean_ratio" (canary mean / baseline mean) or "cles".
        allowed_increase / allowed_decrease: effect size a High / Low must reach (1.0 ratio:
            any significant change; 1.1: at least 10 % higher). None: the measure's default.
        critical_increase / critical_decrease: effect a critical metric's High / Low must reach
            to fail the run (None: the measure's default).
    """

    name: str
    direction: str = "either"
    critical: bool = False
    group: str = "default"
    groups: tuple[str, ...] = ()
    nan_strategy: str = "remove"
    outliers: str = "keep"
    outlier_factor: float = 3.0
    must_have_data: bool = False
    muted: bool = False
    effect_measure: str = "mean_ratio"
    allowed_increase: float | None = None
    allowed_decrease: float | None = None
    critical_increase: float | None = None
    critical_decrease: float | None = None

    def __post_init__(self) -> None:
        for attr, allowed in (
            ("direction", DIRECTIONS),
            ("nan_strategy", NAN_STRATEGIES),
            ("outliers", OUTLIER_STRATEGIES),
            ("effect_measure", EFFECT_MEASURES),
        ):
            if getattr(self, attr) not in allowed:
                raise DataError(
                    f"metric {self.name!r}: {attr!r} must be one of {allowed}, "
                    f"got {getattr(self, attr)!r}"
                )
        if self.outlier_factor <= 0:
            raise DataError(f"metric {self.name!r}: 'outlier_factor' must be > 0")

    @property
    def metric_groups(self) -> tuple[str, ...]:
        """The groups the metric scores in."""
        return self.groups or (self.group,)

    def thresholds(self) -> tuple[float, float, float, float]:
        """(allowed_decrease, allowed_increase, critical_decrease, critical_increase)."""
        neutral = 0.5 if self.effect_measure == "cles" else 1.0
        vals = (self.allowed_decrease, self.allowed_increase)
        crit = (self.critical_decrease, self.critical_increase)
        a_dec, a_inc = (neutral if v is None else v for v in vals)
        c_dec, c_inc = (neutral if v is None else v for v in crit)
        return a_dec, a_inc, c_dec, c_inc


@dataclass(frozen=True)
class MetricResult:
    """Outcome for one metric.

    `classification` is Pass, High, Low, NoData, NodataFailMetric or Error; `failed` says whether
    it counts against its groups; `critical_failure` whether it fails the run. `ratio` is the
    ratio of means (Kayenta's reported deviation), `effect` the effect size used (ratio or CLES),
    `shift`, `lower`, `upper` the shift estimate and its confidence interval.
    """

    name: str
    groups: tuple[str, ...]
    classification: str
    failed: bool
    critical: bool
    critical_failure: bool
    muted: bool
    p_value: float
    shift: float
    lower: float
    upper: float
    ratio: float
    effect: float
    canary_n: int
    baseline_n: int
    reason: str


@dataclass(frozen=True)
class CanaryResult:
    """Run outcome: score in [0, 100], Pass / Marginal / Fail, group scores and each metric."""

    score: float
    classification: str
    group_scores: dict[str, float]
    critical_failed: bool
    reason: str
    metrics: list[MetricResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-ready apart from NaN floats)."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """One row per metric."""
        return pd.DataFrame([asdict(m) for m in self.metrics])


def classify_metric(
    spec: MetricSpec,
    canary: Sequence[float] | np.ndarray,
    baseline: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.98,
) -> MetricResult:
    """Judge one metric's canary samples against its baseline samples (Kayenta's rules)."""
    c = _clean(np.asarray(canary, dtype=np.float64), spec)
    b = _clean(np.asarray(baseline, dtype=np.float64), spec)
    nan = math.nan

    def result(
        cls: str, why: str, test: ShiftTest | None = None, ratio: float = 1.0,
        effect: float = nan, crit: bool = False,
    ) -> MetricResult:  # fmt: skip
        t = test or ShiftTest(nan, nan, nan, nan)
        failed = cls in ("High", "Low", "NodataFailMetric")
        return MetricResult(
            spec.name, spec.metric_groups, cls, failed, spec.critical, crit, spec.muted,
            t.p_value, t.estimate, t.lower, t.upper, ratio, effect, int(c.size), int(b.size), why,
        )  # fmt: skip

    if c.size == 0 or b.size == 0:
        side = "canary" if c.size == 0 else "baseline"
        if spec.nan_strategy == "replace":
            return result("Pass", f"no {side} data (NaN replaced by 0: nothing to compare)")
        if spec.must_have_data and not spec.critical:
            return result("NodataFailMetric", f"no {side} data and the metric must have data")
        return result("NoData", f"no {side} data", crit=spec.critical)
    if np.array_equal(np.sort(c), np.sort(b)):
        return result("Pass", "canary and baseline samples are identical")
    if np.unique(np.concatenate([c, b])).size == 1:
        return result("Pass", "one value across both samples")
    ratio = mean_ratio(c, b)
    effect = cles(c, b) if spec.effect_measure == "cles" else ratio
    if np.unique(c).size == 1 and np.unique(b).size == 1:
        d = float(c[0] - b[0])
        test = ShiftTest(d, d, d, 0.0)
        high, low = d > TOLERANCE * abs(d), d < -TOLERANCE * abs(d)
    else:
        test = shift_test(c, b, confidence)
        bound = TOLERANCE * abs(test.estimate)
        q = float(ndtri(0.5 + confidence / 2))
        high = rank_sum_z(bound, c, b) > q
        low = rank_sum_z(-bound, c, b) < -q
    a_dec, a_inc, c_dec, c_inc = spec.thresholds()
    ok_nan = math.isnan(effect)
    high = high and spec.direction in ("increase", "either") and (ok_nan or effect >= a_inc)
    low = low and spec.direction in ("decrease", "either") and (ok_nan or effect <= a_dec)
    how = f"shift {test.estimate:.4g} [{test.lower:.4g}, {test.upper:.4g}], ratio {ratio:.4g}"
    if high:
        crit = spec.critical and (ok_nan or effect >= c_inc)
        return result("High", f"higher than baseline: {how}", test, ratio, effect, crit)
    if low:
        crit = spec.critical and (ok_nan or effect <= c_dec)
        return result("Low", f"lower than baseline: {how}", test, ratio, effect, crit)
    return result(
        "Pass", f"no significant change in a watched direction: {how}", test, ratio, effect
    )


def _clean(values: np.ndarray, spec: MetricSpec) -> np.ndarray:
    """NaN strategy, then outlier strategy (infinities count as missing)."""
    values = np.where(np.isinf(values), np.nan, values)
    values = np.nan_to_num(values, nan=0.0) if spec.nan_strategy == "replace" else values
    values = values[~np.isnan(values)]
    return remove_outliers(values, spec.outlier_factor) if spec.outliers == "remove" else values


def judge(
    canary: Mapping[str, Sequence[float] | np.ndarray],
    baseline: Mapping[str, Sequence[float] | np.ndarray],
    specs: Sequence[MetricSpec],
    *,
    group_weights: Mapping[str, float] | None = None,
    pass_threshold: float = 95.0,
    marginal_threshold: float = 75.0,
    confidence: float = 0.98,
) -> CanaryResult:
    """Judge a canary run: classify every metric, score its groups, Pass / Marginal / Fail.

    A metric absent from `canary` or `baseline` has no data (NoData unless it must have data).
    """
    if not specs:
        raise DataError("judge: 'specs' is empty; name at least one metric")
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"judge: metric(s) {dupes} specified more than once")
    results = [
        classify_metric(s, canary.get(s.name, []), baseline.get(s.name, []), confidence=confidence)
        for s in specs
    ]
    scored = [r for r in results if not r.muted]
    groups: dict[str, list[MetricResult]] = {}
    for r in scored:
        for g in r.groups:
            groups.setdefault(g, []).append(r)
    group_scores = {g: _group_score(rs) for g, rs in groups.items()}
    weights = _group_weights(list(groups), group_weights or {})
    critical = [r for r in scored if r.critical_failure]
    nodata = sum(r.classification == "NoData" for r in scored)
    if critical:
        score, reason = 0.0, f"critical metric {critical[0].name!r} failed: {critical[0].reason}"
    elif scored and nodata / len(scored) >= 0.5:
        score, reason = 0.0, f"{nodata} of {len(scored)} metrics have no data (>= 50 % fails)"
    else:
        score = round(sum(weights[g] * _effective(s) for g, s in group_scores.items()) / 100, 2)
        reason = ""
    if score >= pass_threshold:
        verdict = "Pass"
    elif score >= marginal_threshold:
        verdict = "Marginal"
    else:
        verdict = "Fail"
    shown = {g: (math.nan if s is None else s) for g, s in group_scores.items()}
    return CanaryResult(score, verdict, shown, bool(critical), reason, results)


def _group_score(results: list[MetricResult]) -> float | None:
    """100 · Pass / (Pass + High + Low + NodataFailMetric); None when none of those."""
    counted = [
        r for r in results if r.classification in ("Pass", "High", "Low", "NodataFailMetric")
    ]
    if not counted:
        return None
    return 100.0 * sum(r.classification == "Pass" for r in counted) / len(counted)


def _effective(score: float | None) -> float:
    return 100.0 if score is None else score


def _group_weights(groups: list[str], given: Mapping[str, float]) -> dict[str, float]:
    """Explicit weights; groups without one share what is left of 100 equally (Kayenta)."""
    unknown = set(given) - set(groups)
    if unknown:
        raise DataError(f"judge: weights for unknown group(s) {sorted(unknown)}; groups {groups}")
    if any(w < 0 for w in given.values()):
        raise DataError(f"judge: group weights must be >= 0, got {dict(given)}")
    rest = [g for g in groups if g not in given]
    left = 100.0 - sum(given.values())
    if rest and left < 0:
        raise DataError(f"judge: group weights sum to {sum(given.values())} > 100")
    out = {g: float(w) for g, w in given.items()}
    out.update({g: left / len(rest) for g in rest})
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
        values = pd.to_numeric(part["value"], errors="coerce")
        out[str(variant)][str(metric)] = values.to_numpy(dtype=np.float64)
    return out["canary"], out["baseline"]
