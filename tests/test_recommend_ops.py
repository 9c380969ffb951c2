"""Quality, reliability and data rules on tiny frames: they fire on evidence, not without it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommend_frames import SINCE, UNTIL, deploy_events, deployments, review_events, tiny_flow
from vsmml.recommend import Inputs, recommend
from vsmml.recommend.rules import (
    AlertTuningRule,
    BatchFailureRule,
    BurnOutlookRule,
    CanaryRule,
    CoverageRule,
    FlakyPipelineRule,
    QuarantineRule,
    RollBackRule,
    SliAnomalyRule,
)


def _runs(flow, flaky_every: int) -> tuple[pd.DataFrame, pd.DataFrame]:  # type: ignore[no-untyped-def]
    """Pipeline runs (one per change, a failed retry first for every `flaky_every`-th) and
    change records naming each change's sha."""
    rows = []
    for i, (cid, first) in enumerate(
        zip(flow.changes["change_id"], flow.changes["first_commit_at"], strict=True)
    ):
        sha, t = f"sha-{cid}", first + pd.Timedelta(hours=4)
        if flaky_every and i % flaky_every == 0:
            rows.append((f"p-{cid}-1", sha, "a", t, False, 0.5))
            t = t + pd.Timedelta(hours=3)  # the retry starts 2.5 h after the failure
        rows.append((f"p-{cid}-2", sha, "a", t + pd.Timedelta(hours=0.5), True, 0.5))
    runs = pd.DataFrame(
        rows, columns=["pipeline_id", "sha", "service", "finished_at", "success", "duration_h"]
    )
    ok_later = runs.groupby("sha")["success"].transform("max")
    runs["flaky"] = ~runs["success"] & ok_later
    changes = pd.DataFrame(
        {"change_id": flow.changes["change_id"], "sha": "sha-" + flow.changes["change_id"]}
    )
    return runs, changes


def test_flaky_pipeline_rule_re_times_changes_without_their_retries() -> None:
    flow = tiny_flow({"a": {"review": 3.0}})
    runs, changes = _runs(flow, flaky_every=4)
    events = pd.concat(
        [
            review_events(flow),
            pd.DataFrame(
                {"event_id": ["sf1", "sf2"], "kind": "stage.finished",
                 "ts": [SINCE + pd.Timedelta(hours=12)] * 2, "source": "ci", "service": "a",
                 "pipeline_id": [runs["pipeline_id"].iloc[0], "other"], "stage": "unit-tests",
                 "status": "failure", "change_id": None, "sha": None, "attrs": "{}"}
            ),
        ],
        ignore_index=True,
    )  # fmt: skip
    inputs = Inputs(SINCE, UNTIL, events=events, flow=flow, changes=changes, pipeline_runs=runs)
    [rec] = recommend(inputs, rules=[FlakyPipelineRule()]).recommendations
    assert (rec.category, rec.action, rec.target.stage) == (
        "quality",
        "fix_flaky_tests",
        "unit-tests",
    )
    assert "10 of 50 pipeline runs" in rec.evidence[0].summary
    assert rec.evidence[0].numbers["retry_hours"] == pytest.approx(
        10 * 3.5
    )  # first start to retry start
    assert rec.expected_effect.value < 0
    calm, changes = _runs(flow, flaky_every=20)  # 2 flaky runs: below the bar
    quiet = Inputs(SINCE, UNTIL, events=events, flow=flow, changes=changes, pipeline_runs=calm)
    assert recommend(quiet, rules=[FlakyPipelineRule()]).recommendations == []


def test_batch_failure_rule_compares_batched_with_single_deploys() -> None:
    sizes = [1] * 20 + [3] * 20
    failed = [i == 0 for i in range(20)] + [i % 2 == 0 for i in range(20)]
    deps = deployments("svc", sizes, failed)
    [rec] = recommend(
        Inputs(SINCE, UNTIL, events=deploy_events(deps), deployments=deps),
        rules=[BatchFailureRule()],
    ).recommendations
    assert rec.action == "shrink_deploy_batches" and rec.category == "reliability"
    now = (1 + 3 * 10) / (20 + 60)  # changes shipped in a failed deploy
    assert rec.expected_effect.baseline == pytest.approx(now)
    assert rec.expected_effect.value == pytest.approx(1 / 20 - now)
    even = deployments("svc", sizes, [i % 4 == 0 for i in range(40)])
    assert (
        recommend(
            Inputs(SINCE, UNTIL, events=deploy_events(even), deployments=even),
            rules=[BatchFailureRule()],
        ).recommendations
        == []
    )


def _samples(service: str, bursts: list[pd.Timestamp], error: float) -> pd.DataFrame:
    ts = pd.date_range(SINCE - pd.Timedelta(days=1), UNTIL, freq="5min", inclusive="left")
    bad = np.full(len(ts), 0.2)
    for b in bursts:
        bad[(ts >= b) & (ts < b + pd.Timedelta(hours=1))] = 1000 * error
    return pd.DataFrame(
        {"timestamp": ts, "service": service, "good": 1000 - bad, "total": 1000.0,
         "event_id": [f"{service}-slo-{i}" for i in range(len(ts))]}
    )  # fmt: skip


def test_canary_rule_prices_failed_deploys_in_budget_or_hours() -> None:
    deps = deployments("svc", [1] * 10, [i in (2, 5, 7) for i in range(10)])
    [hours] = recommend(
        Inputs(SINCE, UNTIL, events=deploy_events(deps), deployments=deps), rules=[CanaryRule()]
    ).recommendations
    assert hours.action == "add_canary" and hours.expected_effect.unit == "h"
    assert hours.expected_effect.value == pytest.approx(-0.9 * 3 * (2.0 - 5 / 60))
    failed = deps.loc[deps["failed"]]
    samples = _samples("svc", list(failed["finished_at"]), 0.02)
    [budget] = recommend(
        Inputs(SINCE, UNTIL, events=deploy_events(deps), deployments=deps, slo_samples=samples),
        rules=[CanaryRule()],
    ).recommendations
    assert budget.expected_effect.unit == "share of budget" and budget.expected_effect.value < 0
    one = deployments("svc", [1] * 10, [i == 2 for i in range(10)])
    assert (
        recommend(
            Inputs(SINCE, UNTIL, events=deploy_events(one), deployments=one), rules=[CanaryRule()]
        ).recommendations
        == []
    )


INCIDENT_COLUMNS = ["incident_id", "service", "opened_at", "impact_started_at", "resolved_at"]


def test_alert_tuning_loosens_pages_that_fire_without_incidents() -> None:
    bursts = [SINCE + pd.Timedelta(days=d, hours=10) for d in (3, 9, 15, 21)]
    samples = _samples("svc", bursts, 0.02)  # burn 20x for an hour: pages at 14.4x
    none = pd.DataFrame(columns=INCIDENT_COLUMNS)
    [rec] = recommend(
        Inputs(SINCE, UNTIL, slo_samples=samples, incidents=none), rules=[AlertTuningRule()]
    ).recommendations
    assert rec.action == "loosen_slo_alert" and rec.params["factor"] == "21.6"  # x1.5
    assert rec.expected_effect.value == -4.0 and rec.expected_effect.baseline == 4.0
    assert len(rec.evidence[0].event_ids) == 4 and rec.evidence[0].event_ids[0].startswith(
        "svc-slo-"
    )
    real = pd.DataFrame(
        {"incident_id": [f"i{k}" for k in range(4)], "service": "svc", "opened_at": bursts,
         "impact_started_at": bursts, "resolved_at": [b + pd.Timedelta(hours=1) for b in bursts]}
    )  # fmt: skip
    assert (
        recommend(
            Inputs(SINCE, UNTIL, slo_samples=samples, incidents=real), rules=[AlertTuningRule()]
        ).recommendations
        == []
    )


def test_burn_outlook_and_sli_anomaly_rules() -> None:
    outlook = pd.DataFrame(
        {"service": ["svc", "calm"], "at": [UNTIL - pd.Timedelta(hours=1)] * 2,
         "probability": [0.8, 0.2], "probability_paused": [0.3, 0.1], "horizon_h": [6.0, 6.0],
         "event_id": ["o1", "o2"]}
    )  # fmt: skip
    [rec] = recommend(
        Inputs(SINCE, UNTIL, burn_outlook=outlook), rules=[BurnOutlookRule()]
    ).recommendations
    assert rec.action == "pause_rollout" and rec.expected_effect.value == pytest.approx(-0.5)
    no_effect = outlook.drop(columns="probability_paused")
    assert (
        recommend(
            Inputs(SINCE, UNTIL, burn_outlook=no_effect), rules=[BurnOutlookRule()]
        ).recommendations
        == []
    )
    deps = deployments("svc", [1] * 6, [False] * 6)
    after = deps["finished_at"].iloc[:3] + pd.Timedelta(minutes=30)
    anomalies = pd.DataFrame(
        {"service": "svc", "metric": "sli_error_ratio", "ts": after.to_numpy(), "value": 0.02,
         "baseline": 0.0002, "score": 0.9, "kind": "anomaly", "event_id": ["a1", "a2", "a3"]}
    )  # fmt: skip
    samples = _samples("svc", [], 0.0)
    inputs = Inputs(SINCE, UNTIL, anomalies=anomalies, deployments=deps, slo_samples=samples)
    [rec] = recommend(inputs, rules=[SliAnomalyRule()]).recommendations
    assert rec.action == "add_canary" and "3 SLI anomalies" in rec.finding
    late = anomalies.assign(ts=anomalies["ts"] + pd.Timedelta(hours=5))
    inputs = Inputs(SINCE, UNTIL, anomalies=late, deployments=deps, slo_samples=samples)
    assert recommend(inputs, rules=[SliAnomalyRule()]).recommendations == []


def test_coverage_rule_names_the_missing_key_and_quarantine_rule_the_field() -> None:
    n = 60
    events = pd.DataFrame(
        {"event_id": [f"j{i}" for i in range(n)], "kind": "pipeline.finished",
         "ts": [SINCE + pd.Timedelta(hours=i) for i in range(n)], "source": "jenkins",
         "service": "svc", "sha": [f"s{i}" if i < 15 else None for i in range(n)],
         "change_id": None}
    )  # fmt: skip
    coverage = pd.DataFrame(
        {"source": ["jenkins", "jenkins"], "kind": ["*", "pipeline.finished"], "events": [n, n],
         "linked": [15, 15], "share": [0.25, 0.25]}
    )  # fmt: skip
    [rec] = recommend(
        Inputs(SINCE, UNTIL, events=events, coverage=coverage), rules=[CoverageRule()]
    ).recommendations
    assert rec.target.source == "jenkins" and rec.params == {
        "field": "sha",
        "kind": "pipeline.finished",
    }
    assert (
        rec.expected_effect.value == pytest.approx(0.75) and rec.expected_effect.better == "higher"
    )
    assert rec.evidence[0].event_ids[0] == "j15" and rec.evidence[0].n_events == 45
    good = coverage.assign(linked=[58, 58], share=[58 / n] * 2)
    assert (
        recommend(
            Inputs(SINCE, UNTIL, events=events, coverage=good), rules=[CoverageRule()]
        ).recommendations
        == []
    )
    q = pd.DataFrame(
        {"quarantine_id": range(9), "received_at": [SINCE + pd.Timedelta(days=1)] * 9,
         "source": "github",
         "field": ["ts"] * 7 + ["sha"] * 2, "reason": "event 3 (github push): 'ts' needs an offset",
         "resolved_at": [pd.NaT] * 6 + [SINCE + pd.Timedelta(days=2)] + [pd.NaT] * 2}
    )  # fmt: skip
    [rec] = recommend(
        Inputs(SINCE, UNTIL, events=events, quarantine=q), rules=[QuarantineRule()]
    ).recommendations
    assert rec.target.source == "github" and rec.expected_effect.value == -6.0
    assert rec.evidence[0].event_ids == tuple(f"quarantine:{i}" for i in range(6))


def test_roll_back_rule_fires_on_a_burning_last_deploy_when_rollbacks_restore_faster() -> None:
    deps = deployments("svc", [1] * 8, [True] * 6 + [False] * 2)
    deps["rolled_back"] = [True, True, True, False, False, False, False, False]
    deps["restored_at"] = deps["finished_at"] + pd.to_timedelta(
        [0.5, 0.6, 0.4, 3, 4, 5, 0, 0], unit="h"
    )
    deps.loc[deps.index[-2:], "restored_at"] = pd.NaT
    last = UNTIL - pd.Timedelta(hours=2)
    deps.loc[deps.index[-1], ["started_at", "finished_at"]] = [last, last + pd.Timedelta(minutes=5)]
    samples = _samples("svc", [last + pd.Timedelta(minutes=10 + 60 * k) for k in range(2)], 0.03)
    inputs = Inputs(SINCE, UNTIL, events=deploy_events(deps), deployments=deps, slo_samples=samples)
    [rec] = recommend(inputs, rules=[RollBackRule()]).recommendations
    assert rec.action == "roll_back" and rec.params["deploy"] == "svc-d007"
    e = rec.expected_effect
    assert e.value == pytest.approx(-30.0 * (4.0 - 0.5) / 720.0, rel=0.05)  # burn 30x, 3.5 h sooner
    assert e.low <= e.value <= e.high <= 0
    calm = _samples("svc", [], 0.0)
    quiet = Inputs(SINCE, UNTIL, events=deploy_events(deps), deployments=deps, slo_samples=calm)
    assert recommend(quiet, rules=[RollBackRule()]).recommendations == []
    back = deps.iloc[[-1]].assign(
        deploy_id="rb", is_rollback=True, started_at=UNTIL - pd.Timedelta(minutes=30)
    )
    rolled = pd.concat([deps, back])
    done = Inputs(SINCE, UNTIL, events=deploy_events(deps), deployments=rolled, slo_samples=samples)
    assert recommend(done, rules=[RollBackRule()]).recommendations == []
