"""Per-change, per-stage wait times from canonical events (long format, one row per wait).

Waits, as a constraint finder measures them (and as docs of the synthetic organisation define
them): `review` = change opened → first review; each CI stage = the sum of its runs' `queue_s`
over all attempts; `staging` = artifact published → staging deploy started; `production` =
staging deployed → start of the production deploy that shipped the change. Each row also says
when the wait started and when it became known (its end), so features can stay causal.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from vsmml.correlate import Correlation, correlate
from vsmml.correlate.extract import attr_number, of_kind

WAIT_COLUMNS: Final[tuple[str, ...]] = (
    "change_id",
    "service",
    "team",
    "first_commit_at",
    "stage",
    "started_at",
    "known_at",
    "wait_h",
)


def _span_rows(ch: pd.DataFrame, stage: str, start: str, end: str) -> pd.DataFrame:
    ok = ch[start].notna() & ch[end].notna()
    sel = ch.loc[ok]
    wait = (sel[end] - sel[start]).dt.total_seconds().to_numpy() / 3600.0
    return pd.DataFrame(
        {
            "change_id": sel["change_id"].to_numpy(),
            "service": sel["service"].to_numpy(),
            "team": sel["team"].to_numpy(),
            "first_commit_at": sel["first_commit_at"].to_numpy(),
            "stage": stage,
            "started_at": sel[start].to_numpy(),
            "known_at": sel[end].to_numpy(),
            "wait_h": np.maximum(wait, 0.0),
        }
    )


def _ci_rows(events: pd.DataFrame, ch: pd.DataFrame) -> pd.DataFrame:
    runs = of_kind(events, "stage.finished")
    runs = runs.loc[runs["stage"].notna() & runs["change_id"].notna()]
    if runs.empty:
        return pd.DataFrame(columns=list(WAIT_COLUMNS))
    frame = pd.DataFrame(
        {
            "change_id": runs["change_id"].astype("str").to_numpy(),
            "stage": runs["stage"].astype("str").to_numpy(),
            "queue_h": attr_number(runs, "queue_s").fillna(0.0).to_numpy() / 3600.0,
            "ts": runs["ts"].to_numpy(),
        }
    )
    agg = frame.groupby(["change_id", "stage"], sort=False).agg(
        wait_h=("queue_h", "sum"), known_at=("ts", "max"), first=("ts", "min")
    )
    agg = agg.reset_index()
    info = ch.set_index("change_id")[["service", "team", "first_commit_at", "merged_at"]]
    agg = agg.join(info, on="change_id", how="inner")
    started = agg["merged_at"].where(agg["merged_at"].notna(), agg["first"])
    return pd.DataFrame(
        {
            "change_id": agg["change_id"].to_numpy(),
            "service": agg["service"].to_numpy(),
            "team": agg["team"].to_numpy(),
            "first_commit_at": agg["first_commit_at"].to_numpy(),
            "stage": agg["stage"].to_numpy(),
            "started_at": started.to_numpy(),
            "known_at": agg["known_at"].to_numpy(),
            "wait_h": agg["wait_h"].to_numpy(),
        }
    )


def stage_waits(events: pd.DataFrame, corr: Correlation | None = None) -> pd.DataFrame:
    """One row per (change, stage) wait: review, each CI stage, staging and production.

    Args:
        events: canonical events (needs `stage.finished` runs with `queue_s` for CI stages).
        corr: an existing correlation of the same events (computed when None).

    Returns:
        Columns `WAIT_COLUMNS`; `started_at` for CI stages is the merge time (the pipeline's
        queue starts after it), `known_at` the end of the wait.
    """
    c = corr if corr is not None else correlate(events)
    ch = c.changes
    parts = [
        _span_rows(ch, "review", "opened_at", "first_review_at"),
        _ci_rows(events, ch),
        _span_rows(ch, "staging", "artifact_published_at", "staging_deploy_started_at"),
        _span_rows(ch, "production", "staging_deployed_at", "production_deploy_started_at"),
    ]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    for col in ("first_commit_at", "started_at", "known_at"):
        out[col] = pd.to_datetime(out[col], utc=True).astype("datetime64[us, UTC]")
    # a CI run may finish before the recorded merge (pre-merge pipelines): never start after end
    out["started_at"] = out["started_at"].where(
        out["started_at"] <= out["known_at"], out["known_at"]
    )
    out = out.astype({"change_id": "str", "service": "str", "team": "str", "stage": "str"})
    return out.loc[:, list(WAIT_COLUMNS)].reset_index(drop=True)
