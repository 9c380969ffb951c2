"""Entity frames out of canonical events: changes (with stage times), deployments and incidents.

Each builder is vectorised (group-bys and joins, no Python loop over rows) and returns one row
per entity with UTC timestamps. Links between entities (which deployment shipped a change, which
deployment caused an incident) are made in `vsmml.correlate.links`.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from vsmml.correlate.extract import (
    attr_number,
    attr_text,
    group_sum,
    lookup,
    member,
    of_kind,
    require_columns,
)
from vsmml.events.schema import STR_DTYPE, TS_DTYPE

WHERE: Final = ("service", "team", "repo")
TRUNK_PREFIX: Final = "commit:"
_TS_COLUMNS: Final = ("merged_at", "first_commit_at", "opened_at", "first_review_at")


def _text(series: pd.Series) -> pd.Series:
    return series.astype(STR_DTYPE)


def _first_by(frame: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """The earliest row (by ts) per `key`, keeping `columns`; rows without a key are dropped."""
    rows = frame.loc[frame[key].notna(), [key, "ts", *columns]]
    rows = rows.sort_values("ts", kind="stable")
    return rows.drop_duplicates(key, keep="first").set_index(key)


def landed_at(commits: pd.DataFrame) -> pd.Series:
    """When each commit event's commit reached its branch: ``attrs.committed_at`` (the committer
    date, which a rebase or a cherry-pick moves) when the source gives it, else ``ts`` (the
    author date). A commit rebased onto the main line after a release belongs to the next one,
    however long ago it was written."""
    ts = commits["ts"].astype(TS_DTYPE)
    if commits.empty or "attrs" not in commits:
        return ts
    when = pd.to_datetime(attr_text(commits, "committed_at"), utc=True, errors="coerce")
    when = pd.Series(when.array, index=commits.index).astype(TS_DTYPE)
    return when.fillna(ts)


def _min_ts(frame: pd.DataFrame, key: str) -> pd.Series:
    rows = frame.loc[frame[key].notna(), [key, "ts"]]
    return rows.groupby(key, sort=False, observed=True)["ts"].min()


def change_frame(events: pd.DataFrame) -> pd.DataFrame:
    """One row per merged change (a merged PR, or a commit pushed without one).

    Columns: change_id, sha (merge commit, the sha deployments refer to), kind ("pr" or
    "commit"), service, team, repo, work_type, first_commit_at, opened_at, first_review_at
    (first review by someone other than the author), merged_at, pipeline_id,
    pipeline_started_at, pipeline_finished_at, build_wait_s, build_active_s, artifact_id,
    artifact_published_at. A commit without a change id whose sha is neither a merge sha nor a
    PR head becomes its own change (trunk-based work) with id ``commit:<sha>``, merged when it
    landed (`landed_at`: its committer date when the source gives it) and first committed when
    it was written.
    """
    require_columns(events, ("kind", "ts", "sha", "change_id", *WHERE, "attrs"), "events")
    merged = of_kind(events, "change.merged", ["change_id", "ts", "sha", *WHERE])
    merged = _first_by(merged, "change_id", ["sha", *WHERE])
    merged = merged.rename(columns={"ts": "merged_at"})
    merged["kind"] = "pr"

    commits = of_kind(events, "commit", ["change_id", "sha", "ts", *WHERE, "attrs"])
    first_commit = _min_ts(commits, "change_id")
    opened_rows = of_kind(events, "change.opened", ["change_id", "sha", "ts", "attrs"])
    known_sha = pd.Index(merged["sha"].dropna()).append(pd.Index(opened_rows["sha"].dropna()))
    trunk = commits.loc[
        commits["change_id"].isna() & commits["sha"].notna() & ~member(commits["sha"], known_sha)
    ]
    trunk = trunk.sort_values("ts", kind="stable").drop_duplicates("sha")
    trunk_changes = pd.DataFrame(
        {
            "merged_at": landed_at(trunk).array,
            "sha": _text(trunk["sha"]).to_numpy(),
            **{c: trunk[c].to_numpy() for c in WHERE},
            "kind": "commit",
            "first_commit_at": trunk["ts"].array,
        },
        index=pd.Index(TRUNK_PREFIX + _text(trunk["sha"]).to_numpy(), name="change_id"),
    )
    out = merged.copy()
    out["first_commit_at"] = first_commit.reindex(out.index)
    out = pd.concat([out, trunk_changes]) if len(trunk_changes) else out
    out.index.name = "change_id"

    out["opened_at"] = _min_ts(opened_rows, "change_id").reindex(out.index)
    out["first_review_at"] = _first_review(events, opened_rows).reindex(out.index)
    # a change without commit events starts at its opening (or merge, for a bare merge)
    out["first_commit_at"] = (
        out["first_commit_at"].fillna(out["opened_at"]).fillna(out["merged_at"]).astype(TS_DTYPE)
    )
    out["work_type"] = _work_type(events).reindex(out.index)
    out["sha"] = _text(out["sha"])
    for extra in (_pipeline_by_sha(events), _artifact_by_sha(events)):
        out = out.join(extra.set_axis(extra.index.astype(STR_DTYPE)), on="sha")
    out = out.reset_index()
    for col in ("change_id", "sha", "pipeline_id", "artifact_id", "work_type", "kind"):
        out[col] = _text(out[col])
    for col in (*_TS_COLUMNS, "pipeline_started_at", "pipeline_finished_at"):
        out[col] = pd.to_datetime(out[col], utc=True).astype(TS_DTYPE)
    out["artifact_published_at"] = pd.to_datetime(out["artifact_published_at"], utc=True)
    out["artifact_published_at"] = out["artifact_published_at"].astype(TS_DTYPE)
    out = out.astype({"build_wait_s": "float64", "build_active_s": "float64"})
    return out.sort_values(["merged_at", "change_id"], kind="stable").reset_index(drop=True)


def _first_review(events: pd.DataFrame, opened: pd.DataFrame) -> pd.Series:
    reviews = of_kind(events, "change.reviewed", ["change_id", "ts", "attrs"])
    reviews = reviews.loc[reviews["change_id"].notna(), ["change_id", "ts", "attrs"]]
    if reviews.empty:
        return pd.Series(dtype=TS_DTYPE)
    author = attr_text(opened, "author")
    authors = pd.Series(author.to_numpy(), index=_text(opened["change_id"]).to_numpy())
    authors = authors[~authors.index.duplicated()]
    reviewer = attr_text(reviews, "reviewer")
    own = _text(reviews["change_id"]).map(authors)
    by_other = (reviewer != own).fillna(True).to_numpy(dtype=bool)
    return _min_ts(reviews.loc[by_other], "change_id")


def _work_type(events: pd.DataFrame) -> pd.Series:
    work = of_kind(events, ("work.created", "work.started", "work.done"), ["change_id", "attrs"])
    work = work.loc[work["change_id"].notna()]
    if work.empty:
        return pd.Series(dtype=STR_DTYPE)
    types = attr_text(work, "work_type")
    frame = pd.DataFrame({"change_id": work["change_id"].to_numpy(), "t": types.to_numpy()})
    return frame.dropna().drop_duplicates("change_id").set_index("change_id")["t"]


def _pipeline_by_sha(events: pd.DataFrame) -> pd.DataFrame:
    """Per sha: first pipeline start, first successful finish, build queue (wait) and run time."""
    started = of_kind(events, "pipeline.started", ["sha", "ts"])
    finished = of_kind(events, "pipeline.finished", ["sha", "ts", "status", "pipeline_id"])
    cols = ["pipeline_id", "pipeline_started_at", "pipeline_finished_at"]
    if finished.empty and started.empty:
        empty = pd.DataFrame(columns=[*cols, "build_wait_s", "build_active_s"])
        return empty.rename_axis("sha")
    fin = finished.loc[finished["sha"].notna(), ["sha", "ts", "status", "pipeline_id"]]
    ok = fin.loc[(fin["status"] == "success").to_numpy(dtype=bool)]
    first_ok = _first_by(ok, "sha", ["pipeline_id"])
    last_any = fin.sort_values("ts", kind="stable").drop_duplicates("sha", keep="last")
    last_any = last_any.set_index("sha")[["ts", "pipeline_id"]]
    chosen = first_ok.combine_first(last_any)
    out = pd.DataFrame(index=chosen.index)
    out["pipeline_id"] = chosen["pipeline_id"]
    out["pipeline_started_at"] = _min_ts(started, "sha").reindex(out.index)
    out["pipeline_finished_at"] = chosen["ts"]
    stages = of_kind(events, "stage.finished", ["sha", "attrs"])
    stages = stages.loc[stages["sha"].notna()]
    if len(stages):
        times = pd.DataFrame(
            {
                "sha": stages["sha"].to_numpy(),
                "build_wait_s": attr_number(stages, "queue_s").fillna(0.0).to_numpy(),
                "build_active_s": attr_number(stages, "duration_s").fillna(0.0).to_numpy(),
            }
        )
        sums = group_sum(times, ["sha"], ["build_wait_s", "build_active_s"])
        out = out.join(sums, how="left")
    else:
        out["build_wait_s"] = np.nan
        out["build_active_s"] = np.nan
    out.index.name = "sha"
    return out


def _artifact_by_sha(events: pd.DataFrame) -> pd.DataFrame:
    published = of_kind(events, "artifact.published", ["sha", "ts", "artifact_id"])
    first = _first_by(published, "sha", ["artifact_id"])
    return first.rename(columns={"ts": "artifact_published_at"})[
        ["artifact_id", "artifact_published_at"]
    ]


def deployment_frame(events: pd.DataFrame) -> pd.DataFrame:
    """One row per deployment (and per rollback, which is a deployment of an older sha).

    Columns: deploy_id, env, service, team, repo, sha (head deployed; taken from the artifact when
    the deploy event lacks it), artifact_id, started_at, finished_at, status, is_rollback,
    rolled_back (a later rollback names this deployment), rolled_back_at.
    """
    require_columns(events, ("kind", "ts", "deploy_id", "env", "sha", "status"), "events")
    keep = ["env", *WHERE, "sha", "artifact_id", "status"]
    fin = of_kind(events, "deploy.finished", ["deploy_id", "ts", *keep])
    fin = fin.sort_values("ts", kind="stable").drop_duplicates("deploy_id", keep="last")
    fin = fin.loc[fin["deploy_id"].notna(), ["deploy_id", "ts", *keep]].set_index("deploy_id")
    fin = fin.rename(columns={"ts": "finished_at"})
    rb = of_kind(events, "rollback", ["deploy_id", "ts", *keep, "attrs"])
    rb = rb.loc[rb["deploy_id"].notna()]
    rb_rows = rb[["deploy_id", "ts", *keep]].drop_duplicates("deploy_id").set_index("deploy_id")
    rb_rows = rb_rows.rename(columns={"ts": "finished_at"})
    rb_rows = rb_rows.loc[~member(rb_rows.index, fin.index)]
    rb_rows["status"] = rb_rows["status"].astype(STR_DTYPE).fillna("success")
    rb_rows["env"] = rb_rows["env"].astype(STR_DTYPE).fillna("production")
    out = pd.concat([_plain(fin), _plain(rb_rows)])
    out["started_at"] = _min_ts(
        of_kind(events, "deploy.started", ["deploy_id", "ts"]), "deploy_id"
    ).reindex(out.index)
    out["started_at"] = out["started_at"].fillna(out["finished_at"]).astype(TS_DTYPE)
    out["is_rollback"] = member(out.index, rb["deploy_id"])
    target = attr_text(rb, "rolled_back_deploy_id")
    rolled = pd.DataFrame({"d": target.to_numpy(), "ts": rb["ts"].array}).dropna()
    rolled_at = rolled.groupby("d")["ts"].min()
    out["rolled_back_at"] = rolled_at.reindex(out.index).astype(TS_DTYPE)
    out["rolled_back"] = out["rolled_back_at"].notna()
    art = of_kind(events, "artifact.published", ["artifact_id", "sha", "ts"])
    art_sha = _first_by(art, "artifact_id", ["sha"])["sha"]
    out["sha"] = out["sha"].fillna(lookup(out["artifact_id"], art_sha))
    out = out.reset_index()
    for col in ("deploy_id", "sha", "artifact_id", "env", "status", *WHERE):
        out[col] = _text(out[col])
    out["finished_at"] = out["finished_at"].astype(TS_DTYPE)
    return out.sort_values(["finished_at", "deploy_id"], kind="stable").reset_index(drop=True)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categoricals to text so frames of different kinds concatenate cleanly."""
    return frame.astype({c: STR_DTYPE for c in frame.columns if c != "finished_at"})


def incident_frame(events: pd.DataFrame) -> pd.DataFrame:
    """One row per incident: incident_id, service, team, repo, opened_at, resolved_at,
    deploy_id (explicit link, when the source gave one), sha (root cause, when given), severity,
    detected_at (opened = detection unless the source says otherwise), impact_started_at."""
    require_columns(events, ("kind", "ts", "incident_id", "deploy_id"), "events")
    opened = of_kind(
        events, "incident.opened", ["incident_id", "ts", *WHERE, "deploy_id", "sha", "attrs"]
    )
    opened = opened.loc[opened["incident_id"].notna()]
    opened = opened.sort_values("ts", kind="stable").drop_duplicates("incident_id")
    out = pd.DataFrame(
        {
            "incident_id": _text(opened["incident_id"]).to_numpy(),
            **{c: _text(opened[c]).to_numpy() for c in WHERE},
            "opened_at": opened["ts"].array,
            "deploy_id": _text(opened["deploy_id"]).to_numpy(),
            "sha": _text(opened["sha"]).to_numpy(),
            "severity": attr_text(opened, "severity").to_numpy(),
        }
    )
    resolved = of_kind(events, "incident.resolved", ["incident_id", "ts", "deploy_id"])
    res = resolved.loc[resolved["incident_id"].notna()].groupby("incident_id", observed=True)
    last = res["ts"].max()
    out["resolved_at"] = lookup(out["incident_id"], last).astype(TS_DTYPE)
    # a resolution event may carry the deploy link the opening lacked
    res_deploy = _first_by(resolved, "incident_id", ["deploy_id"])["deploy_id"]
    out["deploy_id"] = _text(out["deploy_id"].fillna(lookup(out["incident_id"], res_deploy)))
    detected = pd.to_datetime(attr_text(opened, "detected_at"), utc=True, errors="coerce")
    impact = pd.to_datetime(attr_text(opened, "started_at"), utc=True, errors="coerce")
    out["detected_at"] = pd.Series(detected.array, index=out.index).astype(TS_DTYPE)
    out["detected_at"] = out["detected_at"].fillna(out["opened_at"])
    out["impact_started_at"] = pd.Series(impact.array, index=out.index).astype(TS_DTYPE)
    for col in ("opened_at",):
        out[col] = out[col].astype(TS_DTYPE)
    out["severity"] = _text(out["severity"])
    return out.sort_values(["opened_at", "incident_id"], kind="stable").reset_index(drop=True)
