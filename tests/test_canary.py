"""Canary judge on hand-made samples whose outcome is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsmml.canary import (
    MetricSpec,
    classify_metric,
    hodges_lehmann,
    judge,
    relative_effect,
    remove_outliers,
    samples_to_mappings,
)
from vsmml.errors import DataError

RNG = np.random.default_rng(7)
BASE = 100 + RNG.normal(0, 5, 60)


def test_hodges_lehmann_is_median_pairwise_difference() -> None:
    assert hodges_lehmann(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 2.0
    big = np.arange(3000.0)
    assert hodges_lehmann(big + 10, big) == pytest.approx(10, abs=2)
    assert relative_effect(10.0, np.array([50.0, 50.0])) == 0.2
    assert relative_effect(1.0, np.array([0.0, 0.0, 0.0])) == np.inf
    assert relative_effect(0.0, np.zeros(3)) == 0.0
    assert relative_effect(1.0, np.array([0.0, 0.0, 4.0])) == 0.75  # median 0 → mean


def test_iqr_outlier_removal_keeps_the_body() -> None:
    values = np.array([10.0, 11, 12, 13, 14, 1000])
    np.testing.assert_array_equal(remove_outliers(values), values[:-1])
    same = np.array([5.0, 5, 5, 5, 500])
    np.testing.assert_array_equal(remove_outliers(same), same)  # IQR 0: keep all
    np.testing.assert_array_equal(remove_outliers(values[:3]), values[:3])


def test_small_shift_within_25_percent_passes_even_if_significant() -> None:
    r = classify_metric(MetricSpec("latency", "increase"), BASE * 1.10, BASE)
    assert r.p_value < 0.02
    assert r.classification == "Pass"
    assert not r.failed


def test_large_increase_fails_an_increase_metric_only() -> None:
    canary = BASE * 1.5
    up = classify_metric(MetricSpec("errors", "increase"), canary, BASE)
    assert (up.classification, up.failed) == ("High", True)
    assert up.effect == pytest.approx(0.5, abs=0.05)
    down = classify_metric(MetricSpec("throughput", "decrease"), canary, BASE)
    assert (down.classification, down.failed) == ("High", False)
    either = classify_metric(MetricSpec("cpu"), BASE * 0.5, BASE)
    assert (either.classification, either.failed) == ("Low", True)


def test_large_but_insignificant_difference_passes() -> None:
    r = classify_metric(MetricSpec("x"), [1.0, 50.0, 3.0], [2.0, 40.0, 2.5])
    assert r.p_value > 0.02
    assert r.classification == "Pass"


def test_outliers_in_canary_do_not_fail_it() -> None:
    canary = np.concatenate([BASE[:55], [1e6, 2e6]])
    r = classify_metric(MetricSpec("latency", "increase"), canary, BASE)
    assert r.classification == "Pass"
    assert r.canary_n == 55  # counts are of the samples judged, after outlier removal


def test_half_missing_fails_as_nodata() -> None:
    canary = BASE.copy()
    canary[:30] = np.nan
    r = classify_metric(MetricSpec("x"), canary, BASE)
    assert (r.classification, r.failed) == ("NoData", True)
    ok = BASE.copy()
    ok[:29] = np.nan  # 48 % missing: judged normally
    assert classify_metric(MetricSpec("x"), ok, BASE).classification == "Pass"
    assert classify_metric(MetricSpec("x"), [], BASE).classification == "NoData"


def test_identical_constant_samples_pass() -> None:
    r = classify_metric(MetricSpec("x"), [0.0] * 10, [0.0] * 10)
    assert r.classification == "Pass" and r.p_value == 1.0


def test_run_scores_groups_by_weight_and_thresholds() -> None:
    specs = [
        MetricSpec("err", "increase", group="errors"),
        MetricSpec("p99", "increase", group="latency"),
        MetricSpec("p50", "increase", group="latency"),
    ]
    canary = {"err": BASE * 2, "p99": BASE, "p50": BASE}
    baseline = {"err": BASE, "p99": BASE, "p50": BASE}
    equal = judge(canary, baseline, specs)
    assert equal.group_scores == {"errors": 0.0, "latency": 100.0}
    assert equal.score == 50.0 and equal.classification == "Fail"
    weighted = judge(canary, baseline, specs, group_weights={"latency": 80})
    assert weighted.score == pytest.approx(80.0)  # errors gets the remaining 20
    assert weighted.classification == "Marginal"
    lenient = judge(canary, baseline, specs, group_weights={"latency": 80}, marginal_threshold=85)
    assert lenient.classification == "Fail"
    clean = judge(baseline, baseline, specs)
    assert (clean.score, clean.classification) == (100.0, "Pass")
    assert len(clean.to_frame()) == 3 and clean.to_dict()["score"] == 100.0


def test_critical_metric_failure_fails_the_whole_run() -> None:
    specs = [MetricSpec("err", "increase", critical=True)] + [MetricSpec(f"m{i}") for i in range(9)]
    baseline = {s.name: BASE for s in specs}
    canary = {**baseline, "err": BASE * 3}
    res = judge(canary, baseline, specs)
    assert res.critical_failed
    assert (res.score, res.classification) == (0.0, "Fail")


def test_long_frame_input_and_errors() -> None:
    frame = pd.DataFrame(
        {
            "metric": ["a"] * 4,
            "variant": ["canary", "canary", "baseline", "baseline"],
            "value": [1.0, 2.0, 1.0, 2.0],
        }
    )
    canary, baseline = samples_to_mappings(frame)
    assert canary["a"].tolist() == [1.0, 2.0]
    with pytest.raises(DataError, match="variant"):
        samples_to_mappings(frame.assign(variant="other"))
    with pytest.raises(DataError, match="missing column"):
        samples_to_mappings(frame.drop(columns="value"))
    with pytest.raises(DataError, match="direction"):
        MetricSpec("a", "up")
    with pytest.raises(DataError, match="empty"):
        judge(canary, baseline, [])
    with pytest.raises(DataError, match="unknown group"):
        judge(canary, baseline, [MetricSpec("a")], group_weights={"nope": 1})
    with pytest.raises(DataError, match="sum"):
        judge(canary, baseline, [MetricSpec("a")], group_weights={"default": 0})
