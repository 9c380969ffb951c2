"""The recommendation record: evidence caps, effect intervals and benefit, validation, JSON."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vsmml.errors import DataError
from vsmml.recommend import (
    ACTIONS,
    MAX_EVENT_IDS,
    Evidence,
    ExpectedEffect,
    Recommendation,
    Target,
    action_text,
)

T0 = pd.Timestamp("2026-03-02", tz="UTC")
T1 = T0 + pd.Timedelta(weeks=4)


def _effect(
    value: float = -10.0, low: float = -14.0, high: float = -6.0, **kw: object
) -> ExpectedEffect:
    args = {"metric": "median lead time", "unit": "%", "horizon": "next 4 weeks"} | kw
    return ExpectedEffect(value=value, low=low, high=high, **args)  # type: ignore[arg-type]


def _rec(**kw: object) -> Recommendation:
    args: dict[str, object] = {
        "category": "flow",
        "target": Target(service="checkout", stage="review"),
        "finding": "review is the constraint",
        "evidence": (Evidence.of("review waits", {"h": 3.0}, T0, T1, ["e1"]),),
        "action": "cut_review_wait",
        "params": {"cut_pct": 50},
        "expected_effect": _effect(),
        "confidence": 0.8,
        "why": "constraint",
        "rule": "constraint",
    } | kw
    return Recommendation(**args)  # type: ignore[arg-type]


def test_evidence_keeps_at_most_twenty_ids_and_counts_all() -> None:
    ids = [f"e{i}" for i in range(57)] + ["e0"]
    ev = Evidence.of("many", {"n": 57}, T0, T1, ids)
    assert len(ev.event_ids) == MAX_EVENT_IDS == 20
    assert ev.event_ids[:3] == ("e0", "e1", "e2")  # order kept, duplicates dropped
    assert ev.n_events == 57
    with pytest.raises(DataError, match="at most 20"):
        Evidence("raw", {}, T0, T1, tuple(ids[:21]), 21)
    with pytest.raises(DataError, match="n_events"):
        Evidence("raw", {}, T0, T1, ("a", "b"), 1)


def test_effect_interval_must_hold_the_value_and_be_finite() -> None:
    with pytest.raises(DataError, match="does not hold"):
        _effect(value=-20.0, low=-14.0, high=-6.0)
    with pytest.raises(DataError, match="finite"):
        _effect(value=float("nan"))
    with pytest.raises(DataError, match="better"):
        _effect(better="sideways")


def test_benefit_is_the_relative_improvement_capped_at_one() -> None:
    assert _effect().benefit() == pytest.approx(0.10)  # -10 % of lead time
    worse = _effect(value=5.0, low=1.0, high=9.0)
    assert worse.benefit() == 0.0
    risk = ExpectedEffect("risk", -0.2, -0.3, -0.1, "probability", "per change", baseline=0.4)
    assert risk.benefit() == pytest.approx(0.5)
    cover = ExpectedEffect("coverage", 0.3, 0.2, 0.4, "share", "w", baseline=0.6, better="higher")
    assert cover.benefit() == pytest.approx(0.5)
    huge = ExpectedEffect("pages", -9.0, -12.0, -6.0, "count", "w", baseline=3.0)
    assert huge.benefit() == 1.0


def test_recommendation_refuses_unknown_action_category_no_evidence_bad_confidence() -> None:
    with pytest.raises(DataError, match="catalogue"):
        _rec(action="think_harder")
    with pytest.raises(DataError, match="category"):
        _rec(category="vibes")
    with pytest.raises(DataError, match="no evidence"):
        _rec(evidence=())
    with pytest.raises(DataError, match="confidence"):
        _rec(confidence=1.5)


def test_priority_is_benefit_times_confidence_and_json_is_plain() -> None:
    r = _rec()
    assert r.priority == pytest.approx(0.10 * 0.8)
    d = json.loads(json.dumps(r.to_dict()))
    assert list(d)[:9] == [
        "rank", "category", "target", "finding", "evidence", "action", "action_text",
        "expected_effect", "other_effects",
    ]  # fmt: skip
    assert d["target"] == {
        "service": "checkout",
        "team": None,
        "stage": "review",
        "change": None,
        "source": None,
    }
    assert d["expected_effect"]["low"] == -14.0 and d["evidence"][0]["event_ids"] == ["e1"]
    assert d["action_text"] == "Cut the review pickup wait in checkout (the constraint) by 50%"


def test_every_action_renders_with_its_fields() -> None:
    values = {
        "service": "s", "stage": "review", "change": "c1", "source": "jenkins", "team": "t",
        "cut_pct": 50, "top_share_pct": 60, "active_h": "0.5", "limit": 200, "pieces": 3,
        "deploy": "d1", "factor": "18.0", "old_factor": "14.4", "field": "sha",
        "kind": "pipeline.finished", "reason": "bad ts", "model": "risk",
    }  # fmt: skip
    for name in ACTIONS:
        text = action_text(name, values)
        assert "{" not in text, (name, text)
    assert "{stage}" in action_text("cut_stage_queue", {"service": "s", "cut_pct": 50})
    with pytest.raises(DataError, match="catalogue"):
        action_text("nope", {})
