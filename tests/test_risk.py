"""ChangeRiskModel: the estimator contract, calibration, explanations, serialisation, quality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import DataError, NotFittedError
from vsmml.models import evaluation as ev
from vsmml.models.base import check_is_fitted, time_ordered_split
from vsmml.models.baselines import lapredict
from vsmml.models.calibration import IsotonicCalibrator, calibrator_from_dict
from vsmml.models.risk import ChangeRiskModel
from vsmml.models.risk_features import COPY_FEATURE, copies_in_window, describe, time_days

JIT = ["ns", "nd", "nf", "entropy", "la", "ld", "lt", "fix"]
JIT += ["ndev", "age", "nuc", "exp", "rexp", "sexp"]


def changes(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    """JIT metrics plus two delivery-context columns, failing by a known logistic function."""
    rng = np.random.default_rng(seed)
    nf = rng.integers(1, 20, n).astype(float)
    la = np.round(rng.lognormal(3.0, 1.5, n))
    ld = np.round(rng.lognormal(2.0, 1.5, n))
    exp = rng.integers(0, 2000, n).astype(float)
    x = pd.DataFrame(
        {
            "ns": rng.integers(1, 4, n).astype(float),
            "nd": np.minimum(nf, rng.integers(1, 6, n)).astype(float),
            "nf": nf,
            "entropy": rng.random(n) * np.log2(nf + 1),
            "la": la,
            "ld": ld,
            "lt": np.round(rng.lognormal(6, 1, n)) * nf,
            "fix": (rng.random(n) < 0.3).astype(float),
            "ndev": rng.integers(1, 30, n).astype(float),
            "age": rng.random(n) * 200,
            "nuc": rng.integers(1, 50, n).astype(float),
            "exp": exp,
            "rexp": exp * rng.random(n) / 10,
            "sexp": exp * rng.random(n),
            "committed_at": pd.date_range("2024-01-01", periods=n, freq="37min", tz="UTC"),
            "pipeline_flakiness": rng.random(n) * 0.2,
            "review_depth": rng.integers(0, 5, n).astype(float),
        }
    )
    logit = -3.2 + 0.55 * np.log1p(la + ld) + 0.8 * x["fix"] - 0.25 * np.log1p(exp)
    logit += 6.0 * x["pipeline_flakiness"] - 0.3 * x["review_depth"]
    y = pd.Series((rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int), name="bug")
    return x, y


@pytest.fixture(scope="module")
def fitted() -> tuple[ChangeRiskModel, pd.DataFrame, pd.Series]:
    x, y = changes(3000, 0)
    return ChangeRiskModel(n_jobs=1).fit(x, y), x, y


def test_fit_returns_self_with_learned_state(
    fitted: tuple[ChangeRiskModel, pd.DataFrame, pd.Series],
) -> None:
    model, x, _ = fitted
    assert list(model.classes_) == [0, 1]
    assert model.input_columns_ == [c for c in x.columns if c != "committed_at"]
    assert model.best_params_["n_estimators"] >= 50
    assert len(model.best_params_["trees"].split(",")) == 1  # one tree size picked
    assert COPY_FEATURE not in model.feature_names_  # off by default (see the docstring)
    assert model.training_period_[0].startswith("2024-01-01")
    assert ChangeRiskModel().get_params()["blend_weight"] == 0.5


def test_unfitted_model_raises_not_fitted() -> None:
    x, _ = changes(10, 1)
    with pytest.raises(NotFittedError):
        ChangeRiskModel().predict_proba(x)
    with pytest.raises(ValueError, match="not fitted"):
        check_is_fitted(ChangeRiskModel())


def test_predict_proba_shape_and_rows_sum_to_one(
    fitted: tuple[ChangeRiskModel, pd.DataFrame, pd.Series],
) -> None:
    model, x, _ = fitted
    proba = model.predict_proba(x.head(50))
    assert proba.shape == (50, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert set(np.unique(model.predict(x.head(50)))) <= {0.0, 1.0}


def test_explanations_sum_to_the_raw_score(
    fitted: tuple[ChangeRiskModel, pd.DataFrame, pd.Series],
) -> None:
    model, x, _ = fitted
    rows = x.head(20)
    raw = model.decision_function(rows)
    np.testing.assert_allclose(model.contributions(rows).sum(axis=1), raw, atol=1e-6)
    reasons = model.explain(rows, top=3)
    assert len(reasons) == 60
    per_change = reasons.groupby("row").agg(
        listed=("contribution", "sum"), bias=("bias", "first"), rest=("rest", "first")
    )
    total = per_change["listed"] + per_change["bias"] + per_change["rest"]
    np.testing.assert_allclose(total.to_numpy(), raw, atol=1e-6)
    assert reasons["text"].str.contains(r": [+-]\d", regex=True).all()
    first = reasons[reasons["row"] == 0]
    assert first["contribution"].abs().is_monotonic_decreasing


def test_wording_is_for_developers() -> None:
    assert describe("la", 1240) == "adds 1,240 lines (la)"
    assert describe("fix", 1) == "is a bug fix (fix)"
    assert describe("review_depth", 2) == "has review_depth = 2"
    assert describe("la", float("nan")) == "has no value for la"


def test_missing_values_absent_and_extra_columns_are_accepted(
    fitted: tuple[ChangeRiskModel, pd.DataFrame, pd.Series],
) -> None:
    model, x, _ = fitted
    rows = x.head(5).copy()
    rows.loc[rows.index[0], "la"] = np.nan
    rows = rows.drop(columns=["review_depth"])
    rows["unseen_context"] = 3.0
    proba = model.predict_proba(rows)
    assert np.isfinite(proba).all()


def test_fit_uses_any_numeric_context_and_refuses_text() -> None:
    x, y = changes(600, 2)
    only_jit = x[[*JIT, "committed_at"]]
    model = ChangeRiskModel(n_estimators=20, num_leaves=7, n_jobs=1).fit(only_jit, y)
    assert model.n_features_in_ == 14
    with pytest.raises(DataError, match="numeric"):
        ChangeRiskModel().fit(x.assign(service="a"), y)
    with pytest.raises(DataError, match="committed_at"):
        ChangeRiskModel().fit(x.drop(columns="committed_at"), y)
    with pytest.raises(DataError, match="0/1"):
        ChangeRiskModel().fit(x, y * 2)


def test_same_seed_same_model() -> None:
    x, y = changes(800, 3)
    a = ChangeRiskModel(random_state=7, n_jobs=1).fit(x, y).predict_proba(x.head(30))
    b = ChangeRiskModel(random_state=7, n_jobs=1).fit(x, y).predict_proba(x.head(30))
    np.testing.assert_array_equal(a, b)


def test_round_trips_through_bytes_and_a_folder(
    fitted: tuple[ChangeRiskModel, pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    model, x, _ = fitted
    expected = model.predict_proba(x.head(40))
    np.testing.assert_allclose(
        ChangeRiskModel.from_bytes(model.to_bytes()).predict_proba(x.head(40)), expected
    )
    model.save(tmp_path / "risk")
    assert (tmp_path / "risk" / "model.txt").read_text().startswith("tree")
    np.testing.assert_allclose(
        ChangeRiskModel.load(tmp_path / "risk").predict_proba(x.head(40)), expected
    )
    with pytest.raises(DataError, match="format"):
        ChangeRiskModel.from_bytes(b'{"format": "other", "booster": ""}')


def test_isotonic_calibration_and_calibrator_state() -> None:
    x, y = changes(800, 4)
    model = ChangeRiskModel(calibration="isotonic", n_estimators=30, n_jobs=1).fit(x, y)
    assert isinstance(model.calibrator_, IsotonicCalibrator)
    assert calibrator_from_dict(model.calibrator_.to_dict()).to_dict()["kind"] == "isotonic"
    with pytest.raises(DataError, match="calibration"):
        ChangeRiskModel(calibration="beta").fit(x, y)
    with pytest.raises(DataError, match="unknown"):
        calibrator_from_dict({"kind": "beta"})


def test_time_ordered_split_keeps_the_latest_rows_for_testing() -> None:
    ts = pd.Series(pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"], utc=True))
    first, last = time_ordered_split(ts, 0.67)
    assert list(first) == [1, 2] and list(last) == [0]
    with pytest.raises(DataError):
        time_ordered_split(ts, 1.0)


@pytest.mark.slow
def test_calibrated_and_better_than_lapredict_on_held_out_changes() -> None:
    x, y = changes(24_000, 5)
    first, last = time_ordered_split(x["committed_at"], 0.8)
    model = ChangeRiskModel(n_jobs=1).fit(x.iloc[first], y.iloc[first])
    prob = model.predict_proba(x.iloc[last])[:, 1]
    y_test = y.iloc[last].to_numpy()
    assert ev.expected_calibration_error(y_test, prob) <= 0.05
    frame = x.assign(bug=y)
    la_prob = lapredict(frame.iloc[first], frame.iloc[last])
    assert ev.auc(y_test, prob) > ev.auc(y_test, la_prob) + 0.03


def test_copies_count_identical_changes_of_the_previous_30_days() -> None:
    big = [10.0, 0.0, 1.0, 1.0, 1.0, 0.5]
    tiny = [3.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    other = [20.0, 1.0, 2.0, 1.0, 1.0, 1.0]
    sig = np.array([big, big, tiny, big, tiny, other, big])
    days = np.array([0.0, 40.0, 41.0, 45.0, 80.0, 100.0, 45.0])
    got = copies_in_window(sig, days)
    # first row: nothing earlier, history shorter than 30 days -> unknown; the copy 40 days
    # later is out of the window; tiny changes never count; rows at the same time count each
    # other; later rows never count
    np.testing.assert_array_equal(got, [np.nan, 0.0, 0.0, 2.0, 0.0, 0.0, 2.0])
    perm = np.array([6, 3, 5, 0, 2, 1, 4])
    np.testing.assert_array_equal(copies_in_window(sig[perm], days[perm]), got[perm])
    with_gap = days.copy()
    with_gap[1] = np.nan
    assert np.isnan(copies_in_window(sig, with_gap)[1])
    assert np.isnan(copies_in_window(sig, np.full(7, np.nan))).all()


def test_time_days_reads_numbers_datetimes_and_utc_strings() -> None:
    np.testing.assert_array_equal(time_days(np.array([86400.0])), [1.0])
    stamps = np.array(["1970-01-02T00:00:00Z", "1970-01-03T00:00:00+00:00", ""], dtype=object)
    np.testing.assert_array_equal(time_days(stamps), [1.0, 2.0, np.nan])
    np.testing.assert_array_equal(time_days(np.array(["1970-01-04"], "datetime64[D]")), [3.0])
    with pytest.raises(DataError, match="ISO-8601"):
        time_days(np.array(["yesterday"], dtype=object))
    with pytest.raises(DataError, match="timestamps"):
        time_days(np.array([True]))


def test_a_repeated_change_is_recognised_and_explained() -> None:
    x, y = changes(1500, 6)
    copies = x.iloc[1000:1100].assign(committed_at=lambda f: f["committed_at"] + pd.Timedelta("2h"))
    frame = pd.concat([x, copies], ignore_index=True)
    labels = pd.concat([y, pd.Series(np.zeros(100, dtype=int))], ignore_index=True)
    model = ChangeRiskModel(n_estimators=30, num_leaves=7, copy_history=True, n_jobs=1)
    model.fit(frame, labels)
    assert model.best_params_["trees"] == "7:30"
    values = model.contributions(frame)[COPY_FEATURE]
    assert values.abs().max() > 0
    reasons = model.explain(frame, top=len(model.feature_names_))
    words = reasons.loc[reasons["feature"] == COPY_FEATURE, "text"]
    assert words.str.contains("cherry-pick").any()
    assert words.str.contains("is not a copy").any()
    plain = ChangeRiskModel(n_estimators=30, num_leaves=7, n_jobs=1)  # the default: no copies
    assert COPY_FEATURE not in plain.fit(frame, labels).feature_names_


def test_picking_one_tree_size_by_default_or_averaging_all() -> None:
    x, y = changes(800, 7)
    model = ChangeRiskModel(n_jobs=1).fit(x, y)
    assert len(model.best_params_["trees"].split(",")) == 1
    assert model.best_params_["num_leaves"] in (7, 15, 31)
    averaged = ChangeRiskModel(average_sizes=True, n_jobs=1).fit(x, y)
    assert len(averaged.best_params_["trees"].split(",")) == 3
    assert averaged.booster_.num_trees() == sum(
        int(t.split(":")[1]) for t in averaged.best_params_["trees"].split(",")
    )
