"""Apache DevLake domain-layer tables (CSV exports) to canonical events: bring DevLake history.

Raw input: a mapping of table name → rows (a DataFrame of text or a list of dicts), e.g.
`{"cicd_pipelines": frame, "pull_requests": frame, ...}`. A frame's `attrs["location"]` (the file
it came from) names rejected rows as `file:line`. DevLake stores naive times in UTC, so naive
times are read as UTC; dates like `2023-4-11 4:51:47` are accepted.

| table | events |
|---|---|
| cicd_pipelines (+ cicd_pipeline_commits) | pipeline.started / .finished (sha, repo: commits) |
| cicd_tasks | stage.started / stage.finished |
| cicd_deployment_commits (+ commits_diffs) | deploy.started / .finished (shipped commits) |
| (no cicd_deployment_commits) | deployments derived as DevLake's generator does |
| pull_requests | change.opened / change.merged / change.closed |
| commits, pull_request_commits | commit (one per sha; PR commits carry the change_id) |
| pull_request_comments | change.reviewed (attrs: account, whether by the PR author) |
| incidents, issues of type INCIDENT | incident.opened / incident.resolved |
| other issues | work.created / work.done |
| project_mapping, repos, board_issues | the project becomes `service` (or `team`), repo names |
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, Final

import pandas as pd

from vsmml.errors import ConversionError
from vsmml.events.connectors import devlake_work as work
from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.devlake_rows import Context, DevLakeRules, Table
from vsmml.events.connectors.kit import Collector, Row

SOURCE: Final = "devlake"
__all__ = ["SOURCE", "DevLakeRules", "to_events"]


def to_events(raw: Mapping[str, Any], rules: DevLakeRules | None = None) -> Conversion:
    """Convert DevLake domain tables to canonical events (pure; bad rows rejected by file:line)."""
    if not isinstance(raw, Mapping):
        raise ConversionError(
            f"DevLake input must map table names to rows, got {type(raw).__name__}"
        )
    rules = rules or DevLakeRules()
    tables = {str(k): _rows(v) for k, v in raw.items()}
    where = {str(k): _location(k, v) for k, v in raw.items()}
    ctx = Context(tables, rules)
    sink = Collector(SOURCE)

    def walk(name: str, convert: Callable[[dict[str, Any]], Iterable[Row]]) -> None:
        for i, row in enumerate(tables.get(name, [])):
            sink.run(f"{where[name]}:{i + 2}", row, convert)

    walk("cicd_pipelines", ctx.pipeline)
    walk("cicd_tasks", ctx.task)
    if "cicd_deployment_commits" in tables:
        walk("cicd_deployment_commits", ctx.deployment_commit)
    elif rules.derive_deployments:
        walk("cicd_pipelines", ctx.derived_deployments)
    walk("pull_requests", partial(work.pull_request, ctx))
    walk("commits", partial(work.commit, ctx))
    walk("pull_request_commits", partial(work.pr_commit, ctx))
    walk("pull_request_comments", partial(work.pr_comment, ctx))
    walk("incidents", partial(work.incident, ctx))
    walk("issues", partial(work.issue, ctx))
    return sink.result()


def _rows(value: Any) -> Table:
    if isinstance(value, pd.DataFrame):
        frame = value.astype(object).where(value.notna(), None)
        return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]
    if isinstance(value, list) and all(isinstance(r, Mapping) for r in value):
        return [dict(r) for r in value]
    raise ConversionError(
        f"a DevLake table must be a DataFrame or a list of dicts, got {type(value).__name__}"
    )


def _location(name: str, value: Any) -> str:
    if isinstance(value, pd.DataFrame):
        return str(value.attrs.get("location") or f"{name}.csv")
    return f"{name}.csv"
