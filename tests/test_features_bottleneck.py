"""Tests for stage waits from events and the causal bottleneck period features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vsmml.errors import DataError
from vsmml.features import dominant_stages, period_features, quantile_rows, stage_waits
from vsmml.synth import WAIT_STAGES, SynthConfig, generate

MON = pd.Timestamp("2026-01-05", tz="UTC")


def _waits() -> pd.DataFrame:
    """Two changes a week for three weeks: review dominates weeks 0-1, build week 2."""
    rows = []
    for week in range(3):
        for j in range(2):
            first = MON + pd.Timedelta(days=7 * week, hours=1 + j)
            rev, build = (5.0, 1.0) if week < 2 else (1.0, 6.0)
            start = first + pd.Timedelta(hours=1)
            rows += [
                (f"c{week}{j}", "api", "t", first, "review", start, rev),
                (f"c{week}{j}", "api", "t", first, "build", start, build),
            ]
    f = pd.DataFrame(
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
    f["known_at"] = f["started_at"] + pd.to_timedelta(f["wait_h"], unit="h")
    return f


def test_period_features_are_causal_and_labelled() -> None:
    w = _waits()
    f = period_features(w, stages=["review", "build"])
    assert f["period_start"].tolist() == [MON + pd.Timedelta(days=d) for d in (7, 14, 21)]
    wk1 = f.iloc[0]
    assert wk1["review__med4"] == pytest.approx(5.0)
    assert wk1["review__share1"] == pytest.approx(5 / 6)
    assert wk1["baseline_stage"] == "review"
    wk3 = f.iloc[2]  # sees week 2's build-heavy changes: the last-week share flips
    assert wk3["build__share1"] == pytest.approx(6 / 7)
    assert wk3["build__trend"] == pytest.approx(6 / 7 - 1 / 6)
    assert wk3["baseline_stage"] == "review"  # the 4-week median still says review
    assert (f["review_load"] >= 0).all() and (f["wip"] >= 0).all()
    lab = dominant_stages(w, stages=["review", "build"])
    assert lab["stage"].tolist() == ["review", "review", "build"]
    rows = quantile_rows(f, w, ["review", "build"])
    assert set(rows["stage"]) == {"review", "build"} and (rows["wait_h"] > 0).all()


def test_in_progress_waits_count_as_queue() -> None:
    w = _waits()
    late = w["change_id"] == "c11"
    w.loc[late, "known_at"] = MON + pd.Timedelta(days=15)  # still waiting at week 2's start
    f = period_features(w, stages=["review", "build"]).set_index("period_start")
    row = f.loc[MON + pd.Timedelta(days=14)]
    assert row["review__queue"] == 1.0 and row["build__queue"] == 1.0
    assert row["review__open_wait_h"] > 0


def test_missing_columns_are_refused() -> None:
    with pytest.raises(DataError, match="miss"):
        period_features(pd.DataFrame({"service": []}))


def test_stage_waits_match_the_planted_truth() -> None:
    org = generate(SynthConfig.preset("tiny", seed=3))
    w = stage_waits(org.events)
    assert set(w["stage"]) == set(WAIT_STAGES)
    truth = org.truth.changes.set_index("change_id")
    for stage in ("review", "unit-tests", "production"):
        got = w[w["stage"] == stage].set_index("change_id")["wait_h"]
        want = truth.loc[got.index, f"wait_{stage}_s"] / 3600.0
        assert np.allclose(got.to_numpy(), want.to_numpy(), atol=1e-5)
    assert (w["known_at"] >= w["started_at"]).all()


def _ramp_waits() -> pd.DataFrame:
    """Three stages, six changes a week for four weeks; in week 2 `build` waits grow through
    the week (a constraint building up) while `review` and `deploy` stay flat."""
    rows = []
    for week in range(4):
        for j in range(6):
            first = MON + pd.Timedelta(days=7 * week + j, hours=9)
            start = first + pd.Timedelta(hours=1)
            build = 0.5 * (1.0 + j) if week == 2 else 1.0 + 0.1 * (j % 2)
            for stage, wait in (("review", 3.0 + 0.1 * (j % 3)), ("build", build)):
                rows.append((f"c{week}{j}", "api", "t", first, stage, start, wait))
            rows.append((f"c{week}{j}", "api", "t", first, "deploy", start, 1.0 + 0.05 * j))
    cols = ["change_id", "service", "team", "first_commit_at", "stage", "started_at", "wait_h"]
    f = pd.DataFrame(rows, columns=cols)
    f["known_at"] = f["started_at"] + pd.to_timedelta(f["wait_h"], unit="h")
    return f


def test_ramp_features_see_a_queue_growing_through_the_week() -> None:
    stages = ["review", "build", "deploy"]
    f = period_features(_ramp_waits(), stages=stages).set_index("period_start")
    after = f.loc[MON + pd.Timedelta(days=21)]  # features at the start of week 3
    # build's log wait rises by log(6) over the week, steeper than the others' (median slope)
    assert after["build__late1"] > 1.5
    assert abs(after["review__late1"]) < 0.5 and after["deploy__late1"] <= 0.0
    assert after["build__late2"] == pytest.approx(0.0, abs=0.3)  # week 1 was flat
    share = {s: after[f"{s}__share1"] for s in stages}
    before = f.loc[MON + pd.Timedelta(days=7)]  # sees week 0 only; delta3 needs week -2
    assert np.isnan(before["build__delta3"])
    week1 = f.loc[MON + pd.Timedelta(days=28)]  # share of week 3 minus share of week 1
    assert week1["build__delta3"] == pytest.approx(
        week1["build__share1"] - f.loc[MON + pd.Timedelta(days=14), "build__share1"]
    )
    assert share["build"] > f.loc[MON + pd.Timedelta(days=14), "build__share1"]
    assert f.loc[MON + pd.Timedelta(days=28), "build__late2"] > 1.5  # a week later: late2


def test_ramp_slope_needs_four_waits_and_ignores_zero_waits() -> None:
    w = _ramp_waits()
    w = w[~((w["stage"] == "deploy") & (w["first_commit_at"] >= MON + pd.Timedelta(days=14)))]
    w.loc[w["stage"] == "review", "wait_h"] = 0.0
    f = period_features(w, stages=["review", "build", "deploy"])
    last = f.set_index("period_start").loc[MON + pd.Timedelta(days=21)]
    assert last["deploy__late1"] == 0.0 and last["review__late1"] == 0.0
    assert last["build__late1"] == 0.0  # the only stage with a slope is its own median
