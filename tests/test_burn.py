"""Tests for BurnRiskModel (contract, calibration, explanations, serialisation) and the
event-level burn evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import DataError, NotFittedError
from vsmml.models.burn import BurnRiskModel
from vsmml.models.burn_eval import (
    choose_threshold,
    cross_validated_threshold,
    paired_lead_gain,
    planted_burn,
    runs,
    score_alerts,
    time_folds,
)


def _data(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    burn = rng.exponential(2.0, n)
    noise = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(burn - 6.0) * 1.5))
    y = pd.Series((rng.random(n) < p).astype(int))
    ts = pd.date_range("2026-01-05", periods=n, freq="5min", tz="UTC")
    return pd.DataFrame({"timestamp": ts, "burn_5m": burn, "noise": noise}), y


def test_fit_predict_contract() -> None:
    X, y = _data()  # noqa: N806
    m = BurnRiskModel(random_state=1, n_jobs=1)
    with pytest.raises(NotFittedError):
        m.predict_proba(X)
    assert m.fit(X, y) is m
    p = m.predict_proba(X)
    assert p.shape == (len(X), 2) and np.allclose(p.sum(axis=1), 1.0)
    assert m.classes_.tolist() == [0, 1]
    assert m.feature_names_ == ["burn_5m", "noise"]
    hi = X.assign(burn_5m=12.0).iloc[:1]
    lo = X.assign(burn_5m=0.1).iloc[:1]
    assert m.predict_proba(hi)[0, 1] > 0.8 > 0.05 > m.predict_proba(lo)[0, 1]
    assert set(np.unique(m.predict(X))) <= {0.0, 1.0}
    # calibrated: predicted and observed page rates agree on the training data
    assert abs(p[:, 1].mean() - y.mean()) < 0.02


def test_explanations_sum_to_raw_score_and_read_well() -> None:
    X, y = _data()  # noqa: N806
    m = BurnRiskModel(n_estimators=30, n_jobs=1).fit(X, y)
    c = m.contributions(X.iloc[:50])
    assert np.allclose(c.to_numpy().sum(axis=1), m.decision_function(X.iloc[:50]), atol=1e-6)
    e = m.explain(X.iloc[[0, 1]], top=2)
    assert len(e) == 4
    assert e["text"].str.contains("burn rate over 5 min").any()
    one = e[e["row"] == 0]
    total = one["bias"].iloc[0] + one["contribution"].sum() + one["rest"].iloc[0]
    assert total == pytest.approx(one["raw_score"].iloc[0])


def test_serialisation_round_trips(tmp_path: Path) -> None:
    X, y = _data(2000)  # noqa: N806
    m = BurnRiskModel(n_estimators=20, threshold=0.3, n_jobs=1).fit(X, y)
    again = BurnRiskModel.from_bytes(m.to_bytes())
    assert np.array_equal(again.predict_proba(X), m.predict_proba(X))
    assert again.threshold == 0.3
    m.save(tmp_path / "burn")
    loaded = BurnRiskModel.load(tmp_path / "burn")
    assert np.array_equal(loaded.predict_proba(X), m.predict_proba(X))
    with pytest.raises(DataError, match="format"):
        BurnRiskModel.from_bytes(b'{"format": "other", "booster": ""}')


def test_bad_inputs() -> None:
    X, y = _data(500)  # noqa: N806
    with pytest.raises(DataError, match="timestamp"):
        BurnRiskModel().fit(X.drop(columns="timestamp"), y)
    with pytest.raises(DataError, match="0/1"):
        BurnRiskModel().fit(X, y * 3)
    with pytest.raises(DataError, match="positive"):
        BurnRiskModel().fit(X, y * 0)
    with pytest.raises(DataError, match="numeric"):
        BurnRiskModel().fit(X.assign(noise="x"), y)
    m = BurnRiskModel(n_estimators=5, n_jobs=1).fit(*_data(2000))
    with pytest.raises(DataError, match="misses"):
        m.predict_proba(X.drop(columns="noise"))


def _grid(on: list[int], n: int = 40) -> pd.DataFrame:
    ts = pd.date_range("2026-01-05", periods=n, freq="5min", tz="UTC")
    alert = np.zeros(n, dtype=bool)
    alert[on] = True
    return pd.DataFrame({"service": "api", "timestamp": ts, "alert": alert})


def test_runs_merge_close_gaps() -> None:
    g = _grid([3, 4, 6, 20])
    assert len(runs(g, "alert")) == 3
    merged = runs(g, "alert", "10min")
    assert len(merged) == 2
    assert merged["start"].iloc[0] == pd.Timestamp("2026-01-05 00:15", tz="UTC")
    assert merged["end"].iloc[0] == pd.Timestamp("2026-01-05 00:30", tz="UTC")


def test_score_alerts_precision_recall_lead() -> None:
    t0 = pd.Timestamp("2026-01-05", tz="UTC")
    events = pd.DataFrame(
        {
            "service": ["api"],
            "start": [t0 + pd.Timedelta("90min")],
            "end": [t0 + pd.Timedelta("2h")],
        }
    )
    early = score_alerts(_grid([14, 15, 30], n=40), events)  # 70 min; 150 min is a false alarm
    assert early.recall == 1.0 and early.precision == 0.5
    assert early.median_lead_min == pytest.approx(20.0)
    rule = score_alerts(_grid([18, 19]), events)
    assert rule.median_lead_min == 0.0 and rule.precision == 1.0
    assert paired_lead_gain(early, rule) == pytest.approx(20.0)
    miss = score_alerts(_grid([]), events)
    assert miss.recall == 0.0 and np.isnan(miss.precision)
    assert np.isnan(paired_lead_gain(miss, rule))
    assert early.as_row("m")["detected"] == 1


def test_choose_threshold_and_planted_burn() -> None:
    t0 = pd.Timestamp("2026-01-05", tz="UTC")
    events = pd.DataFrame(
        {
            "service": ["api"],
            "start": [t0 + pd.Timedelta("90min")],
            "end": [t0 + pd.Timedelta("2h")],
        }
    )
    frame = _grid([])[["service", "timestamp"]]
    proba = np.zeros(len(frame))
    proba[14:19] = 0.8
    proba[30] = 0.4
    assert choose_threshold(proba, frame, events, 0.9) == pytest.approx(0.41)
    assert choose_threshold(proba, frame, events, 0.9, z=1.0) == pytest.approx(0.41)
    assert choose_threshold(proba, frame, events, 1.1, grid=[0.3, 0.5]) == 0.5
    eps = pd.DataFrame(
        {
            "service": ["api"],
            "start": [t0 + pd.Timedelta("10min")],
            "end": [t0 + pd.Timedelta("40min")],
            "burn_rate": [24.0],
        }
    )
    pb = planted_burn(eps, frame, "1h").to_numpy()
    assert pb[2] == 0.0 and pb[3] == pytest.approx(2.0)
    # samples ending in (10 min, 45 min] burn at 24x, as the generator plants them
    assert pb[14] == pytest.approx(24.0 * 7 / 12)
    assert pb[21] == 0.0


def test_margin_demands_more_warnings_for_the_same_precision() -> None:
    t0 = pd.Timestamp("2026-01-05", tz="UTC")
    ts = pd.date_range(t0, periods=400, freq="5min", tz="UTC")
    frame = pd.DataFrame({"service": "api", "timestamp": ts})
    starts = [t0 + pd.Timedelta(hours=h) for h in (2, 8, 14, 20, 26)]
    events = pd.DataFrame(
        {"service": "api", "start": starts, "end": [s + pd.Timedelta("30min") for s in starts]}
    )
    proba = np.zeros(len(ts))
    for s in starts:  # each event warned 10 min ahead at 0.9
        proba[ts.get_indexer([s - pd.Timedelta("10min")])[0]] = 0.9
    proba[ts.get_indexer([t0 + pd.Timedelta("5h")])[0]] = 0.6  # one false alarm
    # plain: 5 of 6 warnings (0.83) reach 0.8 at the lowest threshold
    assert choose_threshold(proba, frame, events, 0.8) == pytest.approx(0.05)
    # with one standard error (0.15) 0.83 no longer passes; only the clean threshold does
    assert choose_threshold(proba, frame, events, 0.8, z=1.0) == pytest.approx(0.61)


def test_time_folds_expand_and_cover_the_tail() -> None:
    ts = pd.Series(pd.date_range("2026-01-05", periods=90, freq="1h", tz="UTC"))
    folds = time_folds(ts, n_folds=3, first=1 / 3)
    assert len(folds) == 3
    predicted = np.zeros(len(ts), dtype=int)
    for fit_rows, pred_rows in folds:
        # every fitted row lies before every predicted row
        assert ts[fit_rows].max() < ts[pred_rows].min()
        predicted += pred_rows
    assert predicted.max() == 1 and predicted[:29].sum() == 0 and predicted[-1] == 1
    assert folds[1][0].sum() > folds[0][0].sum()
    with pytest.raises(DataError, match="n_folds"):
        time_folds(ts, n_folds=0)


class _ColumnModel:
    """A stand-in model that predicts the `score` column (records what it was fitted on)."""

    fitted: ClassVar[list[int]] = []

    def fit(self, X: pd.DataFrame, y: pd.Series) -> _ColumnModel:  # noqa: N803
        _ColumnModel.fitted.append(len(X))
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        p = X["score"].to_numpy(dtype=float)
        return np.column_stack([1 - p, p])


def test_cross_validated_threshold_pools_out_of_fold_blocks() -> None:
    t0 = pd.Timestamp("2026-01-05", tz="UTC")
    ts = pd.date_range(t0, periods=12 * 24 * 6, freq="5min", tz="UTC")  # six days
    keys = pd.DataFrame({"service": "api", "timestamp": ts})
    starts = [t0 + pd.Timedelta(hours=h) for h in range(6, 144, 12)]
    events = pd.DataFrame(
        {"service": "api", "start": starts, "end": [s + pd.Timedelta("40min") for s in starts]}
    )
    score = np.zeros(len(ts))
    rule = np.zeros(len(ts), dtype=bool)
    for s in starts:
        i = ts.get_indexer([s])[0]
        score[i - 3 : i + 2] = 0.9  # the model warns 15 min ahead
        rule[i : i + 2] = True  # the rule fires at the start
    rule[ts.get_indexer([t0 + pd.Timedelta("100h")])[0]] = True  # the rule's false alarm
    score[ts.get_indexer([t0 + pd.Timedelta("110h")])[0]] = 0.5  # the model's weaker one
    X = pd.DataFrame({"timestamp": ts, "score": score})  # noqa: N806
    y = pd.Series(np.zeros(len(ts), dtype=int))
    _ColumnModel.fitted = []
    choice = cross_validated_threshold(_ColumnModel, X, y, keys, events, rule, n_folds=4, z=0.0)
    assert len(_ColumnModel.fitted) == 4 and _ColumnModel.fitted == sorted(_ColumnModel.fitted)
    assert np.isnan(choice.out_of_fold[0]) and np.isfinite(choice.out_of_fold[-1])
    # events in the pooled last two thirds: 8, and the rule's precision there 8/9
    assert choice.n_events == 8
    assert choice.target_precision == pytest.approx(8 / 9)
    assert choice.threshold == pytest.approx(0.05)  # the model's 8/9 already matches
    assert choice.precision == pytest.approx(8 / 9) and choice.median_lead_min == 15.0
    strict = cross_validated_threshold(_ColumnModel, X, y, keys, events, rule, n_folds=4)
    assert strict.threshold == pytest.approx(0.51) and strict.precision == 1.0
    with pytest.raises(DataError, match="length"):
        cross_validated_threshold(_ColumnModel, X, y, keys, events, rule[:-1])


def test_a_fold_without_pages_names_the_fold_and_what_to_do() -> None:
    """The real model refuses a fold with no pages; the error says which fold and why."""
    X, y = _data(3000)  # noqa: N806
    y = y.where(np.arange(len(y)) >= 2500, 0)  # pages only in the last sixth of the period
    keys = pd.DataFrame({"service": "api", "timestamp": X["timestamp"]})
    no_events = pd.DataFrame(columns=["service", "start", "end"])
    with pytest.raises(DataError, match=r"fold 1 of 5 .*before 2026-01-0.*longer period"):
        cross_validated_threshold(
            lambda: BurnRiskModel(n_estimators=10, n_jobs=1),
            X,
            y,
            keys,
            no_events,
            np.zeros(len(X), dtype=bool),
        )
