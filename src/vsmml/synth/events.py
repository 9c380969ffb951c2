"""Turn one service's decided world into canonical events (shapes: .agents/SYNTH_EVENTS.md)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vsmml.synth.changes import US
from vsmml.synth.config import PIPELINE_STAGES
from vsmml.synth.emit import EventBuilder
from vsmml.synth.service import ServiceWorld

JIT = (
    "la",
    "ld",
    "lt",
    "nf",
    "ns",
    "nd",
    "entropy",
    "ndev",
    "age",
    "nuc",
    "exp",
    "rexp",
    "sexp",
    "fix",
)
_STAGES = np.array(PIPELINE_STAGES)


def _literal(values: Sequence[object]) -> list[str]:
    """JSON literals of one column: strings quoted, booleans lower-case, numbers as they print."""
    arr = np.asarray(values)
    if arr.dtype == bool:
        return np.where(arr, "true", "false").tolist()  # type: ignore[no-any-return]
    if arr.dtype.kind in "iuf":
        return [str(v) for v in arr.tolist()]
    return [f'"{v}"' for v in values]


def _json(keys: Sequence[str], cols: Sequence[Sequence[object]]) -> list[str]:
    """JSON objects (one per row) from parallel columns."""
    parts = [[f'"{k}": {v}' for v in _literal(c)] for k, c in zip(keys, cols, strict=True)]
    return ["{" + ", ".join(row) + "}" for row in zip(*parts, strict=True)]


def _s(us: np.ndarray) -> list[float]:
    out: list[float] = np.round(np.asarray(us) / US, 3).tolist()
    return out


def service_events(w: ServiceWorld, categories: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Every event of one service as raw column arrays (`emit.assemble` makes the frame)."""
    svc, ch, tl = w.svc, w.changes, w.tl
    b = EventBuilder(svc.name, svc.team, svc.repo, categories)
    cid = ch["change_id"].tolist()
    sha = ch["sha"].to_numpy()
    wid = ch["work_id"].tolist()
    wt = ch["work_type"].tolist()
    author = ch["author"].tolist()
    prod_finish = tl.prod.finish[tl.prod_group]
    work_attrs = _json(["work_id", "work_type"], [wid, wt])
    b.add("work.created", ch["work_created_us"].to_numpy(), wid, work_attrs, change_id=cid)
    b.add("work.started", ch["work_started_us"].to_numpy(), wid, work_attrs, change_id=cid)
    b.add("work.done", prod_finish, wid, work_attrs, change_id=cid)
    # commits: the head commit carries the change's 14 Kamei metrics
    cm = w.commits
    last = cm["is_last"].to_numpy()
    ci = cm["change_idx"].to_numpy()
    csha = cm["sha"].tolist()
    cauthor = np.asarray(author, dtype=object)[ci].tolist()
    ccid = np.asarray(cid, dtype=object)[ci].tolist()
    attrs = np.empty(len(cm), dtype=object)
    attrs[~last] = _json(
        ["author", "la", "ld"],
        [
            np.asarray(cauthor, object)[~last],
            cm["la"].to_numpy()[~last].tolist(),
            cm["ld"].to_numpy()[~last].tolist(),
        ],
    )
    li = ci[last]
    attrs[last] = _json(
        ["author", *JIT],
        [np.asarray(author, object)[li]] + [ch[m].to_numpy()[li].tolist() for m in JIT],
    )
    b.add("commit", cm["ts_us"].to_numpy(), csha, attrs.tolist(), sha=csha, change_id=ccid)
    b.add(
        "change.opened",
        ch["opened_us"].to_numpy(),
        cid,
        _json(["author", "title"], [author, [f"{t}: {c}" for t, c in zip(wt, cid, strict=True)]]),
        change_id=cid,
        sha=sha.tolist(),
    )
    rounds = ch["review_rounds"].to_numpy()
    dev_no = np.array([int(a.rsplit("dev", 1)[1]) for a in author], dtype=np.int64)
    for r in range(3):
        m = rounds > r
        state = np.where(rounds[m] == r + 1, "approved", "changes_requested").tolist()
        # the next teammate after the author reviews every round
        other = dev_no[m] % w.n_devs + 1
        reviewer = [f"{svc.team}-dev{j}" for j in other.tolist()]
        ids = [f"{c}:{r + 1}" for c in np.asarray(cid, object)[m]]
        b.add(
            "change.reviewed",
            tl.review_times[r][m],
            ids,
            _json(["reviewer", "state"], [reviewer, state]),
            change_id=np.asarray(cid, object)[m].tolist(),
        )
    # a second reviewer approves at the last round when the change has two reviewers
    two = ch["n_reviewers"].to_numpy() == 2
    last_review = np.choose(rounds - 1, tl.review_times)
    second = (dev_no[two] + 1) % w.n_devs + 1
    b.add(
        "change.reviewed",
        last_review[two],
        [f"{c}:{r}b" for c, r in zip(np.asarray(cid, object)[two], rounds[two], strict=True)],
        _json(
            ["reviewer", "state"],
            [[f"{svc.team}-dev{j}" for j in second.tolist()], ["approved"] * int(two.sum())],
        ),
        change_id=np.asarray(cid, object)[two].tolist(),
    )
    b.add(
        "change.merged",
        tl.merged,
        cid,
        _json(["author"], [author]),
        change_id=cid,
        sha=sha.tolist(),
    )
    _pipelines(b, w, cid, sha)
    _deliveries(b, w, cid, sha)
    _operations(b, w, cid)
    return b.raw()


def _pipelines(b: EventBuilder, w: ServiceWorld, cid: list[str], sha: np.ndarray) -> None:
    p, pt = w.tl.pipelines, w.tl.ptimes
    pid = w.pipeline_ids
    a_cid = np.asarray(cid, object)[p.att_change].tolist()
    a_sha = sha[p.att_change].tolist()
    att = p.att_number.tolist()
    trig = np.where(p.att_number > 1, "retry", "merge").tolist()
    status = np.where(p.att_failed, "failure", "success").tolist()
    keys = {"pipeline_id": pid.tolist(), "sha": a_sha, "change_id": a_cid}
    b.add(
        "pipeline.started",
        pt.att_start,
        pid.tolist(),
        _json(["attempt", "trigger"], [att, trig]),
        status="started",
        **keys,
    )
    dur = _s(pt.att_end - pt.att_start)
    b.add(
        "pipeline.finished",
        pt.att_end,
        pid.tolist(),
        _json(["attempt", "trigger", "status", "duration_s"], [att, trig, status, dur]),
        status=status,
        **keys,
    )
    r_pid = pid[p.run_attempt]
    stage = _STAGES[p.run_stage].tolist()
    ids = [f"{a}:{s}" for a, s in zip(r_pid.tolist(), stage, strict=True)]
    r_att = p.att_number[p.run_attempt].tolist()
    q = _s(w.tl.run_queue_us)
    d = _s(p.run_dur_us)
    rkeys = {
        "pipeline_id": r_pid.tolist(),
        "stage": stage,
        "sha": sha[p.run_change].tolist(),
        "change_id": np.asarray(cid, object)[p.run_change].tolist(),
    }
    b.add(
        "stage.started",
        pt.run_start,
        ids,
        _json(["attempt", "queue_s", "duration_s"], [r_att, q, d]),
        status="started",
        **rkeys,
    )
    r_status = np.where(p.run_failed, "failure", "success").tolist()
    b.add(
        "stage.finished",
        pt.run_end,
        ids,
        _json(["attempt", "queue_s", "duration_s", "status"], [r_att, q, d, r_status]),
        status=r_status,
        **rkeys,
    )
    t = np.flatnonzero(np.isin(p.run_stage, (1, 2)))
    tests = p.run_tests[t]
    b.add(
        "test.finished",
        pt.run_end[t],
        [ids[i] for i in t],
        _json(
            ["passed", "failed", "skipped"],
            [tests[:, 0].tolist(), tests[:, 1].tolist(), tests[:, 2].tolist()],
        ),
        status=[r_status[i] for i in t],
        pipeline_id=[rkeys["pipeline_id"][i] for i in t],
        stage=[rkeys["stage"][i] for i in t],
        sha=[rkeys["sha"][i] for i in t],
    )


def _deliveries(b: EventBuilder, w: ServiceWorld, cid: list[str], sha: np.ndarray) -> None:
    ch, tl = w.changes, w.tl
    aid = ch["artifact_id"].tolist()
    b.add(
        "artifact.published",
        tl.published,
        aid,
        _json(["digest"], [ch["digest"].tolist()]),
        artifact_id=aid,
        sha=sha.tolist(),
        pipeline_id=ch["final_pipeline_id"].tolist(),
    )
    stg_ids = ch["staging_deploy_id"].tolist()
    empty = ["{}"] * len(cid)
    keys = {"artifact_id": aid, "sha": sha.tolist()}
    b.add(
        "artifact.promoted",
        tl.staging_start - US,
        [f"{a}:staging" for a in aid],
        empty,
        env="staging",
        **keys,
    )
    b.add(
        "deploy.started",
        tl.staging_start,
        stg_ids,
        empty,
        env="staging",
        status="started",
        deploy_id=stg_ids,
        **keys,
    )
    b.add(
        "deploy.finished",
        tl.staging_finish,
        stg_ids,
        empty,
        env="staging",
        status="success",
        deploy_id=stg_ids,
        **keys,
    )
    prod = tl.prod
    hk = {"artifact_id": w.prod_head_artifact.tolist(), "sha": w.prod_head_sha.tolist()}
    n_g = prod.start.size
    b.add(
        "artifact.promoted",
        prod.start - US,
        [f"{a}:production" for a in hk["artifact_id"]],
        ["{}"] * n_g,
        env="production",
        **hk,
    )
    b.add(
        "deploy.started",
        prod.start,
        w.prod_ids,
        ["{}"] * n_g,
        env="production",
        status="started",
        deploy_id=w.prod_ids,
        **hk,
    )
    b.add(
        "deploy.finished",
        prod.finish,
        w.prod_ids,
        ["{}"] * n_g,
        env="production",
        status="success",
        deploy_id=w.prod_ids,
        **hk,
    )


def _operations(b: EventBuilder, w: ServiceWorld, cid: list[str]) -> None:
    ch, inc = w.changes, w.incidents
    name = w.svc.name
    flag_on = ch["flag_on_us"].to_numpy()
    fl = np.flatnonzero(flag_on >= 0)
    flags = [f"{name}-flag-{k:05d}" for k in fl]
    fcid = [cid[k] for k in fl]
    b.add(
        "flag.toggled",
        flag_on[fl],
        [f"{f}:on" for f in flags],
        ['{"enabled": true}'] * fl.size,
        env="production",
        flag=flags,
        change_id=fcid,
    )
    off = np.flatnonzero(inc.flag_off_at >= 0)
    off_k = inc.change_idx[off]
    off_flags = [f"{name}-flag-{k:05d}" for k in off_k]
    b.add(
        "flag.toggled",
        inc.flag_off_at[off],
        [f"{f}:off" for f in off_flags],
        ['{"enabled": false}'] * off.size,
        env="production",
        flag=off_flags,
        change_id=[cid[k] for k in off_k],
    )
    rb = np.flatnonzero(inc.rollback_at >= 0)
    prev = inc.deploy_group[rb] - 1
    rb_ids = [w.rollback_ids[i] for i in rb]
    b.add(
        "rollback",
        inc.rollback_at[rb],
        rb_ids,
        _json(["rolled_back_deploy_id"], [[w.prod_ids[g] for g in inc.deploy_group[rb]]]),
        env="production",
        status="success",
        deploy_id=rb_ids,
        sha=w.prod_head_sha[prev].tolist(),
    )
    linked = [
        w.prod_ids[g] if (e and g >= 0) else None
        for g, e in zip(inc.deploy_group.tolist(), inc.explicit_link.tolist(), strict=True)
    ]
    sev = _json(["severity"], [inc.severity.tolist()])
    b.add(
        "incident.opened",
        inc.opened,
        inc.incident_id,
        sev,
        incident_id=inc.incident_id,
        deploy_id=linked,
    )
    b.add(
        "incident.resolved",
        inc.resolved,
        inc.incident_id,
        sev,
        incident_id=inc.incident_id,
        deploy_id=linked,
    )
    f = w.findings
    fid = f["finding_id"].tolist()
    fattrs = _json(["finding_id", "severity"], [fid, f["severity"].tolist()])
    fcids = [cid[k] for k in f["change_idx"].tolist()]
    b.add("security.finding.opened", f["opened_us"].to_numpy(), fid, fattrs, change_id=fcids)
    b.add("security.finding.closed", f["closed_us"].to_numpy(), fid, fattrs, change_id=fcids)
    s = w.slo
    ts = s.ts.tolist()
    b.add(
        "slo.sample",
        s.ts,
        [f"{name}:{t}" for t in ts],
        [
            f'{{"sli": "availability", "good": {g}, "total": {t}}}'
            for g, t in zip(s.good.tolist(), s.total.tolist(), strict=True)
        ],
        env="production",
    )
