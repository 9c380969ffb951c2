"""Metrics and protocols of vsmml.models.evaluation on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import DataError
from vsmml.models import evaluation as ev


def test_auc_counts_ties_half_and_is_nan_for_one_class() -> None:
    assert ev.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert ev.auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert np.isnan(ev.auc([1, 1], [0.2, 0.3]))


def test_brier_f1_and_pr_auc_by_hand() -> None:
    y, p = [0, 1, 1, 0], [0.2, 0.9, 0.4, 0.6]
    assert ev.brier(y, p) == pytest.approx((0.04 + 0.01 + 0.36 + 0.36) / 4)
    assert ev.f1(y, p) == pytest.approx(2 * 1 / (2 + 2))  # tp=1, predicted 2, actual 2
    assert ev.f1([0, 0], [0.1, 0.2]) == 0.0
    assert ev.pr_auc([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2]) == pytest.approx(1.0)


def test_ece_weights_bins_by_size() -> None:
    assert ev.expected_calibration_error([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9]) == pytest.approx(0.25)


def test_recall_at_20_percent_effort_inspects_by_risk_per_line() -> None:
    # densities 0.9, 0.1, 0.2, 0.05 -> order 0, 2, 1, 3; cumulative effort 1, 5, 6, 10 (budget 2)
    y, s, effort = [1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2], [1, 1, 4, 4]
    assert ev.recall_at_effort(y, s, effort, 0.2) == pytest.approx(0.5)
    assert ev.recall_at_effort(y, s, effort, 1.0) == pytest.approx(1.0)


def test_popt_optimal_worst_and_in_between() -> None:
    y, effort = [1, 0, 1], [1, 1, 2]
    # optimal area .6875, worst .3125; this ranking (2, 0, 1) has area .5625
    assert ev.popt(y, [0.2, 0.1, 0.9], effort) == pytest.approx(1 - 0.125 / 0.375)
    assert ev.popt(y, [0.9, 0.0, 0.5], effort) == pytest.approx(1.0)
    assert ev.popt(y, [0.1, 0.9, 0.8], effort) == pytest.approx(0.0)
    assert np.isnan(ev.popt([0, 0], [0.1, 0.2], [1, 1]))


def test_metrics_refuse_mismatched_shapes() -> None:
    with pytest.raises(DataError, match="equal length"):
        ev.auc([0, 1], [0.1])
    with pytest.raises(DataError, match="effort"):
        ev.popt([0, 1], [0.1, 0.2], [1, 2, 3])


def _frame(n: int, seed: int, start: str = "2020-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    la = rng.integers(1, 500, n).astype(float)
    return pd.DataFrame(
        {
            "la": la,
            "ld": rng.integers(0, 50, n).astype(float),
            "committed_at": pd.date_range(start, periods=n, freq="7D", tz="UTC"),
            "bug": (rng.random(n) < la / 600).astype(int),
        }
    )


def _la_scorer(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    return np.asarray(test["la"].to_numpy(float) / 500.0)


def test_protocols_split_by_time_and_report_every_metric() -> None:
    frames = {"a": _frame(100, 0), "b": _frame(60, 1)}
    wp = ev.within_project(frames, {"la": _la_scorer})
    assert list(wp["n_test"]) == [20, 12]
    assert set(ev.METRICS) <= set(wp.columns)
    cp = ev.cross_project(frames, {"la": _la_scorer})
    assert list(cp["n_train"]) == [60, 100]
    tw = ev.timewise({"a": frames["a"]}, {"la": _la_scorer}, folds=5)
    assert list(tw["fold"]) == [1, 2, 3, 4]
    dr = ev.drift({"a": frames["a"]}, {"la": _la_scorer})
    assert dr["quarter"].is_monotonic_increasing and dr["n"].sum() == 50
    with pytest.raises(DataError, match="at least 2"):
        ev.cross_project({"a": frames["a"]}, {"la": _la_scorer})


def test_cli_prints_metrics_for_baselines_on_a_fixture_slice() -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from vsmml.cli import app

    data = Path(__file__).resolve().parents[1] / "data" / "fixtures" / "jit"
    base = ["evaluate", "risk", "--data", str(data / "jdt_head_k_feature.csv")]
    runner = CliRunner()
    wp = runner.invoke(app, [*base, "--baselines-only"])
    assert wp.exit_code == 0, wp.output
    assert "lr_jit" in wp.output and "lapredict" in wp.output and "popt" in wp.output
    drift = runner.invoke(app, [*base, "--baselines-only", "--protocol", "drift"])
    assert drift.exit_code == 0 and "quarter" in drift.output
    bad = runner.invoke(app, [*base, "--protocol", "loo"])
    assert bad.exit_code != 0
