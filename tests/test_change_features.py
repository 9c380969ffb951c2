"""Change-risk features from change records and events: hand cases and the synthetic truth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from vsmml.correlate import correlate
from vsmml.features.change_features import CONTEXT_FEATURES, change_features, jit_metrics
from vsmml.synth import SynthConfig, generate

DAY = pd.Timestamp("2026-03-02", tz="UTC")


def _at(days: float, hours: float = 0.0) -> pd.Timestamp:
    return DAY + pd.Timedelta(days=days) + pd.Timedelta(hours=hours)


def _event(kind: str, ts: pd.Timestamp, **keys: object) -> dict[str, object]:
    attrs = keys.pop("attrs", {})
    return {"kind": kind, "ts": ts, "service": "api", "attrs": json.dumps(attrs), **keys}


def _hand_case(restored_after_next_deploy: bool = False) -> pd.DataFrame:
    """Two changes of one service: c1 fails (restored before or after c2's deploy), c2 ships."""
    restored = _at(1, 15) if not restored_after_next_deploy else _at(2, 13)
    changes = pd.DataFrame(
        {
            "change_id": ["c1", "c2"],
            "sha": ["s1", "s2"],
            "service": ["api", "api"],
            "merged_at": [_at(1, 10), _at(2, 10)],
            "production_deploy_id": ["d1", "d2"],
            "production_deploy_started_at": [_at(1, 12), _at(2, 12)],
            "failed": [True, False],
            "restored_at": [restored, pd.NaT],
        }
    )
    events = pd.DataFrame(
        [
            _event("commit", _at(1, 8), sha="s1", attrs={"la": 10, "ld": 2, "nf": 1}),
            _event("commit", _at(2, 8), sha="s2", attrs={"la": 300}),
            _event("commit", _at(2, 7), sha="s0", attrs={"la": 99}),  # an earlier commit
            _event(
                "change.reviewed",
                _at(1, 9),
                change_id="c1",
                attrs={"reviewer": "r1", "state": "changes_requested"},
            ),
            _event(
                "change.reviewed",
                _at(1, 9.5),
                change_id="c1",
                attrs={"reviewer": "r2", "state": "approved"},
            ),
            _event("pipeline.finished", _at(0), status="failure"),
            _event("pipeline.finished", _at(1, 9), status="success"),
            _event("pipeline.finished", _at(1, 11), status="failure"),  # after c1's merge
            _event("pipeline.finished", _at(2, 11), status="failure"),  # after c2's merge
            _event("pipeline.finished", _at(-20), status="failure"),  # outside 14 days
        ]
    )
    deployments = pd.DataFrame(
        {
            "deploy_id": ["d1", "d2", "s-1", "rb"],
            "env": ["production", "production", "staging", "production"],
            "service": "api",
            "started_at": [_at(1, 12), _at(2, 12), _at(1, 11), _at(1, 14)],
            "n_changes": [1, 1, 1, 0],
            "is_rollback": [False, False, False, True],
        }
    )
    return change_features(changes, events, deployments).set_index("change_id")


def test_hand_case_every_feature() -> None:
    f = _hand_case()
    assert f.loc["c1", "la"] == 10 and f.loc["c2", "la"] == 300  # the change's own commit
    assert np.isnan(f.loc["c2", "ld"])  # a metric the commit does not carry
    assert f.loc["c1", "review_rounds"] == 2 and f.loc["c1", "n_reviewers"] == 2
    assert f.loc["c2", "review_rounds"] == 0 and f.loc["c2", "n_reviewers"] == 0
    # runs finished in the 14 days before the merge: c1 sees F, S; c2 sees F, S, F
    assert f.loc["c1", "pipeline_flakiness"] == pytest.approx(1 / 2)
    assert f.loc["c2", "pipeline_flakiness"] == pytest.approx(2 / 3)
    # deploy gaps skip staging and rollback deploys; the first one has no previous deploy
    assert np.isnan(f.loc["c1", "hours_since_last_deploy"])
    assert f.loc["c2", "hours_since_last_deploy"] == pytest.approx(24.0)
    assert (f["deploy_batch_size"] == 1).all()
    # c1's failure was restored before c2's deploy: known, so it counts
    assert np.isnan(f.loc["c1", "service_recent_failure_rate"])
    assert f.loc["c2", "service_recent_failure_rate"] == 1.0
    assert list(f.columns[-7:]) == [*CONTEXT_FEATURES, "failed"]


def test_a_failure_not_yet_known_does_not_count() -> None:
    f = _hand_case(restored_after_next_deploy=True)
    assert f.loc["c2", "service_recent_failure_rate"] == 0.0


def test_broken_attrs_give_missing_metrics_not_errors() -> None:
    changes = pd.DataFrame({"change_id": ["c"], "sha": ["x"]})
    events = pd.DataFrame(
        {"kind": ["commit"], "ts": [_at(0)], "sha": ["x"], "attrs": ["{not json"]}
    )
    got = jit_metrics(changes, events)
    assert got["change_id"].tolist() == ["c"] and got["la"].isna().all()


@pytest.fixture(scope="module")
def synth() -> tuple[pd.DataFrame, pd.DataFrame]:
    org = generate(SynthConfig.preset("demo", n_services=4, n_teams=2, days=56, seed=7))
    corr = correlate(org.events)
    feats = change_features(corr.changes, org.events, corr.deployments)
    return feats.set_index("change_id"), org.truth.changes.set_index("change_id")


def test_recovers_what_the_generator_planted(synth: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    feats, truth = synth
    common = feats.index.intersection(truth.index)
    assert len(common) > 200
    f, t = feats.loc[common], truth.loc[common]
    for col in ("la", "ld", "nf", "exp", "review_rounds", "n_reviewers", "deploy_batch_size"):
        np.testing.assert_allclose(f[col].astype(float), t[col].astype(float), err_msg=col)
    both = f["hours_since_last_deploy"].notna()
    assert both.mean() > 0.98  # only each service's first deploy has no previous one
    np.testing.assert_allclose(
        f.loc[both, "hours_since_last_deploy"], t.loc[both, "hours_since_last_deploy"], atol=1e-3
    )
    flaky = f["pipeline_flakiness"].notna()
    r = np.corrcoef(f.loc[flaky, "pipeline_flakiness"], t.loc[flaky, "pipeline_flakiness"])[0, 1]
    assert r > 0.9  # finished runs vs the generator's attempt starts: close, not equal
    assert (f["failed"].astype(bool) == t["failed"].astype(bool)).mean() > 0.85


def test_a_store_with_only_git_events_gives_missing_context_not_errors() -> None:
    org = generate(SynthConfig.preset("tiny"))
    only_git = org.events.loc[org.events["kind"].isin(["commit", "change.opened", "change.merged"])]
    corr = correlate(only_git)
    f = change_features(corr.changes, only_git, corr.deployments)
    assert len(f) > 0 and f["la"].notna().all()
    for col in ("pipeline_flakiness", "deploy_batch_size", "service_recent_failure_rate"):
        assert f[col].isna().all(), col
    assert (f["review_rounds"] == 0).all()
