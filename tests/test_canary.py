"""Canary judge: Kayenta's documented semantics on hand-made samples whose outcome is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vsmml.canary import (
    MetricSpec,
    classify_metric,
    cles,
    judge,
    mean_ratio,
    rank_sum_z,
    remove_outliers,
    samples_to_mappings,
    shift_test,
)
from vsmml.errors import DataError

RNG = np.random.default_rng(7)
BASE = 100 + RNG.normal(0, 5, 200)


def test_zero_inflated_error_count_with_a_significant_rise_is_high() -> None:
    rng = np.random.default_rng(3)
    baseline = (rng.random(200) < 0.05).astype(float)  # mostly 0, a few 1s
    canary = (rng.random(200) < 0.30).astype(float)
    r = classify_metric(MetricSpec("errors", "increase"), canary, baseline)
    assert r.p_value < 1e-6
    assert r.shift == 0.0  # the centre of the shift is 0: every pairwise median is 0 ...
    assert (r.classification, r.failed) == ("High", True)  # ... yet every shift <= 0 is rejected
    assert r.ratio == pytest.approx(canary.mean() / baseline.mean())


def test_kayenta_reference_cases() -> None:
    """Outcomes from Kayenta's own classifier tests (ClassifierSuite)."""
    either = MetricSpec("m", "either", allowed_decrease=0.8, allowed_increase=1.2)
    high = [54.9, 54.5, 55.1, 55.6, 57.4]
    assert classify_metric(MetricSpec("m"), [10.0] * 5, [0.0] * 5).classification == "High"
    r = classify_metric(either, high, [0.0] * 5)
    assert r.classification == "High" and math.isnan(r.ratio)  # effect NaN: ignored
    assert classify_metric(either, [0.0] * 5, high).classification == "Low"
    assert classify_metric(either, [0.0] * 5, [0.0] * 5).classification == "Pass"
    crit = MetricSpec("m", critical=True, critical_decrease=0.8, critical_increase=1.2)
    small = [0.05, 0.05, 0.0167, 0.0167, 0.0167, 0.05, 0.0333, 0.05, 0.05, 0.1333]
    r = classify_metric(crit, small, [0.0] * 10)
    assert (r.classification, r.critical_failure) == ("High", True)
    leading_zero = classify_metric(MetricSpec("m", "decrease"), [0.0, 1, 1, 1, 1], [1.0] * 5)
    assert leading_zero.classification == "Pass"


def test_shift_estimate_and_confidence_interval() -> None:
    canary = BASE + 3.0
    t = shift_test(canary, BASE, 0.98)
    pairwise = np.median(np.subtract.outer(canary, BASE))
    assert t.estimate == pytest.approx(pairwise, abs=0.05)  # Hodges-Lehmann centre
    assert t.lower < 3.0 < t.upper
    assert t.upper - t.lower == pytest.approx(2 * 2.326 * 5 * math.sqrt(2 / 200), rel=0.15)
    above, below = t.estimate + 1e-6, t.estimate - 1e-6
    assert rank_sum_z(above, canary, BASE) <= 0 <= rank_sum_z(below, canary, BASE)
    wider = shift_test(canary, BASE, 0.999)
    assert wider.lower < t.lower and wider.upper > t.upper
    with pytest.raises(DataError, match="at least one value"):
        shift_test(np.array([]), BASE)


def test_effect_thresholds_are_ratios_of_means() -> None:
    spec = MetricSpec("latency", "increase", allowed_increase=1.5)
    up20, up60 = BASE * 1.2, BASE * 1.6
    r20 = classify_metric(spec, up20, BASE)
    assert r20.p_value < 1e-10 and r20.classification == "Pass"  # significant, below 1.5x
    assert r20.ratio == pytest.approx(mean_ratio(up20, BASE))
    assert classify_metric(spec, up60, BASE).classification == "High"
    down = MetricSpec("rps", "decrease", allowed_decrease=0.9)
    assert classify_metric(down, BASE * 0.95, BASE).classification == "Pass"
    assert classify_metric(down, BASE * 0.8, BASE).classification == "Low"


def test_tolerance_of_a_quarter_of_the_shift_keeps_tiny_shifts_out() -> None:
    """Kayenta: High needs the interval above 25 % of |estimate| (here it is not)."""
    rng = np.random.default_rng(11)
    base = rng.normal(100, 5, 40)
    canary = rng.normal(101.5, 5, 40)  # a small shift, interval wide compared with it
    r = classify_metric(MetricSpec("m", "increase"), canary, base)
    assert r.lower < 0.25 * abs(r.shift)
    assert r.classification == "Pass"


def test_cles_effect_size() -> None:
    assert cles(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert cles(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.5
    assert cles(np.array([2.0]), np.array([1.0, 2.0, 3.0])) == 0.5
    spec = MetricSpec("m", "increase", effect_measure="cles", allowed_increase=0.8)
    r = classify_metric(spec, BASE + 40, BASE)  # no overlap: every canary value is higher
    assert r.effect == 1.0 and r.classification == "High"
    weak = classify_metric(spec, BASE + 2, BASE)  # significant but CLES about 0.6
    assert 0.55 < weak.effect < 0.7 and weak.classification == "Pass"


def test_only_watched_directions_are_classified() -> None:
    up = classify_metric(MetricSpec("errors", "increase"), BASE * 0.5, BASE)
    assert (up.classification, up.failed) == ("Pass", False)  # a drop in errors is fine
    down = classify_metric(MetricSpec("rps", "decrease"), BASE * 0.5, BASE)
    assert (down.classification, down.failed) == ("Low", True)


def test_nan_strategies_and_missing_data() -> None:
    nan = [np.nan] * 10
    assert classify_metric(MetricSpec("m"), nan, BASE).classification == "NoData"
    replace = classify_metric(MetricSpec("m", nan_strategy="replace"), [np.nan, 1.0] * 20, BASE)
    assert replace.canary_n == 40  # NaN became 0
    assert classify_metric(MetricSpec("m", nan_strategy="replace"), [], BASE).classification == (
        "Pass"
    )
    must = classify_metric(MetricSpec("m", must_have_data=True), [], BASE)
    assert (must.classification, must.failed) == ("NodataFailMetric", True)
    crit = classify_metric(MetricSpec("m", critical=True), [], BASE)
    assert (crit.classification, crit.critical_failure) == ("NoData", True)


def test_outlier_removal_is_off_by_default_and_uses_widened_iqr_fences() -> None:
    values = np.r_[np.arange(1.0, 101.0), 10_000.0]
    np.testing.assert_array_equal(remove_outliers(values), values[:-1])
    # fences: min(P1, Q1 - 3 IQR) and max(P99, Q3 + 3 IQR): nothing goes from a flat body
    np.testing.assert_array_equal(remove_outliers(np.full(10, 5.0)), np.full(10, 5.0))
    spiky = np.r_[BASE[:100], [1e6]]
    kept = classify_metric(MetricSpec("m"), spiky, BASE)
    dropped = classify_metric(MetricSpec("m", outliers="remove"), spiky, BASE)
    assert kept.canary_n == 101 and dropped.canary_n == 100
    assert kept.ratio > 10 * dropped.ratio


def test_identical_and_constant_samples_pass_and_constants_compare_exactly() -> None:
    assert classify_metric(MetricSpec("m"), BASE[::-1], BASE).classification == "Pass"
    assert classify_metric(MetricSpec("m"), [2.0] * 5, [2.0] * 7).classification == "Pass"
    r = classify_metric(MetricSpec("m"), [3.0] * 5, [2.0] * 5)
    assert (r.classification, r.shift, r.lower, r.upper) == ("High", 1.0, 1.0, 1.0)
    assert classify_metric(MetricSpec("m"), [1.0] * 5, [2.0] * 5).classification == "Low"


def test_critical_needs_the_critical_effect_to_fail_the_run() -> None:
    metrics = {"errors": BASE * 1.5, "latency": BASE}
    base = {"errors": BASE, "latency": BASE}
    mild = MetricSpec("errors", "increase", critical=True, critical_increase=2.0)
    res = judge(metrics, base, [mild, MetricSpec("latency")])
    assert not res.critical_failed
    assert res.score == 50.0  # a plain failure of one metric in the default group
    severe = MetricSpec("errors", "increase", critical=True, critical_increase=1.2)
    res = judge(metrics, base, [severe, MetricSpec("latency")])
    assert (res.critical_failed, res.score, res.classification) == (True, 0.0, "Fail")
    assert "errors" in res.reason


def test_nodata_is_left_out_of_group_scores_and_half_nodata_fails() -> None:
    specs = [MetricSpec(n) for n in ("a", "b", "c", "d")]
    full = dict.fromkeys("abcd", BASE)
    one_missing = dict.fromkeys("abc", BASE)
    res = judge(one_missing, full, specs)
    assert res.score == 100.0 and res.classification == "Pass"  # NoData d counts for nothing
    assert [m.classification for m in res.metrics] == ["Pass", "Pass", "Pass", "NoData"]
    two_missing = dict.fromkeys("ab", BASE)
    res = judge(two_missing, full, specs)
    assert (res.score, res.classification) == (0.0, "Fail")
    assert "2 of 4 metrics have no data" in res.reason
    # a NoData metric next to a failing one: the group scores on the failing one only
    res = judge({"a": BASE * 2, "b": BASE}, full, specs[:3])
    assert res.group_scores["default"] == 50.0


def test_group_weights_groups_and_muted_metrics() -> None:
    specs = [
        MetricSpec("err", "increase", group="errors"),
        MetricSpec("p99", "increase", group="latency"),
        MetricSpec("p50", "increase", groups=("latency", "extra")),
        MetricSpec("noise", "increase", group="latency", muted=True),
    ]
    canary = {"err": BASE * 2, "p99": BASE, "p50": BASE, "noise": BASE * 3}
    baseline = dict.fromkeys(canary, BASE)
    res = judge(canary, baseline, specs, group_weights={"errors": 40})
    assert res.group_scores == {"errors": 0.0, "latency": 100.0, "extra": 100.0}
    assert res.score == pytest.approx(0 * 0.4 + 100 * 0.3 + 100 * 0.3)
    assert res.classification == "Fail"
    assert res.to_frame().set_index("name").loc["noise", "classification"] == "High"
    equal = judge(canary, baseline, specs)
    assert equal.score == pytest.approx(200 / 3, abs=0.01)
    with pytest.raises(DataError, match="unknown group"):
        judge(canary, baseline, specs, group_weights={"nope": 10})
    with pytest.raises(DataError, match="> 100"):
        judge(canary, baseline, specs, group_weights={"errors": 90, "latency": 20})


def test_marginal_between_the_thresholds() -> None:
    specs = [MetricSpec(f"m{i}") for i in range(5)]
    canary = {f"m{i}": BASE for i in range(5)} | {"m0": BASE * 2}
    res = judge(canary, dict.fromkeys(canary, BASE), specs)
    assert (res.score, res.classification) == (80.0, "Marginal")
    assert res.to_dict()["classification"] == "Marginal"


def test_bad_specs_and_inputs_raise() -> None:
    with pytest.raises(DataError, match="direction"):
        MetricSpec("m", "sideways")
    with pytest.raises(DataError, match="nan_strategy"):
        MetricSpec("m", nan_strategy="ignore")
    with pytest.raises(DataError, match="empty"):
        judge({}, {}, [])
    with pytest.raises(DataError, match="more than once"):
        judge({}, {}, [MetricSpec("m"), MetricSpec("m")])


def test_samples_to_mappings() -> None:
    frame = pd.DataFrame(
        {
            "metric": ["a", "a", "a", "b"],
            "variant": ["canary", "baseline", "canary", "baseline"],
            "value": [1.0, 2.0, "x", 4.0],
        }
    )
    c, b = samples_to_mappings(frame)
    np.testing.assert_array_equal(c["a"], [1.0, np.nan])
    assert list(b) == ["a", "b"]
    with pytest.raises(DataError, match="variant"):
        samples_to_mappings(frame.assign(variant="other"))
    with pytest.raises(DataError, match="missing column"):
        samples_to_mappings(frame.drop(columns="value"))
