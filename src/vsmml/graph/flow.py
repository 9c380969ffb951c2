"""Per-change stage times of the value stream (wait and active hours per stage) from change records.

Stages of a change, in order, and what counts as wait and as active time (the definitions of
docs/synthetic-org.md, so the planted bottleneck can be checked from events):

| stage | wait | active |
|---|---|---|
| coding | 0 | first commit → change opened |
| review | opened → first review by someone else | first review → merged |
| each CI stage (`build`, `unit-tests` ...) | Σ `queue_s` over every attempt | Σ `duration_s` |
| staging | artifact published → staging deploy started | staging deploy run |
| production | staging deployed → production deploy started | production deploy run |

CI stages come from `stage.finished` events (joined on the change's merge sha, else change_id),
in the order they usually run inside a pipeline. Without stage events, CI is one stage ``ci``
from the change records' ``build_wait_s`` / ``build_active_s``. A change belongs to the
Monday-based week of its first commit. Everything is pure: frames in, frames out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from vsmml.correlate.extract import attr_number, of_kind, require_columns
from vsmml.events.schema import STR_DTYPE, TS_DTYPE

CI: Final = "ci"
PRE_CI: Final = ("coding", "review")
POST_CI: Final = ("staging", "production")
_CHANGE_COLUMNS: Final = (
    "change_id",
    "sha",
    "service",
    "team",
    "first_commit_at",
    "opened_at",
    "first_review_at",
    "merged_at",
    "artifact_published_at",
    "staging_deploy_started_at",
    "staging_deployed_at",
    "production_deploy_id",
    "production_deploy_started_at",
    "production_deployed_at",
)
_SECONDS_PER_HOUR: Final = 3600.0


@dataclass
class FlowData:
    """Per-change facts and per-(change, stage) times; the input of every graph function.

    Attributes:
        changes: one row per change: change_id, service, team, week_start, first_commit_at,
            deployed_at, lead_h (first commit → production deployed), batch_size (changes in its
            production deploy), batch_head (it was the newest change of that deploy), failed,
            ci_attempts.
        stages: long frame, one row per change and stage: change_id, service, team, week_start,
            stage, wait_h, active_h, failures (failed CI runs of that stage); NaN times where the
            change never reached the stage.
        stage_order: the stages in value-stream order.
        ci_stages: the CI stages among them (in pipeline order).
    """

    changes: pd.DataFrame
    stages: pd.DataFrame
    stage_order: tuple[str, ...]
    ci_stages: tuple[str, ...]

    def for_service(self, service: str) -> FlowData:
        """The same data restricted to one service."""
        keep_c = (self.changes["service"] == service).to_numpy(dtype=bool)
        keep_s = (self.stages["service"] == service).to_numpy(dtype=bool)
        return FlowData(
            self.changes.loc[keep_c].reset_index(drop=True),
            self.stages.loc[keep_s].reset_index(drop=True),
            self.stage_order,
            self.ci_stages,
        )


def week_start(ts: pd.Series) -> pd.Series:
    """Monday 00:00 UTC of the week containing each timestamp."""
    day: pd.Series = ts.astype(TS_DTYPE).dt.floor("D")
    out: pd.Series = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    return out


def _hours(a: pd.Series, b: pd.Series) -> np.ndarray:
    delta = (b.astype(TS_DTYPE) - a.astype(TS_DTYPE)).dt.total_seconds()
    return np.asarray(delta.to_numpy(dtype="float64", na_value=np.nan) / _SECONDS_PER_HOUR)


def ci_stage_runs(events: pd.DataFrame) -> pd.DataFrame:
    """CI stage runs out of `stage.finished` events: sha, change_id, pipeline_id, stage, ts,
    queue_s, duration_s, failed (one row per run, every attempt)."""
    require_columns(events, ("kind", "ts", "sha", "change_id", "stage", "attrs"), "events")
    runs = of_kind(events, "stage.finished")
    runs = runs.loc[runs["stage"].notna()]
    status = runs["status"].astype(STR_DTYPE) if "status" in runs else pd.Series(dtype=STR_DTYPE)
    pipeline = runs["pipeline_id"] if "pipeline_id" in runs else pd.Series(np.nan, runs.index)
    return pd.DataFrame(
        {
            "sha": runs["sha"].astype(STR_DTYPE).to_numpy(),
            "change_id": runs["change_id"].astype(STR_DTYPE).to_numpy(),
            "pipeline_id": pipeline.astype(STR_DTYPE).to_numpy(),
            "stage": runs["stage"].astype(STR_DTYPE).to_numpy(),
            "ts": runs["ts"].astype(TS_DTYPE).array,
            "queue_s": attr_number(runs, "queue_s").fillna(0.0).to_numpy(),
            "duration_s": attr_number(runs, "duration_s").fillna(0.0).to_numpy(),
            "failed": status.reindex(runs.index).eq("failure").fillna(False).to_numpy(bool),
        }
    )


def ci_stage_order(runs: pd.DataFrame) -> tuple[str, ...]:
    """CI stage names in the order they usually run: by median position inside a pipeline."""
    if runs.empty:
        return ()
    key = runs["pipeline_id"].fillna(runs["sha"]).fillna("")
    pos = runs.assign(_k=key.to_numpy()).groupby("_k", sort=False)["ts"].rank(method="first")
    med = pos.groupby(runs["stage"].to_numpy()).median()
    return tuple(str(s) for s in med.sort_values(kind="stable").index)


def _ci_times(changes: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per (change_id, stage): summed queue and run hours and failed runs."""
    by_sha = changes[["change_id", "sha"]].dropna().drop_duplicates("sha")
    sha_map = pd.Series(by_sha["change_id"].to_numpy(), index=by_sha["sha"].to_numpy())
    cid = runs["sha"].map(sha_map)
    known = changes["change_id"]
    direct = runs["change_id"].where(runs["change_id"].isin(known))
    runs = runs.assign(cid=cid.fillna(direct).to_numpy())
    runs = runs.loc[runs["cid"].notna()]
    agg = runs.groupby(["cid", "stage"], sort=False).agg(
        wait_s=("queue_s", "sum"), active_s=("duration_s", "sum"), failures=("failed", "sum")
    )
    out = agg.reset_index().rename(columns={"cid": "change_id"})
    out["wait_h"] = out.pop("wait_s") / _SECONDS_PER_HOUR
    out["active_h"] = out.pop("active_s") / _SECONDS_PER_HOUR
    return out


def _attempts(changes: pd.DataFrame, runs: pd.DataFrame) -> pd.Series:
    if runs.empty:
        return pd.Series(np.nan, index=changes.index)
    n = runs.groupby("sha")["pipeline_id"].nunique()
    return changes["sha"].map(n)


def flow_data(changes: pd.DataFrame, events: pd.DataFrame | None = None) -> FlowData:
    """Stage times of every change that reached production.

    Args:
        changes: change records (`vsmml.correlate.correlate(...).changes`).
        events: canonical events; only `stage.finished` rows are used (per-CI-stage queue and
            run time). None: CI is one stage ``ci`` from ``build_wait_s`` / ``build_active_s``.
    """
    require_columns(changes, _CHANGE_COLUMNS, "changes")
    ch = changes.loc[changes["production_deployed_at"].notna()].reset_index(drop=True)
    runs = ci_stage_runs(events) if events is not None else None
    use_runs = runs is not None and not runs.empty
    ci = ci_stage_order(runs) if use_runs and runs is not None else (CI,)
    order = (*PRE_CI, *ci, *POST_CI)
    week = week_start(ch["first_commit_at"])
    base = pd.DataFrame(
        {
            "change_id": ch["change_id"].astype(STR_DTYPE),
            "service": ch["service"].astype(STR_DTYPE),
            "team": ch["team"].astype(STR_DTYPE),
            "week_start": week,
        }
    )
    fixed = {
        "coding": (np.zeros(len(ch)), _hours(ch["first_commit_at"], ch["opened_at"])),
        "review": (
            _hours(ch["opened_at"], ch["first_review_at"]),
            _hours(ch["first_review_at"], ch["merged_at"]),
        ),
        "staging": (
            _hours(ch["artifact_published_at"], ch["staging_deploy_started_at"]),
            _hours(ch["staging_deploy_started_at"], ch["staging_deployed_at"]),
        ),
        "production": (
            np.maximum(_hours(ch["staging_deployed_at"], ch["production_deploy_started_at"]), 0),
            _hours(ch["production_deploy_started_at"], ch["production_deployed_at"]),
        ),
    }
    coding_active = fixed["coding"][1]
    fixed["coding"] = (np.where(np.isnan(coding_active), np.nan, 0.0), coding_active)
    if not use_runs:
        fixed[CI] = (
            ch["build_wait_s"].to_numpy(dtype="float64") / _SECONDS_PER_HOUR,
            ch["build_active_s"].to_numpy(dtype="float64") / _SECONDS_PER_HOUR,
        )
    parts = [
        base.assign(stage=name, wait_h=w, active_h=a, failures=0) for name, (w, a) in fixed.items()
    ]
    if use_runs and runs is not None:
        ci_rows = _ci_times(ch, runs)
        parts.append(base.merge(ci_rows, on="change_id", how="inner"))
    rank = {s: i for i, s in enumerate(order)}
    stages = pd.concat(parts, ignore_index=True)
    stages["stage"] = stages["stage"].astype(STR_DTYPE)
    stages["failures"] = stages["failures"].astype("int64")
    stages["_o"] = stages["stage"].map(rank)
    stages = stages.sort_values(["change_id", "_o"], kind="stable").drop(columns="_o")
    return FlowData(_change_facts(ch, week, runs), stages.reset_index(drop=True), order, ci)


def _change_facts(ch: pd.DataFrame, week: pd.Series, runs: pd.DataFrame | None) -> pd.DataFrame:
    prod = ch["production_deploy_id"].astype(STR_DTYPE)
    batch = prod.map(prod.value_counts()).fillna(1).astype("int64")
    newest = ch.groupby(prod.to_numpy(), sort=False)["merged_at"].transform("max")
    failed = ch["failed"] if "failed" in ch else pd.Series(False, index=ch.index)
    return pd.DataFrame(
        {
            "change_id": ch["change_id"].astype(STR_DTYPE),
            "service": ch["service"].astype(STR_DTYPE),
            "team": ch["team"].astype(STR_DTYPE),
            "week_start": week,
            "first_commit_at": ch["first_commit_at"].astype(TS_DTYPE),
            "deployed_at": ch["production_deployed_at"].astype(TS_DTYPE),
            "lead_h": _hours(ch["first_commit_at"], ch["production_deployed_at"]),
            "batch_size": batch.to_numpy(),
            "batch_head": (ch["merged_at"] == newest).to_numpy(dtype=bool),
            "failed": failed.fillna(False).to_numpy(dtype=bool),
            "ci_attempts": _attempts(ch, runs if runs is not None else pd.DataFrame()),
        }
    )
