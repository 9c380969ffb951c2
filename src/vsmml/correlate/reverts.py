"""Reverts known by their commit (git's `This reverts commit <sha>`): the failed change and the
deployment that fixed it.

A `rollback` event that names no deployment but carries `attrs.reverted_sha` is a revert: its
`sha` is the revert commit. The reverted change is the change whose sha (merge, squash or trunk
commit) is the reverted sha, or the change a commit event of that sha belongs to; the revert's
own change is found the same way. When both shipped to production in different deployments, the
deployment that shipped the reverted change failed (weight 1 in the `vsmml` change failure rate),
and it was restored when the deployment that shipped the revert finished, which is itself
unplanned work (rework) and a rollback in production. A change reverted before it was released
failed nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vsmml.correlate.extract import attr_text, lookup, member, of_kind
from vsmml.events.schema import STR_DTYPE, TS_DTYPE

REVERT_COLUMNS = (
    "revert_sha",
    "reverted_sha",
    "ts",
    "change_id",
    "revert_change_id",
    "deploy_id",
    "revert_deploy_id",
    "reverted_at",
    "failed",
)


def empty_reverts() -> pd.DataFrame:
    """A zero-row revert frame with the right columns."""
    frame = pd.DataFrame({c: pd.Series(dtype=STR_DTYPE) for c in REVERT_COLUMNS})
    frame["ts"] = pd.Series(dtype=TS_DTYPE)
    frame["reverted_at"] = pd.Series(dtype=TS_DTYPE)
    frame["failed"] = pd.Series(dtype=bool)
    return frame


def change_of_sha(events: pd.DataFrame, changes: pd.DataFrame) -> pd.Series:
    """sha → change id: a change's own sha first, else the change a commit event names."""
    own = changes.dropna(subset=["sha"]).drop_duplicates("sha").set_index("sha")["change_id"]
    commits = of_kind(events, "commit", ["sha", "change_id"]).dropna(subset=["sha", "change_id"])
    named = commits.drop_duplicates("sha").set_index("sha")["change_id"]
    named.index = named.index.astype(STR_DTYPE)
    extra = named.loc[~member(named.index, own.index)]
    out: pd.Series = pd.concat([own, extra]).astype(STR_DTYPE)
    return out


def revert_frame(
    events: pd.DataFrame, changes: pd.DataFrame, deployments: pd.DataFrame
) -> pd.DataFrame:
    """One row per revert: the two commits, their changes, the production deployments that
    shipped each (when they did), when the revert shipped, and whether the revert failed a
    deployment. `changes` must already carry ``production_deploy_id``."""
    rb = of_kind(events, "rollback", ["sha", "ts", "deploy_id", "attrs"])
    rb = rb.loc[rb["deploy_id"].isna().to_numpy() & rb["sha"].notna().to_numpy()]
    if rb.empty:
        return empty_reverts()
    reverted = attr_text(rb, "reverted_sha")
    rb = rb.assign(reverted_sha=reverted.to_numpy()).dropna(subset=["reverted_sha"])
    rb = rb.sort_values("ts", kind="stable").drop_duplicates("sha")
    if rb.empty:
        return empty_reverts()
    by_sha = change_of_sha(events, changes)
    shipped = changes.drop_duplicates("change_id").set_index("change_id")["production_deploy_id"]
    fin = deployments.drop_duplicates("deploy_id").set_index("deploy_id")["finished_at"]
    out = pd.DataFrame(
        {
            "revert_sha": rb["sha"].astype(STR_DTYPE).to_numpy(),
            "reverted_sha": rb["reverted_sha"].astype(STR_DTYPE).str.lower().to_numpy(),
            "ts": rb["ts"].astype(TS_DTYPE).array,
        }
    )
    out["change_id"] = lookup(out["reverted_sha"], by_sha).astype(STR_DTYPE)
    out["revert_change_id"] = lookup(out["revert_sha"], by_sha).astype(STR_DTYPE)
    out["deploy_id"] = lookup(out["change_id"], shipped).astype(STR_DTYPE)
    out["revert_deploy_id"] = lookup(out["revert_change_id"], shipped).astype(STR_DTYPE)
    out["reverted_at"] = lookup(out["revert_deploy_id"], fin).astype(TS_DTYPE)
    same = (out["deploy_id"] == out["revert_deploy_id"]).fillna(False).to_numpy(dtype=bool)
    out["failed"] = out["deploy_id"].notna().to_numpy() & ~same
    return out[list(REVERT_COLUMNS)]


def apply_reverts(deployments: pd.DataFrame, reverts: pd.DataFrame) -> pd.DataFrame:
    """`deployments` with reverts applied: a deployment whose change was reverted is rolled
    back (restored when the revert shipped, else not yet); ``reverts_shipped`` counts the
    reverts of earlier deployments' changes each deployment shipped."""
    out = deployments.copy()
    hits = reverts.loc[reverts["failed"].to_numpy(dtype=bool)]
    if "reverts_shipped" not in out:
        out["reverts_shipped"] = np.zeros(len(out), dtype="int64")
    if hits.empty:
        return out
    failed = member(out["deploy_id"], hits["deploy_id"])
    restored = hits.dropna(subset=["reverted_at"]).groupby("deploy_id")["reverted_at"].min()
    at = lookup(out["deploy_id"], restored).astype(TS_DTYPE)
    out["rolled_back_at"] = pd.concat([out["rolled_back_at"], at], axis=1).min(axis=1)
    out["rolled_back_at"] = out["rolled_back_at"].astype(TS_DTYPE)
    out["rolled_back"] = out["rolled_back"].to_numpy(dtype=bool) | failed
    fixes = hits.dropna(subset=["revert_deploy_id"]).groupby("revert_deploy_id").size()
    count = lookup(out["deploy_id"], fixes).fillna(0).to_numpy(dtype="int64")
    out["reverts_shipped"] = out["reverts_shipped"].to_numpy(dtype="int64") + count
    return out
