"""Generate one service end to end: decide everything, then emit its events and truth rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vsmml.synth.changes import DAY, HOUR, WEEK, draw_changes, draw_commits, hex_ids
from vsmml.synth.config import SynthConfig
from vsmml.synth.failure import decide_failures, trailing_rate
from vsmml.synth.incidents import Incidents, draw_flags, draw_incidents
from vsmml.synth.org import OrgPlan, ServicePlan
from vsmml.synth.pipeline import Pipelines
from vsmml.synth.slo import SloSamples, slo_samples
from vsmml.synth.timeline import Timeline, build_timeline

SERVICE_STREAM = 2


@dataclass
class ServiceWorld:
    """Everything decided for one service (the source of both its events and its truth)."""

    svc: ServicePlan
    start_us: int
    n_devs: int
    changes: pd.DataFrame  # per change, by k; truth columns in µs
    commits: pd.DataFrame
    tl: Timeline
    prod_ids: list[str]
    pipeline_ids: np.ndarray
    prod_head_sha: np.ndarray
    prod_head_artifact: np.ndarray
    incidents: Incidents
    rollback_ids: list[str]
    slo: SloSamples
    findings: pd.DataFrame


def decide_service(config: SynthConfig, plan: OrgPlan, svc: ServicePlan) -> ServiceWorld:
    """Run every step of the generator for one service, from its own random stream."""
    rng = np.random.default_rng([config.seed, svc.index, SERVICE_STREAM])
    ch = draw_changes(config, plan, svc, rng)
    commits = draw_commits(ch, rng)
    tl = build_timeline(config, svc, ch, rng)
    n = len(ch)
    name = svc.name
    heads = commits.loc[commits["is_last"], ["change_idx", "sha"]]
    sha = np.empty(n, dtype=object)
    sha[heads["change_idx"].to_numpy()] = heads["sha"].to_numpy()
    ch["sha"] = sha.astype(str) if n else pd.Series([], dtype="str")
    ch["artifact_id"] = [f"{name}-a{k:05d}" for k in range(n)]
    ch["digest"] = [f"sha256:{h}" for h in hex_ids(rng, n, 32)]
    ch["staging_deploy_id"] = [f"{name}-stg-{k:05d}" for k in range(n)]
    pipeline_ids = np.array(
        [f"{name}-p{j:06d}" for j in range(tl.pipelines.att_change.size)], dtype=object
    )
    last_att = np.zeros(n, dtype=np.int64)
    last_att[tl.pipelines.att_change] = np.arange(tl.pipelines.att_change.size)
    ch["final_pipeline_id"] = pipeline_ids[last_att].astype(str) if n else []
    # Production deploys (merge order) and each change's delivery context.
    prod, group = tl.prod, tl.prod_group
    head_k = tl.order[prod.head]
    prod_ids = [f"{name}-prd-{g:05d}" for g in range(prod.start.size)]
    start = int(config.start.value // 1000)
    prev_start = np.r_[start, prod.start[:-1]]
    ch["production_deploy_group"] = group
    ch["hours_since_last_deploy"] = np.round((prod.start - prev_start)[group] / HOUR, 3)
    ch["deploy_batch_size"] = prod.n_changes[group]
    p = tl.pipelines
    merged = tl.merged
    ch["pipeline_flakiness"] = trailing_rate(tl.ptimes.att_start, p.att_failed, merged, 14 * DAY)
    rate, p_fail, failed = decide_failures(ch, prod.start[group], rng.random(n), 28 * DAY, WEEK)
    ch["service_recent_failure_rate"] = rate
    ch["p_fail"] = p_fail
    ch["failed"] = failed
    flag_on = draw_flags(ch["work_type"].to_numpy(), prod.finish[group], config.flag_share, rng)
    inc = draw_incidents(config, name, failed, group, prod.finish, flag_on, rng)
    ch["flag_on_us"] = flag_on
    rollback_ids = [f"{name}-prd-rb{j:04d}" for j in range(inc.opened.size)]
    slo = slo_samples(config, svc, inc.onset, inc.resolved, inc.burn_rate, rng)
    findings = _findings(config, name, p, tl, rng)
    return ServiceWorld(
        svc=svc,
        start_us=start,
        n_devs=config.devs_per_team,
        changes=ch,
        commits=commits,
        tl=tl,
        prod_ids=prod_ids,
        pipeline_ids=pipeline_ids,
        prod_head_sha=ch["sha"].to_numpy()[head_k] if n else np.array([], dtype=object),
        prod_head_artifact=ch["artifact_id"].to_numpy()[head_k] if n else np.array([], object),
        incidents=inc,
        rollback_ids=rollback_ids,
        slo=slo,
        findings=findings,
    )


def _findings(
    config: SynthConfig, name: str, p: Pipelines, tl: Timeline, rng: np.random.Generator
) -> pd.DataFrame:
    """Security findings opened by passing security-scan runs, closed days later."""
    scan = np.flatnonzero((p.run_stage == 3) & ~p.run_failed)
    hit = scan[rng.random(scan.size) < config.security_finding_rate]
    opened = tl.ptimes.run_end[hit]
    return pd.DataFrame(
        {
            "finding_id": [f"{name}-sf{j:04d}" for j in range(hit.size)],
            "change_idx": p.run_change[hit],
            "severity": rng.choice(
                np.array(["low", "medium", "high", "critical"]), hit.size, p=[0.4, 0.35, 0.2, 0.05]
            ),
            "opened_us": opened,
            "closed_us": opened
            + (np.minimum(rng.lognormal(np.log(3.0), 0.8, hit.size), 14.0) * DAY).astype(np.int64),
        }
    )
