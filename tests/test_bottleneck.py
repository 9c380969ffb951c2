"""Tests for BottleneckModel (contract, shared per-stage scorer, quantiles, serialisation) and
its evaluation helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import DataError, NotFittedError
from vsmml.features.bottleneck_features import STAGE_STATS, period_features
from vsmml.models.bottleneck import BottleneckModel, pinball
from vsmml.models.bottleneck_eval import periods_since_move, pinball_table, top1_table

STAGES = ["review", "build", "deploy"]


def _data(n: int = 120, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Periods whose dominant stage is the one with the largest last-period share."""
    rng = np.random.default_rng(seed)
    share = rng.dirichlet(np.ones(3), n)
    cols: dict[str, object] = {
        "service": "api",
        "team": "t",
        "period_start": pd.date_range("2026-01-05", periods=n, freq="7D", tz="UTC"),
        "n_changes_1": 10.0,
        "n_known_4": 40.0,
        "wip": rng.integers(0, 9, n).astype(float),
        "review_load": 1.0,
    }
    for i, s in enumerate(STAGES):
        for t in STAGE_STATS:
            cols[f"{s}__{t}"] = rng.random(n) * 3
        cols[f"{s}__share1"] = share[:, i]
        cols[f"{s}__med4"] = 1.0 + share[:, i] * 4 + rng.normal(0, 0.5, n)
    X = pd.DataFrame(cols)  # noqa: N806
    y = pd.Series(np.array(STAGES)[share.argmax(axis=1)])
    changes = []
    for p in X["period_start"]:
        for j in range(3):
            for i, s in enumerate(STAGES):
                changes.append((f"{p.date()}-{j}", "api", p, s, float(rng.exponential(1 + i))))
    waits = pd.DataFrame(
        changes, columns=["change_id", "service", "first_commit_at", "stage", "wait_h"]
    )
    return X, y, waits


def test_fit_predict_and_quantiles() -> None:
    X, y, waits = _data()  # noqa: N806
    m = BottleneckModel(stages=STAGES, quantile_estimators=30, n_jobs=1)
    with pytest.raises(NotFittedError):
        m.predict(X)
    assert m.fit(X[:90], y[:90], waits=waits) is m
    p = m.predict_proba(X[90:])
    assert p.shape == (30, 3) and np.allclose(p.sum(axis=1), 1.0)
    assert (m.predict(X[90:]) == y[90:].to_numpy()).mean() >= 0.8
    q = m.predict_quantiles(X[90:])
    assert len(q) == 90 and (q["q0.85"] >= 0).all()
    assert set(q["stage"]) == set(STAGES)
    table = pinball_table(X[90:].reset_index(drop=True), waits, q, STAGES)
    assert set(table["stage"]) == {"all", *STAGES}
    assert (table["model"] > 0).all()


def test_explanations_sum_to_stage_scores() -> None:
    X, y, _ = _data()  # noqa: N806
    m = BottleneckModel(stages=STAGES, n_estimators=40, n_jobs=1).fit(X, y)
    c = m.raw_contributions(X[:5])
    p = m.predict_proba(X[:5])
    soft = np.exp(c.sum(axis=2))
    assert np.allclose(soft / soft.sum(axis=1, keepdims=True), p, atol=1e-6)
    e = m.explain(X[:2], top=2)
    assert len(e) == 4 and set(e["stage"]) <= set(STAGES)
    with pytest.raises(DataError, match="waits"):
        m.predict_quantiles(X)


def test_serialisation_round_trips(tmp_path: Path) -> None:
    X, y, waits = _data(60)  # noqa: N806
    m = BottleneckModel(stages=STAGES, n_estimators=20, quantile_estimators=10, n_jobs=1)
    m.fit(X, y, waits=waits)
    again = BottleneckModel.from_bytes(m.to_bytes())
    assert np.array_equal(again.predict_proba(X), m.predict_proba(X))
    pd.testing.assert_frame_equal(again.predict_quantiles(X), m.predict_quantiles(X))
    m.save(tmp_path / "b")
    assert np.array_equal(BottleneckModel.load(tmp_path / "b").predict(X), m.predict(X))
    with pytest.raises(DataError, match="format"):
        BottleneckModel.from_dict({"format": "x"})
    with pytest.raises(DataError, match="format"):  # a model from before the ramp features
        BottleneckModel.from_dict({**m.to_dict(), "format": "vsmml-bottleneck/1"})


def test_a_stage_building_up_is_called_before_it_leads() -> None:
    # The label is last period's leader unless another stage's waits grew through the period
    # far faster than the others' (`late1`): then that stage takes over (a planted move).
    X, _, _ = _data(600, seed=3)  # noqa: N806
    share = X[[f"{s}__share1" for s in STAGES]].to_numpy()
    late = X[[f"{s}__late1" for s in STAGES]].to_numpy()
    leader = share.argmax(axis=1)
    rising = late.argmax(axis=1)
    moves = (late.max(axis=1) > 2.6) & (rising != leader)
    y = pd.Series(np.array(STAGES)[np.where(moves, rising, leader)])
    m = BottleneckModel(stages=STAGES, n_jobs=1).fit(X[:450], y[:450])
    pred = m.predict(X[450:])
    test_moves = moves[450:]
    assert test_moves.sum() >= 10
    assert (pred[test_moves] == y[450:].to_numpy()[test_moves]).mean() >= 0.7
    assert (pred == y[450:].to_numpy()).mean() >= 0.85
    assert "margin_late1" in m.feature_names_


def test_bad_inputs() -> None:
    X, y, _ = _data(40)  # noqa: N806
    with pytest.raises(DataError, match="period_start"):
        BottleneckModel().fit(X.drop(columns="period_start"), y)
    with pytest.raises(DataError, match="one stage per row"):
        BottleneckModel().fit(X, y[:3])
    with pytest.raises(DataError, match="not in stages"):
        BottleneckModel(stages=STAGES).fit(X, y.replace("build", "qa"))
    with pytest.raises(DataError, match="13 periods"):
        BottleneckModel(stages=STAGES).fit(X[:8], y[:8])
    m = BottleneckModel(n_estimators=5, n_jobs=1).fit(X, y)  # stages read from the columns
    assert m.classes_.tolist() == STAGES
    with pytest.raises(DataError, match="misses"):
        m.predict(X.drop(columns="wip"))


def test_eval_helpers() -> None:
    assert pinball([1.0, 3.0], [2.0, 2.0], 0.5) == pytest.approx(0.5)
    assert pinball([3.0], [2.0], 0.85) == pytest.approx(0.85)
    b = pd.DataFrame(
        {
            "service": "api",
            "week_start": pd.date_range("2026-01-05", periods=6, freq="7D", tz="UTC"),
            "regime": [0, 0, 1, 1, 1, 1],
        }
    )
    s = periods_since_move(b)
    assert s["since_move"].tolist() == [-1, -1, 0, 1, 2, 3]
    frame = s.assign(stage="a", good=["a"] * 6, bad=["a", "a", "b", "b", "a", "a"])
    t = top1_table(frame, ["good", "bad"]).set_index("periods")
    assert t.loc["all", "good"] == 1.0 and t.loc["move period (0)", "bad"] == 0.0
    assert t.loc["after move (1-3)", "bad"] == pytest.approx(2 / 3)
    with pytest.raises(DataError):
        periods_since_move(b.drop(columns="regime"))


def test_ramp_periods_get_their_own_group() -> None:
    frame = pd.DataFrame(
        {
            "since_move": [-1, -1, -1, 0, 1, 5],
            "in_ramp": [False, True, True, False, False, False],
            "stage": ["a"] * 6,
            "model": ["a", "a", "b", "a", "a", "a"],
        }
    )
    t = top1_table(frame, ["model"]).set_index("periods")
    assert t.loc["ramp before a move", "n"] == 2 and t.loc["ramp before a move", "model"] == 0.5
    assert t.loc["steady", "n"] == 2 and t.loc["steady", "model"] == 1.0


def test_period_features_see_the_last_week_change_and_open_share() -> None:
    mon = pd.Timestamp("2026-01-05", tz="UTC")
    rows = []
    for week, (rev, build) in enumerate([(5.0, 1.0), (4.0, 4.0), (1.0, 3.0)]):
        first = mon + pd.Timedelta(days=7 * week, hours=1)
        start = first + pd.Timedelta(hours=1)
        rows += [
            (f"c{week}", "api", "t", first, "review", start, rev),
            (f"c{week}", "api", "t", first, "build", start, build),
        ]
    w = pd.DataFrame(
        rows,
        columns=[
            "change_id",
            "service",
            "team",
            "first_commit_at",
            "stage",
            "started_at",
            "wait_h",
        ],
    )
    w["known_at"] = w["started_at"] + pd.to_timedelta(w["wait_h"], unit="h")
    w.loc[5, "known_at"] = mon + pd.Timedelta(days=30)  # week 2's build wait still open
    f = period_features(w, stages=["review", "build"]).set_index("period_start")
    wk2 = f.loc[mon + pd.Timedelta(days=14)]
    assert wk2["build__share2"] == pytest.approx(1 / 6)
    assert wk2["build__delta1"] == pytest.approx(0.5 - 1 / 6)
    assert wk2["build__proj"] == pytest.approx(1.0 - 1 / 6)
    wk3 = f.loc[mon + pd.Timedelta(days=21)]
    assert wk3["build__open_share"] == 1.0 and wk3["review__open_share"] == 0.0
