"""Flow rules on tiny value streams: they fire on a clear constraint and stay silent without one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommend_frames import SINCE, START, UNTIL, flow_events, review_events, tiny_flow
from vsmml.graph import what_if
from vsmml.recommend import Inputs, recommend
from vsmml.recommend.effects import WIDEN
from vsmml.recommend.rules import (
    ConstraintRule,
    DeployBatchRule,
    ParallelStageRule,
    ReviewLoadRule,
    SlowStageRule,
    WaitShiftRule,
)
from vsmml.recommend.rules.anomalies import wait_shifts
from vsmml.recommend.rules.review import review_wip, spearman


def _inputs(flow, **kw):  # type: ignore[no-untyped-def]
    events, changes = flow_events(flow)
    return Inputs(SINCE, UNTIL, events=events, flow=flow, **({"changes": changes} | kw))


def test_constraint_rule_targets_the_stage_with_most_waiting_with_a_what_if_effect() -> None:
    flow = tiny_flow({"a": {"review": 8.0, "build": 3.0}})
    [rec] = recommend(_inputs(flow), rules=[ConstraintRule()]).recommendations
    assert (rec.category, rec.target.service, rec.target.stage) == ("flow", "a", "review")
    assert rec.action == "cut_review_wait" and rec.target.team == "t1"
    wi = what_if(flow.for_service("a"), "review wait -50%", confidence=0.9)
    e = rec.expected_effect
    assert e.value == pytest.approx(wi.delta_pct)
    widened = wi.delta_pct - WIDEN * (wi.delta_pct - wi.delta_pct_low)
    weekly = []
    for w in range(4):
        week = flow.changes["week_start"] == START + pd.Timedelta(weeks=w)
        ids = flow.changes.loc[week, "change_id"]
        part = type(flow)(
            flow.changes.loc[week].reset_index(drop=True),
            flow.stages.loc[flow.stages["change_id"].isin(ids)].reset_index(drop=True),
            flow.stage_order,
            flow.ci_stages,
        )
        weekly.append(what_if(part, "review wait -50%", n_boot=20).delta_pct)
    assert e.low == pytest.approx(min(widened, *weekly))  # the weeks widen it when they differ
    assert "weekly effects" in e.method
    assert e.low <= e.value <= e.high < 0 and e.unit == "%" and e.horizon == "next 4 weeks"
    assert rec.confidence == pytest.approx(1.0)  # led every week, by far, with 40 changes
    first = rec.evidence[0]
    assert len(first.event_ids) == 20 and first.n_events == 40
    slowest = flow.stages[flow.stages["stage"] == "review"].sort_values("wait_h").iloc[-1]
    assert first.event_ids[0] == f"rv-{slowest['change_id']}"  # the longest wait first
    assert "4 of 4 weeks" in rec.evidence[1].summary
    assert "critical path" in rec.evidence[2].summary


def test_constraint_rule_is_silent_on_too_few_changes_and_unsure_when_the_lead_flips() -> None:
    few = tiny_flow({"a": {"review": 8.0}}, per_week=2)
    assert recommend(_inputs(few), rules=[ConstraintRule()]).recommendations == []
    early = tiny_flow({"b": {"review": 6.0, "build": 1.0}}, weeks=2)
    late = tiny_flow({"b": {"review": 1.0, "build": 5.0}}, weeks=2, seed=1)
    late.changes["week_start"] += pd.Timedelta(weeks=2)
    late.changes["first_commit_at"] += pd.Timedelta(weeks=2)
    late.changes["change_id"] += "x"
    late.stages["change_id"] += "x"
    late.stages["week_start"] += pd.Timedelta(weeks=2)
    mixed = type(early)(
        pd.concat([early.changes, late.changes], ignore_index=True),
        pd.concat([early.stages, late.stages], ignore_index=True),
        early.stage_order,
        early.ci_stages,
    )
    [rec] = recommend(_inputs(mixed), rules=[ConstraintRule()]).recommendations
    assert rec.target.stage == "review" and rec.confidence <= 0.75  # led 2 of 4 weeks only
    assert "2 of 4 weeks" in rec.evidence[1].summary


def test_parallel_and_slow_stage_rules() -> None:
    flow = tiny_flow(
        {"ci": {"unit-tests": 6.0}, "slow": {"review": 4.0}},
        actives={"slow": {"unit-tests": 3.0}},
    )
    res = recommend(_inputs(flow), rules=[ParallelStageRule(), SlowStageRule()])
    by = {(r.target.service, r.action): r for r in res.recommendations}
    par = by[("ci", "parallelise_stage")]
    assert par.target.stage == "unit-tests" and par.expected_effect.value < 0
    slow = by[("slow", "speed_up_stage")]
    assert slow.target.stage == "unit-tests" and slow.params["active_h"] == "3.00"
    assert ("slow", "parallelise_stage") not in by  # its constraint is review, not CI
    assert ("ci", "speed_up_stage") not in by  # 0.2 h of running is not worth it


def test_deploy_batch_rule_needs_production_as_the_constraint_and_riders() -> None:
    flow = tiny_flow({"p": {"production": 9.0}, "q": {"review": 9.0}}, riders=("p", "q"))
    riders = flow.changes.loc[~flow.changes["batch_head"], "change_id"]
    prod = (flow.stages["stage"] == "production") & flow.stages["change_id"].isin(riders)
    extra = flow.stages.loc[prod].set_index("change_id")["wait_h"] * 2.0
    flow.stages.loc[prod, "wait_h"] *= 3.0  # riders wait for the batch to fill
    flow.changes["lead_h"] += flow.changes["change_id"].map(extra).fillna(0.0)
    [rec] = recommend(_inputs(flow), rules=[DeployBatchRule()]).recommendations
    assert (rec.target.service, rec.action, rec.target.stage) == (
        "p",
        "shrink_deploy_batches",
        "production",
    )
    solo = tiny_flow({"p": {"production": 9.0}})
    assert recommend(_inputs(solo), rules=[DeployBatchRule()]).recommendations == []


def _shift(stage: str, before: float, after: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "service": ["a"],
            "metric": [f"wait:{stage}"],
            "ts": [START + pd.Timedelta(weeks=2)],
            "value": [after],
            "baseline": [before],
            "score": [0.9],
            "kind": "change_point",
        }
    )


def test_wait_shift_of_the_constraint_is_a_recommendation_capped_at_the_cut() -> None:
    flow = tiny_flow({"a": {"review": 6.0, "build": 2.0}})
    inputs = _inputs(flow, anomalies=_shift("review", 2.0, 8.0))
    [rec] = recommend(inputs, rules=[WaitShiftRule()]).recommendations
    assert rec.target.stage == "review" and rec.params["cut_pct"] == 50  # 300 % rise, capped
    assert rec.confidence == pytest.approx(0.9)  # score x 20 changes since the shift
    assert rec.evidence[0].event_ids[0].startswith("rv-a-c02")  # changes since the shift
    both = recommend(inputs, rules=[ConstraintRule(), WaitShiftRule()]).recommendations
    assert len(both) == 1 and both[0].rule == "constraint+wait-shift"
    small = _inputs(flow, anomalies=_shift("review", 5.0, 5.5))  # +10 %: below the bar
    assert recommend(small, rules=[WaitShiftRule()]).recommendations == []


def test_wait_shift_elsewhere_is_a_note_on_the_constraint_record() -> None:
    flow = tiny_flow({"a": {"review": 6.0, "build": 2.0}})
    inputs = _inputs(flow, anomalies=_shift("build", 1.0, 4.0))
    assert recommend(inputs, rules=[WaitShiftRule()]).recommendations == []  # a note alone
    [rec] = recommend(inputs, rules=[ConstraintRule(), WaitShiftRule()]).recommendations
    assert rec.target.stage == "review" and rec.rule == "constraint+wait-shift"
    note = rec.evidence[-1]
    assert note.summary.startswith("build wait rose 300%") and "after review" in note.summary
    assert note.event_ids[0].startswith("stage.finished:build-a-c02")


def test_wait_shifts_finds_an_upward_change_point_causally() -> None:
    flow = tiny_flow({"a": {"build": 1.0}}, weeks=8, per_week=14)
    jump = flow.stages["week_start"] >= START + pd.Timedelta(weeks=6)
    build = (flow.stages["stage"] == "build") & jump
    flow.stages.loc[build, "wait_h"] *= 4.0
    found = wait_shifts(flow, START + pd.Timedelta(weeks=4), START + pd.Timedelta(weeks=8))
    row = found.loc[found["metric"] == "wait:build"].iloc[0]
    assert START + pd.Timedelta(weeks=6) <= row["ts"] <= START + pd.Timedelta(weeks=7)
    assert row["value"] > 2.5 * row["baseline"]
    assert not (found["metric"] == "wait:review").any()


def _review_changes(flow):  # type: ignore[no-untyped-def]
    """Change records whose review waits follow the flow's, opened in bursts when they wait long."""
    rev = flow.stages[flow.stages["stage"] == "review"].sort_values("wait_h").reset_index(drop=True)
    n = len(rev)
    opened = [
        START + (pd.Timedelta(days=i) if i < n // 2 else pd.Timedelta(days=20, minutes=5 * i))
        for i in range(n)
    ]
    ch = pd.DataFrame({"change_id": rev["change_id"], "service": rev["service"], "team": "t1"})
    ch["opened_at"] = pd.Series(opened, dtype="datetime64[us, UTC]")
    ch["first_review_at"] = ch["opened_at"] + pd.to_timedelta(rev["wait_h"], unit="h")
    ch["first_commit_at"] = ch["opened_at"] - pd.Timedelta(hours=2)
    ch["merged_at"] = ch["first_review_at"] + pd.Timedelta(hours=1)
    return ch


def test_review_load_rule_fires_when_waits_grow_with_work_in_review() -> None:
    flow = tiny_flow({"a": {"review": 6.0}})
    flow.stages.loc[flow.stages["stage"] == "review", "wait_h"] = np.linspace(1.0, 12.0, 40)
    ch = _review_changes(flow)
    wip = review_wip(ch)
    assert wip[: len(ch) // 2].max() <= 1 and wip[-1] > 5
    assert spearman(wip, np.arange(len(ch))) > 0.5
    [rec] = recommend(_inputs(flow, changes=ch), rules=[ReviewLoadRule()]).recommendations
    assert rec.action == "add_reviewers" and rec.target.stage == "review"  # r1 did every review
    assert rec.params["top_share_pct"] == 100 and rec.expected_effect.value < 0
    assert "Spearman" in rec.evidence[0].summary
    spread = review_events(flow, reviewers=("r1", "r2", "r3", "r4"))
    inputs = Inputs(
        SINCE, UNTIL, events=pd.concat([spread, flow_events(flow)[0]]), flow=flow, changes=ch
    )
    [rec] = recommend(inputs, rules=[ReviewLoadRule()]).recommendations
    assert rec.action == "cut_review_wip"
    flat = ch.assign(opened_at=ch["opened_at"].sort_values().to_numpy())
    flat["first_review_at"] = flat["opened_at"] + pd.Timedelta(hours=3)
    assert recommend(_inputs(flow, changes=flat), rules=[ReviewLoadRule()]).recommendations == []
