"""DevLake `ConnectIncidentToDeployment`: incidents → ``project_incident_deployment_relationships``.

Rules (Apache DevLake, ``plugins/dora/tasks/incident_deploy_connector.go``), per project:

* an incident belongs to a project when ``project_mapping`` has a row with the incident's
  (``table``, ``scope_id``) as (``table``, ``row_id``);
* its deployment is the ``cicd_deployment_id`` of the project's deployment commit (scope mapped
  as ``cicd_scopes``) with result SUCCESS, environment PRODUCTION and the latest
  ``finished_date`` strictly before the incident's ``created_date``;
* no row when there is none. Ties in finish time (undefined order in DevLake's SQL) go to the
  largest deployment id, so the output is deterministic.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from vsmml.compat.devlake_frames import (
    PRODUCTION,
    SUCCESS,
    require_columns,
    text,
    times,
)

RELATIONSHIP_COLUMNS: Final = ("id", "project_name", "deployment_id")


def incident_deployments(
    incidents: pd.DataFrame,
    deployment_commits: pd.DataFrame,
    project_mapping: pd.DataFrame,
    *,
    project_name: str | None = None,
) -> pd.DataFrame:
    """Link each incident to the deployment DevLake blames for it.

    Args:
        incidents: ``incidents`` with id, created_date, table, scope_id.
        deployment_commits: ``cicd_deployment_commits`` with cicd_deployment_id, cicd_scope_id,
            result, environment, finished_date.
        project_mapping: project_name, table, row_id.
        project_name: the DevLake project; None links incidents of every project.

    Returns:
        Columns id, project_name, deployment_id (all text), sorted by project then incident id.
    """
    require_columns(incidents, ("id", "created_date", "table", "scope_id"), "incidents")
    require_columns(
        deployment_commits,
        ("cicd_deployment_id", "cicd_scope_id", "result", "environment", "finished_date"),
        "cicd_deployment_commits",
    )
    require_columns(project_mapping, ("project_name", "table", "row_id"), "project_mapping")
    mapping = pd.DataFrame(
        {
            "project_name": text(project_mapping, "project_name"),
            "table": text(project_mapping, "table"),
            "row_id": text(project_mapping, "row_id"),
        }
    ).drop_duplicates()
    if project_name is not None:
        mapping = mapping[mapping["project_name"].eq(project_name)]

    found = pd.DataFrame(
        {
            "id": text(incidents, "id"),
            "table": text(incidents, "table"),
            "row_id": text(incidents, "scope_id"),
            "created_date": times(incidents, "created_date", "incidents"),
        }
    ).merge(mapping, on=["table", "row_id"], how="inner")
    found = found[found["created_date"].notna()]

    table = "cicd_deployment_commits"
    deployments = pd.DataFrame(
        {
            "deployment_id": text(deployment_commits, "cicd_deployment_id"),
            "row_id": text(deployment_commits, "cicd_scope_id"),
            "result": text(deployment_commits, "result"),
            "environment": text(deployment_commits, "environment"),
            "finished_date": times(deployment_commits, "finished_date", table),
        }
    )
    deployments = deployments[
        deployments["result"].eq(SUCCESS)
        & deployments["environment"].eq(PRODUCTION)
        & deployments["finished_date"].notna()
    ]
    scopes = mapping.loc[mapping["table"].eq("cicd_scopes"), ["project_name", "row_id"]]
    deployments = deployments.merge(scopes, on="row_id", how="inner")
    deployments = deployments[["project_name", "finished_date", "deployment_id"]]
    deployments = deployments.sort_values(["finished_date", "deployment_id"], kind="stable")

    found = found.sort_values("created_date", kind="stable")
    linked = pd.merge_asof(
        found,
        deployments,
        left_on="created_date",
        right_on="finished_date",
        by="project_name",
        direction="backward",
        allow_exact_matches=False,
    )
    linked = linked[linked["deployment_id"].notna()]
    out = pd.DataFrame(
        {
            "id": linked["id"].astype("str"),
            "project_name": linked["project_name"].astype("str"),
            "deployment_id": linked["deployment_id"].astype("str"),
        }
    ).drop_duplicates()
    out = out.sort_values(["project_name", "id"], kind="stable")
    return out.loc[:, list(RELATIONSHIP_COLUMNS)].reset_index(drop=True)
