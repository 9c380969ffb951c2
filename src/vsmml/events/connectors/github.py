"""GitHub connector: webhook payloads and REST API JSON (incl. DevLake's raw tables) → events.

Webhooks: push, pull_request, pull_request_review, workflow_run, workflow_job, deployment,
deployment_status, issues (labelled as incidents, else work items) and release are converted;
GitHub's other documented events (ping, status, check_run ...) and actions that carry no delivery
event (a PR `labeled`, a deployment status `pending`) are counted as skipped by type. The event
type comes from the `X-GitHub-Event` header (`from_http`), from an envelope
(`{"event": "push", "payload": {...}}`), or from the payload's shape (the rules and their order
are in `vsmml.events.connectors.github_shapes`).
REST: workflow runs and jobs, pull requests, PR commits, reviews, issue comments and issues, as
single objects, list responses (`{"workflow_runs": [...]}`), or DevLake raw-table rows
(`{"url": ..., "input": ..., "params": ..., "data": ...}`, where the URL says what `data` is).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.github_objects import (
    SOURCE,
    GitHubRules,
    comment_row,
    commit_row,
    issue_rows,
    job_rows,
    pr_rows,
    repo_from_url,
    review_row,
    run_rows,
)
from vsmml.events.connectors.github_shapes import WEBHOOK_EVENT_NAMES, event_of_shape
from vsmml.events.connectors.github_webhooks import WEBHOOK_EVENTS, add_all
from vsmml.events.connectors.kit import Collector, dig, objects_from, text_of
from vsmml.events.connectors.payloads import body_head, http_content_type
from vsmml.events.connectors.source_rules import SourceRules
from vsmml.events.schema import validate_events

__all__ = [
    "SOURCE",
    "WEBHOOK_EVENTS",
    "WEBHOOK_EVENT_NAMES",
    "GitHubRules",
    "from_http",
    "to_events",
    "to_frame",
]

Raw = str | bytes | Mapping[str, Any] | list[Any]


def to_events(
    raw: Raw,
    rules: SourceRules | None = None,
    *,
    location: str = "payload",
    event: str | None = None,
) -> Conversion:
    """Convert GitHub webhook or REST JSON to canonical rows; bad records become rejects.

    `event` is the webhook event name when the caller knows it (the `X-GitHub-Event` header).
    """
    rules = GitHubRules.coerce(rules)
    col = Collector(SOURCE)
    objects = objects_from(raw, col, location=location, max_bytes=rules.max_payload_bytes)
    for rec in objects:
        _dispatch(rec.value, rec.location, event, rules, col)
    return col.result()


def from_http(
    headers: Mapping[str, str],
    body: str | bytes,
    rules: SourceRules | None = None,
    *,
    location: str = "http",
) -> Conversion:
    """Convert one webhook delivery (the event name is the `X-GitHub-Event` header)."""
    low, ctype = http_content_type(headers)
    if ctype != "application/json":
        col = Collector(SOURCE)
        col.reject(
            location,
            "content-type",
            f"{ctype!r} is not supported (configure the webhook with application/json)",
            body_head(body),
        )
        return col.result()
    return to_events(body, rules, location=location, event=low.get("x-github-event"))


def to_frame(
    raw: Raw, rules: SourceRules | None = None, *, event: str | None = None
) -> pd.DataFrame:
    """Notebook helper: the valid canonical events only (see `to_events` for the rejects)."""
    return validate_events(to_events(raw, rules, event=event).events).events


def _dispatch(
    doc: dict[str, Any], location: str, event: str | None, rules: GitHubRules, col: Collector
) -> None:
    if event is None and isinstance(doc.get("payload"), dict):
        hint = doc.get("event") or doc.get("x-github-event") or doc.get("type")
        if isinstance(hint, str):
            event, doc = hint, doc["payload"]
    if event is None and isinstance(doc.get("headers"), dict) and "body" in doc:
        heads = {str(k).lower(): v for k, v in doc["headers"].items()}
        body = doc["body"]
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError as exc:
                col.reject(location, "body", f"is not valid JSON ({exc})", doc)
                return
        if not isinstance(body, dict):
            col.reject(location, "body", "must be a JSON object", doc)
            return
        event, doc = heads.get("x-github-event"), body
    if event is not None:
        _webhook(str(event).strip().lower(), doc, location, rules, col)
        return
    if "data" in doc and ("url" in doc or "params" in doc):
        _devlake_row(doc, location, rules, col)
        return
    for key, many in (("workflow_runs", "run"), ("jobs", "job")):
        if isinstance(doc.get(key), list):
            for i, item in enumerate(doc[key]):
                where = f"{location}.{key}[{i}]"
                if isinstance(item, dict):
                    _rest(item, where, many, None, None, rules, col)
                else:
                    col.reject(where, key, f"must hold objects, got {type(item).__name__}", item)
            return
    inferred = event_of_shape(doc)
    if inferred is not None:
        _webhook(inferred, doc, location, rules, col)
        return
    kind = _infer_rest(doc)
    if kind is None:
        keys = ", ".join(sorted(doc)[:8])
        col.reject(
            location,
            "payload",
            f"is not a GitHub webhook or REST object vsmml knows (keys: {keys}); a webhook whose "
            "shape does not tell its type needs the X-GitHub-Event header or an envelope",
            doc,
        )
        return
    _rest(doc, location, kind, None, None, rules, col)


def _webhook(
    event: str, doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector
) -> None:
    """One webhook payload of a known event: converted, counted as skipped, or refused."""
    handler = WEBHOOK_EVENTS.get(event)
    if handler is not None:
        before = (len(col.rows), len(col.rejects), sum(col.skipped.values()))
        handler(doc, location, rules, col)
        if (len(col.rows), len(col.rejects), sum(col.skipped.values())) == before:
            col.skip(f"{event}.{text_of(doc.get('action')) or 'other'}")
    elif event in WEBHOOK_EVENT_NAMES:
        col.skip(event)
    else:
        col.reject(
            location,
            "X-GitHub-Event",
            f"{event!r} is not a GitHub webhook event (converted: {', '.join(WEBHOOK_EVENTS)}; "
            "GitHub's other documented events are counted as skipped)",
            doc,
        )


def _infer_rest(doc: dict[str, Any]) -> str | None:
    if "workflow_id" in doc and "run_number" in doc:
        return "run"
    if "run_id" in doc and ("steps" in doc or "runner_name" in doc or "started_at" in doc):
        return "job"
    if "head" in doc and "base" in doc and "number" in doc:
        return "pull"
    if "sha" in doc and isinstance(doc.get("commit"), dict):
        return "commit"
    if "pull_request_url" in doc and "state" in doc:
        return "review"
    if "issue_url" in doc and "number" not in doc:
        return "comment"
    if "number" in doc and ("repository_url" in doc or "labels" in doc):
        return "issue"
    return None


def _lenient_json(value: Any) -> Any:
    """Parse an optional JSON column; None when absent or invalid (DevLake leaves some broken)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return None


_IGNORED_URLS: Final = tuple(
    (re.compile(p), name)
    for p, name in (
        (r"api\.github\.com/users/", "rest users"),
        (r"/orgs(\?|$)", "rest orgs"),
        (r"/milestones", "rest milestones"),
        (r"/issues/events", "rest issue events"),
    )
)
"""DevLake raw-table endpoints that hold no delivery event: counted as skipped, by endpoint."""
_URL_KINDS: Final = (
    (re.compile(r"/pulls/comments"), "comment"),
    (re.compile(r"/actions/runs/\d+/jobs"), "job"),
    (re.compile(r"/actions/runs"), "run"),
    (re.compile(r"/pulls/\d+/commits"), "commit"),
    (re.compile(r"/pulls/\d+/reviews"), "review"),
    (re.compile(r"/issues/comments"), "comment"),
    (re.compile(r"/pulls(\?|$)"), "pull"),
    (re.compile(r"/issues(\?|$)"), "issue"),
)


def _devlake_row(doc: dict[str, Any], location: str, rules: GitHubRules, col: Collector) -> None:
    """A row of DevLake's `_raw_github_api_*` tables: `data` holds the REST JSON."""
    url = text_of(doc.get("url")) or ""
    ignored = next((name for rx, name in _IGNORED_URLS if rx.search(url)), None)
    if ignored is not None:
        col.skip(ignored)
        return
    data = doc.get("data")
    try:
        data = json.loads(data) if isinstance(data, str) else data
    except ValueError as exc:
        col.reject(location, "data", f"is not valid JSON ({exc})", doc)
        return
    if not isinstance(data, dict):
        col.reject(location, "data", "must hold a GitHub REST object", doc)
        return
    params, inp = _lenient_json(doc.get("params")), _lenient_json(doc.get("input"))
    kind = next((k for rx, k in _URL_KINDS if rx.search(url)), None) or _infer_rest(data)
    if kind is None:
        col.reject(location, "url", f"{url!r} is not a GitHub REST endpoint vsmml reads", doc)
        return
    repo = text_of(dig(params, "Name")) or repo_from_url(url)
    number = text_of(dig(inp, "Number"))
    _rest(data, location, kind, repo, number, rules, col)


def _rest(
    obj: dict[str, Any],
    location: str,
    kind: str,
    repo: str | None,
    number: str | None,
    rules: GitHubRules,
    col: Collector,
) -> None:
    repo = repo or repo_from_url(obj.get("url") or obj.get("html_url"))
    if kind == "run":
        add_all(col, run_rows(obj, repo, rules), location, obj)
    elif kind == "job":
        add_all(col, job_rows(obj, repo, rules), location, obj)
    elif kind == "pull":
        add_all(col, pr_rows(obj, repo, rules), location, obj)
    elif kind == "issue":
        rows = issue_rows(obj, repo, rules)
        if rows:
            add_all(col, rows, location, obj)
        else:
            col.skip("rest issue of a pull request")
    elif kind == "comment":
        row = comment_row(obj, repo)
        if row is None:
            col.skip("rest comment on an issue")
        else:
            col.add(row, location=location, record=obj)
    else:
        url = text_of(obj.get("pull_request_url")) or text_of(obj.get("url")) or ""
        m = re.search(r"/pulls?/(\d+)", url)
        number = number or (m.group(1) if m else None)
        change = f"{repo}#{number}" if number else None
        if kind == "commit":
            col.add(commit_row(obj, repo, change), location=location, record=obj)
        else:
            col.add(review_row(obj, repo, change), location=location, record=obj)
