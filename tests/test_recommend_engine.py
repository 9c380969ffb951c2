"""The engine: rules run or are skipped with a reason, duplicates merge, ranking, filters."""

from __future__ import annotations

import pandas as pd
import pytest

from recommend_frames import SINCE, UNTIL, flow_events, tiny_flow
from vsmml.errors import DataError
from vsmml.recommend import (
    Evidence,
    ExpectedEffect,
    Inputs,
    Recommendation,
    Target,
    merge,
    rank,
    recommend,
    window_of,
)
from vsmml.recommend.rules import ConstraintRule, QuarantineRule


def _rec(
    service: str, action: str, value: float, conf: float, rule: str, summary: str
) -> Recommendation:
    return Recommendation(
        category="flow",
        target=Target(service=service, stage="review"),
        finding=f"{service} {action}",
        evidence=(Evidence.of(summary, {"x": 1}, SINCE, UNTIL, [f"{rule}-e"]),),
        action=action,
        params={"cut_pct": 50},
        expected_effect=ExpectedEffect("median lead time", value, value - 2, value + 2, "%", "4 w"),
        confidence=conf,
        why=f"because {rule}",
        rule=rule,
    )


def test_merge_keeps_one_per_target_and_action_with_all_evidence() -> None:
    a = _rec("s1", "cut_review_wait", -10.0, 0.9, "constraint", "review leads")
    b = _rec("s1", "cut_review_wait", -12.0, 0.5, "wait-shift", "review rose")
    c = _rec("s1", "cut_review_wip", -5.0, 0.9, "review-load", "wip")
    d = _rec("s2", "cut_review_wait", -8.0, 0.9, "constraint", "review leads")
    out = merge([a, b, c, d])
    assert len(out) == 3
    merged = next(r for r in out if r.target.service == "s1" and r.action == "cut_review_wait")
    assert merged.rule == "constraint+wait-shift"  # the higher priority record leads
    assert merged.expected_effect.value == -10.0
    assert [e.summary for e in merged.evidence] == ["review leads", "review rose"]
    assert merged.extra_effects[0].value == -12.0
    assert merged.why == "because constraint; because wait-shift"


def test_rank_orders_by_benefit_times_confidence() -> None:
    recs = [
        _rec("s1", "cut_review_wait", -10.0, 0.5, "r", "a"),  # 0.05
        _rec("s2", "cut_review_wait", -6.0, 1.0, "r", "b"),  # 0.06
        _rec("s3", "cut_review_wait", -20.0, 0.1, "r", "c"),  # 0.02
    ]
    ranked = rank(recs)
    assert [r.target.service for r in ranked] == ["s2", "s1", "s3"]
    assert [r.rank for r in ranked] == [1, 2, 3]


def _inputs(**kw: object) -> Inputs:
    flow = tiny_flow({"slow-review": {"review": 8.0}, "slow-build": {"build": 6.0}})
    events, changes = flow_events(flow)
    args: dict[str, object] = {"events": events, "flow": flow, "changes": changes} | kw
    return Inputs(SINCE, UNTIL, **args)  # type: ignore[arg-type]


def test_recommend_filters_reports_skipped_rules_and_is_seeded() -> None:
    inputs = _inputs()
    res = recommend(inputs, rules=[ConstraintRule(), QuarantineRule()])
    assert res.skipped == {"quarantine": "no quarantine"}
    assert res.fired == {"constraint": 2}
    assert {r.target.service for r in res.recommendations} == {"slow-review", "slow-build"}
    one = recommend(inputs, rules=[ConstraintRule()], service="slow-build")
    assert [r.target.stage for r in one.recommendations] == ["build"]
    assert len(recommend(inputs, rules=[ConstraintRule()], top=1)) == 1
    assert len(recommend(inputs, rules=[ConstraintRule()], team="t1")) == 2
    assert len(recommend(inputs, rules=[ConstraintRule()], team="other")) == 0
    assert len(recommend(inputs, rules=[ConstraintRule()], category="risk")) == 0
    again = recommend(inputs, rules=[ConstraintRule(), QuarantineRule()])
    assert again.to_list() == res.to_list()
    with pytest.raises(DataError, match="not both"):
        recommend(inputs, service="a", team="b")
    with pytest.raises(DataError, match="top"):
        recommend(inputs, top=0)


def test_window_defaults_to_the_last_complete_weeks() -> None:
    last = pd.Timestamp("2026-06-04 13:00", tz="UTC")  # a Thursday
    since, until = window_of(last)
    assert until == pd.Timestamp("2026-06-01", tz="UTC") and since == until - pd.Timedelta(weeks=4)
    s2, u2 = window_of(last, until="2026-05-15T00:00Z", weeks=2)
    assert (s2, u2) == (pd.Timestamp("2026-05-01", tz="UTC"), pd.Timestamp("2026-05-15", tz="UTC"))
    with pytest.raises(DataError, match="offset"):
        window_of(last, until="2026-05-15")
    with pytest.raises(DataError, match="before"):
        window_of(last, since="2026-05-20T00:00Z", until="2026-05-15T00:00Z")
    with pytest.raises(DataError, match="no events"):
        window_of(None)


def test_a_finding_that_names_no_event_is_dropped_and_counted() -> None:
    res = recommend(_inputs(events=None), rules=[ConstraintRule()])
    assert res.recommendations == [] and res.unnamed == 2 and res.fired == {"constraint": 2}


def test_table_and_markdown_show_the_records_and_what_did_not_run() -> None:
    from vsmml.recommend.format import describe_effect, to_markdown, to_table

    res = recommend(_inputs(), rules=[ConstraintRule(), QuarantineRule()])
    table = to_table(res)
    assert "recommendations for 2026-03-02 .. 2026-03-30 (2 shown)" in table
    assert "  1  flow        slow-review / review" in table
    first = res.recommendations[0].expected_effect
    assert table.splitlines()[5].strip().startswith(f"{first.value:+.1f}% [")
    assert "] median lead time, next 4 weeks · 1.00" in table.splitlines()[5]
    assert "rules not run: quarantine: no quarantine" in table
    md = to_markdown(res)
    assert md.startswith("## Recommendations, 2026-03-02 .. 2026-03-30")
    assert "### 1. Cut the review pickup wait in slow-review (the constraint) by 50%" in md
    assert "and 35 more" in md  # 5 of 40 event ids shown
    e = res.recommendations[0].expected_effect
    assert describe_effect(e).startswith(f"median lead time {e.value:+.1f}% [")
    risk = ExpectedEffect("risk per change", -0.125, -0.2, -0.05, "probability", "next 4 weeks")
    assert describe_effect(risk) == "risk per change -12.5 pp [-20.0 pp, -5.0 pp], next 4 weeks"
    empty = recommend(_inputs(events=None), rules=[ConstraintRule()])
    assert "nothing found with evidence" in to_table(empty)
    assert "2 finding(s) dropped" in to_markdown(empty)
