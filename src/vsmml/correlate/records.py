"""`correlate`: canonical events in, change records, deployments and incidents out, all linked."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vsmml.correlate.changes import change_frame, deployment_frame, incident_frame, landed_at
from vsmml.correlate.extract import attr_bool, delivery_view, lookup, member, of_kind
from vsmml.correlate.links import assign_deployments, link_incidents
from vsmml.correlate.reverts import apply_reverts, empty_reverts, revert_frame
from vsmml.events.schema import STR_DTYPE, TS_DTYPE

ENVS = ("staging", "production")


@dataclass
class Correlation:
    """The linked view of a set of events.

    Attributes:
        changes: one row per merged change with every stage timestamp, the deployments that
            shipped it per environment (with link method and confidence), release by flag,
            and whether its production deployment failed (incident_id, restored_at).
        deployments: one row per deployment or rollback, with the number of changes it shipped,
            failure weight (1 for a rollback, a revert of a change it shipped, or an explicit
            incident link; the link confidence for a time-window link), restored_at, and
            ``reverts_shipped`` (reverts of earlier deployments' changes it shipped).
        incidents: one row per incident with its link (deploy_id, link_method, link_confidence).
        incident_linking: the rule used to link incidents (see `link_incidents`).
        window_hours: the time window of the ``confidence`` rule.
        reverts: one row per revert known by its commit (see `vsmml.correlate.reverts`).
    """

    changes: pd.DataFrame
    deployments: pd.DataFrame
    incidents: pd.DataFrame
    incident_linking: str = "confidence"
    window_hours: float = 72.0
    reverts: pd.DataFrame = field(default_factory=empty_reverts)

    def relink(self, incident_linking: str, window_hours: float | None = None) -> Correlation:
        """The same correlation with incidents linked by another rule (the rest is reused)."""
        hours = self.window_hours if window_hours is None else window_hours
        if incident_linking == self.incident_linking and hours == self.window_hours:
            return self
        base_changes = self.changes.drop(columns=_FAILURE_COLUMNS, errors="ignore")
        base_deps = self.deployments.drop(columns=_DEPLOY_FAILURE_COLUMNS, errors="ignore")
        base_inc = self.incidents.drop(columns=_LINK_COLUMNS, errors="ignore")
        return _with_failures(
            base_changes, base_deps, base_inc, incident_linking, hours, self.reverts
        )

    def links(self) -> pd.DataFrame:
        """Every link in long form: source_id, target, target_id, method, confidence."""
        parts = []
        for env in ENVS:
            ch = self.changes
            rows = ch.loc[ch[f"{env}_deploy_id"].notna()]
            parts.append(
                pd.DataFrame(
                    {
                        "source_id": rows["change_id"].to_numpy(),
                        "target": f"deploy:{env}",
                        "target_id": rows[f"{env}_deploy_id"].to_numpy(),
                        "method": rows[f"{env}_link_method"].to_numpy(),
                        "confidence": rows[f"{env}_link_confidence"].to_numpy(),
                    }
                )
            )
        inc = self.incidents.loc[self.incidents["deploy_id_linked"].notna()]
        parts.append(
            pd.DataFrame(
                {
                    "source_id": inc["incident_id"].to_numpy(),
                    "target": "incident→deploy",
                    "target_id": inc["deploy_id_linked"].to_numpy(),
                    "method": inc["link_method"].to_numpy(),
                    "confidence": inc["link_confidence"].to_numpy(),
                }
            )
        )
        out = pd.concat(parts, ignore_index=True)
        return out.astype({"source_id": STR_DTYPE, "target_id": STR_DTYPE, "method": STR_DTYPE})


_LINK_COLUMNS = ["deploy_id_linked", "link_method", "link_confidence"]
_DEPLOY_FAILURE_COLUMNS = ["failure_weight", "failed", "incident_id", "restored_at"]
_FAILURE_COLUMNS = ["failed", "failure_weight", "incident_id", "restored_at"]


def positions_of(events: pd.DataFrame, changes: pd.DataFrame) -> pd.Series:
    """sha → the time it entered the main line: merge time for merge shas, else the time the
    commit landed (`landed_at`)."""
    merged = changes.dropna(subset=["sha"]).drop_duplicates("sha").set_index("sha")["merged_at"]
    commits = of_kind(events, "commit", ["sha", "ts", "attrs"])
    commits = commits.loc[commits["sha"].notna()]
    commits = pd.DataFrame({"sha": commits["sha"].to_numpy(), "ts": landed_at(commits).array})
    by_commit = commits.groupby("sha", sort=False, observed=True)["ts"].min()
    by_commit.index = by_commit.index.astype(STR_DTYPE)
    extra = by_commit.loc[~member(by_commit.index, merged.index)]
    out: pd.Series = pd.concat([merged, extra]).astype(TS_DTYPE)
    return out


def correlate(
    events: pd.DataFrame, *, incident_linking: str = "confidence", window_hours: float = 72.0
) -> Correlation:
    """Link canonical events into change records, deployments and incidents.

    Args:
        events: canonical events (see `vsmml.events.schema`); any order.
        incident_linking: rule for tying incidents to deployments (profiles set this).
        window_hours: look-back of the time-window incident link.
    """
    events = delivery_view(events)
    changes = change_frame(events)
    deployments = deployment_frame(events)
    positions = positions_of(events, changes)
    for env in ENVS:
        changes = changes.join(assign_deployments(changes, deployments, positions, env))
    changes["released_at"] = lookup(changes["change_id"], _released(events)).astype(TS_DTYPE)
    for env in ENVS:
        n = changes.groupby(f"{env}_deploy_id", observed=True).size()
        shipped = deployments["deploy_id"].map(n)
        prev = deployments.get("n_changes")
        in_env = (deployments["env"] == env).to_numpy(dtype=bool)
        current = shipped.fillna(0).astype("int64")
        deployments["n_changes"] = (
            np.where(in_env, current, prev) if prev is not None else np.where(in_env, current, 0)
        )
    deployments["n_changes"] = deployments["n_changes"].astype("int64")
    reverts = revert_frame(events, changes, deployments)
    deployments = apply_reverts(deployments, reverts)
    incidents = incident_frame(events)
    return _with_failures(changes, deployments, incidents, incident_linking, window_hours, reverts)


def _released(events: pd.DataFrame) -> pd.Series:
    flags = of_kind(events, "flag.toggled", ["change_id", "env", "ts", "attrs"])
    flags = flags.loc[flags["change_id"].notna()]
    if flags.empty:
        return pd.Series(dtype=TS_DTYPE)
    on = attr_bool(flags, "enabled").fillna(True).to_numpy(dtype=bool)
    prod = flags["env"].astype(STR_DTYPE).fillna("production").eq("production").to_numpy()
    rows = flags.loc[on & prod]
    out = rows.groupby("change_id", observed=True)["ts"].min()
    out.index = out.index.astype(STR_DTYPE)
    return out


def _with_failures(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    incident_linking: str,
    window_hours: float,
    reverts: pd.DataFrame,
) -> Correlation:
    """Attach incident links and deployment failure to the three frames."""
    changes = changes.copy()
    deployments = deployments.copy()
    incidents = incidents.copy()
    links = link_incidents(incidents, deployments, changes, incident_linking, window_hours)
    incidents["deploy_id_linked"] = links["deploy_id"].to_numpy()
    incidents["link_method"] = links["link_method"].to_numpy()
    incidents["link_confidence"] = links["link_confidence"].to_numpy()
    linked = incidents.loc[incidents["deploy_id_linked"].notna()]
    per_dep = linked.sort_values("opened_at", kind="stable").groupby("deploy_id_linked")
    weight = per_dep["link_confidence"].max()
    first_incident = per_dep["incident_id"].first()
    resolved = per_dep["resolved_at"].max()
    dep_id = deployments["deploy_id"]
    incident_weight = lookup(dep_id, weight).fillna(0.0).to_numpy(dtype="float64")
    rolled = deployments["rolled_back"].to_numpy(dtype=bool)
    deployments["failure_weight"] = np.maximum(incident_weight, rolled.astype("float64"))
    deployments["failed"] = deployments["failure_weight"] >= 0.5
    deployments["incident_id"] = lookup(dep_id, first_incident).astype(STR_DTYPE)
    restored = pd.concat(
        [lookup(dep_id, resolved).astype(TS_DTYPE), deployments["rolled_back_at"]], axis=1
    ).min(axis=1)
    deployments["restored_at"] = restored.where(deployments["failed"]).astype(TS_DTYPE)
    per = deployments.set_index("deploy_id")
    prod_id = changes["production_deploy_id"]
    changes["failed"] = lookup(prod_id, per["failed"]).fillna(False).astype(bool)
    changes["failure_weight"] = lookup(prod_id, per["failure_weight"]).fillna(0.0)
    changes["failure_weight"] = changes["failure_weight"].astype("float64")
    changes["incident_id"] = lookup(prod_id, per["incident_id"]).astype(STR_DTYPE)
    changes["restored_at"] = lookup(prod_id, per["restored_at"]).astype(TS_DTYPE)
    return Correlation(changes, deployments, incidents, incident_linking, window_hours, reverts)
