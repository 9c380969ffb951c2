"""Jenkins rows: a run (build or Pipeline REST API run) and its stages to canonical events.

A run gives `pipeline.started` and, once finished, `pipeline.finished`; a stage gives
`stage.started` and `stage.finished`. Runs and stages whose job or stage name matches the deploy
pattern also give `deploy.started` / `deploy.finished` (DevLake's `deploymentPattern`), in
production when the name matches the production pattern. Event ids depend only on the job, the
build number and the stage node, so a build read from `api/json` and the same run read from
`wfapi/describe` are stored once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote, urlparse

import pandas as pd

from vsmml.events.connectors.kit import RecordError, Row, TimeBounds, dig, epoch_time, text_of
from vsmml.events.connectors.payloads import DEFAULT_MAX_PAYLOAD_BYTES

BUILD_STATUS: Final = {
    "SUCCESS": "success",
    "FAILURE": "failure",
    "UNSTABLE": "failure",
    "ABORTED": "cancelled",
    "NOT_BUILT": "skipped",
    "NOT_BUILD": "skipped",
}
STAGE_STATUS: Final = {
    "SUCCESS": "success",
    "FAILED": "failure",
    "FAILURE": "failure",
    "UNSTABLE": "failure",
    "ABORTED": "cancelled",
    "NOT_EXECUTED": "skipped",
    "SKIPPED": "skipped",
}
"""Pipeline REST API (`wfapi`) statuses, for runs and stages alike."""
RUNNING: Final = frozenset({"IN_PROGRESS", "PAUSED_PENDING_INPUT", "QUEUED", "NOT_STARTED"})


@dataclass(frozen=True)
class JenkinsRules:
    """Per-instance settings: which jobs/stages deploy, which of them reach production.

    Attributes:
        deploy_pattern: regex on job or stage names marking a deployment (None: none do).
        production_pattern: regex on the same names marking the production environment;
            other deployments get `other_env`.
        other_env: environment of deployments that do not match the production pattern.
        instance: prefix for event ids when several Jenkins servers feed one store.
        max_payload_bytes: larger JSON texts are quarantined unread (the same limit, and
            default, as every other source: `VSMML_MAX_PAYLOAD_BYTES`).
        bounds: plausible time range.
    """

    deploy_pattern: str | None = r"(?i)deploy"
    production_pattern: str = r"(?i)prod"
    other_env: str = "staging"
    instance: str = ""
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    bounds: TimeBounds = field(default_factory=TimeBounds)


def id_prefix(rules: JenkinsRules, name: str) -> str:
    """The event-id prefix of a build (`job#number`) or stage on this instance."""
    return f"jenkins:{rules.instance}/{name}" if rules.instance else f"jenkins:{name}"


def deploy_env(rules: JenkinsRules, name: str, job: str | None = None) -> str | None:
    """The environment a job or stage named `name` deploys to, or None when it does not."""
    if rules.deploy_pattern is None or not re.search(rules.deploy_pattern, name):
        return None
    names = [name] if job is None else [name, job]
    if any(re.search(rules.production_pattern, n) for n in names):
        return "production"
    return rules.other_env


def millis(value: Any, field: str) -> float:
    """A duration in milliseconds (absent: 0), or `RecordError` when it is not plausible."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise RecordError(field, f"must be a number of milliseconds, got {value!r}")
    if not 0 <= value < 10 * 365 * 86_400_000:
        raise RecordError(field, f"is out of range, got {value!r}")
    return float(value)


def seconds(value: Any) -> float | None:
    """Milliseconds as seconds; None when not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return float(value) / 1000


def job_from_url(url: str | None) -> str | None:
    """`folder/job` from a Jenkins URL (`…/job/folder/job/name/12/`)."""
    if not url:
        return None
    parts = [unquote(p) for p in urlparse(url).path.split("/") if p]
    names = [parts[i + 1] for i, p in enumerate(parts[:-1]) if p == "job"]
    return "/".join(names) or None


def build_from_href(data: Mapping[str, Any]) -> str | None:
    """`job#number` from a Pipeline REST API object's `_links.self.href`."""
    href = text_of(dig(data, "_links", "self", "href"))
    if not href:
        return None
    match = re.search(r"^(.*?)/(\d+)/(?:execution|wfapi)", urlparse(href).path)
    if not match:
        return None
    job = job_from_url(match.group(1) + "/")
    return f"{job}#{match.group(2)}" if job else None


def run_rows(
    base: Row,
    rules: JenkinsRules,
    start: pd.Timestamp,
    end: pd.Timestamp | None,
    status: str | None,
) -> list[Row]:
    """pipeline.started, pipeline.finished (when `end`), and the deploy rows of a deploy job."""
    pipeline_id = str(base["pipeline_id"])
    job = pipeline_id.rsplit("#", 1)[0]
    prefix = id_prefix(rules, pipeline_id)
    rows: list[Row] = [
        {**base, "event_id": f"{prefix}:started", "kind": "pipeline.started", "ts": start,
         "status": "started"},
    ]  # fmt: skip
    if end is not None:
        rows.append(
            {**base, "event_id": f"{prefix}:finished", "kind": "pipeline.finished", "ts": end,
             "status": status}
        )  # fmt: skip
    env = deploy_env(rules, job)
    if env is not None:
        deploy = {**base, "deploy_id": pipeline_id, "env": env}
        rows.append(
            {**deploy, "event_id": f"{prefix}:deploy.started", "kind": "deploy.started",
             "ts": start, "status": "started"}
        )  # fmt: skip
        if end is not None:
            rows.append(
                {**deploy, "event_id": f"{prefix}:deploy.finished", "kind": "deploy.finished",
                 "ts": end, "status": status}
            )  # fmt: skip
    return rows


def wfapi_run(data: Mapping[str, Any], build: str | None, rules: JenkinsRules) -> list[Row]:
    """A Pipeline REST API run (`wfapi/describe`, an item of `wfapi/runs`): the run itself
    (when it carries its times) and each of its stages."""
    stages = data.get("stages")
    if not isinstance(stages, list):
        raise RecordError("stages", "must be a list of stage nodes")
    rows: list[Row] = []
    if data.get("startTimeMillis") is not None:
        if not build:
            raise RecordError("_links.self.href", "is required (the run's `job/N/wfapi` link)")
        start = epoch_time(data.get("startTimeMillis"), "startTimeMillis", bounds=rules.bounds)
        duration_ms = millis(data.get("durationMillis"), "durationMillis")
        raw_status = (text_of(data.get("status")) or "").upper()
        running = raw_status in RUNNING or not raw_status
        end = None
        if not running:
            ended = data.get("endTimeMillis")
            end = (
                epoch_time(ended, "endTimeMillis", bounds=rules.bounds)
                if isinstance(ended, int | float) and not isinstance(ended, bool) and ended > 0
                else rules.bounds.check(start + pd.Timedelta(milliseconds=duration_ms), "duration")
            )
        attrs = {
            "job": build.rsplit("#", 1)[0],
            "number": build.rsplit("#", 1)[1],
            "result": raw_status or None,
            "duration_s": None if running else duration_ms / 1000,
            "queue_s": seconds(data.get("queueDurationMillis")),
            "pause_duration_s": seconds(data.get("pauseDurationMillis")),
            "display_name": text_of(data.get("name")),
            "api": "wfapi",
        }
        base: Row = {
            "pipeline_id": build,
            "attrs": {k: v for k, v in attrs.items() if v is not None},
        }
        status = STAGE_STATUS.get(raw_status, raw_status.lower())
        rows.extend(run_rows(base, rules, start, end, status))
    for i, node in enumerate(stages):
        if not isinstance(node, Mapping):
            raise RecordError(f"stages[{i}]", f"must be an object, got {type(node).__name__}")
        rows.extend(stage_rows(node, build, rules))
    return rows


def stage_rows(data: Mapping[str, Any], build: str | None, rules: JenkinsRules) -> list[Row]:
    """One stage node (`wfapi` `stages[]`, or DevLake's stage table) to its rows."""
    if not build:
        raise RecordError("build", "is required (the stage's build, `job#number`)")
    name = text_of(data.get("name"))
    if not name:
        raise RecordError("name", "is required (stage name)")
    node = text_of(data.get("id")) or name
    start = epoch_time(data.get("startTimeMillis"), "startTimeMillis", bounds=rules.bounds)
    duration_ms = millis(data.get("durationMillis"), "durationMillis")
    raw_status = (text_of(data.get("status")) or "").upper()
    attrs = {
        "stage_node": node,
        "result": raw_status or None,
        "pause_duration_s": seconds(data.get("pauseDurationMillis")),
        "job": build.rsplit("#", 1)[0],
    }
    base: Row = {"pipeline_id": build, "stage": name}
    prefix = f"{id_prefix(rules, build)}:{node}"
    rows: list[Row] = [
        {
            **base,
            "event_id": f"{prefix}:started",
            "kind": "stage.started",
            "ts": start,
            "status": "started",
            "attrs": {k: v for k, v in attrs.items() if v is not None},
        }
    ]
    running = raw_status in RUNNING or not raw_status
    status = STAGE_STATUS.get(raw_status, raw_status.lower())
    end = start + pd.Timedelta(milliseconds=duration_ms)
    if not running:
        end = rules.bounds.check(end, "durationMillis")
        done = {**attrs, "duration_s": duration_ms / 1000}
        rows.append(
            {
                **base,
                "event_id": f"{prefix}:finished",
                "kind": "stage.finished",
                "ts": end,
                "status": status,
                "attrs": {k: v for k, v in done.items() if v is not None},
            }
        )
    env = deploy_env(rules, name, build.rsplit("#", 1)[0])
    if env is not None:
        deploy = {**base, "deploy_id": f"{build}:{node}", "env": env}
        rows.append(
            {**deploy, "event_id": f"{prefix}:deploy.started", "kind": "deploy.started",
             "ts": start, "status": "started"}
        )  # fmt: skip
        if not running:
            rows.append(
                {**deploy, "event_id": f"{prefix}:deploy.finished", "kind": "deploy.finished",
                 "ts": end, "status": status}
            )  # fmt: skip
    return rows
