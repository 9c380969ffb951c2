"""Link coverage: the share of events per source (and kind) that correlation could attach.

A low share is a known failure mode of value-stream measurement (events that never join a change
silently drop out of every metric), so it is reported next to the metrics.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from vsmml.correlate.extract import member
from vsmml.correlate.records import Correlation
from vsmml.events.schema import KINDS, STR_DTYPE

DEPLOY_KINDS: Final = ("deploy.started", "deploy.finished", "rollback")
INCIDENT_KINDS: Final = ("incident.opened", "incident.resolved")
# SLO samples and repository/branch/environment changes describe no delivery step: they never
# carry a change, deployment or incident key, so counting them would only dilute the shares.
NOT_LINKABLE: Final = ("slo.sample", "resource.changed")
# Every other canonical kind links through its change (by change id or sha).
CHANGE_KINDS: Final = tuple(
    k for k in KINDS if k not in {*DEPLOY_KINDS, *INCIDENT_KINDS, *NOT_LINKABLE}
)


def link_coverage(events: pd.DataFrame, corr: Correlation) -> pd.DataFrame:
    """Per source and kind: events, linked events and their share (plus a per-source total row).

    An event counts as linked when it attaches to a change record (by change id or sha), a
    deployment that shipped at least one change or is a rollback, or, for incidents, to a
    deployment under the correlation's incident rule. A rollback known by its commit (a git
    revert) is linked when the change it reverts is known. `slo.sample` and `resource.changed` rows
    are not linkable and are left out. Rows are ordered by source, then kind, with the
    ``kind="*"`` total first.
    """
    kind = events["kind"].astype(STR_DTYPE)
    keep = ~kind.isin(NOT_LINKABLE).to_numpy()
    ev = events.loc[keep]
    kind = kind.loc[keep]
    changes = corr.changes
    change_ids = changes["change_id"]
    shas = changes["sha"].dropna()
    by_change = member(ev["change_id"], change_ids) | member(ev["sha"], shas)
    deps = corr.deployments
    useful = deps.loc[(deps["n_changes"] > 0) | deps["is_rollback"], "deploy_id"]
    by_deploy = member(ev["deploy_id"], useful)
    linked_inc = corr.incidents.loc[corr.incidents["deploy_id_linked"].notna(), "incident_id"]
    by_incident = member(ev["incident_id"], linked_inc)
    k = kind.to_numpy()
    reverts = corr.reverts.loc[corr.reverts["change_id"].notna(), "revert_sha"]
    revert_rows = (k == "rollback") & ev["deploy_id"].isna().to_numpy()
    by_deploy = np.where(revert_rows, member(ev["sha"], reverts), by_deploy)
    linked = np.where(
        np.isin(k, DEPLOY_KINDS),
        by_deploy,
        np.where(np.isin(k, INCIDENT_KINDS), by_incident, by_change),
    )
    frame = pd.DataFrame(
        {"source": ev["source"].astype(STR_DTYPE).to_numpy(), "kind": k, "linked": linked}
    )
    per_kind = frame.groupby(["source", "kind"], sort=True).agg(
        events=("linked", "size"), linked=("linked", "sum")
    )
    per_source = frame.groupby("source", sort=True).agg(
        events=("linked", "size"), linked=("linked", "sum")
    )
    per_source["kind"] = "*"
    out = pd.concat([per_source.reset_index(), per_kind.reset_index()], ignore_index=True)
    out["linked"] = out["linked"].astype("int64")
    out["share"] = out["linked"] / out["events"]
    out["order"] = (out["kind"] != "*").astype(int)
    out = out.sort_values(["source", "order", "kind"], kind="stable").drop(columns="order")
    return out[["source", "kind", "events", "linked", "share"]].reset_index(drop=True)
