"""GitLab connector: push, merge request, pipeline, job and deployment webhooks, and the REST API's
deployments, pipelines, jobs and merge requests (GitLab's documented shapes) → canonical events.

Webhooks are recognised by `object_kind` (or the `X-Gitlab-Event` header); REST objects by their
fields. GitLab's other documented hooks (tag push, issue, note, wiki page, release ...) and hooks
that carry no delivery event (a merge request `update`, a deployment `running`) are counted as
skipped by type. GitLab writes times as ISO-8601 or as `2021-04-28 21:50:00 +0200` / `... UTC`;
both are normalised to ISO-8601 with an offset. A merge request's change id is `group/project!iid`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from vsmml.events.connectors.base import Conversion
from vsmml.events.connectors.gitlab_objects import (
    REST,
    WEBHOOKS,
    GitLabRules,
    gitlab_time,
)
from vsmml.events.connectors.kit import Collector, iter_objects, objects_from, text_of
from vsmml.events.connectors.payloads import http_content_type, parse_records
from vsmml.events.connectors.source_rules import SourceRules
from vsmml.events.schema import validate_events

__all__ = ["REST", "SOURCE", "WEBHOOKS", "GitLabRules", "from_http", "to_events", "to_frame"]

SOURCE: Final = "gitlab"
Raw = str | bytes | Mapping[str, Any] | list[Any]
_HEADER_KINDS: Final = {
    "push hook": "push",
    "merge request hook": "merge_request",
    "pipeline hook": "pipeline",
    "job hook": "build",
    "deployment hook": "deployment",
    "tag push hook": "tag_push",
    "issue hook": "issue",
    "confidential issue hook": "issue",
    "note hook": "note",
    "confidential note hook": "note",
    "wiki page hook": "wiki_page",
    "release hook": "release",
    "feature flag hook": "feature_flag",
    "emoji hook": "emoji",
    "resource access token hook": "access_token",
    "vulnerability hook": "vulnerability",
}
SKIPPED_KINDS: Final = frozenset(
    {
        "tag_push",
        "issue",
        "work_item",
        "note",
        "wiki_page",
        "release",
        "feature_flag",
        "emoji",
        "access_token",
        "vulnerability",
    }
)
"""GitLab's other documented webhook kinds (docs.gitlab.com "Webhook events"): counted as
skipped by type; an `object_kind` GitLab does not document is quarantined."""


def to_events(
    raw: Raw, rules: SourceRules | None = None, *, location: str = "payload"
) -> Conversion:
    """Convert GitLab webhook or REST JSON to canonical rows; bad records become rejects."""
    rules = GitLabRules.coerce(rules)
    col = Collector(SOURCE)
    objects = objects_from(raw, col, location=location, max_bytes=rules.max_payload_bytes)
    for rec in objects:
        _dispatch(rec.value, rec.location, None, rules, col)
    return col.result()


def from_http(
    headers: Mapping[str, str],
    body: str | bytes,
    rules: SourceRules | None = None,
    *,
    location: str = "http",
) -> Conversion:
    """Convert one webhook delivery (`X-Gitlab-Event` names the hook if `object_kind` is absent)."""
    low, ctype = http_content_type(headers)
    rules = GitLabRules.coerce(rules)
    col = Collector(SOURCE)
    if ctype != "application/json":
        text = body if isinstance(body, str) else body[:2048].decode("utf-8", "replace")
        col.reject(location, "content-type", f"{ctype!r} is not supported (send JSON)", text)
        return col.result()
    hint = _HEADER_KINDS.get(str(low.get("x-gitlab-event", "")).strip().lower())
    records, rejects = parse_records(
        body, source=SOURCE, location=location, max_bytes=rules.max_payload_bytes
    )
    col.extend_rejects(rejects)
    for rec in iter_objects(records, col):
        _dispatch(rec.value, rec.location, hint, rules, col)
    return col.result()


def to_frame(raw: Raw, rules: SourceRules | None = None) -> pd.DataFrame:
    """Notebook helper: the valid canonical events only (see `to_events` for the rejects)."""
    return validate_events(to_events(raw, rules).events).events


def _dispatch(
    doc: dict[str, Any], location: str, hint: str | None, rules: GitLabRules, col: Collector
) -> None:
    kind = text_of(doc.get("object_kind")) or hint
    if kind is not None:
        handler = WEBHOOKS.get(kind)
        if handler is None and kind in SKIPPED_KINDS:
            col.skip(kind)
            return
        if handler is None:
            col.reject(
                location,
                "object_kind",
                f"{kind!r} is not a supported GitLab webhook ({', '.join(WEBHOOKS)})",
                doc,
            )
            return
        rows = handler(doc, rules)
        if not rows:
            action = (
                text_of(doc.get("object_attributes", {}).get("action"))
                if isinstance(doc.get("object_attributes"), dict)
                else None
            )
            col.skip(f"{kind}.{action or text_of(doc.get('status')) or 'other'}")
            return
    else:
        rest = _infer_rest(doc)
        if rest is None:
            keys = ", ".join(sorted(doc)[:8])
            col.reject(
                location,
                "payload",
                f"is not a GitLab webhook or REST object vsmml knows (keys: {keys})",
                doc,
            )
            return
        rows = REST[rest](doc, rules)
    for row in rows:
        row["ts"] = gitlab_time(row.get("ts"))
        row.setdefault("service", rules.service)
        row.setdefault("team", rules.team)
        col.add(row, location=location, record=doc)


def _infer_rest(doc: dict[str, Any]) -> str | None:
    if isinstance(doc.get("environment"), dict) and "deployable" in doc:
        return "deployment"
    if "source_branch" in doc and "target_branch" in doc and "iid" in doc:
        return "merge_request"
    if isinstance(doc.get("pipeline"), dict) and "stage" in doc and "name" in doc:
        return "job"
    if (
        "sha" in doc
        and "ref" in doc
        and "status" in doc
        and "/pipelines/" in str(doc.get("web_url", ""))
    ):
        return "pipeline"
    return None
