"""Change-risk features from change records and events: git-mined metrics plus delivery context.

One row per change: the 14 just-in-time metrics of its last commit (``commit`` events carry
them in ``attrs``, as `vsmml ingest git` and the synthetic organisation write them) and the
delivery context a release gate knows when the change's production deploy starts:

- ``review_rounds``: review rounds before merge (1 + reviews that requested changes; 0 if none);
- ``n_reviewers``: distinct reviewers;
- ``pipeline_flakiness``: failed share of the service's pipeline runs finished in the 14 days
  before the merge;
- ``hours_since_last_deploy``: hours since the service's previous production deploy started;
- ``deploy_batch_size``: changes shipped by the same production deploy;
- ``service_recent_failure_rate``: failed share of the service's changes deployed in the 28
  days before, counting a failure only once it was known (restored) before this deploy.

Every value uses only what happened before the moment it describes, so training on history
and scoring at the gate see the same inputs. Pure: frames in, a frame out.
"""

from __future__ import annotations

import json
from typing import Final

import numpy as np
import pandas as pd

from vsmml.events.change_metrics import CONTEXT_COLUMNS
from vsmml.events.connectors.git_kamei import KAMEI_COLUMNS

CONTEXT_FEATURES: Final[tuple[str, ...]] = CONTEXT_COLUMNS
"""The delivery-context columns, in the order of `vsmml.events.change_metrics`."""
FLAKINESS_WINDOW: Final[pd.Timedelta] = pd.Timedelta("14D")
FAILURE_WINDOW: Final[pd.Timedelta] = pd.Timedelta("28D")
HOUR_S: Final[float] = 3600.0


def _attrs(values: pd.Series) -> list[dict[str, object]]:
    """Parsed ``attrs`` JSON (an empty dict where it is missing or not an object)."""
    out: list[dict[str, object]] = []
    for a in values:
        try:
            parsed = json.loads(a) if isinstance(a, str) else {}
        except json.JSONDecodeError:
            parsed = {}
        out.append(parsed if isinstance(parsed, dict) else {})
    return out


def jit_metrics(changes: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The 14 JIT metrics of each change (``change_id``), from its last commit's ``attrs``."""
    commits = events.loc[events["kind"] == "commit", ["sha", "attrs"]].drop_duplicates("sha")
    merged = changes[["change_id", "sha"]].merge(commits, on="sha", how="left")
    parsed = pd.DataFrame(_attrs(merged["attrs"]), index=merged.index)
    out = pd.DataFrame({"change_id": merged["change_id"].to_numpy()}, index=merged.index)
    for c in KAMEI_COLUMNS:
        out[c] = pd.to_numeric(parsed[c], errors="coerce") if c in parsed else np.nan
    return out.drop_duplicates("change_id").reset_index(drop=True)


def _reviews(events: pd.DataFrame) -> pd.DataFrame:
    """``review_rounds`` and ``n_reviewers`` per ``change_id`` from ``change.reviewed``."""
    rv = events.loc[events["kind"] == "change.reviewed", ["change_id", "attrs"]].dropna(
        subset=["change_id"]
    )
    if rv.empty:
        return pd.DataFrame(columns=["change_id", "review_rounds", "n_reviewers"])
    parsed = _attrs(rv["attrs"])
    frame = pd.DataFrame(
        {
            "change_id": rv["change_id"].to_numpy(),
            "requested": [p.get("state") == "changes_requested" for p in parsed],
            "reviewer": [str(p.get("reviewer", "")) for p in parsed],
        }
    )
    g = frame.groupby("change_id", sort=False)
    return pd.DataFrame(
        {
            "review_rounds": g["requested"].sum().astype(np.float64) + 1.0,
            "n_reviewers": g["reviewer"].nunique().astype(np.float64),
        }
    ).reset_index()


def _trailing_share(
    at: pd.Series, hits: np.ndarray, known: pd.Series, when: pd.Series, window: pd.Timedelta
) -> np.ndarray:
    """Per query time in `when`: the share of items at `at` in [when - window, when) that are
    hits already known (``known`` < when); NaN where the window holds no item."""
    t = at.to_numpy(dtype="datetime64[us]").astype(np.int64)
    k = known.to_numpy(dtype="datetime64[us]").astype(np.int64)
    q = when.to_numpy(dtype="datetime64[us]").astype(np.int64)
    w = int(window / pd.Timedelta(1, "us"))
    out = np.full(q.size, np.nan)
    for i in np.flatnonzero(~np.isnat(when.to_numpy(dtype="datetime64[us]"))):
        inside = (t >= q[i] - w) & (t < q[i])
        n = int(inside.sum())
        if n:
            out[i] = float((inside & hits & (k < q[i])).sum()) / n
    return out


def _per_service(
    frame: pd.DataFrame,
    items: pd.DataFrame,
    item_time: str,
    hit: str,
    known: str,
    query: str,
    window: pd.Timedelta,
) -> np.ndarray:
    """`_trailing_share` within each service of `frame` over that service's `items`."""
    out = np.full(len(frame), np.nan)
    for service, rows in frame.groupby("service", sort=False, observed=True).indices.items():
        mine = items.loc[items["service"] == service]
        if mine.empty:
            continue
        out[rows] = _trailing_share(
            mine[item_time],
            mine[hit].to_numpy(dtype=bool),
            mine[known],
            frame[query].iloc[rows],
            window,
        )
    return out


def change_features(
    changes: pd.DataFrame, events: pd.DataFrame, deployments: pd.DataFrame
) -> pd.DataFrame:
    """JIT metrics and delivery context per change (see the module docstring).

    Args:
        changes: `correlate(...).changes` (change_id, sha, service, merged_at,
            production_deploy_id, production_deploy_started_at, failed, restored_at).
        events: the canonical events the changes were correlated from.
        deployments: `correlate(...).deployments`.

    Returns: ``change_id``, ``service``, ``merged_at``, ``production_deploy_started_at``,
    the 14 `KAMEI_COLUMNS`, the `CONTEXT_FEATURES` and ``failed`` (the label), in the order
    of `changes`.
    """
    base = changes[
        [
            "change_id",
            "service",
            "merged_at",
            "production_deploy_id",
            "production_deploy_started_at",
            "failed",
            "restored_at",
        ]
    ].reset_index(drop=True)
    out = base.merge(jit_metrics(changes, events), on="change_id", how="left")
    out = out.merge(_reviews(events), on="change_id", how="left")
    out["review_rounds"] = out["review_rounds"].fillna(0.0)
    out["n_reviewers"] = out["n_reviewers"].fillna(0.0)

    runs = events.loc[events["kind"] == "pipeline.finished", ["service", "ts", "status"]]
    runs = runs.assign(failed=(runs["status"] == "failure").to_numpy(), known=runs["ts"])
    out["pipeline_flakiness"] = _per_service(
        out, runs, "ts", "failed", "known", "merged_at", FLAKINESS_WINDOW
    )

    prod = deployments.loc[
        (deployments["env"] == "production") & ~deployments["is_rollback"].astype(bool),
        ["deploy_id", "service", "started_at", "n_changes"],
    ].sort_values(["service", "started_at"], kind="stable")
    prod = prod.assign(previous=prod.groupby("service", observed=True)["started_at"].shift(1))
    gap = (prod["started_at"] - prod["previous"]).dt.total_seconds() / HOUR_S
    per_deploy = pd.DataFrame(
        {
            "production_deploy_id": prod["deploy_id"].to_numpy(),
            "hours_since_last_deploy": gap.to_numpy(),
            "deploy_batch_size": prod["n_changes"].to_numpy(dtype=np.float64),
        }
    )
    out = out.merge(per_deploy, on="production_deploy_id", how="left")

    shipped = out.dropna(subset=["production_deploy_started_at"])
    shipped = shipped.assign(
        hit=shipped["failed"].fillna(False).astype(bool),
        known=shipped["restored_at"].fillna(shipped["production_deploy_started_at"]),
    )
    out["service_recent_failure_rate"] = _per_service(
        out,
        shipped,
        "production_deploy_started_at",
        "hit",
        "known",
        "production_deploy_started_at",
        FAILURE_WINDOW,
    )
    cols = [
        "change_id",
        "service",
        "merged_at",
        "production_deploy_started_at",
        *KAMEI_COLUMNS,
        *CONTEXT_FEATURES,
        "failed",
    ]
    return out[cols]
