"""The recommender on the demo-size synthetic organisation, scored against the generator's truth.

The same checks as bench/eval_recommend.py, on one seed: the top flow recommendation of each
service targets the stage leading its waiting over the last 4 complete weeks, and cutting that
stage's wait in the generator realises a lead-time change inside the recommended interval.
"""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from vsmml.correlate import correlate
from vsmml.graph import flow_data
from vsmml.models.risk_scoring import RiskScorer
from vsmml.pipeline.models import default_models_dir
from vsmml.recommend import CATEGORIES, DEFAULT_RULES, MAX_EVENT_IDS, recommend
from vsmml.recommend.gather import gather
from vsmml.synth import SynthConfig, SynthOrg, generate
from vsmml.synth.config import WaitCut

pytestmark = pytest.mark.slow
FLOW_RULES = [r for r in DEFAULT_RULES if r.category == "flow"]
WAIT_CUTS = ("cut_review_wait", "cut_stage_queue", "automate_promotion", "deploy_more_often")
WEEK = pd.Timedelta(weeks=1)


@pytest.fixture(scope="module")
def demo() -> SynthOrg:
    return generate(SynthConfig.preset("demo"))


def _delivery(events: pd.DataFrame) -> pd.DataFrame:
    return events.loc[(events["kind"].astype(str) != "slo.sample").to_numpy(dtype=bool)]


def _top_flow(recs, actions=None):  # type: ignore[no-untyped-def]
    out = {}
    for r in recs:
        if r.category == "flow" and (actions is None or r.action in actions):
            out.setdefault(r.target.service, r)
    return out


def test_top_flow_recommendation_targets_the_four_week_wait_leader(demo: SynthOrg) -> None:
    inputs = gather(_delivery(demo.events))
    assert inputs.until == demo.config.start + (demo.config.days // 7) * WEEK  # last full week
    top = _top_flow(recommend(inputs, rules=FLOW_RULES).recommendations)
    sw = demo.truth.stage_wait_shares
    sw = sw.loc[(sw["week_start"] >= inputs.since) & (sw["week_start"] < inputs.until)]
    lead = sw.groupby(["service", "stage"])["wait_hours"].sum().groupby(level=0).idxmax()
    hits = [s in top and top[s].target.stage == stage for (s, stage) in lead]
    assert len(hits) == demo.config.n_services
    assert sum(hits) / len(hits) >= 0.9, list(zip(lead, [top.get(s) for s, _ in lead], strict=True))


def _medians(events: pd.DataFrame, since: pd.Timestamp, until: pd.Timestamp) -> pd.Series:
    ev = _delivery(events)
    ch = flow_data(correlate(ev).changes, ev).changes
    keep = (ch["first_commit_at"] >= since) & (ch["first_commit_at"] < until)
    return ch.loc[keep].groupby("service")["lead_h"].median()


def test_cutting_the_recommended_wait_realises_an_effect_inside_the_interval(
    demo: SynthOrg,
) -> None:
    cfg = demo.config
    week = cfg.days // 7 - 4
    at = cfg.start + week * WEEK
    known = _delivery(demo.events.loc[demo.events["ts"] < at])
    top = _top_flow(recommend(gather(known, until=at), rules=FLOW_RULES).recommendations, WAIT_CUTS)
    cuts = tuple(
        WaitCut(str(r.target.stage), 1 - r.params["cut_pct"] / 100, week, (s,))
        for s, r in top.items()
    )
    cut = generate(dataclasses.replace(cfg, wait_cuts=cuts))
    before, after = (
        _medians(demo.events, at, at + 4 * WEEK),
        _medians(cut.events, at, at + 4 * WEEK),
    )
    covered = []
    for s, r in top.items():
        real = 100 * (after[s] - before[s]) / before[s]
        e = r.expected_effect
        assert e.value < 0 and real < 0  # the cut helps, as predicted
        covered.append(e.low <= real <= e.high)
    assert len(covered) == cfg.n_services and sum(covered) / len(covered) >= 0.8


def test_every_family_gives_valid_records_whose_event_ids_are_real(demo: SynthOrg) -> None:
    root = default_models_dir()
    assert root is not None
    inputs = gather(demo.events, scorer=RiskScorer.from_dir(root / "risk"))
    res = recommend(inputs)
    assert res.skipped == {"burn-outlook": "no burn_outlook", "quarantine": "no quarantine"}
    assert {r.category for r in res.recommendations} == set(CATEGORIES)
    keys = [(r.target.key(), r.action) for r in res.recommendations]
    assert len(keys) == len(set(keys))
    assert [r.rank for r in res.recommendations] == list(range(1, len(res) + 1))
    prio = [r.priority for r in res.recommendations]
    assert prio == sorted(prio, reverse=True)
    known = set(demo.events["event_id"].astype(str))
    for r in res.recommendations:
        assert any(e.event_ids for e in r.evidence)
        for e in r.evidence:
            assert len(e.event_ids) <= MAX_EVENT_IDS and e.n_events >= len(e.event_ids)
            assert set(e.event_ids) <= known, (r.rule, e.summary)
        eff = r.expected_effect
        assert eff.low <= eff.value <= eff.high and eff.method
    json.dumps(res.to_list())
