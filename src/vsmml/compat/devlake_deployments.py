"""DevLake `generateDeploymentCommits`: pipelines, tasks and pipeline commits → deployment commits.

Rules (Apache DevLake, ``plugins/dora/tasks/deployment_commits_generator.go``):

* a pipeline is a deployment when its result is SUCCESS or FAILURE and either its own type is
  DEPLOYMENT or one of its tasks has type DEPLOYMENT with a SUCCESS or FAILURE result;
* one row per (pipeline, commit) with id ``<pipeline_id>:<repo_url>``;
* an empty environment is inferred from the tasks whose result is SUCCESS or FAILURE (of any
  type): PRODUCTION if any is in PRODUCTION, else STAGING, else TESTING, else left empty;
* ``started_date`` = ``finished_date`` − ``duration_sec`` (whole seconds, truncated as Go's
  ``time.Duration(float)`` does); empty when either is missing;
* with a project mapping, only pipelines whose ``cicd_scope_id`` belongs to the project.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from vsmml.compat.devlake_frames import (
    DEPLOYMENT,
    FAILURE,
    PRODUCTION,
    STAGING,
    SUCCESS,
    TESTING,
    numbers,
    require_columns,
    scopes_of_project,
    text,
    times,
)
from vsmml.errors import DataError

PIPELINE_COLUMNS: Final = ("id", "result", "type", "cicd_scope_id", "created_date", "finished_date")
TASK_COLUMNS: Final = ("pipeline_id", "result", "type", "environment")
PIPELINE_COMMIT_COLUMNS: Final = ("pipeline_id", "commit_sha", "repo_url")

DEPLOYMENT_COMMIT_COLUMNS: Final = (
    "id",
    "cicd_scope_id",
    "cicd_deployment_id",
    "name",
    "result",
    "status",
    "original_status",
    "original_result",
    "environment",
    "created_date",
    "started_date",
    "finished_date",
    "duration_sec",
    "commit_sha",
    "ref_name",
    "repo_id",
    "repo_url",
)
_DONE_RESULTS: Final = (SUCCESS, FAILURE)


def deployment_commits(
    pipelines: pd.DataFrame,
    tasks: pd.DataFrame,
    pipeline_commits: pd.DataFrame,
    project_mapping: pd.DataFrame | None = None,
    *,
    project_name: str | None = None,
) -> pd.DataFrame:
    """Build DevLake's ``cicd_deployment_commits`` rows from CI/CD domain tables.

    Args:
        pipelines: ``cicd_pipelines`` (id, name, result, status, type, duration_sec,
            environment, created_date, finished_date, cicd_scope_id).
        tasks: ``cicd_tasks`` (pipeline_id, result, type, environment).
        pipeline_commits: ``cicd_pipeline_commits`` (pipeline_id, commit_sha, branch, repo_id,
            repo_url).
        project_mapping: optional ``project_mapping``; when given only pipelines of a mapped
            ``cicd_scopes`` row are kept (of ``project_name`` if set, else of any project).
        project_name: the DevLake project the task runs for.

    Returns:
        One row per deployment commit with DevLake's columns, times as UTC instants, sorted by id.
    """
    require_columns(pipelines, PIPELINE_COLUMNS, "cicd_pipelines")
    require_columns(tasks, TASK_COLUMNS, "cicd_tasks")
    require_columns(pipeline_commits, PIPELINE_COMMIT_COLUMNS, "cicd_pipeline_commits")

    pipe = _pipelines(pipelines)
    flags = _task_flags(tasks)
    pipe = pipe.merge(flags, how="left", left_on="pipeline_id", right_index=True)
    for column in ("has_deployment_task", "has_production", "has_staging", "has_testing"):
        pipe[column] = pipe[column].fillna(False).astype("bool")
    is_deployment = pipe["type"].eq(DEPLOYMENT) | pipe["has_deployment_task"]
    pipe = pipe[is_deployment & pipe["result"].isin(_DONE_RESULTS)]

    scopes = scopes_of_project(project_mapping, "cicd_scopes", project_name)
    if scopes is not None:
        pipe = pipe[pipe["cicd_scope_id"].isin(scopes["row_id"])]

    commits = pd.DataFrame(
        {
            "pipeline_id": text(pipeline_commits, "pipeline_id"),
            "commit_sha": text(pipeline_commits, "commit_sha"),
            "ref_name": text(pipeline_commits, "branch"),
            "repo_id": text(pipeline_commits, "repo_id"),
            "repo_url": text(pipeline_commits, "repo_url"),
        }
    )
    out = commits.merge(pipe, on="pipeline_id", how="inner", validate="many_to_one")
    out["id"] = out["pipeline_id"] + ":" + out["repo_url"]
    out["cicd_deployment_id"] = out["pipeline_id"]
    out["environment"] = _inferred_environment(out)
    whole_seconds = np.trunc(out["duration_sec"].to_numpy(dtype="float64", na_value=np.nan))
    started = out["finished_date"] - pd.to_timedelta(whole_seconds, unit="s")
    out["started_date"] = started.where(out["finished_date"].notna() & out["duration_sec"].notna())
    out = out.drop_duplicates("id", keep="first")
    return (
        out.loc[:, list(DEPLOYMENT_COMMIT_COLUMNS)]
        .sort_values("id", kind="stable")
        .reset_index(drop=True)
    )


def _pipelines(pipelines: pd.DataFrame) -> pd.DataFrame:
    """The pipeline columns the task reads, typed; duplicate ids are an error."""
    ids = text(pipelines, "id")
    duplicated = ids.duplicated()
    if duplicated.any():
        raise DataError(
            f"table 'cicd_pipelines', column 'id': pipeline {ids[duplicated].iloc[0]!r} "
            "appears more than once"
        )
    return pd.DataFrame(
        {
            "pipeline_id": ids,
            "name": text(pipelines, "name"),
            "result": text(pipelines, "result"),
            "status": text(pipelines, "status"),
            "original_status": text(pipelines, "original_status"),
            "original_result": text(pipelines, "original_result"),
            "type": text(pipelines, "type"),
            "duration_sec": numbers(pipelines, "duration_sec", "cicd_pipelines"),
            "environment": text(pipelines, "environment"),
            "created_date": times(pipelines, "created_date", "cicd_pipelines"),
            "finished_date": times(pipelines, "finished_date", "cicd_pipelines"),
            "cicd_scope_id": text(pipelines, "cicd_scope_id"),
        }
    )


def _task_flags(tasks: pd.DataFrame) -> pd.DataFrame:
    """Per pipeline: has a finished DEPLOYMENT task; has finished tasks in each environment."""
    environment = text(tasks, "environment")
    frame = pd.DataFrame(
        {
            "pipeline_id": text(tasks, "pipeline_id"),
            "has_deployment_task": text(tasks, "type").eq(DEPLOYMENT),
            "has_production": environment.eq(PRODUCTION),
            "has_staging": environment.eq(STAGING),
            "has_testing": environment.eq(TESTING),
        }
    )
    done = frame[text(tasks, "result").isin(_DONE_RESULTS)]
    return done.groupby("pipeline_id", sort=False).any()


def _inferred_environment(frame: pd.DataFrame) -> pd.Series:
    """The pipeline's environment, or the one inferred from its tasks when empty."""
    inferred = np.select(
        [frame["has_production"], frame["has_staging"], frame["has_testing"]],
        [PRODUCTION, STAGING, TESTING],
        default="",
    )
    env = frame["environment"]
    return env.where(env.ne(""), pd.Series(inferred, index=frame.index, dtype="str")).astype("str")
