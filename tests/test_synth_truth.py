"""Ground truth of the synthetic organisation: consistency with its own events and its plan."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from vsmml.events.schema import attrs_of
from vsmml.synth import WAIT_STAGES, SynthConfig, SynthOrg, generate
from vsmml.synth.org import plan_org, ramp_stage, weekly_plan


@pytest.fixture(scope="module")
def tiny() -> SynthOrg:
    return generate(SynthConfig.preset("tiny"))


@pytest.fixture(scope="module")
def medium() -> SynthOrg:
    return generate(
        SynthConfig(n_services=4, n_teams=2, days=70, moving_bottleneck_share=1.0, seed=3)
    )


def _kind(org: SynthOrg, kind: str) -> pd.DataFrame:
    return org.events[org.events["kind"] == kind]


def test_every_change_has_its_events(tiny: SynthOrg) -> None:
    ch = tiny.truth.changes
    for kind in ("change.opened", "change.merged", "work.created", "work.done"):
        ids = set(_kind(tiny, kind)["change_id"])
        assert set(ch["change_id"]) == ids, kind
    commits = _kind(tiny, "commit").groupby("change_id").size()
    assert (commits.reindex(ch["change_id"]).to_numpy() == ch["n_commits"].to_numpy()).all()
    starts = _kind(tiny, "pipeline.started").groupby("change_id").size()
    assert (starts.reindex(ch["change_id"]).to_numpy() == ch["n_pipeline_attempts"]).all()
    deploys = set(_kind(tiny, "deploy.finished")["deploy_id"])
    assert set(ch["staging_deploy_id"]) <= deploys
    assert set(ch["production_deploy_id"]) <= deploys
    merged = _kind(tiny, "change.merged").set_index("change_id")
    assert (merged.loc[ch["change_id"], "sha"].to_numpy() == ch["sha"].to_numpy()).all()


def test_stage_times_are_ordered(tiny: SynthOrg) -> None:
    ch = tiny.truth.changes
    order = [
        "work_created_at",
        "first_commit_at",
        "opened_at",
        "first_review_at",
        "merged_at",
        "pipeline_started_at",
        "pipeline_finished_at",
        "artifact_published_at",
        "staging_started_at",
        "staging_deployed_at",
    ]
    for a, b in itertools.pairwise(order):
        assert (ch[a] <= ch[b]).all(), (a, b)
    assert (ch["production_started_at"] >= ch["merged_at"]).all()
    assert (ch["production_deployed_at"] > ch["production_started_at"]).all()
    waits = ch[[f"wait_{s}_s" for s in WAIT_STAGES]]
    assert (waits >= 0).all().all()


def test_failures_incidents_and_deploys_agree(medium: SynthOrg) -> None:
    t = medium.truth
    ch, inc, dep = t.changes, t.incidents, t.deploys
    failed = ch[ch["failed"]]
    assert failed["incident_id"].notna().all()
    assert ch.loc[~ch["failed"], "incident_id"].isna().all()
    caused = inc[inc["cause_change_id"].notna()]
    assert set(caused["cause_change_id"]) == set(failed["change_id"])
    assert inc["cause_change_id"].isna().any(), "some incidents have no identifiable cause"
    assert inc["cause_deploy_id"].isna().equals(inc["cause_change_id"].isna())
    joined = caused.merge(ch, left_on="cause_change_id", right_on="change_id")
    assert (joined["cause_deploy_id"] == joined["production_deploy_id"]).all()
    assert (inc["resolved_at"] > inc["opened_at"]).all()
    assert (inc["opened_at"] > inc["onset_at"]).all()
    prod = dep[dep["env"] == "production"]
    assert prod["n_changes"].sum() == len(ch)
    assert set(prod.loc[prod["caused_incident_id"].notna(), "deploy_id"]) <= set(
        caused["cause_deploy_id"]
    )
    rollbacks = _kind(medium, "rollback")
    assert len(rollbacks) == int(prod["rolled_back"].sum()) > 0
    rolled = set(attrs_of(rollbacks, "rolled_back_deploy_id"))
    assert rolled == set(prod.loc[prod["rolled_back"], "deploy_id"])
    linked = _kind(medium, "incident.opened")["deploy_id"].notna().mean()
    assert 0.2 < linked < 0.8
    assert (t.slo_episodes["end"] > t.slo_episodes["start"]).all()
    assert len(t.slo_episodes) == len(inc)


def test_failure_rate_and_batching_are_realistic(medium: SynthOrg) -> None:
    t = medium.truth
    assert 0.06 < t.changes["failed"].mean() < 0.3
    assert abs(t.changes["failed"].mean() - t.changes["p_fail"].mean()) < 0.05
    prod = t.deploys[t.deploys["env"] == "production"].merge(
        t.services[["service", "batches_deploys"]], on="service"
    )
    by = prod.groupby("batches_deploys")["n_changes"].mean()
    if len(by) == 2:
        assert by[True] > by[False]
    assert (prod["n_changes"] > 1).any()
    pipes = t.pipelines
    assert pipes["flaky_failure"].any()
    retried = pipes[pipes["attempt"] > 1]
    assert len(retried) > 0 and (retried["attempt"] <= 3).all()
    assert pipes.groupby("change_id")["status"].last().eq("success").all()


def test_planted_bottleneck_leads_narrowly_and_moves(medium: SynthOrg, tiny: SynthOrg) -> None:
    for org in (tiny, medium):
        b = org.truth.bottlenecks
        assert (b["stage"] == b["planted_stage"]).all()
        assert (b["lead"] > 0).all() and (b["lead"] <= 0.30).all()
        shares = org.truth.stage_wait_shares
        sums = shares.groupby(["service", "week_start"])["wait_share"].sum()
        assert np.allclose(sums, 1.0)
    b = medium.truth.bottlenecks
    moved = b.groupby("service")["planted_stage"].nunique()
    assert (moved > 1).any()
    # the longest stage by run time (integration tests) is not always the bottleneck
    assert (b["stage"] != "integration-tests").any()


def _event_waits(org: SynthOrg) -> pd.DataFrame:
    """Recompute each change's wait per stage from the events alone (the documented rule)."""
    ev = org.events
    opened = _kind(org, "change.opened").set_index("change_id")["ts"]
    first_review = _kind(org, "change.reviewed").groupby("change_id")["ts"].min()
    out = pd.DataFrame({"review": (first_review - opened).dt.total_seconds()})
    st = _kind(org, "stage.started")
    q = attrs_of(st, "queue_s").astype(float)
    queue = pd.DataFrame({"change_id": st["change_id"], "stage": st["stage"], "q": q})
    out = out.join(queue.pivot_table(index="change_id", columns="stage", values="q", aggfunc="sum"))
    pub = _kind(org, "artifact.published").set_index("artifact_id")[["ts", "sha"]]
    dep = ev[ev["kind"].isin(["deploy.started", "deploy.finished"])]
    stg = dep[dep["env"] == "staging"].pivot_table(
        index="artifact_id", columns="kind", values="ts", aggfunc="first", observed=True
    )
    merged = _kind(org, "change.merged").set_index("sha")[["change_id", "ts", "service"]]
    pub = pub.join(stg).join(merged[["change_id"]], on="sha")
    pub = pub.set_index("change_id")
    out["staging"] = (pub["deploy.started"] - pub["ts"]).dt.total_seconds()
    prod = dep[(dep["env"] == "production") & (dep["kind"] == "deploy.started")]
    rows = []
    for service, m in merged.reset_index().groupby("service", observed=True):
        m = m.sort_values("ts")
        p = prod[prod["service"] == service].sort_values("ts")
        head_merge = m.set_index("sha").loc[p["sha"], "ts"].to_numpy()
        idx = np.searchsorted(head_merge, m["ts"].to_numpy(), side="left")
        ship = p["ts"].to_numpy()[idx]
        rows.append(pd.DataFrame({"change_id": m["change_id"].to_numpy(), "ship": ship}))
    ship = pd.concat(rows).set_index("change_id")["ship"]
    wait = (ship - pub["deploy.finished"]).dt.total_seconds().clip(lower=0)
    out["production"] = wait
    first_commit = _kind(org, "commit").groupby("change_id")["ts"].min()
    out["service"] = merged.set_index("change_id")["service"].astype(str)
    out["week_start"] = first_commit.dt.floor("D") - pd.to_timedelta(
        first_commit.dt.day_of_week, unit="D"
    )
    return out


def test_bottleneck_is_recoverable_from_events(medium: SynthOrg) -> None:
    waits = _event_waits(medium)
    truth = medium.truth.changes.set_index("change_id")
    for s in WAIT_STAGES:
        assert np.allclose(waits.loc[truth.index, s], truth[f"wait_{s}_s"], atol=0.01), s
    weekly = waits.groupby(["service", "week_start"])[list(WAIT_STAGES)].sum()
    found = weekly.idxmax(axis=1).rename("found").reset_index()
    b = medium.truth.bottlenecks.merge(found, on=["service", "week_start"])
    assert len(b) == len(medium.truth.bottlenecks)
    assert (b["found"] == b["stage"]).mean() >= 0.95


def test_jit_metrics_on_head_commit(tiny: SynthOrg) -> None:
    commits = _kind(tiny, "commit")
    ch = tiny.truth.changes.set_index("sha")
    heads = commits[commits["sha"].isin(ch.index)]
    attrs = heads["attrs"].map(json.loads)
    for metric in ("la", "nf", "entropy", "exp", "fix"):
        got = attrs.map(lambda a, m=metric: a[m]).to_numpy(dtype=float)
        assert np.allclose(got, ch.loc[heads["sha"], metric].to_numpy(dtype=float)), metric
    others = commits[~commits["sha"].isin(ch.index)]
    assert others["attrs"].map(lambda a: "entropy" not in json.loads(a)).all()


def test_slo_samples_cover_the_period_and_burn(medium: SynthOrg) -> None:
    cfg = medium.config
    slo = _kind(medium, "slo.sample")
    per = slo.groupby("service", observed=True).size()
    assert (per == cfg.days * 24 * 60 // cfg.slo_interval_minutes).all()
    good = attrs_of(slo, "good").astype(int).to_numpy()
    total = attrs_of(slo, "total").astype(int).to_numpy()
    assert (good <= total).all() and total.sum() > 0
    ep = medium.truth.slo_episodes.iloc[0]
    s = slo[slo["service"] == ep["service"]]
    inside = s[(s["ts"] > ep["start"]) & (s["ts"] <= ep["end"])]

    def err(f: pd.DataFrame) -> float:
        good = attrs_of(f, "good").astype(int).sum()
        return float(1 - good / attrs_of(f, "total").astype(int).sum())

    assert err(inside) > 2 * err(s)
    hours = s["ts"].dt.hour
    tot = attrs_of(s, "total").astype(int)
    assert tot[(hours >= 12) & (hours < 16)].mean() > tot[(hours >= 0) & (hours < 4)].mean()


def test_review_depth_is_visible_in_events(tiny: SynthOrg) -> None:
    rev = _kind(tiny, "change.reviewed")
    reviewer = attrs_of(rev, "reviewer")
    state = attrs_of(rev, "state")
    ch = tiny.truth.changes.set_index("change_id")
    distinct = reviewer.groupby(rev["change_id"]).nunique()
    assert (distinct.loc[ch.index].to_numpy() == ch["n_reviewers"].to_numpy()).all()
    asks = (state == "changes_requested").groupby(rev["change_id"]).sum()
    assert (asks.loc[ch.index].to_numpy() + 1 == ch["review_rounds"].to_numpy()).all()
    authors = (
        _kind(tiny, "change.opened")
        .set_index("change_id")["attrs"]
        .map(lambda a: json.loads(a)["author"])
    )
    assert (reviewer.to_numpy() != authors.loc[rev["change_id"]].to_numpy()).all()


def test_a_move_is_announced_by_a_ramp_of_the_incoming_stage(medium: SynthOrg) -> None:
    plan = plan_org(medium.config)
    shares = medium.truth.stage_wait_shares
    waits = medium.truth.changes
    n_ramps, growth = 0, []
    for svc in plan.services:
        s = shares[shares["service"] == svc.name]
        wide = s.pivot(index="week_start", columns="stage", values="wait_share").reset_index()
        for prev, r in itertools.pairwise(svc.regimes):
            assert 1 <= r.ramp_weeks <= 3
            before, last = r.week - r.ramp_weeks - 1, r.week - 1
            incoming, old = wide[r.stage], wide[prev.stage]
            # it builds up, stays behind the old bottleneck, then overtakes it
            assert incoming[last] > incoming[before] or incoming[before] > 0.9 * old[before]
            assert incoming[last] < old[last]
            assert incoming[r.week] > old[r.week]
            # within the ramp weeks, later changes wait longer in the incoming stage
            for week in wide["week_start"][r.week - r.ramp_weeks : r.week]:
                ch = waits[(waits["service"] == svc.name) & (waits["week_start"] == week)]
                frac = (ch["first_commit_at"] - week).dt.total_seconds() / (7 * 86400)
                w = ch[f"wait_{r.stage}_s"]
                growth.append(w[frac >= 0.5].mean() / w[frac < 0.5].mean())
            n_ramps += 1
    assert n_ramps >= 4
    assert float(np.median(growth)) > 1.2, growth


def test_shares_vary_from_week_to_week_within_a_regime(medium: SynthOrg) -> None:
    b = medium.truth.bottlenecks
    steady = b.groupby(["service", "regime"])["lead"].agg(["std", "size"])
    assert (steady.loc[steady["size"] >= 3, "std"] > 0.01).all()
    s = medium.truth.stage_wait_shares
    week_sd = s.groupby(["service", "stage"])["wait_share"].std()
    assert week_sd.median() > 0.003


def test_weekly_plan_is_deterministic_and_keeps_the_lead() -> None:
    cfg = SynthConfig(n_services=6, n_teams=2, days=140, moving_bottleneck_share=1.0, seed=11)
    plan = plan_org(cfg)
    for svc in plan.services:
        p1, t1 = weekly_plan(cfg.seed, svc, plan.n_weeks)
        p2, t2 = weekly_plan(cfg.seed, svc, plan.n_weeks)
        assert np.array_equal(t1, t2) and np.array_equal(p1, p2)
        stage = np.zeros(plan.n_weeks, dtype=int)
        for r in svc.regimes:
            stage[r.week :] = WAIT_STAGES.index(r.stage)
        rows = np.arange(plan.n_weeks)
        top = np.sort(t1, axis=1)
        assert (np.argmax(t1, axis=1) == stage).all()
        lead = top[:, -1] / top[:, -2] - 1
        assert (lead >= 0.07 - 1e-9).all() and (lead <= 0.22 + 1e-9).all()
        assert not np.allclose(t1[rows, stage], p1[rows, stage])  # noise on the plan
        ramping = ramp_stage(svc, plan.n_weeks)
        assert ((ramping >= 0).sum()) == sum(r.ramp_weeks for r in svc.regimes)
