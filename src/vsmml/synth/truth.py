"""Ground-truth tables, read from the generator's own decisions (never from emitted events)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from vsmml.synth.changes import HOUR, US, WEEK
from vsmml.synth.config import PIPELINE_STAGES, WAIT_STAGES, SynthConfig
from vsmml.synth.emit import ts_or_nat, ts_series
from vsmml.synth.events import JIT
from vsmml.synth.service import ServiceWorld


@dataclass
class GroundTruth:
    """What the generator planted and decided, one DataFrame per subject."""

    services: pd.DataFrame
    dependencies: pd.DataFrame
    changes: pd.DataFrame
    deploys: pd.DataFrame
    incidents: pd.DataFrame
    pipelines: pd.DataFrame
    bottlenecks: pd.DataFrame
    stage_wait_shares: pd.DataFrame
    slo_episodes: pd.DataFrame

    @classmethod
    def concat(cls, parts: list[GroundTruth]) -> GroundTruth:
        """Row-wise union of several truths (e.g. of chunks of services)."""
        out = {}
        for f in fields(cls):
            frames = [getattr(p, f.name) for p in parts]
            nonempty = [x for x in frames if len(x)] or frames[:1]
            out[f.name] = pd.concat(nonempty, ignore_index=True)
        return cls(**out)


def _str(values: object) -> pd.Series:
    return pd.Series(values, dtype="str")


def change_truth(w: ServiceWorld) -> pd.DataFrame:
    """One row per change with JIT metrics, context, p_fail, outcome and every stage's time."""
    ch, tl, inc = w.changes, w.tl, w.incidents
    n = len(ch)
    g = tl.prod_group
    inc_of = np.full(n, -1)
    caused = inc.change_idx >= 0
    inc_of[inc.change_idx[caused]] = np.flatnonzero(caused)
    ids = np.asarray([*inc.incident_id, None], dtype=object)
    att_count = np.bincount(tl.pipelines.att_change, minlength=n)
    first_att = np.full(n, -1)
    first_att[tl.pipelines.att_change[::-1]] = np.arange(tl.pipelines.att_change.size)[::-1]
    restored = np.r_[inc.resolved, -1][inc_of]
    out = {
        "change_id": _str(ch["change_id"]),
        "service": w.svc.name,
        "team": w.svc.team,
        "repo": w.svc.repo,
        "sha": _str(ch["sha"]),
        "work_id": _str(ch["work_id"]),
        "work_type": _str(ch["work_type"]),
        "author": _str(ch["author"]),
        "n_commits": ch["n_commits"],
        **{m: ch[m] for m in JIT},
        "review_rounds": ch["review_rounds"],
        "n_reviewers": ch["n_reviewers"],
        "team_load": np.round(ch["team_load"], 3),
        "pipeline_flakiness": np.round(ch["pipeline_flakiness"], 4),
        "hours_since_last_deploy": ch["hours_since_last_deploy"],
        "deploy_batch_size": ch["deploy_batch_size"],
        "service_recent_failure_rate": np.round(ch["service_recent_failure_rate"], 4),
        "p_fail": ch["p_fail"],
        "failed": ch["failed"].astype(bool),
        "n_pipeline_attempts": att_count,
        "flagged": ch["flag_on_us"] >= 0,
        "work_created_at": ts_series(ch["work_created_us"].to_numpy()),
        "first_commit_at": ts_series(ch["first_commit_us"].to_numpy()),
        "opened_at": ts_series(ch["opened_us"].to_numpy()),
        "first_review_at": ts_series(tl.first_review),
        "merged_at": ts_series(tl.merged),
        "pipeline_started_at": ts_series(tl.ptimes.att_start[first_att]),
        "pipeline_finished_at": ts_series(tl.ptimes.change_end),
        "artifact_published_at": ts_series(tl.published),
        "staging_started_at": ts_series(tl.staging_start),
        "staging_deployed_at": ts_series(tl.staging_finish),
        "production_started_at": ts_series(tl.prod.start[g]),
        "production_deployed_at": ts_series(tl.prod.finish[g]),
        "flag_enabled_at": ts_or_nat(ch["flag_on_us"].to_numpy()),
        "restored_at": ts_or_nat(restored),
        "artifact_id": _str(ch["artifact_id"]),
        "final_pipeline_id": _str(ch["final_pipeline_id"]),
        "staging_deploy_id": _str(ch["staging_deploy_id"]),
        "production_deploy_id": _str(np.asarray(w.prod_ids, dtype=object)[g]),
        "incident_id": _str(ids[inc_of]),
        "week_start": ts_series(_week_start(w, ch["week"].to_numpy())),
    }
    for i, s in enumerate(WAIT_STAGES):
        out[f"wait_{s}_s"] = np.round(tl.waits_us[:, i] / US, 3)
    return pd.DataFrame(out)


def _week_start(w: ServiceWorld, week: np.ndarray) -> np.ndarray:
    return np.asarray(w.start_us + week.astype(np.int64) * WEEK, dtype=np.int64)


def wait_tables(w: ServiceWorld) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per service-week: every stage's realised wait share, and the leading (bottleneck) stage."""
    week = w.changes["week"].to_numpy()
    if week.size == 0:
        return _empty_shares(), _empty_bottlenecks()
    n_weeks = int(week.max()) + 1
    sums = np.zeros((n_weeks, len(WAIT_STAGES)))
    np.add.at(sums, week, w.tl.waits_us)
    counts = np.bincount(week, minlength=n_weeks)
    keep = np.flatnonzero(counts > 0)
    sums, counts = sums[keep], counts[keep]
    shares = sums / np.maximum(sums.sum(axis=1, keepdims=True), 1)
    starts = ts_series(w.start_us + keep.astype(np.int64) * WEEK)
    planted = w.tl.planned_h[keep]
    regime = np.zeros(keep.size, dtype=int)
    for j, r in enumerate(w.svc.regimes):
        regime[keep >= r.week] = j
    n_s = len(WAIT_STAGES)
    long = pd.DataFrame(
        {
            "service": w.svc.name,
            "week_start": np.repeat(starts.to_numpy(), n_s),
            "stage": np.tile(np.array(WAIT_STAGES), keep.size),
            "wait_hours": np.round(sums.ravel() / HOUR, 4),
            "wait_share": shares.ravel(),
            "planted_mean_wait_h": planted.ravel(),
            "n_changes": np.repeat(counts, n_s),
        }
    )
    order = np.argsort(-shares, axis=1)
    top, second = order[:, 0], order[:, 1]
    rows = np.arange(keep.size)
    planted_stage = np.array([w.svc.regimes[j].stage for j in regime])
    bott = pd.DataFrame(
        {
            "service": w.svc.name,
            "week_start": starts,
            "stage": np.array(WAIT_STAGES)[top],
            "wait_share": shares[rows, top],
            "runner_up": np.array(WAIT_STAGES)[second],
            "runner_up_share": shares[rows, second],
            "lead": shares[rows, top] / np.maximum(shares[rows, second], 1e-12) - 1.0,
            "planted_stage": planted_stage,
            "regime": regime,
            "n_changes": counts,
        }
    )
    long["is_bottleneck"] = np.repeat(np.array(WAIT_STAGES)[top], n_s) == long["stage"]
    return long.astype({"service": "str", "stage": "str"}), bott.astype(
        {"service": "str", "stage": "str", "runner_up": "str", "planted_stage": "str"}
    )


def _empty_shares() -> pd.DataFrame:
    return pd.DataFrame(columns=["service", "week_start", "stage", "wait_hours", "wait_share"])


def _empty_bottlenecks() -> pd.DataFrame:
    return pd.DataFrame(columns=["service", "week_start", "stage", "wait_share"])


def deploy_truth(w: ServiceWorld) -> pd.DataFrame:
    """Staging deploys (one per change) and production deploys (one per batch)."""
    ch, tl, inc = w.changes, w.tl, w.incidents
    n = len(ch)
    prod = tl.prod
    n_g = prod.start.size
    caused = np.full(n_g, None, dtype=object)
    rolled = np.zeros(n_g, dtype=bool)
    rb_id = np.full(n_g, None, dtype=object)
    for j in np.argsort(inc.opened)[::-1]:  # earliest incident wins
        g = inc.deploy_group[j]
        if g >= 0:
            caused[g] = inc.incident_id[j]
            if inc.rollback_at[j] >= 0:
                rolled[g] = True
                rb_id[g] = w.rollback_ids[j]
    staging = pd.DataFrame(
        {
            "deploy_id": _str(ch["staging_deploy_id"]),
            "env": "staging",
            "started_at": ts_series(tl.staging_start),
            "finished_at": ts_series(tl.staging_finish),
            "n_changes": np.ones(n, dtype=np.int64),
            "head_sha": _str(ch["sha"]),
            "head_change_id": _str(ch["change_id"]),
            "artifact_id": _str(ch["artifact_id"]),
            "caused_incident_id": _str([None] * n),
            "rolled_back": np.zeros(n, dtype=bool),
            "rollback_deploy_id": _str([None] * n),
        }
    )
    production = pd.DataFrame(
        {
            "deploy_id": _str(w.prod_ids),
            "env": "production",
            "started_at": ts_series(prod.start),
            "finished_at": ts_series(prod.finish),
            "n_changes": prod.n_changes,
            "head_sha": _str(w.prod_head_sha),
            "head_change_id": _str(ch["change_id"].to_numpy()[tl.order[prod.head]]),
            "artifact_id": _str(w.prod_head_artifact),
            "caused_incident_id": _str(caused),
            "rolled_back": rolled,
            "rollback_deploy_id": _str(rb_id),
        }
    )
    out = pd.concat([staging, production], ignore_index=True)
    out.insert(1, "service", w.svc.name)
    out["status"] = "success"
    return out.astype({"service": "str", "env": "str", "status": "str"})


def incident_truth(w: ServiceWorld) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Incidents (with cause deploy and change, or none) and their SLO burn episodes."""
    inc = w.incidents
    cids = np.asarray([*w.changes["change_id"].tolist(), None], dtype=object)
    pids = np.asarray([*w.prod_ids, None], dtype=object)
    cause_dep = _str(pids[inc.deploy_group])
    incidents = pd.DataFrame(
        {
            "incident_id": _str(inc.incident_id),
            "service": w.svc.name,
            "team": w.svc.team,
            "severity": _str(inc.severity),
            "onset_at": ts_series(inc.onset),
            "opened_at": ts_series(inc.opened),
            "resolved_at": ts_series(inc.resolved),
            "cause_deploy_id": cause_dep,
            "cause_change_id": _str(cids[inc.change_idx]),
            "explicit_link": inc.explicit_link,
            "rolled_back": inc.rollback_at >= 0,
            "flag_switched_off": inc.flag_off_at >= 0,
        }
    ).astype({"service": "str", "team": "str"})
    episodes = pd.DataFrame(
        {
            "service": w.svc.name,
            "incident_id": _str(inc.incident_id),
            "start": ts_series(inc.onset),
            "end": ts_series(inc.resolved),
            "burn_rate": inc.burn_rate,
            "cause_deploy_id": cause_dep,
        }
    ).astype({"service": "str"})
    return incidents, episodes


def pipeline_truth(w: ServiceWorld) -> pd.DataFrame:
    """One row per pipeline attempt: status and whether its failure was flaky (all are)."""
    p, pt = w.tl.pipelines, w.tl.ptimes
    fail_stage = np.full(p.att_change.size, None, dtype=object)
    fr = np.flatnonzero(p.run_failed)
    fail_stage[p.run_attempt[fr]] = np.array(PIPELINE_STAGES)[p.run_stage[fr]]
    return pd.DataFrame(
        {
            "pipeline_id": _str(w.pipeline_ids),
            "change_id": _str(w.changes["change_id"].to_numpy()[p.att_change]),
            "service": w.svc.name,
            "attempt": p.att_number,
            "status": _str(np.where(p.att_failed, "failure", "success")),
            "flaky_failure": p.att_failed.astype(bool),
            "failed_stage": _str(fail_stage),
            "started_at": ts_series(pt.att_start),
            "finished_at": ts_series(pt.att_end),
        }
    ).astype({"service": "str"})


def service_truth(w: ServiceWorld, config: SynthConfig) -> dict[str, pd.DataFrame]:
    """Every per-service truth table (services/dependencies are organisation-level)."""
    shares, bott = wait_tables(w)
    incidents, episodes = incident_truth(w)
    return {
        "changes": change_truth(w),
        "deploys": deploy_truth(w),
        "incidents": incidents,
        "pipelines": pipeline_truth(w),
        "bottlenecks": bott,
        "stage_wait_shares": shares,
        "slo_episodes": episodes,
    }
