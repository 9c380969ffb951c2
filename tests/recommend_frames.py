"""Tiny hand-made inputs for the recommender's tests: a value stream, events, deploys, runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsmml.graph.flow import FlowData

START = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday
SINCE, UNTIL = START, START + pd.Timedelta(weeks=4)
STAGES = ("coding", "review", "build", "unit-tests", "package", "staging", "production")
CI = ("build", "unit-tests", "package")


def tiny_flow(
    waits: dict[str, dict[str, float]],
    *,
    per_week: int = 10,
    weeks: int = 4,
    seed: int = 0,
    team: str = "t1",
    actives: dict[str, dict[str, float]] | None = None,
    riders: tuple[str, ...] = (),
) -> FlowData:
    """Per service, `per_week` changes a week with the given mean wait (hours) per stage.

    Stages not named wait 0.5 h; every stage is active 0.2 h (coding 2 h) unless `actives`
    says otherwise. Waits get lognormal noise (sigma 0.2) so bootstraps have something to
    resample. In the services of `riders` every second change rides in a deploy of two.
    """
    rng = np.random.default_rng(seed)
    ch_rows, st_rows = [], []
    for service, mean in waits.items():
        for w in range(weeks):
            for j in range(per_week):
                cid = f"{service}-c{w:02d}{j:02d}"
                first = START + pd.Timedelta(weeks=w, hours=8 + j * 10)
                lead = 0.0
                ride = service in riders and j % 2 == 1
                for stage in STAGES:
                    wait = (
                        0.0 if stage == "coding" else mean.get(stage, 0.5) * rng.lognormal(0, 0.2)
                    )
                    default = 2.0 if stage == "coding" else 0.2
                    active = (actives or {}).get(service, {}).get(stage, default)
                    lead += wait + active
                    st_rows.append(
                        (cid, service, team, START + pd.Timedelta(weeks=w), stage, wait, active, 0)
                    )
                ch_rows.append(
                    (cid, service, team, START + pd.Timedelta(weeks=w), first,
                     first + pd.Timedelta(hours=lead), lead, 2 if service in riders else 1,
                     not ride, False, 1.0)
                )  # fmt: skip
    changes = pd.DataFrame(
        ch_rows,
        columns=["change_id", "service", "team", "week_start", "first_commit_at", "deployed_at",
                 "lead_h", "batch_size", "batch_head", "failed", "ci_attempts"],
    )  # fmt: skip
    stages = pd.DataFrame(
        st_rows,
        columns=["change_id", "service", "team", "week_start", "stage", "wait_h", "active_h",
                 "failures"],
    )  # fmt: skip
    for frame in (changes, stages):
        for col in ("change_id", "service", "team"):
            frame[col] = frame[col].astype("str")
    stages["stage"] = stages["stage"].astype("str")
    return FlowData(changes, stages, STAGES, CI)


def review_events(flow: FlowData, reviewers: tuple[str, ...] = ("r1",)) -> pd.DataFrame:
    """One first-review event per change (ts = first commit + 3 h), reviewers in turn."""
    ch = flow.changes
    who = [reviewers[i % len(reviewers)] for i in range(len(ch))]
    return pd.DataFrame(
        {
            "event_id": [f"rv-{c}" for c in ch["change_id"]],
            "kind": "change.reviewed",
            "ts": ch["first_commit_at"] + pd.Timedelta(hours=3),
            "source": "github",
            "service": ch["service"],
            "change_id": ch["change_id"],
            "sha": pd.Series([None] * len(ch), dtype="str"),
            "attrs": [f'{{"reviewer": "{w}"}}' for w in who],
        }
    )


def deployments(service: str, sizes: list[int], failed: list[bool]) -> pd.DataFrame:
    """Production deploys of one service, one a day in the window, with sizes and outcomes."""
    n = len(sizes)
    started = [SINCE + pd.Timedelta(hours=6 + 12 * i) for i in range(n)]
    return pd.DataFrame(
        {
            "deploy_id": [f"{service}-d{i:03d}" for i in range(n)],
            "service": service,
            "env": "production",
            "is_rollback": False,
            "started_at": started,
            "finished_at": [t + pd.Timedelta(minutes=5) for t in started],
            "n_changes": sizes,
            "failed": failed,
            "restored_at": [
                t + pd.Timedelta(hours=2) if f else pd.NaT
                for t, f in zip(started, failed, strict=True)
            ],
            "incident_id": [f"{service}-i{i:03d}" if f else None for i, f in enumerate(failed)],
            "rolled_back": False,
        }
    )


def _event_rows(kind: str, ids: list[str], ts: list[pd.Timestamp], **cols: object) -> pd.DataFrame:
    return pd.DataFrame(
        {"event_id": [f"{kind}:{i}" for i in ids], "kind": kind, "ts": ts, "source": "test", **cols}
    )


def flow_events(flow: FlowData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events for every stage of every change of a tiny flow, and the change records that key
    them (sha, staging and production deploy ids)."""
    ch = flow.changes
    ids = ch["change_id"].astype(str).tolist()
    ts = list(ch["first_commit_at"])
    sha = [f"sha-{c}" for c in ids]
    parts = [
        review_events(flow),
        _event_rows("change.opened", ids, ts, change_id=ids, service=ch["service"].to_numpy()),
        _event_rows("change.merged", ids, ts, change_id=ids, service=ch["service"].to_numpy()),
        _event_rows(
            "deploy.started", [f"stg-{c}" for c in ids], ts, deploy_id=[f"stg-{c}" for c in ids]
        ),
        _event_rows(
            "deploy.started", [f"prd-{c}" for c in ids], ts, deploy_id=[f"prd-{c}" for c in ids]
        ),
    ]
    for stage in flow.ci_stages:
        parts.append(
            _event_rows("stage.finished", [f"{stage}-{c}" for c in ids], ts, sha=sha, stage=stage,
                        service=ch["service"].to_numpy())
        )  # fmt: skip
    events = pd.concat(parts, ignore_index=True)
    changes = pd.DataFrame(
        {
            "change_id": ids,
            "sha": sha,
            "service": ch["service"].to_numpy(),
            "team": ch["team"].to_numpy(),
            "first_commit_at": ch["first_commit_at"].to_numpy(),
            "merged_at": ch["first_commit_at"].to_numpy(),
            "staging_deploy_id": [f"stg-{c}" for c in ids],
            "production_deploy_id": [f"prd-{c}" for c in ids],
        }
    )
    return events, changes


def merged_events(change_ids: list[str]) -> pd.DataFrame:
    """One `change.merged` event per change id."""
    return _event_rows("change.merged", change_ids, [SINCE] * len(change_ids), change_id=change_ids)


def deploy_events(deps: pd.DataFrame) -> pd.DataFrame:
    """`deploy.started` and `deploy.finished` events of deployments, plus incident openings."""
    ids = deps["deploy_id"].tolist()
    inc = deps["incident_id"].dropna().tolist()
    return pd.concat(
        [
            _event_rows("deploy.started", ids, list(deps["started_at"]), deploy_id=ids),
            _event_rows("deploy.finished", ids, list(deps["finished_at"]), deploy_id=ids),
            _event_rows("incident.opened", inc, [SINCE] * len(inc), incident_id=inc),
        ],
        ignore_index=True,
    )
