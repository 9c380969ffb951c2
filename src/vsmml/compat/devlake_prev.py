"""DevLake `enrichPrevSuccessDeploymentCommits`: chain each successful deployment to the previous.

Rules (Apache DevLake, ``plugins/dora/tasks/prev_deployment_commit_enricher.go``): take the
deployment commits with result SUCCESS, a finished date, a non-empty environment and a non-empty
repo url (and, with a project, a ``cicd_scope_id`` mapped to it); order them by scope, repo url,
environment and finish time; each row's ``prev_success_deployment_commit_id`` is the id of the
row before it in the same (scope, repo url, environment), empty for the first. Rows that are not
taken keep the value they had (DevLake's enricher only updates the rows it reads).
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from vsmml.compat.devlake_frames import (
    SUCCESS,
    require_columns,
    scopes_of_project,
    text,
    times,
)

PREV_COLUMN: Final = "prev_success_deployment_commit_id"
_READ_COLUMNS: Final = ("id", "result", "finished_date", "cicd_scope_id", "repo_url", "environment")
_GROUP: Final = ["cicd_scope_id", "repo_url", "environment"]


def prev_success_deployments(
    deployment_commits: pd.DataFrame,
    project_mapping: pd.DataFrame | None = None,
    *,
    project_name: str | None = None,
) -> pd.DataFrame:
    """Fill ``prev_success_deployment_commit_id`` the way DevLake does.

    Args:
        deployment_commits: ``cicd_deployment_commits`` with at least id, result,
            finished_date, cicd_scope_id, repo_url, environment; other columns pass through.
        project_mapping: optional ``project_mapping``; when given only rows of a mapped
            ``cicd_scopes`` row are chained (of ``project_name`` if set, else of any project).
        project_name: the DevLake project the task runs for.

    Returns:
        The input rows and columns (times parsed to UTC for ``started_date``, ``finished_date``
        and ``created_date`` when present) with the chain column filled, sorted by id.
        Ties in finish time within a group are broken by started date, then id.
    """
    require_columns(deployment_commits, _READ_COLUMNS, "cicd_deployment_commits")
    out = deployment_commits.copy()
    for column in ("started_date", "finished_date", "created_date"):
        if column in out.columns:
            out[column] = times(out, column, "cicd_deployment_commits")
    for column in ("id", "result", *_GROUP):
        out[column] = text(out, column)
    out[PREV_COLUMN] = text(out, PREV_COLUMN)

    eligible = (
        out["result"].eq(SUCCESS)
        & out["finished_date"].notna()
        & out["environment"].ne("")
        & out["repo_url"].ne("")
    )
    scopes = scopes_of_project(project_mapping, "cicd_scopes", project_name)
    if scopes is not None:
        eligible &= out["cicd_scope_id"].isin(scopes["row_id"])

    chain = out.loc[eligible, ["id", *_GROUP, "finished_date"]].copy()
    chain["_started"] = (
        out.loc[eligible, "started_date"] if "started_date" in out.columns else pd.NaT
    )
    chain = chain.sort_values([*_GROUP, "finished_date", "_started", "id"], kind="stable")
    previous = chain.groupby(_GROUP, sort=False)["id"].shift(1)
    out.loc[chain.index, PREV_COLUMN] = previous.fillna("").astype("str")
    return out.sort_values("id", kind="stable").reset_index(drop=True)
