"""`vsmml compat devlake TASK`: read DevLake domain tables as CSV, compute the table DevLake makes.

The computation is `vsmml.compat` (pure); here the tables are read from a folder of
``TABLE.csv`` files (DevLake's CSV dump style) and the result is rendered the way DevLake's own
CSV snapshots look.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vsmml.errors import DataError

if TYPE_CHECKING:  # pandas stays off `vsmml score`'s path: the CLI imports DevLakeTask
    import pandas as pd


class DevLakeTask(enum.StrEnum):
    """The DevLake DORA sub-tasks vsmml reproduces."""

    deployment_commits = "deployment-commits"
    prev_deployments = "prev-deployments"
    change_lead_time = "change-lead-time"
    incident_deployments = "incident-deployments"


@dataclass(frozen=True)
class TaskSpec:
    """The tables a task reads (required and optional) and the function that computes it."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    run: Callable[[Mapping[str, pd.DataFrame | None], str | None], pd.DataFrame]


def _deployment_commits(t: Mapping[str, pd.DataFrame | None], project: str | None) -> pd.DataFrame:
    from vsmml.compat import deployment_commits

    return deployment_commits(
        _need(t, "cicd_pipelines"),
        _need(t, "cicd_tasks"),
        _need(t, "cicd_pipeline_commits"),
        t.get("project_mapping"),
        project_name=project,
    )


def _prev_deployments(t: Mapping[str, pd.DataFrame | None], project: str | None) -> pd.DataFrame:
    from vsmml.compat import prev_success_deployments

    return prev_success_deployments(
        _need(t, "cicd_deployment_commits"), t.get("project_mapping"), project_name=project
    )


def _change_lead_time(t: Mapping[str, pd.DataFrame | None], project: str | None) -> pd.DataFrame:
    from vsmml.compat import change_lead_time

    return change_lead_time(
        _need(t, "pull_requests"),
        _need(t, "pull_request_commits"),
        _need(t, "pull_request_comments"),
        _need(t, "cicd_deployment_commits"),
        _need(t, "commits_diffs"),
        _need(t, "project_mapping"),
        project_name=project,
    )


def _incident_deployments(
    t: Mapping[str, pd.DataFrame | None], project: str | None
) -> pd.DataFrame:
    from vsmml.compat import incident_deployments

    return incident_deployments(
        _need(t, "incidents"),
        _need(t, "cicd_deployment_commits"),
        _need(t, "project_mapping"),
        project_name=project,
    )


TASKS: dict[DevLakeTask, TaskSpec] = {
    DevLakeTask.deployment_commits: TaskSpec(
        ("cicd_pipelines", "cicd_tasks", "cicd_pipeline_commits"),
        ("project_mapping",),
        _deployment_commits,
    ),
    DevLakeTask.prev_deployments: TaskSpec(
        ("cicd_deployment_commits",), ("project_mapping",), _prev_deployments
    ),
    DevLakeTask.change_lead_time: TaskSpec(
        (
            "pull_requests",
            "pull_request_commits",
            "pull_request_comments",
            "cicd_deployment_commits",
            "commits_diffs",
            "project_mapping",
        ),
        (),
        _change_lead_time,
    ),
    DevLakeTask.incident_deployments: TaskSpec(
        ("incidents", "cicd_deployment_commits", "project_mapping"), (), _incident_deployments
    ),
}


def _need(tables: Mapping[str, pd.DataFrame | None], name: str) -> pd.DataFrame:
    """A table the task cannot run without (loading already checked it exists)."""
    frame = tables.get(name)
    if frame is None:
        raise DataError(f"table {name!r} is required")
    return frame


def read_devlake_tables(
    directory: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, pd.DataFrame | None]:
    """Read ``TABLE.csv`` for each table from ``directory`` as text (DevLake's CSV dump style).

    Every cell is read as a string and empty cells stay ''; the compat functions parse times and
    numbers themselves. A missing required file raises `DataError` naming it.
    """
    import pandas as pd

    tables: dict[str, pd.DataFrame | None] = {}
    for name in (*required, *optional):
        path = directory / f"{name}.csv"
        if not path.is_file():
            if name in required:
                raise DataError(f"table {name!r}: {path} does not exist")
            tables[name] = None
            continue
        tables[name] = pd.read_csv(path, dtype="str", keep_default_na=False)
    return tables


def devlake_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Render a result the way DevLake's CSV snapshots look: ISO times with offset, '' for NULL."""
    import pandas as pd

    from vsmml.compat.devlake_frames import format_devlake_times

    time_columns = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    out = format_devlake_times(frame, time_columns)
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values.dtype) and values.dropna().mod(1).eq(0).all():
            out[column] = values.astype("Int64")
    return out


def devlake_table(task: DevLakeTask, tables: Path, project: str | None = None) -> pd.DataFrame:
    """The table DevLake's DORA task `task` would produce from the CSVs in `tables`, rendered."""
    spec = TASKS[task]
    return devlake_csv_frame(
        spec.run(read_devlake_tables(tables, spec.required, spec.optional), project)
    )
