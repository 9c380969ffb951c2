"""Risk and model rules on hand-made change features, scored by the committed default model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommend_frames import SINCE, UNTIL, merged_events
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.models import default_models_dir
from vsmml.recommend import Inputs, recommend
from vsmml.recommend.rules import LargeChangeRule, RetrainRule, RiskyChangeRule, WaiverRule

JIT = {
    "ns": 1, "nd": 2, "nf": 3, "entropy": 1.0, "la": 40, "ld": 10, "lt": 800, "fix": 0,
    "ndev": 3, "age": 20, "nuc": 6, "exp": 200, "rexp": 30, "sexp": 90,
}  # fmt: skip


@pytest.fixture(scope="module")
def scorer() -> RiskScorer:
    root = default_models_dir()
    assert root is not None
    return RiskScorer.from_dir(root / "risk")


LARGE = {"la": 1000, "ld": 200, "nf": 12, "nd": 5, "ns": 2, "entropy": 3.0}


def features(
    n_small: int,
    n_large: int,
    *,
    service: str = "svc",
    pending: int = 0,
    large: dict[str, float] = LARGE,
) -> pd.DataFrame:
    """Change features: small changes, then large ones (1,200 lines over 12 files)."""
    rows = []
    for i in range(n_small + n_large):
        big = i >= n_small
        jit = JIT | (large if big else {})
        merged = SINCE + pd.Timedelta(hours=5 * i + 1)
        deployed = pd.NaT if i >= n_small + n_large - pending else merged + pd.Timedelta(hours=2)
        rows.append({"change_id": f"{service}-c{i:03d}", "service": service, "merged_at": merged,
                     "production_deploy_started_at": deployed, **jit,
                     "failed": big and i % 2 == 0})  # fmt: skip
    out = pd.DataFrame(rows)
    out["production_deploy_started_at"] = out["production_deploy_started_at"].astype(
        "datetime64[us, UTC]"
    )
    return out


def test_large_change_rule_re_scores_the_split_and_reports_the_whole(scorer) -> None:  # type: ignore[no-untyped-def]
    feats = features(30, 12)
    inputs = Inputs(
        SINCE,
        UNTIL,
        events=merged_events(feats["change_id"].tolist()),
        change_features=feats,
        scorer=scorer,
    )
    [rec] = recommend(inputs, rules=[LargeChangeRule()]).recommendations
    assert (rec.category, rec.action, rec.target.service) == ("risk", "split_large_changes", "svc")
    e = rec.expected_effect
    assert e.unit == "probability" and e.low <= e.value <= e.high and e.value < -0.05
    cols = {c: feats[c].to_numpy(float)[30:] for c in scorer.input_columns}
    now = scorer.predict_proba(scorer.matrix(cols)).mean()
    assert e.baseline == pytest.approx(now)
    assert (
        "12 of 42 changes" in rec.evidence[0].summary
        and "6 of them failed" in rec.evidence[0].summary
    )
    assert "that any piece" in rec.evidence[1].summary
    assert (
        recommend(
            Inputs(SINCE, UNTIL, change_features=features(30, 3), scorer=scorer),
            rules=[LargeChangeRule()],
        ).recommendations
        == []
    )


def test_risk_rules_are_skipped_without_a_scorer() -> None:
    res = recommend(
        Inputs(SINCE, UNTIL, change_features=features(5, 5)),
        rules=[LargeChangeRule(), RiskyChangeRule()],
    )
    assert res.recommendations == [] and res.skipped == {
        "large-changes": "no scorer",
        "risky-change": "no scorer",
    }


def test_risky_change_rule_targets_pending_changes_above_the_gate(scorer) -> None:  # type: ignore[no-untyped-def]
    riskier = LARGE | {"la": 3000, "ld": 600, "nf": 30, "fix": 1, "exp": 4, "rexp": 1, "sexp": 2}
    feats = features(10, 3, pending=2, large=riskier)
    res = recommend(
        Inputs(
            SINCE,
            UNTIL,
            events=merged_events(feats["change_id"].tolist()),
            change_features=feats,
            scorer=scorer,
        ),
        rules=[RiskyChangeRule()],
    )
    changes = sorted(r.target.change for r in res.recommendations)
    assert changes == ["svc-c011", "svc-c012"]  # the two large ones still on their way
    rec = res.recommendations[0]
    assert rec.action == "split_change" and rec.params["pieces"] == 18
    e = rec.expected_effect
    assert e.value == e.low == e.high < 0 and e.baseline >= scorer.threshold
    assert "→" in rec.finding and "split into 18 changes" in rec.finding


def test_retrain_rule_fires_when_predictions_miss_the_observed_rate(scorer) -> None:  # type: ignore[no-untyped-def]
    feats = features(80, 0).assign(failed=False)
    [rec] = recommend(
        Inputs(
            SINCE,
            UNTIL,
            events=merged_events(feats["change_id"].tolist()),
            change_features=feats,
            scorer=scorer,
        ),
        rules=[RetrainRule()],
    ).recommendations
    assert rec.action == "retrain_model" and rec.category == "data" and "0%" in rec.finding
    cols = {c: feats[c].to_numpy(float) for c in scorer.input_columns}
    p = scorer.predict_proba(scorer.matrix(cols))
    k = round(float(p.mean()) * len(p))
    fair = feats.assign(failed=np.arange(len(p)) < k)
    assert (
        recommend(
            Inputs(
                SINCE,
                UNTIL,
                events=merged_events(fair["change_id"].tolist()),
                change_features=fair,
                scorer=scorer,
            ),
            rules=[RetrainRule()],
        ).recommendations
        == []
    )


def test_waiver_rule_counts_waived_gates_and_their_failures() -> None:
    waivers = pd.DataFrame(
        {
            "event_id": ["w1", "w2", "w3", "w4"],
            "ts": [SINCE + pd.Timedelta(days=d) for d in (1, 2, 3, 40)],
            "service": ["checkout", "checkout", "checkout", "checkout"],
            "change_id": ["c1", "c2", "c3", "c4"],
            "sha": [None, None, "s3", None],
            "actor": ["ana", "bo", "ana", "ana"],
            "reason": ["hotfix"] * 4,
            "probability": [0.6, 0.7, 0.8, 0.9],
        }
    )
    changes = pd.DataFrame(
        {
            "change_id": ["c1", "c2", "x3"],
            "sha": ["s1", "s2", "s3"],
            "service": "checkout",
            "first_commit_at": [SINCE] * 3,
            "merged_at": [SINCE] * 3,
            "production_deployed_at": [SINCE + pd.Timedelta(days=2)] * 3,
            "failed": [True, False, True],
        }
    )
    [rec] = recommend(
        Inputs(SINCE, UNTIL, waivers=waivers, changes=changes), rules=[WaiverRule()]
    ).recommendations
    assert (
        rec.finding.startswith("3 waived gates in checkout") and "2 of them failed" in rec.finding
    )
    assert rec.expected_effect.value == pytest.approx(-2.1) and rec.expected_effect.high <= 0
    assert rec.evidence[0].event_ids == ("w1", "w2", "w3") and "ana, bo" in rec.evidence[0].summary
    one = waivers.iloc[:1]
    assert (
        recommend(
            Inputs(SINCE, UNTIL, waivers=one, changes=changes), rules=[WaiverRule()]
        ).recommendations
        == []
    )
